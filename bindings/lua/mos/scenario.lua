-- mos/scenario.lua - test scenarios: build frames, push them through the
-- engine one step at a time, and assert on what came out, on the events
-- and on the counters (see mos_scenario(3)).
--
--   moonbox --scenario my_test.lua [args...]
--
-- The scenario runs on the one worker core, in the Lua state a policy would
-- run in: it loads the policy under test there (scenario.policy), so the
-- policy's callbacks run while a push is being handled. The engine has two
-- ports of its own (port 0: the client's side, port 1: the server's) and
-- the packet clock, which only the scenario moves.
--
-- Frames are built and decoded here, checksums included, without the
-- engine's C code: a test compares the engine's output with an
-- independent reading of it.
local ffi = require "ffi"
local bit = require "bit"
local C = ffi.C
local band, bor, bxor, lshift, rshift = bit.band, bit.bor, bit.bxor,
    bit.lshift, bit.rshift
local byte, char, sub, format = string.byte, string.char, string.sub,
    string.format

local M = {}

-- -- Bytes ----------------------------------------------------------------

local function u16(v) return char(band(rshift(v, 8), 255), band(v, 255)) end
local function u32(v)
    v = v % 4294967296
    return char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
                math.floor(v / 256) % 256, v % 256)
end
local function get16(s, i) return byte(s, i) * 256 + byte(s, i + 1) end
local function get32(s, i) return get16(s, i) * 65536 + get16(s, i + 2) end

