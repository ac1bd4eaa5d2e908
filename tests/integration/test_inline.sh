#!/usr/bin/env bash
# test_inline.sh - moonbox inline between two kernel interfaces, with real
# TCP stacks at both ends as the oracle: a client and an HTTP server
# (inline_server.py) in network namespaces of their own, joined only
# through moonbox's two DPDK af_packet ports on the veth pairs' other ends.
#  - midstat: a 1 MB download arrives intact; every frame is accounted for.
#  - stream_dump, -c 2 (the software distributor, live): 6 downloads at
#    once; each flow's reassembled server stream is the HTTP header plus
#    the very bytes the server sent, its client stream the request curl
#    sent.
#  - firewall: a rule drops the flows to one port (curl times out) while
#    the other port answers.
#  - edit_headers.lua: requests grow and shrink in flight (MOS_INSERT and
#    MOS_CHOMP); three requests on one kept-alive connection, one of them a
#    1 MB download, succeed: moonbox remapped the sequence and
#    acknowledgement numbers so that neither kernel noticed, and the
#    server saw the headers as changed.
#  - reset_path.lua: mos.reset_conn after a first request; the client's
#    kernel reports a reset (not a time-out), the server's socket closes,
#    and neither kernel sent a challenge ACK: both took the RSTs' sequence
#    numbers as the ones they expected.
#  - rewrite.lua: a file downloaded through it is the file with every
#    occurrence of the pattern replaced (Python's str.replace), also those
#    that a segment boundary splits, which the script holds back and sends
#    again with mos.sendpkt.
#  - rewrite.lua under loss: with a server one routed hop away and 3 % of
#    the frames lost on the way (nft), four downloads still arrive
#    rewritten as Python says, but for the occurrences of the (rare,
#    counted) prefixes the script gives up.
#  - edit_headers under the same loss: the lengths change, and moonbox's
#    remapped numbers hold through the retransmissions of both sides.
#  - idle timeout (--timeout 1, midstat): a connection idle for longer
#    between two requests loses its flow but not its traffic: the second
#    answer comes through as orphans.
#  - SIGHUP reloads midstat.lua in the middle of a download, which
#    arrives intact (its flow is an orphan to the new load).
#  - nat.lua on -c 2: the server sees every connection come from the NAT
#    address and a port of the pool, no kernel finds a bad checksum, and
#    a download through the translation arrives intact.
#  - jumbo frames (MTU 9000, --max-frame 9018): downloads in 9 KB frames
#    through rewrite.lua arrive intact, and rewritten as Python says, and
#    no frame was cut (with the default buffers the af_packet ring cuts
#    them and the connection stalls).
# Needs root (network namespaces); skipped (77) where they are refused.
. "$(dirname "$0")/lib.sh"

: "${MB_SRC:?MB_SRC must name the source directory}"
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$TMP"

# Names of this run's own: tests may run in parallel.
ID=$(($$ % 100000))
NC="mbic$ID" NS="mbis$ID" NL="mbil$ID"
IF0="mbi${ID}a" IF1="mbi${ID}b" IFL="mbi${ID}l"
CLI=10.77.0.1 SRV=10.77.0.2 RTR=10.78.0.1 FAR=10.78.0.2
MB_PID=""

# (set -e holds here too: a teardown step that fails is no failure.)
inline_cleanup() {
	local rc=$?

	if [ -n "$MB_PID" ]; then
		kill -KILL "$MB_PID" 2>/dev/null || true
	fi
	for ns in "$NC" "$NS" "$NL"; do
		ip netns pids "$ns" 2>/dev/null |
			xargs -r kill -KILL 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	# Deleting a namespace deletes the veth pairs, but not at once.
	ip link del "$IF0" 2>/dev/null || true
	ip link del "$IF1" 2>/dev/null || true
	(exit $rc)
	lib_cleanup
}
trap inline_cleanup EXIT

step "network namespaces and veth pairs"
if ! ip netns add "$NC" 2>"$TMP/netns.err"; then
	echo "SKIP: cannot create network namespaces: $(cat "$TMP/netns.err")"
	exit 77
fi
ip netns add "$NS"
# No offloads: frames must be real frames of at most the MTU, with their
# checksums filled in, as on a wire.
while read -r dev ns addr; do
	ip link add "$dev" type veth peer name "${dev}p"
	ip link set "${dev}p" netns "$ns"
	ip link set "$dev" up
	ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null
	ip -n "$ns" addr add "$addr/24" dev "${dev}p"
	ip -n "$ns" link set "${dev}p" up
	ip -n "$ns" link set lo up
	ip netns exec "$ns" ethtool -K "${dev}p" tso off gso off gro off \
		tx off rx off >/dev/null
