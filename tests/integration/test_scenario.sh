#!/usr/bin/env bash
# test_scenario.sh - the scenario runner itself (moonbox --scenario,
# mos_scenario(3)); tests/scenarios/*.lua are its users, run by ctest as
# scenario/NAME. Here: a failing test fails the run and says where, with
# the TAP lines exactly; a policy's failing callback is listed and its
# packet follows --on-error; a test that never returns is stopped by the
# watchdog; misuse is refused with the documented status; the C firewall
# and nat plugins meet their Lua twins' scenarios; the frames the scenario
# builds and reads agree with tshark (checksums, fragments); and
# mos_scenario(3) documents every function and prints true examples.
. "$(dirname "$0")/lib.sh"

step "a failing test fails the run, the others still run"
cat >"$TMP/fail.lua" <<'LUA'
local sc = require "mos.scenario"
sc.test("passes", function(t) sc.eq(1 + 1, 2, "sum") end)
sc.test("fails an assertion", function(t)
    sc.eq({ a = 1 }, { a = 2 }, "table")
end)
sc.test("raises an error", function(t) error("boom") end)
sc.test("pushes after a failure", function(t)
    local c = t:conn{}
    sc.eq(#c:syn().forwarded, 1, "SYN forwarded")
end)
LUA
rc=$(run_status "$TMP/fail" "$MOONBOX" --scenario "$TMP/fail.lua")
assert_eq "$rc" 1 "exit status of a failing scenario"
grep -v '^#   ' "$TMP/fail.out" >"$TMP/fail.tap"
cat >"$TMP/want.tap" <<'TAP'
1..4
ok 1 - passes
not ok 2 - fails an assertion
not ok 3 - raises an error
ok 4 - pushes after a failure
# 2 of 4 tests failed
TAP
diff -u "$TMP/want.tap" "$TMP/fail.tap" || fail "TAP output differs"
grep -qF "#   $TMP/fail.lua:4: table: got {a=1}, want {a=2}" "$TMP/fail.out" ||
	fail "the assertion's line and values are not reported"
grep -qF "#   $TMP/fail.lua:6: boom" "$TMP/fail.out" ||
	fail "the error's line is not reported"
grep -q "stack traceback" "$TMP/fail.out" ||
	fail "an error (not an assertion) has no traceback"

step "a passing scenario exits 0; a broken one 1"
cat >"$TMP/pass.lua" <<'LUA'
local sc = require "mos.scenario"
sc.test("one", function(t) sc.ok(true, "true") end)
LUA
rc=$(run_status "$TMP/pass" "$MOONBOX" --scenario "$TMP/pass.lua")
assert_eq "$rc" 0 "exit status of a passing scenario"
printf 'local x = \n' >"$TMP/broken.lua"
rc=$(run_status "$TMP/broken" "$MOONBOX" --scenario "$TMP/broken.lua")
assert_eq "$rc" 1 "exit status of a scenario that does not load"

step "a policy's failing callback: listed, counted, --on-error applied"
cat >"$TMP/policy.lua" <<'LUA'
local mctx = ...
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_NULL,
    function() error("policy bug") end)
LUA
cat >"$TMP/errs.lua" <<LUA
local sc = require "mos.scenario"
local _, drop = ...
sc.policy("$TMP/policy.lua")
sc.test("the error is listed", function(t)
    local r = t:conn{}:syn()
    sc.eq(#r.errors, 1, "errors")
    sc.ok(r.errors[1]:find("policy bug", 1, true), "message")
    sc.eq(r.counters.script_errors, 1, "script_errors")
    sc.eq(r.dropped, drop == "drop", "dropped")
end)
LUA
rc=$(run_status "$TMP/errs" "$MOONBOX" --scenario "$TMP/errs.lua" pass)
assert_eq "$rc" 0 "--on-error=pass scenario ($(cat "$TMP/errs.out"))"
rc=$(run_status "$TMP/errs" "$MOONBOX" --on-error=drop --scenario \
	"$TMP/errs.lua" drop)
assert_eq "$rc" 0 "--on-error=drop scenario ($(cat "$TMP/errs.out"))"

step "misuse inside a scenario fails its test"
cat >"$TMP/misuse.lua" <<'LUA'
local sc = require "mos.scenario"
local mctx = ...
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
local T
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_NULL,
    function() T:push(T:conn{}:segment("c")) end)
