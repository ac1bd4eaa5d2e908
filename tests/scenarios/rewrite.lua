-- rewrite.lua - scripts/rewrite.lua replacing HELLO with WORLD: in one
-- segment, across two (the first held and sent again with moonbox's
-- mtcp_sendpkt before the second), a prefix that does not complete, and
-- a FIN that releases held bytes; the checksums read by the scenario.
--   moonbox --scenario tests/scenarios/rewrite.lua
local sc = require "mos.scenario"

sc.policy("scripts/rewrite.lua", "HELLO", "WORLD")

local port = 41000

local function open(t)
    port = port + 1
    local c = t:conn{ client = "10.3.0.1:" .. port, server = "10.3.0.2:80" }
    c:handshake()
    return c
end

sc.test("occurrences inside one segment", function(t)
    local c = open(t)
    local r = c:send("c", "say HELLO, HELLO!")
    local o = r.forwarded[1]
    sc.eq(o.pkt.payload, "say WORLD, WORLD!", "payload")
    sc.ok(o.pkt.csum_ok, "TCP checksum")
    r = c:send("s", "HELLO back")
    sc.eq(r.forwarded[1].pkt.payload, "WORLD back", "server's direction")
end)

sc.test("an occurrence split across two segments", function(t)
    local c = open(t)
    local seq = c.seq
    local r = c:send("c", "xxHEL")
    sc.ok(r.dropped, "the first segment is held")
    r = c:send("c", "LOyy")
    sc.eq(#r.out, 2, "two frames out")
    local held, now = r.out[1], r.out[2]
    sc.ok(held.generated, "the held segment is sent by moonbox")
    sc.eq({ held.port, held.pkt.seq, held.pkt.payload },
          { 1, seq, "xxWOR" }, "held segment")
    sc.ok(held.pkt.csum_ok, "its checksum")
    sc.ok(not now.generated, "then the new one is forwarded")
    sc.eq({ now.pkt.seq, now.pkt.payload }, { seq + 5, "LDyy" }, "new one")
    sc.ok(now.pkt.csum_ok, "its checksum")
end)

sc.test("a prefix the next segment does not complete", function(t)
    local c = open(t)
    sc.ok(c:send("c", "abHEL").dropped, "held")
    local r = c:send("c", "Pzz")
    sc.eq({ r.out[1].pkt.payload, r.out[2].pkt.payload }, { "abHEL", "Pzz" },
          "both unchanged")
end)

sc.test("a FIN releases what is held", function(t)
    local c = open(t)
    sc.ok(c:send("c", "abHE").dropped, "held")
    local r = c:send("c", "", { flags = "FA" })
    sc.eq(#r.out, 2, "frames out")
    sc.eq(r.out[1].pkt.payload, "abHE", "held bytes first")
    sc.eq(r.out[2].pkt.flags, "FA", "then the FIN")
end)

-- Frames lost before moonbox, or reordered: segments come ahead of a gap.
local function payloads(r)
    local t = {}
    for i, o in ipairs(r.out) do t[i] = o.pkt.payload end
    return t
end

sc.test("an occurrence split between two segments ahead of a gap", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "xxHEL", { seq = seq + 4 }).dropped,
          "ahead, ends with a prefix: dropped")
    sc.ok(c:send("c", "LOyy", { seq = seq + 9 }).dropped,
          "ahead, starts with a suffix: dropped")
    sc.eq(payloads(c:send("c", "abcd")), { "abcd" }, "the gap filled")
    c.seq = seq + 4
    local r = c:send("c", "xxHEL")
    sc.eq(payloads(r), { "xxWOR" },
          "sent again, in order: decided with the dropped one's bytes")
    sc.ok(r.out[1].pkt.csum_ok, "checksum")
    r = c:send("c", "LOyy")
    sc.eq(payloads(r), { "LDyy" }, "rewritten in order")
    sc.ok(r.out[1].pkt.csum_ok, "checksum")
end)

sc.test("ahead of a gap with closed edges: forwarded, rewritten", function(t)
    local c = open(t)
    local seq = c.seq
    sc.eq(payloads(c:send("c", "zHELLOz", { seq = seq + 4 })), { "zWORLDz" },
          "ahead, rewritten on its own")
    sc.eq(payloads(c:send("c", "abHE")), { "abHE" },
          "the gap filled: not held, the next bytes left")
    c.seq = seq + 11
    sc.ok(c:send("c", "HEL").dropped, "after the range ahead, in order: held")
    sc.eq(payloads(c:send("c", "LO!")), { "WOR", "LD!" }, "then rewritten")
end)

