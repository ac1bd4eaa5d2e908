#!/usr/bin/env bash
# test_misuse.sh - a storm of API misuse from a Lua script
# (tests/lua/misuse.lua): every callback makes random mos.* calls with good
# and bad arguments (nil pointers, unknown sockets, sides, hooks, events and
# options, negative and huge lengths and offsets, closing the socket being
# called back, life-cycle calls from a worker core). moonbox must exit 0,
# account for every frame, write what it forwarded and sent, and log no
# script error: a misused call returns -1 (or its man page's error value),
# it does not raise, crash or stop traffic. Each function must have been
# called often, with both outcomes, or the storm did not reach it.
#
# Under tests/run --asan the sanitizers check every access of the storm.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SCRIPT="$MB_SRC/tests/lua/misuse.lua"
"$MKPCAP" flows "$TMP/in.pcap" --conns 300 --seed 3 --reorder 0.2 \
	--rexmit 0.2 --overlap 0.2 --rst 0.3 --wrap 2>/dev/null
frames=$(pcap_count "$TMP/in.pcap")

# storm NAME SEED ARGS...: one run; its tallies go to $TMP/NAME.<core>.
storm() {
	local name=$1 seed=$2 rc

	shift 2
	step "$name (seed $seed${*:+, $*})"
	rc=$(run_status "$TMP/$name" "$MOONBOX" --no-progress "$@" \
		-r "$TMP/in.pcap" -w "$TMP/$name.pcap" \
		--stats "$TMP/$name.json" "$SCRIPT" "$seed" "$TMP/$name")
	assert_eq "$rc" 0 "$name: exit status ($(tail -3 "$TMP/$name.err"))"
	# The first ten refused filters are reported on stderr, then that
	# further ones are not; nothing else may be.
	assert_eq "$(grep -c "^moonbox: filter '" "$TMP/$name.err")" 10 \
		"$name: refused filters reported"
	if grep -v "^moonbox: filter" "$TMP/$name.err" | grep -q .; then
		fail "$name: unexpected output on stderr: $(grep -v \
			"^moonbox: filter" "$TMP/$name.err" | head -3)"
	fi
	grep -q "^moonbox: filter errors: further ones are not printed" \
		"$TMP/$name.err" || fail "$name: no notice of unprinted errors"
	assert_eq "$(json_get "$TMP/$name.json" rx_packets)" "$frames" \
		"$name: rx_packets"
	assert_eq "$(json_get "$TMP/$name.json" script_errors)" 0 \
		"$name: script_errors"
	check_conservation "$TMP/$name.json"
	assert_eq "$(pcap_count "$TMP/$name.pcap")" \
		"$(($(json_get "$TMP/$name.json" tx_packets) + \
		$(json_get "$TMP/$name.json" pkts_sent)))" \
		"$name: frames written (forwarded + sent)"
}

storm s1 1
storm s2 2
storm s3 3
storm c2 4 -c 2

step "every function was called often, with both outcomes"
cat "$TMP"/s1.0 "$TMP"/s2.0 "$TMP"/s3.0 "$TMP"/c2.0 "$TMP"/c2.1 |
awk '
{ calls[$1] += $2; ok[$1] += $3; bad[$1] += $4; err[$1] += $5 }
END {
	n = 0
	for (f in calls) {
		n++
		if (calls[f] < 1000)
			printf "%s: called %d times\n", f, calls[f]
		if (ok[f] == 0)
			printf "%s: never succeeded\n", f
		# A time stamp has no error value to return.
		if (bad[f] == 0 && f != "cb_get_ts")
			printf "%s: never failed\n", f
		if (err[f] != 0)
			printf "%s: raised %d Lua errors\n", f, err[f]
	}
	if (n < 21)
		printf "only %d functions tallied\n", n
}' >"$TMP/tally.txt"
if [ -s "$TMP/tally.txt" ]; then
	fail "storm coverage: $(head -5 "$TMP/tally.txt")"
fi
echo "misuse storms ok"
