"""pcapfile.py - classic pcap files for the Python test tools.

Reads and writes the records as bytes (no scapy, so the tools start
fast). A record is (record header, frame): the header's 16 bytes as read,
of which write() keeps the time stamp and the bytes the capture had cut
off the frame (wire length - captured length), whatever the frame's new
length.
"""
import struct


class PcapError(Exception):
    pass


def read(path):
    """(file header, byte order for struct, [(record header, frame)])."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif d[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise PcapError("%s: not a pcap file" % path)
    off, recs = 24, []
    while off + 16 <= len(d):
        caplen = struct.unpack(e + "I", d[off + 8:off + 12])[0]
        recs.append((d[off:off + 16], d[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    if off != len(d):
        raise PcapError("%s: last record cut" % path)
    return d[:24], e, recs


def write(path, hdr, e, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for rh, b in recs:
            caplen, wirelen = struct.unpack(e + "II", rh[8:16])
            cut = max(0, wirelen - caplen)
            f.write(rh[:8] + struct.pack(e + "II", len(b), len(b) + cut))
            f.write(b)


def frames(path):
    return [b for _, b in read(path)[2]]


def timed(path):
    """[(time stamp, frame)]: the stamp as an instant in microseconds (a
    nanosecond file's rounded down), modulo the 2^32 s a record holds. A
    microseconds field out of range (libpcap keeps it so, moonbox -w
    normalises it) counts as the instant it means."""
    hdr, e, recs = read(path)
    ns = hdr[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    out = []
    for rh, b in recs:
        sec, frac = struct.unpack(e + ("II" if ns else "Ii"), rh[:8])
        us = sec * 1000000 + (frac // 1000 if ns else frac)
        out.append((us % (1000000 << 32), b))
    return out
