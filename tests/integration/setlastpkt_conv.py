#!/usr/bin/python3
"""setlastpkt_conv.py - captures for the MOS_INSERT/MOS_CHOMP tests of
test_setlastpkt.sh, and one mixing TCP with UDP and ARP.

A middlebox that changes the length of a segment of direction S->R stands
between two wires: S keeps its own numbering, R sees the edited stream.
So a capture of what reaches moonbox has S's frames as S sent them and R's
acknowledgements (and SACK blocks) in the edited numbering, since R got the
edited stream; what moonbox must send out has S's frames in the edited
numbering (the edited segment carrying the change) and R's in S's
numbering. For every case this writes both, from one model of the
conversation, with valid checksums:

  DIR/CAP.in.pcap    what moonbox reads
  DIR/CAP.exp.pcap   what it must write
  DIR/plain.pcap, DIR/sack.pcap, DIR/rexmit.pcap
                     the conversations without any edit
  DIR/mixed.pcap     plain.pcap's first flow with a UDP datagram and an
                     ARP frame, then its second flow with the first
                     client segment (payload "fragmented:...") in IP
                     fragments
  DIR/cases          one line per run of the modify plugin:
                     RUN CAP CONV DIR NTH OP N AT HOOK EDITS REFUSED
                     (EDITS: the numbers of the sender's payload frames
                     edited in each flow, "-" for none; REFUSED: calls
                     that must fail with EINVAL, all flows together)

Two flows per capture; the second one's sequence numbers wrap past 2^32.
The SACK variant reorders the last two segments of each direction, so the
receiver acknowledges with a SACK block (sequence numbers after the edit);
the rexmit variant sends the second segment of each direction twice.
The inserted bytes are "ABC...", as the modify plugin inserts them.
"""

import random
import sys

from scapy.all import ARP, IP, TCP, UDP, Ether, Raw, fragment, wrpcap

CLI, SVR = "10.0.0.1", "10.0.0.2"
MAC = {0: "02:00:00:00:00:01", 1: "02:00:00:00:00:02"}
AT = 10
M32 = 0xffffffff


def seq_after(a, b):
    return 0 < ((a - b) & M32) < 0x80000000


def conversation(flow, variant):
    """Abstract frames: dict(snd, seq, ack, flags, data, sack, opts)."""
    rnd = random.Random(100 + flow)
    isn = [(1000 + 7777 * flow) if flow == 0 else 0xffffff00,
           (5000000 + flow) if flow == 0 else 0xfffffe80]
    nxt = [isn[0] + 1, isn[1] + 1]
    pk = []

    def emit(snd, flags, data=b"", sk=None, opts=None, seq=None, ack=True):
        pk.append(dict(snd=snd, seq=(nxt[snd] if seq is None else seq) & M32,
                       ack=nxt[snd ^ 1] & M32 if ack else None, flags=flags,
                       data=data, sack=sk or [], opts=opts or []))

    sack = variant == "sack"
    synopts = [("MSS", 1460)] + ([("SAckOK", b"")] if sack else [])
    emit(0, "S", opts=synopts, seq=isn[0], ack=False)
    emit(1, "SA", opts=synopts, seq=isn[1])
    emit(0, "A")
    for snd in (0, 1):
        lens = [rnd.randint(100, 300) for _ in range(5)]
        data = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 \n")
                     for _ in range(sum(lens)))
        base = nxt[snd]
        offs = [sum(lens[:i]) for i in range(6)]

        def seg(i):
            emit(snd, "PA" if i == 4 else "A", data[offs[i]:offs[i + 1]],
                 seq=base + offs[i])

        def ack_upto(i, sk=None):
            nxt[snd] = base + offs[i]
            emit(snd ^ 1, "A", sk=sk)

        if sack:
            for i in (0, 1, 2, 4):
                seg(i)
            ack_upto(3, [((base + offs[4]) & M32, (base + offs[5]) & M32)])
            seg(3)
            ack_upto(5)
        else:
            seg(0)
            seg(1)
            if variant == "rexmit":
                seg(1)
            ack_upto(2)
            seg(2)
            seg(3)
            ack_upto(4)
            seg(4)
            ack_upto(5)
    emit(0, "FA")
    nxt[0] += 1
    emit(1, "A")
    emit(1, "FA")
    nxt[1] += 1
    emit(0, "A")
    return pk


