#!/usr/bin/env bash
# test_bench.sh - smoke test of bench/run: with --quick (shortened further:
# 1 s per measurement, 20000 flows, the test build) it runs every
# configuration (io and track on the many-flows input too, the midstats on
# one pass over a capture file), the memory benchmark and the flow index
# comparison, prints every row (packet rates and cycles per packet) and
# writes the JSON shape other tools read (with each round's ratios); then
# the callgrind count of instructions a packet (--only instructions; on a
# sanitizer build, which valgrind cannot run, that bench/run refuses it). No
# timing is asserted: only that each number exists and is positive, and
# that each run's cycles split into their parts.
. "$(dirname "$0")/lib.sh"

step "bench/run --quick on the test build"
"$PY" "$MB_SRC/bench/run" --quick --time 1 --flows 20000 --no-build \
	--build "$MB_BUILD" --work "$TMP" --json "$TMP/bench.json" \
	>"$TMP/bench.out" 2>"$TMP/bench.err" ||
	fail "bench/run failed: $(tail -5 "$TMP/bench.err")"
cat "$TMP/bench.out"

for row in io track c-midstat lua-midstat lua-rewrite lua-peek; do
	line=$(grep "^$row " "$TMP/bench.out") || fail "no row for $row"
	case $line in
	*missing*) fail "row $row is missing a number: $line" ;;
	esac
done
grep -q "^ratios: track/io [0-9.]*, track/io (cycles) [0-9.]*, " \
	"$TMP/bench.out" || fail "no ratios line"
# The cycles table: io's total, moonbox's total = rx + tx + engine.
grep -Eq "^io +[0-9]+ +[0-9]+$" "$TMP/bench.out" || fail "no io cycles row"
for row in track c-midstat lua-midstat lua-peek; do
	cell="[0-9]+ = [0-9]+\+[0-9]+\+[0-9]+"
	grep -Eq "^$row +$cell +$cell\$" "$TMP/bench.out" ||
		fail "no cycles row for $row"
done
grep -Eq "^many flows \(http, 3000 connections at a time\): io [0-9.]+ Mpps \([0-9]+ cycles/packet\), track [0-9.]+ Mpps \([0-9]+ cycles/packet\)$" \
	"$TMP/bench.out" || fail "no many-flows line"
grep -Eq "^offline, one pass over a capture file of 20000 short connections \([0-9]+ packets; mOS's C midstat: about 2.5 Mpps on 1.1 M\): c-midstat [0-9.]+ Mpps, lua-midstat [0-9.]+ Mpps$" \
	"$TMP/bench.out" || fail "no offline line"
grep -q "^memory: [0-9]* open flows" "$TMP/bench.out" || fail "no memory line"
grep -q "^moonbox benchmarks: .*, build: as found (--no-build)$" \
	"$TMP/bench.out" || fail "the header does not say which build ran"
grep -q "^flow index, 20000 keys" "$TMP/bench.out" || fail "no flow index line"
# The targets, each with this run's value; memory's needs 1 M flows and
# the offline rate's the 1.1 M packet file, which --quick does not make.
# With two CPUs lua/c also ran paired (one pair: two runs). CPUs counted
# as bench/run counts them (nproc counts only those this process may use).
v='(met|NOT met) \([0-9.]+\)'
lc=$v
if [ "$("$PY" -c 'import os; print(os.cpu_count())')" -ge 2 ]; then
	lc='(met|NOT met) \([0-9.]+; paired [0-9.]+, [0-2] of 2 runs\)'
	grep -Eq "^ratios: .*, lua-midstat/c-midstat \(paired\) [0-9.]+ \(runs [0-9.]+-[0-9.]+\)\$" \
		"$TMP/bench.out" || fail "no paired ratio"
fi
grep -Eq "^targets: lua-midstat/c-midstat >= 0.9: $lc; track/io >= 0.5: $v; 1 M flows < 1 GiB: not measured \(20000 flows\); lua-midstat offline > 2.5 Mpps \(mOS's C midstat\): not measured \(20000 connections\)\$" \
	"$TMP/bench.out" || fail "no targets line"

