# tests/integration/lib.sh - helpers shared by the integration tests, which
# run the real moonbox on generated captures. Source it first thing:
#
#	. "$(dirname "$0")/lib.sh"
#
# It turns on `set -euo pipefail`, checks the environment ctest provides
# (MOONBOX, MB_TOOLS; MB_BUILD and MB_SRC are optional), and makes $TMP, a
# scratch directory removed at exit (kept when MB_KEEP_TMP=1, to debug).

set -euo pipefail

: "${MOONBOX:?MOONBOX must name the moonbox binary}"
: "${MB_TOOLS:=${MB_BUILD:?MB_TOOLS or MB_BUILD must be set}/tests/tools}"
# For the tests that source this file.
# shellcheck disable=SC2034
MKPCAP="${MB_MKPCAP:-$(dirname "$(dirname "$MB_TOOLS")")/bench/mkpcap}"
# shellcheck disable=SC2034
PCAPCMP="$MB_TOOLS/pcapcmp"
# The test plugins (tests/plugins) of the build.
: "${MB_PLUGINS:=$(dirname "$MB_TOOLS")/plugins}"
PY=/usr/bin/python3
# The Python test tools' sources (tests/tools: pcapfile.py).
LIB_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/moonbox-test.XXXXXX")

lib_cleanup() {
	local rc=$? job

	# A step that failed while a moonbox ran in the background (replaying
	# a capture without end) leaves none running.
	for job in $(jobs -p); do
		kill -KILL "$job" 2>/dev/null || true
		wait "$job" 2>/dev/null || true
	done
	if [ "${MB_KEEP_TMP:-0}" = 1 ]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	return $rc
}
trap lib_cleanup EXIT

# fail MSG...: report and end the test.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# step MSG...: say what the test is doing (shows with --output-on-failure).
step() {
	echo "-- [${SECONDS}s] $*"
}

