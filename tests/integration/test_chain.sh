#!/usr/bin/env bash
# test_chain.sh - scripts/chain.lua runs several policies in one run as
# each runs alone: the oracle is each policy's own run. firewall.lua and
# midstat.lua chained, in either order and on -c 2, forward exactly the
# frames firewall.lua alone forwards and print exactly what the two print
# alone (on one core in the chain's order); each policy's globals are its own; a
# shipped policy can be named alone; a bad chain fails the load with its
# reason.
. "$(dirname "$0")/lib.sh"

: "${MB_SRC:?MB_SRC must name the source directory}"
DEMO="$MB_SRC/tests/data/demo.pcap"
S="$MB_SRC/scripts"
cd "$TMP"

# run_to NAME CORES SCRIPT ARGS...: a run into NAME.pcap and NAME.out.
run_to() {
	local name=$1 cores=$2

	shift 2
	run_moonbox -c "$cores" -r "$DEMO" -w "$name.pcap" "$@" >"$name.out" \
		2>"$name.err" || fail "$name: status $?: $(cat "$name.err")"
}

for cores in 1 2; do
	step "-c $cores: firewall + midstat, in both orders, against each alone"
	run_to fw$cores "$cores" "$S/firewall.lua" "$S/firewall.rules"
	run_to ms$cores "$cores" "$S/midstat.lua"
	run_to fm$cores "$cores" "$S/chain.lua" "$S/firewall.lua" \
		"$S/firewall.rules" + "$S/midstat.lua"
	run_to mf$cores "$cores" "$S/chain.lua" midstat.lua + firewall.lua \
		"$S/firewall.rules"
	[ "$(pcap_count "fw$cores.pcap")" -lt "$(pcap_count "$DEMO")" ] ||
		fail "firewall.rules drops nothing of the capture"
	for c in fm mf; do
		"$PCAPCMP" "fw$cores.pcap" "$c$cores.pcap" ||
			fail "$c$cores: not the frames firewall.lua forwards"
	done
	if [ "$cores" = 1 ]; then
		cat "fw1.out" "ms1.out" | cmp -s - "fm1.out" ||
			fail "fm1: output differs: $(diff <(cat fw1.out \
				ms1.out) fm1.out | head -5)"
		cat "ms1.out" "fw1.out" | cmp -s - "mf1.out" ||
			fail "mf1: output differs"
	else
		# The cores print their reports as each ends: the same lines,
		# in an order of the run's making.
		for c in fm mf; do
			cmp -s <(sort fw2.out ms2.out) <(sort "${c}2.out") ||
				fail "${c}2: output differs"
		done
	fi
done

step "each policy's globals are its own"
cat >count.lua <<'LUA'
local mctx, name = ...
n = 0   -- a global on purpose
local s = mos.socket(mctx, mos.AF_INET, mos.MOS_SOCK_MONITOR_RAW, 0)
mos.register_callback(mctx, s, mos.MOS_ON_PKT_IN, mos.MOS_NULL,
    function() n = n + 1 end)
mos.at_exit(function() print(name .. " " .. n) end)
LUA
run_to g 1 "$S/chain.lua" "$TMP/count.lua" a + "$TMP/count.lua" b
n=$(pcap_count "$DEMO")
assert_eq "$(cat g.out)" "$(printf 'a %s\nb %s' "$n" "$n")" "counts"

step "a bad chain fails the load, and says why"
for bad in "|no policy given" "+ $S/midstat.lua|no policy before it" \
	"$S/midstat.lua +|no policy after it" \
	"nosuch.lua|cannot open nosuch.lua" \
	"$S/firewall.lua|usage: firewall.lua RULES_FILE"; do
	args=${bad%|*}
	# shellcheck disable=SC2086 # the arguments, split on purpose
	rc=$(run_status bad "$MOONBOX" --no-progress -r "$DEMO" \
		"$S/chain.lua" $args)
	assert_eq "$rc" 1 "exit status of chain.lua $args"
	grep -qF "${bad#*|}" bad.err || fail "chain.lua $args: $(cat bad.err)"
done
echo "ok"
