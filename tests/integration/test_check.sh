#!/usr/bin/env bash
# test_check.sh - moonbox --check loads the plugins and the script on every
# core and ends: status 0 and a line saying so when all loaded, 1 and the
# reason when one did not (an error, a syntax error, a load the watchdog
# stops, a bad chain). A run's whole command line can be checked as it is:
# its capture is not read, its output and --stats files are not written,
# its ports are not opened, and the script's mos.at_exit functions do not
# run (nothing ran to report).
. "$(dirname "$0")/lib.sh"

: "${MB_SRC:?MB_SRC must name the source directory}"
S="$MB_SRC/scripts"
cd "$TMP"

step "a good script, on one core and on two"
rc=$(run_status ok "$MOONBOX" --check "$S/midstat.lua")
assert_eq "$rc" 0 "exit status ($(cat ok.err))"
assert_eq "$(cat ok.err)" "moonbox: $S/midstat.lua loaded on 1 core" \
	"message"
[ -s ok.out ] && fail "the script's at_exit ran: $(cat ok.out)"
rc=$(run_status ok2 "$MOONBOX" --check -c 2 "$S/chain.lua" firewall.lua \
	"$S/firewall.rules" + midstat.lua)
assert_eq "$rc" 0 "exit status, -c 2 ($(cat ok2.err))"
grep -q "loaded on 2 cores$" ok2.err || fail "message: $(cat ok2.err)"

step "a run's command line, checked as it is, touches nothing of the run"
mkdir out
rc=$(run_status run "$MOONBOX" --check -r "$TMP/no-such.pcap" \
	-w "$TMP/out/out.pcap" --stats "$TMP/out/st.json" --stats-interval 1 \
	--port 0000:99:00.0 --port 0000:99:00.1 --mbufs 16777216 \
	--eal "--file-prefix=taken --huge-dir /nonexistent" --time 3600 \
	"$S/firewall.lua" "$S/firewall.rules")
assert_eq "$rc" 0 "exit status ($(cat run.err))"
[ -z "$(ls out)" ] || fail "files written: $(ls out)"

step "a native plugin alone"
rc=$(run_status plug "$MOONBOX" --check --plugin "$MB_PLUGINS/trace.so" \
	--plugin-arg "out=$TMP/trace")
assert_eq "$rc" 0 "exit status ($(cat plug.err))"
grep -q "1 plugin loaded on 1 core" plug.err || fail "$(cat plug.err)"

step "what does not load fails the check, and says why"
printf 'local mctx = ...\nerror("not today", 0)\n' >raises.lua
printf 'local mctx = ...\nlocal x = = 1\n' >syntax.lua
printf 'while true do end\n' >loops.lua
for bad in "raises.lua|not today" "syntax.lua|unexpected symbol" \
	"loops.lua|did not finish loading"; do
	rc=$(run_status bad timeout 60 "$MOONBOX" --check --watchdog 500 \
		"$TMP/${bad%|*}")
	assert_eq "$rc" 1 "exit status of ${bad%|*}"
	grep -qF "${bad#*|}" bad.err || fail "${bad%|*}: $(cat bad.err)"
	grep -q "loaded on" bad.err && fail "${bad%|*}: said it loaded"
done
rc=$(run_status chain "$MOONBOX" --check "$S/chain.lua" midstat.lua + \
	nosuch.lua)
assert_eq "$rc" 1 "exit status of a bad chain"
grep -q "cannot open nosuch.lua" chain.err || fail "$(cat chain.err)"

step "usage"
rc=$(run_status sc "$MOONBOX" --check --scenario "$S/midstat.lua")
assert_eq "$rc" 2 "--check --scenario"
echo "ok"
