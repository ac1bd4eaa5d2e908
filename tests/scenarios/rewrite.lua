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
