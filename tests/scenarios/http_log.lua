-- http_log.lua - scripts/http_log.lua: requests split across segments,
-- pipelined requests, a chunked body, a request never answered; the log
-- it writes is read back once the flows are closed.
--   moonbox --scenario tests/scenarios/http_log.lua
local sc = require "mos.scenario"

local log = os.tmpname()
sc.policy("scripts/http_log.lua", log)

sc.test("a request in three segments and its response", function(t)
    local c = t:conn{ client = "10.6.0.1:40001", server = "10.6.0.2:80" }
    c:handshake()
    c:send("c", "GET /ind")
    c:send("c", "ex.html HTTP/1.1\r\nHo")
    c:send("c", "st: a\r\n\r\n")
    c:send("s", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    c:close()
end)

sc.test("pipelined requests, a chunked response, one unanswered", function(t)
    local c = t:conn{ client = "10.6.0.1:40002", server = "10.6.0.2:8080" }
    c:handshake()
    c:send("c", "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n" ..
                "POST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz")
    c:send("s", "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n" ..
                "\r\n3\r\nabc\r\n0\r\n\r\n")
    -- The answer to HEAD has a Content-Length but no body.
    c:send("s", "HTTP/1.1 301 Moved\r\nContent-Length: 100\r\n\r\n")
    c:rst("s")
end)

sc.after("the log has a line a request, in order", function(t)
    local f = assert(io.open(log))
    local got = {}
    for line in f:lines() do got[#got + 1] = line end
    f:close()
    os.remove(log)
    sc.eq(got, {
        "10.6.0.1:40001 -> 10.6.0.2:80 GET /index.html HTTP/1.1 -> 200",
        "10.6.0.1:40002 -> 10.6.0.2:8080 GET /a HTTP/1.1 -> 404",
        "10.6.0.1:40002 -> 10.6.0.2:8080 HEAD /b HTTP/1.1 -> 301",
        "10.6.0.1:40002 -> 10.6.0.2:8080 POST /c HTTP/1.1 -> -",
    }, "log")
end)
