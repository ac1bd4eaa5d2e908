#!/bin/bash
# test_passthrough.sh - moonbox with an empty policy is a wire: every frame
# of a capture comes out unchanged and with its time stamp (malformed ones
# included), the counters account for each frame, and --drop-malformed,
# --passive and -c 2 change exactly what they should; -r's own reader
# gives the engine what libpcap gives it. Also the exit status and message
# of the common user errors.
# The expected outputs never come from moonbox itself: they are the
# inputs, mkpcap's --valid-only twin of the hostile capture, or what
# libpcap (net_pcap's rx_pcap) reads.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

: >empty.lua

# The ordinary counters of a run over IN.pcap that forwarded everything.
check_forwarded_all() {
	local in=$1 stats=$2 n

	n=$(pcap_count "$in")
	assert_eq "$(json_get "$stats" rx_packets)" "$n" "$in: rx_packets"
	assert_eq "$(json_get "$stats" tx_packets)" "$n" "$in: tx_packets"
	assert_eq "$(json_get "$stats" rx_nombuf)" 0 "$in: rx_nombuf"
	check_conservation "$stats"
}

# out_is_in IN OUT WHAT: OUT holds IN's frames, each with its time stamp.
out_is_in() {
	"$PCAPCMP" "$1" "$2" || fail "$3: output differs from input"
	same_times "$1" "$2" || fail "$3: time stamps differ from input"
}

step "generate captures"
"$MKPCAP" flows flows.pcap --conns 12 --seed 5 --reorder 0.1 --rexmit 0.1 \
	--overlap 0.1 --rst 0.2 --wrap
"$MKPCAP" hostile hostile.pcap --manifest hostile.man
"$MKPCAP" hostile valid.pcap --valid-only
nflows=$(pcap_count flows.pcap)
[ "$nflows" -ge 200 ] || fail "flows.pcap has only $nflows frames"
nhost=$(pcap_count hostile.pcap)
assert_eq "$nhost" "$(awk '$1 == "frames" { print $2 }' hostile.man)" \
	"hostile manifest frames"
nmal=$(awk '$1 == "malformed" { print $2 }' hostile.man)
[ "$nmal" -gt 0 ] || fail "hostile.pcap has no malformed frames"
# The expected --drop-malformed output really is the input minus the
# malformed frames.
assert_eq "$(pcap_count valid.pcap)" "$((nhost - nmal))" "valid.pcap frames"

step "flows: output = input"
rc=$(run_status r1 run_moonbox -r flows.pcap -w out1.pcap --stats s1.json \
	empty.lua)
assert_eq "$rc" 0 "exit status (stderr: $(cat r1.err))"
out_is_in flows.pcap out1.pcap flows
check_forwarded_all flows.pcap s1.json
assert_eq "$(json_get s1.json tcp_packets)" "$nflows" "flows: tcp_packets"
assert_eq "$(json_get s1.json malformed)" 0 "flows: malformed"

step "hostile: output = input, classes as in the manifest"
rc=$(run_status r2 run_moonbox -r hostile.pcap -w out2.pcap --stats s2.json \
	empty.lua)
assert_eq "$rc" 0 "exit status (stderr: $(cat r2.err))"
out_is_in hostile.pcap out2.pcap hostile
check_forwarded_all hostile.pcap s2.json
check_counters s2.json hostile.man
assert_eq "$(json_get s2.json dropped_malformed)" 0 "hostile: dropped_malformed"

step "hostile --drop-malformed: output = input minus the malformed frames"
rc=$(run_status r3 run_moonbox -r hostile.pcap -w out3.pcap --stats s3.json \
	--drop-malformed empty.lua)
assert_eq "$rc" 0 "exit status (stderr: $(cat r3.err))"
"$PCAPCMP" valid.pcap out3.pcap || fail "--drop-malformed: wrong output"
assert_eq "$(json_get s3.json rx_packets)" "$nhost" "drop: rx_packets"
assert_eq "$(json_get s3.json tx_packets)" "$((nhost - nmal))" "drop: tx_packets"
assert_eq "$(json_get s3.json dropped_malformed)" "$nmal" \
	"drop: dropped_malformed"
assert_eq "$(json_get s3.json rx_nombuf)" 0 "drop: rx_nombuf"
check_counters s3.json hostile.man
check_conservation s3.json

step "--passive: nothing out"
rc=$(run_status r4 run_moonbox -r flows.pcap -w out4.pcap --stats s4.json \
	--passive empty.lua)
