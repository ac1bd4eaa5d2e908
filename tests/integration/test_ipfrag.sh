#!/usr/bin/env bash
# test_ipfrag.sh - TCP segments in IPv4 fragments (ipfrag_gen.py describes
# the capture: a fragmented SYN, SYN/ACK and data segments; fragments in
# order, reversed, repeated and overlapping; a datagram missing a fragment;
# one in 9 fragments; one too large; UDP fragments).
#
# With --ipfrag=reassemble (1 and 2 cores) and --ipfrag=pass moonbox must
# forward every frame untouched; with reassemble the streams plugin must
# see the bytes a receiving host reassembles and ipfrag_reassembled count
# the datagrams, and the event tracer must see each reassembled segment
# whole (mtcp_getlastpkt); with pass fragments are only counted
# (ip_fragments) and the streams stop where fragmented data began. The
# fragdrop plugin then checks that MOS_DROP on a reassembled datagram
# fails with EINVAL (its fragments went out already) and that
# mtcp_getlastpkt presents it whole, while an ordinary segment is dropped.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# The generators import hostile_model.py: no bytecode in the source tree.
export PYTHONDONTWRITEBYTECODE=1
FRAGDROP="$MB_PLUGINS/fragdrop.so"
GEN="$TMP/gen"

step "generate the capture"
mkdir -p "$GEN"
"$PY" "$HERE/ipfrag_gen.py" "$GEN" || fail "ipfrag_gen.py"
list_runs "$GEN/runs.json" >"$TMP/runs.txt"
assert_eq "$(wc -l <"$TMP/runs.txt")" 3 "runs generated"

while read -r id pcap want args; do
	step "$id ($args)"
	# shellcheck disable=SC2086
	rc=$(run_plugins "$id" -r "$GEN/$pcap" $args)
	check_run "$id" "$rc" "$GEN/$want" || continue
	"$PY" "$HERE/hostile_check.py" "$GEN/runs.json" "$id" "$TMP/$id.json" \
		"$TMP/$id.st" "$TMP/$id.trace".* >"$TMP/$id.check" 2>&1 ||
		bad "$(cat "$TMP/$id.check")"
done <"$TMP/runs.txt"

# The fragdrop plugin's log against fragdrop.json: exactly the expected
# lines, in any order.
check_fragdrop() {
	local id=$1 mode=$2

	"$PY" - "$GEN/fragdrop.json" "$mode" "$TMP/$id.log".* <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
mode = sys.argv[2]
got = sorted(l.strip() for p in sys.argv[3:] for l in open(p) if l.strip())
want = []
p = d["plain"]
want.append("seq=%u len=%u iplen=%u frag=0x%04x fnv=%08x drop=OK" %
            (p["seq"], p["len"], p["iplen"], 0, p["fnv"]))
if mode == "reassemble":
    r = d["reassembled"]
    # Whole: the reassembled total length, no fragment bits; and not
    # droppable.
    want.append("seq=%u len=%u iplen=%u frag=0x%04x fnv=%08x drop=EINVAL" %
                (r["seq"], r["len"], r["iplen"], 0, r["fnv"]))
want.sort()
if got != want:
    sys.exit("fragdrop log:\n  %s\nexpected:\n  %s" %
             ("\n  ".join(got), "\n  ".join(want)))
EOF
}

for mode in reassemble pass; do
	id=fragdrop-$mode
	step "MOS_DROP on marked segments, --ipfrag=$mode"
	rc=$(run_status "$TMP/$id" run_moonbox -r "$GEN/ipfrag.pcap" \
		-w "$TMP/$id.out.pcap" --stats "$TMP/$id.json" --ipfrag=$mode \
		--plugin "$FRAGDROP" --plugin-arg "log=$TMP/$id.log" \
		--plugin-arg mark=DROPME)
	check_run "$id" "$rc" "$GEN/ipfrag.dropped.pcap" || continue
	assert_eq "$(json_get "$TMP/$id.json" dropped_by_policy)" 1 \
		"$id: dropped_by_policy"
	check_fragdrop "$id" $mode 2>"$TMP/$id.fd" || bad "$id: $(cat "$TMP/$id.fd")"
done

verdict
