-- mos.lua - the mOS API for Lua scripts (see mos(3)).
--
-- mos.<name> is mtcp_<name> with the same arguments and return values
-- (-1 and ffi.errno() on error); every MOS_* and TCP_* constant is
-- mos.<CONSTANT>; the API structs (struct pkt_info, filter_arg_t, struct
-- tcp_buf_info, ...) can be made with ffi.new. Where C takes a callback_t or
-- filter_t, Lua takes a Lua function. Helpers at the end (mos.peer,
-- mos.state, mos.read, mos.pkt, mos.at_exit) are optional shortcuts.
--
-- Lua functions are never called from C: the core's run loop (mos._run,
-- started by the moonbox program) advances the engine through the FFI until
-- the engine names a Lua function to call, calls it, and advances again.
local ffi = require "ffi"
local C = ffi.C
-- The run loop's trace reads locals, not the globals table.
local tonumber = tonumber

ffi.cdef(require "mos.ffi_decl")

local M = {}

local ABI = 2
if C.mosffi_abi_version() ~= ABI or C.MOSFFI_ABI_VERSION ~= ABI then
    error(string.format("mos: this module speaks ABI %d, libmoonbox %d",
                        ABI, C.mosffi_abi_version()), 0)
end

-- Every constant of the boundary header, as the C headers define it.
do
    local i, name, value = 0, ffi.new("const char *[1]"), ffi.new("int64_t[1]")
    while C.mosffi_abi_const(i, name, value) == 0 do
        local n = ffi.string(name[0])
        M[n] = C[n]
        i = i + 1
    end
end

-- -- Lua functions registered with the engine ------------------------------

-- The engine knows a function by base + its index in fns: base is this
-- load's generation times MOSFFI_FN_SPAN, so that after a reload the old
-- script's ids are told apart from the new one's (see M._attach).
local fns = {}          -- index -> function
local fn_ids = {}       -- function -> id (base + index)
local base = 0