sc.test("an occurrence across the far edge of a gap", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "LLOx", { seq = seq + 4 }).dropped, "ahead: dropped")
    sc.eq(payloads(c:send("c", "abHE")), { "abWO" },
          "the gap filled: decided with the dropped one's bytes")
    sc.eq(payloads(c:send("c", "LLOx")), { "RLDx" }, "rewritten in order")
end)

sc.test("a retransmission that carries new bytes too", function(t)
    local c = open(t)
    local seq = c.seq
    sc.eq(payloads(c:send("c", "abc")), { "abc" }, "sent")
    c.seq = seq
    sc.eq(payloads(c:send("c", "abcHELLO")), { "abcWORLD" },
          "old and new bytes, merged")
    sc.ok(c:send("c", "HEL").dropped, "the next one is in order: held")
    sc.eq(payloads(c:send("c", "LO")), { "WOR", "LD" }, "rewritten")
end)

sc.test("a retransmission of held bytes with more after them", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "xxHEL").dropped, "held")
    c.seq = seq
    sc.eq(payloads(c:send("c", "xxHELLOyy")), { "xxWORLDyy" },
          "it takes the held segment's place")
    sc.eq(payloads(c:send("c", "zz")), { "zz" }, "nothing held is sent again")
end)

-- A sender that sends held bytes again waits for them (after a timeout
-- it may send nothing else): what of them is final goes at once.
sc.test("held bytes sent again: the final ones go", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "abcxxHEL").dropped, "held")
    c.seq = seq
    local r = c:send("c", "abcxxHEL")
    sc.ok(r.dropped, "the retransmission is dropped")
    sc.eq({ #r.out, r.out[1].pkt.seq, r.out[1].pkt.payload },
          { 1, seq, "abcxx" }, "the final bytes alone")
    sc.ok(r.out[1].generated and r.out[1].pkt.csum_ok, "sent, checksum")
    r = c:send("c", "LOyy")
    sc.eq({ r.out[1].pkt.seq, r.out[1].pkt.payload }, { seq + 5, "WOR" },
          "then the pending bytes, rewritten")
    sc.eq(r.out[2].pkt.payload, "LDyy", "and the new segment")
end)

sc.test("held bytes sent again with bytes that left before", function(t)
    local c = open(t)
    local seq = c.seq
    sc.eq(payloads(c:send("c", "1HELLO2")), { "1WORLD2" }, "sent")
    sc.ok(c:send("c", "abHE").dropped, "held")
    c.seq = seq
    local r = c:send("c", "1HELLO2abHE")
    sc.ok(r.dropped, "the retransmission is dropped")
    sc.eq(payloads(r), { "1WORLD2", "ab" },
          "the bytes before, rewritten as before, and the final held ones")
    sc.eq({ r.out[1].pkt.seq, r.out[2].pkt.seq }, { seq, seq + 7 },
          "their numbers")
    sc.eq(payloads(c:send("c", "LLO")), { "WO", "RLD" }, "then the rest")
end)

sc.test("a pending prefix alone, sent again and again: given up", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "HEL").dropped, "held")
    for i = 1, 2 do
        c.seq = seq
        local r = c:send("c", "HEL")
        sc.eq({ r.dropped, #r.out }, { true, 0 }, "retransmission " .. i)
    end
    c.seq = seq
    local r = c:send("c", "HEL")
    sc.eq(payloads(r), { "HEL" }, "the third: sent unchanged")
    sc.eq(payloads(c:send("c", "LO")), { "LO" }, "nothing held any more")
end)

-- After a timeout a sender sends only its first unacknowledged segment:
-- held, it would wait for ever. The bytes after it, seen in a dropped
-- segment ahead of the gap, decide it at once.
sc.test("a dropped segment's bytes decide the prefix before it", function(t)
    local c = open(t)
    local seq = c.seq
    sc.ok(c:send("c", "LOyy", { seq = seq + 5 }).dropped, "ahead: dropped")
    sc.eq(payloads(c:send("c", "xxHEL")), { "xxWOR" }, "decided, not held")
    sc.eq(payloads(c:send("c", "LOyy")), { "LDyy" }, "the rest, in order")
    c.seq = seq + 20
    sc.ok(c:send("c", "LOzz", { seq = seq + 13 }).dropped, "ahead: dropped")
    c.seq = seq + 9
    sc.eq(payloads(c:send("c", "abHE")), { "abHE" },
          "decided: no occurrence, not held")
    sc.eq(payloads(c:send("c", "LOzz")), { "LOzz" }, "unchanged")
end)
