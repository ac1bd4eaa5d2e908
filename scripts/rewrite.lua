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
be rewritten the same way again (each direction remembers where its
occurrences were, by sequence number, until the receiver acknowledges
them, and rewrites any byte of them a retransmission carries; the last 64
are kept after that too, for spurious retransmissions, and at most 8192
unacknowledged ones, the oldest forgotten first). The cost: a segment
that ends with a prefix of PATTERN (at most L-1 bytes, L = #PATTERN) is
held whole and reaches the receiver only with the sender's next
segment, so a sender that stops right there, waiting for its peer, waits
until its FIN, its RST or the flow's end releases them. Held segments
are counted by moonbox as dropped_by_policy and their re-sent copies as
pkts_sent.

A sender that sends held bytes again is waiting for them: after a
retransmission timeout it sends nothing but its first unacknowledged
segment. The held bytes before the pending prefix are final, so they go
at once, alone (the retransmission itself is dropped), and only the
prefix stays held. If the sender then sends nothing but the prefix, the
next bytes never come: after STUCK such retransmissions the prefix goes
unchanged (counted as given up; a wrong result if the next bytes would
have completed the pattern). Through a hop that loses 3 % of the frames
both ways (test_inline), 5 of 150 runs of four 400 KB downloads gave a
prefix up, and 3 of the 600 downloads had an occurrence unchanged. A
SACK of the prefix sent to the sender does not move it on: the prefix
starts at the receiver's cumulative ACK, where no SACK block can start
(RFC 2018 reports only data after a hole; a Linux 6.18 sender sent one
went on sending the prefix alone). An ACK of it on the receiver's behalf
would, but would make moonbox answerable for the prefix's delivery, and
would stall a sender that has nothing more to send.

Segments arriving ahead of a gap (a frame lost before moonbox, or
reordered) cannot be decided alone at their edges: an occurrence may
start in the gap, or run on into the next segment. Such a segment is
forwarded, rewritten on its own, only when no occurrence can cross its
edges (it neither starts with a proper suffix of PATTERN nor ends with a
proper prefix of it); else it is dropped, and the sender's
retransmission brings it again once the gap is filled, in order. The
stream's bytes therefore all pass through the in-order path or lie in
segments with closed edges. (Dropping every segment ahead of a gap would
be simpler, but the receiver would then see no data after the hole, send
no duplicate ACKs, and each loss would cost the sender a retransmission
timeout.) A segment that fills a gap up to bytes that already left is not
held. The first bytes of a dropped segment are kept until the gap fills:
when the segment before it comes and ends with a pending prefix, they
decide it at once, and nothing is held (so a loss before moonbox leads
to the timeout case above only when the bytes after a held prefix are
lost again and again, as in a trial through Linux that lost four copies
of them). SYN segments' data is not inspected.

Output (stdout, at the end, one line per core):
    rewrite: core C: N occurrences rewritten (S split across segments),
    H segments held and re-sent, R retransmitted bytes rewritten again,
    A segments ahead of a gap dropped, G pending prefixes given up, E
    errors
]]
local mctx = ...
local ffi = require "ffi"
local bit = require "bit"

local tobit, band, rshift = bit.tobit, bit.band, bit.rshift

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

-- Occurrences remembered per side: all the receiver has not acknowledged
-- (a sender may go back a whole window, and a receiver that lacks those
-- bytes keeps them), but at least the last LOG_KEEP and at most LOG_MAX.
local LOG_KEEP, LOG_MAX = 64, 8192

-- Sequence number arithmetic (numbers in [0, 2^32)).
local function seqdiff(a, b) return tobit(a - b) end
local function seqadd(a, n) return (a + n) % 4294967296 end

-- -- Per flow side, indexed by sock * 2 + side ----------------------------
--
-- nxt: next expected sequence number (nil until the SYN is seen), the end
-- of the bytes that left in order; ahead: ranges {start, end} forwarded
-- ahead of nxt, sorted, disjoint and not touching; held: list of held
-- segments (a frame copy with its payload bytes before `pend` already
-- final), hseq: sequence number of the first held byte, pend: where the
-- pending prefix starts; lg: log of the occurrences' sequence numbers, in
-- stream order, in lg[key][h..t].
local nxt, ahead, held, hseq, pend, lg = {}, {}, {}, {}, {}, {}
-- hrx: retransmissions of held bytes that found nothing final to send;
-- peeks: first bytes of dropped segments ahead of a gap ({ n = count,
-- at = bytes by sequence number }); carry: start of an occurrence that
-- runs on past nxt.
local hrx, peeks, carry = {}, {}, {}

