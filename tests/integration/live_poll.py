#!/usr/bin/python3
"""live_poll.py - oracle of a running program's live counters (--stats FILE
with --stats-interval, or SIGUSR1), shared by test_live_stats.sh and
test_standalone.sh.

  live_poll.py FILE SECONDS MIN [--every S] [--stop-at N] [--wait]
                [--held]

Polls FILE every S seconds (0.05) for SECONDS, or until N distinct
snapshots were seen: every read is a whole JSON object with final false,
at least MIN distinct snapshots (by run_seconds) are seen, and the run
time and the packets grow from each to the next. With --held, FILE is
opened once at the start and must still read as it did then: rewrites
replace the file, they do not write into it. Exits 1 with the reason when
a check fails. With --wait FILE may not exist yet until the first
snapshot; otherwise it must exist at every read."""
import argparse
import json
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("seconds", type=float)
ap.add_argument("min", type=int)
ap.add_argument("--every", type=float, default=0.05)
ap.add_argument("--stop-at", type=int)
ap.add_argument("--wait", action="store_true")
ap.add_argument("--held", action="store_true")
a = ap.parse_args()

if a.held:
    held = open(a.file)
    before = held.read()
seen, end = [], time.time() + a.seconds
while time.time() < end and (a.stop_at is None or len(seen) < a.stop_at):
    if not (a.wait and not seen and not os.path.exists(a.file)):
        with open(a.file) as f:
            s = json.load(f)
        assert s["final"] is False, "final while running"
        if not seen or s["run_seconds"] != seen[-1][0]:
            seen.append((s["run_seconds"], s["rx_packets"]))
    time.sleep(a.every)
assert len(seen) >= a.min, "written %d times in %g s" % (len(seen), a.seconds)
for (t0, n0), (t1, n1) in zip(seen, seen[1:]):
    assert t1 > t0 and n1 > n0, "did not grow: %r" % seen
if a.held:
    held.seek(0)
    assert held.read() == before, "the file was written in place"
    json.loads(before)
