-- engine.lua - the flow engine seen through a scenario: the event trace
-- of a clean connection as ref/mos-semantics.md §2.4 gives it (the
-- oracle: a table written from mOS's code, not from moonbox's output),
-- frames forwarded byte for byte, retransmissions, orphans, malformed
-- frames, the idle timeout and a timer on the packet clock, a push of
-- many bursts, and IPv4 fragments.
--   moonbox --scenario tests/scenarios/engine.lua
local sc = require "mos.scenario"

sc.record{ "PKT_IN", "CONN_START", "NEW_DATA", "ERROR", "STATE_CHANGE",
           "ORPHAN", "REXMIT", "CONN_END" }

-- mos-semantics §2.4, one row a packet: the sender's side at MOS_HK_SND,
-- then the receiver's at MOS_HK_RCV, then what comes later.
local trace = {
    { "SYN c->s", "c", { flags = "S", ack = 0 },
      { "SND PKT_IN CLI", "SND CONN_START CLI", "SND STATE_CHANGE CLI",
        "RCV PKT_IN SVR", "RCV CONN_START SVR", "RCV STATE_CHANGE SVR" } },
    { "SYN/ACK s->c", "s", { flags = "SA" },
      { "SND PKT_IN SVR", "RCV PKT_IN CLI", "RCV STATE_CHANGE CLI" } },
    { "ACK c->s", "c", { flags = "A" },
      { "SND PKT_IN CLI", "RCV PKT_IN SVR", "RCV STATE_CHANGE SVR" } },
    { "data c->s", "c", { flags = "PA", payload = "hello" },
      { "SND PKT_IN CLI", "RCV PKT_IN SVR", "NULL NEW_DATA SVR" } },
    { "FIN c->s", "c", { flags = "FA" },
      { "SND PKT_IN CLI", "SND STATE_CHANGE CLI",
        "RCV PKT_IN SVR", "RCV STATE_CHANGE SVR" } },
    { "ACK s->c", "s", { flags = "A" },
      { "SND PKT_IN SVR", "RCV PKT_IN CLI", "RCV STATE_CHANGE CLI" } },
    { "FIN s->c", "s", { flags = "FA" },
      { "SND PKT_IN SVR", "SND STATE_CHANGE SVR",
        "RCV PKT_IN CLI", "RCV STATE_CHANGE CLI" } },
    -- The flow is destroyed after it: the server's side, then the
    -- client's, each CONN_END and STATE_CHANGE at RCV then at SND (in
    -- ascending bit order, STATE_CHANGE first).
    { "ACK c->s", "c", { flags = "A" },
      { "SND PKT_IN CLI", "RCV PKT_IN SVR", "RCV STATE_CHANGE SVR",
        "RCV STATE_CHANGE SVR", "RCV CONN_END SVR",
        "SND STATE_CHANGE SVR", "SND CONN_END SVR",
        "RCV STATE_CHANGE CLI", "RCV CONN_END CLI",
        "SND STATE_CHANGE CLI", "SND CONN_END CLI" } },
}

