#!/usr/bin/python3
"""scripts_gen.py - captures for test_scripts.sh (the shipped Lua policies),
built with scapy, each with the expectation the test checks against. Run
with /usr/bin/python3 (the interpreter that has scapy).

  midstat OUT.pcap EXPECT.json
      four flows whose states change in the middle of whole seconds of
      capture time (64 frames per second, UDP filler, the first at 0.0).
      EXPECT: the (client, state, server, state) rows of every second's
      table (table N, due N s after the first packet, shows the state
      after the packets of second N-1) and of the final table.
  fwsyn OUT.pcap
      accepted and dropped flows whose SYN is sent three times.
  nat OUT.pcap MANIFEST.json --nat-ip IP --ports LOW-HIGH --flows N
      [--learned PORTS.json] [--rounds R]
      N client flows per round (R rounds, each flow closed by FIN before
      the next round starts). The server answers the NAT address: the port
      of each flow is the one the documented allocation order gives on one
      core (ports LOW.. in order, released ports at the end of the queue),
      or the one in PORTS.json (learned from a run on several cores). A
      flow that finds no port gets no reply. MANIFEST: for every frame, its
      addresses as they must leave the NAT (or "drop").
  natlearn OUT.pcap --flows N
      only the first SYN of each flow of `nat` (one round), to learn which
      port each flow gets on several cores.
  rewrite OUT.pcap --pattern P --seed S [--conns N]
      streams over the pattern's own characters (every kind of near miss
      and split), cut into segments of 1 byte to 1000, with exact
      retransmissions of recent segments, data on FINs, RST closes.
      --gaps: instead, each side's segments cross a path that loses a
      fifth of them before the middlebox: segments come ahead of gaps,
      and the sender goes back to each lost one (see lossy).
      --behind: instead, long streams dense with occurrences cross a path
      that loses some segments after the middlebox: their receiver
      acknowledges up to the first one it lacks, and the sender sends it
      again from 20 to 120 segments later (see behind).
  http OUT.pcap EXPECT.txt --seed S [--conns N]
      HTTP/1.1 flows with pipelined requests cut at random places (inside
      lines, inside CRLF), request bodies (Content-Length, chunked),
      HEAD, 100-continue, 204, 304, chunked responses with extensions and
      trailers, a response delimited by the connection's end, and
      requests left unanswered; plus a flow that is not HTTP and one
      upgraded by 101. EXPECT: the log lines http_log.lua must write
      (sorted).
"""
import argparse
import json
import random
import sys

from scapy.all import Ether, IP, TCP, UDP, Raw, wrpcap  # noqa: E402

MAC_C = "02:00:00:00:00:01"
MAC_S = "02:00:00:00:00:02"
T0 = 1700000000.0
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Cap:
    """Frames with timestamps."""

    def __init__(self):
        self.frames = []
        self.t = T0

    def add(self, pkt, t=None):
        if t is not None:
            self.t = t
        pkt.time = self.t
        self.t += 1e-5
        self.frames.append(pkt)
        return len(self.frames) - 1

    def interleave(self, plans, rnd):
        """Add the packets of several lists, each in its order, the lists
        mixed at random (plans are emptied)."""
        active = [p for p in plans if p]
        while active:
            p = rnd.choice(active)
            self.add(p.pop(0))
            active = [p for p in active if p]

    def write(self, path):
        wrpcap(path, self.frames)