class Edit:
    """Length changes of delta bytes at payload offset AT of some payload
    frames of sender snd: those numbered in `edits` (1 = its first payload
    frame of the flow, in capture order). f() maps snd's sequence numbers
    into the edited numbering: a number moves by the changes made in
    segments that start before it."""

    def __init__(self, snd, edits, op, n):
        self.snd, self.edits, self.op, self.n = snd, edits, op, n
        self.delta = n if op == "insert" else -n
        self.pos = set()

    def locate(self, pk):
        """The frames to edit, and their sequence numbers in self.pos."""
        k, hit = 0, []
        self.pos = set()
        for q in pk:
            if q["snd"] == self.snd and q["data"]:
                k += 1
                if k in self.edits:
                    hit.append(q)
                    self.pos.add(q["seq"])
        if len(hit) != len(self.edits):
            raise SystemExit("no payload frame %r" % (self.edits,))
        return hit

    def f(self, x):
        return (x + self.delta * sum(seq_after(x, p) for p in self.pos)) \
            & M32

    def edit(self, data):
        if self.op == "insert":
            return data[:AT] + bytes(65 + j % 26 for j in range(self.n)) + \
                data[AT:]
        return data[:AT] + data[AT + self.n:]


def render(pk, flow, ed=None, out=False):
    """Scapy frames of one flow. ed None: as sent, no edit. With ed: the
    input (out False) or the output (out True) of the edit."""
    targets = ed.locate(pk) if ed else []
    res = []
    for i, q in enumerate(pk):
        s = q["snd"]
        seq, ack, data = q["seq"], q["ack"], q["data"]
        sk = list(q["sack"])
        if ed and s == ed.snd and out:
            seq = ed.f(seq)
            if any(q is t for t in targets):
                data = ed.edit(data)
        elif ed and s != ed.snd and not out:
            ack = ed.f(ack) if ack is not None else None
            sk = [(ed.f(a), ed.f(b)) for a, b in sk]
        opts = list(q["opts"])
        if sk:
            opts += [("NOP", None), ("NOP", None), ("SAck", sk[0])]
        ip = (CLI, SVR) if s == 0 else (SVR, CLI)
        sport, dport = (40000 + flow, 80) if s == 0 else (80, 40000 + flow)
        fr = Ether(src=MAC[s], dst=MAC[s ^ 1]) / \
            IP(src=ip[0], dst=ip[1], id=(1000 * (s + 1) + 100 * flow + i),
               ttl=64, flags="DF") / \
            TCP(sport=sport, dport=dport, seq=seq, ack=ack or 0,
                flags=q["flags"], window=65535, options=opts)
        if data:
            fr = fr / Raw(data)
        res.append(Ether(bytes(fr)))
    return res


def stamp(frames):
    for i, fr in enumerate(frames):
        fr.time = 1700000000 + i * 0.00001
    return frames


