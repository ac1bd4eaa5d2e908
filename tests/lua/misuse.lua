-- misuse.lua - a storm of API misuse from Lua: every callback makes random
-- mos.* calls with arguments drawn from pools of good and bad values (nil
-- pointers, unknown sockets, sides, hooks, events and options, negative
-- and huge lengths and offsets, closing the socket being called back,
-- life-cycle calls from a worker core). Buffers are never shorter than
-- the length passed with them: that would be the caller's bug in C too.
--   moonbox -r CAPTURE tests/lua/misuse.lua SEED OUT
-- The engine must survive all of it (test_misuse.sh checks the exit, the
-- counters and, under ASan, every access). OUT.<core> gets one line per
-- function: "name calls ok fail errors", where an error is a Lua error
-- raised by the FFI's argument conversion, which is caught here.
local mctx, seed, out = ...
local ffi = require "ffi"

-- A generator of our own (not math.random): the same SEED gives the same
-- calls whatever LuaJIT's version.
local state = (tonumber(seed) or 1) * 2654435761 % 4294967296 + 1
local function rnd(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return math.floor(state / 65536) % n + 1
end
local function pick(t) return t[rnd(#t)] end
-- good half the time, anything from bad the other half
local function mix(good, bad) return rnd(2) == 1 and good or pick(bad) end

local BUF = 512
local buf = ffi.new("char[?]", BUF)
local len1 = ffi.new("uint32_t[1]")
local pkt = ffi.new("struct pkt_info")
local zpkt = ffi.new("struct pkt_info")
local addr = ffi.new("struct sockaddr_in")
local tv = ffi.new("struct timeval")

local socks = {}        -- sockets this script opened (some get closed)
local udes = {}
local current = -1      -- the socket being called back

local SIDES = { 0, 1, 2, -1, 3, 255, 0x7fffffff }
local HOOKS = { mos.MOS_HK_SND, mos.MOS_HK_RCV, mos.MOS_NULL, 0, 1, -1 }
local EVENTS = { 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
    4096, 0x7fffffff, -1, 3, 1 + 16 }
local LENS = { 0, 1, 7, 64, BUF, -1, 2 ^ 31, 2 ^ 40 }
local OFFS = { 0, 1, -1, 20, 54, 1500, 65535, -(2 ^ 40), 2 ^ 40 }
local OPTS = { 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 0, 8,
    17, 99, -1 }
local LEVELS = { mos.SOL_MONSOCKET, mos.SOL_MONSOCKET, 0, 6, -1 }
local PKT_OPTS = { mos.MOS_ETH_HDR, mos.MOS_IP_HDR, mos.MOS_TCP_HDR,
    mos.MOS_TCP_PAYLOAD, mos.MOS_DROP, mos.MOS_OVERWRITE, mos.MOS_CHOMP,
    mos.MOS_INSERT, mos.MOS_UPDATE_IP_CHKSUM, mos.MOS_UPDATE_TCP_CHKSUM,
    0, -1, 0x4000 }
local FILTERS = { "tcp", "tcp port 80", "not (", "", "udp and tcp",
    string.rep("tcp or ", 400) .. "tcp", "ip[1000000] = 1" }

local function sock()
    local r = rnd(10)
    if r <= 5 then return current end
    if r <= 7 and #socks > 0 then return pick(socks) end
    return pick({ -1, 0, 1, 2, 1023, 65535, 0x7fffffff, -0x80000000 })
end
-- For the calls that change a socket: not the two listeners, which
-- would then stop calling back (a filter that rejects everything, a
-- callback unregistered) and end the storm.
local function msock()
    local s = sock()
    if s == socks[1] or s == socks[2] then return -1 end
    return s
end
local function side() return mix(rnd(2) - 1, SIDES) end
local function len() return pick(LENS) end
-- A buffer and a length it can hold, or no buffer and any length.
local function area()
    if rnd(4) == 1 then return nil, len() end
    return buf, rnd(BUF + 1) - 1
end
local function ctx() return rnd(12) == 1 and nil or mctx end
local function ude_or_event()
    if #udes > 0 and rnd(3) == 1 then return pick(udes) end
    return pick(EVENTS)
end

local cb      -- the callback every registration uses (defined below)

local calls
calls = {
    getsockopt = function()
        local p, n = area()
        len1[0] = (n >= 0 and n <= BUF) and n or 0
        return mos.getsockopt(ctx(), sock(), mix(mos.SOL_MONSOCKET, LEVELS),
                              mix(rnd(7), OPTS), p,
                              rnd(5) == 1 and nil or len1)
    end,
    setsockopt = function()
        local p, n = area()
        if p ~= nil then
            ffi.fill(p, BUF, rnd(256) - 1)
            ffi.cast("int *", p)[0] = pick({ 0, 1, 2, -1, 4096, 2 ^ 30 })
            n = mix(4, { 1, 8, n })
        end
        return mos.setsockopt(ctx(), msock(), mix(mos.SOL_MONSOCKET, LEVELS),
                              mix(pick({ 9, 10, 11, 12, 15, 16 }), OPTS), p,
                              n)
    end,
    peek = function()
        local p, n = area()
        return mos.peek(ctx(), sock(), side(), p, n)
    end,
    ppeek = function()
        local p, n = area()
        return mos.ppeek(ctx(), sock(), side(), p, n, pick(OFFS))
    end,
    getlastpkt = function()
        return mos.getlastpkt(ctx(), sock(), side(),
                              rnd(4) == 1 and nil or pkt)
    end,
    setlastpkt = function()
        local opt = pick(PKT_OPTS)
        if rnd(3) == 1 then opt = bit.bor(opt, pick(PKT_OPTS)) end
        local data, n = nil, len()
        if rnd(3) > 1 then
            data = string.rep("x", rnd(80) - 1)
            n = rnd(2) == 1 and #data or nil
        end
        return mos.setlastpkt(ctx(), sock(), side(), pick(OFFS), data, n,
                              opt)
    end,
    sendpkt = function()
        local p = pick({ nil, pkt, zpkt })
        return mos.sendpkt(ctx(), sock(), p)
    end,
    reset_conn = function() return mos.reset_conn(ctx(), sock()) end,
    getpeername = function()
        len1[0] = pick({ 0, 4, ffi.sizeof(addr), 1000 })
        if len1[0] > ffi.sizeof(addr) then len1[0] = ffi.sizeof(addr) end
        return mos.getpeername(ctx(), sock(),
                               rnd(4) == 1 and nil or
                               ffi.cast("struct sockaddr *", addr),
                               rnd(4) == 1 and nil or len1, side())
    end,
    raise_event = function() return mos.raise_event(ctx(), ude_or_event()) end,
    alloc_event = function()
        local e = mos.alloc_event(ude_or_event())
        if e ~= 0 and #udes < 64 then udes[#udes + 1] = e end
        return e ~= 0 and 0 or -1
    end,
    define_event = function()
        if #udes >= 64 then return -1 end
        local e = mos.define_event(ude_or_event(), function()
            return rnd(2) == 1
        end, rnd(2) == 1 and "arg" or nil)
        if e ~= 0 then udes[#udes + 1] = e end
        return e ~= 0 and 0 or -1
    end,
    register_callback = function()
        return mos.register_callback(ctx(), msock(), ude_or_event(),
                                     pick(HOOKS), rnd(3) > 1 and cb or nil)
    end,
    settimer = function()
        local t = pick({ 0, 0.001, 1, -1, 1e9, "tv", "badtv" })
        if t == "tv" or t == "badtv" then
            tv.tv_sec = t == "tv" and 1 or -5
            tv.tv_usec = t == "tv" and 5 or 2000000
            t = tv
        end
        return mos.settimer(ctx(), pick({ 0, 1, -1, 7, 0x7fffffff }), t,
                            function() return calls.peek() end)
    end,
    uctx = function()
        local s = sock()
        mos.set_uctx(ctx(), s, rnd(2) == 1 and buf or nil)
        return mos.get_uctx(ctx(), s) ~= nil and 0 or -1
    end,
    cb_get_ts = function() return mos.cb_get_ts(ctx()) >= 0 and 0 or -1 end,
    close = function()
        -- The socket being called back too (not the two listeners).
        return mos.close(ctx(), msock())
    end,
    socket = function()
        if #socks >= 32 then return -1 end
        local s = mos.socket(ctx(), mix(mos.AF_INET, { 0, -1 }),
                             mix(pick({ 3, 7 }),
                                 { 0, 1, 2, 4, 5, 6, 8, 9, -1, 100 }),
                             pick({ 0, 6, -1 }))
        if s >= 0 then
            socks[#socks + 1] = s
            mos.register_callback(mctx, s, pick(EVENTS), pick(HOOKS), cb)
        end
        return s
    end,
    bind_monitor_filter = function()
        local f = pick(FILTERS)
        local ft = pick({ { raw = f }, { syn = f }, { orphan = f },
                          { syn = f, orphan = f }, {} })
        return mos.bind_monitor_filter(ctx(), msock(),
                                       rnd(6) == 1 and nil or ft)
    end,
    life = function()
        -- Life-cycle calls belong to the main thread, never a core.
        local r = rnd(7)
        if r == 1 then return mos.destroy() end
        if r == 2 then return mos.destroy_context(ctx()) end
        if r == 3 then mos.app_join(ctx()) return 0 end
        if r == 4 then return mos.init(nil) end
        if r == 5 then return mos.create_context(rnd(4) - 2) ~= nil and 0 or -1 end
        if r == 6 then return mos.getconf(nil) end
        return mos.setconf(nil)
    end,
    cores = function()
        return mos.GetRSSCPUCore(rnd(2 ^ 30), rnd(2 ^ 30), rnd(65536),
                                 rnd(65536), pick({ 0, 1, 2, -1, 64 }),
                                 pick({ 0, 1 }))
    end,
}

local names = {}
for k in pairs(calls) do names[#names + 1] = k end
-- pairs' order is not fixed; the same SEED must make the same calls.
table.sort(names)
local tally = {}
for _, k in ipairs(names) do tally[k] = { 0, 0, 0, 0 } end

local function storm(s)
    current = s
    for _ = 1, rnd(6) do
        local name = pick(names)
        local t = tally[name]
        t[1] = t[1] + 1
        local ok, r = pcall(calls[name])
        if not ok then
            t[4] = t[4] + 1
        elseif r == -1 or r == nil then
            t[3] = t[3] + 1
        else
            t[2] = t[2] + 1
        end
    end
end

cb = function(mctx, s) storm(s) end

-- The two listeners, with the callback on every (event, hook) pair they
-- take (the others are refused, which is fine here).
for _, type in ipairs({ mos.MOS_SOCK_MONITOR_STREAM,
                       mos.MOS_SOCK_MONITOR_RAW }) do
    local s = mos.socket(mctx, mos.AF_INET, type, 0)
    assert(s >= 0, "socket")
    socks[#socks + 1] = s
    for _, ev in ipairs({ mos.MOS_ON_PKT_IN, mos.MOS_ON_CONN_START,
                          mos.MOS_ON_CONN_NEW_DATA, mos.MOS_ON_TCP_STATE_CHANGE,
                          mos.MOS_ON_REXMIT, mos.MOS_ON_ORPHAN,
                          mos.MOS_ON_CONN_END, mos.MOS_ON_TIMEOUT,
                          mos.MOS_ON_ERROR }) do
        for _, hook in ipairs({ mos.MOS_HK_SND, mos.MOS_HK_RCV,
                                mos.MOS_NULL }) do
            mos.register_callback(mctx, s, ev, hook, cb)
        end
    end
end

mos.at_exit(function()
    local f = assert(io.open(out .. "." .. mctx.cpu, "w"))
    for _, k in ipairs(names) do
        local t = tally[k]
        f:write(string.format("%s %d %d %d %d\n", k, t[1], t[2], t[3], t[4]))
    end
    f:close()
end)
