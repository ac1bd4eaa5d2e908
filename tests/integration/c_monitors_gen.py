#!/usr/bin/python3
# c_monitors_gen.py - captures for test_c_monitors.sh (scapy): TCP
# connections with exact timing for the C example monitors midstat,
# firewall and nat, and a manifest of what each connection is meant to be.
#
#   midstat OUT.pcap MANIFEST
#       5.6 s of traffic: long-lived connections that keep the clock
#       moving (a segment every 2.5 ms), connections closed by FIN or RST
#       inside it, and connections left half-open or half-closed. MANIFEST
#       lines:
#       "flow NAME CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT EXPECT" with
#       EXPECT "closed" or "CLIENTSTATE/SERVERSTATE" at the end.
#   firewall OUT.pcap
#       complete connections to addresses on both sides of the test rules'
#       prefix and port-range edges, some with retransmitted SYNs, one
#       4-tuple used twice, and a busy connection all along; 3.45 s long.
#   nat OUT.pcap MANIFEST --nat-ip IP --ports LOW-HIGH [--many]
#       what a source NAT on one core sees: client-to-server packets with
#       the client's addresses, server-to-client packets addressed to
#       NAT_IP and the port the NAT hands out. Ports follow nat.c's
#       documented order (a FIFO queue of LOW..HIGH; the first SYN takes
#       the head, a flow's end puts its port at the tail) and connections
#       arriving while the queue is empty get no reply. MANIFEST lines:
#       "flow NAME CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT NAT_PORT"
#       (NAT_PORT 0: refused).
#   nat2-syns OUT.pcap
#       the first SYNs of the two-core NAT capture (all to one server).
#   nat2 OUT.pcap MANIFEST --nat-ip IP --learned NAT_OUT.pcap
#       the whole two-core NAT capture; it starts with exactly the SYNs of
#       nat2-syns, and the replies go to the ports NAT_OUT.pcap (the NAT's
#       output for nat2-syns) shows for each SYN.
import argparse
import sys

from scapy.all import IP, TCP, Ether, Raw, rdpcap, wrpcap

T0 = 1700000000.25
CMAC = "02:00:00:00:00:01"
SMAC = "02:00:00:00:00:02"


class Conn:
    """One TCP connection; packets are collected with their times."""

    def __init__(self, name, cip, cport, sip, sport, isn_c, isn_s,
                 reply_to=None):
        self.name = name
        self.cli = (cip, cport)
        self.srv = (sip, sport)
        # Where server packets go: the client, or the NAT's address.
        self.reply_to = reply_to or self.cli
        self.isn = {"c": isn_c, "s": isn_s}
        self.nxt = {"c": isn_c, "s": isn_s}
        self.pkts = []

    def _pkt(self, t, who, flags, seq, ack, payload=b""):
        if who == "c":
            src, dst, smac, dmac = self.cli, self.srv, CMAC, SMAC
        else:
            src, dst, smac, dmac = self.srv, self.reply_to, SMAC, CMAC
        p = (Ether(src=smac, dst=dmac) /
             IP(src=src[0], dst=dst[0]) /
             TCP(sport=src[1], dport=dst[1], flags=flags,
                 seq=seq & 0xffffffff, ack=ack & 0xffffffff, window=65535))
        if payload:
            p = p / Raw(payload)
        p.time = t
        self.pkts.append(p)

    def syn(self, t):
        self._pkt(t, "c", "S", self.isn["c"], 0)
        self.nxt["c"] = self.isn["c"] + 1

    def synack(self, t):
        self._pkt(t, "s", "SA", self.isn["s"], self.nxt["c"])
        self.nxt["s"] = self.isn["s"] + 1

    def ack(self, t, who):
        other = "s" if who == "c" else "c"
        self._pkt(t, who, "A", self.nxt[who], self.nxt[other])

    def data(self, t, who, n):
        other = "s" if who == "c" else "c"
        payload = bytes((i * 7 + len(self.pkts)) & 0xff for i in range(n))
        self._pkt(t, who, "PA", self.nxt[who], self.nxt[other], payload)
        self.nxt[who] += n

    def fin(self, t, who):
        other = "s" if who == "c" else "c"
        self._pkt(t, who, "FA", self.nxt[who], self.nxt[other])
        self.nxt[who] += 1

    def rst(self, t, who):
        other = "s" if who == "c" else "c"
        self._pkt(t, who, "RA", self.nxt[who], self.nxt[other])

    def handshake(self, t, gap=0.001):
        self.syn(t)
        self.synack(t + gap)
        self.ack(t + 2 * gap, "c")

    def close(self, t, gap=0.001):
        """Client FIN, server FIN+ACK, client ACK."""
        self.fin(t, "c")
        self.fin(t + gap, "s")
        self.ack(t + 2 * gap, "c")

    def complete(self, t, dur):
        """Handshake at t, a request and a reply, closed at t + dur."""
        self.handshake(t)
        self.data(t + dur / 3, "c", 120)
        self.data(t + dur / 3 + 0.001, "s", 300)
        self.ack(t + dur / 3 + 0.002, "c")
        self.close(t + dur)

    def last_time(self):
        return max(float(p.time) for p in self.pkts)