done <<END
$IF0 $NC $CLI
$IF1 $NS $SRV
END

mkdir www
head -c 1000000 /dev/urandom >www/blob
ln -s www/blob blob
# Not jobs of this shell (the clean-up kills them with their namespace).
for port in 8080 8081; do
	(ip netns exec "$NS" "$PY" "$HERE/inline_server.py" "$SRV" "$port" \
		"$TMP/www" >"srv$port.out" 2>"srv$port.err" &)
done
for _ in $(seq 50); do
	[ -s srv8080.out ] && [ -s srv8081.out ] && break
	sleep 0.1
done
grep -q listening srv8080.out || fail "the server did not start"

# start NAME ARGS...: moonbox between the two host-side ends, in the
# background (its output in NAME.out and NAME.err, counters in NAME.json);
# returns once a connection through it is made.
start() {
	local name=$1

	shift
	"$MOONBOX" --no-progress --port "net_af_packet0,iface=$IF0" \
		--port "net_af_packet1,iface=$IF1" --stats "$name.json" "$@" \
		>"$name.out" 2>"$name.err" &
	MB_PID=$!
	for _ in $(seq 30); do
		# A handshake, no data: nothing for the policies to see.
		if timeout 1 ip netns exec "$NC" bash -c \
			"exec 3<>/dev/tcp/$SRV/8080" 2>/dev/null; then
			return 0
		fi
		kill -0 "$MB_PID" 2>/dev/null ||
			fail "$name: moonbox ended: $(tail -3 "$name.err")"
		sleep 0.1
	done
	fail "$name: no connection through moonbox in 30 tries"
}

# stop NAME: SIGINT; moonbox must end with 0 and account for every frame.
# It waits (3 s at most) for the connections to end first: a segment left
# for the next moonbox would reach it as an orphan, with the numbers that
# this one remapped (the kernels would then challenge it).
stop() {
	for _ in $(seq 30); do
		for ns in "$NC" "$NS"; do
			ip netns exec "$ns" ss -Htn state all \
				exclude listening exclude time-wait
		done >open
		[ -s open ] || break
		sleep 0.1
	done
	stop_within "$MB_PID" INT "$1"
	MB_PID=""
	assert_eq "$STOP_RC" 0 "$1: exit status ($(tail -3 "$1.err"))"
	check_conservation "$1.json"
}

client() {	# client CURL-ARGS...: curl in the client's namespace
	ip netns exec "$NC" curl -s -m 20 "$@"
}

# kernel_count NS NAME: a counter of NS's kernel (nstat's name, such as
# TcpExtTCPChallengeACK), since the namespace was made.
kernel_count() {
	ip netns exec "$1" nstat -az "$2" | awk -v n="$2" '$1 == n { print $2 }'
}

step "midstat: a 1 MB download through moonbox"
start midstat "$MB_SRC/scripts/midstat.lua"
client -o got "http://$SRV:8080/blob" || fail "midstat: curl failed"
cmp -s got blob || fail "midstat: the download differs from the server's file"
stop midstat
[ "$(json_get midstat.json tx_packets)" -gt 700 ] ||
	fail "midstat: only $(json_get midstat.json tx_packets) frames forwarded"
grep -q "flows seen" midstat.out || fail "midstat: no summary"

step "stream_dump on 2 cores: 6 downloads at once, streams as sent"
mkdir dump
# A window as large as a download: frames that the kernel's af_packet
# ring drops when moonbox lags come again later (the sender's
# retransmission), and the bytes after such a hole must wait in the
# window (the default 8 KiB lost some 150 KB a core here).
start dump -c 2 --rmem 2097152 "$MB_SRC/scripts/stream_dump.lua" \
	"$TMP/dump"
pids=()
for i in 1 2 3 4 5 6; do
	client -o "got$i" "http://$SRV:8080/blob" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "stream_dump: a download failed"
done
stop dump
for i in 1 2 3 4 5 6; do
	cmp -s "got$i" blob || fail "stream_dump: download $i differs"
