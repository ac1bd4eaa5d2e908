--[[
midstat.lua - "middlebox netstat": the TCP flows moonbox tracks on each
core, with client and server address:port and the emulated TCP state of
each endpoint, printed every second of the run's clock and once more at
the end. The Lua version of mOS's midstat sample.

Usage:
    moonbox -r in.pcap [-c CORES] scripts/midstat.lua
    moonbox --port DEV0 --port DEV1 scripts/midstat.lua
It takes no arguments.

How it works: reassembly is off (MOS_CLIBUF = MOS_SVRBUF = 0 on the
listener: only states are tracked). MOS_ON_CONN_START at MOS_HK_SND adds a
row (once per flow, at its first SYN), MOS_ON_TCP_STATE_CHANGE at both
hooks stores the state of the side that changed (as mOS's midstat does:
one getsockopt per change), MOS_ON_TIMEOUT marks a flow that the
idle timeout ends, and MOS_ON_CONN_END (raised once per side) removes the
row. Rows live in one C array (LuaJIT's FFI) indexed by the flow's socket,
linked in creation order, so tracking a flow allocates nothing; the array
doubles when a socket's number passes its end.

Clock: a one-second timer (mos.settimer) on each core, re-armed at each
tick; for captures the clock is the packets' time, so the tables follow
the capture, not the wall clock: table N is printed N seconds after the
core's first packet, before any packet of that time or later, and shows
the flows as they were then. Should a tick come late, every second that
passed still gets its table. In a pause of a capture the engine runs
timers through an hour of it at most, then fires what is due once at the
pause's end (mtcp_settimer(3)): a merge of captures taken a day apart
prints 3600 tables for the first hour of the gap, then one headed
"second N (after a pause)" (as does any tick over a minute late), and
the seconds go on from there. A time stamp years ahead costs no more.

Output (stdout), for each core and second of its clock:
    midstat: core C, second N: F flows          (or "second N (after a pause)")
    Proto CPU Client Address        Client State Server Address        Server State
    tcp   0   10.0.0.1:40000        ESTABLISHED  10.0.0.2:80           ESTABLISHED
(header and rows exactly as mOS's midstat prints them; a state not known
yet is "-"). Each core prints its own tables in one piece, so tables of
different cores never mix.

At the end each core prints its final table, headed
    midstat: core C, end of input: F flows open
listing the flows still open when the input ended, then
    midstat: core C: S flows seen, X closed, T timed out, F open at the end
Flows that closed (both endpoints CLOSED or TIME_WAIT after FIN or RST)
count as closed; flows the idle timeout ended count as timed out. moonbox
ends the flows still open at the end of offline input with MOS_ON_CONN_END
(unless --no-eof-flush); midstat recognises those ends (the flow had not
finished, did not time out, and no later flow started on the core) and
lists them as open. An unfinished flow whose end is followed by a new
flow (e.g. its 4-tuple was reused by a new SYN) counts as closed.
]]
local mctx = ...
local ffi = require "ffi"
local bit = require "bit"

if select("#", ...) > 1 then
    error("midstat.lua takes no arguments", 0)
end

local CORE = mos.core
local TCP_CLOSED, TCP_TIME_WAIT = mos.TCP_CLOSED, mos.TCP_TIME_WAIT
local STATE_CLI = mos.MOS_TCP_STATE_CLI
assert(mos.MOS_TCP_STATE_SVR == STATE_CLI + 1,
       "midstat.lua: MOS_TCP_STATE_SVR must follow MOS_TCP_STATE_CLI")
local TICK_US = 1000000
local PAUSE_US = 60000000	-- a tick later than this ends a pause (on_tick)
-- What the callbacks call, held in locals: a compiled callback then looks
-- nothing up in the globals or in mos (about 1 % of the instructions of
-- a run).
local getsockopt, SOL_MONSOCKET = mos.getsockopt, mos.SOL_MONSOCKET
local getpeername, SIDE_BOTH = mos.getpeername, mos.MOS_SIDE_BOTH
local rshift, bswap = bit.rshift, bit.bswap
local ADDRLEN = 2 * ffi.sizeof("struct sockaddr")

-- Per flow, a row indexed by its socket: addresses (IPv4 as the uint32
-- read from memory, ports in host order), the state of each side (-1
-- unknown), a flag (0 none, ACTIVE, GONE: ended unfinished) and the
-- creation-order links (-1 none). A C array rather than a Lua table per
-- field: a callback reads and writes its flow's row with plain loads and
-- stores, without a table's bound and type checks on each field (about
-- 15 instructions a packet, callgrind, offline). The struct has no name,
-- so that loading the script again in one Lua state defines nothing twice.
local ROW = ffi.typeof([=[struct {
    uint32_t cip, sip;
    uint16_t cport, sport;
    int8_t st[2];
    uint8_t flag, timed_out;
    int32_t nxt, prv;
}[?]]=])
local ROWSIZE = ffi.sizeof(ROW, 1)
local nrows = 1024
local rows = ROW(nrows)
local head, tail = -1, -1
local ACTIVE, GONE = 1, 2