-- Ranges ahead of a gap kept per side; a segment beyond them is dropped
-- (and comes again).
local AHEAD_MAX = 64

local noccur, nsplit, nheld, nrexmit, nahead, ngiveup, nerrors =
    0, 0, 0, 0, 0, 0, 0

-- Logs longer than LOG_KEEP (log.big): while there is none, as with most
-- traffic, an ACK costs no look-up (a look-up in every callback cost the
-- script about 80 instructions a packet, callgrind).
local nbig = 0

-- First index of a log whose occurrence starts at or after s (t + 1 if
-- none does; the slot after t is always empty).
local function log_from(log, s)
    local lo, hi = log.h, log.t + 1
    while lo < hi do
        local mid = rshift(lo + hi, 1)
        if seqdiff(log[mid], s) < 0 then lo = mid + 1 else hi = mid end
    end
    return lo
end

-- Forget the log's oldest occurrences up to index `to`; the live entries
-- move to the front once the dead slots outnumber them.
local function log_cut(log, to)
    local h, t = log.h, log.t
    if log.big and t - to <= LOG_KEEP then
        log.big = false
        nbig = nbig - 1
    end
    for i = h, to do log[i] = nil end
    h = to + 1
    if h > 256 and h - 1 > t - h + 1 then
        local k = 0
        for i = h, t do
            k = k + 1
            log[k] = log[i]
            log[i] = nil
        end
        h, t = 1, k
    end
    log.h, log.t = h, t
end

-- Remember an occurrence starting at sequence number s; true if new.
-- Occurrences mostly come in stream order: one comparison appends them.
local function remember(key, s)
    local log = lg[key]
    if log == nil then
        log = { h = 1, t = 0 }
        lg[key] = log
    end
    local t = log.t
    if t < log.h or seqdiff(s, log[t]) > 0 then
        log[t + 1] = s
    else
        local i = log_from(log, s)
        if log[i] == s then return false end
        for j = t, i, -1 do log[j + 1] = log[j] end
        log[i] = s
    end
    log.t = t + 1
    if t + 1 - log.h >= LOG_KEEP and not log.big then
        log.big = true
        nbig = nbig + 1
    end
    if t + 1 - log.h >= LOG_MAX then log_cut(log, log.h) end
    return true
end

-- The receiver of a side acknowledged the bytes before `a`: forget the
-- occurrences that end there, but for the last LOG_KEEP. An ack beyond
-- the bytes that left in order acknowledges nothing moonbox forwarded
-- (a receiver ignores it).
local function acked(key, a)
    local log, e = lg[key], nxt[key]
    if e == nil or seqdiff(a, e) > 0 then return end
    local to = log.h - 1
    local last = log.t - LOG_KEEP
    while to < last and seqdiff(log[to + 1] + L, a) <= 0 do to = to + 1 end
    if to >= log.h then log_cut(log, to) end
end

-- Occurrences in b[from, n): their starts go to pos[1..k]; returns k and
-- the end of the last one (or from). glibc's memmem finds them: a byte
-- loop in Lua cost about 3 cycles a byte, most of this script's time.
ffi.cdef[[
void *memmem(const void *haystack, size_t haystacklen, const void *needle,
             size_t needlelen);
void *memchr(const void *s, int c, size_t n);
int memcmp(const void *s1, const void *s2, size_t n);
]]
local memmem, memchr, memcmp = ffi.C.memmem, ffi.C.memchr, ffi.C.memcmp
local uptr, cast = ffi.typeof("uintptr_t"), ffi.cast
local pos = {}

-- The common case of scan and prefix_start, a segment with nothing to
-- find, takes one C call and no loop. A loop that goes round while LuaJIT
-- records the callback's trace aborts it ("inner loop in root trace"):
-- which segment happened to be recorded then decided how the script was
-- compiled, and in about one run of four it ran a third more instructions
-- a packet (callgrind). The loops are in functions of their own, for the
-- few segments that need them.
local function scan_on(b, n, base, at)
    local k, i = 0, 0
    repeat
        k = k + 1
        pos[k] = tonumber(cast(uptr, at) - base)
        i = pos[k] + L
        if n - i < L then break end
        at = memmem(b + i, n - i, PAT, L)
    until at == nil
    return k, i
