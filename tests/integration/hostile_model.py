"""hostile_model.py - shared by hostile_gen.py and ipfrag_gen.py: a capture
written frame by frame (records may be cut shorter than the frame, as a
small snaplen does), TCP conversations whose expected byte streams are
recorded as the frames are made, and the classification of a frame by the
rules engine/parse.h documents (an oracle independent of engine/parse.c).

Expected streams are named as tcpflow (and tests/plugins/streams.c) names
them: SRCIP.SRCPORT-DSTIP.DSTPORT, octets padded to 3 digits, ports to 5.
"""

import json
import os
import struct

from scapy.all import IP, TCP, Ether, Raw, raw

T0 = 1700000000
M32 = 0xffffffff
MAC = ("02:00:00:00:00:01", "02:00:00:00:00:02")


def tcpflow_name(src, sport, dst, dport):
    def one(ip, port):
        return "%s.%05u" % (".".join("%03u" % int(o) for o in ip.split(".")),
                            port)
    return "%s-%s" % (one(src, sport), one(dst, dport))


# -- Frame classes (engine/parse.h) ----------------------------------------

def classify(b):
    """Class of frame bytes b: 'non_ip', 'ipv4', 'frag', 'tcp' or a
    malformation reason ('eth_truncated', ..., 'tcp_doff')."""
    if len(b) < 14:
        return "eth_truncated"
    et = b[12] << 8 | b[13]
    off, tags = 14, 0
    while et in (0x8100, 0x88a8):
        if tags == 2:
            return "non_ip"
        if len(b) - off < 4:
            return "vlan_truncated"
        et = b[off + 2] << 8 | b[off + 3]
        off += 4
        tags += 1
    if et != 0x0800:
        return "non_ip"
    ip = b[off:]
    if len(ip) < 20:
        return "ip_truncated"
    if ip[0] >> 4 != 4:
        return "ip_version"
    ihl = (ip[0] & 15) * 4
    if ihl < 20 or ihl > len(ip):
        return "ip_ihl"
    tot = ip[2] << 8 | ip[3]
    if tot < ihl or tot > len(ip):
        return "ip_len"
    if (ip[6] << 8 | ip[7]) & 0x3fff:
        return "frag"
    if ip[9] != 6:
        return "ipv4"
    if tot - ihl < 20:
        return "tcp_truncated"
    doff = (ip[ihl + 12] >> 4) * 4
    if doff < 20 or doff > tot - ihl:
        return "tcp_doff"
    return "tcp"


MALFORMED = ("eth_truncated", "vlan_truncated", "ip_truncated", "ip_version",
             "ip_ihl", "ip_len", "tcp_truncated", "tcp_doff")


# -- Captures ----------------------------------------------------------------

class Capture:
    """Frames with timestamps (10 us apart unless paused) and the byte
    streams a correct monitor reassembles from them."""

    def __init__(self):
        self.recs = []
        self.us = T0 * 1000000
        self.streams = {}

    def frame(self, pkt, cut=None, tag=None):
        b = pkt if isinstance(pkt, (bytes, bytearray)) else raw(pkt)
        wire = len(b)
        if cut is not None:
            b = b[:cut]
        self.recs.append(dict(us=self.us, data=bytes(b), wire=wire, tag=tag,
                              cls=classify(b)))
        self.us += 10
        return len(self.recs) - 1

    def pause(self, seconds):
        self.us += int(seconds * 1000000)

    def expect(self, name, data):
        self.streams.setdefault(name, bytearray()).extend(data)

    def count(self, cls):
        return sum(1 for r in self.recs if r["cls"] == cls)

    def counters(self):
        """Frame-class counters of moonbox's statistics."""
        n = {c: self.count(c) for c in
             ("non_ip", "ipv4", "frag", "tcp") + MALFORMED}
        c = {"rx_packets": len(self.recs), "tcp_packets": n["tcp"],
             "ip_fragments": n["frag"], "non_ip": n["non_ip"],
             "non_tcp": n["non_ip"] + n["ipv4"] + n["frag"],
             "malformed": sum(n[m] for m in MALFORMED)}
        for m in MALFORMED:
            c["malformed_" + m] = n[m]
        return c

    def write(self, path, keep=None):
        """Microsecond pcap; keep(rec) selects records (default all)."""
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for r in self.recs:
                if keep is not None and not keep(r):
                    continue
                f.write(struct.pack("<IIII", r["us"] // 1000000,
                                    r["us"] % 1000000, len(r["data"]),
                                    r["wire"]))
                f.write(r["data"])

    def write_streams(self, d):
        os.makedirs(d, exist_ok=True)
        for name, data in self.streams.items():
            if data:
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)


