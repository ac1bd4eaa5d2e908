#!/bin/bash
# test_standalone.sh - standalone programs written like mOS samples
# (tests/standalone/) run against libmoonbox: flowstat with a mos.conf whose
# netdev is a net_pcap vdev, then with MOONBOX_OPTS overriding the config's
# ports, on 1 and 2 cores. Each run must exit 0 at the end of the input,
# print one line per connection whose byte counts are those mkpcap wrote
# (its --expect streams, not moonbox's own view), and forward every frame
# unchanged. Also: the declarations check (mos_decls) builds and runs, both
# programs build outside CMake as a user would, a broken or missing
# mos.conf or a port that cannot start makes mtcp_init() fail with a clear
# message (EINVAL, ENOENT, ENODEV), SIGINT with the program's own handler
# ends a live run, and a live run's counters are written while it runs
# (--stats-interval, SIGUSR1) as the moonbox program writes them, unless
# the program has a SIGUSR1 handler of its own.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

: "${MB_BUILD:?MB_BUILD must be set}"
: "${MB_SRC:?MB_SRC must be set}"
SA="$MB_BUILD/tests/standalone"
FLOWSTAT="$SA/flowstat"
unset MOONBOX_OPTS

# expected_lines DIR: the lines flowstat must print, from mkpcap's stream
# files (SRCIP.SRCPORT-DSTIP.DSTPORT, clients are 10.1.x.x), sorted.
expected_lines() {
	"$PY" -c '
import os, re, sys
d = sys.argv[1]
size = {}
def ip(s):
    return ".".join(str(int(x)) for x in s.split("."))
for f in os.listdir(d):
    m = re.match(r"(\d+\.\d+\.\d+\.\d+)\.(\d+)-(\d+\.\d+\.\d+\.\d+)\.(\d+)$", f)
    if not m:
        sys.exit("unexpected file %s" % f)
    size[(ip(m[1]), int(m[2]), ip(m[3]), int(m[4]))] = \
        os.path.getsize(os.path.join(d, f))
conns = set()
for (a, pa, b, pb) in size:
    if a.startswith("10.1."):
        conns.add((a, pa, b, pb))
    else:
        conns.add((b, pb, a, pa))
for (a, pa, b, pb) in sorted(conns):
    print("conn %s:%d %s:%d c2s %d s2c %d" % (a, pa, b, pb,
          size.get((a, pa, b, pb), 0), size.get((b, pb, a, pa), 0)))
' "$1" | sort
}

# errstr NAME: the C library's message for errno NAME (EINVAL, ...).
errstr() {
	"$PY" -c 'import errno, os, sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$1"
}

# check_run NAME RC IN OUT_PCAP: the run NAME (NAME.out, NAME.err) exited
# 0, printed the expected connections and the timer line once, and wrote
# the input's frames.
check_run() {
	local name=$1 rc=$2 in=$3 out=$4

	assert_eq "$rc" 0 "$name: exit status (stderr: $(cat "$name.err"))"
	grep '^conn ' "$name.out" | sort >"$name.conns"
	diff -u expected.conns "$name.conns" >"$name.diff" ||
		fail "$name: connections differ from the capture's streams:
$(head -20 "$name.diff")"
	assert_eq "$(grep -c '^timer core 0$' "$name.out")" 1 \
		"$name: timer lines"
	assert_eq "$(grep -vc '^conn \|^timer core 0$' "$name.out")" 0 \
		"$name: other output lines"
	"$PCAPCMP" "$in" "$out" || fail "$name: output differs from input"
}

step "the declarations of an mOS program compile against moonbox's headers"
[ -x "$SA/mos_decls" ] || fail "mos_decls was not built"
rc=$(run_status decls "$SA/mos_decls")
assert_eq "$rc" 0 "mos_decls: exit status (stderr: $(cat decls.err))"
grep -q '^32 functions' decls.out || fail "mos_decls: $(cat decls.out)"

step "build the programs as a user would: cc -Wall -Wextra -Werror"
# A sanitizer build's library needs the sanitizers in the program too.
san=()
if sanitizer_build; then
	san=(-fsanitize=address,undefined)
fi
for p in flowstat mos_decls; do
	# Compiling must print nothing; linking is only checked to succeed
	# (the linker warns about libasan's own symbols in sanitizer builds).
	cc -Wall -Wextra -Werror "${san[@]}" -I"$MB_SRC/engine/include" \
		-c "$MB_SRC/tests/standalone/$p.c" -o "user_$p.o" \
		2>"cc_$p.err" || fail "cc $p: $(cat "cc_$p.err")"
	[ ! -s "cc_$p.err" ] || fail "cc $p printed: $(cat "cc_$p.err")"
	cc "${san[@]}" "user_$p.o" -o "user_$p" -L"$MB_BUILD/engine" -lmoonbox \
		-Wl,-rpath,"$MB_BUILD/engine" 2>"ld_$p.err" ||
		fail "link $p: $(cat "ld_$p.err")"
done
rc=$(run_status udecls ./user_mos_decls)
assert_eq "$rc" 0 "user-built mos_decls: exit status (stderr: $(cat udecls.err))"