"$PY" - "$TMP/bench.json" <<'PY' || fail "JSON shape"
import json, os, sys
j = json.load(open(sys.argv[1]))
assert j["cores"] == 1 and j["machine"]
# Which build was measured (here the test build, as it was).
assert j["build"] == "as found (--no-build)", j["build"]
for c in ("io", "track", "c-midstat", "lua-midstat", "lua-rewrite", "lua-peek"):
    assert j["configs"][c]["mpps"] > 0, c
    cp = j["configs"][c]["cycles_per_packet"]
    inputs = ("pattern",) if c == "lua-rewrite" else ("http", "bulk")
    for i in inputs:
        x = cp[i]
        assert x["total"] > 0, (c, i, x)
        if c != "io":
            # The parts are medians of their own: they add up only
            # roughly; each is positive and below the total.
            for k in ("rx", "tx", "engine"):
                assert 0 < x[k] < x["total"], (c, i, k, x)
for c in ("io", "track"):
    assert j["configs"][c]["inputs"]["many"] > 0, c
    assert j["configs"][c]["cycles_per_packet"]["many"]["total"] > 0, c
for c in ("c-midstat", "lua-midstat"):
    assert j["configs"][c]["inputs"]["offline"] > 0, c
for r in ("track/io", "track/io (cycles)", "track/io (many)",
          "lua-midstat/c-midstat", "lua-midstat/c-midstat (offline)"):
    assert j["ratios"][r] > 0, r
    # One round: its own ratio is the median.
    assert j["ratio_rounds"][r] == [j["ratios"][r]], r
m = j["memory"]
assert m["flows"] == 20000, m
assert m["bytes_per_flow"] > 0 and m["lookup_mpps_full_table"] > 0, m
tg = j["targets"]
for name, key in (("lua-midstat/c-midstat >= 0.9", "lua-midstat/c-midstat"),
                  ("track/io >= 0.5", "track/io")):
    line = float(name.split()[-1])
    assert tg[name]["value"] == j["ratios"][key], (name, tg)
    assert tg[name]["met"] == (j["ratios"][key] >= line), (name, tg)
    assert tg[name]["rounds"] == 1, tg
    assert tg[name]["rounds_met"] == int(tg[name]["met"]), tg
# Paired (with two CPUs): two runs, their median beside the verdict.
paired = j["ratio_rounds"].get("lua-midstat/c-midstat (paired)")
if os.cpu_count() >= 2:
    assert len(paired) == 2 and all(r > 0 for r in paired), paired
    med = j["ratios"]["lua-midstat/c-midstat (paired)"]
    assert abs(med - sum(paired) / 2) < 0.0015, (med, paired)
    t = tg["lua-midstat/c-midstat >= 0.9"]
    assert t["paired"] == med and t["paired_runs"] == 2, t
    assert t["paired_met"] == sum(1 for r in paired if r >= 0.9), t
    assert "paired" not in tg["track/io >= 0.5"], tg
else:
    assert paired is None, paired
assert tg["1 M flows < 1 GiB"] == {"value": None, "met": None,
                                   "flows": 20000}, tg
assert tg["lua-midstat offline > 2.5 Mpps (mOS's C midstat)"] == {
    "value": None, "met": None, "connections": 20000}, tg
x = j["index"]
assert x["keys"] == 20000, x
for t in ("fidx", "rte_hash"):
    for op in ("hit", "miss", "add_del"):
        assert x[t][op] > 0, (t, op)
PY

# The full run's side of the targets, which --quick does not reach: 1 M
# flows, the offline file, several rounds, misses included.
"$PY" - "$MB_SRC/bench/run" <<'PY' || fail "targets of a full run"
import sys
from importlib.machinery import SourceFileLoader
br = SourceFileLoader("bench_run", sys.argv[1]).load_module()
ratios = {"lua-midstat/c-midstat": 0.95, "track/io": 0.48}
rounds = {"lua-midstat/c-midstat": [0.89, 0.95, 1.2],
          "track/io": [0.47, 0.48, 0.5],     # a round at the line meets it
          "lua-midstat/c-midstat (paired)": [0.93, 0.9, 0.88, 0.97]}
