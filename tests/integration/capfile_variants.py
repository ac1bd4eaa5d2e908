#!/usr/bin/python3
"""capfile_variants.py - the same frames in the pcap layouts moonbox -r must
read as libpcap does (for test_passthrough.sh).

Usage: capfile_variants.py IN.pcap JUMBO_BYTES OUTDIR
Writes into OUTDIR, from IN's frames with their times spread 50 ms apart
(so that a 1 s idle timeout fires between bursts):
  le_us.pcap   little-endian, microseconds, one JUMBO_BYTES frame added
  be_ns.pcap   big-endian, nanoseconds (sub-microsecond digits set)
  trunc.pcap   snapshot length 60: records cut to 60 bytes, wire length kept
  oversnap.pcap  header snapshot length 100, records longer than that
  cut.pcap     le_us.pcap with its last record cut short
  bogus.pcap   le_us.pcap, record 100 claiming 300 000 bytes (more than
               libpcap takes: the input ends there)
  bogus2.pcap  le_us.pcap, record 100 claiming 70 000 bytes (over the
               snapshot length: cut to it, and the next "record" is
               whatever follows)
  huge.pcap    a 70 000 byte frame (libpcap takes up to 256 KiB; net_pcap's
               own reader keeps 16 bits of its length), then a small one
  fraghuge.pcap  huge.pcap with the big frame's IPv4 header marking a TCP
               fragment (more fragments follow), which the distributor of
               -c 2 or more must keep out of IPv4 reassembly
pcapng files (written here from the pcapng specification, not by a
library), each holding le_us.pcap's frames and times:
  ng_le.pcapng   little-endian; two interfaces, the second in nanoseconds
               with a time offset of -1000 s; blocks to skip between the
               packets (name resolution, interface statistics, an unknown
               type), options on packets, the jumbo frame on the second
               interface
  ng_be.pcapng   big-endian; time stamps in 2^-20 s, then in 10^-3 s on
               a second interface (a fraction lost: the times are cut to
               the millisecond, as libpcap reads them); some frames in
               obsolete Packet Blocks; a second section (new interfaces)
               from frame 150 on
  ng_res7.pcapng  time stamps in 10^-7 s, a digit past the microsecond
  ng_spb.pcapng  the first 20 frames in Simple Packet Blocks (no time
               stamp: time 0, and cut to the interface's 200-byte snapshot
               length), then Enhanced Packet Blocks
  ng_cut.pcapng  ng_le.pcapng with its last block cut short
  ng_bad.pcapng  ng_le.pcapng, packet 100's captured length beyond the
               snapshot length (libpcap fails there: the input ends)
  ng_trailer.pcapng  ng_le.pcapng, packet 150's block with a trailer
               that does not repeat its length (the input ends there)
  ng_huge.pcapng huge.pcap's two frames
  win.pcap     the input's frames again and again, over 2 MiB, with the
               end of moonbox's reading window (256 KiB of the file) at
               every kind of place in a record: see window_cuts
"""
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tools"))
import pcapfile  # noqa: E402


def write(path, e, nsec, snaplen, recs):
    """recs: (seconds, fraction, frame, wire length)."""
    magic = 0xa1b23c4d if nsec else 0xa1b2c3d4
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, 1))
        for sec, frac, b, wl in recs:
            f.write(struct.pack(e + "IIII", sec, frac, len(b), wl))
            f.write(b)


