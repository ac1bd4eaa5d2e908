#!/usr/bin/python3
"""setlastpkt_check.py - oracles for test_setlastpkt.sh.

Works on the bytes of captures (no scapy, so it starts fast) and on
tshark's reading of them; nothing here asks moonbox what it did, except
the plugin's log where a test needs to know when a flow ended.

Flows are told apart by their 4-tuple; the client is the sender of the
SYN. "Selected" frames are those the modify plugin edits for the same
dir/nth arguments: frames sent in the chosen direction(s), and with nth > 0
only the nth frame carrying payload of that direction in each flow.

Subcommands (each exits non-zero with a message when a check fails):
  expect IN EXP [edit options]     write the capture moonbox must produce
  sendpkt IN OUT STATS             output = input + one valid copy each,
                                   time stamps included
  reset IN OUT LOG STATS           two exact RSTs per flow, then orphans
  wires IN OUT SWIRE RWIRE         the two sides' views of a rewritten run
  streams PLAIN SWIRE RWIRE ...    tshark's reassembly of both wires
  analysis REF CAP...              tshark flags the same frames
"""

import argparse
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tools"))
import pcapfile  # noqa: E402

RST, SYN, FIN, ACK = 0x04, 0x02, 0x01, 0x10
MARK = b"moonbox-sendpkt!"


def die(msg):
    sys.exit("setlastpkt_check: " + msg)


def read_pcap(path):
    try:
        return pcapfile.read(path)
    except pcapfile.PcapError as x:
        die(str(x))


def frames(path):
    return [b for _, b in read_pcap(path)[2]]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Tcp:
    """An Ethernet/IPv4/TCP frame (None from parse() for anything else)."""

    def __init__(self, b):
        self.b = b
        self.ihl = (b[14] & 15) * 4
        self.tot = struct.unpack("!H", b[16:18])[0]
        self.t = 14 + self.ihl
        self.doff = (b[self.t + 12] >> 4) * 4
        self.src, self.dst = b[26:30], b[30:34]
        self.sport, self.dport, self.seq, self.ack = struct.unpack(
            "!HHII", b[self.t:self.t + 12])
        self.flags = b[self.t + 13]
        self.payload = b[self.t + self.doff:14 + self.tot]

    def ends(self):
        """Sequence number after this segment (SYN and FIN count)."""
        return (self.seq + len(self.payload) + (self.flags & SYN != 0) +
                (self.flags & FIN != 0)) & 0xffffffff

    def ip_ok(self):
        return csum(self.b[14:self.t]) == 0

    def tcp_ok(self):
        seg = self.b[self.t:14 + self.tot]
        pseudo = self.src + self.dst + struct.pack("!BBH", 0, 6, len(seg))
        return csum(pseudo + seg) == 0


def parse(b):
    if len(b) < 54 or b[12:14] != b"\x08\x00" or b[23] != 6:
        return None
    return Tcp(b)


def fix_csums(b):
    """b (bytearray) with correct IPv4 and TCP checksums."""
    ihl = (b[14] & 15) * 4
    tot = struct.unpack("!H", b[16:18])[0]
    t = 14 + ihl
    b[24:26] = b"\0\0"
    b[24:26] = struct.pack("!H", csum(bytes(b[14:t])))
    b[t + 16:t + 18] = b"\0\0"
    seg = bytes(b[t:14 + tot])
    pseudo = bytes(b[26:34]) + struct.pack("!BBH", 0, 6, len(seg))
    b[t + 16:t + 18] = struct.pack("!H", csum(pseudo + seg))
    return b


def seq_after(a, b):
    return 0 < ((a - b) & 0xffffffff) < 0x80000000


