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
"""
import os
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


def ip_checksum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


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
    for name, caplen in (("bogus", 300000), ("bogus2", 70000)):
        with open(os.path.join(out, name + ".pcap"), "wb") as f:
            f.write(d[:off + 8] + struct.pack("<I", caplen) + d[off + 12:])


if __name__ == "__main__":
    main()
