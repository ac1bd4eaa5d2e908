--[[
firewall.lua - a SYN-time TCP firewall: each new flow is matched against
a list of rules when its first SYN arrives; the first matching rule
decides, and a flow that no rule matches is accepted. The Lua version of
mOS's simple_firewall sample, with its bugs fixed.

Usage:
    moonbox -r in.pcap -w out.pcap [-c CORES] scripts/firewall.lua RULES_FILE
    moonbox --port DEV0 --port DEV1 scripts/firewall.lua RULES_FILE

Rules file (see scripts/firewall.rules): one rule per line, `#` starts a
comment, blank lines are skipped:
    (ACCEPT|DROP) SRC[/PREFIX] DST[/PREFIX] [sport:PORT] [dport:PORT]
SRC and DST are IPv4 addresses with an optional prefix length 0-32 (any
length is masked correctly; a bare 0.0.0.0 matches every address). PORT is
a number 1-65535, 0 for any port, or a range LOW-HIGH. SRC and sport are
the client's (the sender of the first SYN), DST and dport the server's.
A malformed rule stops the script at load with the file and line.

Verdicts (MOS_ON_CONN_START at MOS_HK_SND, once per flow):
- DROP: the SYN is dropped (MOS_DROP), and a MOS_ON_PKT_IN callback at
  MOS_HK_SND registered on that flow's socket drops every later packet
  of the flow, in both directions, for as long as moonbox tracks it.
- ACCEPT (or no rule): MOS_STOP_MON with MOS_SIDE_BOTH: moonbox stops
  tracking the flow and its packets pass untouched and cost nothing more.
Counters count flows, not SYNs. A retransmitted SYN of an accepted flow
starts a new flow in moonbox (tracking stopped), so each core remembers
the 4-tuple and initial sequence number of the last SYNs it judged (8192
slots, direct-mapped) and does not count a SYN seen again; a slot reused
by another SYN in between forgets the old one.

Output (stdout), for each core, every second of its clock (for captures,
the packets' time; see mos.settimer) and once more at the end:
    firewall: core C, second N            (at the end: "end of input";
                                          "second N (after a pause)" for
                                          a tick over a minute late)
    -----------------------------------------------------------------------
    Firewall rule table
    idx   flows   target   client             server             port
    1     3       DROP     10.0.0.0/24        10.0.0.0/24        dport:80
    -----------------------------------------------------------------------
(simple_firewall's table), and at the end
    firewall: core C: F flows: D dropped, A accepted (N matched no rule);
    P packets dropped, R repeated SYNs not counted
]]
local mctx = ...
local ffi = require "ffi"
local bit = require "bit"

local CORE = mos.core
local MAX_RULES = 1024
local CACHE_SLOTS = 8192            -- power of two

local band, bor, bxor, lshift, rshift, bswap, tobit =
    bit.band, bit.bor, bit.bxor, bit.lshift, bit.rshift, bit.bswap, bit.tobit

-- -- Rules ---------------------------------------------------------------

local function fail(path, lineno, msg)
    error(string.format("firewall: %s:%d: %s", path, lineno, msg), 0)
end

-- "a.b.c.d[/p]" -> network (host order, masked), mask (host order), text
local function parse_net(s, path, lineno)
    local a, b, c, d, rest = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)(.*)$")
    if a == nil then fail(path, lineno, "bad address '" .. s .. "'") end
    local ip = 0
    for _, o in ipairs({ a, b, c, d }) do
        local v = tonumber(o)
        if v > 255 or #o > 3 then fail(path, lineno, "bad address '" .. s .. "'") end
        ip = ip * 256 + v
    end
    local prefix
    if rest == "" then
        prefix = ip == 0 and 0 or 32
    else
        local p = rest:match("^/(%d+)$")
        if p == nil or tonumber(p) > 32 or #p > 2 then
            fail(path, lineno, "bad prefix in '" .. s .. "'")
        end
        prefix = tonumber(p)
    end
    -- lshift by 32 is a shift by 0 for the bit library: /0 is explicit.
    local mask = prefix == 0 and 0 or tobit(lshift(-1, 32 - prefix))
    local canon = string.format("%d.%d.%d.%d", tonumber(a), tonumber(b),
                                tonumber(c), tonumber(d))
    return band(tobit(ip), mask), mask,
           prefix == 32 and canon or (rest == "" and canon or canon .. "/" .. prefix)
end

local function parse_port(s, path, lineno)
    local lo, hi = s:match("^(%d+)%-(%d+)$")
    if lo == nil then
        lo = s:match("^(%d+)$")
        hi = lo
    end
    lo, hi = tonumber(lo), tonumber(hi)
    if lo == nil or lo > 65535 or hi > 65535 or lo > hi or #s > 11 then
        fail(path, lineno, "bad port '" .. s .. "'")
    end
    if lo == 0 and hi == 0 then return 0, 65535, nil end
    if lo == 0 then fail(path, lineno, "bad port range '" .. s .. "'") end
    return lo, hi, s
end

local rules = {}
do
    local path = select(2, ...)
    if path == nil or select("#", ...) > 2 then
        error("usage: firewall.lua RULES_FILE", 0)
    end
    local f, err = io.open(path, "r")
    if f == nil then error("firewall: " .. err, 0) end
    local lineno = 0
    for line in f:lines() do
        lineno = lineno + 1
        line = line:gsub("#.*$", "")
        local w = {}
        for tok in line:gmatch("%S+") do w[#w + 1] = tok end
        if #w > 0 then
            if #rules == MAX_RULES then fail(path, lineno, "too many rules") end
            local target = w[1]:upper()
            if target ~= "ACCEPT" and target ~= "DROP" then
                fail(path, lineno, "target must be ACCEPT or DROP, not '" .. w[1] .. "'")
            end
            if #w < 3 then fail(path, lineno, "needs a source and a destination") end
            local r = { drop = target == "DROP", target = target, flows = 0,
                        slo = 0, shi = 65535, dlo = 0, dhi = 65535 }
            r.src, r.smask, r.stxt = parse_net(w[2], path, lineno)
            r.dst, r.dmask, r.dtxt = parse_net(w[3], path, lineno)
            for i = 4, #w do
                local k, v = w[i]:match("^(%a+):(.+)$")
                if k == "sport" and r.sport_txt == nil then
                    r.slo, r.shi, r.sport_txt = parse_port(v, path, lineno)
                    r.sport_txt = r.sport_txt or "0"
                elseif k == "dport" and r.dport_txt == nil then
                    r.dlo, r.dhi, r.dport_txt = parse_port(v, path, lineno)
                    r.dport_txt = r.dport_txt or "0"
                else
                    fail(path, lineno, "unexpected '" .. w[i] .. "'")
                end
            end
            if r.sport_txt == "0" then r.sport_txt = nil end
            if r.dport_txt == "0" then r.dport_txt = nil end
            rules[#rules + 1] = r
        end
    end
    f:close()
end
local nrules = #rules

-- Flattened for the lookup (numbers in host order, as signed 32 bits).
local r_src, r_smask, r_dst, r_dmask = {}, {}, {}, {}
local r_slo, r_shi, r_dlo, r_dhi, r_drop = {}, {}, {}, {}, {}
for i, r in ipairs(rules) do
    r_src[i], r_smask[i], r_dst[i], r_dmask[i] = r.src, r.smask, r.dst, r.dmask
    r_slo[i], r_shi[i], r_dlo[i], r_dhi[i] = r.slo, r.shi, r.dlo, r.dhi
    r_drop[i] = r.drop
end

-- First matching rule (0 for none). sa, da: host order; sp, dp: host order.
local function lookup_loop(sa, da, sp, dp)
    for i = 1, nrules do
        if band(sa, r_smask[i]) == r_src[i] and band(da, r_dmask[i]) == r_dst[i] and
           sp >= r_slo[i] and sp <= r_shi[i] and dp >= r_dlo[i] and dp <= r_dhi[i] then
            return i
        end
    end
    return 0
end

-- Up to COMPILED_MAX rules, the same tests written out one rule after the
-- other (a function made from the rules at load). LuaJIT compiled the
-- loop as a trace of its own, and the exits from it to the interpreter,
-- once a flow, had the collector take a tenth of the time (jit.p, the
-- bench's http replay); the written-out tests compile into the
-- callback's trace. Past COMPILED_MAX, one trace would grow too long.
local COMPILED_MAX = 32

local function compiled_lookup()
    local src = { "local band = ...\nreturn function(sa, da, sp, dp)\n" }
    for i = 1, nrules do
        src[#src + 1] = string.format("if band(sa, %d) == %d and " ..
            "band(da, %d) == %d and sp >= %d and sp <= %d and dp >= %d " ..
            "and dp <= %d then return %d end\n", r_smask[i], r_src[i],
            r_dmask[i], r_dst[i], r_slo[i], r_shi[i], r_dlo[i], r_dhi[i], i)
    end
    src[#src + 1] = "return 0\nend\n"
    return assert(load(table.concat(src), "=firewall rules"))(band)
end

local lookup = nrules <= COMPILED_MAX and compiled_lookup() or lookup_loop

-- -- Counters and output -------------------------------------------------

local flows, dropped_flows, accepted_flows, nomatch = 0, 0, 0, 0
local dropped_pkts, repeated = 0, 0
local second, due, ticking = 0, 0, false
local TICK_US = 1000000
local PAUSE_US = 60000000           -- a tick later than this ends a pause

local DASHES = string.rep("-", 71)

local function rule_table(out)
    out[#out + 1] = DASHES .. "\nFirewall rule table\n" ..
        "idx   flows   target   client             server             port\n"
    for i, r in ipairs(rules) do
        out[#out + 1] = string.format("%-6d%-8d%-9s%-19s%-19s", i, r.flows,
                                      r.target, r.stxt, r.dtxt)
        if r.sport_txt then out[#out + 1] = string.format("sport:%-6s", r.sport_txt) end
        if r.dport_txt then out[#out + 1] = string.format("dport:%-6s", r.dport_txt) end
        out[#out + 1] = "\n"
    end
    out[#out + 1] = DASHES .. "\n"
end

local function emit(out)
    io.stdout:write(table.concat(out))
    io.stdout:flush()
end

-- -- Repeated SYNs ---------------------------------------------------------

local cache = ffi.new("struct { int32_t sa, da, isn, ports; } [?]", CACHE_SLOTS)
local cache_used = ffi.new("uint8_t[?]", CACHE_SLOTS)

-- Whether this SYN was judged before (and remember it if not). All four
-- values are signed 32-bit numbers (bit.tobit).
local function seen_syn(sa, da, ports, isn)
    local h = bxor(sa, rshift(da, 7), lshift(da, 25), ports, rshift(isn, 3))
    h = bxor(h, rshift(h, 16))
    h = bxor(h, lshift(h, 5), rshift(h, 11))
    h = band(h, CACHE_SLOTS - 1)
    local e = cache[h]
    if cache_used[h] == 1 and e.sa == sa and e.da == da and e.ports == ports and
       e.isn == isn then
        return true
    end
    e.sa, e.da, e.ports, e.isn = sa, da, ports, isn
    cache_used[h] = 1
    return false
end

-- -- Callbacks -------------------------------------------------------------

local DROP = mos.MOS_DROP
local SOL, STOP_MON, SIDE_BOTH = mos.SOL_MONSOCKET, mos.MOS_STOP_MON, mos.MOS_SIDE_BOTH
local side_both = ffi.new("int[1]", SIDE_BOTH)
local pktinfo = ffi.new("struct pkt_info")
local setlastpkt, getlastpkt = mos.setlastpkt, mos.getlastpkt

local function drop_pkt(m, sock, side)
    if setlastpkt(m, sock, side, 0, nil, 0, DROP) == 0 then
        dropped_pkts = dropped_pkts + 1
    end
end

local function on_start(m, sock, side)
    if getlastpkt(m, sock, side, pktinfo) ~= 0 or pktinfo.tcph == nil then
        return
    end
    local ip, th = pktinfo.iph, pktinfo.tcph
    local sa, da = tobit(bswap(ip.saddr)), tobit(bswap(ip.daddr))
    local sp, dp = rshift(bswap(th.source), 16), rshift(bswap(th.dest), 16)
    local i = lookup(sa, da, sp, dp)
    if not seen_syn(sa, da, tobit(sp * 65536 + dp), tobit(pktinfo.seq)) then
        flows = flows + 1
        if i > 0 then
            local r = rules[i]
            r.flows = r.flows + 1
        else
            nomatch = nomatch + 1
        end
        if i > 0 and r_drop[i] then
            dropped_flows = dropped_flows + 1
        else
            accepted_flows = accepted_flows + 1
        end
    else
        repeated = repeated + 1
    end
    if i > 0 and r_drop[i] then
        drop_pkt(m, sock, side)
        if mos.register_callback(m, sock, mos.MOS_ON_PKT_IN, mos.MOS_HK_SND,
                                 drop_pkt) ~= 0 then
            io.stderr:write(string.format("firewall: core %d: cannot watch a " ..
                "dropped flow (errno %d)\n", CORE, ffi.errno()))
        end
    elseif mos.setsockopt(m, sock, SOL, STOP_MON, side_both, 4) ~= 0 then
        io.stderr:write(string.format("firewall: core %d: MOS_STOP_MON " ..
            "failed (errno %d)\n", CORE, ffi.errno()))
    end
end

local tv = ffi.new("struct timeval")

local function print_second(after_pause)
    second = second + 1
    local out = { string.format("firewall: core %d, second %d%s\n", CORE,
                                second,
                                after_pause and " (after a pause)" or "") }
    rule_table(out)
    emit(out)
end

local function on_tick(m, id)
    local now = mos.cb_get_ts(m)
    if not ticking then
        ticking, due = true, now
    end
    -- A tick over a minute late ends a pause of the clock: one table, as
    -- midstat.lua prints (a negative difference is over 35 minutes late:
    -- the 32-bit microseconds wrapped).
    local late = tobit(now - due)
    if late < 0 or late > PAUSE_US then
        print_second(true)
        due = (now + TICK_US) % 4294967296
    end
    while tobit(now - due) >= 0 do
        print_second(false)
        due = (due + TICK_US) % 4294967296
    end
    local us = tobit(due - now)
    tv.tv_sec, tv.tv_usec = math.floor(us / 1e6), us % 1000000
    if mos.settimer(m, id, tv, on_tick) ~= 0 then
        io.stderr:write(string.format("firewall: core %d: cannot arm the " ..
                                      "timer (errno %d)\n", CORE, ffi.errno()))
    end
end

local function on_exit()
    local out = { string.format("firewall: core %d, end of input\n", CORE) }
    rule_table(out)
    out[#out + 1] = string.format("firewall: core %d: %d flows: %d dropped, " ..
        "%d accepted (%d matched no rule); %d packets dropped, %d repeated " ..
        "SYNs not counted\n", CORE, flows, dropped_flows, accepted_flows,
        nomatch, dropped_pkts, repeated)
    emit(out)
end

-- -- Set-up ------------------------------------------------------------------

local check = mos.check

local sock = check(mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0),
                   "mos.socket")
local zero = ffi.new("int[1]", 0)
check(mos.setsockopt(mctx, sock, SOL, mos.MOS_CLIBUF, zero, 4), "MOS_CLIBUF")
check(mos.setsockopt(mctx, sock, SOL, mos.MOS_SVRBUF, zero, 4), "MOS_SVRBUF")
check(mos.register_callback(mctx, sock, mos.MOS_ON_CONN_START, mos.MOS_HK_SND,
                            on_start), "CONN_START")
check(mos.settimer(mctx, sock, 1, on_tick), "mos.settimer")
mos.at_exit(on_exit)
