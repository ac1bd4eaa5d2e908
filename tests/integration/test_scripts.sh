#!/usr/bin/env bash
# test_scripts.sh - the shipped Lua policies (scripts/*.lua) run by the real
# moonbox on generated captures, each checked against an independent oracle:
#  - stream_dump: the files equal tcpflow's per-direction files (reordering,
#    retransmissions, overlaps, RSTs, sequence wrap; 1 and 2 cores; a small
#    window, where MOS_ON_ERROR must save every byte);
#  - rewrite: tcpflow's streams of the output are those of the input with
#    every occurrence replaced (so none is left and no other byte changed),
#    tshark finds every checksum good, the occurrences counted equal
#    mkpcap's (split ones too); also a scapy capture of near misses,
#    patterns with borders, 1-byte segments and retransmissions; and
#    captures of lossy paths (segments ahead of gaps, senders going back;
#    segments lost after moonbox sent again a window later), where every
#    copy of every output segment must hold the rewritten bytes of its
#    place;
#  - firewall: verdicts computed from the rules with Python's ipaddress; no
#    packet of a dropped flow leaves, every packet of an accepted one does;
#    per-rule counters; repeated SYNs counted once; an hour of tables for
#    a time stamp years ahead, C as Lua;
#  - nat: every frame leaves with the addresses the documented port order
#    gives (server replies to NAT_IP:port translated back), exhaustion and
#    port reuse; on 2 cores, every reply reaches the core of its flow;
#  - midstat: per-second tables of the capture's clock and the final table,
#    in mOS's exact layout, against TCP's states; idle timeouts; a time
#    stamp years ahead costs an hour of tables, C as Lua;
#  - http_log: every request line and status, against tshark's HTTP
#    dissector and against a pipelined, split capture's own record.
# Every run: rx_packets == tx_packets + dropped_*, script_errors == 0.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C		# sort as Python does

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${MB_SRC:-$HERE/../..}
SCRIPTS="$SRC/scripts"
GEN="$HERE/scripts_gen.py"
CHK="$HERE/scripts_check.py"

# policy NAME CORES IN OUT SCRIPT ARGS...: run a policy on capture IN
# (OUT: output capture or "-"); stdout in $TMP/NAME.out, counters in
# $TMP/NAME.json. The run must succeed, conserve frames and raise no
# script error.
policy() {
	local name=$1 cores=$2 in=$3 out=$4 rc
	local w=()

	shift 4
	[ "$out" = - ] || w=(-w "$out")
	rc=$(run_status "$TMP/$name" run_moonbox -c "$cores" -r "$in" "${w[@]}" \
		--stats "$TMP/$name.json" "$@")
	[ "$rc" = 0 ] || fail "$name: moonbox exited $rc: $(head -5 "$TMP/$name.err")"
	check_conservation "$TMP/$name.json"
	assert_eq "$(json_get "$TMP/$name.json" script_errors)" 0 \
		"$name: script errors ($(head -3 "$TMP/$name.err"))"
}

flows_of() {	# flows_of PCAP DIR: tcpflow's per-direction files
	mkdir -p "$2"
	tcpflow -r "$1" -o "$2" -X /dev/null >/dev/null 2>&1
	rm -f "$2/report.xml"
}

# -- stream_dump ------------------------------------------------------------