local nactive, ngone = 0, 0
local seen, closed, ntimed_out, open_end = 0, 0, 0, 0
local second, due, ticking = 0, 0, false

-- addrs_p does not keep addrs alive; on_start uses addrs itself.
local addrs = ffi.new("struct sockaddr_in[2]")
local addrlen = ffi.new("uint32_t[1]")
local addrs_p = ffi.cast("struct sockaddr *", addrs)
local int1 = ffi.new("int[1]")
local int_len = ffi.new("uint32_t[1]")
local tv = ffi.new("struct timeval")

-- Sockets are the engine's slot numbers, dense from 0: the rows double
-- until they hold s (at a flow's start, never in its other callbacks).
local function grow(s)
    local n = nrows
    while n <= s do n = n * 2 end
    local r = ROW(n)
    ffi.copy(r, rows, nrows * ROWSIZE)
    rows, nrows = r, n
end

-- The row of s if it is a flow being tracked (ACTIVE), else nil: the
-- callbacks after on_start may name a socket it did not take in, with a
-- number past the rows.
local function active(s)
    if s >= 0 and s < nrows then
        local r = rows[s]
        if r.flag == ACTIVE then return r end
    end
    return nil
end

local function link(s)
    local r = rows[s]
    r.nxt, r.prv = -1, tail
    if tail >= 0 then rows[tail].nxt = s else head = s end
    tail = s
end

local function unlink(s)
    local r = rows[s]
    local n, p = r.nxt, r.prv
    if p >= 0 then rows[p].nxt = n else head = n end
    if n >= 0 then rows[n].prv = p else tail = p end
    r.nxt, r.prv, r.flag = -1, -1, 0
end

local function getstate(m, s, opt)
    int_len[0] = 4
    if getsockopt(m, s, SOL_MONSOCKET, opt, int1, int_len) ~= 0 then
        return nil
    end
    return int1[0]
end

-- Both states of a flow; the server side does not exist during the first
-- SYN's sender hook, and then keeps what is known.
local function refresh(m, s)
    local r = rows[s]
    local v = getstate(m, s, STATE_CLI)
    if v ~= nil then r.st[0] = v end
    v = getstate(m, s, STATE_CLI + 1)
    if v ~= nil then r.st[1] = v end
end

-- -- Output -------------------------------------------------------------

local HEADER = "Proto CPU Client Address        Client State " ..
               "Server Address        Server State\n"

local function ipstr(a)
    return string.format("%d.%d.%d.%d", bit.band(a, 255),
                         bit.band(bit.rshift(a, 8), 255),
                         bit.band(bit.rshift(a, 16), 255),
                         bit.rshift(a, 24))
end

local function statename(v)
    return v >= 0 and mos.state_names[v] or "-"
end

-- One endpoint as mOS prints it: "ip:" then the port left-justified so
-- that "ip:port" fills 21 columns, a space, the state in 12 columns.
local function endpoint(ip, port, state)
    local a = ipstr(ip) .. ":"
    local w = 21 - #a
    local p = w > 0 and string.format("%-" .. w .. "d", port) or tostring(port)
    return a .. p .. " " .. string.format("%-12s", statename(state))
end

local function table_lines(out, final)
    out[#out + 1] = HEADER
    local s = head
    while s >= 0 do
        local r = rows[s]
        if final or r.flag == ACTIVE then
            out[#out + 1] = string.format("%-5s %-3d ", "tcp", CORE) ..
                endpoint(r.cip, r.cport, r.st[0]) .. " " ..
                endpoint(r.sip, r.sport, r.st[1]) .. "\n"
        end
        s = r.nxt
    end
end

-- One write per table: stdio locks the stream for the call, so tables of
-- different cores do not interleave.
local function emit(out)
    io.stdout:write(table.concat(out))
    io.stdout:flush()
end

local function print_second(after_pause)
    local out = { string.format("midstat: core %d, second %d%s: %d flows\n",
                                CORE, second,
                                after_pause and " (after a pause)" or "",
                                nactive) }
    table_lines(out, false)
    emit(out)
end

-- -- Callbacks ----------------------------------------------------------

-- Unfinished flows that ended are kept until another flow starts: if one
-- does, their end was not the end of the input.
local function purge_gone()
    local s = head
    while s >= 0 and ngone > 0 do
        local r = rows[s]
        local n = r.nxt
        if r.flag == GONE then
            unlink(s)
            ngone = ngone - 1
            closed = closed + 1
        end
        s = n
    end
end

local function on_start(m, s)
    if ngone > 0 then purge_gone() end
    addrlen[0] = ADDRLEN
    if getpeername(m, s, addrs_p, addrlen, SIDE_BOTH) ~= 0 then
        return
    end
    -- getpeername knew the socket: s is a slot number, 0 or more.
    if s >= nrows then grow(s) end
    local r = rows[s]
    r.cip, r.cport = addrs[0].sin_addr, rshift(bswap(addrs[0].sin_port), 16)
    r.sip, r.sport = addrs[1].sin_addr, rshift(bswap(addrs[1].sin_port), 16)
    r.st[0], r.st[1], r.timed_out = -1, -1, 0
    refresh(m, s)
    r.flag = ACTIVE
    link(s)
    nactive = nactive + 1
    seen = seen + 1
end

-- Raised at the hook of the side whose state changed. The side's number
-- picks the option and the field: a branch on it made LuaJIT run every
-- server-side call through a side trace that re-enters the callback loop's
-- trace at its head (65 instructions a packet more, callgrind, offline).
local function on_state(m, s, side)
    local r = active(s)
    if r == nil or side < 0 or side > 1 then return end
    local v = getstate(m, s, STATE_CLI + side)
    if v ~= nil then r.st[side] = v end
end

local function on_timeout(m, s)
    local r = active(s)
    if r ~= nil then r.timed_out = 1 end
end

local function finished(v)
    return v == TCP_CLOSED or v == TCP_TIME_WAIT
end

-- Raised once per side: the first call does the work.
local function on_end(m, s)
    local r = active(s)
    if r == nil then return end
    refresh(m, s)
    nactive = nactive - 1
    if r.timed_out == 0 and not (finished(r.st[0]) and finished(r.st[1])) then
        r.flag = GONE
        ngone = ngone + 1
        return
    end
    if r.timed_out ~= 0 then
        ntimed_out = ntimed_out + 1
    else
        closed = closed + 1
    end
    unlink(s)
end

local arm

-- Tables follow the clock: a late timer (one burst spanning several
-- seconds) prints every second that passed, and the next one is due a
-- whole number of seconds after the first. A tick more than a minute late
-- ends a pause of the clock (the engine catches a pause in a capture up
-- through an hour at most, then fires what is due once at its end): one
-- table for it, and the seconds go on from there. The clock's 32-bit
-- microseconds cannot tell how long the pause was.
local function on_tick(m, id)
    local now = mos.cb_get_ts(m)
    if not ticking then
        ticking, due = true, now
    end
    -- Microseconds wrap every 71 minutes: compare differences (a timer
    -- never fires early, so a negative one is over 35 minutes late).
    local late = bit.tobit(now - due)
    if late < 0 or late > PAUSE_US then
        second = second + 1
        print_second(true)
        due = (now + TICK_US) % 4294967296
    end
    while bit.tobit(now - due) >= 0 do
        second = second + 1
        print_second(false)
        due = (due + TICK_US) % 4294967296
    end
    arm(m, id, bit.tobit(due - now))
end

arm = function(m, id, us)
    tv.tv_sec, tv.tv_usec = math.floor(us / 1e6), us % 1000000
    if mos.settimer(m, id, tv, on_tick) ~= 0 then
        io.stderr:write(string.format("midstat: core %d: cannot arm the " ..
                                      "timer (errno %d)\n", CORE, ffi.errno()))
    end
end

local function on_exit()
    open_end = nactive + ngone
    local out = { string.format("midstat: core %d, end of input: %d flows open\n",
                                CORE, open_end) }
    table_lines(out, true)
    out[#out + 1] = string.format("midstat: core %d: %d flows seen, %d closed, " ..
                                  "%d timed out, %d open at the end\n", CORE,
                                  seen, closed, ntimed_out, open_end)
    emit(out)
end

-- -- Set-up -------------------------------------------------------------

local check = mos.check

local sock = check(mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0),
                   "mos.socket")
int1[0] = 0
check(mos.setsockopt(mctx, sock, mos.SOL_MONSOCKET, mos.MOS_CLIBUF, int1, 4),
      "MOS_CLIBUF")
check(mos.setsockopt(mctx, sock, mos.SOL_MONSOCKET, mos.MOS_SVRBUF, int1, 4),
      "MOS_SVRBUF")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_START, mos.MOS_HK_SND,
                            on_start), "CONN_START")
check(mos.register_callback(mctx, sock, mos.MOS_ON_TCP_STATE_CHANGE,
                            mos.MOS_HK_SND, on_state), "TCP_STATE_CHANGE@SND")
check(mos.register_callback(mctx, sock, mos.MOS_ON_TCP_STATE_CHANGE,
                            mos.MOS_HK_RCV, on_state), "TCP_STATE_CHANGE@RCV")
check(mos.register_callback(mctx, sock, mos.MOS_ON_TIMEOUT, mos.MOS_NULL,
                            on_timeout), "TIMEOUT")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_END, mos.MOS_HK_SND,
                            on_end), "CONN_END")
check(mos.settimer(mctx, sock, 1, on_tick), "mos.settimer")
mos.at_exit(on_exit)
