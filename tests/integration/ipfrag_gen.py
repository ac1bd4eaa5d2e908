#!/usr/bin/python3
"""ipfrag_gen.py OUTDIR - a capture of TCP connections some of whose
segments travel in IPv4 fragments, for test_ipfrag.sh, and what moonbox
must make of it with --ipfrag=reassemble and --ipfrag=pass.

Connections (client 10.20.0.1, server 10.20.0.2:80):
  fragsyn       the SYN in three 8-byte fragments (its TCP header split)
  inorder       a data segment in 4 fragments, the first holding only 8
                bytes of the TCP header
  reversed      the same, fragments in reverse order
  dupmid, dupfirst, duplast
                a fragment sent twice before the datagram is complete
  overlapsame   a fragment overlapping two others with the same bytes,
                then the segment again unfragmented
  overlapdiff   the same with other bytes in the overlap (the receiver
                discards such a datagram, so only the unfragmented copy
                counts)
  missing       a datagram with a fragment that never comes: the stream
                stops before it
  server        the SYN/ACK and a server data segment fragmented
  many          a 1780-byte datagram in 9 fragments
  big           a 20000-byte datagram (more than the 16384 moonbox
                reassembles): counted in ipfrag_failed, a hole
  mark          a fragmented segment whose payload starts with DROPME
  markplain     an unfragmented one (tests/plugins/fragdrop.c drops
                those it can)
and UDP datagrams in fragments (in order, reversed), and one not.

A receiver keeps the first of identical fragments and discards datagrams
whose fragments overlap (Linux since 4.19; RFC 5722 for IPv6), and so do
the expected streams. With pass, fragments are only counted: a connection
whose SYN was fragmented is never tracked, and a direction whose data
came fragmented stops at the first such segment. Each mode's runs are
listed in OUTDIR/runs.json as hostile_gen.py describes.
"""

import json
import os
import random
import sys

from scapy.all import IP, UDP, Ether, Raw, raw

import hostile_model
from hostile_model import Capture, Conn, text, write_runs

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
MARK = b"DROPME"