def runs():
    """(run, conversation, dir, nth, op, n, hook, frames edited (numbers
    among the sender's payload frames), frames refused per flow)."""
    r = []
    for v in ("plain", "sack"):
        for dname in ("c2s", "s2c"):
            for op, n in (("insert", 8), ("chomp", 6)):
                for hook in ("snd", "rcv"):
                    r.append(("%s-%s-%s-%s" % (op, dname, v, hook), v,
                              dname, 2, op, n, hook, (2,), 0))
    # The segment sent ahead of a hole: editable before the receiver
    # has it, not after (it is not the receiver's last in-order data).
    r.append(("ooo-snd", "sack", "c2s", 4, "insert", 8, "snd", (4,), 0))
    r.append(("ooo-rcv", "sack", "c2s", 4, "insert", 8, "rcv", (), 1))
    # Every payload frame (nth=0). With SACK, the 5th frame fills the
    # hole below the 4th, already edited: its length can no longer change
    # without overlapping the 4th as forwarded. At the receive hook the
    # 4th (ahead of the hole) and the 5th (then not the last in-order
    # data) are refused.
    # BUG: at the send hook moonbox accepts the 5th frame's edit and does
    # not remap for it (pktmod.c seqadj_add ignores a sequence number
    # before the last edit's).
    r.append(("every-c2s-sack-snd", "sack", "c2s", 0, "insert", 4, "snd",
              (1, 2, 3, 4), 1))
    r.append(("every-c2s-sack-rcv", "sack", "c2s", 0, "insert", 4, "rcv",
              (1, 2, 3), 2))
    for hook in ("snd", "rcv"):
        r.append(("every-s2c-plain-" + hook, "plain", "s2c", 0, "chomp", 3,
                  hook, (1, 2, 3, 4, 5), 0))
    # The 3rd frame retransmits the 2nd: edited the same way before the
    # receiver has it, refused after.
    # BUG: at the send hook moonbox adds the retransmission's change to
    # the first one's (pktmod.c seqadj_add, seq == pos).
    r.append(("every-c2s-rexmit-snd", "rexmit", "c2s", 0, "insert", 5, "snd",
              (1, 2, 3, 4, 5, 6), 0))
    r.append(("every-c2s-rexmit-rcv", "rexmit", "c2s", 0, "insert", 5, "rcv",
              (1, 2, 4, 5, 6), 1))
    return r


def main():
    d = sys.argv[1]
    convs = {v: [conversation(f, v) for f in (0, 1)]
             for v in ("plain", "sack", "rexmit")}
    for v, pks in convs.items():
        wrpcap("%s/%s.pcap" % (d, v),
               stamp([fr for f, pk in enumerate(pks) for fr in render(pk, f)]))
    made = {}
    with open("%s/cases" % d, "w") as man:
        for run, v, dname, nth, op, n, hook, edits, refused in runs():
            key = (v, dname, op, n, edits)
            if key not in made:
                made[key] = run
                snd = 0 if dname == "c2s" else 1
                for suffix, out in (("in", False), ("exp", True)):
                    fs = []
                    for f, pk in enumerate(convs[v]):
                        fs += render(pk, f, Edit(snd, edits, op, n), out)
                    wrpcap("%s/%s.%s.pcap" % (d, run, suffix), stamp(fs))
            man.write("%s %s %s %s %d %s %d %d %s %s %d\n" % (
                run, made[key], v, dname, nth, op, n, AT, hook,
                ",".join(map(str, edits)) or "-", 2 * refused))
    mixed = render(convs["plain"][0], 0)
    mixed.insert(1, Ether(bytes(
        Ether(src=MAC[0], dst="ff:ff:ff:ff:ff:ff") /
        ARP(psrc=CLI, pdst=SVR, hwsrc=MAC[0]))))
    mixed.insert(4, Ether(bytes(
        Ether(src=MAC[0], dst=MAC[1]) / IP(src=CLI, dst=SVR) /
        UDP(sport=40000, dport=9999) / Raw(b"udp payload"))))
    # A second flow whose first client segment comes in IP fragments.
    pk = conversation(1, "plain")
    first = next(q for q in pk if q["snd"] == 0 and q["data"])
    first["data"] = b"fragmented:" + first["data"][11:]
    for fr in render(pk, 1):
        if fr[TCP].payload and bytes(fr[TCP].payload).startswith(
                b"fragmented:"):
            mixed += [Ether(src=fr.src, dst=fr.dst) / f
                      for f in fragment(fr[IP], fragsize=64)]
        else:
            mixed.append(fr)
    wrpcap("%s/mixed.pcap" % d, stamp(mixed))


if __name__ == "__main__":
    main()