done
n=0 m=0
for f in dump/*; do
	case "$f" in
	dump/010.077.000.002.08080-*)
		head -c 15 "$f" | grep -q "^HTTP/1.1 200 OK" ||
			fail "stream_dump: $f does not start with a response"
		# The response header, then the file.
		tail -c 1000000 "$f" | cmp -s - blob ||
			fail "stream_dump: $f does not end with the file"
		n=$((n + 1)) ;;
	*)
		grep -q "^GET /blob HTTP/1.1" "$f" ||
			fail "stream_dump: $f is not the request"
		m=$((m + 1)) ;;
	esac
done
assert_eq "$n $m" "6 6" "stream_dump: server and client streams dumped"
if ! grep -q " 0 bytes missed" dump.out ||
   grep -qv " 0 bytes missed" dump.out; then
	fail "stream_dump: bytes missed: $(cat dump.out)"
fi
# (Which core gets which flow depends on the clients' random ports: the
# test does not count them per core.)

step "firewall: one port dropped, the other open"
printf 'DROP %s %s dport:8081\n' "$CLI" "$SRV" >rules
start fw "$MB_SRC/scripts/firewall.lua" "$TMP/rules"
client -o open "http://$SRV:8080/echo" || fail "firewall: port 8080 refused"
rc=0
ip netns exec "$NC" curl -s -m 3 -o closed "http://$SRV:8081/echo" || rc=$?
assert_eq "$rc" 28 "firewall: curl to the dropped port (28: timed out)"
stop fw
[ "$(json_get fw.json dropped_by_policy)" -gt 0 ] ||
	fail "firewall: nothing dropped"
grep -q "flows: 1 dropped" fw.out || fail "firewall: $(tail -1 fw.out)"
grep -q "GET /echo" srv8081.err && fail "firewall: the server on 8081 was reached"

step "edit_headers: requests change length, the connection goes on"
start edit "$MB_SRC/tests/lua/edit_headers.lua" "X-Moonbox: inline" \
	"X-Drop-Me: yes" "$TMP/edit"
client -H "X-Drop-Me: yes" -w '%{num_connects} %{http_code}\n' \
	"http://$SRV:8080/echo" -o echo1 "http://$SRV:8080/blob" -o got \
	"http://$SRV:8080/echo" -o echo2 >curl.out ||
	fail "edit_headers: curl failed: $(cat curl.out)"
stop edit
# One connection for the three requests.
assert_eq "$(tr '\n' ' ' <curl.out)" "1 200 0 200 0 200 " \
	"edit_headers: new connections and status of each request"
cmp -s got blob || fail "edit_headers: the download differs"
for e in echo1 echo2; do
	grep -q "^X-Moonbox: inline" "$e" ||
		fail "edit_headers: $e: header not inserted: $(cat "$e")"
	grep -q "X-Drop-Me" "$e" &&
		fail "edit_headers: $e: header not removed: $(cat "$e")"
	grep -q "^User-Agent: curl" "$e" ||
		fail "edit_headers: $e: other headers lost: $(cat "$e")"
done
assert_eq "$(cat edit.0)" "inserted 3 removed 3 failed 0" \
	"edit_headers: changes made"

step "reset_conn: both kernels take moonbox's RSTs at once"
start reset "$MB_SRC/tests/lua/reset_path.lua" /reset "$TMP/reset"
for ns in "$NC" "$NS"; do
	kernel_count "$ns" TcpExtTCPChallengeACK >"challenges.$ns"
done
# A request answered first, so the RSTs' numbers are not the handshake's.
# (curl then tries the reset request once more on a new connection, which
# is reset too.)
rc=0
client -w '%{local_port}\n' -o reset1 "http://$SRV:8080/echo" \
	-o reset2 "http://$SRV:8080/reset" >ports || rc=$?
# 56: the connection was reset (a time-out would be 28).
assert_eq "$rc" 56 "reset_conn: curl's exit status"
grep -q "^Host:" reset1 || fail "reset_conn: the first request failed"
port=$(head -1 ports)
# The server's socket is gone: an RST with any other sequence number
# would have been answered with a challenge ACK and ignored. (Earlier
# steps may leave connections: moonbox stopped before their ends passed.)
for _ in $(seq 20); do
	ip netns exec "$NS" ss -Htn state established \
		"( sport = :8080 and dport = :$port )" >estab
	[ -s estab ] || break
	sleep 0.1
done
[ -s estab ] && fail "reset_conn: the server's connection is still open: \
$(cat estab)"
# An RST with a sequence number in the window but not the expected one
# gets a challenge ACK (RFC 5961), which the client's kernel, reset by
# then, answers with an exact RST of its own: the socket would close all
# the same. Neither kernel may have had to challenge.
for ns in "$NC" "$NS"; do
	assert_eq "$(kernel_count "$ns" TcpExtTCPChallengeACK)" \
		"$(cat "challenges.$ns")" \
		"reset_conn: challenge ACKs in $ns"
done
stop reset
read -r _ resets _ failed <reset.0
if [ "$resets" -lt 1 ] || [ "$failed" != 0 ]; then
	fail "reset_conn: resets made: $(cat reset.0)"
fi
[ "$(json_get reset.json pkts_sent)" -ge 2 ] || fail "reset_conn: no RSTs sent"

step "rewrite: a pattern replaced in flight, across segments too"
# Occurrences at random places (some across segment boundaries), and
# runs of near-misses (moonmoonbox, moonbo) for the non-overlapping,
# left-to-right matching. The expected file is Python's str.replace.
"$PY" - www/text www/text.want <<'END'
import random, sys
rnd = random.Random(7)
parts = []
for _ in range(6000):
    parts.append(bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz \n")
                       for _ in range(rnd.randrange(0, 120))))
    parts.append(rnd.choice([b"moonbox", b"moonmoonbox", b"moonbo",
                             b"moonboxmoonbox", b"m"]))
text = b"".join(parts)
open(sys.argv[1], "wb").write(text)
open(sys.argv[2], "wb").write(text.replace(b"moonbox", b"MOONBOX"))
END
start rewrite "$MB_SRC/scripts/rewrite.lua" moonbox MOONBOX
client -o got "http://$SRV:8080/text" || fail "rewrite: the download failed"
stop rewrite
cmp -s got www/text.want || fail "rewrite: the download is not the \
rewritten file ($(cmp got www/text.want 2>&1 | head -1))"
cmp -s www/text www/text.want && fail "rewrite: nothing to rewrite"
# The hard case happened: occurrences split across segments.
split=$(sed -n 's/.*(\([0-9]*\) split across segments).*/\1/p' rewrite.out)
[ "${split:-0}" -gt 0 ] || fail "rewrite: no split occurrence: $(cat rewrite.out)"
[ "$(json_get rewrite.json pkts_sent)" -gt 0 ] ||
	fail "rewrite: no held segment sent"

