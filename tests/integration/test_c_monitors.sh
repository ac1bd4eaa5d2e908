#!/usr/bin/env bash
# test_c_monitors.sh - the C example monitors (scripts/c/) as plugins of
# moonbox and as standalone mOS-style programs, on scapy-made captures,
# judged by independent oracles (c_monitors_check.py: tshark's reading of
# the captures, Python's ipaddress for the firewall rules):
# - midstat: every flow with its addresses, the final states (closed flows
#   gone, open ones in their states), one table per second of each core's
#   clock listing the flows open then; 1 and 2 cores; idle timeouts.
# - firewall: no packet of a denied flow leaves, every packet of the others
#   does, unchanged; per-rule counters count flows, not SYNs; prefixes off
#   the octet boundaries and port ranges; rules file errors.
# - nat: client packets leave as NAT_IP:port, replies go back to the
#   client, checksums are valid, ports come in nat.c's documented order
#   and are reused, an exhausted pool drops and counts; on 2 cores nothing
#   stays untranslated.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
: "${MB_BUILD:?MB_BUILD must name the build directory}"
C="$MB_BUILD/scripts/c"
GEN="$HERE/c_monitors_gen.py"
CHECK="$HERE/c_monitors_check.py"
NAT_IP=203.0.113.9
EXAMPLE_RULES="${MB_SRC:-$HERE/../..}/scripts/c/firewall.rules"
cd "$TMP" || exit 1

for f in mb-midstat mb-firewall mb-nat midstat.so firewall.so nat.so; do
	[ -e "$C/$f" ] || fail "$C/$f is not built"
done

# plugin NAME PLUGIN ARGS...: moonbox with a plugin; NAME.out/.err/.json.
plugin() {
	local name=$1 so=$2 rc

	shift 2
	rc=$(run_status "$name" run_moonbox --stats "$name.json" \
		--plugin "$C/$so" "$@")
	assert_eq "$rc" 0 "$name: exit status (stderr: $(cat "$name.err"))"
	assert_eq "$(json_get "$name.json" rx_nombuf)" 0 "$name: rx_nombuf"
}

# standalone NAME "MOONBOX_OPTS" PROGRAM ARGS...: NAME.out/.err/.json.
standalone() {
	local name=$1 opts=$2 prog=$3 rc

	shift 3
	rc=$(MOONBOX_OPTS="$opts --no-progress --stats $name.json" \
		run_status "$name" "$C/$prog" "$@")
	assert_eq "$rc" 0 "$name: exit status (stderr: $(cat "$name.err"))"
	assert_eq "$(json_get "$name.json" rx_nombuf)" 0 "$name: rx_nombuf"
}

check() {
	"$PY" "$CHECK" "$@" >/dev/null || fail "check $*"
}

# -- midstat ----------------------------------------------------------------

step "midstat: generate"
"$PY" "$GEN" midstat ms.pcap ms.man
for cores in 1 2; do
	step "midstat: plugin, $cores core(s)"
	plugin msp$cores midstat.so -c $cores -r ms.pcap
	check midstat ms.man ms.pcap msp$cores.out --cores $cores
	step "midstat: standalone, $cores core(s)"
	standalone mss$cores "-r ms.pcap" mb-midstat -c $cores
	check midstat ms.man ms.pcap mss$cores.out --cores $cores
done

step "midstat: standalone with a mos.conf, 1 s idle timeout"
cat >mos.conf <<'EOF'
# tcp_timeout in seconds; the capture comes from MOONBOX_OPTS
mos {
	forward = 1
	max_concurrency = 4096
	tcp_timeout = 1
	netdev {
		dpdk0 0x1
	}
}
EOF
standalone mst "-r ms.pcap" mb-midstat -f mos.conf
total=$(grep '^midstat: all cores:' mst.out) || fail "no totals line"
read -r seen closed tout open <<<"$(echo "$total" |
	sed -E 's/[^0-9]+/ /g')"
assert_eq "$seen" "$(json_get mst.json flows_created)" "flows seen"
assert_eq "$tout" "$(json_get mst.json timeouts_idle)" "flows timed out"
[ "$tout" -gt 0 ] || fail "no flow timed out with a 1 s timeout"
assert_eq "$((closed + tout + open))" "$seen" "closed + timed out + open"
# Only the busy connections (a segment every 20 ms each) outlive 1 s idle.
assert_eq "$open" "$(grep -c 'ESTABLISHED/ESTABLISHED' ms.man)" \
	"flows open at the end with a 1 s timeout"

# -- firewall ---------------------------------------------------------------

step "firewall: generate"
"$PY" "$GEN" firewall fw.pcap
cat >fw.rules <<'EOF'
# test rules: prefixes off the octet boundaries, a port range

DROP    10.1.0.0/26     0.0.0.0          dport:80   # clients .0 to .63
ACCEPT  10.1.0.0/16     192.168.0.0/20              # .0.0 to .15.255
	# an indented comment