def block(e, btype, body):
    """A pcapng block: type, total length, body padded to 4, length."""
    body += bytes(-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def option(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + value + \
        bytes(-len(value) % 4)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(e, snaplen, opts=b""):
    if opts:
        opts += option(e, 0, b"")
    return block(e, 1, struct.pack(e + "HHI", 1, 0, snaplen) + opts)


def epb(e, ifid, t, b, opts=b""):
    return block(e, 6, struct.pack(e + "IIIII", ifid, t >> 32, t & 0xffffffff,
                                   len(b), len(b)) + b + bytes(-len(b) % 4)
                 + opts)


def pb(e, ifid, t, b):
    return block(e, 2, struct.pack(e + "HHIIII", ifid, 0, t >> 32,
                                   t & 0xffffffff, len(b), len(b)) + b)


def spb(e, b, wire):
    return block(e, 3, struct.pack(e + "I", wire) + b)


def write_ng(path, blocks):
    with open(path, "wb") as f:
        f.write(b"".join(blocks))


def pcapng_variants(out, le, huge, small):
    """le: (seconds, microseconds, frame, wire length) records."""
    def us(s, u):
        return s * 1000000 + u

    # ng_le: interface 1 counts nanoseconds from 1000 s before the epoch.
    tsres9 = option("<", 9, bytes([9]))
    tsoff = option("<", 14, struct.pack("<q", -1000))
    blocks = [shb("<"), block("<", 4, struct.pack("<HH", 0, 0)),
              idb("<", 65535), idb("<", 65535, tsres9 + tsoff)]
    for i, (s, u, b, w) in enumerate(le):
        if i % 2:
            t = (s + 1000) * 10**9 + u * 1000 + 789
            blocks.append(epb("<", 1, t, b, option("<", 1, b"odd") +
                              option("<", 0, b"")))
        else:
            blocks.append(epb("<", 0, us(s, u), b))
        if i % 50 == 7:
            blocks.append(block("<", 5, struct.pack("<III", 0, 0, 0)))
        if i % 70 == 3:
            blocks.append(block("<", 0x0BAD, b"skip me"))
    write_ng(os.path.join(out, "ng_le.pcapng"), blocks)
    d = b"".join(blocks)
    with open(os.path.join(out, "ng_cut.pcapng"), "wb") as f:
        f.write(d[:len(d) - 9])
    # Packet 100's captured length: 65536 > snapshot length 65535.
    bad = list(blocks)
    j = [k for k, x in enumerate(bad) if x[:4] == struct.pack("<I", 6)][100]
    x = bytearray(bad[j])
    x[20:24] = struct.pack("<I", 65536)
    bad[j] = bytes(x)
    write_ng(os.path.join(out, "ng_bad.pcapng"), bad)
    j = [k for k, x in enumerate(blocks) if x[:4] == struct.pack("<I", 6)][150]
    x = bytearray(blocks[j])
    x[-4:] = struct.pack("<I", len(x) + 4)
    write_ng(os.path.join(out, "ng_trailer.pcapng"),
             blocks[:j] + [bytes(x)] + blocks[j + 1:])

    # ng_be: 2^-20 s units; milliseconds on interface 1; PBs; section 2.
    def bin20(s, u):
        return (s << 20) + (u << 20) // 1000000 + 1

    blocks = [shb(">"), idb(">", 0, option(">", 9, bytes([0x80 | 20]))),
              idb(">", 262144, option(">", 9, bytes([3])))]
    for i, (s, u, b, w) in enumerate(le):
        if i == 150:
            blocks += [shb(">"), idb(">", 0,
                                     option(">", 9, bytes([3])))]
        if i >= 150:
            blocks.append(epb(">", 0, s * 1000 + u // 1000, b))
        elif i % 3 == 0:
            blocks.append(pb(">", 1, s * 1000 + u // 1000, b))
        else:
            blocks.append(epb(">", 0, bin20(s, u), b))
    write_ng(os.path.join(out, "ng_be.pcapng"), blocks)

    # ng_res7: 10^-7 s units, the last digit set.
    blocks = [shb("<"), idb("<", 65535, option("<", 9, bytes([7])))]
    for i, (s, u, b, w) in enumerate(le):
        blocks.append(epb("<", 0, us(s, u) * 10 + i % 10, b))
    write_ng(os.path.join(out, "ng_res7.pcapng"), blocks)

    # ng_spb: SPBs first (interface 0, snapshot length 200).
    blocks = [shb("<"), idb("<", 200)]
    for i, (s, u, b, w) in enumerate(le):
        if i < 20:
            blocks.append(spb("<", b[:200], len(b)))
        else:
            blocks.append(epb("<", 0, us(s, u), b[:200]))
    write_ng(os.path.join(out, "ng_spb.pcapng"), blocks)

    write_ng(os.path.join(out, "ng_huge.pcapng"),
             [shb("<"), idb("<", 262144), epb("<", 0, us(1000, 0), huge),
              epb("<", 0, us(1000, 10), small)])


def ip_checksum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def window_size():
    """How much of the file moonbox's reader holds at a time: CAPWIN_SIZE
    in engine/capwin.h, read from there so that win.pcap follows it (the
    reader moves the window to a record's start when the record does not
    lie whole in it)."""
    h = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "engine", "capwin.h")
    with open(h) as f:
        m = re.search(r"^#define CAPWIN_SIZE\s+\((\d+)u << (\d+)\)",
                      f.read(), re.M)
    if m is None:
        sys.exit("capfile_variants.py: no CAPWIN_SIZE (n << k) in " + h)
    return int(m.group(1)) << int(m.group(2))


def window_cuts(frames):
    """Records of frames (cycled, 50 ms apart), laid out so that the
    reader's window ends at each of these points of a record: at its start,
    1, 8, 15, 16 and 17 bytes in (its header cut), one byte before its end,
    at its end (then the next record starts the next window). A frame
    before such a record is padded (Ethernet trailer bytes) to put it
    there."""
    window = window_size()
    recs, off, start, i = [], 24, 0, 0
    frames = [b for b in frames if len(b) <= 1514]
    big = max(16 + len(b) for b in frames)
    for cut in (0, 1, 8, 15, 16, 17, -1, None):
        end = start + window
        while off + 3 * big < end:
            recs.append(frames[i % len(frames)])
            off += 16 + len(recs[-1])
            i += 1
        b = frames[i % len(frames)]
        inside = {-1: 16 + len(b) - 1, None: 16 + len(b)}.get(cut, cut)
        pad = end - inside - off
        recs[-1] += bytes(pad)
        recs.append(b)
        off = end - inside + 16 + len(b)
        i += 1
        # The window moves to the record cut, or past the one that fits.
        start = end - inside if inside < 16 + len(b) else end
    for _ in range(len(frames)):
        recs.append(frames[i % len(frames)])
        i += 1
    return [(1000 + n // 20, (n % 20) * 50000, b, len(b))
            for n, b in enumerate(recs)]


def main():
    src, jumbo, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    frames = pcapfile.frames(src)
    # A frame larger than a packet buffer (a chain): Ethernet, IPv4, TCP
    # headers of the first frame, then filler.
    big = bytearray(frames[0][:54]) + bytes(range(256)) * (jumbo // 256 + 1)
    big = bytes(big[:jumbo])
    us = [(1000 + i // 20, (i % 20) * 50000) for i in range(len(frames) + 1)]
    le = [(s, u, b, len(b)) for (s, u), b in zip(us, frames + [big])]
    write(os.path.join(out, "le_us.pcap"), "<", False, 65535, le)
    write(os.path.join(out, "be_ns.pcap"), ">", True, 65535,
          [(s, u * 1000 + 789, b, w) for s, u, b, w in le])
    write(os.path.join(out, "trunc.pcap"), "<", False, 60,
          [(s, u, b[:60], w) for s, u, b, w in le])
    write(os.path.join(out, "oversnap.pcap"), "<", False, 100, le)
    with open(os.path.join(out, "le_us.pcap"), "rb") as f:
        d = f.read()
    with open(os.path.join(out, "cut.pcap"), "wb") as f:
        f.write(d[:len(d) - len(big) // 2])
    off = 24
    for _, _, b, _ in le[:100]:
        off += 16 + len(b)
    huge = frames[0][:54] + bytes(70000 - 54)
    write(os.path.join(out, "huge.pcap"), "<", False, 262144,
          [(1000, 0, huge, len(huge)), (1000, 10, frames[1], len(frames[1]))])
    frag = bytearray(huge)
    frag[20] |= 0x20                        # IPv4 MF
    frag[24:26] = b"\0\0"
    frag[24:26] = struct.pack("!H", ip_checksum(bytes(frag[14:34])))
    write(os.path.join(out, "fraghuge.pcap"), "<", False, 262144,
          [(1000, 0, bytes(frag), len(frag)),
           (1000, 10, frames[1], len(frames[1]))])
    pcapng_variants(out, le, huge, frames[1])
    write(os.path.join(out, "win.pcap"), "<", False, 65535,
          window_cuts(frames))
    for name, caplen in (("bogus", 300000), ("bogus2", 70000)):
        with open(os.path.join(out, name + ".pcap"), "wb") as f:
            f.write(d[:off + 8] + struct.pack("<I", caplen) + d[off + 12:])


if __name__ == "__main__":
    main()