local function ip_bytes(a)
    local p = { a:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
    if #p ~= 4 then error("not an IPv4 address: " .. tostring(a), 3) end
    for i = 1, 4 do
        p[i] = tonumber(p[i])
        if p[i] > 255 then error("not an IPv4 address: " .. a, 3) end
    end
    return char(p[1], p[2], p[3], p[4])
end
local function ip_text(s, i)
    return format("%d.%d.%d.%d", byte(s, i, i + 3))
end

-- The Internet checksum (RFC 1071) of s, added to sum.
local function csum_add(sum, s)
    local n = #s
    for i = 1, n - 1, 2 do sum = sum + byte(s, i) * 256 + byte(s, i + 1) end
    if n % 2 == 1 then sum = sum + byte(s, n) * 256 end
    return sum
end
local function csum_fold(sum)
    while sum > 65535 do sum = band(sum, 65535) + rshift(sum, 16) end
    return bxor(sum, 65535)
end
M.checksum = function(s) return csum_fold(csum_add(0, s)) end

-- -- Building frames --------------------------------------------------------

local FLAG_BITS = { F = 1, S = 2, R = 4, P = 8, A = 16, U = 32, E = 64,
                    C = 128 }
local FLAG_ORDER = "FSRPAUEC"

local function flag_value(flags)
    if type(flags) == "number" then return flags end
    local v = 0
    for ch in (flags or ""):gmatch(".") do
        local b = FLAG_BITS[ch]
        if b == nil then error("unknown TCP flag '" .. ch .. "'", 4) end
        v = bor(v, b)
    end
    return v
end

local function flag_text(v)
    local t = {}
    for i = 1, #FLAG_ORDER do
        local ch = sub(FLAG_ORDER, i, i)
        if band(v, FLAG_BITS[ch]) ~= 0 then t[#t + 1] = ch end
    end
    return table.concat(t)
end

-- An Ethernet/IPv4 frame around a TCP segment or UDP datagram. Fields of
-- spec: src, dst (dotted quads), proto ("tcp", "udp" or a number), sport,
-- dport, seq, ack, flags ("SA", "PA", ...), win, options (raw bytes, padded
-- to 4), payload, ttl, id, df, ip_csum, csum (numbers that replace the
-- computed checksums, to send a damaged frame), smac, dmac.
function M.frame(spec)
    local payload = spec.payload or ""
    local proto = spec.proto or "tcp"
    proto = proto == "tcp" and 6 or proto == "udp" and 17 or proto
    local src, dst = ip_bytes(spec.src or "10.0.0.1"),
        ip_bytes(spec.dst or "10.0.0.2")
    local l4
    if proto == 6 then
        local opts = spec.options or ""
        opts = opts .. string.rep("\0", (4 - #opts % 4) % 4)
        local hl = 20 + #opts
        local head = u16(spec.sport or 40000) .. u16(spec.dport or 80) ..
            u32(spec.seq or 0) .. u32(spec.ack or 0) ..
            char(lshift(hl / 4, 4), flag_value(spec.flags or "A")) ..
            u16(spec.win or 65535)
        local rest = u16(spec.urg or 0) .. opts .. payload
        local pseudo = src .. dst .. char(0, 6) .. u16(hl + #payload)
        local sum = spec.csum or
            csum_fold(csum_add(csum_add(csum_add(0, pseudo), head), rest))
        l4 = head .. u16(sum) .. rest
    elseif proto == 17 then
        local ulen = 8 + #payload
        local head = u16(spec.sport or 40000) .. u16(spec.dport or 53) ..
            u16(ulen)
        local pseudo = src .. dst .. char(0, 17) .. u16(ulen)
        local sum = spec.csum or
            csum_fold(csum_add(csum_add(csum_add(0, pseudo), head), payload))
        if sum == 0 and spec.csum == nil then sum = 65535 end
        l4 = head .. u16(sum) .. payload
    else
        l4 = payload
    end
    local ip = char(0x45, spec.tos or 0) .. u16(20 + #l4) ..
        u16(spec.id or 1) .. u16(spec.df == false and 0 or 0x4000) ..
        char(spec.ttl or 64, proto)
    local iprest = src .. dst
    local ipsum = spec.ip_csum or csum_fold(csum_add(csum_add(0, ip), iprest))
    local eth = (spec.dmac or "\2\0\0\0\0\2") .. (spec.smac or "\2\0\0\0\0\1")
        .. u16(0x0800)
    return eth .. ip .. u16(ipsum) .. iprest .. l4
end

-- The IPv4 fragments of frame (as a router would cut it): each carries at
-- most size bytes of the datagram's payload (size rounded down to a
-- multiple of 8), with its own header and checksum. A list of frames.
function M.fragments(frame, size)
    if #frame < 34 or get16(frame, 13) ~= 0x0800 then
        error("scenario.fragments: not an IPv4 frame", 2)
    end
    size = math.floor((size or 0) / 8) * 8
    if size < 8 then error("scenario.fragments: a size of 8 or more", 2) end
    local ihl = band(byte(frame, 15), 15) * 4
    local eth, iph = sub(frame, 1, 14), sub(frame, 15, 14 + ihl)
    local data = sub(frame, 15 + ihl, 14 + get16(frame, 17))
    local fo = get16(frame, 21)
    local base, more = band(fo, 0x1fff) * 8, band(fo, 0x2000) ~= 0
    local out = {}
    for off = 0, #data - 1, size do
        local piece = sub(data, off + 1, off + size)
        local last = off + size >= #data
        local flags = (last and not more) and 0 or 0x2000
        local h = sub(iph, 1, 2) .. u16(ihl + #piece) .. sub(iph, 5, 6) ..
            u16(flags + (base + off) / 8) .. sub(iph, 9, 10) .. "\0\0" ..
            sub(iph, 13)
        h = sub(h, 1, 10) .. u16(M.checksum(h)) .. sub(h, 13)
        out[#out + 1] = eth .. h .. piece
    end
    return out
end

-- What a frame holds, read without the engine: a table with len, eth_type,
-- and for IPv4 src, dst, proto, ttl, ip_csum_ok; for TCP sport, dport, seq,
-- ack, flags (as M.frame takes them), win, payload, csum_ok; for UDP sport,
-- dport, payload, csum_ok. Fields the frame is too short for stay nil.
function M.decode(s)
    local d = { len = #s, data = s }
    if #s < 14 then return d end
    d.eth_type = get16(s, 13)
    if d.eth_type ~= 0x0800 or #s < 34 then return d end
    local ihl = band(byte(s, 15), 15) * 4
    local tot = get16(s, 17)
    if ihl < 20 or #s < 14 + ihl then return d end
    d.src, d.dst = ip_text(s, 27), ip_text(s, 31)
    d.proto, d.ttl, d.ip_len = byte(s, 24), byte(s, 23), tot
    d.ip_csum_ok = M.checksum(sub(s, 15, 14 + ihl)) == 0
    local fo = get16(s, 21)
    d.fragment = band(fo, 0x3fff) ~= 0
    local l4 = sub(s, 15 + ihl, math.min(#s, 14 + tot))
    if d.fragment then return d end
    local pseudo = sub(s, 27, 34) .. char(0, d.proto) .. u16(#l4)
    if d.proto == 6 and #l4 >= 20 then
        local hl = rshift(byte(l4, 13), 4) * 4
        d.sport, d.dport = get16(l4, 1), get16(l4, 3)
        d.seq, d.ack = get32(l4, 5), get32(l4, 9)
        d.flags, d.win = flag_text(byte(l4, 14)), get16(l4, 15)
        d.options = sub(l4, 21, hl)
        d.payload = sub(l4, hl + 1)
        d.csum_ok = csum_fold(csum_add(csum_add(0, pseudo), l4)) == 0
    elseif d.proto == 17 and #l4 >= 8 then
        d.sport, d.dport = get16(l4, 1), get16(l4, 3)
        d.payload = sub(l4, 9)
        d.csum_ok = get16(l4, 7) == 0 or
            csum_fold(csum_add(csum_add(0, pseudo), l4)) == 0
    end
    return d
end

-- A classic pcap file (microseconds, Ethernet) to keep frames in, for
-- Wireshark or tshark: w:write(data, usec) appends one, w:close() ends it.
local function le32(v)
    v = v % 4294967296
    return char(v % 256, math.floor(v / 256) % 256,
                math.floor(v / 65536) % 256, math.floor(v / 16777216) % 256)
end

function M.pcap(path)
    local f, err = io.open(path, "wb")
    if f == nil then error("scenario.pcap: " .. err, 2) end
    f:write(le32(0xa1b2c3d4), char(2, 0, 4, 0), le32(0), le32(0),
            le32(262144), le32(1))
    return {
        write = function(_, data, usec)
            usec = usec or 0
            f:write(le32(math.floor(usec / 1000000)), le32(usec % 1000000),
                    le32(#data), le32(#data), data)
        end,
        close = function() f:close() end,
    }
end

-- -- Assertions -------------------------------------------------------------

local function show(v)
    if type(v) == "string" then
        if v:find("[^\32-\126\t\n]") then
            return format("<%d bytes: %s%s>", #v,
                v:sub(1, 24):gsub(".", function(c)
                    return format("%02x", byte(c)) end),
                #v > 24 and "..." or "")
        end
        return format("%q", v)
    end
    if type(v) == "table" then
        local t = {}
        for i = 1, #v do t[#t + 1] = show(v[i]) end
        local keys = {}
        for k in pairs(v) do
            if type(k) ~= "number" or k < 1 or k > #v or k % 1 ~= 0 then
                keys[#keys + 1] = k
            end
        end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        for _, k in ipairs(keys) do
            t[#t + 1] = tostring(k) .. "=" .. show(v[k])
        end
        return "{" .. table.concat(t, ", ") .. "}"
    end
    return tostring(v)
end
M.show = show

local function same(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then return a == b end
    for k, v in pairs(a) do if not same(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
end

-- A failed assertion's message is reported alone (it names the test's
-- line); any other error with its traceback.
local asserted = false

local function fail(msg)
    asserted = true
    error(msg, 3)
end

-- Fail the test (at the caller's line) unless got equals want (tables
-- compared field by field).
function M.eq(got, want, what)
    if not same(got, want) then
        fail(format("%s: got %s, want %s", what or "value", show(got),
                    show(want)))
    end
    return got
end

-- Fail the test unless v is true (not nil or false).
function M.ok(v, what)
    if not v then fail((what or "assertion") .. " failed") end
    return v
end

-- -- Recording events ---------------------------------------------------------

-- The names the recorder writes, and the constants they stand for, in
-- ascending bit order.
local EVENTS = {
    { "PKT_IN", "MOS_ON_PKT_IN" }, { "CONN_START", "MOS_ON_CONN_START" },
    { "NEW_DATA", "MOS_ON_CONN_NEW_DATA" }, { "ERROR", "MOS_ON_ERROR" },
    { "TIMEOUT", "MOS_ON_TIMEOUT" },
    { "STATE_CHANGE", "MOS_ON_TCP_STATE_CHANGE" },
    { "ORPHAN", "MOS_ON_ORPHAN" }, { "REXMIT", "MOS_ON_REXMIT" },
    { "CONN_END", "MOS_ON_CONN_END" },
}
-- Events raised on a stream, at each hook (mos-semantics: the rest have
-- no hook and take MOS_NULL).
local HOOKED = { PKT_IN = true, CONN_START = true, STATE_CHANGE = true,
                 CONN_END = true, REXMIT = "rcv" }
local SIDES = { [0] = "CLI", "SVR", "BOTH" }

local rec = nil         -- the log of the recorder, once started
local rec_flow = {}     -- "CLIENT>SERVER" of each entry of rec, or false

-- Record built-in events on every flow from now on, each as a string
-- "HOOK EVENT SIDE" ("SND CONN_START CLI", "NULL NEW_DATA SVR"); names
-- lists the events (default: all but PKT_IN). Each push's result has the
-- events it raised in .events. Call at most once.
function M.record(names)
    if rec ~= nil then error("scenario.record: already recording", 2) end
    local mos = _G.mos
    local want, known = {}, {}
    for _, e in ipairs(EVENTS) do known[e[1]] = true end
    for _, n in ipairs(names or { "CONN_START", "NEW_DATA", "ERROR",
                                  "TIMEOUT", "STATE_CHANGE", "ORPHAN",
                                  "REXMIT", "CONN_END" }) do
        if not known[n] then
            error("scenario.record: no event " .. tostring(n), 2)
        end
        want[n] = true
    end
    rec = {}
    local mctx = mos.mctx
    local s = mos.check(mos.socket(mctx, mos.AF_INET,
                                   mos.MOS_SOCK_MONITOR_STREAM, 0),
                        "scenario.record: mos.socket")
    for _, e in ipairs(EVENTS) do
        local name, ev = e[1], mos[e[2]]
        if want[name] then
            local function at(hook, hp)
                mos.check(mos.register_callback(mctx, s, ev, hp,
                    function(m, sock, side)
                        local n = #rec + 1
                        local p = mos.peer(m, sock)
                        rec[n] = hook .. " " .. name .. " " .. SIDES[side]
                        rec_flow[n] = p ~= nil and
                            (p.cli.ip .. ":" .. p.cli.port .. ">" ..
                             p.svr.ip .. ":" .. p.svr.port) or false
                    end), "scenario.record: mos.register_callback")
            end
            if HOOKED[name] == true then
                at("SND", mos.MOS_HK_SND)
                at("RCV", mos.MOS_HK_RCV)
            elseif HOOKED[name] == "rcv" then
                at("RCV", mos.MOS_HK_RCV)
            else
                at("NULL", mos.MOS_NULL)
            end
        end
    end
end

-- -- The policy under test --------------------------------------------------

-- Load a policy script into this Lua state and run it as moonbox would:
-- with (mctx, args...). Relative paths are taken from the current
-- directory. Its callbacks then run during the scenario's pushes.
function M.policy(path, ...)
    local f, err = loadfile(path)
    if f == nil then error("scenario.policy: " .. err, 2) end
    return f(_G.mos.mctx, ...)
end

-- -- Tests and pushes -----------------------------------------------------------

local tests = {}
local T = {}
T.__index = T
local ended = false      -- the engine has closed its flows

local function declare(list, what, name, fn)
    if type(fn) ~= "function" then
        error(what .. ": a function is needed", 3)
    end
    list[#list + 1] = { name = tostring(name), fn = fn }
end

-- Declare a test: fn(t) runs once the engine runs, after every test
-- declared before it, with t (see below). A test fails when it raises an
-- error (M.eq, M.ok, error, or an API misuse the scenario makes).
function M.test(name, fn) declare(tests, "scenario.test", name, fn) end

local after = {}

-- Declare a test that runs once the engine has closed every flow (their
-- MOS_ON_CONN_END callbacks ran) and the mos.at_exit functions have run:
-- for what a policy writes at its end. It cannot push any more.
function M.after(name, fn) declare(after, "scenario.after", name, fn) end

local mctx_g
local outbuf = ffi.new("uint8_t[?]", 65536)
local outflags = ffi.new("uint32_t[1]")
local cname = ffi.new("const char *[1]")
local cval = ffi.new("uint64_t[1]")
local stepping = false

-- Advance the engine until what was pushed is handled, making the calls
-- it asks for. Errors of the policy's callbacks are counted by the engine
-- (as in a run) and listed in errs.
local function advance(errs)
    stepping = true
    while true do
        local r = C.mosffi_scn_step(mctx_g)
        if r == 1 then
            local e = _G.mos._call(mctx_g)
            if e ~= nil then errs[#errs + 1] = tostring(e) end
        elseif r == 0 or r == 2 then
            stepping = false
            return r
        else
            stepping = false
            error("scenario: the engine refused a step (errno " ..
                  ffi.errno() .. ")", 3)
        end
    end
end

local function counters()
    local t, i = {}, 0
    while C.mosffi_scn_counter(mctx_g, i, cname, cval) == 0 do
        t[ffi.string(cname[0])] = tonumber(cval[0])
        i = i + 1
    end
    return t
end

-- The events recorded since entry first (res.events) and the flow of each
-- (res.flows: "CLIENT:PORT>SERVER:PORT", or false for an orphan's).
local function take_events(res, first)
    res.events, res.flows = {}, {}
    if rec == nil then return end
    for j = first, #rec do
        res.events[#res.events + 1] = rec[j]
        res.flows[#res.flows + 1] = rec_flow[j]
    end
end

-- The engine's counters on the scenario's core (the names of
-- moonbox --stats).
function T:counters() return counters() end

-- A push or an advance starts: the counters and the events before it.
local function begin(level)
    if stepping then
        error("scenario: a push or a clock move from inside a callback",
              level + 1)
    end
    if ended then
        error("scenario: the engine has ended (a test of scenario.after " ..
              "cannot push)", level + 1)
    end
    return { out = {}, forwarded = {}, sent = {}, errors = {},
             counters = {} }, counters(), rec and #rec + 1 or 1
end

-- It ends: what moved since begin().
local function finish(res, before, first_ev)
    for k, v in pairs(counters()) do
        if v ~= before[k] then res.counters[k] = v - (before[k] or 0) end
    end
    take_events(res, first_ev)
    return res
end

-- Frames the engine sent, into res (port: where the push came in).
local function take(res, port)
    for p = 0, 1 do
        while true do
            local n = C.mosffi_scn_pull(mctx_g, p, outbuf, 65536, outflags)
            if n <= 0 then break end
            local data = ffi.string(outbuf, math.min(n, 65536))
            local o = { port = p, data = data, pkt = M.decode(data),
                        generated = band(outflags[0],
                                         C.MOSFFI_SCN_GENERATED) ~= 0 }
            res.out[#res.out + 1] = o
            if o.generated then
                res.sent[#res.sent + 1] = o
            elseif p ~= port then
                res.forwarded[#res.forwarded + 1] = o
            end
        end
    end
end

-- Push frames (a string, or a list of strings) in on a port (0, the
-- client's side, by default) at the current time, let the engine handle
-- them, and return what happened:
--   out        every frame that left: port 0's, then port 1's, each in the
--              order it was sent: {port, data, pkt (decoded), generated
--              (made by moonbox: mtcp_sendpkt, a reset)}
--   forwarded  the frames (not generated) that left on the other port
--   sent       the generated frames
--   dropped    true when a single frame pushed did not come out
--   events     the events raised (after scenario.record), and flows
--   errors     messages of the policy's callbacks that failed
--   counters   the counters that moved, by how much
function T:push(frames, port)
    local res, before, first_ev = begin(2)
    port = port or 0
    if type(frames) == "string" then frames = { frames } end
    if port ~= 0 and port ~= 1 then
        error("push: port 0 or 1, got " .. tostring(port), 2)
    end
    for j = 1, #frames do
        if type(frames[j]) ~= "string" then
            error(format("push: frame %d is a %s, not a string", j,
                         type(frames[j])), 2)
        end
    end
    local i = 1
    repeat
        -- A ring holds what one step may take and send.
        local last = math.min(#frames, i + 1023)
        for j = i, last do
            if C.mosffi_scn_push(mctx_g, port, frames[j], #frames[j],
                                 self.now_us) ~= 0 then
                error(format("push: frame %d refused (errno %d)", j,
                             ffi.errno()), 2)
            end
        end
        advance(res.errors)
        take(res, port)
        i = last + 1
    until i > #frames
    res.dropped = #frames == 1 and #res.forwarded == 0
    return finish(res, before, first_ev)
end

-- Move the clock on by ms milliseconds (the packet clock: timers and idle
-- timeouts run as if that much time passed without a packet) and return
-- what happened, as push does.
function T:advance(ms)
    local res, before, first_ev = begin(2)
    if type(ms) ~= "number" or ms < 0 then
        error("advance: a number of milliseconds >= 0", 2)
    end
    self.now_us = self.now_us + math.floor(ms * 1000)
    if C.mosffi_scn_clock(mctx_g, math.floor(self.now_us / 1000)) ~= 0 then
        error("advance: the engine refused (errno " .. ffi.errno() .. ")", 2)
    end
    advance(res.errors)
    take(res, -1)
    return finish(res, before, first_ev)
end

-- -- Connections ------------------------------------------------------------------

local Conn = {}
Conn.__index = Conn

local function endpoint(s, what)
    local a, p = tostring(s):match("^([%d%.]+):(%d+)$")
    if a == nil then error(what .. ": ADDRESS:PORT, got " .. tostring(s), 3) end
    return a, tonumber(p)
end

-- A TCP connection between client and server ("10.0.0.1:40000"), whose
-- segments the scenario builds with the right numbers: fields isn (client)
-- and isn_s (server), then c.seq and c.seq_s, the next number each side
-- sends. The client's frames enter port 0, the server's port 1.
function T:conn(spec)
    spec = spec or {}
    local c = setmetatable({ t = self }, Conn)
    c.caddr, c.cport = endpoint(spec.client or "10.0.0.1:40000", "conn")
    c.saddr, c.sport = endpoint(spec.server or "10.0.0.2:80", "conn")
    c.seq = spec.isn or 1000
    c.seq_s = spec.isn_s or 5000
    c.win = spec.win or 65535
    return c
end

-- A segment from side "c" (client) or "s" (server), not pushed: fields of
-- opts override (flags, seq, ack, payload, win, options, csum, ...).
function Conn:segment(side, opts)
    opts = opts or {}
    local cli = side == "c"
    if not cli and side ~= "s" then
        error("conn: side \"c\" or \"s\", got " .. tostring(side), 3)
    end
    local spec = {
        src = cli and self.caddr or self.saddr,
        dst = cli and self.saddr or self.caddr,
        sport = cli and self.cport or self.sport,
        dport = cli and self.sport or self.cport,
        seq = cli and self.seq or self.seq_s,
        ack = cli and self.seq_s or self.seq,
        flags = "A", win = self.win,
    }
    for k, v in pairs(opts) do spec[k] = v end
    return M.frame(spec)
end

-- Build, account for and push one segment: the side's next number moves
-- by the payload and by SYN and FIN.
function Conn:send(side, payload, given)
    local opts = {}
    for k, v in pairs(given or {}) do opts[k] = v end
    opts.payload = payload or opts.payload or ""
    if opts.flags == nil then
        opts.flags = #opts.payload > 0 and "PA" or "A"
    end
    local f = self:segment(side, opts)
    if opts.seq == nil then
        local fl = flag_value(opts.flags)
        local n = #opts.payload + (band(fl, 2) ~= 0 and 1 or 0) +
            (band(fl, 1) ~= 0 and 1 or 0)
        if side == "c" then self.seq = (self.seq + n) % 4294967296
        else self.seq_s = (self.seq_s + n) % 4294967296 end
    end
    return self.t:push(f, side == "c" and 0 or 1)
end

function Conn:syn() return self:send("c", "", { flags = "S", ack = 0 }) end
function Conn:synack() return self:send("s", "", { flags = "SA" }) end

-- The three-way handshake: the results of the three pushes.
function Conn:handshake()
    return self:syn(), self:synack(), self:send("c", "", { flags = "A" })
end

-- Close from side (default "c"): FIN, the peer's FIN, the last ACK.
function Conn:close(side)
    side = side or "c"
    local other = side == "c" and "s" or "c"
    return self:send(side, "", { flags = "FA" }),
        self:send(other, "", { flags = "FA" }),
        self:send(side, "", { flags = "A" })
end

-- The events of res (a push's result) that belong to this connection.
function Conn:events(res)
    local key = self.caddr .. ":" .. self.cport .. ">" .. self.saddr .. ":" ..
        self.sport
    local t = {}
    for i, e in ipairs(res.events or {}) do
        if res.flows[i] == key then t[#t + 1] = e end
    end
    return t
end

function Conn:rst(side)
    return self:send(side or "c", "", { flags = "RA" })
end

-- -- The run ------------------------------------------------------------------------

local START_US = 1700000000 * 1000000

-- Run test list (numbering from n) with t; the number of failures.
local function run_tests(list, t, n)
    local failed = 0
    for i, test in ipairs(list) do
        t.name = test.name
        asserted = false
        local ok, err = xpcall(test.fn, function(e)
            if not asserted and type(e) == "string" and
               e:find("^[^\n]-:%d+:") then
                return debug.traceback(e, 1)
            end
            return tostring(e)
        end, t)
        stepping = false
        if ok then
            print(format("ok %d - %s", n + i, test.name))
        else
            failed = failed + 1
            print(format("not ok %d - %s", n + i, test.name))
            for line in tostring(err):gmatch("[^\n]+") do
                print("#   " .. line)
            end
        end
    end
    return failed
end

-- Run the declared tests in order and print TAP (the Test Anything
-- Protocol: "ok N - name" or "not ok N - name" and why); then close the
-- engine's flows as at the end of input, run the at_exit functions
-- (at_exit, from mos.lua) and the scenario.after tests. Called by mos._run.
function M._run(mctx, at_exit)
    mctx_g = mctx
    local t = setmetatable({ now_us = START_US }, T)
    io.stdout:setvbuf("line")
    -- The watchdog (--watchdog) stops a test that runs longer than it
    -- allows without pushing or moving the clock.
    C.mosffi_busy(mctx, 1)
    print("1.." .. #tests + #after)
    local failed = run_tests(tests, t, 0)
    C.mosffi_scn_finish(mctx)
    local errs = {}
    repeat until advance(errs) == 2
    ended = true
    at_exit(mctx)
    C.mosffi_busy(mctx, 1)
    failed = failed + run_tests(after, t, #tests)
    if failed > 0 then
        print(format("# %d of %d tests failed", failed, #tests + #after))
    end
    io.stdout:flush()
    C.mosffi_scn_report(mctx, failed)
end

return M
