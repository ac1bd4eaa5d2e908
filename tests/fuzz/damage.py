#!/usr/bin/env python3
"""damage.py - a random-damage campaign against the whole engine (CI runs
seeds 1 to 20; longer campaigns, with other seeds, are run by hand): for
each seed, mkpcap writes a conversation capture (random
connection counts, reordering, retransmissions, overlaps, resets,
sequence wrap), about 3 % of its TCP segments get one header field
replaced (sequence or acknowledgement number, flags, window, data
offset, or a sequence number moved by up to 5000) and 1 % each are
duplicated, dropped or swapped with the previous one; moonbox then runs
on it in five set-ups (the event tracer and stream dump plugins at a
random window; rewrite.lua; nat.lua with an 11-port pool; stream_dump.lua
on 2 cores; http_log.lua). A run fails if moonbox exits non-zero, a
sanitizer reports anything, a frame is unaccounted for (rx_packets !=
tx_packets + the dropped_* counters), or a script raised an error. Use an
ASan + UBSan build (./tests/run --asan makes build-asan/).

Usage: tests/fuzz/damage.py [--build DIR] [--seeds N] [--first S]
                            [--work DIR]
Exit status: 0 when every run passed, 1 otherwise.
"""
import argparse
import json
import os
import random
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import pcapfile  # noqa: E402

# Offsets in an untagged Ethernet + 20-byte IPv4 frame.
TCP_SEQ, TCP_ACK, TCP_OFF, TCP_FLAGS, TCP_WIN = 38, 42, 46, 47, 48


def damage(rnd, recs):
    out = []
    for rh, frame in recs:
        b = bytearray(frame)
        x = rnd.random()
        if x < 0.03 and len(b) >= 54:
            f = rnd.randint(0, 5)
            if f == 0:
                b[TCP_SEQ:TCP_SEQ + 4] = rnd.getrandbits(32).to_bytes(4, "big")
            elif f == 1:
                b[TCP_ACK:TCP_ACK + 4] = rnd.getrandbits(32).to_bytes(4, "big")
            elif f == 2:
                b[TCP_FLAGS] = rnd.getrandbits(8)
            elif f == 3:
                b[TCP_WIN:TCP_WIN + 2] = rnd.getrandbits(16).to_bytes(2, "big")
            elif f == 4:
                b[TCP_OFF] = rnd.getrandbits(8)
            else:
                seq = int.from_bytes(b[TCP_SEQ:TCP_SEQ + 4], "big")
                seq = (seq + rnd.randint(-5000, 5000)) & 0xffffffff
                b[TCP_SEQ:TCP_SEQ + 4] = seq.to_bytes(4, "big")
        elif x < 0.04:
            out.append((rh, bytes(b)))      # duplicated
        elif x < 0.05:
            continue                                  # dropped
        elif x < 0.06 and out:
            out.insert(len(out) - 1, (rh, bytes(b)))  # swapped
            continue
        out.append((rh, bytes(b)))
    return out


def run(build, work, tag, args, pcap):
    stats = os.path.join(work, tag + ".json")
    cmd = [os.path.join(build, "lua/moonbox"), "--no-progress", "-r", pcap,
           "-w", os.path.join(work, tag + ".out.pcap"), "--stats", stats] + args
    env = dict(os.environ, UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env, timeout=300)
    bad = []
    if p.returncode != 0:
        bad.append("exit status %d" % p.returncode)
    if any(w in p.stderr for w in ("AddressSanitizer", "LeakSanitizer",
                                   "runtime error")):
        bad.append("sanitizer report")
    try:
        with open(stats) as f:
            s = json.load(f)
        drops = sum(v for k, v in s.items() if k.startswith("dropped_"))
        if s["rx_packets"] != s["tx_packets"] + drops:
            bad.append("rx_packets %d != tx_packets %d + drops %d" %
                       (s["rx_packets"], s["tx_packets"], drops))
        # A shipped script must not fail on hostile input either.
        if s["script_errors"] != 0:
            bad.append("%d script errors" % s["script_errors"])
    except (OSError, ValueError, KeyError) as e:
        bad.append("statistics: %s" % e)
    if bad:
        print("FAIL %s: %s\n  %s\n%s" % (tag, "; ".join(bad), " ".join(cmd),
                                         p.stderr[-3000:]))
    return not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build-asan"))
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--work", default="/tmp/moonbox-damage")
    a = ap.parse_args()
    for d in ("st", "sd"):
        os.makedirs(os.path.join(a.work, d), exist_ok=True)
    plugins = os.path.join(a.build, "tests/plugins")
    scripts = os.path.join(SRC, "scripts")
    failed = 0
    for seed in range(a.first, a.first + a.seeds):
        rnd = random.Random(seed)
        base = os.path.join(a.work, "base.pcap")
        gen = ["--conns", str(rnd.randint(5, 40)), "--seed", str(seed),
               "--concurrency", str(rnd.randint(1, 16))]
        for o in ("--reorder", "--rexmit", "--overlap", "--rst"):
            if rnd.random() < 0.5:
                gen += [o, "%.2f" % rnd.uniform(0, 0.3)]
        if rnd.random() < 0.3:
            gen.append("--wrap")
        subprocess.run([os.path.join(a.build, "bench/mkpcap"), "flows",
                        base] + gen, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        hdr, e, recs = pcapfile.read(base)
        cap = os.path.join(a.work, "damaged%d.pcap" % seed)
        pcapfile.write(cap, hdr, e, damage(rnd, recs))
        setups = [
            ("plugins", ["--plugin", os.path.join(plugins, "trace.so"),
                         "--plugin", os.path.join(plugins, "streams.so"),
                         "--plugin-arg",
                         "out=" + os.path.join(a.work, "trace"),
                         "--plugin-arg", "dir=" + os.path.join(a.work, "st"),
                         "--rmem", str(rnd.choice([64, 1000, 8192]))]),
            ("rewrite", [os.path.join(scripts, "rewrite.lua"), "abc", "XYZ"]),
            ("nat", [os.path.join(scripts, "nat.lua"), "192.0.2.1",
                     "20000-20010"]),
            ("c2", ["-c", "2", os.path.join(scripts, "stream_dump.lua"),
                    os.path.join(a.work, "sd")]),
            ("http_log", [os.path.join(scripts, "http_log.lua")]),
        ]
        ok = all([run(a.build, a.work, "%s-%d" % (tag, seed), args, cap)
                  for tag, args in setups])
        if ok:
            os.remove(cap)      # failing captures stay, as reproducers
        else:
            failed += 1
        print("seed %d: %s" % (seed, "ok" if ok else "FAILED"), flush=True)
    print("%d seed(s), %d failed" % (a.seeds, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
