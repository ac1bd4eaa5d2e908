-- reset_path.lua - ends with mos.reset_conn every connection whose client
-- asks for PATH, for test_inline.sh: the request is dropped and both
-- endpoints get an RST that they must accept at once (the sequence number
-- each expects next), so the client sees a reset, not a time-out, and the
-- server's socket leaves ESTABLISHED.
--   moonbox --port A --port B tests/lua/reset_path.lua PATH OUT
-- OUT.<core> gets "reset N failed K" at the end.
local mctx, path, out = ...
local ffi = require "ffi"

local prefix = "GET " .. path .. " "
local pkt = ffi.new("struct pkt_info")
local reset, failed = 0, 0

local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_HK_SND,
    function(m, sock, side)
        if side ~= mos.MOS_SIDE_CLI or
           mos.getlastpkt(m, sock, side, pkt) ~= 0 or
           pkt.payloadlen < #prefix or
           ffi.string(pkt.payload, #prefix) ~= prefix then
            return
        end
        if mos.reset_conn(m, sock) == 0 and
           mos.setlastpkt(m, sock, side, 0, nil, 0, mos.MOS_DROP) == 0 then
            reset = reset + 1
        else
            failed = failed + 1
        end
    end)

mos.at_exit(function()
    local f = assert(io.open(out .. "." .. mctx.cpu, "w"))
    f:write(string.format("reset %d failed %d\n", reset, failed))
    f:close()
end)
