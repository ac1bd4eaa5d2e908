--[[
nat.lua - source NAT for TCP: client-to-server packets leave with their
source address and port rewritten to NAT_IP:PORT, and server-to-client
packets (which the server addresses to NAT_IP:PORT) get their destination
rewritten back to the client's address and port. IP and TCP checksums are
updated. The Lua version of mOS's nat sample.

Usage:
    moonbox -r in.pcap -w out.pcap [-c CORES] scripts/nat.lua NAT_IP [LOW-HIGH]
    moonbox --port DEV0 --port DEV1 scripts/nat.lua NAT_IP
LOW-HIGH is the port pool (default 1025-65534).

How it works: MOS_ON_PKT_IN at MOS_HK_SND rewrites every packet of a flow
before the receiving side's emulation sees it (mos.setlastpkt
MOS_OVERWRITE of the address in MOS_IP_HDR, then of the port in
MOS_TCP_HDR with MOS_UPDATE_IP_CHKSUM | MOS_UPDATE_TCP_CHKSUM). moonbox
keys the flow's server side on the rewritten first SYN, so the server's
replies, addressed to NAT_IP:PORT, find the flow. MOS_ON_CONN_END gives
the port back. Reassembly is off.

Port allocation (deterministic): each core has its own pool, a queue that
starts in ascending order LOW, LOW+1, ..., HIGH. A flow takes its port at
its first SYN: the first port of the queue; a port comes back at the end
of the queue when its flow ends (MOS_ON_CONN_END), so a port is reused
only after every other free port. On one core the n-th flow (n = 0, 1,
...) therefore gets port LOW + n until the pool wraps. With several cores,
a flow takes the first port p of its core's queue for which
mos.GetRSSCPUCore(NAT_IP, server, p, server port) names its own core
(ports skipped on the way go to the end of the queue), so the server's
replies reach the core that holds the flow; two cores never hand out the
same NAT_IP:port toward the same server.

Pool exhaustion: a flow that finds no port is refused: its SYN and every
later packet of it, in either direction, are dropped (MOS_DROP) and
counted, for as long as moonbox tracks the flow. TCP only; packets that
belong to no tracked flow pass untranslated, as in mOS. Without --timewait
a flow ends, and its port is free again, as soon as the connection closes.

Output (stdout, at the end, one line per core):
    nat: core C: NAT_IP, ports LOW-HIGH: T flows translated, R refused
    (no port), P packets translated, D dropped, E errors; U ports in use
    at most
]]
local mctx = ...
local ffi = require "ffi"
local bit = require "bit"

local rshift, bswap = bit.rshift, bit.bswap

local CORE = mos.core
local NCORES = mos.num_cores()

local function usage(msg)
    error("nat.lua: " .. msg .. "\nusage: nat.lua NAT_IP [LOW-HIGH]", 0)
end

local nat_txt, range_txt = select(2, ...)
if nat_txt == nil or select("#", ...) > 3 then usage("wrong arguments") end