for seed in 31 32; do
	cap="$TMP/sd$seed.pcap"
	"$MKPCAP" flows "$cap" --conns 80 --seed $seed --reorder 0.2 \
		--rexmit 0.2 --overlap 0.2 --rst 0.3 --wrap --data 1:6000 \
		--segsize 1:1460 2>/dev/null
	flows_of "$cap" "$TMP/sd$seed.tf"
	[ "$(ls "$TMP/sd$seed.tf" | wc -l)" -gt 100 ] || fail "too few streams"
	for cores in 1 2; do
		step "stream_dump: seed $seed, $cores core(s)"
		out="$TMP/sd$seed-$cores.dir"
		mkdir -p "$out"
		policy "sd$seed-$cores" $cores "$cap" - \
			"$SCRIPTS/stream_dump.lua" "$out"
		diff -r "$TMP/sd$seed.tf" "$out" >/dev/null ||
			fail "stream_dump ($cores cores): $(diff -rq "$TMP/sd$seed.tf" "$out" | head -3)"
		assert_eq "$(sum_field "$TMP/sd$seed-$cores.out" \
			'.* bytes, \([0-9]*\) bytes missed.*')" 0 "bytes missed"
		assert_eq "$(grep -c '^stream_dump: core' "$TMP/sd$seed-$cores.out")" \
			$cores "summary lines"
	done
	step "stream_dump: seed $seed, 3000-byte window, same directory again"
	out="$TMP/sd$seed-1.dir"
	policy "sd$seed-small" 1 "$cap" - --rmem 3000 \
		"$SCRIPTS/stream_dump.lua" "$out"
	diff -r "$TMP/sd$seed.tf" "$out" >/dev/null ||
		fail "stream_dump, rmem 3000: streams differ from tcpflow's"
	[ "$(json_get "$TMP/sd$seed-small.json" reasm_overrun)" -gt 0 ] ||
		fail "a 3000-byte window should have been overrun"
	[ "$(sum_field "$TMP/sd$seed-small.out" '.* missed, \([0-9]*\) errors')" \
		-gt 0 ] || fail "MOS_ON_ERROR never reached the script"
	assert_eq "$(sum_field "$TMP/sd$seed-small.out" \
		'.* bytes, \([0-9]*\) bytes missed.*')" 0 "bytes missed, rmem 3000"
done

step "stream_dump: an OUTDIR it cannot write in stops the run at once"
: >"$TMP/sd-file"
for bad in "$TMP/no-such-dir" "$TMP/sd-file"; do
	rc=$(run_status "$TMP/sdbad" run_moonbox -r "$TMP/sd31.pcap" \
		"$SCRIPTS/stream_dump.lua" "$bad")
	assert_eq "$rc" 1 "stream_dump $bad: exit status"
	grep -qF "$bad: not a directory" "$TMP/sdbad.err" ||
		fail "stream_dump $bad: no message: $(head -2 "$TMP/sdbad.err")"
	assert_eq "$(grep -c 'cannot open' "$TMP/sdbad.err")" 0 \
		"stream_dump $bad: messages per file"
done

# -- rewrite ----------------------------------------------------------------

# rewrite_check NAME IN OUT PATTERN REPLACEMENT: the streams and checksums
# of OUT; prints the occurrences found in IN's streams.
rewrite_check() {
	flows_of "$2" "$TMP/$1.in"
	flows_of "$3" "$TMP/$1.outdir"
	"$PY" "$CHK" replaced "$TMP/$1.in" "$TMP/$1.outdir" "$4" "$5" ||
		fail "$1: streams"
	checksums_ok "$3"
}

PAT='SECRET-TOKEN'
REP='[redacted!!]'
for seed in 3 4; do
	cap="$TMP/pat$seed.pcap"
	"$MKPCAP" pattern "$cap" --pattern "$PAT" --split --conns 60 \
		--seed $seed --every 3 --segsize 1:300 >"$TMP/pat$seed.counts" \
		2>/dev/null
	want=$(sed -n 's/^occurrences //p' "$TMP/pat$seed.counts")
	want_split=$(sed -n 's/^occurrences_split //p' "$TMP/pat$seed.counts")
	[ "$want_split" -gt 20 ] || fail "mkpcap placed too few split patterns"
	for cores in 1 2; do
		step "rewrite: mkpcap pattern seed $seed, $cores core(s)"
		n="pat$seed-$cores"
		policy $n $cores "$cap" "$TMP/$n.pcap" \
			"$SCRIPTS/rewrite.lua" "$PAT" "$REP"
		found=$(rewrite_check $n "$cap" "$TMP/$n.pcap" "$PAT" "$REP")
		assert_eq "$found" "$want" "occurrences in the input streams"
		assert_eq "$(sum_field "$TMP/$n.out" \
			'.*: \([0-9]*\) occurrences rewritten.*')" "$want" \
			"occurrences rewritten"
		assert_eq "$(sum_field "$TMP/$n.out" '.* (\([0-9]*\) split.*')" \
			"$want_split" "split occurrences rewritten"
		# Each held segment left exactly once, re-sent.
		assert_eq "$(json_get "$TMP/$n.json" pkts_sent)" \
			"$(json_get "$TMP/$n.json" dropped_by_policy)" \
			"held segments re-sent"
		assert_eq "$(sum_field "$TMP/$n.out" \
			'.*, \([0-9]*\) segments held.*')" \
			"$(json_get "$TMP/$n.json" pkts_sent)" "held segments"
	done
