-- fast_path.lua - the established-segment shortcut (flow_fast) against a
-- flow whose packets must still be remapped: a callback unregisters, so
-- that no socket of the flow has a packet callback left, then lengthens
-- its segment with MOS_INSERT. The later segments of both sides must
-- still have their numbers shifted (mos-semantics: sequence remapping
-- after a length change), on the shortcut's packets too. A control flow
-- that unregisters without an edit shows that such a flow does take the
-- shortcut, so the test would see a shortcut that forgot the remapping.
-- No recorder: it listens for every packet, which keeps flows off the
-- shortcut.
--   moonbox --scenario tests/scenarios/fast_path.lua
local sc = require "mos.scenario"
local bit = require "bit"

local m = mos.mctx
local INSERT = bit.bor(mos.MOS_INSERT, mos.MOS_TCP_PAYLOAD,
                       mos.MOS_UPDATE_IP_CHKSUM, mos.MOS_UPDATE_TCP_CHKSUM)
local MARK = "XYZ"

-- A listener for the flows to port `port`: on the client's first segment
-- with payload it stops listening for packets on that flow and, when
-- `edit` says so, inserts MARK at the segment's start.
local function listener(port, edit)
    local s = mos.check(mos.socket(m, mos.AF_INET,
                                   mos.MOS_SOCK_MONITOR_STREAM, 0),
                        "mos.socket")
    mos.check(mos.bind_monitor_filter(m, s, { syn = "tcp port " .. port }),
              "mos.bind_monitor_filter")
    local done = {}
    local function on_pkt(mm, sock, side)
        local p = mos.pkt(mm, sock, side)
        if p == nil or p.payloadlen == 0 or side ~= mos.MOS_SIDE_CLI then
            return
        end
        -- The flow's own copy of the listener's callbacks loses it,
        -- before the edit: the edit alone must take the flow off the
        -- shortcut again.
        mos.check(mos.register_callback(mm, sock, mos.MOS_ON_PKT_IN,
                                        mos.MOS_HK_SND, nil),
                  "unregister")
        done[#done + 1] = edit and
            mos.setlastpkt(mm, sock, side, 0, MARK, #MARK, INSERT) or 0
    end
    mos.check(mos.register_callback(m, s, mos.MOS_ON_PKT_IN, mos.MOS_HK_SND,
                                    on_pkt), "mos.register_callback")
    return done
end

local control = listener(81, false)
local edited = listener(82, true)

sc.test("a flow without packet callbacks takes the shortcut", function(t)
    local c = t:conn{ client = "10.2.0.1:40001", server = "10.2.0.2:81" }
    c:handshake()
    local r = c:send("c", "hello")
    sc.eq(control, { 0 }, "the callback ran once")
    sc.eq(r.forwarded[1].pkt.payload, "hello", "payload")
    r = c:send("s", "")
    sc.eq(r.counters.tcp_fast_path, 1, "the server's ACK: shortcut")
    r = c:send("c", "more")
    sc.eq(r.counters.tcp_fast_path, 1, "the client's data: shortcut")
end)

sc.test("a lengthened flow's later segments are remapped", function(t)
    local c = t:conn{ client = "10.2.0.1:40002", server = "10.2.0.2:82" }
    c:handshake()
    local base = c.seq
    local r = c:send("c", "hello")
    sc.eq(edited, { 0 }, "the insert succeeded, the callback ran once")
    local o = r.forwarded[1].pkt
    sc.eq({ o.payload, o.seq }, { MARK .. "hello", base },
          "the edited segment")
    sc.ok(o.csum_ok, "its checksum")
    -- The server acknowledges what it received: 5 + 3 bytes.
    r = t:push(c:segment("s", { flags = "A", ack = base + 8 }), 1)
    o = r.forwarded[1].pkt
    sc.eq(o.ack, base + 5, "the server's ACK, mapped back")
    sc.ok(o.csum_ok, "its checksum")
    r = c:send("c", "more")
    o = r.forwarded[1].pkt
    sc.eq({ o.payload, o.seq }, { "more", base + 8 },
          "the client's next segment, shifted")
    sc.ok(o.csum_ok, "its checksum")
    r = t:push(c:segment("s", { flags = "PA", ack = base + 12,
                                payload = "reply" }), 1)
    c.seq_s = c.seq_s + 5
    o = r.forwarded[1].pkt
    sc.eq({ o.payload, o.ack }, { "reply", base + 9 },
          "the server's data, its ACK mapped back")
    sc.ok(o.csum_ok, "its checksum")
end)
