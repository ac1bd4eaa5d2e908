#!/usr/bin/python3
"""mkcorpus.py DIR - seed inputs of the fuzz targets, written to
DIR/<target>/seed-*: frames of each class engine/parse.h names (parse),
programs of buffer operations (rb), TCP conversations (tcp_fsm) and
frames of TCP conversations with programs of edits (setlastpkt), in the
encodings the targets decode (see fuzz_rb.c, fuzz_tcp_fsm.c and
fuzz_setlastpkt.c), and small pcapng files of each block kind (pcapng).
The committed corpus (tests/fuzz/corpus/) is these seeds plus inputs the
fuzzers found, reduced with libFuzzer's -merge=1.
"""

import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "corpus"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(bytes(data))


# -- parse: one frame per class -----------------------------------------------

def csum(b):
    s = sum((b[i] << 8) | b[i + 1] for i in range(0, len(b) - 1, 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(proto, payload, ihl=5, tot=None, frag=0, ver=4, src=(10, 0, 0, 1),
         dst=(10, 0, 0, 2)):
    opts = b"\x01" * (4 * ihl - 20) if ihl >= 5 else b""
    h = bytearray(struct.pack(">BBHHHBBH4s4s", ver << 4 | ihl, 0,
                              tot if tot is not None else
                              20 + len(opts) + len(payload),
                              7, frag, 64, proto, 0, bytes(src),
                              bytes(dst)) + opts)
    if ihl >= 5:
        h[10:12] = struct.pack(">H", csum(h))
    return bytes(h) + payload


def tcp(data=b"", doff=5, flags=0x18):
    return struct.pack(">HHIIBBHHH", 40000, 80, 1000, 2000, doff << 4, flags,
                       65535, 0, 0) + b"\x01" * (4 * doff - 20 if doff > 5
                                                 else 0) + data


def eth(et, body, tags=b""):
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + tags + struct.pack(">H", et) \
        + body


def parse_seeds():
    seg = tcp(b"hello")
    put("parse", "tcp", eth(0x0800, ipv4(6, seg)))
    put("parse", "tcp-opts", eth(0x0800, ipv4(6, tcp(b"x" * 20, doff=8),
                                              ihl=7)))
    put("parse", "tcp-padded", eth(0x0800, ipv4(6, seg)) + b"\0" * 12)
    put("parse", "vlan", eth(0x0800, ipv4(6, seg), b"\x81\x00\x00\x05"))
    put("parse", "qinq", eth(0x0800, ipv4(6, seg),
                             b"\x88\xa8\x00\x05\x81\x00\x00\x06"))
    put("parse", "three-tags", eth(0x0800, ipv4(6, seg),
                                   b"\x88\xa8\0\1\x81\0\0\2\x81\0\0\3"))
    put("parse", "arp", eth(0x0806, b"\0\1\x08\0\6\4\0\1" + b"\0" * 20))
    put("parse", "udp", eth(0x0800, ipv4(17, b"\0\x35\0\x35\0\x0d\0\0abcde")))
    put("parse", "frag-first", eth(0x0800, ipv4(6, seg[:8], frag=0x2000)))
    put("parse", "frag-last", eth(0x0800, ipv4(6, seg[8:], frag=1)))
    put("parse", "eth-short", b"\2\0\0\0\0\2\2\0\0")
    put("parse", "vlan-cut", eth(0x8100, b"\0"))
    put("parse", "ip-cut", eth(0x0800, ipv4(6, seg)[:12]))
    put("parse", "ip-version", eth(0x0800, ipv4(6, seg, ver=6)))
    put("parse", "ip-ihl", eth(0x0800, ipv4(6, seg, ihl=4)))
    put("parse", "ip-ihl-long", eth(0x0800, ipv4(6, b"", ihl=15)[:40]))
    put("parse", "ip-len-short", eth(0x0800, ipv4(6, seg, tot=12)))
    put("parse", "ip-len-long", eth(0x0800, ipv4(6, seg, tot=1500)))
    put("parse", "tcp-short", eth(0x0800, ipv4(6, seg, tot=36)))
    short = tcp(b"ab")
    put("parse", "tcp-doff", eth(0x0800, ipv4(6, short[:12] + b"\xf0" +
                                              short[13:])))
    put("parse", "tcp-doff-4", eth(0x0800, ipv4(6, tcp(b"ab", doff=4))))
    put("parse", "empty", b"")
    # One byte either side of each limit.
    put("parse", "tcp-exact", eth(0x0800, ipv4(6, tcp())))
    put("parse", "tcp-doff-edge", eth(0x0800, ipv4(6, short[:12] + b"\x60" +
                                                   short[13:])))
    full = ipv4(6, seg)
    put("parse", "ip-len-edge", eth(0x0800, full[:2] +
                                    struct.pack(">H", len(full) + 1) +
                                    full[4:]))
    put("parse", "ip-ihl-edge", eth(0x0800, ipv4(6, b"", ihl=6)[:23]))
    put("parse", "vlan-edge", eth(0x8100, b"\0\x05\x08"))
    put("parse", "ip-edge", eth(0x0800, full[:19]))


# -- rb: programs --------------------------------------------------------------------

def rb_prog(mode, bufs, ops):
    """mode byte (bit 0: memory cap, then a u16), per buffer a window
    (u16) and where (u8, 0: offset 0, 1: u32 << 16, 2: near 2^64, then a
    u16), then operations."""
    b = bytearray([mode])
    if mode & 1:
        b += struct.pack(">H", 3000)
    for w, where, extra in bufs:
        b += struct.pack(">HB", w, where) + extra
    for op in ops:
        b += op
    return bytes(b)


def wr(buf, anchor, delta, length, policy=0, seed=1):
    """Write: anchor 0 next, 1 head, 2 end, 3 base; delta in
    [-8192, 8192)."""
    return bytes([buf << 7 | 0, anchor, policy]) + \
        struct.pack(">HHB", delta + 8192, length, seed)


def rb_seeds():
    zero = (1000, 0, b"")
    put("rb", "inorder", rb_prog(0, [zero, zero],
                                 [wr(0, 0, 0, 100), wr(0, 0, 0, 300),
                                  wr(0, 0, 0, 2000)]))
    put("rb", "holes", rb_prog(0, [zero, zero],
                               [wr(0, 0, 50, 10), wr(0, 0, 100, 10),
                                wr(0, 0, 20, 40, 1), wr(0, 0, 0, 200)]))
    put("rb", "runs", rb_prog(0, [zero, zero],
                              [wr(0, 0, 20 * i, 5) for i in range(1, 12)] +
                              [wr(0, 0, 0, 300, 1)]))
    put("rb", "window", rb_prog(0, [(200, 0, b""), zero],
                                [wr(0, 0, 0, 150), wr(0, 0, 100, 100),
                                 bytes([4]) + struct.pack(">H", 64),
                                 wr(0, 0, 0, 500)]))
    put("rb", "top", rb_prog(0, [(4000, 2, struct.pack(">H", 1000)), zero],
                             [wr(0, 0, 0, 500), wr(0, 0, 400, 2000),
                              wr(0, 0, 0, 400)]))
    put("rb", "cap", rb_prog(1, [(8000, 0, b""), (8000, 1,
                                                 struct.pack(">I", 77))],
                             [wr(0, 0, 0, 2000), wr(1, 0, 0, 2000),
                              wr(0, 0, 3000, 2000), wr(1, 0, 100, 1000)]))
    put("rb", "replace", rb_prog(0, [zero, zero],
                                 [wr(0, 0, 0, 100),
                                  bytes([6]) + struct.pack(">HHB", 10, 30, 5),
                                  bytes([3]) + struct.pack(">HH", 8, 200),
                                  bytes([5, 1]), wr(0, 1, 0, 50, 2)]))
    put("rb", "plan", rb_prog(0, [zero, zero],
                              [wr(0, 0, 0, 100),
                               bytes([7]) + struct.pack(">HI", 0xffff,
                                                        0xffffffff)]))


# -- tcp_fsm: conversations ------------------------------------------------------

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def sg(d, flags, seq_how=0, seq_d=0, ack_how=None, ack_d=0, length=0,
       win=65535, wscale=-1, seq_abs=0):
    """Segment: direction d (0 client), seq relative to (0) the sender's
    snd_nxt, (1) the receiver's rcv_nxt, ... or (5) seq_abs; ack likewise
    relative to the receiver's snd_nxt (ack_how 0) or absolute (None)."""
    b0 = d | flags << 1 | (0x80 if ack_how is not None else 0)
    b = bytes([b0, seq_how]) + struct.pack(">h", seq_d)
    if seq_how % 6 == 5:
        b += struct.pack(">I", seq_abs)
    if ack_how is not None:
        b += bytes([ack_how]) + struct.pack(">h", ack_d)
    else:
        b += struct.pack(">I", ack_d)
    return b + struct.pack(">HHb", length, win, wscale)


def conv(mode, segs):
    return bytes([mode]) + b"".join(segs)


def fsm_seeds():
    hs = [sg(0, SYN, 5, 0, None, 0, wscale=7, seq_abs=0xfffffff0),
          sg(1, SYN | ACK, 2, 0, 0, 0, wscale=7),
          sg(0, ACK, 0, 0, 0, 0)]
    data = [sg(0, ACK | PSH, 0, 0, 0, 0, 100), sg(1, ACK, 0, 0, 0, 0),
            sg(1, ACK | PSH, 0, 0, 0, 0, 300)]
    close = [sg(0, FIN | ACK, 0, 0, 0, 0), sg(1, ACK, 0, 0, 0, 0),
             sg(1, FIN | ACK, 0, 0, 0, 0), sg(0, ACK, 0, 0, 0, 0)]
    for mode in (0, 1):
        put("tcp_fsm", "clean%d" % mode, conv(mode, hs + data + close))
        put("tcp_fsm", "rst%d" % mode,
            conv(mode, hs + data + [sg(1, RST, 1, 0, None, 0)]))
    put("tcp_fsm", "ooo", conv(1, hs + [sg(0, ACK, 1, 200, 0, 0, 100),
                                        sg(0, ACK, 1, 0, 0, 0, 200),
                                        sg(0, FIN | ACK, 1, 500, 0, 0)]))
    put("tcp_fsm", "simclose", conv(0, hs + [sg(0, FIN | ACK, 0, 0, 0, 0),
                                             sg(1, FIN | ACK, 0, 0, 0, 0),
                                             sg(0, ACK, 0, 0, 0, 0),
                                             sg(1, ACK, 0, 0, 0, 0)]))
    put("tcp_fsm", "nosynack", conv(0, [hs[0], hs[2]] + data + close))
    put("tcp_fsm", "midstream", conv(1, data + close))
    put("tcp_fsm", "rexmit", conv(0, [hs[0], hs[0], hs[1], hs[1], hs[2]] +
                                  close + close))


# -- pcapng: files ---------------------------------------------------------------

def pcapng_seeds():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "integration"))
    import capfile_variants as cv

    frame = eth(0x0800, ipv4(6, tcp(b"GET / HTTP/1.0\r\n\r\n")))
    for e, tag in (("<", "le"), (">", "be")):
        ns = cv.option(e, 9, bytes([9])) + cv.option(e, 14,
                                                      struct.pack(e + "q", 5))
        put("pcapng", tag + "-epb", cv.shb(e) + cv.idb(e, 0) +
            cv.epb(e, 0, 1, frame) + cv.epb(e, 0, 2, frame[:30]))
        put("pcapng", tag + "-mixed", cv.shb(e) + cv.idb(e, 0) +
            cv.block(e, 4, b"\0\0\0\0") + cv.idb(e, 0, ns) +
            cv.pb(e, 1, 7, frame) + cv.spb(e, frame, len(frame)) +
            cv.shb(e) + cv.idb(e, 0, cv.option(e, 9, bytes([0x94]))) +
            cv.epb(e, 0, 1 << 40, frame, cv.option(e, 1, b"hi")))