step "generate a capture and the streams it carries"
"$MKPCAP" flows in.pcap --conns 40 --seed 11 --reorder 0.1 --rexmit 0.1 \
	--overlap 0.1 --expect streams >/dev/null
nframes=$(pcap_count in.pcap)
[ "$nframes" -ge 400 ] || fail "in.pcap has only $nframes frames"
expected_lines streams >expected.conns
assert_eq "$(wc -l <expected.conns)" 40 "connections expected"

# A mos.conf whose only port is a net_pcap vdev reading in.pcap.
write_conf() {
	cat >"$1" <<EOF
############### MOS configuration file ###############
mos {
	forward = 1
	nb_mem_channels = 4
	netdev {
		net_pcap0,rx_pcap=$2,tx_pcap=$3 0x01
	}
	stat_print = net_pcap0
	mos_log = logs/
	arp_table {
	}
	route_table {
	}
	max_concurrency = 4096
	tcp_timeout = 30
}
EOF
}

step "(a) mos.conf with a net_pcap netdev, 1 core"
write_conf a.conf in.pcap out_a1.pcap
rc=$(run_status a1 "$FLOWSTAT" -f a.conf -c 1)
check_run a1 "$rc" in.pcap out_a1.pcap

step "(a) mos.conf with a net_pcap netdev, 2 cores (mtcp_setconf)"
write_conf a2.conf in.pcap out_a2.pcap
rc=$(run_status a2 "$FLOWSTAT" -f a2.conf -c 2)
check_run a2 "$rc" in.pcap out_a2.pcap

step "(b) MOONBOX_OPTS overrides the config's ports"
# The config's port reads a file that does not exist: only MOONBOX_OPTS's
# input may be used.
write_conf b.conf "$TMP/missing.pcap" never.pcap
for c in 1 2; do
	rc=$(MOONBOX_OPTS="-r in.pcap -w out_b$c.pcap --stats s$c.json" \
		run_status b$c "$FLOWSTAT" -f b.conf -c $c)
	check_run b$c "$rc" in.pcap out_b$c.pcap
	[ -s s$c.json ] || fail "b$c: --stats wrote nothing"
	assert_eq "$(json_get s$c.json rx_packets)" "$nframes" "b$c: rx_packets"
	assert_eq "$(json_get s$c.json tx_packets)" "$nframes" "b$c: tx_packets"
	assert_eq "$(json_get s$c.json cores)" $c "b$c: cores"
	[ ! -e never.pcap ] || fail "b$c: the config's port was opened"
done

step "(c) a program that ends without mtcp_destroy(): -w's file is whole"
# The writer buffers a megabyte in a stdio stream, which exit() flushes.
"$MB_MKPCAP" http big.pcap --conns 6000 >/dev/null
[ "$(stat -c %s big.pcap)" -gt $((3 << 20)) ] || fail "big.pcap is too small"
# (It leaves the engine's memory to the exit: not a leak to report.)
rc=$(LSAN_OPTIONS=detect_leaks=0 MOONBOX_OPTS="-r big.pcap -w out_c.pcap" \
	run_status c1 "$FLOWSTAT" -f b.conf -n)
assert_eq "$rc" 0 "-n: exit status (stderr: $(cat c1.err))"
"$PCAPCMP" big.pcap out_c.pcap || fail "-n: output differs from input"

step "a mos.conf with an error: mtcp_init() fails with EINVAL, clearly"
cat >bad.conf <<'EOF'
mos {
	forward = 1
	max_concurrency = lots
}
EOF
rc=$(run_status e1 "$FLOWSTAT" -f bad.conf)
assert_eq "$rc" 1 "bad config: exit status"
grep -q '^moonbox: bad.conf:3: ' e1.err ||
	fail "bad config: no 'moonbox: bad.conf:3:' message: $(cat e1.err)"
grep -qF "Failed to initialize mtcp: $(errstr EINVAL)" e1.err ||
	fail "bad config: mtcp_init's errno is not EINVAL: $(cat e1.err)"
assert_eq "$(grep -c '^conn ' e1.out)" 0 "bad config: output"

step "a missing mos.conf: ENOENT"
rc=$(run_status e2 "$FLOWSTAT" -f "$TMP/none/mos.conf")
assert_eq "$rc" 1 "missing config: exit status"
grep -qF "$TMP/none/mos.conf" e2.err ||
	fail "missing config: message does not name the file: $(cat e2.err)"
grep -qF "Failed to initialize mtcp: $(errstr ENOENT)" e2.err ||
	fail "missing config: mtcp_init's errno is not ENOENT: $(cat e2.err)"

step "ports that cannot start: ENODEV, naming the port"
printf 'mos {\n\tnetdev {\n\t\tnet_pcap0,rx_pcap=%s 0x01\n\t}\n}\n' \
	"$TMP/missing.pcap" >np.conf
# EAL starts before the port fails and its runtime directory stays: give
# it a name of our own, to remove.
rc=$(MOONBOX_OPTS="--eal --file-prefix=mb_sa_$$" run_status e3 "$FLOWSTAT" \
	-f np.conf)
