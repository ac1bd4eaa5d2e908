-- test_abi.lua - the C/Lua boundary, checked from inside moonbox:
--   moonbox -r CAPTURE tests/lua/test_abi.lua ENGINE_INCLUDE_DIR BINDINGS_HEADER
-- Every struct's size and every field's offset as Lua sees them (ffi.sizeof,
-- ffi.offsetof) equal what the C compiler computed from the real headers
-- (mosffi_abi_field); every constant equals its C value; every mtcp_*
-- function of the public headers has its mos.* counterpart; every function
-- the boundary header declares resolves; errno reaches ffi.errno().
-- Any failure raises an error at load time: moonbox exits 1.
local mctx, incdir, decl = ...
local ffi = require "ffi"
local C = ffi.C
local failures = {}

local function check(ok, fmt, ...)
    if not ok then failures[#failures + 1] = string.format(fmt, ...) end
end

-- 1. Layout
local f = ffi.new("struct mosffi_field")
local nfields, i = 0, 0
while C.mosffi_abi_field(i, f) == 0 do
    local t, field = ffi.string(f.type), ffi.string(f.field)
    local off, size = tonumber(f.offset), tonumber(f.size)
    if field == "" then
        check(ffi.sizeof(t) == size, "sizeof(%s): Lua %d, C %d", t, ffi.sizeof(t), size)
    else
        local lo = ffi.offsetof(t, field)
        check(lo == off, "offsetof(%s, %s): Lua %s, C %d", t, field, tostring(lo), off)
        nfields = nfields + 1
    end
    i = i + 1
end
check(nfields > 60, "only %d fields compared", nfields)

-- 2. Constants
local name, value = ffi.new("const char *[1]"), ffi.new("int64_t[1]")
local nconst = 0
i = 0
while C.mosffi_abi_const(i, name, value) == 0 do
    local n = ffi.string(name[0])
    check(C[n] == tonumber(value[0]), "%s: Lua %s, C %s", n, tostring(C[n]),
          tostring(value[0]))
    check(mos[n] == C[n], "mos.%s missing or different", n)
    nconst = nconst + 1
    i = i + 1
end
check(nconst >= 70, "only %d constants compared", nconst)

-- 3. Every public mtcp_* function has mos.<name>
local nfn = 0
for _, h in ipairs({ "mos_api.h", "mtcp_api.h", "mtcp_util.h", "moonbox.h" }) do
    local fh = assert(io.open(incdir .. "/" .. h))
    local text = fh:read("*a"):gsub("/%*.-%*/", "")
    fh:close()
    for fn in text:gmatch("\n[%w_ %*]-%f[%w_](mtcp_[%w_]+)%s*%(") do
        local short = fn:sub(6)
        check(type(mos[short]) == "function", "mos.%s missing (for %s)", short, fn)
        nfn = nfn + 1
    end
end
check(nfn >= 29, "only %d API functions found", nfn)
check(type(mos.GetRSSCPUCore) == "function", "mos.GetRSSCPUCore missing")
check(mos.GetNumCPUs() >= 1, "mos.GetNumCPUs() is %s", tostring(mos.GetNumCPUs()))
check(mos.CoreAffinitize(-1) == -1 and ffi.errno() == 22,
      "mos.CoreAffinitize(-1) did not fail with EINVAL")

-- 4. Every declared function resolves
local fh = assert(io.open(decl))
local text = fh:read("*a"):gsub("/%*.-%*/", "")
fh:close()
for fn in text:gmatch("%f[%w_]([%w_]+)%s*%([^%)]-%)%s*;") do
    if fn ~= "callback_t" and fn ~= "filter_t" and fn ~= "mtcp_sighandler_t" then
        local ok = pcall(function() return C[fn] end)
        check(ok, "symbol %s does not resolve", fn)
    end
end

-- 5. errno propagation (at load time the script runs on its core's thread)
local EBADF, EAFNOSUPPORT, EINVAL, ENOTSOCK = 9, 97, 22, 88
check(mos.socket(mctx, 99, mos.MOS_SOCK_MONITOR_STREAM, 0) == -1 and
      ffi.errno() == EAFNOSUPPORT, "socket: errno %d", ffi.errno())
check(mos.socket(mctx, mos.AF_INET, 42, 0) == -1 and ffi.errno() == EINVAL,
      "socket type: errno %d", ffi.errno())
local buf = ffi.new("char[16]")
check(mos.peek(mctx, 123456, mos.MOS_SIDE_SVR, buf, 16) == -1 and
      ffi.errno() == EBADF, "peek: errno %d", ffi.errno())
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
check(s >= 0, "socket failed")
local opt, len = ffi.new("int[1]"), ffi.new("uint32_t[1]", 4)
check(mos.getsockopt(mctx, s, mos.SOL_MONSOCKET, mos.MOS_TCP_STATE_CLI, opt, len) == -1
      and ffi.errno() == ENOTSOCK, "getsockopt on a listener: errno %d", ffi.errno())
check(mos.register_callback(mctx, s, mos.MOS_ON_CONN_START, mos.MOS_NULL,
                            function() end) == -1 and ffi.errno() == EINVAL,
      "register CONN_START at MOS_NULL: errno %d", ffi.errno())
check(mos.register_callback(mctx, s, mos.MOS_ON_CONN_START, mos.MOS_HK_SND,
                            function() end) == 0, "register failed")
check(mos.close(mctx, s) == 0, "close failed")
-- The reload's calls take a load's generation, 0 to MOSFFI_GENERATIONS - 1.
for _, gen in ipairs({ -1, C.MOSFFI_GENERATIONS }) do
    ffi.errno(0)
    check(C.mosffi_socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0,
                          gen) == -1 and ffi.errno() == EINVAL,
          "mosffi_socket, generation %d: errno %d", gen, ffi.errno())
    ffi.errno(0)
    check(C.mosffi_alloc_event(mctx, mos.MOS_ON_CONN_START, gen) ==
          mos.MOS_NULL_EVENT and ffi.errno() == EINVAL,
          "mosffi_alloc_event, generation %d: errno %d", gen, ffi.errno())
    ffi.errno(0)
    check(C.mosffi_retire(mctx, gen) == -1 and ffi.errno() == EINVAL,
          "mosffi_retire, generation %d: errno %d", gen, ffi.errno())
end
-- 6. The run loop's step runs nothing for a context that is not this
-- core's own (compared by address: a bad pointer is never read). With a
-- callback waiting for the capture's first connection, a step that ran
-- the pipeline would return 1 there.
local w = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_STREAM, 0)
check(mos.register_callback(mctx, w, mos.MOS_ON_CONN_START, mos.MOS_HK_SND,
                            function() end) == 0, "register failed")
check(C.mosffi_run(nil) == 0, "mosffi_run(NULL) ran")
check(C.mosffi_run(ffi.cast("mctx_t", ffi.cast("char *", mctx) + 8)) == 0,
      "mosffi_run ran a context that is not the core's")
check(mos.close(mctx, w) == 0, "close failed")

if #failures > 0 then
    error("ABI check failed:\n  " .. table.concat(failures, "\n  "), 0)
end
print(string.format("abi ok: %d fields, %d constants, %d functions", nfields,
                    nconst, nfn))
