-- peek.lua - benchmark policy for the "lua-peek" configuration: reads every
-- new byte of every stream (MOS_ON_CONN_NEW_DATA + mos.peek into a buffer
-- allocated once) and counts them.
--   moonbox ... bench/peek.lua
local mctx = ...
local ffi = require "ffi"
local buf = ffi.new("char[65536]")
local peek = mos.peek
local bytes = 0

local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
mos.register_callback(mctx, s, mos.MOS_ON_CONN_NEW_DATA, mos.MOS_NULL,
    function(mctx, sock, side)
        while true do
            local n = peek(mctx, sock, side, buf, 65536)
            if n <= 0 then break end
            bytes = bytes + n
        end
    end)
mos.at_exit(function() io.stderr:write("peek: ", bytes, " bytes\n") end)