# json_get FILE KEY: print a value of a JSON file. KEY may be a dotted path
# into objects and arrays ("cores.1.rx_packets"); a missing key fails.
json_get() {
	"$PY" -c '
import json, sys
path, key = sys.argv[1], sys.argv[2]
try:
    v = json.load(open(path))
    for k in key.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
    sys.exit("json_get: %s: no usable key %r (%s)" % (path, key, e))
print(len(v) if isinstance(v, list) else v)
' "$1" "$2" || fail "json_get $1 $2"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# sum_field FILE REGEX: sum of the first number matched by the sed
# expression's \1 over all lines of FILE (a counter over a run's cores).
sum_field() {
	sed -n "s/$2/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# checksums_ok PCAP: tshark finds every IP and TCP checksum good (and
# some TCP frames at all).
checksums_ok() {
	local total good

	total=$(tshark -r "$1" -Y tcp 2>/dev/null | wc -l)
	good=$(tshark -r "$1" -o ip.check_checksum:TRUE \
		-o tcp.check_checksum:TRUE \
		-Y 'tcp && ip.checksum.status == 1 && tcp.checksum.status == 1' \
		2>/dev/null | wc -l)
	[ "$total" -gt 0 ] || fail "$1: no TCP frames"
	assert_eq "$good" "$total" "$1: frames with good IP and TCP checksums"
}

# example_blocks PAGE PREFIX: the .EX/.EE blocks of a man page's EXAMPLES
# section as files PREFIX01, PREFIX02, ..., its roff escapes turned back
# into text (\- is '-', \(aq a quote, \e a backslash, \& nothing).
example_blocks() {
	awk -v out="$2" '
		/^\.SH/ { inex = ($0 ~ /^\.SH +"?EXAMPLES"?/); next }
		inex && /^\.EX/ { n++; code = 1; next }
		inex && /^\.EE/ { code = 0; next }
		code { print > (out sprintf("%02d", n)) }
	' "$1" || fail "cannot read the examples of $1"
	set -- "$2"[0-9][0-9]
	[ -f "$1" ] || return 0
	sed -i -e 's/\\-/-/g' -e 's/\\(aq/'"'"'/g' -e 's/\\&//g' \
		-e 's/\\e/\\/g' "$@"
}

# run_moonbox ARGS...: moonbox without the progress line.
run_moonbox() {
	"$MOONBOX" --no-progress "$@"
}

# run_status PREFIX CMD...: run CMD with stdout in PREFIX.out and stderr in
# PREFIX.err; print its exit status (never fails itself).
run_status() {
	local prefix=$1 rc=0

	shift
	"$@" >"$prefix.out" 2>"$prefix.err" || rc=$?
	echo "$rc"
}

# stop_within PID SIGNAL WHAT: send SIGNAL (INT, TERM) to background job
# PID and wait up to 10 s for it to end (failing with WHAT otherwise); its
# exit status goes to STOP_RC. Not in a $(...): wait needs this shell.
stop_within() {
	STOP_RC=0
	kill -"$2" "$1"
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		fail "$3: SIG$2 did not end it within 10 s"
	fi
	wait "$1" || STOP_RC=$?
}

# check_conservation STATS.json: every received frame has exactly one fate,
# rx_packets == tx_packets + the sum of all dropped_* counters.
check_conservation() {
	"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
drops = {k: v for k, v in s.items() if k.startswith("dropped_")}
if not drops:
    sys.exit("no dropped_* counters in %s" % sys.argv[1])
if s["rx_packets"] != s["tx_packets"] + sum(drops.values()):
    sys.exit("rx_packets %d != tx_packets %d + drops %r" %
             (s["rx_packets"], s["tx_packets"], drops))
' "$1" || fail "conservation of frames in $1"
}

# check_counters STATS.json FILE: every "key count" line of FILE (an
# mkpcap manifest) equals the JSON counter of the same name; "frames", the
# frames in the capture, is compared with rx_packets.
check_counters() {
	"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
bad, n = [], 0
for line in open(sys.argv[2]):
    if not line.strip():
        continue
    k, v = line.split()
    n += 1
    if k == "frames":
        k = "rx_packets"
    if k not in s:
        bad.append("%s missing" % k)
    elif s[k] != int(v):
        bad.append("%s = %d, expected %s" % (k, s[k], v))
if n == 0:
    bad.append("no counters in %s" % sys.argv[2])
if bad:
    sys.exit("; ".join(bad))
' "$1" "$2" || fail "counters of $1 against $2"
}

# check_cores_sum STATS.json: each counter of the totals is the sum of the
# per-core ones and the distributor's, if any (rx_nombuf and flows_active
# are gauges of the whole run, final says whether it was over).
check_cores_sum() {
	"$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
cores = s["cores"] + ([s["distributor"]] if "distributor" in s else [])
for k, v in s.items():
    if k in ("cores", "distributor", "rx_nombuf", "flows_active",
             "run_seconds", "tsc_hz", "final"):
        continue
    t = sum(c.get(k, 0) for c in cores)
    if t != v:
        sys.exit("%s: total %d, cores sum to %d" % (k, v, t))
' "$1" || fail "per-core counters of $1"
}

# pcap_count FILE: number of frames in a pcap file (either timestamp
# precision, either byte order); fails on anything else or a cut record.
pcap_count() {
	"$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
m = d[:4]
if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    e = "<"
elif m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
    e = ">"
else:
    sys.exit("%s: not a pcap file" % sys.argv[1])
off, n = 24, 0
while off + 16 <= len(d):
    off += 16 + struct.unpack(e + "I", d[off + 8:off + 12])[0]
    n += 1
if off != len(d):
    sys.exit("%s: last record cut" % sys.argv[1])
print(n)
' "$1" || fail "pcap_count $1"
}

# sanitizer_build: succeeds when the build under test links
# AddressSanitizer (tests/run --asan). (Not `ldd | grep -q`: with
# pipefail, grep leaving early can fail ldd with SIGPIPE, and the pipeline
# with it.)
sanitizer_build() {
	ldd "$MB_BUILD/engine/libmoonbox.so" >"$TMP/ldd.out" ||
		fail "ldd $MB_BUILD/engine/libmoonbox.so"
	grep -q libasan "$TMP/ldd.out"
}

# time_jump IN OUT SECONDS INDEX: IN with record INDEX (0 the first, -1
# the last) SECONDS later; prints that record's new time in milliseconds.
time_jump() {
	"$PY" - "$LIB_TOOLS" "$@" <<'PY' || fail "time_jump $*"
import struct, sys
sys.path.insert(0, sys.argv[1])
import pcapfile  # noqa: E402
hdr, e, recs = pcapfile.read(sys.argv[2])
i = int(sys.argv[5])
rh, b = recs[i]
sec, usec = struct.unpack(e + "II", rh[:8])
sec += int(sys.argv[4])
recs[i] = (struct.pack(e + "II", sec, usec) + rh[8:], b)
pcapfile.write(sys.argv[3], hdr, e, recs)
print(sec * 1000 + usec // 1000)
PY
}

# same_times IN OUT: OUT's frames carry the time stamps libpcap reads for
# IN's first frames (tcpdump writes what it read; for a damaged file, up
# to the damage), compared as pcapfile.timed's instants.
same_times() {
	rm -f "$TMP/same_times.pcap"
	tcpdump -r "$1" -w "$TMP/same_times.pcap" 2>/dev/null || true
	"$PY" - "$LIB_TOOLS" "$TMP/same_times.pcap" "$2" <<'PY'
import sys

sys.path.insert(0, sys.argv[1])
import pcapfile  # noqa: E402

ref, out = ([t for t, _ in pcapfile.timed(f)] for f in sys.argv[2:4])
if ref and not out:
    sys.exit(1)	# nothing written: nothing to compare is no success
sys.exit(0 if ref[:len(out)] == out else 1)
PY
}

# -- Checks that record a failure and go on, so that all runs are made
# before the verdict and one failure does not hide the others.

nbad=0

# bad MSG...: record a failed check.
bad() {
	echo "FAIL: $*" >&2
	nbad=$((nbad + 1))
}

# verdict: fail if any check failed, else PASS.
verdict() {
	[ "$nbad" = 0 ] || fail "$nbad check(s) failed (see above)"
	echo "PASS"
}

# check_run ID RC EXPECTED.pcap: what every run of a generated scenario
# must do: exit 0 without sanitizer reports, write the expected frames
# ($TMP/ID.out.pcap), conserve frames ($TMP/ID.json), lose no buffers.
check_run() {
	local id=$1 rc=$2 want=$3

	if [ "$rc" != 0 ]; then
		bad "$id: exit status $rc: $(tail -5 "$TMP/$id.err")"
		return 1
	fi
	if grep -q "runtime error\|Sanitizer" "$TMP/$id.err"; then
		bad "$id: sanitizer report: $(grep -m3 "runtime error\|Sanitizer" \
			"$TMP/$id.err")"
	fi
	"$PCAPCMP" "$want" "$TMP/$id.out.pcap" >"$TMP/$id.cmp" 2>&1 ||
		bad "$id: output is not $(basename "$want"): $(cat "$TMP/$id.cmp")"
	(check_conservation "$TMP/$id.json") 2>"$TMP/$id.cons" ||
		bad "$id: $(cat "$TMP/$id.cons")"
	assert_eq "$(json_get "$TMP/$id.json" rx_nombuf)" 0 "$id: rx_nombuf"
}

# run_plugins ID ARGS...: moonbox with the event tracer and the stream
# dump plugins (tests/plugins), output in $TMP/ID.*; prints the exit
# status.
run_plugins() {
	local id=$1

	shift
	rm -rf "$TMP/$id.st"
	mkdir -p "$TMP/$id.st"
	run_status "$TMP/$id" run_moonbox --stats "$TMP/$id.json" \
		-w "$TMP/$id.out.pcap" --plugin "$MB_PLUGINS/trace.so" \
		--plugin "$MB_PLUGINS/streams.so" --plugin-arg "out=$TMP/$id.trace" \
		--plugin-arg "dir=$TMP/$id.st" "$@"
}

# list_runs RUNS.json: a generator's runs, one line each:
# ID PCAP OUTPUT ARGS...
list_runs() {
	"$PY" -c '
import json, sys
for r in json.load(open(sys.argv[1])):
    print(r["id"], r["pcap"], r["output"], *r["args"])
' "$1"
}
