#!/usr/bin/python3
"""hostile_check.py RUNS.json ID STATS.json STREAMS_DIR [TRACE...] - check
one moonbox run of test_hostile.sh or test_ipfrag.sh against what the
generator expects (see hostile_gen.py for the fields of a run). Prints one
line per mismatch and exits 1 if there was any.

Trace checks (tests/plugins/trace.c lines
"HOOK EVENT SIDE flags=F seq=S len=L cli=STATE svr=STATE"):
  orphans    number of MOS_ON_ORPHAN callbacks
  timeouts   number of MOS_ON_TIMEOUT callbacks
  conn_ends  number of flows ended (4 MOS_ON_CONN_END callbacks each:
             both sides at both hooks)
  rst_close  the sequence numbers of the RST segments that changed a
             state: exactly these (a set)
  rst_seen   number of RST segments seen by a flow (at MOS_HK_SND)
  segments   [[seq, len], ...]: each must appear as a packet of a flow
             (MOS_HK_SND), with that payload length
  absent     [[seq, len], ...]: none may appear
"""

import json
import os
import re
import sys

LINE = re.compile(r"^(\w+) (\w+) (\w+)(?: flags=(\w*) seq=(\d+) len=(\d+))?")


def read_dir(d):
    out = {}
    if os.path.isdir(d):
        for n in sorted(os.listdir(d)):
            if not n.startswith("summary."):
                with open(os.path.join(d, n), "rb") as f:
                    out[n] = f.read()
    return out


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_streams(bad, want, got):
    for n in sorted(set(want) | set(got)):
        if n not in got:
            bad.append("stream %s missing (%d bytes expected, starting %r)"
                       % (n, len(want[n]), want[n][:24]))
        elif n not in want:
            bad.append("unexpected stream %s (%d bytes, starting %r)"
                       % (n, len(got[n]), got[n][:24]))
        elif want[n] != got[n]:
            i = first_diff(want[n], got[n])
            bad.append("stream %s: %d bytes, expected %d; first difference "
                       "at %d: %r instead of %r" %
                       (n, len(got[n]), len(want[n]), i, got[n][i:i + 24],
                        want[n][i:i + 24]))


def parse_trace(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for line in f:
                m = LINE.match(line)
                if m:
                    hook, ev, side, fl, seq, ln = m.groups()
                    recs.append(dict(hook=hook, ev=ev, side=side, flags=fl,
                                     seq=None if seq is None else int(seq),
                                     len=None if ln is None else int(ln)))
    return recs


def check_trace(bad, want, recs):
    def count(pred):
        return sum(1 for r in recs if pred(r))

    if "orphans" in want:
        n = count(lambda r: r["ev"] == "ORPHAN")
        if n != want["orphans"]:
            bad.append("trace: %d MOS_ON_ORPHAN, expected %d" %
                       (n, want["orphans"]))
    if "timeouts" in want:
        n = count(lambda r: r["ev"] == "TIMEOUT")
        if n != want["timeouts"]:
            bad.append("trace: %d MOS_ON_TIMEOUT, expected %d" %
                       (n, want["timeouts"]))
    if "conn_ends" in want:
        n = count(lambda r: r["ev"] == "CONN_END")
        if n != 4 * want["conn_ends"]:
            bad.append("trace: %d MOS_ON_CONN_END callbacks, expected %d "
                       "(%d flows)" % (n, 4 * want["conn_ends"],
                                       want["conn_ends"]))
    if "rst_close" in want:
        got = {r["seq"] for r in recs if r["ev"] == "STATE_CHANGE" and
               r["flags"] is not None and "R" in r["flags"]}
        exp = set(want["rst_close"])
        if got != exp:
            bad.append("trace: RSTs that changed a state: extra %s, "
                       "missing %s" % (sorted(got - exp), sorted(exp - got)))
    if "rst_seen" in want:
        n = count(lambda r: r["hook"] == "SND" and r["ev"] == "PKT_IN" and
                  r["flags"] is not None and "R" in r["flags"])
        if n != want["rst_seen"]:
            bad.append("trace: %d RST segments reached a flow, expected %d"
                       % (n, want["rst_seen"]))
    segs = {(r["seq"], r["len"]) for r in recs
            if r["hook"] == "SND" and r["ev"] == "PKT_IN"}
    for seq, ln in want.get("segments", []):
        if (seq, ln) not in segs:
            lens = sorted(x[1] for x in segs if x[0] == seq)
            bad.append("trace: no packet seq=%d len=%d at MOS_HK_SND "
                       "(lengths seen with that seq: %s)" % (seq, ln, lens))
    for seq, ln in want.get("absent", []):
        if (seq, ln) in segs:
            bad.append("trace: packet seq=%d len=%d should not reach a flow"
                       % (seq, ln))


def summary_errors(d):
    n = 0
    for name in os.listdir(d):
        if name.startswith("summary."):
            with open(os.path.join(d, name)) as f:
                for line in f:
                    k, v = line.split()
                    if k == "errors":
                        n += int(v)
    return n


def main():
    runs, rid, stats_path, sdir = sys.argv[1:5]
    traces = sys.argv[5:]
    run = next(r for r in json.load(open(runs)) if r["id"] == rid)
    gen = os.path.dirname(runs)
    s = json.load(open(stats_path))
    bad = []

    for k, v in sorted(run.get("exact", {}).items()):
        if s.get(k) != v:
            bad.append("%s = %s, expected %d" % (k, s.get(k), v))
    for k, v in sorted(run.get("atleast", {}).items()):
        if s.get(k, -1) < v:
            bad.append("%s = %s, expected at least %d" % (k, s.get(k), v))
    for names, v in run.get("sum", []):
        t = sum(s.get(k, 0) for k in names)
        if t != v:
            bad.append("%s add up to %d, expected %d" %
                       (" + ".join(names), t, v))
    # Each frame is classified exactly once.
    cls = s["tcp_packets"] + s["non_tcp"] + s["malformed"]
    if cls != s["rx_packets"]:
        bad.append("tcp_packets %d + non_tcp %d + malformed %d = %d, but "
                   "rx_packets = %d" % (s["tcp_packets"], s["non_tcp"],
                                        s["malformed"], cls, s["rx_packets"]))
    if not run.get("streams_any"):
        check_streams(bad, read_dir(os.path.join(gen, run["streams"])),
                      read_dir(sdir))
    if "errors" in run:
        n = summary_errors(sdir)
        if n != s[run["errors"]]:
            bad.append("the streams plugin got %d MOS_ON_ERROR, %s = %d" %
                       (n, run["errors"], s[run["errors"]]))
    if "trace" in run:
        check_trace(bad, run["trace"], parse_trace(traces))
    for b in bad:
        print("%s: %s" % (rid, b))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
