#!/usr/bin/python3
"""hostile_gen.py OUTDIR - captures of hostile TCP traffic for
test_hostile.sh, each with what a correct monitor makes of it.

For every scenario it writes OUTDIR/NAME.pcap and, per moonbox run of it,
the byte streams expected from tests/plugins/streams.c (a directory in
tcpflow naming) and the counters that can be derived from the capture
itself. OUTDIR/runs.json lists the runs:

  id       run name          pcap    capture read
  args     extra moonbox options
  output   the capture moonbox must write (the input unless
           --drop-malformed drops frames)
  streams  directory of expected streams
  exact    counters with a known value (frame classes always)
  atleast  counters with a lower bound
  sum      [[names], value]: the named counters add up to value
  trace    checks of the event trace (tests/plugins/trace.c), see
           hostile_check.py
  errors   the streams plugin's MOS_ON_ERROR count equals this counter
  streams_any  do not compare streams (randomly damaged frames)

The expectations follow the receiving TCP's rules (RFC 793/5961 as Linux
applies them), since a monitor must see the bytes the endpoint accepts:
data without ACK is discarded, a SYN inside a synchronized connection does
not end it, the SYN/ACK tells which of several SYNs the server answered,
a SYN's payload is stream data when the SYN/ACK acknowledges it (TCP Fast
Open). Sequence numbers are random but fixed by per-scenario seeds.
"""

import os
import random
import sys

from scapy.all import IP, UDP, Ether, Raw, raw

import hostile_model
from hostile_model import M32, Capture, Conn, text, write_runs

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
RUNS = []


def save(cap, name, runs):
    hostile_model.save(OUT, RUNS, cap, name, runs)


def udp_frame(i):
    return (Ether(src="02:00:00:00:00:09", dst="02:00:00:00:00:0a") /
            IP(src="10.9.0.1", dst="10.9.0.2") /
            UDP(sport=5000 + i, dport=53) / Raw(b"filler"))


# -- SYN flood against a small flow table ----------------------------------

def synflood():
    """200 unanswered SYNs from random sources with --max-flows 16: 16
    flows, the rest (and a real connection caught in the flood) orphans.
    31 s later the idle timeout has freed the table and a connection is
    tracked again."""
    cap, rnd = Capture(), random.Random(11)
    seen = set()

    def flood(n):
        for _ in range(n):
            while True:
                src = "172.%d.%d.%d" % (rnd.randint(16, 31),
                                        rnd.randint(0, 255),
                                        rnd.randint(1, 254))
                sp = rnd.randint(1024, 65535)
                if (src, sp) not in seen:
                    seen.add((src, sp))
                    break
            Conn(cap, src, sp, "10.0.0.2", 80, rnd.getrandbits(32),
                 0).send(0, "S")

    flood(100)
    n0 = len(cap.recs)
    lost = Conn(cap, "10.0.1.1", 41000, "10.0.0.2", 80, rnd.getrandbits(32),
                rnd.getrandbits(32))
    lost.handshake()
    lost.send(0, "PA", b"GET /lost HTTP/1.0\r\n\r\n")
    lost.send(1, "PA", b"HTTP/1.0 200 OK\r\n\r\nnever seen")
    lost.close()
    nlost = len(cap.recs) - n0
    # A rejected connection has no stream.
    cap.streams.clear()
    flood(100)
    cap.pause(31)
    # More frames than a burst, so the expiry runs before the next SYN.
    for i in range(40):
        cap.frame(udp_frame(i))
    ok = Conn(cap, "10.0.1.2", 41001, "10.0.0.2", 80, rnd.getrandbits(32),
              rnd.getrandbits(32))
    ok.handshake()
    ok.send(0, "PA", b"GET /ok HTTP/1.0\r\n\r\n")
    ok.send(1, "PA", b"HTTP/1.0 200 OK\r\n\r\n" + text(rnd, 500))
    ok.close()
    rejected = 200 - 16
    save(cap, "synflood", [("", ["--max-flows", "16"], None, dict(
        exact=dict(flows_created=17, flows_destroyed=17,
                   flows_rejected_full=rejected + 1,
                   orphans=rejected + nlost, timeouts_idle=16,
                   eof_flushed=0, reasm_out_of_window=0),
        trace=dict(orphans=rejected + nlost, timeouts=16,
                   conn_ends=17)))])


