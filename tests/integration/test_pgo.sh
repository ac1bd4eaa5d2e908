#!/usr/bin/env bash
# test_pgo.sh - the build bench/run measures: `bench/run --build-only`
# builds an instrumented moonbox, trains it, and builds moonbox again with
# GCC's profile feedback. The test checks that the training left counts
# for the engine's hot files, that the final build compiled with them,
# and that the optimised moonbox does exactly what the test build does on
# traffic with reordering, retransmissions, overlaps and resets: the same
# output frames, script output and counters, for the Lua and C midstats
# and for rewrite.lua (whose rewritten frames tshark's checksum
# verification also has to accept: checksums_ok).
. "$(dirname "$0")/lib.sh"

PGO=$TMP/b
step "bench/run --build-only (instrumented build, training, final build)"
"$PY" "$MB_SRC/bench/run" --build-only --build "$PGO" --work "$TMP/w" \
	>"$TMP/build.out" 2>&1 || fail "bench/run failed: $(tail -20 "$TMP/build.out")"

step "the training's counts reached the final build"
for f in pipe.c flow.c tcp_fsm.c rb.c parse.c capfile.c event.c; do
	p=$(ls "$PGO-pgo-gen/profile/"*"#mbobj.dir#$f.gcda" 2>/dev/null) ||
		fail "no profile for engine/$f"
	[ -s "$p" ] || fail "empty profile for engine/$f"
done
grep -q -- "-fprofile-use=$PGO-pgo-gen/profile" \
	"$PGO/engine/CMakeFiles/mbobj.dir/flags.make" ||
	fail "engine not compiled with the profile"

step "the optimised moonbox gives the test build's results"
"$MKPCAP" flows "$TMP/in.pcap" --conns 300 --concurrency 24 --seed 41 \
	--reorder 0.05 --rexmit 0.05 --overlap 0.03 --rst 0.1 >/dev/null 2>&1
"$MKPCAP" pattern "$TMP/pat.pcap" --pattern MOONBOXPGO --every 20 \
	--conns 60 --concurrency 8 --split --seed 42 >/dev/null
# The counters that depend on the machine, not on the packets.
strip_stats() {
	"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
for k in list(s):
    if k.startswith("cycles_") or k in ("run_seconds", "tsc_hz") or \
       isinstance(s[k], (list, dict)):
        del s[k]
print(json.dumps(s, sort_keys=True, indent=0))
' "$1"
}
# run_both NAME CAPTURE ARGS...: ARGS with @B@ standing for the build.
run_both() {
	local name=$1 in=$2 b dir

	shift 2
	for b in test pgo; do
		dir=$MB_BUILD
		[ $b = pgo ] && dir=$PGO
		"$dir/lua/moonbox" --no-progress -r "$in" -w "$TMP/$name.$b.pcap" \
			--stats "$TMP/$name.$b.json" "${@//@B@/$dir}" \
			>"$TMP/$name.$b.out" 2>"$TMP/$name.$b.err" ||
			fail "$name ($b build) failed: $(tail -3 "$TMP/$name.$b.err")"
		strip_stats "$TMP/$name.$b.json" >"$TMP/$name.$b.stats"
	done
	[ -s "$TMP/$name.test.out" ] || fail "$name: no script output"
	"$PCAPCMP" "$TMP/$name.test.pcap" "$TMP/$name.pgo.pcap" ||
		fail "$name: output frames differ"
	cmp -s "$TMP/$name.test.out" "$TMP/$name.pgo.out" ||
		fail "$name: script output differs"
	cmp -s "$TMP/$name.test.stats" "$TMP/$name.pgo.stats" ||
		fail "$name: counters differ: $(diff "$TMP/$name.test.stats" \
			"$TMP/$name.pgo.stats" | head -5)"
}
run_both lua-midstat "$TMP/in.pcap" "$MB_SRC/scripts/midstat.lua"
run_both c-midstat "$TMP/in.pcap" --plugin @B@/scripts/c/midstat.so
run_both rewrite "$TMP/pat.pcap" "$MB_SRC/scripts/rewrite.lua" \
	MOONBOXPGO moonboxpgo

checksums_ok "$TMP/rewrite.pgo.pcap"
n=$(tshark -r "$TMP/rewrite.pgo.pcap" -Y 'frame contains "moonboxpgo"' \
	2>/dev/null | wc -l)
[ "$n" -gt 0 ] || fail "rewrite.lua rewrote nothing"
echo ok
