#!/usr/bin/env bash
# test_live_stats.sh - the counters of a running moonbox: --stats-interval
# replaces the --stats file while traffic flows (a capture replayed without
# end into net_null), a reader polling it never finds part of one, and the
# counts grow; SIGUSR1 writes it at once (without --stats, a line on
# stderr), and ends nothing; the file at exit is the final one, where every
# frame has its fate. Also: --stats-interval needs --stats, and --stats
# still writes through /dev/stdout (a link, written in place).
. "$(dirname "$0")/lib.sh"

: "${MB_SRC:?MB_SRC must name the source directory}"
DEMO="$MB_SRC/tests/data/demo.pcap"
cd "$TMP"

start() {
	"$MOONBOX" --no-progress "$@" \
		--port "net_pcap0,rx_pcap=$DEMO,infinite_rx=1" \
		--port net_null0,no-rx=1 "$MB_SRC/scripts/midstat.lua" \
		>out 2>err &
	PID=$!
}

# wait_file FILE: until FILE exists (10 s).
wait_file() {
	for _ in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "no $1 after 10 s: $(tail -3 err)"
}

step "--stats-interval needs --stats"
rc=$(run_status u1 "$MOONBOX" --stats-interval 1 -r "$DEMO" \
	"$MB_SRC/scripts/midstat.lua")
assert_eq "$rc" 2 "exit status"
grep -q "needs --stats" u1.err || fail "message: $(cat u1.err)"
rc=$(run_status u2 "$MOONBOX" --stats x.json --stats-interval 0 -r "$DEMO" \
	"$MB_SRC/scripts/midstat.lua")
assert_eq "$rc" 2 "--stats-interval 0"

step "--stats-interval 1: the file is rewritten whole while moonbox runs"
start --stats st.json --stats-interval 1
wait_file st.json
# Poll for 3.5 s: every read is a whole JSON object of a running moonbox
# (final false), and the packets and the run time grow.
# A file held open from the start still reads as it was when opened: the
# rewrites replace the file, they do not write into it.
"$PY" "$(dirname "$0")/live_poll.py" st.json 3.5 3 --every 0.02 --held ||
	fail "polling the live file"
stop_within "$PID" INT "live stats"
assert_eq "$STOP_RC" 0 "exit status"
assert_eq "$(json_get st.json final)" True "final at exit"
check_conservation st.json
[ "$(json_get st.json rx_packets)" -gt 0 ] || fail "no packets"
for f in *.tmp; do
	[ -e "$f" ] && fail "a temporary file was left: $f"
done

step "SIGUSR1 writes the file at once, and the run goes on"
start --stats usr.json
sleep 1
[ -e usr.json ] && fail "written before SIGUSR1 or the end"
kill -USR1 "$PID"
wait_file usr.json
assert_eq "$(json_get usr.json final)" False "final after SIGUSR1"
first=$(json_get usr.json rx_packets)
[ "$first" -gt 0 ] || fail "no packets at SIGUSR1"
sleep 0.5
kill -0 "$PID" 2>/dev/null || fail "SIGUSR1 ended moonbox"
stop_within "$PID" INT "SIGUSR1"
assert_eq "$STOP_RC" 0 "exit status after SIGUSR1"
assert_eq "$(json_get usr.json final)" True "final at exit"
[ "$(json_get usr.json rx_packets)" -gt "$first" ] ||
	fail "the final file counts no more than the snapshot"
check_conservation usr.json

step "without --stats, SIGUSR1 prints the counters on stderr"
start
sleep 1
kill -USR1 "$PID"
for _ in $(seq 50); do
	grep -q "packets in" err && break
	sleep 0.1
done
grep -Eq "^moonbox: [1-9][0-9]* packets in, [0-9]+ forwarded, [0-9]+ \
dropped, [0-9]+ sent, [0-9]+ flows open, [0-9]+ s$" err ||
	fail "no counters on stderr: $(cat err)"
stop_within "$PID" INT "SIGUSR1 without --stats"
assert_eq "$STOP_RC" 0 "exit status"

step "--stats /dev/stdout writes through the link"
"$MOONBOX" --no-progress --stats /dev/stdout -r "$DEMO" \
	"$MB_SRC/scripts/midstat.lua" >dev.out 2>dev.err ||
	fail "moonbox --stats /dev/stdout: $(cat dev.err)"
sed -n '/^{$/,/^}$/p' dev.out >dev.json
assert_eq "$(json_get dev.json final)" True "final"
assert_eq "$(json_get dev.json rx_packets)" "$(pcap_count "$DEMO")" \
	"rx_packets through /dev/stdout"
[ -L /dev/stdout ] || fail "/dev/stdout is no longer a link"
echo "ok"
