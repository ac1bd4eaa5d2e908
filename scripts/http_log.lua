--[[
http_log.lua - logs every HTTP/1.x request of every TCP flow with the
status of the response that answered it, from the reassembled streams:
    10.1.0.1:40001 -> 10.2.0.1:80 GET /index.html HTTP/1.1 -> 200
(client -> server, request method, target and version, "->" status; a
request that got no response before the flow ended ends in "-> -", a
response without a request is logged with "- - -" for the request).

Usage:
    moonbox -r in.pcap [-c CORES] scripts/http_log.lua [LOGFILE]
Without LOGFILE the log goes to stdout. LOGFILE is truncated at start;
every core appends whole lines to it (so lines of different cores never
mix, but their order between flows of different cores is arbitrary).

How it works: the bytes each side receives are read with mos.peek (on
MOS_ON_CONN_NEW_DATA, on MOS_ON_ERROR before unread bytes leave the
window, and at MOS_ON_CONN_END) into a buffer shared by the core and
parsed in place by an incremental HTTP/1.x parser per direction: start
line, headers, then the body skipped by its framing (Content-Length,
chunked transfer coding, or until the connection closes for responses
without either; no body for HEAD requests and 1xx, 204 and 304
responses). Lines and headers may be split across any number of
segments; pipelined requests are queued and matched with the responses
in order (interim 1xx responses are not matched; 101 and a successful
CONNECT end the HTTP part of the flow). The request side is always read
before the response side, so a response never overtakes its request.
A direction that stops being HTTP (a malformed start line or a line
longer than 16 KiB) or loses bytes (window overrun: use a larger --rmem)
is no longer parsed and is counted.

Output (besides the log, on stdout at the end, one line per core):
    http_log: core C: Q requests, R responses, U unanswered, X not HTTP
    or lost
]]
local mctx = ...
local ffi = require "ffi"

local CORE = mos.core
local ENODATA = 61
local MAX_LINE = 16384
local SIDE_CLI, SIDE_SVR = mos.MOS_SIDE_CLI, mos.MOS_SIDE_SVR

local logpath = select(2, ...)
if select("#", ...) > 2 then error("usage: http_log.lua [LOGFILE]", 0) end

-- -- Log output --------------------------------------------------------------

local out
if logpath ~= nil then
    -- Core 0 truncates; every core appends (O_APPEND) whole lines with
    -- one unbuffered write per batch. No core writes before all have
    -- loaded their scripts.
    if CORE == 0 then
        local f, err = io.open(logpath, "w")
        if f == nil then error("http_log: " .. err, 0) end
        f:close()
    end
    local err
    out, err = io.open(logpath, "a")
    if out == nil then error("http_log: " .. err, 0) end
    out:setvbuf("no")
else
    out = io.stdout
end

local pending, npending = {}, 0

local function flush_log()
    if npending > 0 then
        out:write(table.concat(pending, "", 1, npending))
        out:flush()
        for i = 1, npending do pending[i] = nil end
        npending = 0
    end
end

local function log(line)
    npending = npending + 1
    pending[npending] = line
    if npending >= 64 then flush_log() end
end

-- -- Parser ------------------------------------------------------------------

-- Modes of a direction's parser.
local START, HEADERS, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER,
      TO_CLOSE, DEAD = 1, 2, 3, 4, 5, 6, 7, 8, 9

local nreq, nresp, nunanswered, ndead = 0, 0, 0, 0

local function kill(d)
    if d.mode ~= DEAD then
        d.mode = DEAD
        ndead = ndead + 1
    end
end

-- Per flow: addr ("cli -> svr"), the request queue (q, qh: first, qt:
-- last), a parser per direction (d[SIDE_SVR]: requests, d[SIDE_CLI]:
-- responses) with mode, left (bytes of body or chunk), part (start of a
-- line not yet complete), cl, chunked, code.
local flows = {}

local function header(d, line)
    local name, value = line:match("^([^:%s]+)%s*:%s*(.-)%s*$")
    if name == nil then return end
    name = name:lower()
    if name == "content-length" then
        d.cl = tonumber(value:match("^%d+$"))
    elseif name == "transfer-encoding" then
        d.chunked = value:lower():match("chunked$") ~= nil
    end