done

for seed in 1 2 3; do
	for pair in ABABAC:nonona aaab:XYZW; do
		pat=${pair%:*}
		rep=${pair#*:}
		cap="$TMP/rw$seed$pat.pcap"
		"$PY" "$GEN" rewrite "$cap" --pattern "$pat" --seed $seed ||
			fail "scripts_gen.py rewrite"
		for cores in 1 2; do
			step "rewrite: near misses of $pat, seed $seed, $cores core(s)"
			n="rw$seed$pat-$cores"
			policy $n $cores "$cap" "$TMP/$n.pcap" \
				"$SCRIPTS/rewrite.lua" "$pat" "$rep"
			found=$(rewrite_check $n "$cap" "$TMP/$n.pcap" "$pat" "$rep")
			[ "$found" -gt 50 ] || fail "$n: only $found occurrences"
			assert_eq "$(sum_field "$TMP/$n.out" \
				'.*: \([0-9]*\) occurrences rewritten.*')" "$found" \
				"$n: occurrences rewritten"
			assert_eq "$(sum_field "$TMP/$n.out" '.*, \([0-9]*\) errors')" \
				0 "$n: errors"
		done
	done
done

# rewrite_copies NAME SEED MIN PATTERN REPLACEMENT GEN-ARGS...: a capture
# from scripts_gen.py rewrite (GEN-ARGS: its path's kind) through
# rewrite.lua on one core; every copy of every output segment must hold
# the rewritten bytes of its place, more than MIN occurrences, checksums
# good. The script's line is in $TMP/NAME.out.
rewrite_copies() {
	local n=$1 seed=$2 min=$3 pat=$4 rep=$5 cap="$TMP/$1.pcap" found

	shift 5
	"$PY" "$GEN" rewrite "$cap" --pattern "$pat" --seed "$seed" "$@" ||
		fail "scripts_gen.py rewrite $*"
	policy "$n" 1 "$cap" "$TMP/$n.out.pcap" "$SCRIPTS/rewrite.lua" \
		"$pat" "$rep"
	found=$("$PY" "$CHK" copies "$cap" "$TMP/$n.out.pcap" "$pat" "$rep") ||
		fail "$n: $found"
	[ "$found" -gt "$min" ] || fail "$n: only $found occurrences"
	checksums_ok "$TMP/$n.out.pcap"
}
copy_pairs=(ABABAC:nonona aaab:XYZW SECRET-TOKEN:'[redacted!!]' HELLO:WORLD)

# A lossy path before moonbox: segments come ahead of gaps, the sender
# goes back (merging segments, resending a predecessor with its follower).
# tcpflow keeps one copy of each byte, so every copy is checked, by its
# sequence number. (The seeds are ones whose runs give no prefix up: a
# prefix given up may be wrong by design; scenario/rewrite covers that.)
for seed in 2 3 4 5; do
	for pair in "${copy_pairs[@]}"; do
		pat=${pair%:*}
		step "rewrite: segments ahead of gaps, $pat, seed $seed"
		n="gap$seed$pat"
		rewrite_copies "$n" "$seed" 50 "$pat" "${pair#*:}" --gaps
		[ "$(sum_field "$TMP/$n.out" \
			'.*, \([0-9]*\) segments ahead of a gap.*')" -gt 10 ] ||
			fail "$n: few segments ahead of a gap: $(cat "$TMP/$n.out")"
		assert_eq "$(sum_field "$TMP/$n.out" \
			'.*, \([0-9]*\) pending prefixes given up.*')" 0 \
			"$n: prefixes given up"
	done
done

# A lossy path after moonbox: a receiver lacks a segment, acknowledges up
# to it, and its sender sends it again a window later, hundreds of
# occurrences on. Its copy must be rewritten as the first one was, edges
# too (a log of the last 64 occurrences failed at every seed).
for seed in 1 2; do
	for pair in "${copy_pairs[@]}"; do
		pat=${pair%:*}
		step "rewrite: segments sent again far behind, $pat, seed $seed"
		n="far$seed$pat"
		rewrite_copies "$n" "$seed" 1000 "$pat" "${pair#*:}" --conns 8 \
			--behind
		[ "$(sum_field "$TMP/$n.out" \
			'.*, \([0-9]*\) retransmitted bytes rewritten again.*')" -gt 100 ] ||
			fail "$n: few retransmitted bytes: $(cat "$TMP/$n.out")"
	done
done

step "rewrite: arguments of different lengths are refused"
rc=$(run_status "$TMP/rwbad" run_moonbox -r "$TMP/pat3.pcap" \
	"$SCRIPTS/rewrite.lua" abc abcd)
[ "$rc" != 0 ] || fail "rewrite.lua accepted a replacement of another length"
grep -q "same length" "$TMP/rwbad.err" || fail "no reason given: $(cat "$TMP/rwbad.err")"

# -- firewall ---------------------------------------------------------------

RULES="$TMP/fw.rules"
cat >"$RULES" <<'EOF'
# Prefixes of every length, port ranges, first match wins.
ACCEPT 10.1.0.0/26   10.2.0.2          dport:80   # before the /23 below
DROP   10.1.0.0/23   10.2.0.2/31
DROP   0.0.0.0       10.2.0.0/30       dport:8000-8080
ACCEPT 10.1.2.0/25   0.0.0.0           sport:1024-30000
DROP   10.1.2.0/23   10.2.0.1
DROP   0.0.0.0       0.0.0.0           dport:25
EOF
step "firewall: example rules file parses"
policy fwex 1 "$TMP/sd31.pcap" - "$SCRIPTS/firewall.lua" \
	"$SCRIPTS/firewall.rules"
for seed in 5 6; do
	cap="$TMP/fw$seed.pcap"
	"$MKPCAP" flows "$cap" --conns 300 --seed $seed --rst 0.2 \
		--rexmit 0.1 --reorder 0.1 2>/dev/null
	for cores in 1 2; do
		step "firewall: seed $seed, $cores core(s)"
		n="fw$seed-$cores"
		policy $n $cores "$cap" "$TMP/$n.pcap" \
			"$SCRIPTS/firewall.lua" "$RULES"
		"$PY" "$CHK" firewall "$RULES" "$cap" "$TMP/$n.pcap" \
			"$TMP/$n.out" || fail "$n"
		assert_eq "$(json_get "$TMP/$n.json" dropped_by_policy)" \
			"$(sum_field "$TMP/$n.out" '.*; \([0-9]*\) packets dropped.*')" \
			"$n: packets dropped"
	done
done
# Up to 32 rules firewall.lua writes the tests out in a function of their
# own; past that it loops over them: the same verdicts either way.
step "firewall: more rules than it writes out (the loop)"
{
	for i in $(seq 1 40); do
		echo "DROP 192.0.2.$i 10.2.0.0/16 dport:$((1000 + i))"
	done
	cat "$RULES"
} >"$TMP/fw-many.rules"
policy fwmany 1 "$TMP/fw5.pcap" "$TMP/fwmany.pcap" \
	"$SCRIPTS/firewall.lua" "$TMP/fw-many.rules"
"$PY" "$CHK" firewall "$TMP/fw-many.rules" "$TMP/fw5.pcap" \
	"$TMP/fwmany.pcap" "$TMP/fwmany.out" || fail "fwmany"
cmp -s "$TMP/fwmany.pcap" "$TMP/fw5-1.pcap" ||
	fail "firewall: 40 rules that match nothing changed the output"
step "firewall: repeated SYNs count once"
"$PY" "$GEN" fwsyn "$TMP/fwsyn.pcap" || fail "scripts_gen.py fwsyn"
policy fwsyn 1 "$TMP/fwsyn.pcap" "$TMP/fwsyn.out.pcap" \
	"$SCRIPTS/firewall.lua" "$SCRIPTS/firewall.rules"
grep -q '^firewall: core 0: 2 flows: 1 dropped, 1 accepted (1 matched no rule); 10 packets dropped, 2 repeated SYNs not counted$' \
	"$TMP/fwsyn.out" || fail "repeated SYNs: $(tail -1 "$TMP/fwsyn.out")"
step "firewall: a bad rule stops the script"
printf 'ACCEPT 10.0.0.0/24 10.0.0.1\nDROP 10.0.0.0/33 10.0.0.1\n' >"$TMP/bad.rules"
rc=$(run_status "$TMP/fwbad" run_moonbox -r "$TMP/fwsyn.pcap" \
	"$SCRIPTS/firewall.lua" "$TMP/bad.rules")
[ "$rc" != 0 ] || fail "firewall.lua accepted a /33"
grep -q "bad.rules:2: bad prefix" "$TMP/fwbad.err" ||
	fail "no line number: $(cat "$TMP/fwbad.err")"

# -- nat --------------------------------------------------------------------

NAT=192.0.2.1
step "nat: one core, 3 rounds over a pool of 8 ports (reuse order)"
"$PY" "$GEN" nat "$TMP/nat1.pcap" "$TMP/nat1.man" --nat-ip $NAT \
	--ports 20000-20007 --flows 6 --rounds 3 || fail "scripts_gen.py nat"
policy nat1 1 "$TMP/nat1.pcap" "$TMP/nat1.out.pcap" "$SCRIPTS/nat.lua" \
	$NAT 20000-20007
"$PY" "$CHK" nat "$TMP/nat1.man" "$TMP/nat1.pcap" "$TMP/nat1.out.pcap" \
	--ordered || fail "nat, one core"
checksums_ok "$TMP/nat1.out.pcap"
grep -q "18 flows translated, 0 refused" "$TMP/nat1.out" ||
	fail "nat summary: $(cat "$TMP/nat1.out")"

step "nat: pool exhaustion drops and counts"
"$PY" "$GEN" nat "$TMP/nat2.pcap" "$TMP/nat2.man" --nat-ip $NAT \
	--ports 20000-20003 --flows 6 || fail "scripts_gen.py nat"
policy nat2 1 "$TMP/nat2.pcap" "$TMP/nat2.out.pcap" "$SCRIPTS/nat.lua" \
	$NAT 20000-20003
"$PY" "$CHK" nat "$TMP/nat2.man" "$TMP/nat2.pcap" "$TMP/nat2.out.pcap" \
	--ordered || fail "nat, exhaustion"
grep -q "4 flows translated, 2 refused (no port), 32 packets translated, 4 dropped, 0 errors" \
	"$TMP/nat2.out" || fail "nat summary: $(cat "$TMP/nat2.out")"
assert_eq "$(json_get "$TMP/nat2.json" dropped_by_policy)" 4 "nat drops"

step "nat: default pool, 200 flows, one core"
"$PY" "$GEN" nat "$TMP/nat3.pcap" "$TMP/nat3.man" --nat-ip $NAT \
	--flows 200 || fail "scripts_gen.py nat"
policy nat3 1 "$TMP/nat3.pcap" "$TMP/nat3.out.pcap" "$SCRIPTS/nat.lua" $NAT
"$PY" "$CHK" nat "$TMP/nat3.man" "$TMP/nat3.pcap" "$TMP/nat3.out.pcap" \
	--ordered || fail "nat, 200 flows"
checksums_ok "$TMP/nat3.out.pcap"

step "nat: two cores, replies come back to the flow's core"
"$PY" "$GEN" natlearn "$TMP/natl.pcap" --flows 200 || fail "natlearn"
policy natl 2 "$TMP/natl.pcap" "$TMP/natl.out.pcap" "$SCRIPTS/nat.lua" $NAT
"$PY" "$CHK" natlearn "$TMP/natl.pcap" "$TMP/natl.out.pcap" $NAT \
	"$TMP/natl.ports" >/dev/null || fail "learning the ports"
"$PY" "$GEN" nat "$TMP/nat4.pcap" "$TMP/nat4.man" --nat-ip $NAT \
	--flows 200 --learned "$TMP/natl.ports" || fail "scripts_gen.py nat"
policy nat4 2 "$TMP/nat4.pcap" "$TMP/nat4.out.pcap" "$SCRIPTS/nat.lua" $NAT
"$PY" "$CHK" nat "$TMP/nat4.man" "$TMP/nat4.pcap" "$TMP/nat4.out.pcap" ||
	fail "nat, two cores"
checksums_ok "$TMP/nat4.out.pcap"
assert_eq "$(json_get "$TMP/nat4.json" orphans)" 0 "replies that found no flow"
[ "$(json_get "$TMP/nat4.json" cores.0.flows_created)" -gt 0 ] &&
	[ "$(json_get "$TMP/nat4.json" cores.1.flows_created)" -gt 0 ] ||
	fail "both cores should carry flows"

# -- midstat ----------------------------------------------------------------

"$PY" "$GEN" midstat "$TMP/ms.pcap" "$TMP/ms.json" || fail "scripts_gen.py midstat"
step "midstat: per-second tables of the capture's clock, one core"
policy ms1 1 "$TMP/ms.pcap" - "$SCRIPTS/midstat.lua"
"$PY" "$CHK" midstat "$TMP/ms.json" "$TMP/ms1.out" --seconds || fail "midstat"
step "midstat: two cores"
policy ms2 2 "$TMP/ms.pcap" - "$SCRIPTS/midstat.lua"
"$PY" "$CHK" midstat "$TMP/ms.json" "$TMP/ms2.out" || fail "midstat, 2 cores"
step "midstat: idle timeout"
policy ms3 1 "$TMP/ms.pcap" - --timeout 2 "$SCRIPTS/midstat.lua"
"$PY" "$CHK" midstat "$TMP/ms.json" "$TMP/ms3.out" --timeout ||
	fail "midstat, timeout"
step "midstat: a time stamp ten years ahead costs an hour of tables, C as Lua"
# Before, the packet clock ran the one-second timer through every second of
# the ten years: 315 million tables, hours, and deaf to SIGINT.
time_jump "$TMP/ms.pcap" "$TMP/msjump.pcap" $((10 * 365 * 86400)) \
	$(( $(pcap_count "$TMP/ms.pcap") / 2 )) >/dev/null
policy msj 1 "$TMP/msjump.pcap" - "$SCRIPTS/midstat.lua"
policy msjc 1 "$TMP/msjump.pcap" - --plugin "${MB_BUILD:?}/scripts/c/midstat.so"
n=$(grep -c '^midstat: core 0, second [0-9]*: ' "$TMP/msj.out")
[ "$n" -ge 3600 ] && [ "$n" -le 3610 ] || fail "midstat: $n tables for the jump"
assert_eq "$(grep -c '^midstat: core 0, second [0-9]* (after a pause): ' "$TMP/msj.out")" 1 \
	"tables after the pause"
# The C plugin adds a line for all cores.
diff <(grep -v '^midstat: all cores' "$TMP/msjc.out") "$TMP/msj.out" >/dev/null ||
	fail "midstat: C and Lua differ on the jump"
step "firewall: the ten-year jump, Lua and C alike"
policy fwj 1 "$TMP/msjump.pcap" - "$SCRIPTS/firewall.lua" "$RULES"
n=$(grep -c '^firewall: core 0, second [0-9]*$' "$TMP/fwj.out")
[ "$n" -ge 3600 ] && [ "$n" -le 3610 ] || fail "firewall: $n tables for the jump"
assert_eq "$(grep -c '^firewall: core 0, second [0-9]* (after a pause)$' "$TMP/fwj.out")" 1 \
	"firewall: tables after the pause"
policy fwjc 1 "$TMP/msjump.pcap" - --plugin "${MB_BUILD:?}/scripts/c/firewall.so" \
	--plugin-arg "rules=$RULES"
assert_eq "$(grep -c '^Firewall rule table$' "$TMP/fwjc.out")" \
	"$(grep -c '^Firewall rule table$' "$TMP/fwj.out")" "firewall: C's tables"
step "firewall: a table per second of capture time"
policy fwsec 1 "$TMP/ms.pcap" - "$SCRIPTS/firewall.lua" "$RULES"
assert_eq "$(grep -c '^firewall: core 0, second [1-7]$' "$TMP/fwsec.out")" 7 \
	"per-second tables"
assert_eq "$(grep -c '^Firewall rule table$' "$TMP/fwsec.out")" 8 \
	"tables, with the final one"
step "midstat: flows of a large capture"
policy ms4 2 "$TMP/sd31.pcap" - "$SCRIPTS/midstat.lua"
assert_eq "$(sum_field "$TMP/ms4.out" '.*: \([0-9]*\) flows seen.*')" \
	"$(json_get "$TMP/ms4.json" flows_created)" "flows seen"

# -- http_log ---------------------------------------------------------------

cap="$TMP/http.pcap"
"$MKPCAP" http "$cap" --conns 400 --seed 8 2>/dev/null
"$PY" "$CHK" http-oracle "$cap" 80 8080 3128 8088 >"$TMP/http.want" ||
	fail "tshark oracle"
assert_eq "$(wc -l <"$TMP/http.want")" 400 "tshark's requests"
for cores in 1 2; do
	step "http_log: mkpcap http against tshark, $cores core(s)"
	policy http$cores $cores "$cap" - "$SCRIPTS/http_log.lua" \
		"$TMP/http$cores.log"
	sort "$TMP/http$cores.log" | diff - "$TMP/http.want" >/dev/null ||
		fail "http_log: $(sort "$TMP/http$cores.log" | diff - "$TMP/http.want" | head -4)"
done
for seed in 1 2; do
	"$PY" "$GEN" http "$TMP/hp$seed.pcap" "$TMP/hp$seed.want" --seed $seed ||
		fail "scripts_gen.py http"
	for cores in 1 2; do
		step "http_log: pipelined and split, seed $seed, $cores core(s), stdout"
		n=hp$seed-$cores
		policy $n $cores "$TMP/hp$seed.pcap" - "$SCRIPTS/http_log.lua"
		grep -v '^http_log: core' "$TMP/$n.out" | sort |
			diff - "$TMP/hp$seed.want" >/dev/null ||
			fail "http_log: $(grep -v '^http_log:' "$TMP/$n.out" | sort | diff - "$TMP/hp$seed.want" | head -4)"
		# The capture's one flow that is not HTTP.
		assert_eq "$(sum_field "$TMP/$n.out" '.* \([0-9]*\) not HTTP.*')" 1 \
			"directions given up"
	done
done
echo "ok"