end

local function scan(b, from, n)
    if n - from < L then return 0, from end
    local at = memmem(b + from, n - from, PAT, L)
    if at == nil then return 0, from end
    return scan_on(b, n, cast(uptr, b), at)
end

-- Start of the longest proper prefix of PATTERN that ends b[.., n) and
-- starts at or after `from`; n if there is none. A byte loop here was a
-- loop trace of its own, whose exits to the interpreter boxed the
-- pointers: a tenth of the script's time went to the garbage collector.
local function prefix_on(b, n, i)
    local base = cast(uptr, b)
    repeat
        if memcmp(b + i, PAT, n - i) == 0 then return i end
        i = i + 1
        if i >= n then return n end
        local at = memchr(b + i, P0, n - i)
        if at == nil then return n end
        i = tonumber(cast(uptr, at) - base)
    until false
end

local function prefix_start(b, from, n)
    local i = n - L + 1
    if i < from then i = from end
    if i >= n then return n end
    local at = memchr(b + i, P0, n - i)
    if at == nil then return n end
    return prefix_on(b, n, tonumber(cast(uptr, at) - cast(uptr, b)))
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

-- Apply the pending writes to a payload the script owns (a held copy).
local function apply_writes(dst)
    for i = 1, nw do
        ffi.copy(dst + w_off[i], REP + w_rep[i], w_len[i])
    end
    nw = 0
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

-- Drop the current packet (held, or to come again).
local function drop(m, sock, side)
    if setlastpkt(m, sock, side, 0, nil, 0, DROP) ~= 0 then
        nerrors = nerrors + 1
    end
end

-- -- Held segments -------------------------------------------------------------

local sendbuf = ffi.new("uint8_t[?]", 65536 + 64)
local sendpkt = ffi.new("struct pkt_info")

