-- firewall.lua - scripts/firewall.lua with the shipped rules
-- (scripts/firewall.rules): each rule's comment there says which flows it
-- drops; these tests send those flows and their neighbours. With the
-- argument "plugin", the C version (scripts/c/firewall.c), loaded as a
-- plugin, meets the same tests:
--   moonbox --scenario tests/scenarios/firewall.lua
--   moonbox --plugin build/scripts/c/firewall.so \
--       --plugin-arg rules=scripts/firewall.rules \
--       --scenario tests/scenarios/firewall.lua plugin
local sc = require "mos.scenario"
local _, mode = ...

if mode ~= "plugin" then
    sc.policy("scripts/firewall.lua", "scripts/firewall.rules")
end

-- Open a flow and say what became of its SYN.
local function syn(t, client, server)
    local c = t:conn{ client = client, server = server }
    return c, c:syn()
end

sc.test("a DROP rule drops the SYN and every later packet", function(t)
    -- DROP 10.0.0.0/24 10.0.0.0/24 dport:80
    local c, r = syn(t, "10.0.0.5:33000", "10.0.0.9:80")
    sc.ok(r.dropped, "SYN dropped")
    sc.eq(r.counters.dropped_by_policy, 1, "dropped_by_policy")
    r = c:synack()
    sc.ok(r.dropped, "SYN/ACK of the dropped flow dropped")
    r = c:send("c", "", { flags = "A" })
    sc.ok(r.dropped, "ACK dropped")
    r = c:send("c", "GET /")
    sc.ok(r.dropped, "data dropped")
    sc.eq(r.sent, {}, "nothing sent in its place")
end)

sc.test("the same addresses on another port pass", function(t)
    local c, r = syn(t, "10.0.0.5:33001", "10.0.0.9:8080")
    sc.eq(#r.forwarded, 1, "SYN forwarded")
    local _, b, d = c:synack(), nil, nil
    sc.eq(#c:send("c", "", { flags = "A" }).forwarded, 1, "ACK")
    local data = c:send("c", "GET / HTTP/1.0\r\n\r\n")
    sc.eq(data.forwarded[1].pkt.payload, "GET / HTTP/1.0\r\n\r\n", "data")
end)

sc.test("ACCEPT rules and flows no rule matches pass untouched", function(t)
    for _, pair in ipairs{
        { "10.0.1.7:1024", "10.0.1.9:80" },     -- ACCEPT ... sport:1024
        { "10.0.2.7:5555", "10.0.2.9:80" },     -- ACCEPT 10.0.2.7 10.0.2.9
        { "192.168.1.1:40000", "192.168.1.2:22" },  -- no rule
    } do
        local c, r = syn(t, pair[1], pair[2])
        sc.eq(#r.forwarded, 1, pair[1] .. " SYN")
        local f = c:segment("s", { flags = "SA" })
        c.seq_s = c.seq_s + 1
        local back = t:push(f, 1)
        sc.eq(back.forwarded[1].data, f, pair[1] .. " SYN/ACK unchanged")
    end
end)

sc.test("a /20 of servers and a range of ports", function(t)
    -- DROP 0.0.0.0 192.168.16.0/20 dport:6000-6063
    local _, r = syn(t, "172.16.0.1:40000", "192.168.31.254:6063")
    sc.ok(r.dropped, "192.168.31.254:6063 (in the /20, in the range)")
    _, r = syn(t, "172.16.0.1:40001", "192.168.16.1:6000")
    sc.ok(r.dropped, "192.168.16.1:6000")
    _, r = syn(t, "172.16.0.1:40002", "192.168.32.1:6000")
    sc.ok(not r.dropped, "192.168.32.1 is outside the /20")
    _, r = syn(t, "172.16.0.1:40003", "192.168.16.1:6064")
    sc.ok(not r.dropped, "port 6064 is outside the range")
end)

sc.test("odd prefixes: clients of a /25, servers of a /31", function(t)
    -- DROP 10.1.0.0/25 10.2.0.2/31
    local _, r = syn(t, "10.1.0.127:40000", "10.2.0.3:443")
    sc.ok(r.dropped, "10.1.0.127 -> 10.2.0.3")
    _, r = syn(t, "10.1.0.0:40000", "10.2.0.2:1")
    sc.ok(r.dropped, "10.1.0.0 -> 10.2.0.2")
    _, r = syn(t, "10.1.0.128:40000", "10.2.0.3:443")
    sc.ok(not r.dropped, "10.1.0.128 is outside the /25")
    _, r = syn(t, "10.1.0.5:40000", "10.2.0.4:443")
    sc.ok(not r.dropped, "10.2.0.4 is outside the /31")
end)