step "rewrite under loss: segments that come ahead of a gap"
# A server one hop behind the server's namespace, which routes for it and
# loses 3 % of the frames in both directions (a forward hook: a loss on a
# wire to both kernels): the server's before moonbox sees them, the
# client's after. moonbox meets gaps, the segments after them, and the
# retransmissions that fill them. An af_packet ring
# that overflowed under load did this once, and the download came out
# wrong: occurrences split between two segments ahead of a gap passed
# unchanged.
ip netns add "$NL"
ip link add "$IFL" type veth peer name "${IFL}p"
ip link set "$IFL" netns "$NS"
ip link set "${IFL}p" netns "$NL"
ip -n "$NS" addr add "$RTR/24" dev "$IFL"
ip -n "$NL" addr add "$FAR/24" dev "${IFL}p"
for ns in "$NS:$IFL" "$NL:${IFL}p"; do
	ip -n "${ns%%:*}" link set "${ns#*:}" up
	ip netns exec "${ns%%:*}" ethtool -K "${ns#*:}" tso off gso off gro off \
		tx off rx off >/dev/null
done
ip -n "$NL" route add default via "$RTR"
ip -n "$NC" route add "$FAR/32" via "$SRV"
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$NS" nft -f - <<END
table ip mbloss {
	chain lose {
		type filter hook forward priority 0;
		numgen random mod 100 < 3 counter drop
	}
}
END
lost_frames() {	# the frames the hop has lost so far
	ip netns exec "$NS" nft list table ip mbloss |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
(ip netns exec "$NL" "$PY" "$HERE/inline_server.py" "$FAR" 8080 \
	"$TMP/www" >srvfar.out 2>srvfar.err &)
for _ in $(seq 50); do
	[ -s srvfar.out ] && break
	sleep 0.1
done
grep -q listening srvfar.out || fail "the far server did not start"
began=$SECONDS
start rewrite_loss "$MB_SRC/scripts/rewrite.lua" moonbox MOONBOX
for i in 1 2 3 4; do
	client -o "got$i" "http://$FAR:8080/text" ||
		fail "rewrite under loss: download $i failed"
done
stop rewrite_loss
lost=$(lost_frames)
[ "${lost:-0}" -gt 0 ] || fail "rewrite under loss: no frame was lost"
# A sender that, after a timeout, sends nothing but a held prefix (the
# bytes after it lost again and again) gets it unchanged after three
# tries (rewrite.lua's header; it failed CI on 3 December): every other byte
# must be rewritten, and no more occurrences may pass unchanged than
# prefixes were given up.
gaveup=$(sum_field rewrite_loss.out \
	'.* \([0-9]*\) pending prefixes given up.*')
unchanged=0
for i in 1 2 3 4; do
	"$PY" "$HERE/scripts_check.py" download "got$i" www/text moonbox \
		MOONBOX "$gaveup" >"check$i.out" 2>&1 || fail "rewrite under \
loss: download $i is not the rewritten file ($(cat "check$i.out"); \
$lost frames lost; $(cat rewrite_loss.out); $(json_get rewrite_loss.json \
dropped_tx_full) frames moonbox could not send)"
	unchanged=$((unchanged + $(cat "check$i.out")))
done
[ "$unchanged" -le "$gaveup" ] || fail "rewrite under loss: $unchanged \
occurrences passed unchanged, $gaveup pending prefixes given up"
# At 3 % loss one run in 30 gives one up (5 of 150 runs of this step, 3
# of their 600 downloads with an occurrence unchanged; never two in one
# run): more than two would mean a change made the case common.
[ "$gaveup" -le 2 ] ||
	fail "rewrite under loss: $gaveup prefixes given up: $(cat rewrite_loss.out)"
# The hard case happened: segments ahead of a gap that could not go.
ahead=$(sed -n 's/.* \([0-9]*\) segments ahead of a gap dropped.*/\1/p' \
	rewrite_loss.out)
[ "${ahead:-0}" -gt 0 ] ||
	fail "rewrite under loss: no segment ahead of a gap: $(cat rewrite_loss.out)"
echo "   $((SECONDS - began)) s, $lost frames lost, $unchanged occurrences \
passed unchanged: $(cat rewrite_loss.out)"

step "edit_headers under loss: remapped numbers and retransmissions"
# Inserted and removed bytes shift the numbers for the rest of each
# connection; segments lost after moonbox come again from the client as
# it first sent them, and must be edited the same way again.
start edit_loss "$MB_SRC/tests/lua/edit_headers.lua" "X-Moonbox: inline" \
	"X-Drop-Me: yes" "$TMP/editl"
client -H "X-Drop-Me: yes" -w '%{num_connects} %{http_code}\n' \
	"http://$FAR:8080/echo" -o echo1 "http://$FAR:8080/blob" -o got1 \
	"http://$FAR:8080/echo" -o echo2 "http://$FAR:8080/blob" -o got2 \
	>curl.out || fail "edit_headers under loss: curl failed: $(cat curl.out)"
stop edit_loss
assert_eq "$(tr '\n' ' ' <curl.out)" "1 200 0 200 0 200 0 200 " \
	"edit_headers under loss: new connections and status of each request"
for i in 1 2; do
	cmp -s "got$i" blob ||
		fail "edit_headers under loss: download $i differs"
	grep -q "^X-Moonbox: inline" "echo$i" ||
		fail "edit_headers under loss: echo$i: header not inserted"
	grep -q "X-Drop-Me" "echo$i" &&
		fail "edit_headers under loss: echo$i: header not removed"
done
# Each request once, and again in each retransmission that came through
# moonbox (a request lost after it): as many insertions as removals.
read -r _ ins _ rem _ failed <editl.0
if [ "$ins" -lt 4 ] || [ "$rem" != "$ins" ] || [ "$failed" != 0 ]; then
	fail "edit_headers under loss: changes made: $(cat editl.0)"
fi
[ "$(json_get edit_loss.json seq_remapped)" -gt 0 ] ||
	fail "edit_headers under loss: no number remapped"
[ "$(lost_frames)" -gt "$lost" ] || fail "edit_headers under loss: no frame was lost"

step "idle timeout: a flow ends, its connection goes on"
# One connection, idle for longer than --timeout between two requests:
# moonbox ends the flow on the wall clock (MOS_ON_TIMEOUT), and the second
# request and its answer pass as orphans.
start idle --timeout 1 "$MB_SRC/scripts/midstat.lua"
ip netns exec "$NC" "$PY" - "$SRV" >idle.txt <<'END' ||
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
f = s.makefile("rb")
for i in range(2):
    if i:
        time.sleep(2.5)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
    status = f.readline()
    n = 0
    while True:
        line = f.readline()
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
        if line in (b"\r\n", b""):
            break
    print(status.decode().strip(), len(f.read(n)))
END
	fail "idle: the client failed: $(cat idle.txt)"
stop idle
assert_eq "$(awk '{ print $2 }' idle.txt | tr '\n' ' ')" "200 200 " \
	"idle: the two answers"
grep -q "[1-9][0-9]* timed out" idle.out ||
	fail "idle: no flow timed out: $(tail -1 idle.out)"
[ "$(json_get idle.json orphans)" -gt 0 ] ||
	fail "idle: no orphans after the timeout"

step "reload: SIGHUP during a download, the download goes on"
start reload "$MB_SRC/scripts/midstat.lua"
client --limit-rate 1M -o got "http://$SRV:8080/blob" &
dl=$!
sleep 0.4
kill -HUP "$MB_PID"
wait "$dl" || fail "reload: the download failed"
stop reload
cmp -s got blob || fail "reload: the download differs"
assert_eq "$(json_get reload.json script_reloads)" 1 "reload: reloads"

step "nat on 2 cores: the server sees only the NAT address"
# The server's kernel must know where NAT_IP is: at the client's link
# address (moonbox forwards frames as they are).
NAT_IP=10.77.0.100
mac=$(ip netns exec "$NC" cat "/sys/class/net/${IF0}p/address")
ip -n "$NS" neigh replace "$NAT_IP" lladdr "$mac" dev "${IF1}p"
start nat -c 2 "$MB_SRC/scripts/nat.lua" "$NAT_IP" 20000-20063
seen=$(wc -l <srv8080.err)	# the server's log so far
for ns in "$NC" "$NS"; do
	kernel_count "$ns" TcpInCsumErrors >"csum.$ns"
done
for i in 1 2 3 4; do
	client -o "nat$i" "http://$SRV:8080/echo" ||
		fail "nat: request $i failed"
done
client -o got "http://$SRV:8080/blob" || fail "nat: the download failed"
stop nat
cmp -s got blob || fail "nat: the download differs"
for ns in "$NC" "$NS"; do
	assert_eq "$(kernel_count "$ns" TcpInCsumErrors)" "$(cat "csum.$ns")" \
		"nat: TCP checksum errors in $ns"
done
# The four requests and the download: every one from NAT_IP, from a port
# of the pool.
tail -n +$((seen + 1)) srv8080.err | awk -v nat="$NAT_IP" '
{ split($1, a, ":") }
a[1] != nat || a[2] < 20000 || a[2] > 20063 { bad = bad " " $1 }
{ n++ }
END { if (n != 5 || bad != "") { print n " requests, not translated:" bad; exit 1 } }
' >natcheck || fail "nat: $(cat natcheck)"
grep -q "translated" nat.out || fail "nat: no summary"

step "jumbo frames: MTU 9000 with --max-frame 9018"
for dev in "$IF0" "$IF1"; do
	ip link set "$dev" mtu 9000
done
ip -n "$NC" link set "${IF0}p" mtu 9000
ip -n "$NS" link set "${IF1}p" mtu 9000
# rewrite.lua: it re-sends held 9 KB segments itself (mos.sendpkt).
start jumbo --max-frame 9018 "$MB_SRC/scripts/rewrite.lua" moonbox MOONBOX
client -o got "http://$SRV:8080/blob" || fail "jumbo: the download failed"
client -o gottext "http://$SRV:8080/text" || fail "jumbo: the text failed"
stop jumbo
cmp -s got blob || fail "jumbo: the download differs"
cmp -s gottext www/text.want || fail "jumbo: the text is not rewritten right"
grep -q " 0 errors" jumbo.out || fail "jumbo: $(cat jumbo.out)"
assert_eq "$(json_get jumbo.json malformed)" 0 "jumbo: frames cut"
# Frames above the default buffers' 2048 bytes went through whole.
[ "$(($(json_get jumbo.json rx_bytes) / $(json_get jumbo.json rx_packets)))" \
	-gt 2048 ] || fail "jumbo: no large frames"

echo "inline ok"
