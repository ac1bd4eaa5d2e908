-- new_data.lua - when MOS_ON_CONN_NEW_DATA fires (mos-semantics §2.3 e.5
-- and 4.3, the oracle): mOS queues it as the receiver takes in-order bytes,
-- before the receive hook's callbacks, and after the burst runs what the
-- flow's sockets listen for then, once per side. No recorder here: the
-- flows' sockets listen for new data only where a test says so.
--   moonbox --scenario tests/scenarios/new_data.lua
local sc = require "mos.scenario"
local ffi = require "ffi"

local m = mos.mctx
local buf = ffi.new("char[64]")

-- A listener for the flows to port `port` only (a socket outlives its
-- test); heard gets "SIDE BYTES" for each new data callback.
local function listener(port)
    local s = mos.check(mos.socket(m, mos.AF_INET,
                                   mos.MOS_SOCK_MONITOR_STREAM, 0),
                        "mos.socket")
    mos.check(mos.bind_monitor_filter(m, s, { syn = "tcp port " .. port }),
              "mos.bind_monitor_filter")
    local heard = {}
    local function on_data(mm, sock, side)
        local n = mos.peek(mm, sock, side, buf, 64)
        heard[#heard + 1] = side .. " " ..
                            (n > 0 and ffi.string(buf, n) or tostring(n))
    end
    return s, heard, on_data
end

sc.test("a callback that starts listening hears of its packet's bytes",
        function(t)
    local s, heard, on_data = listener(81)
    local armed = false
    mos.check(mos.register_callback(m, s, mos.MOS_ON_PKT_IN, mos.MOS_HK_RCV,
        function(mm, sock)
            if not armed then return end
            armed = false
            mos.check(mos.register_callback(mm, sock,
                                            mos.MOS_ON_CONN_NEW_DATA,
                                            mos.MOS_NULL, on_data),
                      "mos.register_callback(NEW_DATA)")
        end), "mos.register_callback(PKT_IN)")
    local c = t:conn{ client = "10.5.0.1:40001", server = "10.5.0.2:81" }
    c:handshake()
    c:send("c", "before")
    sc.eq(heard, {}, "bytes before anyone listened")
    -- Registered at the receive hook of the packet that brings "hello".
    armed = true
    c:send("c", "hello")
    -- (A peek reads all the socket has not read: the earlier bytes too.)
    local svr = mos.MOS_SIDE_SVR .. " "
    sc.eq(heard, { svr .. "beforehello" }, "the packet's own bytes")
    c:send("c", "again")
    sc.eq(heard, { svr .. "beforehello", svr .. "again" },
          "the next packet's")
end)

sc.test("a burst's bytes: one call a side, after the burst", function(t)
    local s, heard, on_data = listener(82)
    mos.check(mos.register_callback(m, s, mos.MOS_ON_CONN_NEW_DATA,
                                    mos.MOS_NULL, on_data),
              "mos.register_callback")
    local c = t:conn{ client = "10.5.0.1:40002", server = "10.5.0.2:82" }
    c:handshake()
    local a = c:segment("c", { flags = "PA", payload = "GET " })
    c.seq = c.seq + 4
    local b = c:segment("c", { flags = "PA", payload = "/ HTTP" })
    c.seq = c.seq + 6
    local r = c:segment("s", { flags = "PA", payload = "200" })
    c.seq_s = c.seq_s + 3
    -- One push is one burst, so all three enter one port, as a tap sees
    -- both directions (the flow's sides come from the addresses).
    t:push{ a, b, r }
    -- The client's bytes are the server side's to receive (SVR), and the
    -- server's the client side's (CLI).
    table.sort(heard)
    sc.eq(heard, { mos.MOS_SIDE_CLI .. " 200",
                   mos.MOS_SIDE_SVR .. " GET / HTTP" }, "one call a side")
    t:push(c:segment("c", { flags = "A" }))
    sc.eq(#heard, 2, "an ACK brings no new data")
end)