class Conn:
    """One TCP connection; `d` is 0 for client->server, 1 for the reverse.
    addr[d] = (src ip, src port, dst ip, dst port) as the packets carry
    them (they need not be symmetric: a NAT's server answers another
    address)."""

    def __init__(self, cli, cport, svr, sport, rnd, reply_to=None):
        self.addr = [(cli, cport, svr, sport),
                     (svr, sport) + (reply_to or (cli, cport))]
        self.isn = [rnd.randrange(1 << 32), rnd.randrange(1 << 32)]
        self.nxt = [(self.isn[0] + 1) & 0xffffffff,
                    (self.isn[1] + 1) & 0xffffffff]

    def pkt(self, d, flags, data=b"", seq=None, ack=None):
        s, sp, t, tp = self.addr[d]
        if seq is None:
            seq = self.nxt[d]
        if ack is None:
            ack = self.nxt[1 - d] if flags & ACK else 0
        p = (Ether(src=MAC_C if d == 0 else MAC_S,
                   dst=MAC_S if d == 0 else MAC_C) /
             IP(src=s, dst=t, id=random.randrange(65536)) /
             TCP(sport=sp, dport=tp, seq=seq, ack=ack, flags=flags,
                 window=65535))
        if data:
            p = p / Raw(load=data)
        return p

    def syn(self):
        return self.pkt(0, SYN, seq=self.isn[0])

    def synack(self):
        return self.pkt(1, SYN | ACK, seq=self.isn[1])

    def send(self, d, data, flags=ACK | PSH):
        p = self.pkt(d, flags, data)
        self.nxt[d] = (self.nxt[d] + len(data) +
                       (1 if flags & FIN else 0)) & 0xffffffff
        return p

    def ack(self, d):
        return self.pkt(d, ACK)


def filler(i):
    return (Ether(src="02:00:00:00:00:09", dst="02:00:00:00:00:0a") /
            IP(src="192.0.2.200", dst="192.0.2.201") /
            UDP(sport=9, dport=9) / Raw(load=b"filler %d" % i))


# -- midstat -----------------------------------------------------------------

def gen_midstat(a):
    rnd = random.Random(1)
    f1 = Conn("10.1.0.1", 40001, "10.2.0.1", 80, rnd)
    f2 = Conn("10.1.0.2", 40002, "10.2.0.2", 443, rnd)
    f3 = Conn("10.1.0.3", 40003, "10.2.0.1", 8080, rnd)
    f4 = Conn("10.1.0.4", 40004, "10.2.0.3", 25, rnd)
    # Packets in the middle of each second.
    ev = {
        0: [f1.syn(), f1.synack()],
        1: [],
        2: [],
        3: [],
        4: [],
        5: [],
        6: [],
        7: [],
    }
    ev[0].append(f1.ack(0))
    ev[1] += [f2.syn(), f2.synack(), f2.ack(0)]
    ev[2] += [f1.send(0, b"", FIN | ACK), f3.syn()]
    ev[3] += [f1.ack(1), f4.syn(), f4.synack(), f4.ack(0),
              f4.send(0, b"HELO x\r\n")]
    ev[4] += [f1.send(1, b"", FIN | ACK), f1.ack(0)]
    ev[5] += [f4.send(1, b"", RST | ACK)]
    # f2 stays busy (keep-alive data) so that idle timeouts spare it.
    for s in range(2, 8):
        ev[s].append(f2.send(0, b"k"))
    rows = {
        "f1": ("10.1.0.1:40001", "10.2.0.1:80"),
        "f2": ("10.1.0.2:40002", "10.2.0.2:443"),
        "f3": ("10.1.0.3:40003", "10.2.0.1:8080"),
        "f4": ("10.1.0.4:40004", "10.2.0.3:25"),
    }
    E, SS, SR = "ESTABLISHED", "SYN_SENT", "SYN_RCVD"
    # State of every flow after each second's packets (emulated states:
    # TCP's own, as each endpoint sees the segments).
    states = {
        0: {"f1": (E, E)},
        1: {"f1": (E, E), "f2": (E, E)},
        2: {"f1": ("FIN_WAIT_1", "CLOSE_WAIT"), "f2": (E, E),
            "f3": (SS, SR)},
        3: {"f1": ("FIN_WAIT_2", "CLOSE_WAIT"), "f2": (E, E),
            "f3": (SS, SR), "f4": (E, E)},
        4: {"f2": (E, E), "f3": (SS, SR), "f4": (E, E)},
        5: {"f2": (E, E), "f3": (SS, SR)},
        6: {"f2": (E, E), "f3": (SS, SR)},
        7: {"f2": (E, E), "f3": (SS, SR)},
    }
    order = ["f1", "f2", "f3", "f4"]     # creation order
    expect = {"seconds": {}, "final": [], "seen": 4, "closed": 2,
              "open": 2}
    # Table N is due at N s: the packets of second 7 come after the last.
    for sec in range(1, 8):
        st = states[sec - 1]
        expect["seconds"][str(sec)] = [
            [rows[f][0], st[f][0], rows[f][1], st[f][1]]
            for f in order if f in st]
    expect["final"] = [[rows[f][0], E if f == "f2" else SS,
                        rows[f][1], E if f == "f2" else SR]
                       for f in ("f2", "f3")]
    # With an idle timeout of 2 s, f3 (a lone SYN at second 2) times out.
    expect["timeout"] = {"final": expect["final"][:1], "seen": 4,
                         "closed": 2, "timed_out": 1, "open": 1}
    cap = Cap()
    n = 0
    for sec in range(8):
        pk = ev[sec]
        for j in range(64):
            t = T0 + sec + j / 64.0
            if 32 <= j < 32 + len(pk):
                cap.add(pk[j - 32], t)
            else:
                cap.add(filler(n), t)
                n += 1
    cap.write(a.out)
    json.dump(expect, open(a.expect, "w"), indent=1)


