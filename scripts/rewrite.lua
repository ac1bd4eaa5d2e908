--[[
rewrite.lua - replaces every occurrence of PATTERN in the TCP payload of
both directions of every flow with REPLACEMENT (of the same length),
including occurrences split across two or more consecutive segments.

Usage:
    moonbox -r in.pcap -w out.pcap [-c CORES] scripts/rewrite.lua PATTERN REPLACEMENT
    moonbox --port DEV0 --port DEV1 scripts/rewrite.lua PATTERN REPLACEMENT
PATTERN and REPLACEMENT are taken literally and must have the same
length (else the script stops at load). Occurrences are matched in the
original bytes of each direction's stream, left to right and without
overlap (like sed's s/PATTERN/REPLACEMENT/g).

Design. Rewriting happens at MOS_HK_SND of each packet (MOS_ON_PKT_IN),
with mos.setlastpkt MOS_OVERWRITE on MOS_TCP_PAYLOAD and the checksum
updated. An occurrence inside one segment is simply overwritten. The
difficulty is an occurrence split across segments: when a segment ends
with a proper prefix of PATTERN, whether those bytes must change depends
on bytes that have not arrived yet, and once the segment is forwarded it
is too late. Three ways out were considered:
- overwrite speculatively: wrong whenever the next bytes do not complete
  the pattern (bytes that are not part of an occurrence would change);
- MOS_CHOMP the prefix off the segment and MOS_INSERT it (rewritten or
  not) at the front of the next one: the engine then remaps sequence
  numbers for the rest of the connection. It holds only the prefix, but
  every retransmission of either segment must then be cut and padded
  exactly as its first transmission was, and the held bytes are lost if
  the flow ends by RST or idle timeout before the next segment;
- hold the segment: MOS_DROP it at MOS_HK_SND and keep a copy of the
  frame; when the next segment of that direction arrives (or a FIN, a RST,
  or the end of the flow), decide over the held bytes and the new ones
  together, then send the held frame with mos.sendpkt (headers as the
  sender sent them, payload rewritten, checksums recomputed) just before
  the new segment is forwarded, itself rewritten in place.
This script does the last: no length ever changes, so sequence numbers
stay as the endpoints chose them and a retransmission of any segment can
be rewritten the same way again (each direction remembers where its last
64 occurrences were, by sequence number, and rewrites any byte of them a
retransmission carries). The cost: a segment that ends with a prefix of
PATTERN (at most L-1 bytes, L = #PATTERN) is held whole and reaches the
receiver only with the sender's next segment (a retransmission of held
bytes meanwhile is dropped too), so a sender that stops right there,
waiting for its peer, waits until its FIN, its RST or the flow's end
releases them. Held segments are counted by moonbox as dropped_by_policy
and their re-sent copies as pkts_sent.

Segments arriving out of order (ahead of a gap) are rewritten on their
own: occurrences inside them, plus bytes of remembered occurrences; a
segment that fills a gap is never held (bytes after it already left). An
occurrence split across a gap whose second part arrived first therefore
passes unchanged. SYN segments' data is not inspected.

Output (stdout, at the end, one line per core):
    rewrite: core C: N occurrences rewritten (S split across segments),
    H segments held and re-sent, R retransmitted bytes rewritten again,
    E errors
]]
local mctx = ...
local ffi = require "ffi"
local bit = require "bit"

local tobit = bit.tobit

local CORE = mos.core

local pattern, replacement = select(2, ...)
if pattern == nil or replacement == nil or select("#", ...) > 3 then
    error("usage: rewrite.lua PATTERN REPLACEMENT", 0)
end
if #pattern == 0 then error("rewrite.lua: PATTERN is empty", 0) end
if #pattern ~= #replacement then
    error(string.format("rewrite.lua: PATTERN (%d bytes) and REPLACEMENT " ..
                        "(%d bytes) must have the same length", #pattern,
                        #replacement), 0)
end
local L = #pattern
local PAT = ffi.new("uint8_t[?]", L)
ffi.copy(PAT, pattern, L)
local REP = ffi.new("uint8_t[?]", L)
ffi.copy(REP, replacement, L)
local P0 = PAT[0]

local LOG_SIZE = 64

-- Sequence number arithmetic (numbers in [0, 2^32)).
local function seqdiff(a, b) return tobit(a - b) end
local function seqadd(a, n) return (a + n) % 4294967296 end

-- -- Per flow side, indexed by sock * 2 + side ----------------------------
--
-- nxt: next expected sequence number (nil until the SYN is seen); hi: end
-- of the highest segment seen; held: list of held segments (a frame copy
-- with its payload bytes before `pend` already final), hseq: sequence
-- number of the first held byte, pend: where the pending prefix starts;
-- lg: ring of the last occurrences' sequence numbers (lgi: next slot).
local nxt, hi, held, hseq, pend, lg, lgi = {}, {}, {}, {}, {}, {}, {}

local noccur, nsplit, nheld, nrexmit, nerrors = 0, 0, 0, 0, 0

-- Remember an occurrence starting at sequence number s; true if new.
local function remember(key, s)
    local ring = lg[key]
    if ring == nil then
        ring = {}
        lg[key], lgi[key] = ring, 1
    end
    for i = 1, LOG_SIZE do
        if ring[i] == s then return false end
    end
    local i = lgi[key]
    ring[i] = s
    lgi[key] = i == LOG_SIZE and 1 or i + 1
    return true
end

-- Occurrences in b[from, n): their starts go to pos[1..k]; returns k and
-- the end of the last one (or from). glibc's memmem finds them: a byte
-- loop in Lua cost about 3 cycles a byte, most of this script's time.
ffi.cdef[[
void *memmem(const void *haystack, size_t haystacklen, const void *needle,
             size_t needlelen);
]]
local memmem = ffi.C.memmem
local uptr, cast = ffi.typeof("uintptr_t"), ffi.cast
local pos = {}

local function scan(b, from, n)
    local k, i = 0, from
    local base = cast(uptr, b)
    while n - i >= L do
        local at = memmem(b + i, n - i, PAT, L)
        if at == nil then break end
        k = k + 1
        pos[k] = tonumber(cast(uptr, at) - base)
        i = pos[k] + L
    end
    return k, i
end

-- Start of the longest proper prefix of PATTERN that ends b[.., n) and
-- starts at or after `from`; n if there is none.
local function prefix_start(b, from, n)
    local i = n - L + 1
    if i < from then i = from end
    while i < n do
        if b[i] == P0 then
            local j = 1
            while i + j < n and b[i + j] == PAT[j] do j = j + 1 end
            if i + j == n then return i end
        end
        i = i + 1
    end
    return n
end

-- -- Writing -------------------------------------------------------------------

local OPT_WRITE = bit.bor(mos.MOS_OVERWRITE, mos.MOS_TCP_PAYLOAD)
local OPT_LAST = bit.bor(OPT_WRITE, mos.MOS_UPDATE_TCP_CHKSUM)
local DROP = mos.MOS_DROP
local setlastpkt = mos.setlastpkt

-- Pending writes to the current packet: payload offset, offset in REP,
-- length.
local w_off, w_rep, w_len, nw = {}, {}, {}, 0

-- Occurrence [ostart, ostart + L) (offsets in one coordinate system)
-- against a payload at [pstart, pstart + plen): queue or apply the bytes
-- they share. dst: nil for the current packet, else a uint8_t * to write.
local function overlap(ostart, pstart, plen, dst)
    local a = ostart > pstart and ostart or pstart
    local e = ostart + L
    if e > pstart + plen then e = pstart + plen end
    if a >= e then return 0 end
    if dst ~= nil then
        ffi.copy(dst + (a - pstart), REP + (a - ostart), e - a)
    else
        nw = nw + 1
        w_off[nw], w_rep[nw], w_len[nw] = a - pstart, a - ostart, e - a
    end
    return e - a
end

local function flush_writes(m, sock, side)
    for i = 1, nw do
        if setlastpkt(m, sock, side, w_off[i], REP + w_rep[i], w_len[i],
                      i == nw and OPT_LAST or OPT_WRITE) ~= 0 then
            nerrors = nerrors + 1
        end
    end
    nw = 0
end

-- -- Held segments -------------------------------------------------------------

local sendbuf = ffi.new("uint8_t[?]", 65536 + 64)
local sendpkt = ffi.new("struct pkt_info")

-- A held segment: { frame = string, ip = offset of the IP header, tcp =
-- offset of the TCP header, poff = payload offset, plen, seq }.
local function hold_record(p)
    local base = ffi.cast("uint8_t *", p.ethh)
    return {
        frame = ffi.string(base, p.eth_len),
        ip = ffi.cast("uint8_t *", p.iph) - base,
        tcp = ffi.cast("uint8_t *", p.tcph) - base,
        poff = p.payload - base,
        plen = p.payloadlen,
        seq = p.seq,
    }
end

-- Send a held segment, its payload patched with the occurrences at
-- occ[1..k] (offsets relative to `origin`, the held segment's payload
-- being at offset `at`).
local function send_held(m, sock, h, k, at)
    ffi.copy(sendbuf, h.frame, #h.frame)
    for i = 1, k do
        overlap(pos[i], at, h.plen, sendbuf + h.poff)
    end
    sendpkt.ethh = ffi.cast("struct ethhdr *", sendbuf)
    sendpkt.iph = ffi.cast("struct iphdr *", sendbuf + h.ip)
    sendpkt.tcph = ffi.cast("struct tcphdr *", sendbuf + h.tcp)
    sendpkt.payload = sendbuf + h.poff
    sendpkt.payloadlen = h.plen
    if mos.sendpkt(m, sock, sendpkt) ~= 0 then
        nerrors = nerrors + 1
    end
end

-- Release every held segment of a side unchanged (nothing can complete
-- its pending prefix any more).
local function release(m, sock, key)
    local list = held[key]
    if list == nil then return end
    for _, h in ipairs(list) do send_held(m, sock, h, 0, 0) end
    held[key], hseq[key], pend[key] = nil, nil, nil
end

-- -- Packet processing ---------------------------------------------------------

local scratch = ffi.new("uint8_t[?]", 65536 * 2)
local pinfo = ffi.new("struct pkt_info")

-- A segment that is not the next one in order: occurrences inside it,
-- and bytes of remembered occurrences it carries again.
local function isolated(m, sock, side, key, b, n, seq)
    local k = scan(b, 0, n)
    for i = 1, k do
        if remember(key, seqadd(seq, pos[i])) then
            noccur = noccur + 1
        else
            nrexmit = nrexmit + L
        end
        overlap(pos[i], 0, n, nil)
    end
    local ring = lg[key]
    if ring ~= nil then
        for i = 1, LOG_SIZE do
            local s = ring[i]
            if s ~= nil then
                local d = seqdiff(s, seq)
                -- Occurrences not found inside: they straddle an edge.
                if d > -L and d < n and (d < 0 or d + L > n) then
                    nrexmit = nrexmit + overlap(d, 0, n, nil)
                end
            end
        end
    end
    if nw > 0 then flush_writes(m, sock, side) end
end

-- The next segment in order (n bytes at seq; fin: it ends the stream).
local function in_order(m, sock, side, key, p, seq, n, fin)
    local list = held[key]
    local b, total, origin, from, cur
    if list == nil then
        b, total, origin, from, cur = p.payload, n, seq, 0, 0
    else
        -- The held payloads and this one, contiguous.
        origin = hseq[key]
        total = 0
        for _, h in ipairs(list) do
            ffi.copy(scratch + total, ffi.cast("const uint8_t *", h.frame) + h.poff,
                     h.plen)
            total = total + h.plen
        end
        cur = total
        if n > 0 then ffi.copy(scratch + total, p.payload, n) end
        total = total + n
        b, from = scratch, seqdiff(pend[key], origin)
    end
    local k, last = scan(b, from, total)
    local hold_at = total
    -- Hold only the stream's front: bytes after it must not have left.
    if not fin and n > 0 and seqdiff(seqadd(seq, n), hi[key]) >= 0 then
        hold_at = prefix_start(b, last, total)
    end
    for i = 1, k do
        local o = pos[i]
        if remember(key, seqadd(origin, o)) then
            noccur = noccur + 1
            -- Split: it crosses the end of a held segment.
            if list ~= nil then
                local at = 0
                for _, h in ipairs(list) do
                    at = at + h.plen
                    if o < at and o + L > at then
                        nsplit = nsplit + 1
                        break
                    end
                end
            end
        end
    end
    -- Held segments entirely before the pending prefix are final now.
    local keep
    if list ~= nil then
        local at = 0
        for _, h in ipairs(list) do
            if at + h.plen <= hold_at then
                send_held(m, sock, h, k, at)
            else
                -- Pending prefix starts inside it: patch its final bytes
                -- and keep holding it.
                keep = keep or {}
                local f = ffi.new("uint8_t[?]", #h.frame)
                ffi.copy(f, h.frame, #h.frame)
                for i = 1, k do overlap(pos[i], at, h.plen, f + h.poff) end
                h.frame = ffi.string(f, #h.frame)
                keep[#keep + 1] = h
            end
            at = at + h.plen
        end
    end
    if hold_at < total then
        -- This segment ends with (part of) a pending prefix: hold it, its
        -- final bytes patched in the copy.
        for i = 1, k do overlap(pos[i], cur, n, p.payload) end
        keep = keep or {}
        keep[#keep + 1] = hold_record(p)
        nheld = nheld + 1
        held[key] = keep
        hseq[key] = keep[1].seq
        pend[key] = seqadd(origin, hold_at)
        if setlastpkt(m, sock, side, 0, nil, 0, DROP) ~= 0 then
            nerrors = nerrors + 1
        end
    else
        held[key], hseq[key], pend[key] = nil, nil, nil
        for i = 1, k do overlap(pos[i], cur, n, nil) end
        if nw > 0 then flush_writes(m, sock, side) end
    end
end

local function on_pkt(m, sock, side)
    if mos.getlastpkt(m, sock, side, pinfo) ~= 0 or pinfo.tcph == nil then
        return
    end
    local p = pinfo
    local th = p.tcph
    local key = sock * 2 + side
    local seq, n = p.seq, p.payloadlen
    if th.syn ~= 0 then
        local s = seqadd(seq, 1 + n)
        nxt[key], hi[key] = s, s
        return
    end
    if th.rst ~= 0 then
        release(m, sock, key)
        return
    end
    local fin = th.fin ~= 0
    if n == 0 and not fin then return end
    local expect = nxt[key]
    if expect == nil then
        if n > 0 then isolated(m, sock, side, key, p.payload, n, seq) end
        return
    end
    local send = seqadd(seq, n)
    local d = seqdiff(seq, expect)
    if d == 0 then
        in_order(m, sock, side, key, p, seq, n, fin)
        if seqdiff(hi[key], send) < 0 then hi[key] = send end
        -- Bytes of segments that came ahead of a gap have left already.
        nxt[key] = seqdiff(hi[key], send) > 0 and hi[key] or send
        return
    end
    if d > 0 then
        isolated(m, sock, side, key, p.payload, n, seq)
        if seqdiff(hi[key], send) < 0 then hi[key] = send end
        return
    end
    local hs = hseq[key]
    if hs ~= nil and seqdiff(seq, hs) >= 0 and seqdiff(send, expect) <= 0 and
       not fin then
        -- A retransmission of held bytes: they are still held.
        if setlastpkt(m, sock, side, 0, nil, 0, DROP) ~= 0 then
            nerrors = nerrors + 1
        end
        return
    end
    if hs ~= nil and seq == hs then
        -- It carries all the held bytes and more: it replaces them.
        held[key], hseq[key], pend[key] = nil, nil, nil
        nxt[key] = hs
        in_order(m, sock, side, key, p, seq, n, fin)
        if seqdiff(hi[key], send) < 0 then hi[key] = send end
        nxt[key] = seqdiff(hi[key], send) > 0 and hi[key] or send
        return
    end
    if n > 0 then isolated(m, sock, side, key, p.payload, n, seq) end
end

-- Raised once per side: the first call releases what both sides hold.
local function on_end(m, sock)
    for side = 0, 1 do
        local key = sock * 2 + side
        release(m, sock, key)
        nxt[key], hi[key], lg[key], lgi[key] = nil, nil, nil, nil
    end
end

local function on_exit()
    io.stdout:write(string.format("rewrite: core %d: %d occurrences rewritten " ..
        "(%d split across segments), %d segments held and re-sent, %d " ..
        "retransmitted bytes rewritten again, %d errors\n", CORE, noccur,
        nsplit, nheld, nrexmit, nerrors))
    io.stdout:flush()
end

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
