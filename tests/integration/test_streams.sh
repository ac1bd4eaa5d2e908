#!/usr/bin/env bash
# test_streams.sh - stream reassembly against an independent oracle: for
# captures of many interleaved connections with reordering, exact and
# overlapping retransmissions, RSTs and sequence-number wrap, the bytes each
# direction delivers through MOS_ON_CONN_NEW_DATA + mtcp_peek equal what
# tcpflow reconstructs from the same capture, byte for byte, on one and on
# two worker cores. With a small window the read-before-overwrite protocol
# (MOS_ON_ERROR) must still lose nothing; with a window smaller than the
# reordering span, losses must be counted, never silent.
. "$(dirname "$0")/lib.sh"

PLUGIN="$MB_PLUGINS/streams.so"

compare() {	# compare DIR_ORACLE DIR_MOONBOX what
	local d
	d=$(diff -rq "$1" "$2" | grep -v summary || true)
	[ -z "$d" ] || fail "$3: streams differ from tcpflow's: $(echo "$d" | head -3)"
	[ "$(ls "$1" | wc -l)" -gt 20 ] || fail "$3: too few streams"
}

for seed in 31 32 33; do
	cap="$TMP/f$seed.pcap"
	"$MKPCAP" flows "$cap" --conns 80 --seed $seed --reorder 0.2 \
		--rexmit 0.2 --overlap 0.2 --rst 0.3 --wrap --data 1:6000 \
		--segsize 1:1460 --expect "$TMP/ex$seed" 2>/dev/null
	mkdir -p "$TMP/tf$seed"
	tcpflow -r "$cap" -o "$TMP/tf$seed" -X /dev/null 2>/dev/null
	rm -f "$TMP/tf$seed/report.xml"
	# The generator's own record of the streams agrees with tcpflow.
	diff -rq "$TMP/ex$seed" "$TMP/tf$seed" >/dev/null ||
		fail "seed $seed: generator and tcpflow disagree"
	for cores in 1 2; do
		step "seed $seed, $cores core(s)"
		out="$TMP/mb$seed-$cores"
		mkdir -p "$out"
		run_moonbox -c $cores -r "$cap" --plugin "$PLUGIN" \
			--plugin-arg "dir=$out" --stats "$out.json"
		compare "$TMP/tf$seed" "$out" "seed $seed, $cores cores"
		check_conservation "$out.json"
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
	compare "$TMP/tf$seed" "$out" "seed $seed, rmem 3000"
	[ "$(json_get "$out.json" reasm_overrun)" -gt 0 ] ||
		fail "a 3000-byte window should have been overrun"
	grep -q "^missed 0$" "$out/summary.0" || fail "bytes missed with rmem 3000"
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
echo "ok"