# -- firewall: repeated SYNs --------------------------------------------------

def gen_fwsyn(a):
    rnd = random.Random(2)
    cap = Cap()
    acc = Conn("10.1.0.9", 41000, "10.2.0.9", 80, rnd)
    drop = Conn("10.1.0.10", 41001, "10.2.0.2", 80, rnd)
    for c in (acc, drop):
        for _ in range(3):
            cap.add(c.syn())
        cap.add(c.synack())
        cap.add(c.ack(0))
        cap.add(c.send(0, b"hello"))
        cap.add(c.send(1, b"world"))
        cap.add(c.send(0, b"", FIN | ACK))
        cap.add(c.send(1, b"", FIN | ACK))
        cap.add(c.ack(0))
    cap.write(a.out)


# -- nat ---------------------------------------------------------------------

def nat_flows(n, rnd_seed=3):
    rnd = random.Random(rnd_seed)
    out = []
    for i in range(n):
        cli = "10.1.%d.%d" % (i // 200, 1 + i % 200)
        svr = "10.2.0.%d" % (1 + i % 3)
        out.append((cli, 30000 + i, svr, (80, 443, 8080)[i % 3],
                    rnd.randrange(1 << 32), rnd.randrange(1 << 32)))
    return out


def gen_natlearn(a):
    cap = Cap()
    rnd = random.Random(4)
    for k, (cli, cp, svr, sp, _, _) in enumerate(nat_flows(a.flows)):
        c = Conn(cli, cp, svr, sp, rnd)
        cap.add(c.syn())
    cap.write(a.out)


def gen_nat(a):
    lo, hi = (int(x) for x in a.ports.split("-"))
    queue = list(range(lo, hi + 1))
    learned = json.load(open(a.learned)) if a.learned else None
    rnd = random.Random(5)
    cap = Cap()
    manifest = []

    def add(pkt, out):
        cap.add(pkt)
        manifest.append(out)

    flows = nat_flows(a.flows)
    for r in range(a.rounds):
        conns = []
        for i, (cli, cp, svr, sp, _, _) in enumerate(flows):
            key = "%s:%d" % (cli, cp + r * 1000)
            if learned is not None:
                port = learned.get(key)
            else:
                port = queue.pop(0) if queue else None
            reply_to = (a.nat_ip, port) if port else (cli, cp + r * 1000)
            c = Conn(cli, cp + r * 1000, svr, sp, rnd, reply_to=reply_to)
            conns.append((c, port))
        # All SYNs first (ports are taken in this order), then the rest.
        for c, port in conns:
            s, spt, t, tp = c.addr[0]
            add(c.syn(), [a.nat_ip, port, t, tp] if port else "drop")
        for c, port in conns:
            if port is None:
                # A refused flow: the client retries and sends data.
                add(c.syn(), "drop")
                continue
            s, spt, t, tp = c.addr[0]
            up = [a.nat_ip, port, t, tp]
            down = [t, tp, s, spt]
            add(c.synack(), down)
            add(c.ack(0), up)
            add(c.send(0, b"GET / HTTP/1.0\r\n\r\n"), up)
            add(c.send(1, b"HTTP/1.0 200 OK\r\n\r\nbody"), down)
            add(c.send(1, b"", FIN | ACK), down)
            add(c.send(0, b"", FIN | ACK), up)
            add(c.ack(1), down)
        for c, port in conns:
            if port is not None:
                queue.append(port)
    cap.write(a.out)
    json.dump(manifest, open(a.manifest, "w"))


# -- rewrite -----------------------------------------------------------------

def lossy(segs, rnd):
    """A sender's transmissions of segs [(seq, data)] over a path that
    loses some before the middlebox: a lost segment's followers come
    ahead of the gap (some of them lost too), then the sender goes back
    to it (sometimes merging it with its follower, or resending its
    predecessor with it, as a sender does when it repacketizes). Every
    byte comes again, in order, after its last loss."""
    out, i = [], 0
    while i < len(segs):
        if rnd.random() < 0.2:
            for j in range(i + 1, min(len(segs), i + 1 + rnd.randrange(1, 6))):
                if rnd.random() < 0.7:
                    out.append(segs[j])
            continue
        k = i + 1
        if k < len(segs) and rnd.random() < 0.15:
            k += 1
        data = b"".join(d for _, d in segs[i:k])
        if i > 0 and rnd.random() < 0.1:
            # Its predecessor again with it; a middlebox that holds the
            # predecessor drops that, and the sender tries once more.
            out.append((segs[i - 1][0], segs[i - 1][1] + data))
        out.append((segs[i][0], data))
        i = k
    return out


def gap_plan(c, streams, close, rnd):
    plan = [c.syn(), c.synack(), c.ack(0)]
    tx = []
    for d in (0, 1):
        segs = []
        for data in streams[d]:
            segs.append((c.nxt[d], data))
            c.nxt[d] = (c.nxt[d] + len(data)) & 0xffffffff
        tx.append([(d, s, data) for s, data in lossy(segs, rnd)])
    # The two directions' transmissions mixed, each in its order.
    while tx[0] or tx[1]:
        d, s, data = tx[rnd.choice([x for x in (0, 1) if tx[x]])].pop(0)
        plan.append(c.pkt(d, ACK | PSH, data, seq=s))
    if close == 2:
        plan.append(c.pkt(0, RST | ACK))
    else:
        for d in (0, 1):
            plan.append(c.send(d, b"", FIN | ACK))
        plan.append(c.ack(0))
        plan.append(c.ack(1))
    return plan


def behind(segs, rnd):
    """A sender's transmissions of segs [(seq, data)] over a path that
    loses some of them after the middlebox: [(seq, data, lost)], each lost
    one sent again (sometimes with its follower) 20 to 120 transmissions
    later, when many occurrences have gone by since."""
    out, due = [], []
    for i, (s, data) in enumerate(segs):
        lost = rnd.random() < 0.06
        out.append((s, data, lost))
        if lost:
            due.append((len(out) + rnd.randrange(20, 120), i))
        for when, j in [x for x in due if x[0] <= len(out)]:
            due.remove((when, j))
            d = segs[j][1]
            if j + 1 < len(segs) and rnd.random() < 0.3:
                d += segs[j + 1][1]
            out.append((segs[j][0], d, False))
    for _, j in due:
        out.append((segs[j][0], segs[j][1], False))
    return out


def behind_plan(c, streams, rnd):
    """Both sides' transmissions (see behind) mixed, each packet
    acknowledging what its sender has received in order of the other
    side's stream; then FINs."""
    plan = [c.syn(), c.synack(), c.ack(0)]
    tx, got, rcv = [], [{}, {}], [c.nxt[0], c.nxt[1]]
    for d in (0, 1):
        segs = []
        for data in streams[d]:
            segs.append((c.nxt[d], data))
            c.nxt[d] = (c.nxt[d] + len(data)) & 0xffffffff
        tx.append(behind(segs, rnd))
    while tx[0] or tx[1]:
        d = rnd.choice([x for x in (0, 1) if tx[x]])
        s, data, lost = tx[d].pop(0)
        plan.append(c.pkt(d, ACK | PSH, data, seq=s, ack=rcv[1 - d]))
        if not lost:
            got[d][s] = max(got[d].get(s, 0), len(data))
            while rcv[d] in got[d]:
                rcv[d] = (rcv[d] + got[d][rcv[d]]) & 0xffffffff
        if rnd.random() < 0.3:
            plan.append(c.pkt(1 - d, ACK, ack=rcv[d]))
    for d in (0, 1):
        plan.append(c.send(d, b"", FIN | ACK))
    plan.append(c.ack(0))
    plan.append(c.ack(1))
    return plan


def gen_rewrite(a):
    rnd = random.Random(a.seed)
    pat = a.pattern.encode()
    alphabet = sorted(set(pat)) + [ord(".")]
    cap = Cap()
    conns = []
    for i in range(a.conns):
        c = Conn("10.1.1.%d" % (1 + i % 250), 20000 + i,
                 "10.2.1.%d" % (1 + i % 3), 80, rnd)
        streams = []
        for d in (0, 1):
            parts = []
            for _ in range(rnd.randrange(400, 600) if a.behind
                           else rnd.randrange(5, 40)):
                k = rnd.random()
                if k < 0.3:
                    parts.append(pat)
                elif k < 0.6:
                    # A near miss: a proper prefix, maybe followed by the
                    # pattern itself (overlapping candidates).
                    parts.append(pat[:rnd.randrange(1, len(pat))])
                else:
                    parts.append(bytes(rnd.choice(alphabet)
                                       for _ in range(rnd.randrange(1, 30))))
            data = b"".join(parts)
            if rnd.random() < 0.3:
                data += pat[:rnd.randrange(1, len(pat))]   # ends pending
            segs, at = [], 0
            while at < len(data):
                n = (rnd.randrange(1, 2 * len(pat) + 2)
                     if rnd.random() < 0.8 else rnd.randrange(1, 1000))
                segs.append(data[at:at + n])
                at += n
            streams.append(segs)
        conns.append((c, streams, rnd.randrange(4)))
    # Interleave the connections' packets.
    plans = []
    if a.behind:
        for c, streams, _ in conns:
            plans.append(behind_plan(c, streams, rnd))
        cap.interleave(plans, rnd)
        cap.write(a.out)
        return
    if a.gaps:
        for c, streams, close in conns:
            plans.append(gap_plan(c, streams, close, rnd))
        cap.interleave(plans, rnd)
        cap.write(a.out)
        return
    for c, streams, close in conns:
        plan = [c.syn(), c.synack(), c.ack(0)]
        sent = [[], []]
        fin_sent = [False, False]
        qs = [list(streams[0]), list(streams[1])]
        while qs[0] or qs[1]:
            d = rnd.choice([x for x in (0, 1) if qs[x]])
            data = qs[d].pop(0)
            fl = ACK | PSH
            if not qs[d] and close == 1 and not qs[1 - d]:
                fl |= FIN       # data on the FIN
                fin_sent[d] = True
            seq = c.nxt[d]
            plan.append(c.send(d, data, fl))
            sent[d].append((seq, data, fl))
            if rnd.random() < 0.15:
                # An exact retransmission of one of the last segments.
                s, dd, ff = rnd.choice(sent[d][-3:])
                plan.append(c.pkt(d, ff, dd, seq=s))
            if rnd.random() < 0.3:
                plan.append(c.ack(1 - d))
        if close == 2:
            plan.append(c.pkt(0, RST | ACK))
        else:
            for d in (0, 1):
                if not fin_sent[d]:
                    plan.append(c.send(d, b"", FIN | ACK))
            plan.append(c.ack(0))
            plan.append(c.ack(1))
        plans.append(plan)
    cap.interleave(plans, rnd)
    cap.write(a.out)


# -- http --------------------------------------------------------------------

def chunked(body, rnd, ext=False, trailer=False):
    out, at = b"", 0
    while at < len(body):
        n = rnd.randrange(1, 60)
        piece = body[at:at + n]
        at += n
        out += b"%x%s\r\n%s\r\n" % (len(piece), b";x=1" if ext else b"",
                                     piece)
    out += b"0\r\n"
    if trailer:
        out += b"X-Trailer: yes\r\n"
    return out + b"\r\n"


def text(rnd, n):
    return bytes(rnd.choice(b"abcdefghij \r\n:0123456789") for _ in range(n))


def gen_http(a):
    rnd = random.Random(a.seed)
    cap = Cap()
    lines = []
    plans = []
    for i in range(a.conns):
        cli, cp = "10.1.2.%d" % (1 + i % 250), 50000 + i
        svr, sp = "10.2.2.%d" % (1 + i % 4), (80, 8080, 8000)[i % 3]
        c = Conn(cli, cp, svr, sp, rnd)
        reqs, resps = [], []
        nreq = rnd.randrange(1, 7)
        unanswered = rnd.random() < 0.15
        to_close = not unanswered and rnd.random() < 0.2
        for k in range(nreq):
            m = rnd.choice(["GET", "GET", "HEAD", "POST", "PUT", "DELETE",
                            "OPTIONS"])
            target = rnd.choice(["/", "/index.html", "/a/b?c=d&e=f",
                                 "/%d" % k, "*" if m == "OPTIONS" else "/x"])
            ver = rnd.choice(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"])
            head = b"%s %s %s\r\nHost: h%d\r\n" % (m.encode(), target.encode(),
                                                  ver.encode(), i)
            expect100 = False
            if m in ("POST", "PUT"):
                body = text(rnd, rnd.randrange(0, 400))
                if rnd.random() < 0.5:
                    head += b"Transfer-Encoding: chunked\r\n"
                    body = chunked(body, rnd, rnd.random() < 0.5,
                                   rnd.random() < 0.5)
                else:
                    head += b"Content-Length: %d\r\n" % len(body)
                    expect100 = rnd.random() < 0.3
                    if expect100:
                        head += b"Expect: 100-continue\r\n"
            else:
                body = b""
            reqs.append(head + b"User-Agent: t\r\n\r\n" + body)
            last = k == nreq - 1
            answered = not (unanswered and last)
            if not answered:
                lines.append("%s:%d -> %s:%d %s %s %s -> -" %
                             (cli, cp, svr, sp, m, target, ver))
                continue
            code = rnd.choice([200, 200, 201, 204, 301, 304, 404, 500])
            rb = text(rnd, rnd.randrange(0, 3000))
            resp = b""
            if expect100:
                resp += b"HTTP/1.1 100 Continue\r\n\r\n"
            resp += b"HTTP/1.1 %d Whatever\r\nServer: s\r\n" % code
            if m == "HEAD":
                resp += b"Content-Length: %d\r\n\r\n" % (len(rb) + 7)
            elif code in (204, 304):
                resp += b"\r\n"
            elif to_close and last:
                resp += b"Connection: close\r\n\r\n" + rb
            elif rnd.random() < 0.4:
                resp += (b"Transfer-Encoding: chunked\r\n\r\n" +
                         chunked(rb, rnd, rnd.random() < 0.5,
                                 rnd.random() < 0.5))
            else:
                resp += b"Content-Length: %d\r\n\r\n" % len(rb) + rb
            resps.append(resp)
            lines.append("%s:%d -> %s:%d %s %s %s -> %d" %
                         (cli, cp, svr, sp, m, target, ver, code))

        def cut(data, big):
            segs, at = [], 0
            while at < len(data):
                n = rnd.randrange(1, 30) if rnd.random() < 0.7 or not big \
                    else rnd.randrange(30, 1460)
                segs.append(data[at:at + n])
                at += n
            return segs
        # Requests go out pipelined, in bursts; response k only after
        # request k is complete.
        plan = [c.syn(), c.synack(), c.ack(0)]
        rq = [cut(r, False) for r in reqs]
        rs = [cut(r, True) for r in resps]
        ri = si = 0
        while ri < len(rq) or si < len(rs):
            can_resp = si < len(rs) and si < ri
            if ri < len(rq) and (not can_resp or rnd.random() < 0.5):
                for s in rq[ri]:
                    plan.append(c.send(0, s))
                ri += 1
            else:
                for s in rs[si]:
                    plan.append(c.send(1, s))
                    if rnd.random() < 0.3:
                        plan.append(c.ack(0))
                si += 1
        if to_close:
            plan.append(c.send(1, b"", FIN | ACK))
            plan.append(c.send(0, b"", FIN | ACK))
        else:
            plan.append(c.send(0, b"", FIN | ACK))
            plan.append(c.send(1, b"", FIN | ACK))
        plan.append(c.ack(0 if not to_close else 1))
        plans.append(plan)
    # Not HTTP at all: no line, one direction given up.
    c = Conn("10.1.3.1", 51000, "10.2.3.1", 80, rnd)
    plans.append([c.syn(), c.synack(), c.ack(0),
                  c.send(0, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n"),
                  c.send(1, b"\x16\x03\x03 binary"), c.send(0, b"", FIN | ACK),
                  c.send(1, b"", FIN | ACK), c.ack(0)])
    # An upgrade: what follows the 101 is not HTTP, and is not counted.
    c = Conn("10.1.3.2", 51001, "10.2.3.1", 80, rnd)
    plans.append([c.syn(), c.synack(), c.ack(0),
                  c.send(0, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n\r\n"),
                  c.send(1, b"HTTP/1.1 101 Switching Protocols\r\n"
                         b"Upgrade: websocket\r\n\r\n\x81\x05hello"),
                  c.send(0, b"\x81\x85GET / HTTP/1.1\r\n"),
                  c.send(1, b"\x81\x05HTTP/1.1 200 OK\r\n"),
                  c.send(0, b"", FIN | ACK), c.send(1, b"", FIN | ACK),
                  c.ack(0)])
    lines.append("10.1.3.2:51001 -> 10.2.3.1:80 GET /ws HTTP/1.1 -> 101")
    cap.interleave(plans, rnd)
    cap.write(a.out)
    open(a.expect, "w").write("".join(sorted(ln + "\n" for ln in lines)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("midstat")
    p.add_argument("out")
    p.add_argument("expect")
    p = sub.add_parser("fwsyn")
    p.add_argument("out")
    p = sub.add_parser("nat")
    p.add_argument("out")
    p.add_argument("manifest")
    p.add_argument("--nat-ip", required=True)
    p.add_argument("--ports", default="1025-65534")
    p.add_argument("--flows", type=int, default=20)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--learned")
    p = sub.add_parser("natlearn")
    p.add_argument("out")
    p.add_argument("--flows", type=int, default=20)
    p = sub.add_parser("rewrite")
    p.add_argument("out")
    p.add_argument("--pattern", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--conns", type=int, default=30)
    p.add_argument("--gaps", action="store_true",
                   help="a lossy path before the middlebox (see lossy)")
    p.add_argument("--behind", action="store_true",
                   help="a lossy path after the middlebox (see behind)")
    p = sub.add_parser("http")
    p.add_argument("out")
    p.add_argument("expect")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--conns", type=int, default=40)
    a = ap.parse_args()
    random.seed(0)
    globals()["gen_" + a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