class Conn:
    """One TCP connection of a capture. nxt[d] is the next sequence number
    of direction d (0 client to server, 1 server to client)."""

    def __init__(self, cap, cli, cport, srv, sport, isn_c, isn_s,
                 win=(65535, 65535)):
        self.cap = cap
        self.addr = ((cli, cport), (srv, sport))
        self.isn = [isn_c & M32, isn_s & M32]
        self.nxt = [self.isn[0], self.isn[1]]
        self.win = list(win)

    def name(self, d):
        (a, ap), (b, bp) = self.addr[d], self.addr[d ^ 1]
        return tcpflow_name(a, ap, b, bp)

    def seg(self, d, flags, data=b"", seq=None, ack=None, win=None,
            opts=None, ipid=1):
        """The frame of a segment (not added to the capture)."""
        (a, ap), (b, bp) = self.addr[d], self.addr[d ^ 1]
        if seq is None:
            seq = self.nxt[d]
        if ack is None:
            ack = self.nxt[d ^ 1] if "A" in flags else 0
        t = TCP(sport=ap, dport=bp, flags=flags, seq=seq & M32,
                ack=ack & M32, window=self.win[d] if win is None else win,
                options=opts or [])
        p = Ether(src=MAC[d], dst=MAC[d ^ 1]) / IP(src=a, dst=b, id=ipid) / t
        if data:
            p = p / Raw(data)
        return p

    def send(self, d, flags="A", data=b"", seq=None, ack=None, win=None,
             opts=None, cut=None, tag=None):
        """Add a segment. Without seq it is the next in order: its bytes
        are expected in the stream and nxt advances; with seq it is a
        stray that changes neither."""
        inorder = seq is None
        p = self.seg(d, flags, data, seq, ack, win, opts)
        i = self.cap.frame(p, cut=cut, tag=tag)
        if inorder:
            self.deliver(d, data, flags)
        return i

    def deliver(self, d, data, flags=""):
        self.cap.expect(self.name(d), data)
        self.nxt[d] = (self.nxt[d] + len(data) +
                       (1 if "S" in flags else 0) +
                       (1 if "F" in flags else 0)) & M32

    def handshake(self, opts=None):
        self.send(0, "S", opts=opts)
        self.send(1, "SA", opts=opts)
        self.send(0, "A")

    def close(self, first=0):
        self.send(first, "FA")
        self.send(first ^ 1, "FA")
        self.send(first, "A")


def text(rnd, n, alphabet=b"abcdefghijklmnopqrstuvwxyz0123456789"):
    return bytes(rnd.choice(alphabet) for _ in range(n))


def save(out, registry, cap, name, runs):
    """Write OUT/NAME.pcap (and NAME.valid.pcap, its frames that are not
    malformed, for --drop-malformed) and append the runs to registry.
    Each run is (suffix, args, streams, extra): streams the expected
    streams (None: the capture's), extra the other fields of the run; the
    frame-class counters and the fates are added to its "exact"."""
    cap.write(os.path.join(out, name + ".pcap"))
    base = cap.counters()
    for suffix, args, streams, extra in runs:
        rid = name + suffix
        sdir = rid + ".streams"
        s = Capture()
        s.streams = streams if streams is not None else cap.streams
        s.write_streams(os.path.join(out, sdir))
        exact = dict(base)
        exact.update(extra.pop("exact", {}))
        output = extra.pop("output", name + ".pcap")
        if "--drop-malformed" in args:
            output = name + ".valid.pcap"
            cap.write(os.path.join(out, output),
                      keep=lambda r: r["cls"] not in MALFORMED)
            exact["dropped_malformed"] = base["malformed"]
            exact["tx_packets"] = base["rx_packets"] - base["malformed"]
        else:
            exact.setdefault("dropped_malformed", 0)
            exact.setdefault("tx_packets", base["rx_packets"])
        run = dict(id=rid, pcap=name + ".pcap", args=args, output=output,
                   streams=sdir, exact=exact)
        run.update(extra)
        registry.append(run)


def write_runs(path, runs):
    with open(path, "w") as f:
        json.dump(runs, f, indent=1, sort_keys=True)