DROP    0.0.0.0         192.168.16.0/20  dport:8000-8099
drop    10.3.0.7        0.0.0.0          sport:40000
ACCEPT  0.0.0.0/0       0.0.0.0/0        dport:22
EOF
for cores in 1 2; do
	step "firewall: plugin, $cores core(s)"
	plugin fwp$cores firewall.so -c $cores -r fw.pcap -w fwp$cores.pcap \
		--plugin-arg rules=fw.rules
	check firewall fw.rules fw.pcap fwp$cores.pcap fwp$cores.out \
		--cores $cores
	step "firewall: standalone, $cores core(s)"
	standalone fws$cores "-r fw.pcap -w fws$cores.pcap" mb-firewall \
		-f fw.rules -n $cores
	check firewall fw.rules fw.pcap fws$cores.pcap fws$cores.out \
		--cores $cores
	# moonbox's own count of dropped packets agrees.
	assert_eq "$(json_get fws$cores.json dropped_by_policy)" \
		"$(sed -nE 's/.*; ([0-9]+) packets dropped.*/\1/p' \
		fws$cores.out)" "dropped_by_policy"
	check_conservation fws$cores.json
done

step "firewall: the example rules file"
standalone fwx "-r fw.pcap" mb-firewall -f "$EXAMPLE_RULES"
nrules=$(grep -cE '^(ACCEPT|DROP)' "$EXAMPLE_RULES")
rows=$(tail -n $((nrules + 2)) fwx.out |
	grep -cE '^[0-9]+ +[0-9]+ +(ACCEPT|DROP) ')
assert_eq "$rows" "$nrules" "rows of the example rules"

step "firewall: bad rules are refused with the line number"
for bad in "DENY 10.0.0.1 0.0.0.0" "DROP 10.0.0.0/33 0.0.0.0" \
	"DROP 10.0.0.1 0.0.0.0 dport:65536" "DROP 10.0.0.1 0.0.0.0 dport:9-3" \
	"DROP 10.0.0.1" "DROP 10.0.0.1 0.0.0.0 port:80"; do
	printf '# ok\nACCEPT 0.0.0.0 0.0.0.0\n%s\n' "$bad" >bad.rules
	rc=$(run_status bad "$C/mb-firewall" -f bad.rules)
	assert_eq "$rc" 1 "exit status for '$bad'"
	grep -q '^firewall: bad.rules:3: ' bad.err ||
		fail "no line number for '$bad': $(cat bad.err)"
	rc=$(run_status badp run_moonbox -r fw.pcap --plugin "$C/firewall.so" \
		--plugin-arg rules=bad.rules)
	assert_eq "$rc" 1 "plugin exit status for '$bad'"
done

# -- nat --------------------------------------------------------------------

step "nat: three ports for seven flows (reuse, exhaustion)"
"$PY" "$GEN" nat nat3.pcap nat3.man --nat-ip $NAT_IP --ports 2000-2002
plugin natp nat.so -r nat3.pcap -w natp.pcap --plugin-arg ip=$NAT_IP \
	--plugin-arg ports=2000-2002
check nat nat3.man nat3.pcap natp.pcap natp.out --nat-ip $NAT_IP \
	--expect-reuse --expect-refused
standalone nats "-r nat3.pcap -w nats.pcap" mb-nat -i $NAT_IP -p 2000-2002
check nat nat3.man nat3.pcap nats.pcap nats.out --nat-ip $NAT_IP \
	--expect-reuse --expect-refused

step "nat: the default pool"
"$PY" "$GEN" nat natd.pcap natd.man --nat-ip $NAT_IP
standalone natd "-r natd.pcap -w natd.out.pcap" mb-nat -i $NAT_IP
check nat natd.man natd.pcap natd.out.pcap natd.out --nat-ip $NAT_IP

step "nat: 24 flows cycling through ten ports"
"$PY" "$GEN" nat natm.pcap natm.man --nat-ip $NAT_IP --ports 1025-1034 --many
plugin natm nat.so -r natm.pcap -w natm.out.pcap --plugin-arg ip=$NAT_IP \
	--plugin-arg ports=1025-1034
check nat natm.man natm.pcap natm.out.pcap natm.out --nat-ip $NAT_IP \
	--expect-reuse

# On two cores a flow's port depends on which core holds it. All the flows
# go to one server, so each port leads back to one core only and each core
# takes its ports in the order of its own SYNs: the ports the NAT gives the
# SYNs alone are the ports it gives them in the whole capture, which starts
# with those SYNs and has the replies addressed to those ports.
step "nat: 2 cores"
"$PY" "$GEN" nat2-syns syns.pcap
plugin syns nat.so -c 2 -r syns.pcap -w syns.out.pcap --plugin-arg ip=$NAT_IP
"$PY" "$GEN" nat2 nat2.pcap nat2.man --nat-ip $NAT_IP \
	--learned syns.out.pcap
plugin nat2p nat.so -c 2 -r nat2.pcap -w nat2p.pcap --plugin-arg ip=$NAT_IP
check nat nat2.man nat2.pcap nat2p.pcap nat2p.out --nat-ip $NAT_IP
standalone nat2s "-r nat2.pcap -w nat2s.pcap" mb-nat -i $NAT_IP -c 2
check nat nat2.man nat2.pcap nat2s.pcap nat2s.out --nat-ip $NAT_IP
# Both cores held flows, so the replies really had to find their core.
for c in 0 1; do
	[ "$(json_get nat2s.json cores.$c.flows_created)" -gt 0 ] ||
		fail "core $c held no flow"
done

echo "ok"