sc.test("a clean connection raises mOS's events in mOS's order", function(t)
    local c = t:conn{ client = "10.1.0.1:40001", server = "10.1.0.2:80" }
    for i, row in ipairs(trace) do
        local name, side, opts, want = row[1], row[2], row[3], row[4]
        local r = c:send(side, opts.payload, opts)
        sc.eq(r.events, want, "packet " .. i .. ", " .. name)
        sc.eq(#r.forwarded, 1, name .. ": frames forwarded")
    end
end)

sc.test("frames pass byte for byte, each out of the other port", function(t)
    local c = t:conn{ client = "10.1.0.1:40002", server = "10.1.0.2:80" }
    local frames = {
        { "c", c:segment("c", { flags = "S", ack = 0 }) },
    }
    local r = t:push(frames[1][2], 0)
    sc.eq(#r.out, 1, "frames out")
    sc.eq(r.out[1].port, 1, "port")
    sc.eq(r.out[1].data, frames[1][2], "the SYN")
    c.seq = c.seq + 1
    local synack = c:segment("s", { flags = "SA" })
    r = t:push(synack, 1)
    sc.eq(r.out[1].port, 0, "port")
    sc.eq(r.out[1].data, synack, "the SYN/ACK")
    sc.eq(r.counters.rx_packets, 1, "rx_packets")
    sc.eq(r.counters.tx_packets, 1, "tx_packets")
    -- An odd-length payload: its checksum pads a zero byte.
    c.seq_s = c.seq_s + 1
    local data = c:segment("c", { flags = "PA", payload = "odd" })
    r = t:push(data)
    sc.eq(r.forwarded[1].data, data, "data")
    sc.ok(r.forwarded[1].pkt.csum_ok, "TCP checksum")
    sc.ok(r.forwarded[1].pkt.ip_csum_ok, "IP checksum")
end)

sc.test("a retransmission raises REXMIT before the receiver's PKT_IN", function(t)
    local c = t:conn{ client = "10.1.0.1:40003", server = "10.1.0.2:80" }
    c:handshake()
    local first = c:send("c", "0123456789")
    sc.eq(first.events, { "SND PKT_IN CLI", "RCV PKT_IN SVR",
                          "NULL NEW_DATA SVR" }, "first copy")
    local again = c:send("c", "0123456789", { seq = c.seq - 10 })
    sc.eq(again.events, { "SND PKT_IN CLI", "RCV REXMIT SVR",
                          "RCV PKT_IN SVR" }, "second copy")
    sc.eq(#again.forwarded, 1, "the copy is forwarded")
end)

sc.test("a segment of no flow is an orphan and passes", function(t)
    local c = t:conn{ client = "10.1.0.1:40004", server = "10.1.0.2:80" }
    local r = c:send("c", "late")
    -- Orphans have no side: MOS_SIDE_BOTH (mos-semantics §1).
    sc.eq(r.events, { "NULL ORPHAN BOTH" }, "events")
    sc.eq(r.flows, { false }, "no flow")
    sc.eq(#r.forwarded, 1, "forwarded")
end)

sc.test("a frame cut inside its TCP header is counted malformed", function(t)
    local c = t:conn{ client = "10.1.0.1:40005", server = "10.1.0.2:80" }
    local f = c:segment("c", { flags = "S", ack = 0 }):sub(1, 14 + 20 + 10)
    local r = t:push(f)
    sc.eq(r.counters.malformed, 1, "malformed")
    sc.eq(r.events, {}, "events")
    -- Without --drop-malformed it goes on, untouched.
    sc.eq(r.forwarded[1].data, f, "forwarded")
end)

sc.test("an idle flow ends at the timeout, on the packet clock", function(t)
    local c = t:conn{ client = "10.1.0.1:40006", server = "10.1.0.2:80" }
    c:handshake()
    local r = t:advance(29000)
    sc.eq(c:events(r), {}, "29 s later")
    r = t:advance(2000)
    sc.eq(c:events(r), { "RCV STATE_CHANGE SVR", "RCV CONN_END SVR",
                      "SND STATE_CHANGE SVR", "SND CONN_END SVR",
                      "RCV STATE_CHANGE CLI", "RCV CONN_END CLI",
                      "SND STATE_CHANGE CLI", "SND CONN_END CLI" },
          "31 s later")
    -- (The flows earlier tests left open end too.)
    sc.ok(r.counters.flows_destroyed >= 1, "flows_destroyed")
end)

sc.test("a timer fires when the packet clock passes its deadline", function(t)
    local fired = {}
    local s = mos.socket(mos.mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
    sc.eq(mos.settimer(mos.mctx, s, 1.5, function(m, sock)
        fired[#fired + 1] = mos.cb_get_ts(m)
    end), 0, "mos.settimer")
    t:advance(1499)
    sc.eq(#fired, 0, "after 1.499 s")
    local r = t:advance(1)
    sc.eq(#fired, 1, "after 1.5 s")
    sc.eq(r.counters.timers_fired, 1, "timers_fired")
    -- The timer's time is the clock's (mtcp_cb_get_ts: microseconds,
    -- truncated to 32 bits).
    sc.eq(tonumber(fired[1]), t.now_us % 2^32, "mos.cb_get_ts")
    t:advance(5000)
    sc.eq(#fired, 1, "a timer fires once")
end)

sc.test("a push of 1500 frames comes out whole and in order", function(t)
    local frames = {}
    for i = 1, 1500 do
        frames[i] = sc.frame{ src = "10.7." .. (i % 200) .. ".1",
                              dst = "10.7.0.2", sport = 1024 + i,
                              dport = 80, flags = "S", seq = i }
    end
    local r = t:push(frames)
    sc.eq(#r.forwarded, 1500, "frames forwarded")
    for i = 1, 1500 do
        if r.forwarded[i].data ~= frames[i] then
            sc.eq(r.forwarded[i].pkt.seq, i, "frame " .. i)
        end
    end
    sc.eq(r.counters.flows_created, 1500, "flows_created")
end)

sc.test("fragments are forwarded as they are and analysed whole", function(t)
    local c = t:conn{ client = "10.1.0.1:40008", server = "10.1.0.2:80" }
    c:handshake()
    local seg = c:segment("c", { flags = "PA", payload = string.rep("f", 100),
                                 id = 77 })
    c.seq = c.seq + 100
    local frags = sc.fragments(seg, 48)
    sc.eq(#frags, 3, "fragments")
    for _, f in ipairs(frags) do
        local d = sc.decode(f)
        sc.ok(d.fragment and d.ip_csum_ok, "a fragment, its checksum right")
    end
    -- Last piece first: the datagram is whole with the first piece.
    local r3 = t:push(frags[3])
    local r2 = t:push(frags[2])
    local r1 = t:push(frags[1])
    for i, r in ipairs{ r1, r2, r3 } do
        sc.eq(r.forwarded[1].data, frags[i], "fragment " .. i .. " unchanged")
    end
    sc.eq(c:events(r3), {}, "events of the last piece")
    sc.eq(r1.counters.ipfrag_reassembled, 1, "ipfrag_reassembled")
    sc.eq(c:events(r1), { "SND PKT_IN CLI", "RCV PKT_IN SVR",
                          "NULL NEW_DATA SVR" }, "events of the datagram")
end)

sc.test("overlapping fragments are given up, and still forwarded", function(t)
    local c = t:conn{ client = "10.1.0.1:40009", server = "10.1.0.2:80" }
    c:handshake()
    local seg = c:segment("c", { flags = "PA", payload = string.rep("g", 64),
                                 id = 78 })
    local a = sc.fragments(seg, 48)
    local b = sc.fragments(seg, 24)
    local r = t:push{ a[1], b[2], a[2] }
    sc.eq(#r.forwarded, 3, "frames forwarded")
    sc.eq(r.counters.ipfrag_failed, 1, "ipfrag_failed")
    sc.eq(c:events(r), {}, "no event")
end)