configs = {"lua-midstat": {"inputs": {"offline": 2.4}}}
mem = {"flows": 1000000, "rss_bytes": 600 * 2 ** 20}
tg = br.targets(ratios, rounds, configs, mem, False)
assert tg["lua-midstat/c-midstat >= 0.9"] == {
    "value": 0.95, "met": True, "rounds": 3, "rounds_met": 2,
    "paired": 0.915, "paired_runs": 4, "paired_met": 3}, tg
assert tg["track/io >= 0.5"] == {
    "value": 0.48, "met": False, "rounds": 3, "rounds_met": 1}, tg
assert tg["1 M flows < 1 GiB"] == {"value": 600.0, "met": True}, tg
assert tg["lua-midstat offline > 2.5 Mpps (mOS's C midstat)"] == {
    "value": 2.4, "met": False}, tg
line = br.targets_line(tg)
assert line == ("targets: lua-midstat/c-midstat >= 0.9: met (0.95, 2 of 3 "
                "rounds; paired 0.915, 3 of 4 runs); track/io >= 0.5: NOT "
                "met (0.48, 1 of 3 rounds); 1 M flows < 1 GiB: met (600.0 "
                "MiB); lua-midstat offline > 2.5 Mpps (mOS's C midstat): "
                "NOT met (2.4)"), line
# Over the line: 1 GiB is not under it.
mem["rss_bytes"] = 2 ** 30
assert br.targets(ratios, rounds, configs, mem, False)[
    "1 M flows < 1 GiB"]["met"] is False
PY

# valgrind cannot run a sanitizer build (tests/run --asan): there bench/run
# must say so at once, before any run, and fail.
if sanitizer_build; then
	step "bench/run --only instructions refuses a sanitizer build"
	if "$PY" "$MB_SRC/bench/run" --quick --no-build --build "$MB_BUILD" \
		--work "$TMP" --only instructions >"$TMP/instr.out" \
		2>"$TMP/instr.err"; then
		fail "bench/run counted instructions on a sanitizer build"
	fi
	grep -q "is a sanitizer build (AddressSanitizer), which valgrind cannot run" \
		"$TMP/instr.err" || fail "no reason given: $(tail -3 "$TMP/instr.err")"
	[ ! -s "$TMP/instr.out" ] || fail "bench/run ran before refusing"
	echo ok
	exit 0
fi

step "bench/run --only instructions: callgrind's counts a packet"
"$PY" "$MB_SRC/bench/run" --quick --no-build --build "$MB_BUILD" \
	--work "$TMP" --only instructions --json "$TMP/instr.json" \
	>"$TMP/instr.out" 2>"$TMP/instr.err" ||
	fail "bench/run --only instructions failed: $(tail -5 "$TMP/instr.err")"
grep "^instructions a packet" "$TMP/instr.out"
n='[0-9]+\.[0-9]'
grep -Eq "^instructions a packet \(callgrind, http, 1000 and 2000 connections, offline\): track $n, c-midstat $n, lua-midstat $n, lua-peek $n; lua-rewrite $n \(pattern input\)\$" \
	"$TMP/instr.out" || fail "no instructions line for the five configurations"
"$PY" - "$TMP/instr.json" <<'PY' || fail "instructions JSON"
import json, sys
j = json.load(open(sys.argv[1]))
p = j["instructions"]["per_packet"]
assert set(p) == {"track", "c-midstat", "lua-midstat", "lua-peek",
                  "lua-rewrite"}, p
assert j["instructions"]["inputs"]["lua-rewrite"] == "pattern", j
# rewrite.lua reads every segment's bytes and tracks each side's
# sequence numbers in Lua, on top of the engine's tracking.
assert p["lua-rewrite"] > p["track"], p
assert all(100 < v < 100000 for v in p.values()), p
# midstat is tracking plus callbacks: it cannot cost less than track.
assert p["track"] < p["c-midstat"] and p["track"] < p["lua-midstat"], p
r = j["ratios"]["lua-midstat/c-midstat (instructions)"]
assert r == round(p["c-midstat"] / p["lua-midstat"], 3), (r, p)
PY
echo ok