local function fn_id(f)
    local id = fn_ids[f]
    if id == nil then
        if #fns + 1 >= C.MOSFFI_FN_SPAN then
            error("mos: more than 1048575 distinct Lua functions given " ..
                  "to the engine", 3)
        end
        fns[#fns + 1] = f
        id = base + #fns
        fn_ids[f] = id
    end
    return id
end

local function need_fn(f, what)
    if type(f) ~= "function" then
        error(what .. ": a Lua function is needed, got " .. type(f), 3)
    end
end

-- -- The API, one to one --------------------------------------------------

function M.init(conf) return C.mtcp_init(conf) end
function M.destroy() return C.mtcp_destroy() end
function M.getconf(conf) return C.mtcp_getconf(conf) end
function M.setconf(conf) return C.mtcp_setconf(conf) end
function M.core_affinitize(cpu) return C.mtcp_core_affinitize(cpu) end
function M.create_context(cpu) return C.mtcp_create_context(cpu) end
function M.destroy_context(mctx) return C.mtcp_destroy_context(mctx) end
function M.app_join(mctx) return C.mtcp_app_join(mctx) end

function M.register_signal(signum, handler)
    error("mos.register_signal: signal handlers cannot be Lua functions " ..
          "(moonbox stops on SIGINT by itself)", 2)
end

-- (Marked as this script's own: a reload closes it.)
function M.socket(mctx, domain, type, protocol)
    return C.mosffi_socket(mctx, domain, type, protocol or 0, M.gen)
end
function M.close(mctx, sock) return C.mtcp_close(mctx, sock) end

local filter_t = ffi.typeof("union monitor_filter[1]")

-- ft: a union monitor_filter (pointer), or a table {raw=, syn=, orphan=}.
function M.bind_monitor_filter(mctx, sock, ft)
    if type(ft) == "table" then
        local u = filter_t()
        if ft.raw ~= nil then
            u[0].raw_pkt_filter = ffi.cast("char *", ft.raw)
        else
            u[0].stream_syn_filter = ft.syn and ffi.cast("char *", ft.syn) or nil
            u[0].stream_orphan_filter = ft.orphan and ffi.cast("char *", ft.orphan) or nil
        end
        return C.mtcp_bind_monitor_filter(mctx, sock, u)
    end
    return C.mtcp_bind_monitor_filter(mctx, sock, ft)
end

function M.getsockopt(mctx, sock, level, optname, optval, optlen)
    return C.mtcp_getsockopt(mctx, sock, level, optname, optval, optlen)
end
function M.setsockopt(mctx, sock, level, optname, optval, optlen)
    return C.mtcp_setsockopt(mctx, sock, level, optname, optval, optlen)
end

function M.register_callback(mctx, sock, event, hook, fn)
    if fn ~= nil then need_fn(fn, "mos.register_callback") end
    return C.mosffi_register_callback(mctx, sock, event, hook,
                                      fn ~= nil and fn_id(fn) or -1)
end

-- arg: nil, a Lua string, or a filter_arg_t (its bytes are copied).
function M.define_event(event, filter, arg)
    need_fn(filter, "mos.define_event")
    local p, n = nil, 0
    if type(arg) == "string" then
        p, n = arg, #arg
    elseif arg ~= nil then
        p, n = arg.arg, arg.len
    end
    return C.mosffi_define_event(M.mctx, event, fn_id(filter), p, n)
end

function M.alloc_event(event)
    return C.mosffi_alloc_event(M.mctx, event, M.gen)
end
function M.raise_event(mctx, event) return C.mtcp_raise_event(mctx, event) end
function M.set_uctx(mctx, sock, uctx) return C.mtcp_set_uctx(mctx, sock, uctx) end
function M.get_uctx(mctx, sock) return C.mtcp_get_uctx(mctx, sock) end

function M.peek(mctx, sock, side, buf, len)
    return tonumber(C.mtcp_peek(mctx, sock, side, buf, len))
end

function M.ppeek(mctx, sock, side, buf, count, off)
    return tonumber(C.mtcp_ppeek(mctx, sock, side, buf, count, off))
end

function M.getlastpkt(mctx, sock, side, p)
    return C.mtcp_getlastpkt(mctx, sock, side, p)
end

-- timeout: a struct timeval, or a number of seconds.
local EINVAL = 22   -- Linux's

function M.settimer(mctx, id, timeout, fn)
    need_fn(fn, "mos.settimer")
    local us
    if type(timeout) == "number" then
        us = timeout * 1e6
    elseif timeout ~= nil then
        local sec, usec = tonumber(timeout.tv_sec), tonumber(timeout.tv_usec)
        -- As mtcp_settimer(3) checks a struct timeval.
        if sec < 0 or usec < 0 or usec >= 1000000 then
            ffi.errno(EINVAL)
            return -1
        end
        us = sec * 1e6 + usec
    else
        us = -1
    end
    return C.mosffi_settimer(mctx, id, us, fn_id(fn))
end

function M.cb_get_ts(mctx) return C.mtcp_cb_get_ts(mctx) end

function M.getpeername(mctx, sock, addr, addrlen, side)
    return C.mtcp_getpeername(mctx, sock, addr, addrlen, side)
end

local u8p = ffi.typeof("uint8_t *")

-- data: a Lua string or a pointer; passed through without a copy.
function M.setlastpkt(mctx, sock, side, offset, data, datalen, option)
    if type(data) == "string" then
        datalen = datalen or #data
        data = ffi.cast(u8p, data)
    end
    return C.mtcp_setlastpkt(mctx, sock, side, offset, data, datalen or 0,
                             option)
end

function M.sendpkt(mctx, sock, pkt) return C.mtcp_sendpkt(mctx, sock, pkt) end
function M.reset_conn(mctx, sock) return C.mtcp_reset_conn(mctx, sock) end
function M.GetRSSCPUCore(sip, dip, sp, dp, n, e)
    return C.GetRSSCPUCore(sip, dip, sp, dp, n, e or 0)
end
function M.GetNumCPUs() return C.GetNumCPUs() end
function M.CoreAffinitize(cpu) return C.CoreAffinitize(cpu) end
function M.num_cores() return C.moonbox_num_cores() end

-- -- Helpers (optional, built on the functions above) -----------------------

local STATE_NAMES = { [0] = "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD",
    "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",
    "LAST_ACK", "TIME_WAIT" }
M.state_names = STATE_NAMES

local int1 = ffi.new("int[1]")
local len1 = ffi.new("uint32_t[1]")

-- State of a side of the flow of an active socket (a number), or nil.
function M.state(mctx, sock, side)
    len1[0] = 4
    if C.mtcp_getsockopt(mctx, sock, C.SOL_MONSOCKET,
                         side == C.MOS_SIDE_CLI and C.MOS_TCP_STATE_CLI or
                         C.MOS_TCP_STATE_SVR, int1, len1) ~= 0 then
        return nil
    end
    return int1[0]
end

local addrs = ffi.new("struct sockaddr_in[2]")

-- a: an IPv4 address as the uint32_t read from memory (network order).
local function ip_string(a)
    local v = tonumber(a)
    return string.format("%d.%d.%d.%d", v % 256, math.floor(v / 256) % 256,
                         math.floor(v / 65536) % 256,
                         math.floor(v / 16777216) % 256)
end

local function ntohs(x) return bit.rshift(bit.bswap(x), 16) end

-- The flow's endpoints as {cli = {ip=, port=}, svr = {ip=, port=}}, or nil.
function M.peer(mctx, sock)
    len1[0] = 2 * ffi.sizeof("struct sockaddr")
    if C.mtcp_getpeername(mctx, sock, ffi.cast("struct sockaddr *", addrs),
                          len1, C.MOS_SIDE_BOTH) ~= 0 then
        return nil
    end
    return {
        cli = { ip = ip_string(addrs[0].sin_addr), port = ntohs(addrs[0].sin_port) },
        svr = { ip = ip_string(addrs[1].sin_addr), port = ntohs(addrs[1].sin_port) },
    }
end

local readbuf = ffi.new("char[65536]")

-- Every unread in-order byte of a side as a Lua string (mtcp_peek until it
-- returns 0), and the number of bytes that had been overwritten unread.
function M.read(mctx, sock, side)
    local parts, missed = {}, 0
    while true do
        local n = tonumber(C.mtcp_peek(mctx, sock, side, readbuf, 65536))
        if n > 0 then
            parts[#parts + 1] = ffi.string(readbuf, n)
        elseif n < -1 or (n == -1 and ffi.errno() == 61 --[[ENODATA]]) then
            missed = missed - n
        else
            break
        end
    end
    return table.concat(parts), missed
end

local pktinfo = ffi.new("struct pkt_info")

-- The packet being processed (a struct pkt_info reused by every call), or
-- nil when there is none.
function M.pkt(mctx, sock, side)
    if C.mtcp_getlastpkt(mctx, sock, side or 0, pktinfo) ~= 0 then
        return nil
    end
    return pktinfo
end

-- r, unless it is negative (an API call failed, errno set): then an error
-- naming the call, at the caller's line. For a script's set-up, where a
-- failed call must stop the script.
function M.check(r, what)
    if r < 0 then
        error(string.format("%s failed (errno %d)", what, ffi.errno()), 2)
    end
    return r
end

local at_exit = {}

-- Run fn(mctx) on this core once it has finished (end of input or stop).
function M.at_exit(fn)
    need_fn(fn, "mos.at_exit")
    at_exit[#at_exit + 1] = fn
end

-- -- The run loop (started by the moonbox program) -------------------------

local traceback = debug.traceback

-- Level 1, as lua.c: the faulting function first (LuaJIT calls the
-- handler in its frame), or [C] 'error' and then its caller. A message
-- without Lua's "chunk:line:" prefix was raised with error(msg, 0): the
-- script's own word, printed alone (as luahost.c does at load time).
local function on_error(e)
    if type(e) == "string" and not e:find("^[^\n]-:%d+:") then
        return e
    end
    return traceback(tostring(e), 1)
end

-- The heap cap raises no error (luahost.c stops the loop instead): an
-- out-of-memory error here is the system's allocator failing.
local function report(mctx, kind, msg)
    if type(msg) == "string" and (msg:find("not enough memory", 1, true) or
                                  msg:find("error in error handling", 1, true)) then
        kind = C.MOSFFI_ERR_MEMORY
    end
    C.mosffi_script_error(mctx, kind, tostring(msg))
end

-- Run the mos.at_exit functions, at the end of the core's run.
local function run_at_exit(mctx)
    -- moonbox --check loads the script and ends: nothing ran to report.
    if C.mosffi_checking() ~= 0 then return end
    -- The watchdog watches these too.
    for _, f in ipairs(at_exit) do
        C.mosffi_busy(mctx, 1)
        local ok, r = xpcall(f, on_error, mctx)
        C.mosffi_busy(mctx, 0)
        if not ok then report(mctx, C.MOSFFI_ERR_RUNTIME, r) end
    end
end

-- Make the call the engine asks for, one protected call per call (for test
-- scenarios, mos/scenario.lua, where speed does not matter): nil, or the
-- error it raised, counted as the run loop counts it.
function M._call(mctx)
    local inv = C.mosffi_invoke_slot(mctx)
    local ok, r = xpcall(fns[inv.fn - base], on_error, mctx, inv.sock, inv.side,
                         tonumber(inv.event), inv.arg)
    if ok then
        if inv.kind == 1 then inv.ret = r and 1 or 0 end
        return nil
    end
    inv.failed = 1
    report(mctx, inv.kind == 1 and C.MOSFFI_ERR_FILTER or
           C.MOSFFI_ERR_RUNTIME, r)
    return r
end

-- The calls run unprotected in one loop; an error unwinds to the xpcall
-- around the loop, which charges it to the call still in the slot and
-- starts the loop again. One protected call per error, not per callback:
-- a pcall frame per call was a fifth of the Lua side's cost per callback
-- (callgrind, midstat).
function M._run(mctx)
    if C.mosffi_scn_active() ~= 0 then
        -- The scenario runs the at_exit functions itself, before the
        -- tests that check what they left (scenario.after).
        return require("mos.scenario")._run(mctx, run_at_exit)
    end
    local inv = C.mosffi_invoke_slot(mctx)
    local run = C.mosffi_run
    local fbase = base

    local function loop()
        local step = run(mctx)
        while step == 1 do
            local r = fns[inv.fn - fbase](mctx, inv.sock, inv.side,
                                          tonumber(inv.event), inv.arg)
            if inv.kind == 1 then inv.ret = r and 1 or 0 end
            step = run(mctx)
        end
        return step
    end

    local step
    while true do
        local ok, r = xpcall(loop, on_error)
        if ok then step = r break end
        inv.failed = 1
        report(mctx, inv.kind == 1 and C.MOSFFI_ERR_FILTER or
               C.MOSFFI_ERR_RUNTIME, r)
    end
    -- SIGHUP: the host loads the script again, then ends this load with
    -- M._finish (the new one runs from then on).
    if step == 2 then return "reload" end
    -- The heap went past --lua-mem: the host closes this state, and the
    -- script's mos.at_exit functions do not run (they would allocate).
    if step == 3 then return "memory" end
    run_at_exit(mctx)
end

-- The end of this load when a reload replaces it: its mos.at_exit
-- functions run (the host then closes its sockets and its Lua state).
function M._finish(mctx)
    run_at_exit(mctx)
end

-- Bind the module to its core and to its load's generation (0 first,
-- then one more at each reload), which the Lua function ids carry.
function M._attach(core, gen)
    M.mctx = C.mosffi_mctx(core)
    M.core = core
    M.gen = gen or 0
    base = M.gen * C.MOSFFI_FN_SPAN
end

-- The script's arguments (also passed to the script as ... after mctx).
M.args = {}
for i = 0, C.mosffi_script_argc() - 1 do
    M.args[#M.args + 1] = ffi.string(C.mosffi_script_arg(i))
end

return M