assert_eq "$rc" 0 "exit status (stderr: $(cat r4.err))"
assert_eq "$(pcap_count out4.pcap)" 0 "--passive: frames written"
assert_eq "$(json_get s4.json rx_packets)" "$nflows" "passive: rx_packets"
assert_eq "$(json_get s4.json tx_packets)" 0 "passive: tx_packets"
assert_eq "$(json_get s4.json dropped_passive)" "$nflows" \
	"passive: dropped_passive"
assert_eq "$(json_get s4.json rx_nombuf)" 0 "passive: rx_nombuf"
check_conservation s4.json

step "-r from a pipe or a named pipe: read by libpcap as it comes"
# ("-" is the standard input; a pipe cannot be read twice, so moonbox does
# not open it before net_pcap does.)
rc=$(cat flows.pcap | run_status rp run_moonbox -r - -w outp.pcap \
	--stats sp.json empty.lua)
assert_eq "$rc" 0 "pipe: exit status (stderr: $(cat rp.err))"
out_is_in flows.pcap outp.pcap pipe
check_forwarded_all flows.pcap sp.json
rc=$(echo "not a capture" | run_status rp2 run_moonbox -r - empty.lua)
assert_eq "$rc" 1 "pipe of garbage: exit status"
# Its link type is checked as a file's is, without taking the header out
# of the pipe: a capture of another link type (tcpdump -i any writes
# Linux cooked frames), piped or redirected, stops the run; an Ethernet
# one whose header comes in two pieces a second apart still runs whole.
editcap -T linux-sll flows.pcap sll.pcap
editcap -F pcapng -T linux-sll flows.pcap sll.pcapng
for f in sll.pcap sll.pcapng; do
	# (Not cat | moonbox: cat's SIGPIPE would fail the pipeline.)
	rc=$(run_status rp3 run_moonbox -r - empty.lua < <(cat $f))
	assert_eq "$rc" 1 "$f piped: exit status"
	grep -q "link type LINUX_SLL is not supported" rp3.err ||
		fail "$f piped: $(cat rp3.err)"
done
rc=$(run_status rp4 run_moonbox -r - empty.lua <sll.pcap)
assert_eq "$rc" 1 "sll.pcap redirected: exit status"
grep -q "link type LINUX_SLL is not supported" rp4.err ||
	fail "sll.pcap redirected: $(cat rp4.err)"
rc=$( (head -c 10 flows.pcap; sleep 1; tail -c +11 flows.pcap) |
	run_status rp5 run_moonbox -r - -w outp5.pcap empty.lua)
assert_eq "$rc" 0 "pipe, header in two pieces: exit status ($(cat rp5.err))"
out_is_in flows.pcap outp5.pcap "pipe, header in two pieces"
# A named pipe is checked too (it was not: an SLL one ran with status 0).
# moonbox holds its own end open until net_pcap has opened one, so the
# writer, who may pause mid-header, never finds the pipe without a reader.
# (The writers are timed: should moonbox never open the pipe, they end.)
mkfifo np
timeout 30 sh -c 'cat sll.pcap >np' 2>/dev/null &
rc=$(run_status rp6 run_moonbox -r np empty.lua)
assert_eq "$rc" 1 "named pipe of sll.pcap: exit status"
grep -q "link type LINUX_SLL is not supported" rp6.err ||
	fail "named pipe of sll.pcap: $(cat rp6.err)"
wait
timeout 30 sh -c \
	'(head -c 10 flows.pcap; sleep 1; tail -c +11 flows.pcap) >np' &
rc=$(run_status rp7 run_moonbox -r np -w outp7.pcap empty.lua)
assert_eq "$rc" 0 "named pipe: exit status ($(cat rp7.err))"
out_is_in flows.pcap outp7.pcap "named pipe, header in two pieces"
wait $! || fail "named pipe: the writer failed"
# A capture the pipe holds whole: its writer is gone before net_pcap (and
# -r's file check) open the pipe, which must not wait for another writer
# (it did: killed here after 30 s).
editcap -r flows.pcap few.pcap 1-5
timeout 30 sh -c 'cat few.pcap >np' &
rc=$(run_status rp8 timeout -s KILL 30 "$MOONBOX" --no-progress -r np \
	-w outp8.pcap empty.lua)