end

local function pop_request(fl)
    if fl.qh > fl.qt then return nil end
    local r = fl.q[fl.qh]
    fl.q[fl.qh] = nil
    fl.qh = fl.qh + 1
    return r
end

-- End of a message's headers: log a response, choose the body framing.
local function headers_done(fl, side, d)
    local chunked, cl = d.chunked, d.cl
    d.chunked, d.cl = nil, nil
    if side == SIDE_SVR then
        if chunked then
            d.mode = CHUNK_SIZE
        elseif cl and cl > 0 then
            d.mode, d.left = BODY, cl
        else
            d.mode = START
        end
        return
    end
    local code = d.code
    if code >= 100 and code < 200 and code ~= 101 then
        d.mode = START          -- interim: the final response follows
        return
    end
    nresp = nresp + 1
    local r = pop_request(fl)
    if r ~= nil then
        log(fl.addr .. r .. " -> " .. code .. "\n")
    else
        log(fl.addr .. "- - - -> " .. code .. "\n")
    end
    local method = r and r:match("^(%S+)")
    if code == 101 or (method == "CONNECT" and code >= 200 and code < 300) then
        -- Not HTTP any more, in either direction.
        d.mode = DEAD
        fl.d[SIDE_SVR].mode = DEAD
    elseif method == "HEAD" or code == 204 or code == 304 then
        d.mode = START
    elseif chunked then
        d.mode = CHUNK_SIZE
    elseif cl then
        d.mode, d.left = cl > 0 and BODY or START, cl
    else
        d.mode = TO_CLOSE
    end
end

local function line_done(fl, side, d, line)
    local mode = d.mode
    if mode == START then
        if line == "" then return end       -- tolerated between messages
        if side == SIDE_SVR then
            local m, t, v = line:match("^(%u[%u%-_]*) (%S+) (HTTP/%d%.%d)$")
            if m == nil then return kill(d) end
            nreq = nreq + 1
            fl.qt = fl.qt + 1
            fl.q[fl.qt] = m .. " " .. t .. " " .. v
        else
            local code = line:match("^HTTP/%d%.%d (%d%d%d)")
            if code == nil then return kill(d) end
            d.code = tonumber(code)
        end
        d.mode = HEADERS
    elseif mode == HEADERS then
        if line == "" then
            headers_done(fl, side, d)
        else
            header(d, line)
        end
    elseif mode == CHUNK_SIZE then
        local size = tonumber(line:match("^%s*(%x+)") or "", 16)
        if size == nil then return kill(d) end
        if size == 0 then
            d.mode = TRAILER
        else
            d.mode, d.left = CHUNK_DATA, size
        end
    elseif mode == CHUNK_END then
        d.mode = CHUNK_SIZE
    elseif mode == TRAILER then
        if line == "" then d.mode = START end
    end
end

