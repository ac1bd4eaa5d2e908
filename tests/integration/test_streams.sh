#!/usr/bin/env bash
# test_streams.sh - stream reassembly against an independent oracle: for
# captures of many interleaved connections with reordering, exact and
# overlapping retransmissions, RSTs and sequence-number wrap, the bytes each
# direction delivers through MOS_ON_CONN_NEW_DATA + mtcp_peek equal what
# tcpflow reconstructs from the same capture, byte for byte, on one and on
# two worker cores. With a small window the read-before-overwrite protocol
# (MOS_ON_ERROR) must still lose nothing; with a window smaller than the
# reordering span, losses must be counted, never silent. The engine's
# one-step handling of plain segments (tcp_fast_path) and of the other
# segments without SYN or RST when nobody listens at the packet hooks
# (tcp_quiet_path) must give the same streams, TCP state changes, final
# states and counters as the step-by-step path. So must thousands of
# concurrent connections (the flows loaded ahead with the burst).
. "$(dirname "$0")/lib.sh"

PLUGIN="$MB_PLUGINS/streams.so"

same_counters() {	# same_counters A.json B.json IGNORED_KEY...
	"$PY" -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
skip = set(sys.argv[3:]) | {"cores"}
diff = [k for k in sorted(set(a) | set(b))
        if k not in skip and a.get(k) != b.get(k)]
if diff:
    sys.exit("counters differ: " + ", ".join(
        "%s %s/%s" % (k, a.get(k), b.get(k)) for k in diff))
' "$1" "$2" "${@:3}" || fail "counters of $1 and $2"
}

compare() {	# compare DIR_ORACLE DIR_MOONBOX what
	local d
	d=$(diff -rq "$1" "$2" | grep -v summary || true)
	[ -z "$d" ] || fail "$3: streams differ from tcpflow's: $(echo "$d" | head -3)"
	[ "$(ls "$1" | wc -l)" -gt 20 ] || fail "$3: too few streams"
}

oracle() {	# oracle NAME: tcpflow's streams of $TMP/NAME.pcap in $TMP/tfNAME
	mkdir -p "$TMP/tf$1"
	tcpflow -r "$TMP/$1.pcap" -o "$TMP/tf$1" -X /dev/null 2>/dev/null
	rm -f "$TMP/tf$1/report.xml"
	# The generator's own record of the streams agrees with tcpflow.
	diff -rq "$TMP/ex$1" "$TMP/tf$1" >/dev/null ||
		fail "$1: generator and tcpflow disagree"
}

streams() {	# streams NAME CORES OUT: moonbox's streams of $TMP/NAME.pcap
	mkdir -p "$3"
	run_moonbox -c "$2" -r "$TMP/$1.pcap" --plugin "$PLUGIN" \
		--plugin-arg "dir=$3" --stats "$3.json"
	compare "$TMP/tf$1" "$3" "$1, $2 core(s)"
	check_conservation "$3.json"
}

