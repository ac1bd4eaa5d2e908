#!/usr/bin/python3
# c_monitors_check.py - oracles of test_c_monitors.sh: compare what the C
# monitors printed and forwarded with what tshark reads in the captures
# (and, for the firewall, with the rules evaluated by Python's ipaddress).
# Exit status 0 if everything holds, else a message per failure.
#
#   midstat MANIFEST IN.pcap STDOUT --cores N
#   firewall RULES IN.pcap OUT.pcap STDOUT --cores N
#   nat MANIFEST IN.pcap OUT.pcap STDOUT --nat-ip IP [--expect-reuse]
#       [--expect-refused]
import argparse
import collections
import ipaddress
import math
import re
import subprocess
import sys

FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport",
          "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags",
          "tcp.len"]
Pkt = collections.namedtuple("Pkt", "t src dst sport dport seq ack flags len")
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04

errors = []


def fail(msg):
    errors.append(msg)


def done():
    if errors:
        for e in errors[:40]:
            print("FAIL:", e, file=sys.stderr)
        if len(errors) > 40:
            print("... and %d more" % (len(errors) - 40), file=sys.stderr)
        sys.exit(1)
    print("ok")


def tshark(path, filt="tcp", opts=()):
    cmd = ["tshark", "-r", path, "-Y", filt, "-T", "fields", "-E",
           "separator=|"] + list(opts)
    for f in FIELDS:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tshark %s: %s" % (path, r.stderr.strip()))
    pkts = []
    for line in r.stdout.splitlines():
        v = line.split("|")
        pkts.append(Pkt(float(v[0]), v[1], v[2], int(v[3]), int(v[4]),
                        int(v[5]), int(v[6]), int(v[7], 16), int(v[8])))
    return pkts


