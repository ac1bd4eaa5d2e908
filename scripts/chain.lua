--[==[
chain.lua - several policies in one run: each POLICY script, with its own
arguments, is loaded on every core as if it were the only one, in the
order given. Policies are separated by a lone "+".

Usage:
    moonbox -r in.pcap -w out.pcap scripts/chain.lua \
        scripts/firewall.lua scripts/firewall.rules + scripts/midstat.lua
    moonbox --port DEV0 --port DEV1 scripts/chain.lua POLICY [ARGS...] \
        [+ POLICY [ARGS...]]...
A POLICY that is not a file is looked for beside chain.lua, so the shipped
ones can be named alone (firewall.lua + midstat.lua). An argument "+"
cannot be passed to a policy.

How the policies share the run:
  - Each is called as moonbox calls a script (mctx, then its arguments)
    and opens its own sockets; it sees every packet and flow it would see
    alone, whatever the others do.
  - For a packet, the callbacks of an event run in the order of the
    sockets, so the first policy's come first (mOS's order, mos_events(3)).
    A packet that one policy drops (MOS_DROP) is still seen by the
    callbacks of the others, and leaves only if none dropped it.
  - A policy's global variables are its own (each runs in an environment
    of its own, which reads the real globals, mos included); mos.at_exit
    functions run in the order they were given, so the policies' final
    reports come in the chain's order.
  - A policy that fails to load fails the whole load, with its message
    (at start-up: moonbox exits; on SIGHUP: the load before runs on).

Output: the policies' own. chain.lua prints nothing.
]==]
local mctx = ...
local args = { select(2, ...) }

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"

local function usage(why)
    error("chain.lua: " .. why .. "\nusage: chain.lua POLICY [ARGS...] " ..
          "[+ POLICY [ARGS...]]...", 0)
end

-- The chain's links: { path, args } in order.
local links, cur = {}, nil
for _, a in ipairs(args) do
    if a == "+" then
        if cur == nil then usage("a '+' with no policy before it") end
        cur = nil
    elseif cur == nil then
        cur = { path = a, args = {} }
        links[#links + 1] = cur
    else
        cur.args[#cur.args + 1] = a
    end
end
if #links == 0 then usage("no policy given") end
if cur == nil then usage("a '+' with no policy after it") end

local function exists(path)
    local f = io.open(path, "r")
    if f ~= nil then f:close() end
    return f ~= nil
end

for _, l in ipairs(links) do
    local path = l.path
    if not exists(path) and not path:find("/", 1, true) and
       exists(here .. path) then
        path = here .. path
    end
    local chunk, err = loadfile(path)
    if chunk == nil then error("chain.lua: " .. err, 0) end
    setfenv(chunk, setmetatable({}, { __index = _G }))
    chunk(mctx, unpack(l.args))
end