def write(path, conns):
    pkts = [p for c in conns for p in c.pkts]
    pkts.sort(key=lambda p: float(p.time))  # stable: keeps per-flow order
    wrpcap(path, pkts)


def write_manifest(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(" ".join(str(x) for x in line) + "\n")


def gen_midstat(args):
    conns, man = [], []

    def add(c, expect):
        conns.append(c)
        man.append(("flow", c.name, c.cli[0], c.cli[1], c.srv[0], c.srv[1],
                    expect))

    # Long-lived connections: the clock of every core that gets one.
    # Eight of them, so that with two cores each core very likely gets
    # some (the checker says so if one does not).
    longs = []
    for i in range(8):
        c = Conn("long%d" % i, "10.1.0.%d" % (10 + i), 50000 + i,
                 "10.2.0.1", 80 + i, 1000 * (i + 1), 900000 * (i + 1))
        c.handshake(T0 + 0.004 * i)
        longs.append(c)
        add(c, "ESTABLISHED/ESTABLISHED")
    t, k = T0 + 0.1, 0
    while t < T0 + 5.6:
        c = longs[k % 8]
        c.data(t, "c" if (k // 8) % 2 == 0 else "s", 10)
        t += 0.0025
        k += 1

    # Closed inside the capture, away from the whole seconds.
    c = Conn("fin1", "10.1.1.1", 41001, "10.2.1.1", 8080, 11111, 22222)
    c.complete(T0 + 1.5, 1.1)
    add(c, "closed")
    c = Conn("fin2", "10.1.1.2", 41002, "10.2.1.1", 8080, 33333, 44444)
    c.complete(T0 + 3.3, 1.2)
    add(c, "closed")
    c = Conn("fin3", "10.1.1.3", 41003, "10.2.1.2", 443, 55555, 66666)
    c.complete(T0 + 0.5, 4.0)
    add(c, "closed")
    c = Conn("rst1", "10.1.1.4", 41004, "10.2.1.3", 25, 77777, 88888)
    c.handshake(T0 + 2.2)
    c.data(T0 + 2.5, "c", 50)
    c.rst(T0 + 3.5, "s")
    add(c, "closed")
    # Open at the end.
    c = Conn("syn1", "10.1.2.1", 42001, "10.2.2.1", 22, 1234567, 0)
    c.syn(T0 + 4.3)
    add(c, "SYN_SENT/SYN_RCVD")
    c = Conn("synrx", "10.1.2.2", 42002, "10.2.2.1", 22, 7654321, 0)
    c.syn(T0 + 1.2)
    c.syn(T0 + 2.3)
    c.syn(T0 + 4.4)
    add(c, "SYN_SENT/SYN_RCVD")
    c = Conn("synack", "10.1.2.3", 42003, "10.2.2.2", 993, 424242, 242424)
    c.syn(T0 + 2.7)
    c.synack(T0 + 2.701)
    add(c, "ESTABLISHED/SYN_RCVD")
    c = Conn("halfc", "10.1.2.4", 42004, "10.2.2.3", 110, 5000, 6000)
    c.handshake(T0 + 0.8)
    c.data(T0 + 1.3, "c", 20)
    c.fin(T0 + 3.0, "c")
    c.ack(T0 + 3.001, "s")
    add(c, "FIN_WAIT_2/CLOSE_WAIT")
    c = Conn("halfs", "10.1.2.5", 42005, "10.2.2.3", 110, 7000, 8000)
    c.handshake(T0 + 0.9)
    c.fin(T0 + 2.4, "s")
    c.ack(T0 + 2.401, "c")
    add(c, "CLOSE_WAIT/FIN_WAIT_2")
    c = Conn("lastack", "10.1.2.6", 42006, "10.2.2.4", 143, 9000, 9500)
    c.handshake(T0 + 3.6)
    c.fin(T0 + 3.8, "c")
    c.fin(T0 + 3.801, "s")
    add(c, "TIME_WAIT/LAST_ACK")
    write(args.out, conns)
    write_manifest(args.manifest, man)


def gen_firewall(args):
    conns = []
    specs = [
        # name, client, cport, server, sport, SYN copies
        ("d26a", "10.1.0.5", 30001, "192.168.1.1", 80, 1),
        ("d26b", "10.1.0.63", 30002, "192.168.1.1", 80, 2),
        ("a20a", "10.1.0.64", 30003, "192.168.1.1", 80, 2),
        ("a20b", "10.1.0.64", 30004, "192.168.15.200", 443, 1),
        ("def1", "10.1.0.64", 30005, "192.168.16.1", 443, 1),
        ("drlo", "10.9.0.1", 30006, "192.168.20.5", 8000, 1),
        ("drhi", "10.9.0.1", 30007, "192.168.31.255", 8099, 3),
        ("def2", "10.9.0.1", 30008, "192.168.20.5", 8100, 3),
        ("def3", "10.9.0.1", 30009, "192.168.32.5", 8000, 1),
        ("dsp", "10.3.0.7", 40000, "172.16.0.1", 5000, 1),
        ("def4", "10.3.0.7", 40001, "172.16.0.1", 5000, 1),
        ("a22", "10.8.8.8", 30012, "172.16.0.1", 22, 1),
    ]
    for i, (name, cip, cp, sip, sp, syns) in enumerate(specs):
        t = T0 + 0.05 + 0.25 * i
        c = Conn(name, cip, cp, sip, sp, 100000 * (i + 1), 7000000 + i)
        for j in range(syns):
            c.syn(t + 0.2 * j)
        t += 0.2 * (syns - 1)
        c.synack(t + 0.001)
        c.ack(t + 0.002, "c")
        c.data(t + 0.01, "c", 200)
        c.data(t + 0.011, "s", 900)
        c.ack(t + 0.012, "c")
        c.close(t + 0.05)
        conns.append(c)
    # The first 4-tuple again, a new connection (new ISN) after the first
    # one closed.
    c = Conn("d26a2", "10.1.0.5", 30001, "192.168.1.1", 80, 31337, 41337)
    c.complete(T0 + 3.2, 0.1)
    conns.append(c)
    # An accepted connection with a segment every 5 ms keeps the clock
    # moving (moonbox runs timers between receive bursts) to T0 + 3.45.
    c = Conn("tick", "10.8.8.9", 30099, "172.16.0.2", 22, 5, 6)
    c.handshake(T0)
    t = T0 + 0.01
    while t < T0 + 3.4:
        c.data(t, "c" if int((t - T0) * 200) % 2 else "s", 8)
        t += 0.005
    c.close(T0 + 3.45)
    conns.append(c)
    write(args.out, conns)


def fifo_ports(conns, lo, hi):
    """nat.c's port order on one core: a FIFO queue of free ports. conns
    are (conn, syn_time, end_time or None) in any order; returns
    {name: port} with 0 for refused connections."""
    queue = list(range(lo, hi + 1))
    events = []
    for c, syn_t, end_t in conns:
        events.append((syn_t, 1, c.name))
        if end_t is not None:
            events.append((end_t, 0, c.name))
    events.sort()
    ports = {}
    for _, kind, name in events:
        if kind == 1:
            ports[name] = queue.pop(0) if queue else 0
        elif ports.get(name):
            queue.append(ports[name])
    return ports


def gen_nat(args):
    lo, hi = (int(x) for x in args.ports.split("-"))
    plan = []  # (name, client, cport, server, sport, start, dur, how)
    if args.many:
        for i in range(24):
            plan.append(("m%02d" % i, "10.0.%d.%d" % (i % 3, 10 + i),
                         33000 + i, "198.51.100.%d" % (1 + i % 4),
                         80 if i % 2 else 443, 0.02 + 0.04 * i,
                         0.3 + 0.01 * (i % 5), "rst" if i % 7 == 3
                         else "fin"))
    else:
        plan = [
            ("A", "10.0.0.1", 40001, "198.51.100.1", 80, 0.01, 0.5, "fin"),
            ("B", "10.0.0.2", 40002, "198.51.100.2", 443, 0.02, 0.7, "rst"),
            ("C", "10.0.0.1", 40003, "198.51.100.1", 80, 0.03, 0.8, "fin"),
            ("D", "10.0.0.3", 40004, "198.51.100.3", 80, 0.1, 0.0, "refused"),
            ("E", "10.0.0.4", 40005, "198.51.100.1", 80, 0.6, 0.5, "fin"),
            ("F", "10.0.0.2", 40006, "198.51.100.4", 22, 0.9, 0.2, "fin"),
            ("G", "10.0.0.5", 40007, "198.51.100.4", 22, 0.95, 0.3, "rst"),
        ]
    # The flow ends with its last packet: the final ACK of a FIN close,
    # or the RST.
    sched = []
    for name, cip, cp, sip, sp, start, dur, how in plan:
        c = Conn(name, cip, cp, sip, sp, 1000 + 77 * cp, 500000 + 33 * cp)
        end = None if how == "refused" else T0 + start + dur + 0.002
        sched.append((c, T0 + start, end))
    ports = fifo_ports(sched, lo, hi)
    conns, man = [], []
    for (name, cip, cp, sip, sp, start, dur, how), (c, _, _) in \
            zip(plan, sched):
        port = ports[name]
        c.reply_to = (args.nat_ip, port)
        t = T0 + start
        if port == 0:
            c.syn(t)
            c.syn(t + 0.2)      # retransmitted, dropped as well
        else:
            c.handshake(t)
            c.data(t + dur / 3, "c", 100 + cp % 50)
            c.data(t + dur / 3 + 0.001, "s", 400)
            if how == "rst":
                c.rst(t + dur + 0.002, "c")
            else:
                c.fin(t + dur, "c")
                c.fin(t + dur + 0.001, "s")
                c.ack(t + dur + 0.002, "c")
        conns.append(c)
        man.append(("flow", name, cip, cp, sip, sp, port))
    write(args.out, conns)
    write_manifest(args.manifest, man)


NAT2_SERVER = ("198.51.100.7", 80)
NAT2_FLOWS = 16


def nat2_conns(reply_to=None):
    conns = []
    for i in range(NAT2_FLOWS):
        c = Conn("n%02d" % i, "10.5.%d.%d" % (i % 4, 20 + i), 45000 + 17 * i,
                 NAT2_SERVER[0], NAT2_SERVER[1], 3000000 + 1000 * i,
                 8000000 + 999 * i)
        if reply_to is not None:
            c.reply_to = reply_to[c.isn["c"]]
        c.syn(T0 + 0.001 * i)
        conns.append(c)
    return conns


def gen_nat2_syns(args):
    write(args.out, nat2_conns())


def gen_nat2(args):
    learned = {}
    for p in rdpcap(args.learned):
        if TCP in p and p[TCP].flags == "S" and p[IP].src == args.nat_ip:
            learned[p[TCP].seq] = (args.nat_ip, p[TCP].sport)
    conns = nat2_conns()
    missing = [c.name for c in conns if c.isn["c"] not in learned]
    if missing:
        sys.exit("nat2: no translated SYN for %s in %s" %
                 (" ".join(missing), args.learned))
    conns = nat2_conns(learned)
    man = []
    for i, c in enumerate(conns):
        # Every SYN comes first (as in nat2-syns); then the connections.
        t = T0 + 0.1 + 0.05 * i
        c.synack(t)
        c.ack(t + 0.001, "c")
        c.data(t + 0.002, "c", 64)
        c.data(t + 0.003, "s", 256)
        if i % 3 == 2:
            c.rst(t + 0.2, "s")
        else:
            c.close(t + 0.2)
        man.append(("flow", c.name, c.cli[0], c.cli[1], c.srv[0], c.srv[1],
                    c.reply_to[1]))
    write(args.out, conns)
    write_manifest(args.manifest, man)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("midstat")
    p.add_argument("out")
    p.add_argument("manifest")
    p.set_defaults(fn=gen_midstat)
    p = sub.add_parser("firewall")
    p.add_argument("out")
    p.set_defaults(fn=gen_firewall)
    p = sub.add_parser("nat")
    p.add_argument("out")
    p.add_argument("manifest")
    p.add_argument("--nat-ip", required=True)
    p.add_argument("--ports", default="1025-65534")
    p.add_argument("--many", action="store_true")
    p.set_defaults(fn=gen_nat)
    p = sub.add_parser("nat2-syns")
    p.add_argument("out")
    p.set_defaults(fn=gen_nat2_syns)
    p = sub.add_parser("nat2")
    p.add_argument("out")
    p.add_argument("manifest")
    p.add_argument("--nat-ip", required=True)
    p.add_argument("--learned", required=True)
    p.set_defaults(fn=gen_nat2)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