sc.test("push from a callback", function(t)
    T = t
    local r = t:conn{ client = "10.9.0.1:1" }:syn()
    sc.eq(#r.errors, 1, "errors")
    sc.ok(r.errors[1]:find("inside a callback", 1, true), r.errors[1])
end)
sc.test("port 2", function(t) t:push("x", 2) end)
sc.test("a frame longer than a packet buffer", function(t)
    t:push(string.rep("x", 4000))
end)
LUA
rc=$(run_status "$TMP/misuse" "$MOONBOX" --scenario "$TMP/misuse.lua")
assert_eq "$rc" 1 "exit status"
grep -q "^ok 1 - push from a callback" "$TMP/misuse.out" ||
	fail "push from a callback: $(cat "$TMP/misuse.out")"
grep -q "^#   .*push: port 0 or 1, got 2" "$TMP/misuse.out" ||
	fail "port 2 accepted"
grep -q "^#   .*push: frame 1 refused (errno 22)" "$TMP/misuse.out" ||
	fail "a 4000-byte frame accepted"

step "with --max-frame, a 4000-byte frame goes through whole"
# The buffers are larger than 9018 bytes (af_packet's pages), but neither
# mos.sendpkt nor an insertion makes a frame longer than --max-frame.
cat >"$TMP/jumbo.lua" <<'LUA'
local ffi = require "ffi"
local sc = require "mos.scenario"
local mctx = ...
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
local got, edit
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_NULL,
    function(m, sock, side)
        if not edit then return end
        local p = ffi.new("struct pkt_info")
        assert(mos.getlastpkt(m, sock, side, p) == 0)
        local buf = ffi.new("uint8_t[?]", 9000, 0x73)
        local function send(n)
            p.payload, p.payloadlen = buf, n
            return mos.sendpkt(m, sock, p) == 0 or ffi.errno()
        end
        local function insert(n)
            return mos.setlastpkt(m, sock, side, 0, buf, n,
                bit.bor(mos.MOS_INSERT, mos.MOS_TCP_PAYLOAD)) == 0 or
                ffi.errno()
        end
        got = { send(8964), send(8965), insert(5019), insert(5018) }
    end)
