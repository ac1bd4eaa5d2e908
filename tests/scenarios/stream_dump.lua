-- stream_dump.lua - scripts/stream_dump.lua: each direction's bytes in a
-- file named as tcpflow names it, in stream order whatever the order the
-- segments came in (a gap filled late, a retransmission), and what it
-- reports at the end.
--   moonbox --scenario tests/scenarios/stream_dump.lua
local sc = require "mos.scenario"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir) == 0, "mkdir " .. dir)
sc.policy("scripts/stream_dump.lua", dir)

local function content(name)
    local f = io.open(dir .. "/" .. name, "rb")
    if f == nil then return nil end
    local s = f:read("*a")
    f:close()
    return s
end

local CLI = "010.004.000.001.40001-010.004.000.002.00080"
local SVR = "010.004.000.002.00080-010.004.000.001.40001"

sc.test("both directions, a gap filled late, a retransmission", function(t)
    local c = t:conn{ client = "10.4.0.1:40001", server = "10.4.0.2:80" }
    c:handshake()
    local base = c.seq
    -- "hello " arrives after " world", then "hello " again.
    t:push(c:segment("c", { flags = "PA", seq = base + 6,
                            payload = "world" }))
    t:push(c:segment("c", { flags = "PA", seq = base, payload = "hello " }))
    t:push(c:segment("c", { flags = "PA", seq = base, payload = "hello " }))
    c.seq = base + 11
    c:send("s", "HTTP/1.0 200 OK\r\n\r\n")
    c:send("s", "body")
    c:close()
    sc.eq(content(CLI), "hello world", "client's bytes")
    sc.eq(content(SVR), "HTTP/1.0 200 OK\r\n\r\nbody", "server's bytes")
end)

sc.test("a connection without data makes no file", function(t)
    local c = t:conn{ client = "10.4.0.1:40002", server = "10.4.0.2:80" }
    c:handshake()
    c:close()
    sc.eq(content("010.004.000.001.40002-010.004.000.002.00080"), nil,
          "file")
end)

sc.after("files are complete at the end; the directory is removed", function(t)
    sc.eq(content(CLI), "hello world", "client's bytes")
    os.remove(dir .. "/" .. CLI)
    os.remove(dir .. "/" .. SVR)
    sc.ok(os.remove(dir), "only the two files were written")
end)
