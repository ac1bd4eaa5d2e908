#!/usr/bin/env bash
# test_hostile.sh - moonbox under hostile TCP traffic: a SYN flood against
# a small flow table, an RST storm into live connections, data before the
# handshake and without ACK, absurd sequence numbers, truncated and
# malformed segments, jumbo frames, zero windows, payload on SYNs (and TCP
# Fast Open), odd flag combinations, overlapping retransmissions with
# other bytes (--overlap=first and last), duplicate SYNs, port reuse,
# randomly damaged frames, and mkpcap's hostile catalogue.
#
# Every run loads the event tracer and the stream dump plugins and must
# exit 0, keep rx_packets = tx_packets + drops, write exactly the input
# (a monitor is transparent) or, with --drop-malformed, the input without
# its malformed frames, and give the counters, streams and trace lines the
# generator derived from the capture (hostile_gen.py, which documents each
# scenario; hostile_check.py compares). All runs are made before the
# result is decided, so one failure does not hide the others.
#
# The sanitizer build runs this too: MOONBOX, MB_PLUGINS and MB_TOOLS of an
# -DMOONBOX_ASAN=ON -DMOONBOX_UBSAN=ON build directory.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
# The generators import hostile_model.py: no bytecode in the source tree.
export PYTHONDONTWRITEBYTECODE=1
: "${MB_PLUGINS:=$(dirname "$MB_TOOLS")/plugins}"
TRACE="$MB_PLUGINS/trace.so"
STREAMS="$MB_PLUGINS/streams.so"
GEN="$TMP/gen"
nbad=0

# bad MSG...: record a failed check and go on.
bad() {
	echo "FAIL: $*" >&2
	nbad=$((nbad + 1))
}

# run_plugins ID ARGS...: moonbox with both plugins, output in $TMP/ID.*;
# prints the exit status.
run_plugins() {
	local id=$1

	shift
	rm -rf "$TMP/$id.st"
	mkdir -p "$TMP/$id.st"
	run_status "$TMP/$id" run_moonbox --stats "$TMP/$id.json" \
		-w "$TMP/$id.out.pcap" --plugin "$TRACE" --plugin "$STREAMS" \
		--plugin-arg "out=$TMP/$id.trace" --plugin-arg "dir=$TMP/$id.st" "$@"
}

# check_run ID RC EXPECTED.pcap [--ignore-order]: what every run must do.
check_run() {
	local id=$1 rc=$2 want=$3

	shift 3
	if [ "$rc" != 0 ]; then
		bad "$id: exit status $rc: $(tail -5 "$TMP/$id.err")"
		return 1
	fi
	if grep -q "runtime error\|Sanitizer" "$TMP/$id.err"; then
		bad "$id: sanitizer report: $(grep -m3 "runtime error\|Sanitizer" \
			"$TMP/$id.err")"
	fi
	"$PCAPCMP" "$@" "$want" "$TMP/$id.out.pcap" >"$TMP/$id.cmp" 2>&1 ||
		bad "$id: output is not $(basename "$want"): $(cat "$TMP/$id.cmp")"
	(check_conservation "$TMP/$id.json") 2>"$TMP/$id.cons" ||
		bad "$id: $(cat "$TMP/$id.cons")"
	assert_eq "$(json_get "$TMP/$id.json" rx_nombuf)" 0 "$id: rx_nombuf"
}

step "generate captures"
mkdir -p "$GEN"
"$PY" "$HERE/hostile_gen.py" "$GEN" || fail "hostile_gen.py"

# One line per run: ID PCAP OUTPUT ORDER ARGS...
"$PY" -c '
import json, sys
for r in json.load(open(sys.argv[1])):
    print(r["id"], r["pcap"], r["output"],
          "any" if r.get("any_order") else "same", *r["args"])
' "$GEN/runs.json" >"$TMP/runs.txt"
[ "$(wc -l <"$TMP/runs.txt")" -ge 15 ] || fail "too few runs generated"

while read -r id pcap want order args; do
	step "$id${args:+ ($args)}"
	# Word splitting of args is wanted: options without spaces.
	# shellcheck disable=SC2086
	rc=$(run_plugins "$id" -r "$GEN/$pcap" $args)
	opt=()
	[ "$order" = any ] && opt=(--ignore-order)
	check_run "$id" "$rc" "$GEN/$want" "${opt[@]}" || continue
	if [ "$order" = any ]; then
		(check_cores_sum "$TMP/$id.json") 2>"$TMP/$id.cores" ||
			bad "$id: $(cat "$TMP/$id.cores")"
	fi
	"$PY" "$HERE/hostile_check.py" "$GEN/runs.json" "$id" "$TMP/$id.json" \
		"$TMP/$id.st" "$TMP/$id.trace".* >"$TMP/$id.check" 2>&1 ||
		bad "$(cat "$TMP/$id.check")"
done <"$TMP/runs.txt"

step "mkpcap's hostile catalogue, with flows tracked"
"$MKPCAP" hostile "$TMP/cat.pcap" --manifest "$TMP/cat.man" 2>/dev/null
"$MKPCAP" hostile "$TMP/cat.valid.pcap" --valid-only 2>/dev/null
for mode in plain drop cores; do
	case $mode in
	plain)	rc=$(run_plugins cat-$mode -r "$TMP/cat.pcap")
		check_run cat-$mode "$rc" "$TMP/cat.pcap" || continue ;;
	drop)	rc=$(run_plugins cat-$mode -r "$TMP/cat.pcap" --drop-malformed)
		check_run cat-$mode "$rc" "$TMP/cat.valid.pcap" || continue
		assert_eq "$(json_get "$TMP/cat-$mode.json" dropped_malformed)" \
			"$(awk '$1 == "malformed" { print $2 }' "$TMP/cat.man")" \
			"catalogue: dropped_malformed" ;;
	cores)	rc=$(run_plugins cat-$mode -r "$TMP/cat.pcap" -c 2)
		check_run cat-$mode "$rc" "$TMP/cat.pcap" --ignore-order ||
			continue ;;
	esac
	(check_counters "$TMP/cat-$mode.json" "$TMP/cat.man") \
		2>"$TMP/cat-$mode.cnt" || bad "catalogue $mode: $(cat "$TMP/cat-$mode.cnt")"
	[ "$(json_get "$TMP/cat-$mode.json" flows_created)" -gt 0 ] ||
		bad "catalogue $mode: its background connections made no flow"
done

[ "$nbad" = 0 ] || fail "$nbad check(s) failed (see above)"
echo "PASS"