sc.test("jumbo", function(t)
    local f = sc.frame{ src = "10.9.0.1", dst = "10.9.0.2", sport = 40000,
                        dport = 80, flags = "A", seq = 1, ack = 1,
                        payload = string.rep("j", 3946) }
    sc.eq(#f, 4000, "frame length")
    local r = t:push(f)
    sc.eq(#r.out, 1, "frames out")
    sc.eq(r.out[1].data, f, "the frame, byte for byte")
end)
sc.test("no frame longer than --max-frame", function(t)
    edit = true
    local f = sc.frame{ src = "10.9.0.1", dst = "10.9.0.2", sport = 40000,
                        dport = 80, flags = "A", seq = 1, ack = 1,
                        payload = string.rep("j", 3946) }
    local r = t:push(f)
    sc.eq(got, { true, 22, 28, true },
          "sendpkt 9018 and 9019 bytes, insertions to 9019 and 9018")
    local lens = {}
    for i, o in ipairs(r.out) do lens[i] = #o.data end
    table.sort(lens)
    sc.eq(lens, { 9018, 9018 }, "lengths of the frames out")
end)
LUA
rc=$(run_status "$TMP/jumbo" "$MOONBOX" --max-frame 9018 \
	--scenario "$TMP/jumbo.lua")
assert_eq "$rc" 0 "jumbo: exit status ($(cat "$TMP/jumbo.out" "$TMP/jumbo.err"))"

step "a test that never returns is stopped by the watchdog"
cat >"$TMP/hang.lua" <<'LUA'
local sc = require "mos.scenario"
sc.test("loops", function(t) while true do end end)
LUA
rc=$(run_status "$TMP/hang" timeout 60 "$MOONBOX" --watchdog 1000 \
	--scenario "$TMP/hang.lua")
assert_eq "$rc" 1 "exit status of a stopped scenario"
grep -q "watchdog" "$TMP/hang.err" || fail "no word of the watchdog"
grep -q "^Bail out!" "$TMP/hang.out" || fail "TAP not told: $(cat "$TMP/hang.out")"
cat >"$TMP/hang2.lua" <<'LUA'
local sc = require "mos.scenario"
local mctx = ...
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_NULL,
    function() while true do end end)
sc.test("a callback loops", function(t) t:conn{}:syn() end)
LUA
rc=$(run_status "$TMP/hang2" timeout 60 "$MOONBOX" --watchdog 1000 \
	--scenario "$TMP/hang2.lua")
assert_eq "$rc" 1 "exit status when a policy's callback is stopped"
grep -q "^Bail out!" "$TMP/hang2.out" || fail "TAP not told (callback)"

step "usage errors"
rc=$(run_status "$TMP/u1" "$MOONBOX" --scenario -r x.pcap "$TMP/pass.lua")
assert_eq "$rc" 2 "--scenario with -r"
rc=$(run_status "$TMP/u2" "$MOONBOX" --scenario --port net_null0 \
	"$TMP/pass.lua")
assert_eq "$rc" 2 "--scenario with --port"
rc=$(run_status "$TMP/u3" "$MOONBOX" --scenario)
assert_eq "$rc" 2 "--scenario without a script"

step "native plugins meet the same scenarios as their Lua twins"
: "${MB_BUILD:?MB_BUILD must name the build directory}"
: "${MB_SRC:?MB_SRC must name the source directory}"
rc=$(cd "$MB_SRC" && run_status "$TMP/plugin" "$MOONBOX" \
	--plugin "$MB_BUILD/scripts/c/firewall.so" \
	--plugin-arg rules=scripts/firewall.rules \
	--scenario tests/scenarios/firewall.lua plugin)
assert_eq "$rc" 0 "C firewall scenario ($(grep 'ok' "$TMP/plugin.out"))"
assert_eq "$(grep -c '^ok ' "$TMP/plugin.out")" 5 "tests passed"
# Without the plugin, the same tests must fail: they test it.
rc=$(cd "$MB_SRC" && run_status "$TMP/noplugin" "$MOONBOX" \
	--scenario tests/scenarios/firewall.lua plugin)
assert_eq "$rc" 1 "the firewall scenario without a firewall"
rc=$(cd "$MB_SRC" && run_status "$TMP/natplugin" "$MOONBOX" \
	--plugin "$MB_BUILD/scripts/c/nat.so" --plugin-arg ip=192.0.2.1 \
	--plugin-arg ports=2000-2002 --scenario tests/scenarios/nat.lua plugin)
assert_eq "$rc" 0 "C nat scenario ($(grep 'ok' "$TMP/natplugin.out"))"
assert_eq "$(grep -c '^ok ' "$TMP/natplugin.out")" 4 "nat tests passed"
rc=$(cd "$MB_SRC" && run_status "$TMP/nonat" "$MOONBOX" \
	--scenario tests/scenarios/nat.lua plugin)
assert_eq "$rc" 1 "the nat scenario without a NAT"

step "built and decoded frames agree with tshark"
cat >"$TMP/sums.lua" <<LUA
local sc = require "mos.scenario"
sc.test("checksums", function(t)
    local w = sc.pcap("$TMP/good.pcap")
    local bad = sc.pcap("$TMP/bad.pcap")
    local c = t:conn{ client = "10.5.0.1:999", server = "10.5.0.2:80" }
    for _, r in ipairs{ c:handshake() } do
        w:write(r.forwarded[1].data)
    end
    for n = 0, 5 do
        local f = c:segment("c", { flags = "PA",
                                   payload = string.rep("z", n) })
        sc.ok(sc.decode(f).csum_ok, "built segment, payload " .. n)
        w:write(f)
        local b = c:segment("c", { flags = "PA", payload = "abc",
                                   csum = n + 1 })
        sc.ok(not sc.decode(b).csum_ok, "damaged segment " .. n)
        bad:write(b)
    end
    w:close()
    bad:close()
    local fr = sc.pcap("$TMP/frag.pcap")
    local seg = c:segment("c", { flags = "PA", payload = string.rep("q", 333),
                                 id = 4242 })
    for _, f in ipairs(sc.fragments(seg, 100)) do fr:write(f) end
    fr:close()
end)
LUA
rc=$(run_status "$TMP/sums" "$MOONBOX" --scenario "$TMP/sums.lua")
assert_eq "$rc" 0 "checksum scenario ($(cat "$TMP/sums.out"))"
checksums_ok "$TMP/good.pcap"
badn=$(tshark -r "$TMP/bad.pcap" -o tcp.check_checksum:TRUE \
	-Y 'tcp.checksum.status == 0' 2>/dev/null | wc -l)
assert_eq "$badn" 6 "segments tshark finds damaged"
# tshark reassembles the fragments into the segment, its checksum good.
tshark -r "$TMP/frag.pcap" -o ip.defragment:TRUE -o tcp.check_checksum:TRUE \
	-T fields -e ip.fragment.count -e tcp.len -e tcp.checksum.status \
	-Y tcp >"$TMP/frag.txt" 2>/dev/null || fail "tshark on the fragments"
assert_eq "$(cat "$TMP/frag.txt")" "$(printf '4\t333\t1')" \
	"tshark's reassembly of sc.fragments"
step "mos_scenario.3 documents the module; its examples print what it says"
: "${MB_SRC:?MB_SRC must name the source directory}"
PAGE="$MB_SRC/man/man3/mos_scenario.3"
MODULE="$MB_SRC/bindings/lua/mos/scenario.lua"
MANWIDTH=200 man -l "$PAGE" >"$TMP/page.txt" 2>/dev/null || fail "man -l $PAGE"
# Every function of the module, of t and of a connection (_run and _take
# are the runner's own).
sed -n -e 's/^function M\.\([a-z][a-z_]*\)(.*/sc.\1/p' \
	-e 's/^function T:\([a-z][a-z_]*\)(.*/t:\1/p' \
	-e 's/^function Conn:\([a-z][a-z_]*\)(.*/c:\1/p' \
	-e 's/^M\.\([a-z][a-z_]*\) = .*/sc.\1/p' "$MODULE" >"$TMP/fields"
[ "$(wc -l <"$TMP/fields")" -ge 20 ] || fail "few functions found in $MODULE"
while read -r f; do
	grep -qE "$f[({]" "$TMP/page.txt" || fail "mos_scenario.3 does not document $f"
done <"$TMP/fields"
mkdir -p "$TMP/ex"
example_blocks "$PAGE" "$TMP/ex/block"
set -- "$TMP/ex"/block[0-9][0-9]
[ "$#" -ge 4 ] || fail "$PAGE: fewer examples than expected"
nex=0
prev=""
for b in "$@"; do
	name=$(sed -n '1s/^-- \([a-z_]*\.lua\): .*/\1/p' "$b")
	if [ -z "$name" ]; then
		[ -n "$prev" ] || fail "$PAGE: an example is neither a scenario nor its output"
		# (The page keeps no trailing blanks; the firewall's table has.)
		sed 's/ *$//' "$prev.out" >"$prev.trim"
		diff -u "$b" "$prev.trim" || fail "$PAGE: the output of $(head -1 "$prev" | cut -c4- | cut -d: -f1) differs"
		prev=""
		continue
	fi
	cp "$b" "$TMP/ex/$name"
	cmdline=$(sed -n 's/^--   moonbox //p' "$b" | head -1)
	[ -n "$cmdline" ] || fail "$PAGE: $name has no '--   moonbox' line"
	args=()
	for a in $cmdline; do
		[ "$a" = "$name" ] && a=$TMP/ex/$name
		args+=("$a")
	done
	(cd "$MB_SRC" && "$MOONBOX" "${args[@]}") >"$b.out" ||
		fail "$PAGE: $name failed: $(cat "$b.out")"
	prev=$b
	nex=$((nex + 1))
done
[ -z "$prev" ] || fail "$PAGE: the output of the last example is not shown"
assert_eq "$nex" 2 "examples run"
echo "ok"