rmdir "/var/run/dpdk/mb_sa_$$" 2>/dev/null || true
assert_eq "$rc" 1 "config port on a missing file: exit status"
grep -qF "$TMP/missing.pcap" e3.err ||
	fail "missing capture: message does not name it: $(cat e3.err)"
grep -qF "Failed to initialize mtcp: $(errstr ENODEV)" e3.err ||
	fail "missing capture: mtcp_init's errno is not ENODEV: $(cat e3.err)"
printf 'mos {\n\tforward = 1\n}\n' >min.conf
rc=$(MOONBOX_OPTS="-r $TMP/missing.pcap" run_status e4 "$FLOWSTAT" -f min.conf)
assert_eq "$rc" 1 "-r missing file: exit status"
grep -qF "$TMP/missing.pcap" e4.err ||
	fail "-r missing file: message does not name it: $(cat e4.err)"
grep -qF "Failed to initialize mtcp: $(errstr ENODEV)" e4.err ||
	fail "-r missing file: mtcp_init's errno is not ENODEV: $(cat e4.err)"
rc=$(MOONBOX_OPTS="--port net_nosuchdriver0" run_status e5 "$FLOWSTAT" \
	-f min.conf)
assert_eq "$rc" 1 "unknown driver: exit status"
grep -qF "net_nosuchdriver0" e5.err ||
	fail "unknown driver: message does not name it: $(cat e5.err)"
grep -qF "Failed to initialize mtcp: $(errstr ENODEV)" e5.err ||
	fail "unknown driver: mtcp_init's errno is not ENODEV: $(cat e5.err)"
# No port anywhere: nothing to monitor
rc=$(run_status e6 "$FLOWSTAT" -f min.conf)
assert_eq "$rc" 1 "no ports: exit status"
grep -qF "Failed to initialize mtcp: $(errstr EINVAL)" e6.err ||
	fail "no ports: mtcp_init's errno is not EINVAL: $(cat e6.err)"

step "SIGINT runs the program's handler, which ends a live run"
MOONBOX_OPTS="--port net_null0 --passive" "$FLOWSTAT" -f min.conf \
	>sig.out 2>sig.err &
pid=$!
sleep 2
kill -0 "$pid" 2>/dev/null || fail "live run ended by itself: $(cat sig.err)"
stop_within "$pid" INT "the live run"
assert_eq "$STOP_RC" 0 "after SIGINT: exit status (stderr: $(cat sig.err))"
assert_eq "$(grep -c '^timer core 0$' sig.out)" 1 "live run: timer line"

step "a live run writes its counters: --stats-interval, SIGUSR1"
LIVE_PORTS="--port net_pcap0,rx_pcap=$TMP/in.pcap,infinite_rx=1 --port net_null0,no-rx=1"
MOONBOX_OPTS="$LIVE_PORTS --stats live.json --stats-interval 1" \
	"$FLOWSTAT" -f min.conf >live.out 2>live.err &
pid=$!
# Within 6 s, two rewrites of a running program's counters that grew.
"$PY" "$(dirname "$0")/live_poll.py" live.json 6 2 --stop-at 3 --wait ||
	fail "live counters (stderr: $(tail -3 live.err))"
stop_within "$pid" INT "the live run"
assert_eq "$STOP_RC" 0 "live counters: exit status (stderr: $(cat live.err))"
assert_eq "$(json_get live.json final)" True "final at the end"
check_conservation live.json
MOONBOX_OPTS="$LIVE_PORTS --stats usr.json" "$FLOWSTAT" -f min.conf \
	>usr.out 2>usr.err &
pid=$!
sleep 1.5
[ -e usr.json ] && fail "counters written before SIGUSR1 or the end"
kill -USR1 "$pid"
for _ in $(seq 50); do
	[ -e usr.json ] && break
	sleep 0.1
done
[ -e usr.json ] || fail "SIGUSR1 wrote nothing (stderr: $(tail -3 usr.err))"
assert_eq "$(json_get usr.json final)" False "after SIGUSR1: final"
kill -0 "$pid" 2>/dev/null || fail "SIGUSR1 ended the program"
stop_within "$pid" INT "the run after SIGUSR1"
assert_eq "$STOP_RC" 0 "after SIGUSR1: exit status"
assert_eq "$(json_get usr.json final)" True "after SIGUSR1: final at the end"
# A program's own SIGUSR1 handler is left alone: it runs, and no snapshot
# is written.
MOONBOX_OPTS="$LIVE_PORTS --stats own.json" "$FLOWSTAT" -u -f min.conf \
	>own.out 2>own.err &
pid=$!
sleep 1.5
kill -USR1 "$pid"
sleep 1
[ -e own.json ] && fail "a snapshot written on the program's own SIGUSR1"
stop_within "$pid" INT "the run with its own SIGUSR1 handler"
assert_eq "$STOP_RC" 0 "own SIGUSR1 handler: exit status"
assert_eq "$(grep -c '^usr1$' own.out)" 1 "the program's handler ran"
assert_eq "$(json_get own.json final)" True "own SIGUSR1 handler: final file"

echo "PASS"