-- A held segment: { frame = string, ip = offset of the IP header, tcp =
-- offset of the TCP header, poff = payload offset, plen, seq } (poff, plen
-- and seq move when its front is sent alone).
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
-- being at offset `at`); only its first `len` bytes if len is given.
local function send_held(m, sock, h, k, at, len)
    ffi.copy(sendbuf, h.frame, #h.frame)
    for i = 1, k do
        overlap(pos[i], at, h.plen, sendbuf + h.poff)
    end
    local s = h.seq
    local th = sendbuf + h.tcp
    th[4], th[5] = band(rshift(s, 24), 255), band(rshift(s, 16), 255)
    th[6], th[7] = band(rshift(s, 8), 255), band(s, 255)
    sendpkt.ethh = ffi.cast("struct ethhdr *", sendbuf)
    sendpkt.iph = ffi.cast("struct iphdr *", sendbuf + h.ip)
    sendpkt.tcph = ffi.cast("struct tcphdr *", sendbuf + h.tcp)
    sendpkt.payload = sendbuf + h.poff
    sendpkt.payloadlen = len or h.plen
    if mos.sendpkt(m, sock, sendpkt) ~= 0 then
        nerrors = nerrors + 1
    end
end

-- Storing nil under a key a table lacks adds the key (LuaJIT creates it,
-- then stores the nil): done for every segment, that filled the tables
-- with dead keys and had them rehashed. Only keys that are there go.
local function clear(t, key)
    if t[key] ~= nil then t[key] = nil end
end

local function forget_held(key)
    if held[key] ~= nil then
        held[key], hseq[key], pend[key] = nil, nil, nil
    end
    clear(hrx, key)
end

-- Release every held segment of a side unchanged (nothing can complete
-- its pending prefix any more).
local function release(m, sock, key)
    local list = held[key]
    if list == nil then return end
    for _, h in ipairs(list) do send_held(m, sock, h, 0, 0) end
    forget_held(key)
end

-- -- Packet processing ---------------------------------------------------------

local scratch = ffi.new("uint8_t[?]", 65536 * 2)
local pinfo = ffi.new("struct pkt_info")

-- Queue the bytes of remembered occurrences that cross the start of n
-- bytes at seq (and their end too, if `ends`): a scan of the bytes alone
-- does not find them. (Non-overlapping occurrences: one at each edge, but
-- the loops take any the log has.)
local function straddlers(key, seq, n, ends)
    local log = lg[key]
    if log == nil then return end
    local i = log_from(log, seqadd(seq, 1 - L))
    local t = log.t
    while i <= t do
        local d = seqdiff(log[i], seq)
        if d >= 0 then break end
        nrexmit = nrexmit + overlap(d, 0, n, nil)
        i = i + 1
    end
    if not ends then return end
    local j = log_from(log, seqadd(seq, n)) - 1
    while j >= i do
        local d = seqdiff(log[j], seq)
        if d + L <= n then break end
        nrexmit = nrexmit + overlap(d, 0, n, nil)
        j = j - 1
    end
end

-- Queue the writes to n bytes at seq taken alone: occurrences inside
-- them, and bytes of remembered occurrences they carry again.
local function queue_alone(key, b, n, seq)
    local k = scan(b, 0, n)
    for i = 1, k do
        if remember(key, seqadd(seq, pos[i])) then
            noccur = noccur + 1
        else
            nrexmit = nrexmit + L
        end
        overlap(pos[i], 0, n, nil)
    end
    straddlers(key, seq, n, true)
end

-- A segment that is not the next one in order, rewritten alone.
local function isolated(m, sock, side, key, b, n, seq)
    queue_alone(key, b, n, seq)
    if nw > 0 then flush_writes(m, sock, side) end
end

-- Send the held bytes that are final (before pend) and hold on to the
-- pending ones alone. False if all held bytes are pending.
local function trim_held(m, sock, key)
    local list, p0 = held[key], pend[key]
    local sent = false
    while list[1] ~= nil do
        local h = list[1]
        local f = seqdiff(p0, h.seq)
        if f <= 0 then break end
        sent = true
        if f >= h.plen then
            send_held(m, sock, h, 0, 0)
            table.remove(list, 1)
        else
            send_held(m, sock, h, 0, 0, f)
            h.poff, h.plen, h.seq = h.poff + f, h.plen - f, p0
        end
    end
    hseq[key] = list[1].seq
    return sent
end

-- Retransmissions of held bytes that found nothing final to send, before
-- the pending bytes are given up and sent unchanged.
local STUCK = 3

-- A segment that carries held bytes again, but not all of them with more
-- after them: its sender waits for them. What of them is final goes, with
-- the bytes before hs the segment carries (they left before, rewritten,
-- but may have been lost after moonbox); the segment itself is dropped.
-- A sender whose every unacknowledged byte is pending (after a timeout it
-- may send nothing else) would wait for ever: after STUCK such
-- retransmissions its pending bytes go unchanged.
local function held_rexmit(m, sock, side, key, p, seq, n)
    local before = seqdiff(hseq[key], seq)
    if before > 0 then
        -- Alone, as a retransmission (one decided with a dropped
        -- segment's bytes may cross hs).
        queue_alone(key, p.payload, before, seq)
        apply_writes(p.payload)
        send_held(m, sock, hold_record(p), 0, 0, before)
    end
    drop(m, sock, side)
    if trim_held(m, sock, key) then
        hrx[key] = nil
        return
    end
    local r = (hrx[key] or 0) + 1
    if r < STUCK then
        hrx[key] = r
        return
    end
    ngiveup = ngiveup + 1
    release(m, sock, key)
end

-- -- Segments ahead of a gap ---------------------------------------------------

-- True if an occurrence could cross an edge of b[0, n): b starts with a
-- proper suffix of PATTERN (or lies inside it), or ends with a proper
-- prefix of it.
local function edges_open(b, n)
    if prefix_start(b, 0, n) < n then return true end
    for j = 1, L - 1 do
        local m = L - j
        if m > n then m = n end
        local k = 0
        while k < m and b[k] == PAT[j + k] do k = k + 1 end
        if k == m then return true end
    end
    return false
end

-- Record [s, e) as forwarded ahead of the side's nxt, merged with the
-- ranges it overlaps or touches; false if there is no room for it.
local function ahead_add(key, s, e)
    local list = ahead[key]
    if list == nil then
        list = {}
        ahead[key] = list
    end
    local base = nxt[key]
    local rs, re = seqdiff(s, base), seqdiff(e, base)
    local i = 1
    while list[i] ~= nil and seqdiff(list[i][2], base) < rs do i = i + 1 end
    local j = i
    while list[j] ~= nil and seqdiff(list[j][1], base) <= re do
        local r = list[j]
        if seqdiff(r[1], base) < rs then s, rs = r[1], seqdiff(r[1], base) end
        if seqdiff(r[2], base) > re then e, re = r[2], seqdiff(r[2], base) end
        j = j + 1
    end
    if j == i then
        if #list >= AHEAD_MAX then return false end
        table.insert(list, i, { s, e })
    else
        list[i] = { s, e }
        for _ = i + 1, j - 1 do table.remove(list, i + 1) end
    end
    return true
end

-- True if the byte at e already left ahead of a gap.
local function left_at(key, e)
    local list = ahead[key]
    if list == nil then return false end
    for _, r in ipairs(list) do
        if seqdiff(r[1], e) > 0 then return false end
        if seqdiff(r[2], e) > 0 then return true end
    end
    return false
end

-- The bytes up to e left in order: nxt moves there, and on over the
-- ranges ahead that now join it.
local function advance(key, e)
    local list = ahead[key]
    if list ~= nil then
        while list[1] ~= nil and seqdiff(list[1][1], e) <= 0 do
            if seqdiff(list[1][2], e) > 0 then e = list[1][2] end
            table.remove(list, 1)
        end
    end
    nxt[key] = e
    local pk = peeks[key]
    if pk ~= nil then
        for s in pairs(pk.at) do
            if seqdiff(s, e) < 0 then
                pk.at[s] = nil
                pk.n = pk.n - 1
            end
        end
        if pk.n == 0 then peeks[key] = nil end
    end
end

-- Keep the first bytes of a segment ahead of a gap that is dropped: the
-- same bytes come again (TCP sends the same bytes at the same numbers),
-- and until then they decide a pending prefix just before them.
local function peek_add(key, s, b, n)
    local pk = peeks[key]
    if pk == nil then
        pk = { n = 0, at = {} }
        peeks[key] = pk
    end
    if pk.at[s] == nil then
        if pk.n >= AHEAD_MAX then return end
        pk.n = pk.n + 1
    end
    pk.at[s] = ffi.string(b, n < L - 1 and n or L - 1)
end

-- The pending prefix at the end of b[from, total), at sequence number s,
-- decided with the bytes after it, if a dropped segment showed them: the
-- start of the occurrence that crosses s, false if none does, nil if the
-- bytes are not known (or too few).
local function decide(key, b, from, total, s)
    local pk = peeks[key]
    local nb = pk and pk.at[s]
    if nb == nil then return nil end
    -- Each start of a pending prefix, longest first.
    local i = prefix_start(b, from, total)
    while i < total do
        local m = total - i
        if #nb < L - m then return nil end
        local j = 0
        while j < L - m and nb:byte(j + 1) == PAT[m + j] do j = j + 1 end
        if j == L - m then return i end
        i = prefix_start(b, i + 1, total)
    end
    return false
end

-- Past this distance ahead of nxt a segment is not the stream's (no
-- window is that large): it is rewritten on its own and not recorded.
local AHEAD_SPAN = 2 ^ 30

-- A segment ahead of a gap (n > 0): forwarded, rewritten on its own, if
-- its edges are closed; else dropped, to come again in order.
local function on_ahead(m, sock, side, key, p, seq, n, send)
    local b = p.payload
    if seqdiff(send, nxt[key]) < AHEAD_SPAN and
       (edges_open(b, n) or not ahead_add(key, seq, send)) then
        nahead = nahead + 1
        peek_add(key, seq, b, n)
        drop(m, sock, side)
        return
    end
    isolated(m, sock, side, key, b, n, seq)
end

-- The next segment in order (n bytes at seq; fin: it ends the stream).
local function in_order(m, sock, side, key, p, seq, n, fin)
    local list = held[key]
    local b, total, origin, from, cur
    if list == nil then
        b, total, origin, from, cur = p.payload, n, seq, 0, 0
        local c = carry[key]
        if c ~= nil then
            -- The end of an occurrence decided with this segment's bytes
            -- before they came (see decide).
            local d = seqdiff(c, seq)
            if d + L > 0 then
                nrexmit = nrexmit + overlap(d, 0, n, nil)
                -- A segment that starts before it (bytes sent again with
                -- new ones) is scanned whole: it finds it again.
                if d < 0 then from = d + L end
            end
            if d + L <= n then carry[key] = nil end
        end
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
    if not fin and n > 0 and not left_at(key, seqadd(seq, n)) then
        hold_at = prefix_start(b, last, total)
    end
    if hold_at < total then
        local o = decide(key, b, hold_at, total, seqadd(origin, total))
        if o ~= nil then
            hold_at = total
            if o then
                k = k + 1
                pos[k] = o
                carry[key] = seqadd(origin, o)
            end
        end
    end
    for i = 1, k do
        local o = pos[i]
        if remember(key, seqadd(origin, o)) then
            noccur = noccur + 1
            -- Split: it crosses the end of a held segment, or of this one
            -- (decided with a dropped segment's bytes).
            if o + L > total then
                nsplit = nsplit + 1
            elseif list ~= nil then
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
        apply_writes(p.payload)
        for i = 1, k do overlap(pos[i], cur, n, p.payload) end
        keep = keep or {}
        keep[#keep + 1] = hold_record(p)
        nheld = nheld + 1
        held[key] = keep
        hseq[key] = keep[1].seq
        pend[key] = seqadd(origin, hold_at)
        hrx[key] = nil
        drop(m, sock, side)
    else
        forget_held(key)
        for i = 1, k do overlap(pos[i], cur, n, nil) end
        if nw > 0 then flush_writes(m, sock, side) end
    end
end

local function on_pkt(m, sock, side)
    if mos.getlastpkt(m, sock, side, pinfo) ~= 0 or pinfo.tcph == nil then
        return
    end
    -- Writes a failed call left queued are not this packet's.
    nw = 0
    local p = pinfo
    local th = p.tcph
    local key = sock * 2 + side
    local seq, n = p.seq, p.payloadlen
    if nbig > 0 and th.ack ~= 0 then
        -- It acknowledges the other side's bytes.
        local okey = key + 1 - 2 * side
        local log = lg[okey]
        if log ~= nil and log.big then acked(okey, p.ack_seq) end
    end
    if th.syn ~= 0 then
        local s = seqadd(seq, 1 + n)
        nxt[key] = s
        clear(ahead, key)
        clear(peeks, key)
        clear(carry, key)
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
        advance(key, send)
        return
    end
    if d > 0 then
        if n > 0 then on_ahead(m, sock, side, key, p, seq, n, send) end
        return
    end
    -- It starts before expect: it retransmits bytes, and perhaps carries
    -- new ones after them (a sender may merge segments when it resends).
    local new = seqdiff(send, expect) > 0
    local hs = hseq[key]
    if hs ~= nil and seqdiff(send, hs) > 0 then
        -- It carries held bytes. If it carries them all (from hs on) and
        -- more, or a FIN after them, it takes their place; else the
        -- sender is sending them again.
        if seqdiff(seq, hs) > 0 or
           not (new or (fin and seqdiff(send, expect) == 0)) then
            held_rexmit(m, sock, side, key, p, seq, n)
            return
        end
        forget_held(key)
    elseif not new then
        if n > 0 then isolated(m, sock, side, key, p.payload, n, seq) end
        return
    end
    -- Nothing is held now: the old bytes are rewritten as when they left
    -- (remembered occurrences across the start, the one decided across
    -- expect too), the new ones in order.
    straddlers(key, seq, n, false)
    in_order(m, sock, side, key, p, seq, n, fin)
    advance(key, send)
end

-- Raised once per side: the first call releases what both sides hold.
local function on_end(m, sock)
    for side = 0, 1 do
        local key = sock * 2 + side
        release(m, sock, key)
        clear(nxt, key)
        clear(ahead, key)
        local log = lg[key]
        if log ~= nil then
            if log.big then nbig = nbig - 1 end
            lg[key] = nil
        end
        clear(peeks, key)
        clear(carry, key)
        clear(hrx, key)
    end
end

local function on_exit()
    io.stdout:write(string.format("rewrite: core %d: %d occurrences rewritten " ..
        "(%d split across segments), %d segments held and re-sent, %d " ..
        "retransmitted bytes rewritten again, %d segments ahead of a gap " ..
        "dropped, %d pending prefixes given up, %d errors\n", CORE, noccur,
        nsplit, nheld, nrexmit, nahead, ngiveup, nerrors))
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