local nat_ip          -- network order, as read from memory (little endian)
do
    local o = { nat_txt:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
    if #o ~= 4 then usage("'" .. nat_txt .. "' is not an IPv4 address") end
    local v = 0
    for i = 4, 1, -1 do
        local b = tonumber(o[i])
        if b > 255 or #o[i] > 3 then usage("'" .. nat_txt .. "' is not an IPv4 address") end
        v = v * 256 + b
    end
    nat_ip = v
end

local LOW, HIGH = 1025, 65534
if range_txt ~= nil then
    local lo, hi = range_txt:match("^(%d+)%-(%d+)$")
    lo, hi = tonumber(lo), tonumber(hi)
    if lo == nil or lo < 1 or hi > 65535 or lo > hi then
        usage("bad port range '" .. range_txt .. "'")
    end
    LOW, HIGH = lo, hi
end
local NPORTS = HIGH - LOW + 1

-- -- Port pool: a circular queue of ports (host order) ----------------------

local queue = ffi.new("uint16_t[?]", NPORTS)
local qhead, qcount = 0, NPORTS
for i = 0, NPORTS - 1 do queue[i] = LOW + i end

local function htons(p) return rshift(bswap(p), 16) end

-- The first queued port whose return traffic comes to this core, or nil.
-- sip/sport: the server, network order.
local function take_port(sip, sport)
    for _ = 1, qcount do
        local p = queue[qhead]
        qhead = qhead + 1
        if qhead == NPORTS then qhead = 0 end
        qcount = qcount - 1
        if NCORES == 1 or
           mos.GetRSSCPUCore(nat_ip, sip, htons(p), sport, NCORES) == CORE then
            return p
        end
        local t = qhead + qcount
        if t >= NPORTS then t = t - NPORTS end
        queue[t] = p
        qcount = qcount + 1
    end
    return nil
end

local function give_port(p)
    local t = qhead + qcount
    if t >= NPORTS then t = t - NPORTS end
    queue[t] = p
    qcount = qcount + 1
end

-- -- Per-flow state, indexed by the flow's socket ---------------------------

local port = {}         -- NAT port, host order; false: refused
local cli_ip, cli_port = {}, {}   -- the client, network order

local translated, refused, packets, dropped, errors = 0, 0, 0, 0, 0
local in_use, in_use_max = 0, 0

local SIDE_CLI = mos.MOS_SIDE_CLI
local IP_HDR, TCP_HDR = mos.MOS_IP_HDR, mos.MOS_TCP_HDR
local OVERWRITE, DROP = mos.MOS_OVERWRITE, mos.MOS_DROP
local CKSUMS = bit.bor(mos.MOS_UPDATE_IP_CHKSUM, mos.MOS_UPDATE_TCP_CHKSUM)
local OPT_IP = bit.bor(OVERWRITE, IP_HDR)
local OPT_TCP = bit.bor(OVERWRITE, TCP_HDR, CKSUMS)

-- The casts do not keep their cdata alive; on_pkt and new_flow use
-- addr4, port2 and addrs themselves, which does.
local addr4 = ffi.new("uint32_t[1]")
local port2 = ffi.new("uint16_t[1]")
local addr4_p = ffi.cast("uint8_t *", addr4)
local port2_p = ffi.cast("uint8_t *", port2)
local addrs = ffi.new("struct sockaddr_in[2]")
local addrs_p = ffi.cast("struct sockaddr *", addrs)
local addrlen = ffi.new("uint32_t[1]")
local setlastpkt = mos.setlastpkt

local function drop(m, sock, side)
    if setlastpkt(m, sock, side, 0, nil, 0, DROP) == 0 then
        dropped = dropped + 1
    else
        errors = errors + 1
    end
end

-- The first packet of a flow is its SYN, from the client.
local function new_flow(m, sock)
    addrlen[0] = 2 * ffi.sizeof("struct sockaddr")
    if mos.getpeername(m, sock, addrs_p, addrlen, mos.MOS_SIDE_BOTH) ~= 0 then
        return false
    end
    local p = take_port(addrs[1].sin_addr, addrs[1].sin_port)
    if p == nil then
        refused = refused + 1
        port[sock] = false
        return false
    end
    port[sock] = p
    cli_ip[sock], cli_port[sock] = addrs[0].sin_addr, addrs[0].sin_port
    translated = translated + 1
    in_use = in_use + 1
    if in_use > in_use_max then in_use_max = in_use end
    return p
end

local function on_pkt(m, sock, side)
    local p = port[sock]
    if p == nil then
        if side ~= SIDE_CLI then return end
        p = new_flow(m, sock)
    end
    if not p then return drop(m, sock, side) end
    local r
    if side == SIDE_CLI then
        addr4[0], port2[0] = nat_ip, htons(p)
        r = setlastpkt(m, sock, side, 12, addr4_p, 4, OPT_IP)
        if r == 0 then r = setlastpkt(m, sock, side, 0, port2_p, 2, OPT_TCP) end
    else
        addr4[0], port2[0] = cli_ip[sock], cli_port[sock]
        r = setlastpkt(m, sock, side, 16, addr4_p, 4, OPT_IP)
        if r == 0 then r = setlastpkt(m, sock, side, 2, port2_p, 2, OPT_TCP) end
    end
    if r == 0 then
        packets = packets + 1
    else
        -- A half-translated packet must not leave.
        errors = errors + 1
        drop(m, sock, side)
    end
end

-- Raised once per side: the first call gives the port back.
local function on_end(m, sock)
    local p = port[sock]
    if p == nil then return end
    if p then
        give_port(p)
        in_use = in_use - 1
    end
    port[sock], cli_ip[sock], cli_port[sock] = nil, nil, nil
end

local function on_exit()
    io.stdout:write(string.format("nat: core %d: %s, ports %d-%d: %d flows " ..
        "translated, %d refused (no port), %d packets translated, %d dropped, " ..
        "%d errors; %d ports in use at most\n", CORE, nat_txt, LOW, HIGH,
        translated, refused, packets, dropped, errors, in_use_max))
    io.stdout:flush()
end

-- -- Set-up ------------------------------------------------------------------

local check = mos.check

local sock = check(mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0),
                   "mos.socket")
local zero = ffi.new("int[1]", 0)
check(mos.setsockopt(mctx, sock, mos.SOL_MONSOCKET, mos.MOS_CLIBUF, zero, 4), "MOS_CLIBUF")
check(mos.setsockopt(mctx, sock, mos.SOL_MONSOCKET, mos.MOS_SVRBUF, zero, 4), "MOS_SVRBUF")
check(mos.register_callback(mctx, sock, mos.MOS_ON_PKT_IN, mos.MOS_HK_SND, on_pkt),
      "PKT_IN")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_END, mos.MOS_HK_SND, on_end),
      "CONN_END")
mos.at_exit(on_exit)
