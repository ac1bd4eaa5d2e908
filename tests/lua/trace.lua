-- trace.lua - the Lua twin of tests/plugins/trace.c: records every event
-- in the same line format, so a test can check that Lua callbacks see
-- exactly what C callbacks see, in the same order.
--   moonbox -r CAPTURE tests/lua/trace.lua OUT [peek]   (lines to OUT.<core>)
local mctx, out, opt = ...
local ffi = require "ffi"
local f = assert(io.open(out .. "." .. mctx.cpu, "w"))
local do_peek = opt == "peek"
local names = { [1] = "PKT_IN", [4] = "CONN_START", [16] = "NEW_DATA",
    [32] = "ERROR", [64] = "TIMEOUT", [128] = "STATE_CHANGE",
    [256] = "ORPHAN", [512] = "REXMIT", [1024] = "CONN_END" }
local sides = { [0] = "CLI", "SVR", "BOTH" }
local pkt = ffi.new("struct pkt_info")
local buf = ffi.new("char[65536]")

local function st(sock, side)
    local s = mos.state(mctx, sock, side)
    return s and mos.state_names[s] or "-"
end

local function record(hook)
    return function(mctx, sock, side, ev)
        local line = hook .. " " .. names[ev] .. " " .. sides[side]
        if mos.getlastpkt(mctx, sock, side, pkt) == 0 and pkt.tcph ~= nil then
            local t = pkt.tcph
            line = line .. string.format(" flags=%s%s%s%s seq=%u len=%u",
                t.syn == 1 and "S" or "", t.fin == 1 and "F" or "",
                t.rst == 1 and "R" or "", t.ack == 1 and "A" or "",
                pkt.seq, pkt.payloadlen)
        else
            line = line .. " nopkt"
        end
        line = line .. " cli=" .. st(sock, mos.MOS_SIDE_CLI) .. " svr=" ..
               st(sock, mos.MOS_SIDE_SVR)
        if ev == mos.MOS_ON_CONN_NEW_DATA and do_peek then
            local total = 0
            while true do
                local n = mos.peek(mctx, sock, side, buf, 65536)
                if n <= 0 then break end
                total = total + n
            end
            line = line .. " peek=" .. total
        end
        f:write(line, "\n")
    end
end

local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
for _, e in ipairs({ 1, 4, 128, 1024 }) do
    assert(mos.register_callback(mctx, s, e, mos.MOS_HK_SND, record("SND")) == 0)
end
for _, e in ipairs({ 1, 4, 128, 512, 1024 }) do
    assert(mos.register_callback(mctx, s, e, mos.MOS_HK_RCV, record("RCV")) == 0)
end
for _, e in ipairs({ 16, 32, 256, 64 }) do
    assert(mos.register_callback(mctx, s, e, mos.MOS_NULL, record("NULL")) == 0)
end
mos.at_exit(function() f:close() end)