# -- RST storm --------------------------------------------------------------

def rststorm():
    """300 RSTs (with or without ACK) with random, out-of-window sequence
    numbers into four live connections, both directions, while they carry
    data; RSTs that do not answer a SYN into a fifth one in SYN_SENT. Then
    in-window RSTs end three connections (what follows them is orphan)
    and the other two close normally."""
    cap, rnd = Capture(), random.Random(12)
    cs = [Conn(cap, "10.1.0.1", 40001 + i, "10.1.0.2", 80,
               0xffffff00 if i == 3 else rnd.getrandbits(32),
               rnd.getrandbits(32)) for i in range(4)]
    for c in cs:
        c.handshake()
    for c in cs:
        for d in (0, 1, 0):
            c.send(d, "PA", text(rnd, rnd.randint(50, 300)))
    rsts = 0
    for i in range(300):
        c, d = rnd.choice(cs), rnd.randint(0, 1)
        # Far outside any window the receiver could have advertised.
        dist = rnd.randint(1 << 17, (1 << 32) - (1 << 17))
        fl = rnd.choice(["R", "RA"])
        c.send(d, fl, seq=c.nxt[d] + dist,
               ack=rnd.getrandbits(32) if fl == "RA" else 0)
        rsts += 1
        if i % 10 == 9:
            c = rnd.choice(cs)
            c.send(rnd.randint(0, 1), "PA", text(rnd, rnd.randint(1, 200)))
    # SYN_SENT: only an RST/ACK acknowledging the SYN is an answer.
    s = Conn(cap, "10.1.0.1", 40009, "10.1.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    s.send(0, "S")
    s.send(1, "R", seq=rnd.getrandbits(32), ack=0)
    s.send(1, "RA", seq=rnd.getrandbits(32), ack=s.nxt[0] + 5)
    rsts += 2
    s.send(1, "SA")
    s.send(0, "A")
    s.send(0, "PA", b"survived the RSTs before the SYN/ACK")
    s.send(1, "PA", b"so did I")
    closing = []
    # c0: the client resets at exactly the server's rcv_nxt.
    closing.append(cs[0].nxt[0])
    cs[0].send(0, "R", seq=cs[0].nxt[0], ack=0)
    # c1: the server resets inside the client's window.
    closing.append((cs[1].nxt[1] + 1000) & M32)
    cs[1].send(1, "R", seq=cs[1].nxt[1] + 1000, ack=0)
    # c2: RST/ACK from the server at rcv_nxt.
    closing.append(cs[2].nxt[1])
    cs[2].send(1, "RA", seq=cs[2].nxt[1])
    rsts += 3
    # After the end: orphans, not stream data.
    cs[0].send(0, "PA", b"after my own reset", seq=cs[0].nxt[0])
    cs[1].send(1, "PA", b"after my own reset", seq=cs[1].nxt[1])
    cs[3].close()
    s.close(first=1)
    save(cap, "rststorm", [("", [], None, dict(
        exact=dict(flows_created=5, flows_destroyed=5, orphans=2,
                   eof_flushed=0),
        trace=dict(rst_close=closing, rst_seen=rsts, conn_ends=5,
                   orphans=2)))])


# -- Data before the handshake -----------------------------------------------

def early():
    """Segments of a connection before its SYN are orphans and not part of
    its streams; a SYN/ACK captured before its SYN too (the connection is
    then followed from the client's ACK)."""
    cap, rnd = Capture(), random.Random(13)
    e = Conn(cap, "10.3.0.1", 42000, "10.3.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    e.send(0, "PA", b"EARLY client bytes", seq=e.isn[0] + 1,
           ack=e.isn[1] + 1)
    e.send(0, "PA", b"EARLY again", seq=e.isn[0] + 19, ack=e.isn[1] + 1)
    e.send(1, "PA", b"EARLY server bytes", seq=e.isn[1] + 1,
           ack=e.isn[0] + 1)
    e.handshake()
    e.send(0, "PA", b"the real request")
    e.send(1, "PA", b"the real response")
    e.close()
    r = Conn(cap, "10.3.0.1", 42001, "10.3.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    synack = r.seg(1, "SA", seq=r.isn[1], ack=r.isn[0] + 1)
    cap.frame(synack)
    r.send(0, "S")
    r.nxt[1] += 1
    r.send(0, "A")
    r.send(0, "PA", b"request after a reordered handshake")
    r.send(1, "PA", b"response")
    r.close()
    save(cap, "early", [("", [], None, dict(
        exact=dict(flows_created=2, flows_destroyed=2, orphans=4,
                   eof_flushed=0),
        trace=dict(orphans=4)))])


# -- Data segments without ACK --------------------------------------------------

def noack():
    """Payload in segments without the ACK flag, which every receiver past
    LISTEN discards (RFC 793 p. 72, Linux tcp_rcv_state_process): bogus
    bytes sent that way first, then the real bytes at the same sequence
    numbers; the stream must hold the real ones. In SYN_RCVD, in
    ESTABLISHED, with no flag at all, and from the server."""
    cap, rnd = Capture(), random.Random(14)
    a = Conn(cap, "10.4.0.1", 43000, "10.4.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    a.handshake()
    a.send(0, "PA", b"hello ")
    a.send(0, "P", b"BOGUS-BYTES-0", seq=a.nxt[0], ack=0)
    a.send(0, "PA", b"real-bytes-01")
    a.send(1, "PA", b"ok")
    a.close()
    b = Conn(cap, "10.4.0.1", 43001, "10.4.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    b.send(0, "S")
    b.send(0, "P", b"PRE-bogus", seq=b.nxt[0], ack=0)
    b.send(1, "SA")
    b.send(0, "A")
    b.send(0, "PA", b"PRE-truth")
    b.close()
    c = Conn(cap, "10.4.0.1", 43002, "10.4.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    c.handshake()
    c.send(0, "", b"NULL-FLAGS-DATA", seq=c.nxt[0], ack=0)
    c.send(0, "PA", b"with-ack-flag!!")
    c.close()
    d = Conn(cap, "10.4.0.1", 43003, "10.4.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    d.handshake()
    d.send(0, "PA", b"request")
    d.send(1, "P", b"FORGED", seq=d.nxt[1], ack=0)
    d.send(1, "PA", b"answer")
    d.close()
    save(cap, "noack", [("", [], None, dict(
        exact=dict(flows_created=4, flows_destroyed=4, orphans=0)))])


# -- Absurd sequence numbers ------------------------------------------------------

FWD = [(1 << 31) - 1, 1 << 30, 1 << 20, 200000, 140000]
BACK = [-(1 << 20), -(1 << 30)]
AMBIGUOUS = [1 << 31]


def seqjump():
    """Segments 2^31 - 1, 2^30, ... ahead of what the receiver expects
    (far beyond any window it advertised: 8192 by the server, 65535 by
    the client), 2^20 and 2^30 behind it, and exactly 2^31 away, in both
    directions, with sequence numbers wrapping; an ACK 2^31 ahead. None
    of their bytes may reach the streams; the ones ahead are counted in
    reasm_out_of_window (each with a MOS_ON_ERROR), the ones behind are
    old data (rexmit_data)."""
    cap, rnd = Capture(), random.Random(15)
    j = Conn(cap, "10.5.0.1", 44000, "10.5.0.2", 80, 0xfffff000, 0x7fffff00,
             win=(65535, 8192))
    j.handshake()
    for d in (0, 1, 0, 1, 0):
        j.send(d, "PA", text(rnd, 700))
    n = 0
    for d in (0, 1):
        for dist in FWD + BACK + AMBIGUOUS:
            j.send(d, "PA", b"JUNK-%d-" % dist + text(rnd, 40),
                   seq=j.nxt[d] + dist)
            n += 1
        j.send(d, "PA", text(rnd, 500))
    j.send(0, "A", ack=j.nxt[1] + (1 << 31))
    for d in (1, 0, 1):
        j.send(d, "PA", text(rnd, 600))
    j.close()
    fwd = 2 * len(FWD)
    save(cap, "seqjump", [("", [], None, dict(
        exact=dict(flows_created=1, flows_destroyed=1, reasm_overrun=0,
                   reasm_gap_skipped=0),
        sum=[[["reasm_out_of_window", "rexmit_data"], n]],
        atleast=dict(reasm_out_of_window=fwd,
                     rexmit_data=2 * len(BACK)),
        errors="reasm_out_of_window"))])


# -- Truncated and malformed segments -------------------------------------------

def set_ip(b, off, fn):
    """Apply fn to the IPv4 header at b[off:] (a bytearray) and fix its
    checksum."""
    fn(b)
    ihl = (b[off] & 15) * 4
    if ihl >= 20 and off + ihl <= len(b):
        b[off + 10:off + 12] = b"\0\0"
        s = sum((b[i] << 8) | b[i + 1] for i in range(off, off + ihl, 2))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        b[off + 10] = (~s >> 8) & 255
        b[off + 11] = ~s & 255
    return bytes(b)


def truncated():
    """Frames cut by the snap length (in the Ethernet, IPv4 and TCP headers
    and in the payload), length fields that do not fit the frame, an
    Ethernet trailer after the datagram, a total length shorter than the
    frame, VLAN tags; each malformed segment is sent again whole, so the
    stream is complete. Run as is (all frames forwarded) and with
    --drop-malformed."""
    cap, rnd = Capture(), random.Random(16)
    t = Conn(cap, "10.6.0.1", 45000, "10.6.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    t.handshake()
    t.send(0, "PA", text(rnd, 200))

    def bad(make, plen=200):
        data = text(rnd, plen)
        b = bytearray(raw(t.seg(0, "PA", data)))
        cut = make(b)
        cap.frame(bytes(b), cut=cut)
        t.send(0, "PA", data)

    def hdr(fn):
        def make(b):
            b[:] = set_ip(b, 14, fn)
        return make

    bad(lambda b: 14 + 40 + 50)            # cut in the payload: ip_len
    bad(lambda b: 14 + 20 + 10)            # in the TCP header: ip_len
    bad(lambda b: 14 + 10)                 # in the IPv4 header
    bad(lambda b: 10)                      # in the Ethernet header
    bad(hdr(lambda b: b.__setitem__(slice(16, 18), (36).to_bytes(2, "big"))))
    bad(hdr(lambda b: b.__setitem__(14, 0x44)))        # IHL 16
    bad(hdr(lambda b: b.__setitem__(14, 0x65)))        # version 6
    bad(hdr(lambda b: b.__setitem__(slice(16, 18),
                                    (2000).to_bytes(2, "big"))))
    bad(lambda b: b.__setitem__(14 + 32, 0xf0 | (b[46] & 15)), plen=30)
    cap.frame(bytes.fromhex("020000000002020000000001") + b"\x81\x00\x00")
    cap.frame(bytes.fromhex("020000000002020000000001") + b"\x88\xa8\x00\x05"
              + b"\x81\x00")
    # Valid: a trailer after the datagram (not payload).
    data = text(rnd, 120)
    cap.frame(raw(t.seg(0, "PA", data)) + b"TRAILER-NOT-DATA" * 3)
    t.deliver(0, data)
    # Valid: a total length 50 bytes short; the rest is a trailer. The
    # sender then sends the segment whole (the first part again).
    data = text(rnd, 200)
    start = t.nxt[0]
    b = bytearray(raw(t.seg(0, "PA", data)))
    cap.frame(set_ip(b, 14, lambda b: b.__setitem__(
        slice(16, 18), (240 - 50).to_bytes(2, "big"))))
    t.deliver(0, data[:150])
    t.send(0, "PA", data, seq=start)
    t.deliver(0, data[150:])
    # Valid: one VLAN tag, two tags (QinQ).
    for tags in (b"\x81\x00\x00\x07", b"\x88\xa8\x00\x05\x81\x00\x00\x07"):
        data = text(rnd, 90)
        b = raw(t.seg(0, "PA", data))
        cap.frame(b[:12] + tags + b[12:])
        t.deliver(0, data)
    # Three tags: not parsed as IPv4 (non_ip); its bytes come again.
    data = text(rnd, 60)
    b = raw(t.seg(0, "PA", data))
    cap.frame(b[:12] + b"\x88\xa8\x00\x01\x81\x00\x00\x02\x81\x00\x00\x03"
              + b[12:])
    t.send(0, "PA", data)
    t.send(1, "PA", b"fine")
    t.close()
    ex = dict(flows_created=1, flows_destroyed=1, orphans=0)
    save(cap, "truncated", [
        ("", [], None, dict(exact=dict(ex))),
        (".drop", ["--drop-malformed"], None, dict(exact=dict(ex)))])


def jumbo():
    """TCP segments in frames larger than a packet buffer (4000 and 9000
    bytes, as captures of hosts with jumbo frames or GRO hold): counted as
    TCP segments, forwarded whole, and their bytes are stream data."""
    cap, rnd = Capture(), random.Random(17)
    j = Conn(cap, "10.6.1.1", 45100, "10.6.1.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    j.handshake()
    j.send(0, "PA", text(rnd, 100))
    j.send(0, "PA", text(rnd, 4000 - 54))
    j.send(1, "A")
    j.send(1, "PA", text(rnd, 9000 - 54))
    j.send(0, "PA", text(rnd, 100))
    j.close()
    save(cap, "jumbo", [("", ["--rmem", "65536"], None, dict(
        exact=dict(flows_created=1, flows_destroyed=1, orphans=0)))])


# -- Zero windows ---------------------------------------------------------------------

def zerowin():
    """The server closes its window; the client probes it with one byte
    (not accepted), sends more than the window allows, and after the
    window opens sends the same bytes again; the server sends data while
    advertising a zero window itself. Every byte once in the streams."""
    cap, rnd = Capture(), random.Random(18)
    z = Conn(cap, "10.7.0.1", 46000, "10.7.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    z.handshake()
    z.send(0, "PA", text(rnd, 1000))
    z.send(1, "A", win=0)
    nxt = text(rnd, 2000)
    for _ in range(3):
        z.send(0, "A", nxt[:1], seq=z.nxt[0])
        z.send(1, "A", win=0)
    z.send(0, "PA", nxt[:1000], seq=z.nxt[0])
    z.send(1, "PA", text(rnd, 300), win=0)
    z.send(1, "PA", text(rnd, 300), win=0)
    z.send(1, "A", win=4000)
    z.send(0, "PA", nxt[:1000])
    z.send(0, "PA", nxt[1000:])
    z.send(1, "A")
    z.close()
    save(cap, "zerowin", [("", [], None, dict(
        exact=dict(flows_created=1, flows_destroyed=1, orphans=0)))])


# -- Payload on SYNs -----------------------------------------------------------------

def synpayload():
    """A SYN with payload that the server does not acknowledge (the client
    sends it again after the handshake), and TCP Fast Open: the SYN/ACK
    acknowledges the SYN's payload, which is then the stream's first
    bytes."""
    cap, rnd = Capture(), random.Random(19)
    a = Conn(cap, "10.8.0.1", 47000, "10.8.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    cap.frame(a.seg(0, "S", b"HELLO-IN-THE-SYN"))
    a.nxt[0] += 1
    a.send(1, "SA")
    a.send(0, "A")
    a.send(0, "PA", b"HELLO-IN-THE-SYN and the rest")
    a.send(1, "PA", b"reply")
    a.close()
    tfo = [("MSS", 1460), (34, bytes(range(1, 9)))]
    f = Conn(cap, "10.8.0.1", 47001, "10.8.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    f.send(0, "S", b"GET /fast-open HTTP/1.1\r\n\r\n", opts=tfo)
    f.send(1, "SA", opts=[("MSS", 1460), (34, b"")])
    f.send(0, "A")
    f.send(1, "PA", b"HTTP/1.1 200 OK\r\n\r\nfast")
    f.send(0, "PA", b"GET /second HTTP/1.1\r\n\r\n")
    f.close()
    save(cap, "synpayload", [("", [], None, dict(
        exact=dict(flows_created=2, flows_destroyed=2, orphans=0)))])


# -- Flag combinations ------------------------------------------------------------------

def flags():
    """Odd flag sets: alone on new 4-tuples (a SYN without ACK and RST
    opens a flow, anything else is an orphan), and inside a live
    connection, where a SYN (alone, with FIN, with ECE|CWR, with ACK, or
    out-of-window with RST) does not end it, while an in-window RST with
    other flags does."""
    cap, rnd = Capture(), random.Random(20)
    opening = ["SF", "SFPU", "SEC"]
    other = ["SR", "FSRPAUEC", "", "F", "U"]
    for i, fl in enumerate(opening + other):
        Conn(cap, "10.10.0.1", 48000 + i, "10.10.0.2", 80,
             rnd.getrandbits(32), 0).send(0, fl, seq=rnd.getrandbits(32),
                                          ack=0)
    g = Conn(cap, "10.10.0.1", 48100, "10.10.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    g.handshake()
    g.send(0, "PA", b"one ")
    g.send(0, "S", seq=g.nxt[0] + 5000, ack=0)
    g.send(0, "SF", seq=g.nxt[0], ack=0)
    g.send(0, "SEC", seq=g.nxt[0] - 100, ack=0)
    g.send(0, "SR", seq=g.nxt[0] + (1 << 20), ack=0)
    g.send(0, "SA", seq=g.nxt[0])
    g.send(0, "FSPAUEC", seq=g.nxt[0] + 1000000)
    g.send(0, "PA", b"two")
    g.send(1, "PA", b"still here")
    g.close()
    h = Conn(cap, "10.10.0.1", 48101, "10.10.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    h.handshake()
    h.send(0, "PA", b"x")
    h.send(0, "FSRPAUEC", b"ZZ", seq=h.nxt[0])
    h.send(0, "PA", b"after", seq=h.nxt[0])
    k = Conn(cap, "10.10.0.1", 48102, "10.10.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    k.handshake()
    k.send(0, "PA", b"y")
    k.send(0, "SR", seq=k.nxt[0], ack=0)
    k.send(0, "PA", b"after", seq=k.nxt[0])
    n = len(opening)
    save(cap, "flags", [("", [], None, dict(
        exact=dict(flows_created=n + 3, flows_destroyed=n + 3,
                   orphans=len(other) + 2, eof_flushed=n),
        trace=dict(orphans=len(other) + 2, conn_ends=n + 3)))])


# -- Overlapping retransmissions with other bytes ------------------------------------------

def overlap():
    """Out-of-order segments overlapped by later ones carrying other bytes,
    all before the hole in front of them is filled (so nothing was read
    yet): --overlap=first keeps the bytes that came first, last the
    newest."""
    cap, rnd = Capture(), random.Random(21)
    o = Conn(cap, "10.11.0.1", 49000, "10.11.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    o.handshake()
    c0, s0 = o.nxt[0], o.nxt[1]
    o.send(0, "PA", b"A" * 10, seq=c0 + 10)
    o.send(0, "PA", b"B" * 10, seq=c0 + 30)
    o.send(0, "PA", b"C" * 20, seq=c0 + 15)
    o.send(1, "PA", b"X" * 10, seq=s0 + 5)
    o.send(1, "PA", b"Y" * 20, seq=s0)
    o.send(0, "PA", b"0123456789", seq=c0)
    o.nxt[0] += 40
    o.nxt[1] += 20
    o.send(0, "PA", b"|tail-c")
    o.send(1, "PA", b"|tail-s")
    o.close()
    cn, sn = o.name(0), o.name(1)
    first = {cn: b"0123456789" + b"A" * 10 + b"C" * 10 + b"B" * 10 +
             b"|tail-c",
             sn: b"Y" * 5 + b"X" * 10 + b"Y" * 5 + b"|tail-s"}
    last = {cn: b"0123456789" + b"A" * 5 + b"C" * 20 + b"B" * 5 + b"|tail-c",
            sn: b"Y" * 20 + b"|tail-s"}
    ex = dict(flows_created=1, flows_destroyed=1, rexmit_data=2)
    save(cap, "overlap", [
        (".first", ["--overlap=first"], first, dict(exact=dict(ex))),
        (".last", ["--overlap=last"], last, dict(exact=dict(ex)))])


# -- Duplicate SYNs ---------------------------------------------------------------

def dupsyn():
    """Two SYNs with different ISNs on one 4-tuple; the server answers the
    second (the stream is numbered from it) or the first; the same when
    the first SYN carried data. And a plain SYN retransmission (same
    ISN)."""
    cap, rnd = Capture(), random.Random(22)
    # The server answers the second SYN. When the first one carries data
    # (Fast Open), its bytes, buffered already, are not the stream's
    # (libFuzzer found the receive buffer kept them). On port 50004, other
    # frames between the two SYNs put them in different bursts: the
    # stream's reader took the abandoned bytes (MOS_ON_CONN_NEW_DATA)
    # before the SYN/ACK, and reads the new stream from its first byte.
    abandoned = b"BYTES OF THE FIRST SYN, ABANDONED"
    for port, first, filler in ((50000, b"", 0), (50003, abandoned, 0),
                                (50004, abandoned, 40)):
        a = Conn(cap, "10.12.0.1", port, "10.12.0.2", 80, 7000,
                 rnd.getrandbits(32))
        a.send(0, "S", first, seq=7000, ack=0)
        if filler:
            cap.expect(a.name(0), first)
        for i in range(filler):
            cap.frame(udp_frame(i))
        a.isn[0] = a.nxt[0] = 900000
        a.send(0, "S")
        a.send(1, "SA")
        a.send(0, "A")
        a.send(0, "PA", b"numbered from the second SYN")
        a.send(1, "PA", b"ok")
        a.close()
    b = Conn(cap, "10.12.0.1", 50001, "10.12.0.2", 80, 7000,
             rnd.getrandbits(32))
    b.send(0, "S")
    b.send(0, "S", seq=900000, ack=0)
    b.send(1, "SA")
    b.send(0, "A")
    b.send(0, "PA", b"numbered from the first SYN")
    b.close()
    c = Conn(cap, "10.12.0.1", 50002, "10.12.0.2", 80, rnd.getrandbits(32),
             rnd.getrandbits(32))
    c.send(0, "S")
    c.send(0, "S", seq=c.isn[0], ack=0)
    c.send(1, "SA")
    c.send(0, "A")
    c.send(0, "PA", b"after a retransmitted SYN")
    c.close()
    save(cap, "dupsyn", [("", [], None, dict(
        exact=dict(flows_created=5, flows_destroyed=5, orphans=0),
        atleast=dict(syn_rexmit=1)))])


# -- Port reuse ---------------------------------------------------------------------

def portreuse():
    """A new connection on the 4-tuple of one that ended by FIN (client or
    server first) or RST; its bytes follow the first's in the stream files
    (tcpflow names them by 4-tuple). With --timewait 10 the first flows
    are still in TIME_WAIT when the new SYN comes."""
    cap, rnd = Capture(), random.Random(23)
    for i, how in enumerate(("cfin", "rst", "sfin")):
        c = Conn(cap, "10.13.0.1", 51000 + i, "10.13.0.2", 80,
                 rnd.getrandbits(32), rnd.getrandbits(32))
        c.handshake()
        c.send(0, "PA", b"first connection %d;" % i)
        c.send(1, "PA", b"first answer %d;" % i)
        if how == "rst":
            c.send(1, "R", seq=c.nxt[1], ack=0)
        else:
            c.close(first=0 if how == "cfin" else 1)
        d = Conn(cap, "10.13.0.1", 51000 + i, "10.13.0.2", 80,
                 c.isn[0] + 100000, rnd.getrandbits(32))
        d.handshake()
        d.send(0, "PA", b"second connection %d;" % i)
        d.send(1, "PA", b"second answer %d;" % i)
        d.close()
    ex = dict(flows_created=6, flows_destroyed=6, orphans=0,
              timeouts_timewait=0)
    save(cap, "portreuse", [
        ("", [], None, dict(exact=dict(ex, eof_flushed=0))),
        (".tw", ["--timewait", "10"], None,
         dict(exact=dict(ex, eof_flushed=3)))])


def burstreuse():
    """With more than 1024 flows open, the engine looks every frame of a
    burst up as the burst arrives, and a packet takes that lookup's answer
    only if the flow index still holds its key (flow.c): 1100 open
    connections, then, in one burst of the reader's 32 frames (3300 is 4
    past a multiple of 32), an RST that ends one of them, a stray ACK of
    the ended connection (an orphan now), and a whole new connection on
    its 4-tuple, which is tracked."""
    cap, rnd = Capture(), random.Random(29)
    conns = []
    for i in range(1100):
        c = Conn(cap, "10.14.%d.%d" % (i // 200, i % 200 + 1), 40000 + i,
                 "10.14.9.1", 80, rnd.getrandbits(32), rnd.getrandbits(32))
        c.handshake()
        conns.append(c)
    c = conns[0]
    c.send(0, "R", seq=c.nxt[0], ack=0)
    c.send(0, "A", seq=c.nxt[0])
    d = Conn(cap, "10.14.0.1", 40000, "10.14.9.1", 80,
             c.isn[0] + 100000, rnd.getrandbits(32))
    d.handshake()
    d.send(0, "PA", b"new connection in the same burst;")
    d.send(1, "PA", b"its answer;")
    d.close()
    save(cap, "burstreuse", [
        ("", [], None, dict(exact=dict(flows_created=1101, orphans=1,
                                       flows_destroyed=1101)))])


# -- Mutations -----------------------------------------------------------------------

def mutate():
    """3000 frames: a few valid connections, and copies of their frames
    with random damage (bytes changed in the headers, length fields,
    fragment bits, VLAN tags, cut records). Only survival and accounting
    are checked: the frame classes come from hostile_model.classify."""
    cap, rnd = Capture(), random.Random(24)
    base = Capture()
    for i in range(6):
        c = Conn(base, "10.14.0.%d" % (i + 1), 52000 + i, "10.14.1.1", 80,
                 rnd.getrandbits(32), rnd.getrandbits(32))
        c.handshake()
        for _ in range(20):
            c.send(rnd.randint(0, 1), "PA", text(rnd, rnd.randint(0, 400)))
        c.close()
    frames = [r["data"] for r in base.recs]
    i = 0
    while len(cap.recs) < 3000:
        if i < len(frames) and rnd.random() < 0.5:
            cap.frame(frames[i])
            i += 1
            continue
        b = bytearray(rnd.choice(frames))
        kind = rnd.randint(0, 6)
        if kind == 0:
            for _ in range(rnd.randint(1, 6)):
                b[rnd.randrange(min(len(b), 80))] = rnd.getrandbits(8)
        elif kind == 1:
            b[14] = rnd.getrandbits(8)
        elif kind == 2:
            b[16:18] = rnd.getrandbits(16).to_bytes(2, "big")
        elif kind == 3:
            b[46] = rnd.getrandbits(8)
        elif kind == 4:
            b[20:22] = rnd.getrandbits(16).to_bytes(2, "big")
        elif kind == 5:
            b[12:12] = b"\x81\x00" + rnd.getrandbits(16).to_bytes(2, "big")
        cut = rnd.randint(0, len(b)) if kind == 6 or rnd.random() < 0.2 \
            else None
        cap.frame(bytes(b), cut=cut)
    save(cap, "mutate", [
        ("", [], {}, dict(streams_any=True)),
        (".drop", ["--drop-malformed"], {}, dict(streams_any=True)),
        (".c2", ["-c", "2"], {}, dict(streams_any=True))])


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in (synflood, rststorm, early, noack, seqjump, truncated, jumbo,
              zerowin, synpayload, flags, overlap, dupsyn, portreuse,
              burstreuse, mutate):
        f()
    write_runs(os.path.join(OUT, "runs.json"), RUNS)


if __name__ == "__main__":
    main()