assert_eq "$rc" 0 "named pipe, writer gone: exit status ($(cat rp8.err))"
out_is_in few.pcap outp8.pcap "named pipe, writer gone"
assert_eq "$(pcap_count outp8.pcap)" 5 "named pipe, writer gone: frames out"
wait $! || fail "named pipe, writer gone: the writer failed"
# "-" is the standard input, also beside a file named "-" (which -r reads
# itself).
mkdir -p dash && cp few.pcap dash/-
rc=$(cd dash && run_status ../rp9 run_moonbox -r - -w ../outp9.pcap \
	../empty.lua <../flows.pcap)
assert_eq "$rc" 0 "-r - beside a file '-': exit status ($(cat rp9.err))"
out_is_in flows.pcap outp9.pcap "-r - beside a file '-'"
# One SIGINT ends the wait for a writer (it took two: the first restarted
# the open), as for the first bytes of a pipe; the status is 128 + SIGINT.
"$MOONBOX" --no-progress -r np empty.lua >rp10.out 2>rp10.err &
pid=$!
sleep 2
stop_within "$pid" INT "waiting for a named pipe's writer"
assert_eq "$STOP_RC" 130 "named pipe without a writer, SIGINT: exit status"
mkfifo np2
sleep 60 >np2 &
writer=$!
"$MOONBOX" --no-progress -r - empty.lua <np2 >rp11.out 2>rp11.err &
pid=$!
sleep 2
stop_within "$pid" INT "waiting for a pipe's header"
kill "$writer"
assert_eq "$STOP_RC" 130 "pipe without a header, SIGINT: exit status"

step "-c 2 and 3: the same frames, in the input's order"
for in in flows hostile; do
	rc=$(run_status r5$in run_moonbox -r $in.pcap -w out5$in.pcap \
		--stats s5$in.json -c 2 empty.lua)
	assert_eq "$rc" 0 "-c 2 $in: exit status (stderr: $(cat r5$in.err))"
	out_is_in $in.pcap out5$in.pcap "-c 2 $in"
	check_forwarded_all $in.pcap s5$in.json
	check_cores_sum s5$in.json
	assert_eq "$(json_get s5$in.json cores)" 2 "-c 2 $in: cores reported"
done
check_counters s5hostile.json hostile.man
# The distributor stages what each worker hands back; with a stage of 4
# frames it is full at once, and frames a full stage left in a worker's
# ring must still go out in their place (they once went out after later
# frames of the other worker).
export MOONBOX_TEST_DIST_STAGE=4
for in in flows hostile; do
	rc=$(run_status r5s$in run_moonbox -r $in.pcap -w out5s$in.pcap -c 2 \
		empty.lua)
	assert_eq "$rc" 0 "-c 2 $in, small stage: exit status"
	out_is_in $in.pcap out5s$in.pcap "-c 2 $in, small stage"
done
unset MOONBOX_TEST_DIST_STAGE
# Twelve connections: a distributor that spreads flows gives both cores some.
for c in 0 1; do
	[ "$(json_get s5flows.json cores.$c.rx_packets)" -gt 0 ] ||
		fail "-c 2: core $c received nothing"
done
# A policy that drops (firewall.lua) and 3 cores on the bench's traffic:
# the output of one core, frame for frame.
"$MKPCAP" http http.pcap --conns 300 >/dev/null
for c in 1 3; do
	rc=$(run_status r5f$c run_moonbox -r http.pcap -w out5f$c.pcap -c $c \
		"$MB_SRC/scripts/firewall.lua" "$MB_SRC/scripts/firewall.rules")
	assert_eq "$rc" 0 "-c $c firewall.lua: exit status ($(cat r5f$c.err))"
done
[ "$(pcap_count out5f1.pcap)" -lt "$(pcap_count http.pcap)" ] ||
	fail "firewall.lua dropped nothing"
out_is_in out5f1.pcap out5f3.pcap "-c 3 firewall.lua"

step "--cycles: each core's loop time, by activity"
# Off by default. On, every core received, transmitted and did other work
# in its busy iterations, and its counted time fits in the run's wall-clock
# time, which the main thread measures with its own clock.
for k in busy rx tx idle; do
	assert_eq "$(json_get s1.json cycles_$k)" 0 "no --cycles: cycles_$k"
done
rc=$(run_status r6 run_moonbox -r flows.pcap -w out6.pcap --stats s6.json \
	-c 2 --cycles empty.lua)