def bad_checksums(path):
    r = subprocess.run(["tshark", "-r", path, "-o", "ip.check_checksum:TRUE",
                        "-o", "tcp.check_checksum:TRUE", "-Y",
                        "ip.checksum.status == 0 || tcp.checksum.status == 0"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tshark %s: %s" % (path, r.stderr.strip()))
    return [l for l in r.stdout.splitlines() if l.strip()]


def key(p):
    """What a forwarded packet must keep."""
    return (p.seq, p.ack, p.flags, p.len)


def read_manifest(path):
    flows = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "flow":
                flows.append(dict(name=w[1], cli=(w[2], int(w[3])),
                                  srv=(w[4], int(w[5])), extra=w[6]))
    if not flows:
        sys.exit("no flows in %s" % path)
    return flows


def first_syns(pkts):
    """{(cli, srv): [SYN packets]} for SYN-without-ACK packets."""
    syns = collections.defaultdict(list)
    for p in pkts:
        if p.flags & (SYN | ACK) == SYN:
            syns[((p.src, p.sport), (p.dst, p.dport))].append(p)
    return syns


def check_manifest_addresses(flows, pkts):
    syns = first_syns(pkts)
    want = {(f["cli"], f["srv"]) for f in flows}
    for f in flows:
        if (f["cli"], f["srv"]) not in syns:
            fail("%s: tshark finds no SYN %s:%d -> %s:%d" %
                 ((f["name"],) + f["cli"] + f["srv"]))
    for t in syns:
        if t not in want:
            fail("capture has a connection the manifest lacks: %r" % (t,))


# -- midstat ---------------------------------------------------------------

HEADER = ("Proto CPU Client Address        Client State "
          "Server Address        Server State")
ROW = re.compile(r"^tcp   (\d+)\s+(\S+):(\d+)\s+(\S+)\s+"
                 r"(\S+):(\d+)\s+(\S+)\s*$")
STATES = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
          "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
          "TIME_WAIT", "-"}


def parse_midstat(path):
    """Tables: list of dict(core, second (None: final), rows, count)."""
    tables, summary, total, cur = [], {}, None, None
    sec = re.compile(r"^midstat: core (\d+), second (\d+): (\d+) flows$")
    fin = re.compile(r"^midstat: core (\d+), end of input: (\d+) flows open$")
    summ = re.compile(r"^midstat: (core (\d+)|all cores): (\d+) flows seen, "
                      r"(\d+) closed, (\d+) timed out, (\d+) open at the end$")
    with open(path) as f:
        lines = f.read().splitlines()
    for ln in lines:
        m = sec.match(ln) or fin.match(ln)
        if m:
            g = m.groups()
            cur = dict(core=int(g[0]),
                       second=int(g[1]) if len(g) == 3 else None,
                       count=int(g[-1]), rows=[], header=False)
            tables.append(cur)
            continue
        m = summ.match(ln)
        if m:
            v = tuple(int(x) for x in m.groups()[2:])
            if m.group(2) is None:
                total = v
            else:
                summary[int(m.group(2))] = v
            cur = None
            continue
        if ln == HEADER:
            if cur is None or cur["header"]:
                fail("table header out of place")
            else:
                cur["header"] = True
            continue
        m = ROW.match(ln)
        if m is None or cur is None:
            fail("unexpected midstat line %r" % ln)
            continue
        g = m.groups()
        cli, srv = (g[1], int(g[2])), (g[4], int(g[5]))
        # mOS's columns: address at 10 and 45, state at 32 and 67.
        ca, sa = "%s:%d" % cli, "%s:%d" % srv
        if not (ln[10:10 + len(ca)] == ca and ln[32:32 + len(g[3])] == g[3]
                and ln[45:45 + len(sa)] == sa and ln[67:67 + len(g[6])] ==
                g[6]):
            fail("row not in midstat's columns: %r" % ln)
        if g[3] not in STATES or g[6] not in STATES:
            fail("unknown state in %r" % ln)
        cur["rows"].append(dict(cpu=int(g[0]), cli=cli, srv=srv,
                                cst=g[3], sst=g[6]))
    for t in tables:
        if not t["header"]:
            fail("table without header (core %d)" % t["core"])
        if t["count"] != len(t["rows"]):
            fail("core %d table says %d flows, lists %d" %
                 (t["core"], t["count"], len(t["rows"])))
        for r in t["rows"]:
            if r["cpu"] != t["core"]:
                fail("core %d's table lists a row of CPU %d" %
                     (t["core"], r["cpu"]))
    return tables, summary, total


def check_midstat(a):
    flows = read_manifest(a.manifest)
    pkts = tshark(a.pcap)
    check_manifest_addresses(flows, pkts)
    tables, summary, total = parse_midstat(a.stdout)
    by_tuple = {(f["cli"], f["srv"]): f for f in flows}

    # Closed flows are closed in the capture (tshark's view), open ones not.
    for f in flows:
        fp = [p for p in pkts if {(p.src, p.sport), (p.dst, p.dport)} ==
              {f["cli"], f["srv"]}]
        f["first"] = min(p.t for p in fp)
        f["last"] = max(p.t for p in fp)
        rst = any(p.flags & RST for p in fp)
        fins = {(p.src, p.sport) for p in fp if p.flags & FIN}
        closed = rst or len(fins) == 2 and fp[-1].flags == ACK
        if closed != (f["extra"] == "closed"):
            fail("%s: manifest says %s, tshark sees %s" %
                 (f["name"], f["extra"], "closed" if closed else "open"))

    finals = [t for t in tables if t["second"] is None]
    cores = sorted({t["core"] for t in finals})
    if cores != list(range(a.cores)):
        fail("final tables for cores %r, expected %d cores" % (cores, a.cores))

    # Every flow stays on one core.
    core_of = {}
    for t in tables:
        for r in t["rows"]:
            tup = (r["cli"], r["srv"])
            if tup not in by_tuple:
                fail("table lists an unknown flow %r" % (tup,))
                continue
            if core_of.setdefault(tup, r["cpu"]) != r["cpu"]:
                fail("%s shown on two cores" % by_tuple[tup]["name"])

    # Final tables: exactly the open flows, in their final states.
    shown = {}
    for t in finals:
        for r in t["rows"]:
            tup = (r["cli"], r["srv"])
            if tup in shown:
                fail("final tables list %r twice" % (tup,))
            shown[tup] = "%s/%s" % (r["cst"], r["sst"])
    for f in flows:
        tup = (f["cli"], f["srv"])
        if f["extra"] == "closed":
            if tup in shown:
                fail("closed flow %s in the final table" % f["name"])
        elif shown.get(tup) != f["extra"]:
            fail("%s: final %s, expected %s" %
                 (f["name"], shown.get(tup, "(missing)"), f["extra"]))

    nclosed = sum(f["extra"] == "closed" for f in flows)
    want = (len(flows), nclosed, 0, len(flows) - nclosed)
    if total != want:
        fail("totals %r, expected (seen, closed, timed out, open) %r" %
             (total, want))
    if sorted(summary) != list(range(a.cores)):
        fail("per-core summaries for %r" % sorted(summary))
    elif tuple(sum(v[i] for v in summary.values()) for i in range(4)) != \
            total:
        fail("per-core summaries do not add up to the totals")

    # Every flow shows up (each is open at some whole second or at the
    # end), so each core's flows are known.
    for f in flows:
        if (f["cli"], f["srv"]) not in core_of:
            fail("%s is in no table" % f["name"])

    # One table per second of each core's clock, numbered 1..N. A core's
    # clock runs from its first packet to its last.
    for c in range(a.cores):
        mine = [f for f in flows if core_of.get((f["cli"], f["srv"])) == c]
        if not mine:
            fail("core %d lists no flow at all" % c)
            continue
        first = min(f["first"] for f in mine)
        last = max(f["last"] for f in mine)
        span = last - first
        if abs(span - round(span)) < 0.2:
            fail("core %d: clock span %.3f s too close to whole seconds" %
                 (c, span))
        secs = [t["second"] for t in tables
                if t["core"] == c and t["second"] is not None]
        if secs != list(range(1, int(math.floor(span)) + 1)):
            fail("core %d: tables for seconds %r over %.3f s of capture" %
                 (c, secs, span))
        # Which flows each table shows: those open at that second (a
        # table may come up to 0.3 s late: skip flows changing then).
        for t in tables:
            if t["core"] != c or t["second"] is None:
                continue
            at = first + t["second"]
            listed = {(r["cli"], r["srv"]) for r in t["rows"]}
            for f in mine:
                tup = (f["cli"], f["srv"])
                ends = f["last"] if f["extra"] == "closed" else math.inf
                if at - 0.05 < f["first"] < at + 0.35 or \
                        at - 0.05 < ends < at + 0.35:
                    continue
                if (f["first"] < at < ends) != (tup in listed):
                    fail("core %d second %d: %s %s" %
                         (c, t["second"], f["name"], "missing"
                          if tup not in listed else "listed but not open"))
    done()


# -- firewall --------------------------------------------------------------

def parse_rules(path):
    rules = []
    with open(path) as f:
        for line in f:
            w = line.split("#", 1)[0].split()
            if not w:
                continue
            r = dict(drop=w[0].upper() == "DROP", ports={})
            for i, tok in ((1, w[1]), (2, w[2])):
                if "/" not in tok and tok == "0.0.0.0":
                    tok = "0.0.0.0/0"
                r["src" if i == 1 else "dst"] = ipaddress.ip_network(
                    tok, strict=False)
            for tok in w[3:]:
                k, v = tok.split(":")
                lo, _, hi = v.partition("-")
                lo, hi = int(lo), int(hi or lo)
                r["ports"][k] = (0, 65535) if lo == 0 and hi == 0 else (lo, hi)
            rules.append(r)
    return rules


def decide(rules, s):
    """Index of the first rule matching SYN s, or None."""
    for i, r in enumerate(rules):
        sp = r["ports"].get("sport", (0, 65535))
        dp = r["ports"].get("dport", (0, 65535))
        if ipaddress.ip_address(s.src) in r["src"] and \
                ipaddress.ip_address(s.dst) in r["dst"] and \
                sp[0] <= s.sport <= sp[1] and dp[0] <= s.dport <= dp[1]:
            return i
    return None


def check_firewall(a):
    rules = parse_rules(a.rules)
    pin, pout = tshark(a.pcap), tshark(a.out)
    # Flows: distinct first SYNs (4-tuple and initial sequence number).
    syns = collections.OrderedDict()
    for p in pin:
        if p.flags & (SYN | ACK) == SYN:
            syns.setdefault((p.src, p.sport, p.dst, p.dport, p.seq),
                            []).append(p)
    counts = [0] * len(rules)
    deflt, denied, repeats = 0, set(), 0
    for k, copies in syns.items():
        i = decide(rules, copies[0])
        if i is None:
            deflt += 1
        else:
            counts[i] += 1
        if i is not None and rules[i]["drop"]:
            denied.add(k[:4])
        else:
            repeats += len(copies) - 1
    if not denied or len(denied) == len({k[:4] for k in syns}):
        fail("the test needs both denied and allowed flows")

    def is_denied(p):
        return (p.src, p.sport, p.dst, p.dport) in denied or \
            (p.dst, p.dport, p.src, p.sport) in denied
    want = collections.Counter((p.src, p.sport, p.dst, p.dport) + key(p)
                               for p in pin if not is_denied(p))
    got = collections.Counter((p.src, p.sport, p.dst, p.dport) + key(p)
                              for p in pout)
    for k in got - want:
        fail("output has a packet it should not: %r" % (k,))
    for k in want - got:
        fail("output lacks a packet of an allowed flow: %r" % (k,))
    if any(is_denied(p) for p in pout):
        fail("a packet of a denied flow was forwarded")
    ndropped = sum(is_denied(p) for p in pin)

    with open(a.stdout) as f:
        lines = f.read().splitlines()
    dashes = "-" * 71
    starts = [i for i, l in enumerate(lines) if l == "Firewall rule table"]
    tables = []
    for s in starts:
        if lines[s - 1] != dashes or lines[s + 1] != (
                "idx   flows   target   client             server"
                "             port"):
            fail("table heading not as simple_firewall's at line %d" % s)
        rows = lines[s + 2:s + 2 + len(rules)]
        if lines[s + 2 + len(rules)] != dashes:
            fail("table at line %d does not end after %d rules" %
                 (s, len(rules)))
        tables.append((s, rows))
    summ = re.compile(r"^firewall: (\d+) flows: (\d+) dropped, (\d+) "
                      r"accepted \((\d+) matched no rule\); (\d+) packets "
                      r"dropped, (\d+) repeated SYNs not counted$")
    finals = [i for i, l in enumerate(lines) if summ.match(l)]
    if len(finals) != 1 or not tables or \
            finals[0] != tables[-1][0] + 3 + len(rules):
        fail("the final table and its summary line are missing")
        done()
    for idx, row in enumerate(tables[-1][1]):
        r = rules[idx]
        if row[0:6].strip() != str(idx + 1) or \
                row[14:23].strip() != ("DROP" if r["drop"] else "ACCEPT"):
            fail("rule row %r is not rule %d" % (row, idx + 1))
        if row[6:14].strip() != str(counts[idx]):
            fail("rule %d counted %s flows, expected %d" %
                 (idx + 1, row[6:14].strip(), counts[idx]))
        if row[23:42].strip() != str(r["src"]).replace("/32", "") and \
                not (r["src"].prefixlen == 0 and
                     row[23:42].strip() in ("0.0.0.0", "0.0.0.0/0")):
            fail("rule %d client column %r" % (idx + 1, row[23:42]))
    v = [int(x) for x in summ.match(lines[finals[0]]).groups()]
    ndrop = sum(c for c, r in zip(counts, rules) if r["drop"])
    want_v = [len(syns), ndrop, len(syns) - ndrop, deflt, ndropped, repeats]
    if v != want_v:
        fail("summary %r, expected %r" % (v, want_v))
    periodic = len(tables) - 1
    span = max(p.t for p in pin) - min(p.t for p in pin)
    if abs(span - round(span)) < 0.2:
        fail("capture span %.3f s too close to whole seconds" % span)
    if a.cores == 1 and periodic != math.floor(span):
        fail("%d periodic tables over %.3f s of capture" % (periodic, span))
    if a.cores > 1 and periodic < 1:
        fail("no periodic table")
    done()


# -- nat -------------------------------------------------------------------

def check_nat(a):
    flows = read_manifest(a.manifest)
    pin, pout = tshark(a.pcap), tshark(a.out)
    check_manifest_addresses(flows, pin)
    nat = a.nat_ip
    for f in flows:
        f["port"] = int(f["extra"])
        f["start"] = min(p.t for p in pin if (p.src, p.sport) == f["cli"])
    # A reused port serves one flow after the other: server packets to
    # NAT_IP:PORT belong to the flow that had the port at that time.
    by_port = collections.defaultdict(list)
    for f in sorted(flows, key=lambda f: f["start"]):
        if f["port"]:
            by_port[(f["srv"], f["port"])].append(f)
    owner = {}
    for p in pin:
        if (p.dst, p.dport) in [(nat, f["port"]) for f in flows]:
            cands = [f for f in by_port[((p.src, p.sport), p.dport)]
                     if f["start"] <= p.t]
            if cands:
                owner[p] = cands[-1]
        for f in flows:
            if (p.src, p.sport) == f["cli"] and (p.dst, p.dport) == f["srv"]:
                owner[p] = f
    if len(owner) != len(pin):
        fail("%d input packets belong to no flow of the manifest" %
             (len(pin) - len(owner)))
    want = collections.Counter()
    expect_out = dropped = 0
    for f in flows:
        port, cli, srv = f["port"], f["cli"], f["srv"]
        c2s = [p for p in pin if owner.get(p) is f and
               (p.src, p.sport) == cli]
        s2c = [p for p in pin if owner.get(p) is f and
               (p.src, p.sport) == srv]
        if port == 0:
            dropped += len(c2s)
            if s2c:
                fail("%s: refused flow has server packets" % f["name"])
            if any((p.src, p.sport) == cli for p in pout):
                fail("%s: a packet of a refused flow was forwarded" %
                     f["name"])
            continue
        expect_out += len(c2s) + len(s2c)
        for p in c2s:
            want[((nat, port), srv) + key(p)] += 1
        for p in s2c:
            want[(srv, cli) + key(p)] += 1
        o_s2c = [key(p) for p in pout if (p.src, p.sport) == srv and
                 (p.dst, p.dport) == cli]
        if o_s2c != [key(p) for p in s2c] or not s2c:
            fail("%s: server->client packets not all translated back to "
                 "%s:%d (%d of %d)" % ((f["name"],) + cli +
                                        (len(o_s2c), len(s2c))))
    got = collections.Counter(((p.src, p.sport), (p.dst, p.dport)) + key(p)
                              for p in pout)
    for k in want - got:
        fail("missing from the output: %r" % (k,))
    for k in got - want:
        fail("unexpected in the output: %r" % (k,))
    clients = {f["cli"][0] for f in flows}
    for p in pout:
        if p.dst == nat:
            fail("untranslated server->client packet %r" % (p,))
        if p.src in clients:
            fail("untranslated client->server packet %r" % (p,))
    if len(pout) != expect_out:
        fail("output has %d packets, expected %d" % (len(pout), expect_out))
    bad = bad_checksums(a.out)
    if bad:
        fail("%d frames with a bad checksum: %s" % (len(bad), bad[0]))
    ports = collections.Counter(int(f["extra"]) for f in flows
                                if f["extra"] != "0")
    if a.expect_reuse and max(ports.values(), default=0) < 2:
        fail("the capture reuses no port")
    if a.expect_refused != any(f["extra"] == "0" for f in flows):
        fail("refused flows: expected %s" % a.expect_refused)
    summ = re.compile(r"^nat: (\S+), ports (\d+)-(\d+): (\d+) flows "
                      r"translated, (\d+) refused \(no port\), (\d+) packets "
                      r"translated, (\d+) dropped, (\d+) errors; (\d+) ports "
                      r"in use at most$")
    with open(a.stdout) as f:
        m = [summ.match(l) for l in f.read().splitlines()]
    m = [x for x in m if x]
    if len(m) != 1:
        fail("expected one nat summary line, found %d" % len(m))
    else:
        g = m[0].groups()
        nref = sum(f["extra"] == "0" for f in flows)
        want = [len(flows) - nref, nref, expect_out, dropped, 0]
        got = [int(x) for x in g[3:8]]
        if g[0] != nat or got != want:
            fail("summary %r, expected address %s and %r" % (g, nat, want))
    done()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("midstat")
    p.add_argument("manifest")
    p.add_argument("pcap")
    p.add_argument("stdout")
    p.add_argument("--cores", type=int, default=1)
    p.set_defaults(fn=check_midstat)
    p = sub.add_parser("firewall")
    p.add_argument("rules")
    p.add_argument("pcap")
    p.add_argument("out")
    p.add_argument("stdout")
    p.add_argument("--cores", type=int, default=1)
    p.set_defaults(fn=check_firewall)
    p = sub.add_parser("nat")
    p.add_argument("manifest")
    p.add_argument("pcap")
    p.add_argument("out")
    p.add_argument("stdout")
    p.add_argument("--nat-ip", required=True)
    p.add_argument("--expect-reuse", action="store_true")
    p.add_argument("--expect-refused", action="store_true")
    p.set_defaults(fn=check_nat)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
