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
GEN="$TMP/gen"

step "generate captures"
mkdir -p "$GEN"
"$PY" "$HERE/hostile_gen.py" "$GEN" || fail "hostile_gen.py"

# One line per run: ID PCAP OUTPUT ORDER ARGS...
list_runs "$GEN/runs.json" >"$TMP/runs.txt"
[ "$(wc -l <"$TMP/runs.txt")" -ge 15 ] || fail "too few runs generated"

while read -r id pcap want args; do
	step "$id${args:+ ($args)}"
	# Word splitting of args is wanted: options without spaces.
	# shellcheck disable=SC2086
	rc=$(run_plugins "$id" -r "$GEN/$pcap" $args)
	check_run "$id" "$rc" "$GEN/$want" || continue
	if [[ " $args " == *" -c "* ]]; then
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
		check_run cat-$mode "$rc" "$TMP/cat.pcap" || continue ;;
	esac
	(check_counters "$TMP/cat-$mode.json" "$TMP/cat.man") \
		2>"$TMP/cat-$mode.cnt" || bad "catalogue $mode: $(cat "$TMP/cat-$mode.cnt")"
	[ "$(json_get "$TMP/cat-$mode.json" flows_created)" -gt 0 ] ||
		bad "catalogue $mode: its background connections made no flow"
done

verdict