assert_eq "$rc" 0 "--cycles: exit status (stderr: $(cat r6.err))"
"$PCAPCMP" flows.pcap out6.pcap ||
	fail "--cycles: output is not the input's frames"
check_forwarded_all flows.pcap s6.json
check_cores_sum s6.json
"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
hz, wall = s["tsc_hz"], s["run_seconds"]
if hz <= 0:
    sys.exit("tsc_hz %r" % hz)
for i, c in enumerate(s["cores"]):
    b, r, t, i_ = (c["cycles_" + k] for k in ("busy", "rx", "tx", "idle"))
    if not (r > 0 and t > 0 and r + t < b):
        sys.exit("core %d: busy %d, rx %d, tx %d" % (i, b, r, t))
    if (b + i_) / hz > wall * 1.02 + 0.005:
        sys.exit("core %d: %.4f s counted in a run of %.4f s" %
                 (i, (b + i_) / hz, wall))
' s6.json || fail "--cycles counters of s6.json"

step "-r reads the file itself: what libpcap reads, in every layout"
# moonbox reads a pcap file itself (engine/capfile.c, a window of 256 KiB
# at a time: win.pcap puts the window's end at every kind of place in a
# record, ng_win.pcapng holds the same frames); a
# --port net_pcap0,rx_pcap=FILE reads it through libpcap. Both must give
# the engine the same frames at the same times: the same output, the same
# events (with idle timeouts, which come from the time stamps) and the
# same counters. The variants: both byte orders, nanoseconds, a jumbo
# frame (a chain of buffers), records cut by the snapshot length, records
# longer than the header's snapshot length, a last record cut short, two
# records with hostile lengths; pcapng as editcap writes it, and pcapng
# files written by capfile_variants.py with what editcap does not write
# (both byte orders, other time stamp units and offsets, several
# interfaces and sections, obsolete and simple packet blocks, blocks to
# skip, a last block cut short).
"$PY" "$(dirname "$0")/capfile_variants.py" flows.pcap 9000 "$TMP"
editcap -F pcapng le_us.pcap ng.pcapng
editcap -F pcapng win.pcap ng_win.pcapng
for v in le_us be_ns trunc oversnap cut bogus bogus2 ng ng_le ng_be ng_res7 \
	ng_spb ng_cut win ng_win; do
	f=$v.pcap
	[ -f $v.pcapng ] && f=$v.pcapng
	for how in own pcap; do
		if [ $how = own ]; then
			src=(-r $f -w $v-$how.pcap)
		else
			src=(--port "net_pcap0,rx_pcap=$f,tx_pcap=$v-$how.pcap")
		fi
		rc=$(run_status r7$v$how run_moonbox -v --timeout 1 "${src[@]}" \
			--stats $v-$how.json --plugin "$MB_PLUGINS/trace.so" \
			--plugin-arg out="$TMP/$v-$how.trace" --plugin-arg ts)
		assert_eq "$rc" 0 "$v $how: exit status (stderr: $(cat r7$v$how.err))"
	done
	grep -qF "$f: read by moonbox" r7${v}own.err ||
		fail "$v: -r did not read it itself: $(grep read r7${v}own.err)"
	"$PCAPCMP" $v-pcap.pcap $v-own.pcap || fail "$v: outputs differ"
	same_times $f $v-own.pcap || fail "$v: -w changed the time stamps"
	cmp -s $v-pcap.trace.0 $v-own.trace.0 || fail "$v: events differ"
	grep -q TIMEOUT $v-own.trace.0 || fail "$v: no idle timeout"
	"$PY" - $v-pcap.json $v-own.json <<'PY' || fail "$v: counters differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
d = [k for k in a if k not in ("run_seconds", "tsc_hz", "cores")
     and a[k] != b[k]]
assert not d, [(k, a[k], b[k]) for k in d]
PY
done
# net_pcap's dumper (the --port runs) stamps the time it writes a frame:
# the check above tells the difference.
same_times le_us.pcap le_us-pcap.pcap &&
	fail "le_us: net_pcap's dumper kept the time stamps"
