-- nat.lua - scripts/nat.lua with the NAT address 192.0.2.1 and a pool of
-- three ports: what its header promises (ports handed out in order, the
-- replies mapped back, a full pool refusing flows, a port reused only
-- after the others), with checksums read by the scenario's own code.
-- With the argument "plugin", the C version (scripts/c/nat.c), loaded as
-- a plugin, meets the same tests:
--   moonbox --scenario tests/scenarios/nat.lua
--   moonbox --plugin build/scripts/c/nat.so --plugin-arg ip=192.0.2.1 \
--       --plugin-arg ports=2000-2002 --scenario tests/scenarios/nat.lua plugin
local sc = require "mos.scenario"
local _, mode = ...

if mode ~= "plugin" then
    sc.policy("scripts/nat.lua", "192.0.2.1", "2000-2002")
end

local SERVER = "203.0.113.5:80"

-- A frame from the server to the NAT's address and port.
local function reply(c, nat_port, opts)
    opts.dst, opts.dport = "192.0.2.1", nat_port
    local f = c:segment("s", opts)
    return f
end

local function check_sums(o, what)
    sc.ok(o.pkt.ip_csum_ok, what .. ": IP checksum")
    sc.ok(o.pkt.csum_ok, what .. ": TCP checksum")
end

local conns = {}

sc.test("the first flow leaves as 192.0.2.1:2000", function(t)
    local c = t:conn{ client = "10.0.0.1:40000", server = SERVER }
    conns[1] = c
    local r = c:syn()
    local o = r.forwarded[1]
    sc.eq({ o.pkt.src, o.pkt.sport, o.pkt.dst, o.pkt.dport },
          { "192.0.2.1", 2000, "203.0.113.5", 80 }, "SYN out")
    sc.eq(o.pkt.seq, 1000, "sequence number kept")
    check_sums(o, "SYN")
end)

sc.test("the server's reply comes back to the client", function(t)
    local c = conns[1]
    local r = t:push(reply(c, 2000, { flags = "SA" }), 1)
    c.seq_s = c.seq_s + 1
    local o = r.forwarded[1]
    sc.eq(o.port, 0, "toward the client")
    sc.eq({ o.pkt.src, o.pkt.sport, o.pkt.dst, o.pkt.dport },
          { "203.0.113.5", 80, "10.0.0.1", 40000 }, "SYN/ACK back")
    check_sums(o, "SYN/ACK")
    r = c:send("c", "", { flags = "A" })
    r = c:send("c", "odd length")
    o = r.forwarded[1]
    sc.eq(o.pkt.payload, "odd length", "payload")
    check_sums(o, "data")
    r = t:push(reply(c, 2000, { flags = "PA", payload = "reply" }), 1)
    c.seq_s = c.seq_s + 5
    sc.eq(r.forwarded[1].pkt.dst, "10.0.0.1", "data back")
    check_sums(r.forwarded[1], "data back")
end)

sc.test("the pool hands out 2001, 2002, then refuses", function(t)
    for i, port in ipairs{ 2001, 2002 } do
        local c = t:conn{ client = "10.0.0." .. (i + 1) .. ":40000",
                          server = SERVER }
        conns[i + 1] = c
        local r = c:syn()
        sc.eq(r.forwarded[1].pkt.sport, port, "flow " .. (i + 1))
    end
    local c = t:conn{ client = "10.0.0.9:40000", server = SERVER }
    local r = c:syn()
    sc.ok(r.dropped, "the fourth SYN is dropped")
    r = c:send("c", "", { flags = "A" })
    sc.ok(r.dropped, "and later packets of its flow")
end)

sc.test("a port comes back after the others", function(t)
    -- Close the first flow: 2000 goes to the end of the queue.
    local c = conns[1]
    c:send("c", "", { flags = "FA" })
    t:push(reply(c, 2000, { flags = "FA" }), 1)
    c.seq_s = c.seq_s + 1
    c:send("c", "", { flags = "A" })
    local n = t:conn{ client = "10.0.1.1:40000", server = SERVER }
    local r = n:syn()
    sc.eq(r.forwarded[1].pkt.sport, 2000, "the freed port")
end)