def classify(fs):
    """Per frame: None, or (flow key, sender 0=client 1=server, n) where n
    is the number of the frame among its sender's payload frames in the
    flow (0 for frames without payload)."""
    client, count, out = {}, {}, []
    for b in fs:
        p = parse(b)
        if p is None:
            out.append(None)
            continue
        a, z = (p.src, p.sport), (p.dst, p.dport)
        key = tuple(sorted((a, z)))
        if p.flags & (SYN | ACK) == SYN:
            client[key] = a
            count[key] = [0, 0]
        if key not in client:
            die("frame of a flow without SYN")
        side = 0 if client[key] == a else 1
        n = 0
        if p.payload:
            count[key][side] += 1
            n = count[key][side]
        out.append((key, side, n))
    return out


def selector(direction, nth):
    dirs = {"c2s": (0,), "s2c": (1,), "both": (0, 1)}[direction]

    def sel(c):
        return c is not None and c[1] in dirs and (nth == 0 or c[2] == nth)
    return sel


def cmd_expect(a):
    hdr, e, recs = read_pcap(a.input)
    cls = classify([b for _, b in recs])
    sel = selector(a.dir, a.nth)
    out, nsel, nchanged, ndrop = [], 0, 0, 0
    for (rh, b), c in zip(recs, cls):
        if not sel(c):
            out.append((rh, b))
            continue
        nsel += 1
        if a.drop:
            ndrop += 1
            continue
        p = parse(b)
        n = bytearray(b)
        if a.pattern:
            pl = p.payload.replace(a.pattern.encode(), a.replace.encode())
            start = p.t + p.doff
            n[start:start + len(pl)] = pl
        if a.ttl is not None:
            n[22] = a.ttl
        if a.sport is not None:
            n[p.t:p.t + 2] = struct.pack("!H", a.sport)
        if a.dport is not None:
            n[p.t + 2:p.t + 4] = struct.pack("!H", a.dport)
        if a.ipopt and p.ihl + a.ipopt <= 60:
            n[p.t:p.t] = b"\x01" * a.ipopt
            n[14] += a.ipopt // 4
            n[16:18] = struct.pack("!H", p.tot + a.ipopt)
        t = 14 + (n[14] & 15) * 4
        if a.tcpopt > 0 and p.doff + a.tcpopt <= 60:
            n[t + p.doff:t + p.doff] = b"\x01" * a.tcpopt
        elif a.tcpopt < 0 and p.doff + a.tcpopt >= 20:
            del n[t + 20:t + 20 - a.tcpopt]
        if a.tcpopt and 20 <= p.doff + a.tcpopt <= 60:
            n[t + 12] += (a.tcpopt // 4) << 4
            tot = struct.unpack("!H", n[16:18])[0] + a.tcpopt
            n[16:18] = struct.pack("!H", tot)
        if bytes(n) != b:
            nchanged += 1
            if not a.nocsum:
                fix_csums(n)
        out.append((rh, bytes(n)))
    pcapfile.write(a.exp, hdr, e, out)
    print("selected %d changed %d dropped %d" % (nsel, nchanged, ndrop))


def pop_copy(out, tmpl, ts):
    """Remove from out, a list of (time stamp, frame), the frame
    mtcp_sendpkt must have made from tmpl: its headers with payload MARK,
    lengths and checksums recomputed, and tmpl's time stamp ts (the packet
    being processed when it was sent)."""
    p = parse(tmpl)
    n = bytearray(tmpl[:p.t + p.doff] + MARK)
    n[16:18] = struct.pack("!H", len(n) - 14)
    fix_csums(n)
    n = bytes(n)
    for i, (t, b) in enumerate(out):
        if b == n and t == ts:
            return out[:i] + out[i + 1:]
    return None


def timed(path):
    try:
        return pcapfile.timed(path)
    except pcapfile.PcapError as x:
        die(str(x))


def cmd_sendpkt(a):
    tin, tout = timed(a.input), timed(a.output)
    fin = [b for _, b in tin]
    sel = selector(a.dir, a.nth)
    rest, ncopies = list(tout), 0
    for i, ((ts, b), c) in enumerate(zip(tin, classify(fin))):
        if not sel(c):
            continue
        rest = pop_copy(rest, b, ts)
        if rest is None:
            die("no valid copy of selected frame %d, with its time stamp, "
                "in the output" % (i + 1))
        ncopies += 1
    if ncopies == 0:
        die("no frame selected")
    if rest != tin:
        die("output minus the %d copies differs from the input (frames or "
            "time stamps)" % ncopies)
    s = json.load(open(a.stats))
    if s["pkts_sent"] != ncopies:
        die("pkts_sent %d, expected %d" % (s["pkts_sent"], ncopies))
    print("copies %d" % ncopies)


def cmd_reset(a):
    fin, fout = frames(a.input), frames(a.output)
    sel = selector(a.dir, a.nth)
    cin = classify(fin)
    trig = {c[0]: i for i, c in enumerate(cin) if sel(c)}
    if not trig:
        die("no frame selected")
    errs = []
    # Frames of a reset flow after its trigger must come as orphans.
    orphans = {}
    for i, c in enumerate(cin):
        if c is not None and c[0] in trig and i > trig[c[0]]:
            orphans[c[0]] = orphans.get(c[0], 0) + 1
    # The output is the input with RST|ACK frames added.
    rsts, rest = {}, []
    nxt = {}        # (sender, receiver) -> next sequence number sent
    for b in fout:
        p = parse(b)
        if p is None or p.flags != RST | ACK:
            rest.append(b)
            if p is not None:
                k = ((p.src, p.sport), (p.dst, p.dport))
                if k not in nxt or seq_after(p.ends(), nxt[k]):
                    nxt[k] = p.ends()
            continue
        name = "RST %s:%d -> %s:%d" % (".".join(map(str, p.src)), p.sport,
                                        ".".join(map(str, p.dst)), p.dport)
        if not (p.ip_ok() and p.tcp_ok()):
            errs.append("%s: bad checksum" % name)
        if p.payload:
            errs.append("%s: payload" % name)
        # The receiver expects next what its peer has sent so far.
        want = nxt.get(((p.src, p.sport), (p.dst, p.dport)))
        if want is None or p.seq != want:
            errs.append("%s: seq %d, the receiver expects %s" %
                        (name, p.seq, want))
        key = tuple(sorted(((p.src, p.sport), (p.dst, p.dport))))
        rsts.setdefault(key, []).append((p.src, p.sport))
    if rest != fin:
        errs.append("output minus the RSTs differs from the input")
    for key in trig:
        if sorted(rsts.get(key, [])) != sorted(key):
            errs.append("flow %r: RSTs from %r, expected one from each end"
                        % (key, rsts.get(key)))
    if set(rsts) - set(trig):
        errs.append("RSTs for flows that were not reset")
    # The plugin's log: CONN_END for both sides before any orphan, and
    # every later frame of the flow an orphan.
    byports = {tuple(sorted((k[0][1], k[1][1]))): k for k in trig}
    if len(byports) != len(trig):
        die("reset flows do not have distinct port pairs")
    ends, norph, early = {}, {}, set()
    for line in open(a.log):
        w = line.split()
        if w[0] == "reset" and w[4] != "OK":
            errs.append("mtcp_reset_conn failed: %s" % line.strip())
        if w[0] not in ("end", "orphan"):
            continue
        key = byports.get(tuple(sorted((int(w[1]), int(w[2])))))
        if key is None:
            continue
        if w[0] == "end":
            ends.setdefault(key, set()).add(w[3])
            continue
        if ends.get(key) != {"CLI", "SVR"}:
            early.add(key)
        norph[key] = norph.get(key, 0) + 1
    for key in trig:
        if ends.get(key) != {"CLI", "SVR"}:
            errs.append("flow %r: CONN_END for %r" % (key, ends.get(key)))
        if key in early:
            errs.append("flow %r: orphans before CONN_END" % (key,))
        if norph.get(key, 0) != orphans.get(key, 0):
            errs.append("flow %r: %d orphans logged, %d frames followed "
                        "the reset" % (key, norph.get(key, 0),
                                       orphans.get(key, 0)))
    s = json.load(open(a.stats))
    want = {"pkts_sent": 2 * len(trig), "orphans": sum(orphans.values()),
            "flows_destroyed": s["flows_created"]}
    for k, v in want.items():
        if s[k] != v:
            errs.append("%s = %d, expected %d" % (k, s[k], v))
    if errs:
        die("\n  ".join(["reset:"] + errs))
    print("resets %d orphans %d" % (len(trig), sum(orphans.values())))


def cmd_wires(a):
    """A rewriting middlebox sits between two wires. The sender S of the
    edited direction sees its own frames (input) and the peer's frames as
    moonbox forwards them (output); the receiver R sees S's frames from
    the output and its own from the input."""
    hdr, e, rin = read_pcap(a.input)
    _, _, rout = read_pcap(a.output)
    if len(rin) != len(rout):
        die("input has %d frames, output %d" % (len(rin), len(rout)))
    cls = classify([b for _, b in rin])
    sender = {"c2s": 0, "s2c": 1}[a.dir]
    sw, rw = [], []
    for (rh, bi), (_, bo), c in zip(rin, rout, cls):
        from_s = c is not None and c[1] == sender
        sw.append((rh, bi if from_s else bo))
        rw.append((rh, bo if from_s else bi))
    pcapfile.write(a.swire, hdr, e, sw)
    pcapfile.write(a.rwire, hdr, e, rw)


def tshark(*args):
    r = subprocess.run(("tshark",) + args, capture_output=True)
    if r.returncode != 0:
        die("tshark %s: %s" % (" ".join(args), r.stderr.decode()[-300:]))
    return r.stdout.decode()


def follow(path):
    """{(stream, node): bytes} as tshark reassembles them (node 0 is the
    endpoint seen first: the client), for every stream in one run."""
    fs = frames(path)
    n = sum(1 for b in fs if parse(b) and parse(b).flags & (SYN | ACK) == SYN)
    args = ["-r", path, "-q"]
    for s in range(n):
        args += ["-z", "follow,tcp,raw,%d" % s]
    out, cur = {}, None
    for line in tshark(*args).splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            cur = int(line.split()[-1])
            out[(cur, 0)] = out[(cur, 1)] = b""
        elif cur is None or not line.strip() or line.startswith(
                ("=", "Follow:", "Node ")):
            continue
        else:
            node = 1 if line.startswith("\t") else 0
            out[(cur, node)] += bytes.fromhex(line.strip())
    if len(out) != 2 * n:
        die("%s: tshark followed %d streams of %d" % (path, len(out) // 2, n))
    return out


def cached(path, kind, fn):
    """fn(path), kept in PATH.KIND for the next call on the same file."""
    memo = "%s.%s" % (path, kind)
    try:
        return json.load(open(memo))
    except (OSError, ValueError):
        v = fn(path)
        json.dump(v, open(memo, "w"))
        return v


def cmd_streams(a):
    """The sender's wire carries the plain run's streams; the receiver's
    the same with the edits made to the sender's payload frames numbered
    in --edits."""
    plain = cached(a.plain, "follow", lambda p: {
        "%d %d" % k: v.hex() for k, v in follow(p).items()})
    plain = {tuple(map(int, k.split())): bytes.fromhex(v)
             for k, v in plain.items()}
    fs = frames(a.plain)
    sender = {"c2s": 0, "s2c": 1}[a.dir]
    edits = [int(x) for x in a.edits.split(",") if x != "-"]
    # Stream offsets of the edits, per flow in order of SYN (a
    # retransmission's edit is the one of the bytes it repeats).
    offs, isn, order = {}, {}, []
    for b, c in zip(fs, classify(fs)):
        if c is None:
            continue
        p = parse(b)
        if p.flags & SYN and c[1] == sender:
            isn[c[0]] = p.seq
            order.append(c[0])
            offs[c[0]] = set()
        if c[1] == sender and c[2] in edits:
            offs[c[0]].add(((p.seq - isn[c[0]] - 1) & 0xffffffff) + a.at)
    if any(len(offs[k]) == 0 for k in order) and edits:
        die("flows without the payload frames %r" % (edits,))
    for path, edited in ((a.swire, False), (a.rwire, True)):
        wire = follow(path)
        if set(plain) != set(wire):
            die("%s: streams %r, expected %r" % (path, sorted(wire),
                                                 sorted(plain)))
        for i, key in enumerate(order):
            for node in (0, 1):
                want = plain[(i, node)]
                for o in sorted(offs[key] if edited and node == sender
                                else (), reverse=True):
                    if a.insert:
                        ins = bytes(65 + j % 26 for j in range(a.insert))
                        want = want[:o] + ins + want[o:]
                    else:
                        want = want[:o] + want[o + a.chomp:]
                got = wire[(i, node)]
                if got != want:
                    j = next((j for j in range(min(len(got), len(want)))
                              if got[j] != want[j]),
                             min(len(got), len(want)))
                    die("%s: stream %d node %d: %d bytes, expected %d, "
                        "first difference at %d" % (path, i, node, len(got),
                                                    len(want), j))


ANALYSIS = ("tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || "
            "tcp.analysis.out_of_order || tcp.analysis.retransmission")


def analysis(path):
    """Frames tshark flags as lost, acking lost data, out of order or
    retransmitted (which of these may differ: a retransmission the
    middlebox could not edit is shorter than the edited original)."""
    return tshark("-r", path, "-Y", ANALYSIS, "-T", "fields",
                  "-e", "frame.number").split()


def cmd_analysis(a):
    ref = cached(a.ref, "analysis", analysis)
    if a.clean and ref:
        die("%s is not clean: frames %s" % (a.ref, " ".join(ref)))
    for cap in a.cap:
        got = analysis(cap)
        if ref != got:
            die("%s: tshark flags frames %s, in %s frames %s" %
                (cap, " ".join(got), a.ref, " ".join(ref)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def sel_args(p):
        p.add_argument("--dir", default="c2s",
                       choices=("c2s", "s2c", "both"))
        p.add_argument("--nth", type=int, default=0)

    p = sub.add_parser("expect")
    p.add_argument("input")
    p.add_argument("exp")
    sel_args(p)
    p.add_argument("--pattern")
    p.add_argument("--replace")
    p.add_argument("--ttl", type=int)
    p.add_argument("--sport", type=int)
    p.add_argument("--dport", type=int)
    p.add_argument("--ipopt", type=int, default=0)
    p.add_argument("--tcpopt", type=int, default=0)
    p.add_argument("--drop", action="store_true")
    p.add_argument("--nocsum", action="store_true")
    p = sub.add_parser("sendpkt")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("stats")
    sel_args(p)
    p = sub.add_parser("reset")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("log")
    p.add_argument("stats")
    sel_args(p)
    p = sub.add_parser("wires")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("swire")
    p.add_argument("rwire")
    p.add_argument("--dir", default="c2s", choices=("c2s", "s2c"))
    p = sub.add_parser("streams")
    p.add_argument("plain")
    p.add_argument("swire")
    p.add_argument("rwire")
    p.add_argument("--dir", default="c2s", choices=("c2s", "s2c"))
    p.add_argument("--edits", required=True,
                   help="numbers of the edited payload frames, or -")
    p.add_argument("--at", type=int, default=0)
    p.add_argument("--insert", type=int, default=0)
    p.add_argument("--chomp", type=int, default=0)
    p = sub.add_parser("analysis")
    p.add_argument("ref")
    p.add_argument("cap", nargs="*")
    p.add_argument("--clean", action="store_true")
    a = ap.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