for seed in 31 32 33; do
	cap="$TMP/f$seed.pcap"
	"$MKPCAP" flows "$cap" --conns 80 --seed $seed --reorder 0.2 \
		--rexmit 0.2 --overlap 0.2 --rst 0.3 --wrap --data 1:6000 \
		--segsize 1:1460 --expect "$TMP/exf$seed" 2>/dev/null
	oracle f$seed
	for cores in 1 2; do
		step "seed $seed, $cores core(s)"
		out="$TMP/mb$seed-$cores"
		streams f$seed $cores "$out"
		assert_eq "$(json_get "$out.json" flows_created)" \
			"$(json_get "$out.json" flows_destroyed)" \
			"every flow ends ($cores cores)"
		assert_eq "$(json_get "$out.json" rx_nombuf)" 0 "rx_nombuf"
	done
	step "seed $seed, 3000-byte window: overruns warned, nothing lost"
	out="$TMP/small$seed"
	mkdir -p "$out"
	run_moonbox -r "$cap" --plugin "$PLUGIN" --plugin-arg "dir=$out" \
		--plugin-arg rmem=3000 --stats "$out.json"
	compare "$TMP/tff$seed" "$out" "seed $seed, rmem 3000"
	[ "$(json_get "$out.json" reasm_overrun)" -gt 0 ] ||
		fail "a 3000-byte window should have been overrun"
	grep -q "^missed 0$" "$out/summary.0" || fail "bytes missed with rmem 3000"
	for win in default 3000; do
		# fast: the one-step ACK path alone (state-change callbacks
		# keep the others away); quiet: every segment without SYN or
		# RST in one step (only flow ends watched); steps-*: the same
		# with a packet callback, which sends every packet through
		# the steps.
		step "seed $seed, window $win: one-step segments change nothing"
		more=()
		[ $win = default ] || more=(--plugin-arg rmem=$win \
					    --plugin-arg noerror)
		for mode in fast steps-fast quiet steps-quiet; do
			out="$TMP/d$seed-$win-$mode"
			mkdir -p "$out"
			args=(--plugin-arg states)
			case $mode in *quiet) args=(--plugin-arg ends);; esac
			case $mode in steps-*) args+=(--plugin-arg pktin);; esac
			run_moonbox -r "$cap" --plugin "$PLUGIN" \
				--plugin-arg "dir=$out" "${args[@]}" "${more[@]}" \
				--stats "$out.json"
		done
		d="$TMP/d$seed-$win"
		for mode in fast quiet; do
			diff -r "$d-$mode" "$d-steps-$mode" >/dev/null ||
				fail "window $win: $mode output differs with a packet callback"
			same_counters "$d-$mode.json" "$d-steps-$mode.json" \
				run_seconds callbacks_run tcp_fast_path \
				tcp_quiet_path
			assert_eq "$(json_get "$d-steps-$mode.json" tcp_fast_path)" 0 \
				"window $win: one-step path with a packet callback"
			assert_eq "$(json_get "$d-steps-$mode.json" tcp_quiet_path)" 0 \
				"window $win: quiet path with a packet callback"
		done
		[ "$(grep -c change "$d-fast/states.0")" -gt 100 ] ||
			fail "window $win: too few state changes logged"
		[ "$(grep -c end "$d-quiet/states.0")" -gt 100 ] ||
			fail "window $win: too few flow ends logged"
		[ "$(json_get "$d-fast.json" tcp_fast_path)" -gt 1000 ] ||
			fail "window $win: the one-step path was not taken"
		assert_eq "$(json_get "$d-fast.json" tcp_quiet_path)" 0 \
			"window $win: quiet path with state-change callbacks"
		[ "$(json_get "$d-quiet.json" tcp_quiet_path)" -gt 300 ] ||
			fail "window $win: the quiet path was not taken"
	done
	step "seed $seed, 2048-byte window: losses are counted"
	out="$TMP/tiny$seed"
	mkdir -p "$out"
	run_moonbox -r "$cap" --plugin "$PLUGIN" --plugin-arg "dir=$out" \
		--plugin-arg rmem=2048 --stats "$out.json"
	skipped=$(json_get "$out.json" reasm_gap_skipped)
	missed=$(sed -n 's/^missed //p' "$out/summary.0")
	[ "$skipped" -gt 0 ] || fail "expected skipped holes with rmem 2048"
	assert_eq "$missed" "$skipped" "bytes missed by peek = bytes skipped"
done

# Past 1024 flows on a core the engine loads every frame's index bucket
# and flow slot with the burst and keeps the frame's hash for the lookup
# (flow.c, flow_prefetch_burst): thousands of concurrent connections must
# still give tcpflow's streams, on one core and on two.
"$MKPCAP" http "$TMP/many.pcap" --conns 6000 --concurrency 4000 --seed 5 \
	--expect "$TMP/exmany" 2>/dev/null
oracle many
for cores in 1 2; do
	step "4000 concurrent connections, $cores core(s)"
	out="$TMP/many-$cores"
	streams many $cores "$out"
	assert_eq "$(json_get "$out.json" flows_created)" 6000 "flows created"
	assert_eq "$(json_get "$out.json" orphans)" 0 "orphans"
done
echo "ok"