-- Parse n bytes at b (uint8_t *) of one direction.
local function feed(fl, side, d, b, n)
    local i = 0
    while i < n do
        local mode = d.mode
        if mode == BODY or mode == CHUNK_DATA then
            local take = n - i
            if take > d.left then take = d.left end
            i = i + take
            d.left = d.left - take
            if d.left == 0 then
                d.mode = mode == BODY and START or CHUNK_END
            end
        elseif mode == TO_CLOSE or mode == DEAD then
            return
        else
            local j = i
            while j < n and b[j] ~= 10 do j = j + 1 end
            local have = (d.part and #d.part or 0) + (j - i)
            if have > MAX_LINE then return kill(d) end
            if j == n then
                local s = ffi.string(b + i, n - i)
                d.part = d.part and d.part .. s or s
                return
            end
            local line = ffi.string(b + i, j - i)
            if d.part then
                line = d.part .. line
                d.part = nil
            end
            if line:byte(-1) == 13 then line = line:sub(1, -2) end
            i = j + 1
            line_done(fl, side, d, line)
        end
    end
end

-- -- Reading -----------------------------------------------------------------

-- A pointer made with ffi.cast does not keep its cdata alive: buf and
-- addrs are also used directly below, which does.
local BUFLEN = 65536
local buf = ffi.new("uint8_t[?]", BUFLEN)
local cbuf = ffi.cast("char *", buf)
local addrs = ffi.new("struct sockaddr_in[2]")
local addrs_p = ffi.cast("struct sockaddr *", addrs)
local addrlen = ffi.new("uint32_t[1]")

local function endpoint(a)
    local b = ffi.cast("uint8_t *", a)
    return string.format("%d.%d.%d.%d:%d", b[4], b[5], b[6], b[7],
                         b[2] * 256 + b[3])
end

local function flow_of(m, sock)
    local fl = flows[sock]
    if fl ~= nil then return fl end
    addrlen[0] = 2 * ffi.sizeof("struct sockaddr")
    if mos.getpeername(m, sock, addrs_p, addrlen, mos.MOS_SIDE_BOTH) ~= 0 then
        return nil
    end
    fl = { addr = endpoint(addrs[0]) .. " -> " .. endpoint(addrs[1]) .. " ",
           q = {}, qh = 1, qt = 0,
           d = { [SIDE_CLI] = { mode = START }, [SIDE_SVR] = { mode = START } } }
    flows[sock] = fl
    return fl
end

local zero = ffi.new("int[1]", 0)
local BUFOPT = { [SIDE_CLI] = mos.MOS_CLIBUF, [SIDE_SVR] = mos.MOS_SVRBUF }

local function drain(m, sock, fl, side)
    local d = fl.d[side]
    while true do
        local n = mos.peek(m, sock, side, cbuf, BUFLEN)
        if n > 0 then
            if d.mode ~= DEAD and d.mode ~= TO_CLOSE then
                feed(fl, side, d, buf, n)
            end
        elseif n < -1 or (n == -1 and ffi.errno() == ENODATA) then
            kill(d)
        else
            return
        end
        if (d.mode == DEAD or d.mode == TO_CLOSE) and not d.unbuffered then
            -- Nothing more to parse: stop reassembling this side (mos.peek
            -- then fails with EINVAL, which ends the loop).
            d.unbuffered = true
            mos.setsockopt(m, sock, mos.SOL_MONSOCKET, BUFOPT[side], zero, 4)
        end
    end
end

-- Requests first: a response must find its request queued.
local function on_data(m, sock)
    local fl = flow_of(m, sock)
    if fl == nil then return end
    drain(m, sock, fl, SIDE_SVR)
    drain(m, sock, fl, SIDE_CLI)
end

-- The requests of a flow that got no response.
local function log_unanswered(fl)
    while true do
        local r = pop_request(fl)
        if r == nil then break end
        nunanswered = nunanswered + 1
        log(fl.addr .. r .. " -> -\n")
    end
end

-- Raised once per side; the first call finishes the flow.
local function on_end(m, sock)
    local fl = flows[sock]
    if fl == nil then return end
    drain(m, sock, fl, SIDE_SVR)
    drain(m, sock, fl, SIDE_CLI)
    log_unanswered(fl)
    flows[sock] = nil
end

local function on_exit()
    for sock, fl in pairs(flows) do
        log_unanswered(fl)
        flows[sock] = nil
    end
    flush_log()
    if out ~= io.stdout then out:close() end
    io.stdout:write(string.format("http_log: core %d: %d requests, %d responses, " ..
        "%d unanswered, %d not HTTP or lost\n", CORE, nreq, nresp, nunanswered, ndead))
    io.stdout:flush()
end

local check = mos.check

local sock = check(mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0),
                   "mos.socket")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_NEW_DATA, mos.MOS_NULL,
                            on_data), "CONN_NEW_DATA")
check(mos.register_callback(mctx, sock, mos.MOS_ON_ERROR, mos.MOS_NULL, on_data),
      "ERROR")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_END, mos.MOS_HK_SND, on_end),
      "CONN_END")
mos.at_exit(on_exit)
