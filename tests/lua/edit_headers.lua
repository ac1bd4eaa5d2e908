-- edit_headers.lua - changes the length of HTTP requests in flight, for
-- test_inline.sh: inserts the header line ADD after each request line and
-- removes each header line DEL (both without their CRLF), with
-- MOS_INSERT and MOS_CHOMP at MOS_HK_SND. moonbox then remaps the
-- sequence numbers of the client's later segments and the server's
-- acknowledgements, so real TCP stacks on both ends must go on as if the
-- requests had been sent that way.
--   moonbox --port A --port B tests/lua/edit_headers.lua ADD DEL OUT
-- OUT.<core> gets "inserted N removed M failed K" at the end.
-- A request is assumed to start a segment (as curl sends them); a
-- retransmission is changed again, as mtcp_setlastpkt(3) asks.
local mctx, add, del, out = ...
local ffi = require "ffi"

add = add .. "\r\n"
del = "\r\n" .. del .. "\r\n"
local EDIT = bit.bor(mos.MOS_TCP_PAYLOAD, mos.MOS_UPDATE_IP_CHKSUM,
                     mos.MOS_UPDATE_TCP_CHKSUM)
local pkt = ffi.new("struct pkt_info")
local inserted, removed, failed = 0, 0, 0

local function edit(m, sock, side, off, data, len, action)
    if mos.setlastpkt(m, sock, side, off, data, len,
                      bit.bor(EDIT, action)) == 0 then
        return true
    end
    failed = failed + 1
    io.stderr:write("edit_headers: setlastpkt: errno ", ffi.errno(), "\n")
    return false
end

local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_HK_SND,
    function(m, sock, side)
        if side ~= mos.MOS_SIDE_CLI or
           mos.getlastpkt(m, sock, side, pkt) ~= 0 or pkt.payloadlen == 0 then
            return
        end
        local p = ffi.string(pkt.payload, pkt.payloadlen)
        local line_end = p:match("^%u+ [^\r\n]* HTTP/1%.%d\r\n()")
        if line_end == nil then return end
        -- Remove first: its offset was found in the bytes as they are.
        local at = p:find(del, 1, true)
        if at ~= nil and edit(m, sock, side, at + 1, nil, #del - 2,
                              mos.MOS_CHOMP) then
            removed = removed + 1
        end
        if edit(m, sock, side, line_end - 1, add, #add, mos.MOS_INSERT) then
            inserted = inserted + 1
        end
    end)

mos.at_exit(function()
    local f = assert(io.open(out .. "." .. mctx.cpu, "w"))
    f:write(string.format("inserted %d removed %d failed %d\n", inserted,
                          removed, failed))
    f:close()
end)