# -- setlastpkt: frames of a conversation, each with a program of edits ------

def tcp_frame(src, dst, sport, dport, seq, ack, flags, data=b""):
    """An Ethernet + IPv4 + TCP frame with valid checksums."""
    seg = bytearray(struct.pack(">HHIIBBHHH", sport, dport, seq, ack,
                                5 << 4, flags, 65535, 0, 0) + data)
    ph = bytes(src) + bytes(dst) + struct.pack(">BBH", 0, 6, len(seg))
    seg[16:18] = struct.pack(">H", csum(ph + bytes(seg) + b"\0" *
                                        (len(seg) & 1)))
    return eth(0x0800, ipv4(6, bytes(seg), src=src, dst=dst))


# op a: action (0 drop, 1 overwrite, 2 chomp, 3 insert) | where << 2 (0 raw,
# 1 sender hook, 2 receiver hook, 3 all) | flags; b: region (0 Ethernet,
# 1 IPv4, 2 TCP header, 3 payload) | 4 IP checksum | 8 TCP checksum | flags.
RAW, SND, RCV, ALL = 0, 4, 8, 12
DROP, OVERWRITE, CHOMP, INSERT = 0, 1, 2, 3
ETH, IP, TCPH, PAY = 0, 1, 2, 3
CSUMS = 4 | 8