# All of le_us.pcap's frames came out, up to a cut or hostile record, and
# (by tshark) the jumbo one whole.
assert_eq "$(pcap_count le_us-own.pcap)" "$((nflows + 1))" "le_us: frames out"
assert_eq "$(pcap_count cut-own.pcap)" "$nflows" "cut: frames out"
assert_eq "$(pcap_count bogus-own.pcap)" 100 "bogus: frames out"
assert_eq "$(pcap_count ng_le-own.pcap)" "$((nflows + 1))" "ng_le: frames out"
assert_eq "$(pcap_count ng_cut-own.pcap)" "$nflows" "ng_cut: frames out"
for v in win ng_win; do
	assert_eq "$(pcap_count $v-own.pcap)" "$(pcap_count win.pcap)" \
		"$v: frames out"
done
# These pcapng files hold le_us.pcap's frames.
for v in ng ng_le ng_be ng_res7; do
	"$PCAPCMP" le_us-own.pcap $v-own.pcap || fail "$v: frames differ"
done
# -w keeps what tshark reads in each input record: its time stamp (to the
# nanosecond from a file in units finer than the microsecond, which makes
# the output a nanosecond file) and its length where the capture cut the
# frame short (trunc: a snapshot length of 60; ng_spb: simple packet
# blocks cut to 200 bytes).
editcap -F pcapng be_ns.pcap ngns.pcapng
rc=$(run_status r7ngns run_moonbox -r ngns.pcapng -w ngns-own.pcap empty.lua)
assert_eq "$rc" 0 "ngns: exit status (stderr: $(cat r7ngns.err))"
# records FILE DIGITS: each Ethernet frame's time (to DIGITS decimals),
# length and captured length, as tshark reads them. (tshark also lists
# pcapng blocks of unknown types, which libpcap skips; a simple packet
# block has no time, which libpcap reads as 0.)
records() {
	tshark -r "$1" -T fields -e frame.time_epoch -e frame.len \
		-e frame.cap_len -e frame.encap_type 2>/dev/null |
		awk -F '\t' -v d="$2" '$4 == 1 {
			split($1 == "" ? "0.000000000" : $1, t, ".");
			print t[1] "." substr(t[2], 1, d), $2, $3 }'
}
for v in le_us:6 be_ns:9 trunc:6 ng:6 ng_le:9 ng_be:9 ng_res7:9 ng_spb:6 \
	ngns:9; do
	f=${v%:*}.pcap
	[ -f ${v%:*}.pcapng ] && f=${v%:*}.pcapng
	records $f ${v#*:} >want.txt
	records ${v%:*}-own.pcap ${v#*:} >got.txt
	[ "$(wc -l <want.txt)" -ge 200 ] || fail "$v: tshark read too little"
	cmp -s want.txt got.txt || fail "$v: -w's records differ:" \
		"$(diff want.txt got.txt | head -3)"
done
records trunc.pcap 6 | awk '$2 > $3 { n++ } END { exit n < 100 }' ||
	fail "trunc: too few cut records to check"
for v in be_ns ngns ng_le ng_be ng_res7; do
	assert_eq "$(od -An -tx1 -N4 $v-own.pcap | tr -d ' ')" 4d3cb2a1 \
		"$v: -w's output in nanoseconds"
done
assert_eq "$(od -An -tx1 -N4 le_us-own.pcap | tr -d ' ')" d4c3b2a1 \
	"le_us: -w's output in microseconds"
# Where libpcap fails mid-file, -r's input ends. (net_pcap's reader would
# go on with the next block after a packet that was not the first of its
# burst: libpcap reads a bad block whole before failing on it.)
rc=$(run_status r7bad run_moonbox -r ng_bad.pcapng -w ng_bad-own.pcap \
	--stats ng_bad.json empty.lua)
assert_eq "$rc" 0 "ng_bad: exit status (stderr: $(cat r7bad.err))"
assert_eq "$(pcap_count ng_bad-own.pcap)" 100 "ng_bad: frames out"
check_conservation ng_bad.json
tshark -r le_us-own.pcap -T fields -e frame.len 2>/dev/null | tail -1 |
	grep -qx 9000 || fail "le_us: the jumbo frame did not come out whole"

step "a frame over 64 KiB: -r forwards it; net_pcap's reader breaks it, dropped"
# net_pcap's own reader keeps 16 bits of such a record's length in the
# buffers it fills; transmitting them read beyond the chain (a crash, before
# the engine checked chains). -r's reader hands it over whole.
rc=$(run_status r8 run_moonbox -r huge.pcap -w huge-own.pcap --stats h1.json \
	empty.lua)
assert_eq "$rc" 0 "huge -r: exit status (stderr: $(cat r8.err))"
assert_eq "$(json_get h1.json tx_packets)" 2 "huge -r: tx_packets"
assert_eq "$(json_get h1.json unanalysed)" 1 "huge -r: unanalysed"
check_conservation h1.json
# -w writes it whole (net_pcap's dumper cut frames to 16 128 bytes).
out_is_in huge.pcap huge-own.pcap "huge -r"
assert_eq "$(tshark -r huge-own.pcap -T fields -e frame.cap_len 2>/dev/null |
	head -1)" 70000 "huge -r: the frame's length out (tshark)"
rc=$(run_status r8ng run_moonbox -r ng_huge.pcapng -w ng_huge-own.pcap \
	--stats h1ng.json empty.lua)
assert_eq "$rc" 0 "ng_huge -r: exit status (stderr: $(cat r8ng.err))"
assert_eq "$(json_get h1ng.json tx_packets)" 2 "ng_huge -r: tx_packets"
assert_eq "$(json_get h1ng.json unanalysed)" 1 "ng_huge -r: unanalysed"
check_conservation h1ng.json
rc=$(run_status r9 run_moonbox --port \
	"net_pcap0,rx_pcap=huge.pcap,tx_pcap=huge-pcap.pcap" --stats h2.json \
	empty.lua)
assert_eq "$rc" 0 "huge --port: exit status (stderr: $(cat r9.err))"
assert_eq "$(json_get h2.json dropped_bad_chain)" 1 "huge --port: dropped"
assert_eq "$(json_get h2.json tx_packets)" 1 "huge --port: tx_packets"
check_conservation h2.json
# With -c 2 the distributor sees the frame first: a fragment it would offer
# to IPv4 reassembly, were it not chained (the distributor reassembles
# single-buffer frames only; the worker's check then drops it).
rc=$(run_status r10 run_moonbox -c 2 --port \
	"net_pcap0,rx_pcap=fraghuge.pcap,tx_pcap=fraghuge-pcap.pcap" \
	--stats h3.json empty.lua)
assert_eq "$rc" 0 "fraghuge -c 2: exit status (stderr: $(cat r10.err))"
assert_eq "$(json_get h3.json dropped_bad_chain)" 1 "fraghuge -c 2: dropped"
assert_eq "$(json_get h3.json tx_packets)" 1 "fraghuge -c 2: tx_packets"
check_conservation h3.json

step "damaged pcapng files: -r reads what libpcap (tcpdump) reads"
# The pcapng fuzz corpus (tests/fuzz/corpus/pcapng: files the fuzzer
# derived from valid ones, damaged in every field) and the damaged
# variants above. Where tcpdump cannot open a file, moonbox says so and
# exits 1; otherwise it exits 0 and forwards exactly the frames tcpdump
# reads before the end or the first error.
n=0
for f in ng_cut.pcapng ng_bad.pcapng ng_trailer.pcapng \
	"${MB_SRC:-$(dirname "$0")/../..}"/tests/fuzz/corpus/pcapng/*; do
	n=$((n + 1))
	# tcpdump fails on a damaged block after writing what it read.
	t=$(tcpdump -n -r "$f" -w dmg-t.pcap 2>&1 || true)
	t=${t%%$'\n'*}
	# The smallest pool: these files hold 150 frames at most, and
	# filling the default one's pages took half of each run's time.
	rc=$(run_status dmg run_moonbox --mbufs 1024 -r "$f" -w dmg-m.pcap \
		--stats dmg.json empty.lua)
	case $t in
	"reading from file"*"link-type EN10MB"*)
		assert_eq "$rc" 0 "$f: exit status (stderr: $(cat dmg.err))"
		"$PCAPCMP" dmg-t.pcap dmg-m.pcap ||
			fail "$f: frames differ from tcpdump's"
		same_times dmg-t.pcap dmg-m.pcap ||
			fail "$f: time stamps differ from tcpdump's"
		check_conservation dmg.json
		;;
	*)
		assert_eq "$rc" 1 "$f: exit status (tcpdump: $t)"
		;;
	esac
done
[ "$n" -ge 100 ] || fail "only $n files in the pcapng corpus"
# (The variant really is damaged where it was meant to be.)
tcpdump -r ng_trailer.pcapng -w dmg-t.pcap 2>/dev/null || true
assert_eq "$(pcap_count dmg-t.pcap)" 150 "ng_trailer: frames tcpdump reads"

step "user errors"
rc=$(run_status e1 run_moonbox -r "$TMP/missing.pcap" empty.lua)
assert_eq "$rc" 1 "missing capture: exit status"
assert_eq "$(wc -l <e1.err)" 1 "missing capture: lines on stderr"
grep -qF "$TMP/missing.pcap" e1.err ||
	fail "missing capture: message does not name the file: $(cat e1.err)"

rc=$(run_status e2 run_moonbox --no-such-option -r flows.pcap empty.lua)
assert_eq "$rc" 2 "unknown option: exit status"

rc=$(run_status e3 run_moonbox -w out.pcap empty.lua)
assert_eq "$rc" 2 "-w without -r: exit status"

printf 'this is not a capture\n' >garbage.pcap
rc=$(run_status e4 run_moonbox -r garbage.pcap empty.lua)
assert_eq "$rc" 1 "non-pcap input: exit status"
grep -qF garbage.pcap e4.err ||
	fail "non-pcap input: message does not name the file: $(cat e4.err)"

# An output that cannot be written whole: said, the exit status is 1, and
# the run ends there (the rest would be lost too).
"$MKPCAP" http big.pcap --conns 5000 >/dev/null
rc=$(run_status e6 run_moonbox -r big.pcap -w /dev/full --stats e6.json \
	empty.lua)
assert_eq "$rc" 1 "-w /dev/full: exit status"
grep -qF "cannot write '/dev/full'" e6.err ||
	fail "-w /dev/full: no message: $(cat e6.err)"
[ "$(json_get e6.json rx_packets)" -lt "$(pcap_count big.pcap)" ] ||
	fail "-w /dev/full: the run went on to the end of the input"
check_conservation e6.json
# -w - is the standard output; a reader that goes away ends the run the
# same way (not a SIGPIPE).
rc=$(run_status e6s run_moonbox -r flows.pcap -w - empty.lua)
assert_eq "$rc" 0 "-w -: exit status (stderr: $(cat e6s.err))"
out_is_in flows.pcap e6s.out "-w -"
# What a script prints then goes to the standard error, not into the
# capture (midstat.lua prints its tables on the standard output).
rc=$(run_status e6m run_moonbox -r flows.pcap -w - \
	"$MB_SRC/scripts/midstat.lua")
assert_eq "$rc" 0 "-w - midstat.lua: exit status (stderr: $(cat e6m.err))"
out_is_in flows.pcap e6m.out "-w - midstat.lua"
grep -q '^midstat: core 0: 12 flows seen' e6m.err ||
	fail "-w - midstat.lua: its output is not on stderr: $(cat e6m.err)"
rc=$( (run_moonbox -r big.pcap -w - empty.lua 2>e6p.err; echo $? >e6p.rc) |
	head -c 100 | wc -c)
assert_eq "$rc" 100 "-w - | head: bytes read"
assert_eq "$(cat e6p.rc)" 1 "-w - | head: exit status"
grep -qF "cannot write '-'" e6p.err ||
	fail "-w - | head: no message: $(cat e6p.err)"
rc=$(run_status e7 run_moonbox -r flows.pcap -w "$TMP/no/such/dir.pcap" \
	empty.lua)
assert_eq "$rc" 1 "-w into a missing directory: exit status"
grep -qF "$TMP/no/such/dir.pcap" e7.err ||
	fail "-w into a missing directory: message does not name the file"
# -w naming the -r input (here through a link) is refused: writing it
# truncated the file being read.
cp flows.pcap self.pcap
ln -s self.pcap self-link.pcap
rc=$(run_status e9 run_moonbox -r self.pcap -w self-link.pcap empty.lua)
assert_eq "$rc" 1 "-w = -r: exit status"
grep -qF "is the input" e9.err || fail "-w = -r: no message: $(cat e9.err)"
cmp -s flows.pcap self.pcap || fail "-w = -r: the input was changed"
# (net_pcap's device arguments cannot hold a ',', moonbox's writer can.)
rc=$(run_status e8 run_moonbox -r flows.pcap -w "out,8.pcap" empty.lua)
assert_eq "$rc" 0 "-w name with a comma: exit status (stderr: $(cat e8.err))"
"$PCAPCMP" flows.pcap "out,8.pcap" || fail "-w name with a comma: output"

rc=$(run_status e5 run_moonbox --version)
assert_eq "$rc" 0 "--version: exit status"
grep -q moonbox e5.out || fail "--version does not print 'moonbox'"

echo "PASS"