def fnv1a(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h


class Frag:
    """Fragments of one datagram. pieces are [start, end) of the IPv4
    payload, extra pieces may carry other bytes."""

    def __init__(self, pkt, ipid):
        b = raw(pkt)
        self.eth = b[:14]
        self.hdr = b[14:34]
        self.pl = b[34:]
        self.ipid = ipid

    def frame(self, start, end, data=None):
        ip = IP(self.hdr)
        more = end < len(self.pl)
        body = self.pl[start:end] if data is None else data
        f = IP(src=ip.src, dst=ip.dst, id=self.ipid, ttl=ip.ttl,
               proto=ip.proto, flags="MF" if more else 0, frag=start // 8)
        return self.eth + raw(f / Raw(body))


class Gen:
    def __init__(self):
        self.cap = Capture()
        self.rnd = random.Random(31)
        self.ipid = 1000
        self.port = 53000
        self.frag_dgrams = 0      # datagrams a receiver reassembles
        self.tcp_whole = []       # their (seq, payload length)
        self.flows = 0
        self.pass_orphans = 0
        self.pass_streams = {}
        self.mark_seg = None

    def conn(self):
        self.port += 1
        self.flows += 1
        return Conn(self.cap, "10.20.0.1", self.port, "10.20.0.2", 80,
                    self.rnd.getrandbits(32), self.rnd.getrandbits(32))

    def fragments(self, pkt, cuts, order=None, extra=()):
        """Add the fragments of pkt cut at cuts (multiples of 8), in order
        (indices into the pieces, then the extra pieces), and return
        them."""
        self.ipid += 1
        fr = Frag(pkt, self.ipid)
        bounds = [0] + list(cuts) + [len(fr.pl)]
        pieces = [(a, z, None) for a, z in zip(bounds, bounds[1:])]
        pieces += list(extra)
        for i in (order if order is not None else range(len(pieces))):
            a, z, data = pieces[i]
            self.cap.frame(fr.frame(a, z, data))
        return fr

    def frag_seg(self, c, d, flags, data, cuts, order=None, extra=(),
                 whole=True):
        """A segment of c in fragments. whole: a receiver reassembles it
        (then its bytes are stream data, and it is analysed whole)."""
        seq = c.nxt[d]
        self.fragments(c.seg(d, flags, data, ipid=self.ipid + 1), cuts,
                       order, extra)
        if whole:
            c.deliver(d, data, flags)
            self.frag_dgrams += 1
            self.tcp_whole.append((seq, len(data)))
        return seq

    def pass_prefix(self, c, d):
        """With pass, direction d of c ends here (a fragmented segment)."""
        n = c.name(d)
        self.pass_streams.setdefault(n, bytes(self.cap.streams.get(n, b"")))


def main():
    os.makedirs(OUT, exist_ok=True)
    g = Gen()
    cap, rnd = g.cap, g.rnd

    # fragsyn: never a flow with pass.
    c = g.conn()
    g.frag_seg(c, 0, "S", b"", (8, 16))
    n1 = len(cap.recs)
    c.send(1, "SA")
    c.send(0, "A")
    c.send(0, "PA", b"after a fragmented SYN")
    c.send(1, "PA", b"answer")
    c.close()
    g.pass_orphans += len(cap.recs) - n1
    for d in (0, 1):
        g.pass_streams[c.name(d)] = b""

    cuts = (8, 48, 200)
    variants = [("inorder", None), ("reversed", [3, 2, 1, 0]),
                ("dupmid", [0, 1, 1, 2, 3]), ("dupfirst", [0, 2, 0, 3, 1]),
                ("duplast", [3, 0, 3, 1, 2])]
    for name, order in variants:
        c = g.conn()
        c.handshake()
        g.pass_prefix(c, 0)
        g.frag_seg(c, 0, "PA", name.encode() + b":" + text(rnd, 290), cuts,
                   order)
        c.send(0, "PA", b"|tail")
        c.send(1, "PA", b"reply to " + name.encode())
        c.close()

    # Overlaps: the datagram is discarded; the segment comes again whole.
    for name, other in (("overlapsame", None), ("overlapdiff", b"EVIL" * 12)):
        c = g.conn()
        c.handshake()
        data = name.encode() + b":" + text(rnd, 288)
        g.fragments(c.seg(0, "PA", data, ipid=g.ipid + 1), cuts,
                    [0, 4, 1, 2, 3], extra=[(16, 64, other)])
        c.send(0, "PA", data)
        c.send(1, "PA", b"ok")
        c.close()

    # missing: the stream stops before the datagram in both modes.
    c = g.conn()
    c.handshake()
    c.send(0, "PA", b"head;")
    g.pass_prefix(c, 0)
    g.frag_seg(c, 0, "PA", text(rnd, 300), cuts, [0, 2, 3], whole=False)
    c.nxt[0] += 300
    late = b"never delivered: behind a hole"
    c.send(0, "PA", late, seq=c.nxt[0])
    c.nxt[0] += len(late)
    c.send(1, "PA", b"reply")
    c.close()

    # server: the SYN/ACK and server data fragmented. With pass the flow
    # goes on from the client's ACK (the SYN/ACK was not seen).
    c = g.conn()
    c.send(0, "S")
    g.frag_seg(c, 1, "SA", b"", (8, 16))
    c.send(0, "A")
    c.send(0, "PA", b"request")
    g.pass_prefix(c, 1)
    g.frag_seg(c, 1, "PA", text(rnd, 600), (8, 400))
    c.send(1, "PA", b"more")
    c.send(0, "PA", b"thanks")
    c.close()

    # many: 9 fragments, 1780 bytes.
    c = g.conn()
    c.handshake()
    g.pass_prefix(c, 0)
    g.frag_seg(c, 0, "PA", text(rnd, 1780 - 20),
               [200 * i for i in range(1, 9)])
    c.send(0, "PA", b"|after many")
    c.send(1, "PA", b"ok")
    c.close()

    # big: 20000 bytes of payload, more than moonbox reassembles.
    c = g.conn()
    c.handshake()
    c.send(0, "PA", b"head;")
    g.pass_prefix(c, 0)
    big = [1480 * i for i in range(1, 14)]
    g.frag_seg(c, 0, "PA", text(rnd, 20000), big, whole=False)
    c.nxt[0] += 20000
    c.send(1, "PA", b"ok")
    c.close()
    big_frames = len(big) + 1

    # mark: a fragmented segment the fragdrop plugin cannot drop.
    c = g.conn()
    c.handshake()
    g.pass_prefix(c, 0)
    data = MARK + b":reassembled:" + text(rnd, 400)
    seq = g.frag_seg(c, 0, "PA", data, (8, 200))
    g.mark_seg = dict(seq=seq, len=len(data), iplen=40 + len(data),
                      fnv=fnv1a(data))
    c.send(0, "PA", b"|end")
    c.close()
    # markplain: one it can.
    c = g.conn()
    c.handshake()
    data = MARK + b":plain:" + text(rnd, 100)
    plain = dict(seq=c.nxt[0], len=len(data), iplen=40 + len(data),
                 fnv=fnv1a(data), frame=len(cap.recs))
    c.send(0, "PA", data)
    c.send(0, "PA", b"|end")
    c.close()

    # UDP fragments, and a whole datagram.
    for order in (None, [1, 0]):
        g.ipid += 1
        u = (Ether() / IP(src="10.20.0.1", dst="10.20.0.3", id=g.ipid) /
             UDP(sport=5353, dport=5353) / Raw(text(rnd, 300)))
        g.fragments(u, (160,), order)
    cap.frame(Ether() / IP(src="10.20.0.1", dst="10.20.0.3") /
              UDP(sport=5353, dport=5353) / Raw(b"whole"))

    runs = []
    # Streams of directions that carried nothing are absent.
    pass_streams = dict(cap.streams)
    pass_streams.update(g.pass_streams)
    whole = [list(x) for x in g.tcp_whole]
    hostile_model.save(OUT, runs, cap, "ipfrag", [
        (".reasm", ["--ipfrag=reassemble"], None, dict(
            exact=dict(ipfrag_reassembled=g.frag_dgrams, orphans=0,
                       flows_created=g.flows, flows_destroyed=g.flows),
            atleast=dict(ipfrag_failed=1),
            trace=dict(segments=whole))),
        (".pass", ["--ipfrag=pass"], pass_streams, dict(
            exact=dict(ipfrag_reassembled=0, ipfrag_failed=0,
                       orphans=g.pass_orphans, flows_created=g.flows - 1,
                       flows_destroyed=g.flows - 1),
            trace=dict(absent=whole))),
        (".reasm2", ["--ipfrag=reassemble", "-c", "2"], None, dict(
            exact=dict(ipfrag_reassembled=g.frag_dgrams, orphans=0,
                       flows_created=g.flows, flows_destroyed=g.flows))),
    ])
    # The fragdrop runs: the plain marked segment is dropped, nothing else.
    cap.write(os.path.join(OUT, "ipfrag.dropped.pcap"),
              keep=lambda r: r is not cap.recs[plain["frame"]])
    drop = dict(mark=MARK.decode(), plain=plain, reassembled=g.mark_seg,
                output="ipfrag.dropped.pcap", frames=len(cap.recs),
                big_frames=big_frames)
    with open(os.path.join(OUT, "fragdrop.json"), "w") as f:
        json.dump(drop, f, indent=1, sort_keys=True)
    write_runs(os.path.join(OUT, "runs.json"), runs)


if __name__ == "__main__":
    main()