def op(a, b, off, data=b"", datalen=None):
    n = len(data) if datalen is None else datalen
    return bytes([a, b]) + struct.pack(">HH", off, n) + \
        (data if a & 1 else b"")


def rec(frame, ops=()):
    return struct.pack(">H", len(frame)) + frame + bytes([len(ops)]) + \
        b"".join(ops)


def setlastpkt_seeds():
    c, s = [10, 0, 0, 1], [10, 0, 0, 2]

    def conversation(cp, edits):
        """Handshake, a request, a response, FINs; edits by packet index."""
        ci, si = 1000, 5000
        pkts = [(0, ci, 0, 0x02, b""), (1, si, ci + 1, 0x12, b""),
                (0, ci + 1, si + 1, 0x10, b""),
                (0, ci + 1, si + 1, 0x18, b"GET / HTTP/1.0\r\n\r\n"),
                (1, si + 1, ci + 19, 0x18, b"HTTP/1.0 200 OK\r\n\r\nhello"),
                (0, ci + 19, si + 25, 0x11, b""),
                (1, si + 25, ci + 20, 0x11, b""),
                (0, ci + 20, si + 26, 0x10, b"")]
        out = b""
        for i, (d, seq, ack, fl, data) in enumerate(pkts):
            f = tcp_frame(c, s, cp, 80, seq, ack, fl, data) if d == 0 else \
                tcp_frame(s, c, 80, cp, seq, ack, fl, data)
            out += rec(f, edits.get(i, ()))
        return out

    put("setlastpkt", "overwrite", conversation(40001, {
        3: [op(OVERWRITE | SND, PAY | CSUMS, 0, b"PUT")],
        4: [op(OVERWRITE | RCV, PAY | 8, 9, b"404"),
            op(OVERWRITE | RAW, IP | 4, 8, b"\x20")]}))
    put("setlastpkt", "plain", conversation(40006, {
        3: [op(OVERWRITE | SND, PAY, 4, b"/abc/"),
            op(OVERWRITE | RAW, IP, 8, b"\x21\x06")],
        4: [op(OVERWRITE | RCV, TCPH, 14, b"\x10\x00"),
            op(OVERWRITE | ALL, ETH, 0, b"\x02\0\0\0\0\x09")]}))
    put("setlastpkt", "insert-chomp", conversation(40002, {
        3: [op(INSERT | SND, PAY | CSUMS, 4, b"xyz/")],
        4: [op(CHOMP | SND, PAY | CSUMS, 0, datalen=9)],
        5: [op(INSERT | RCV, PAY | CSUMS, 0, b"late")]}))
    # A frame near the buffer's size: insertions go to the head room.
    big = tcp_frame(c, s, 40007, 80, 1001, 5001, 0x18, bytes(range(256)) * 7)
    put("setlastpkt", "big",
        rec(tcp_frame(c, s, 40007, 80, 1000, 0, 0x02)) +
        rec(tcp_frame(s, c, 80, 40007, 5000, 1001, 0x12)) +
        rec(big, [op(INSERT | SND, PAY | CSUMS, 100, b"H" * 64),
                  op(INSERT | SND, TCPH | CSUMS, 20, b"\x01" * 40),
                  op(INSERT | SND, PAY | CSUMS, 0, b"x" * 100)]))
    put("setlastpkt", "rcv-length", conversation(40008, {
        3: [op(INSERT | RCV, PAY | CSUMS, 4, b"abc"),
            op(CHOMP | RCV, PAY | CSUMS, 0, datalen=2)],
        4: [op(CHOMP | RCV, PAY | CSUMS, 9, datalen=4)]}))
    put("setlastpkt", "options", conversation(40003, {
        0: [op(INSERT | RAW, IP | 4, 20, b"\x01\x01\x01\x00"),
            op(INSERT | SND, TCPH | CSUMS, 20, b"\x01\x01\x01\x01")],
        3: [op(CHOMP | SND, TCPH | CSUMS, 20, datalen=4)],
        4: [op(INSERT | ALL, TCPH | 8, 20, b"\x01" * 8),
            op(CHOMP | RCV, TCPH | 8, 20, datalen=8)]}))
    put("setlastpkt", "misuse", conversation(40004, {
        0: [op(OVERWRITE | RAW | 0x40, PAY, 0, b"abc"),
            op(OVERWRITE | SND, TCPH | 0x10, 0, b"ab"),
            op(CHOMP | RCV, ETH, 0, datalen=4),
            op(INSERT | SND, PAY | 0x40, 0, b"ab"),
            op(INSERT | SND, PAY | 0x20, 0, b"ab"),
            op(OVERWRITE | SND, IP, 2, b"\xff\xff"),
            op(INSERT | SND, PAY, 0, b"z" * 3000)],
        3: [op(OVERWRITE | SND | 0x80, PAY, 0, b"ab") + b"\x07",
            op(DROP | RCV | 0x10, PAY, 0) + b"\xff\xff\xff\xff"]}))
    put("setlastpkt", "drop", conversation(40005, {
        3: [op(DROP | SND, PAY, 0)], 4: [op(DROP | RAW, ETH, 0)]}))
    udp = eth(0x0800, ipv4(17, b"\0\x35\0\x35\0\x0d\0\0abcde"))
    arp = eth(0x0806, b"\0\1\x08\0\6\4\0\1" + b"\0" * 20)
    put("setlastpkt", "non-tcp",
        rec(udp, [op(OVERWRITE | RAW, IP | 4, 8, b"\x10"),
                  op(INSERT | RAW, IP | 4, 20, b"\x01\x01\x01\x00"),
                  op(OVERWRITE | RAW, TCPH, 0, b"a")]) +
        rec(arp, [op(OVERWRITE | RAW, ETH, 0, b"\xff" * 6),
                  op(OVERWRITE | RAW, IP, 0, b"a")]) +
        rec(b"", [op(OVERWRITE | RAW, ETH, 0, b"a")]))


def main():
    parse_seeds()
    rb_seeds()
    fsm_seeds()
    pcapng_seeds()
    setlastpkt_seeds()


if __name__ == "__main__":
    main()
