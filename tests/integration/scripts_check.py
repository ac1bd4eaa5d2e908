#!/usr/bin/python3
"""scripts_check.py - oracles of test_scripts.sh (the shipped Lua policies).
Run with /usr/bin/python3 (the interpreter that has scapy). Each check
prints what it found and exits 1 with the reason when it fails.

  replaced DIR_IN DIR_OUT PATTERN REPLACEMENT
      per-direction streams (tcpflow's files): every output file is the
      input file with each occurrence of PATTERN replaced (left to right,
      without overlap); prints the number of occurrences.
  download GOT ORIG PATTERN REPLACEMENT GIVEN_UP
      GOT is ORIG with each occurrence of PATTERN replaced, except that
      the bytes of at most GIVEN_UP occurrences may have passed as they
      were (rewrite.lua sends a pending prefix unchanged when it gives it
      up: its scripts/rewrite.lua header says when); every other byte
      must be the rewritten one. Prints the number of occurrences that
      passed unchanged, in whole or in part.
  copies IN.pcap OUT.pcap PATTERN REPLACEMENT
      every copy of every output data segment, by its sequence number,
      holds the bytes of its direction's input stream with each
      occurrence replaced (tcpflow keeps one copy of each byte; a
      receiver may keep another), and together they cover each stream;
      prints the number of occurrences.
  firewall RULES IN.pcap OUT.pcap STDOUT...
      computes each flow's verdict from the rules (first match of the
      first SYN, Python's ipaddress for the prefixes); the output must hold
      every packet of the accepted flows and none of the dropped ones; the
      per-rule counters of the final tables (summed over the STDOUT files
      and cores) and the summary lines must agree.
  nat MANIFEST.json IN.pcap OUT.pcap [--ordered]
      each output frame is an input frame (same TCP seq, ack, flags,
      payload) with the addresses the manifest gives, and every frame the
      manifest does not drop is there; --ordered: in the input's order.
  natlearn IN.pcap OUT.pcap NAT_IP PORTS.json
      the port each SYN got from the NAT (in and out frames pair up in
      order), written as {"client:port": nat_port}.
  midstat EXPECT.json STDOUT [--seconds] [--timeout]
      the final table's rows (all cores) and the summary counts; with
      --seconds, also every second's table (one core); rows must have
      mOS's exact layout. --timeout: the expectation of a run with an
      idle timeout of 2 s.
  http-oracle IN.pcap PORT...
      the log lines http_log.lua must write, from tshark's HTTP dissector
      (requests and responses of each flow paired in order), sorted.
"""
import bisect
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

from scapy.all import IP, TCP, rdpcap  # noqa: E402


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


# -- rewrite -----------------------------------------------------------------

def cmd_replaced(din, dout, pat, rep):
    pat, rep = pat.encode(), rep.encode()
    fin = sorted(f for f in os.listdir(din) if f != "report.xml")
    fout = sorted(f for f in os.listdir(dout) if f != "report.xml")
    if fin != fout:
        fail("stream files differ: %s" % sorted(set(fin) ^ set(fout))[:4])
    if not fin:
        fail("no streams")
    total = 0
    for f in fin:
        a = open(os.path.join(din, f), "rb").read()
        b = open(os.path.join(dout, f), "rb").read()
        total += a.count(pat)
        if pat in b:
            fail("%s: PATTERN left in the output" % f)
        want = a.replace(pat, rep)
        if b != want:
            at = next((i for i in range(min(len(b), len(want)))
                       if b[i] != want[i]), min(len(b), len(want)))
            fail("%s: differs at byte %d (lengths %d, %d): got %r, want %r"
                 % (f, at, len(b), len(want), b[at:at + 20],
                    want[at:at + 20]))
    print(total)


def cmd_download(got_path, orig_path, pat, rep, given_up):
    pat, rep = pat.encode(), rep.encode()
    with open(got_path, "rb") as f:
        got = f.read()
    with open(orig_path, "rb") as f:
        orig = f.read()
    want = orig.replace(pat, rep)
    if len(got) != len(want):
        fail("%s: %d bytes, want %d" % (got_path, len(got), len(want)))
    # Occurrences as replace() finds them: left to right, no overlap.
    starts = []
    at = orig.find(pat)
    while at >= 0:
        starts.append(at)
        at = orig.find(pat, at + len(pat))
    unchanged = set()
    diff = (i for i, (a, b) in enumerate(zip(got, want)) if a != b)
    for i in diff:
        k = bisect.bisect_right(starts, i) - 1
        if k < 0 or i >= starts[k] + len(pat) or got[i] != orig[i]:
            fail("%s: byte %d is %r: neither the rewritten byte %r nor an "
                 "original one inside an occurrence (context %r, want %r)"
                 % (got_path, i, got[i:i + 1], want[i:i + 1],
                    got[max(0, i - 10):i + 10], want[max(0, i - 10):i + 10]))
        unchanged.add(k)
    if len(unchanged) > int(given_up):
        fail("%s: %d occurrences passed unchanged (at bytes %s), but only %s "
             "pending prefixes were given up" % (got_path, len(unchanged),
                                                 sorted(starts[k] for k in
                                                        unchanged), given_up))
    print(len(unchanged))


def tcp_dir(p):
    return (p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport)


def cmd_copies(inp, outp, pat, rep):
    pat, rep = pat.encode(), rep.encode()
    isn, data = {}, defaultdict(dict)
    for p in rdpcap(inp):
        if TCP not in p:
            continue
        k = tcp_dir(p)
        if p[TCP].flags & 0x02:
            isn[k] = p[TCP].seq
            continue
        if k not in isn:
            fail("%s: data before the SYN" % (k,))
        off = (p[TCP].seq - isn[k] - 1) & 0xffffffff
        for i, b in enumerate(bytes(p[TCP].payload)):
            if data[k].setdefault(off + i, b) != b:
                fail("%s: the input disagrees with itself at %d" % (k, off + i))
    want = {}
    total = 0
    for k, d in data.items():
        n = max(d) + 1
        if sorted(d) != list(range(n)):
            fail("%s: the input stream has holes" % (k,))
        st = bytes(d[i] for i in range(n))
        total += st.count(pat)
        want[k] = st.replace(pat, rep)
    seen = defaultdict(set)
    for p in rdpcap(outp):
        if TCP not in p or p[TCP].flags & 0x02:
            continue
        k = tcp_dir(p)
        pl = bytes(p[TCP].payload)
        if not pl:
            continue
        off = (p[TCP].seq - isn[k] - 1) & 0xffffffff
        w = want[k][off:off + len(pl)]
        if pl != w:
            at = next(i for i in range(len(pl)) if i >= len(w) or pl[i] != w[i])
            fail("%s: a copy at %d differs at byte %d: got %r, want %r"
                 % (k, off, off + at, pl[at:at + 16], w[at:at + 16]))
        seen[k].update(range(off, off + len(pl)))
    for k, w in want.items():
        if len(seen[k]) != len(w):
            miss = min(set(range(len(w))) - seen[k])
            fail("%s: byte %d of %d never left" % (k, miss, len(w)))
    print(total)


# -- firewall ----------------------------------------------------------------

def parse_rules(path):
    rules = []
    for line in open(path):
        w = line.split("#")[0].split()
        if not w:
            continue
        # A bare 0.0.0.0 is the wildcard.
        r = {"drop": w[0].upper() == "DROP",
             "src": ipaddress.ip_network("0.0.0.0/0" if w[1] == "0.0.0.0"
                                         else w[1], strict=False),
             "dst": ipaddress.ip_network("0.0.0.0/0" if w[2] == "0.0.0.0"
                                         else w[2], strict=False),
             "sport": (0, 65535), "dport": (0, 65535)}
        for x in w[3:]:
            k, v = x.split(":")
            lo, _, hi = v.partition("-")
            lo, hi = int(lo), int(hi or lo)
            if (lo, hi) != (0, 0):
                r[k] = (lo, hi)
        rules.append(r)
    return rules


def flow_key(ip, tcp):
    a, b = (ip.src, tcp.sport), (ip.dst, tcp.dport)
    return (a, b) if a < b else (b, a)


def cmd_firewall(rules_path, inp, outp, *stdouts):
    rules = parse_rules(rules_path)
    verdict = {}        # flow key -> rule index (0: none), drop
    per_rule = defaultdict(int)
    npkts = defaultdict(int)
    for p in rdpcap(inp):
        if TCP not in p:
            continue
        k = flow_key(p[IP], p[TCP])
        npkts[k] += 1
        t = p[TCP]
        if k not in verdict and t.flags & 0x02 and not t.flags & 0x10:
            src, dst = ipaddress.ip_address(p[IP].src), \
                ipaddress.ip_address(p[IP].dst)
            hit = 0
            for i, r in enumerate(rules, 1):
                if (src in r["src"] and dst in r["dst"] and
                        r["sport"][0] <= t.sport <= r["sport"][1] and
                        r["dport"][0] <= t.dport <= r["dport"][1]):
                    hit = i
                    break
            verdict[k] = (hit, hit > 0 and rules[hit - 1]["drop"])
            per_rule[hit] += 1
    out = defaultdict(int)
    for p in rdpcap(outp):
        if TCP in p:
            out[flow_key(p[IP], p[TCP])] += 1
    ndrop_flows = ndrop_pkts = 0
    for k, (hit, drop) in verdict.items():
        if drop:
            ndrop_flows += 1
            ndrop_pkts += npkts[k]
            if out[k]:
                fail("dropped flow %s: %d packets left" % (k, out[k]))
        elif out[k] != npkts[k]:
            fail("accepted flow %s: %d of %d packets left" %
                 (k, out[k], npkts[k]))
    if ndrop_flows == 0 or ndrop_flows == len(verdict):
        fail("the rules should drop some flows and accept others")
    # Counters: final tables of every core.
    counts = defaultdict(int)
    summary = [0, 0, 0, 0, 0]
    nfinal = 0
    for path in stdouts:
        lines = open(path).read().split("\n")
        for i, ln in enumerate(lines):
            if re.match(r"^firewall: core \d+, end of input$", ln):
                nfinal += 1
                assert lines[i + 1] == "-" * 71
                assert lines[i + 2] == "Firewall rule table"
                assert lines[i + 3] == ("idx   flows   target   client"
                                        "             server             "
                                        "port")
                j = i + 4
                while lines[j] != "-" * 71:
                    idx, n = int(lines[j][0:6]), int(lines[j][6:14])
                    counts[idx] += n
                    j += 1
            m = re.match(r"^firewall: core \d+: (\d+) flows: (\d+) dropped, "
                         r"(\d+) accepted \((\d+) matched no rule\); (\d+) "
                         r"packets dropped", ln)
            if m:
                summary = [s + int(x) for s, x in zip(summary, m.groups())]
    if nfinal == 0:
        fail("no final table")
    for i in range(1, len(rules) + 1):
        if counts[i] != per_rule[i]:
            fail("rule %d: %d flows counted, %d expected" %
                 (i, counts[i], per_rule[i]))
    want = [len(verdict), ndrop_flows, len(verdict) - ndrop_flows,
            per_rule[0], ndrop_pkts]
    if summary != want:
        fail("summary %s, expected %s" % (summary, want))
    print("%d flows, %d dropped (%d packets)" %
          (len(verdict), ndrop_flows, ndrop_pkts))


# -- nat -----------------------------------------------------------------------

def tcp_id(p):
    t = p[TCP]
    return (t.seq, t.ack, int(t.flags), bytes(t.payload), p[IP].id)


def cmd_nat(manifest, inp, outp, *opts):
    want = json.load(open(manifest))
    pin, pout = rdpcap(inp), rdpcap(outp)
    if len(want) != len(pin):
        fail("manifest has %d frames, capture %d" % (len(want), len(pin)))
    expect = {}
    order = []
    for p, w in zip(pin, want):
        k = tcp_id(p)
        if k in expect:
            fail("two input frames look alike")
        expect[k] = w
        if w != "drop":
            order.append(k)
    got = []
    for p in pout:
        k = tcp_id(p)
        w = expect.get(k)
        if w is None:
            fail("output frame %s is no input frame" % (k[:3],))
        if w == "drop":
            fail("frame %s should have been dropped" % (k[:3],))
        have = [p[IP].src, p[TCP].sport, p[IP].dst, p[TCP].dport]
        if have != w:
            fail("frame %s leaves as %s, expected %s" % (k[:3], have, w))
        got.append(k)
    if sorted(got) != sorted(order):
        fail("%d frames out, %d expected" % (len(got), len(order)))
    if "--ordered" in opts and got != order:
        fail("frames out of order")
    print("%d frames translated, %d dropped" %
          (len(got), len(want) - len(order)))


def cmd_natlearn(inp, outp, nat_ip, ports_path):
    pin, pout = rdpcap(inp), rdpcap(outp)
    if len(pin) != len(pout):
        fail("learning run: %d frames in, %d out" % (len(pin), len(pout)))
    out = {tcp_id(b): b for b in pout}
    ports = {}
    for a in pin:
        b = out.get(tcp_id(a))
        if b is None or b[IP].src != nat_ip:
            fail("learning run: frame not translated")
        ports["%s:%d" % (a[IP].src, a[TCP].sport)] = b[TCP].sport
    json.dump(ports, open(ports_path, "w"))
    print(len(ports))


# -- midstat -----------------------------------------------------------------

HEADER = ("Proto CPU Client Address        Client State "
          "Server Address        Server State")


def parse_row(ln):
    # "%-5s %-3d " then "ip:port" in 21 columns, a space, the state in 12
    # columns, a space, the same for the server.
    if len(ln) != 79 or not ln.startswith("tcp   ") or ln[31] != " " or \
            ln[44] != " " or ln[66] != " ":
        fail("row not in midstat's layout: %r" % ln)
    return [ln[10:31].rstrip(), ln[32:44].rstrip(), ln[45:66].rstrip(),
            ln[67:79].rstrip()]


def cmd_midstat(expect_path, stdout, *opts):
    want = json.load(open(expect_path))
    if "--timeout" in opts:
        want.update(want["timeout"])
    lines = open(stdout).read().split("\n")
    seconds, final, summary = {}, [], [0, 0, 0, 0]
    i = 0
    while i < len(lines):
        ln = lines[i]
        m = re.match(r"^midstat: core (\d+), (second (\d+)|end of input): "
                     r"(\d+) flows( open)?$", ln)
        s = re.match(r"^midstat: core \d+: (\d+) flows seen, (\d+) closed, "
                     r"(\d+) timed out, (\d+) open at the end$", ln)
        if s:
            summary = [a + int(b) for a, b in zip(summary, s.groups())]
        if not m:
            i += 1
            continue
        if lines[i + 1] != HEADER:
            fail("header: %r" % lines[i + 1])
        rows = []
        i += 2
        while i < len(lines) and lines[i].startswith("tcp "):
            rows.append(parse_row(lines[i]))
            i += 1
        if len(rows) != int(m.group(4)):
            fail("'%s' but %d rows" % (ln, len(rows)))
        if m.group(3):
            seconds[m.group(3)] = rows
        else:
            final += rows
    if sorted(final) != sorted(want["final"]):
        fail("final table %s, expected %s" % (final, want["final"]))
    sw = [want["seen"], want["closed"], want.get("timed_out", 0),
          want["open"]]
    if summary != sw:
        fail("summary %s, expected %s" % (summary, sw))
    if "--seconds" in opts:
        if seconds != want["seconds"]:
            for k in sorted(set(seconds) | set(want["seconds"])):
                if seconds.get(k) != want["seconds"].get(k):
                    fail("second %s: %s, expected %s" %
                         (k, seconds.get(k), want["seconds"].get(k)))
    print("%d tables" % (len(seconds) + 1))


# -- http ----------------------------------------------------------------------

def cmd_http_oracle(inp, *ports):
    args = ["tshark", "-r", inp, "-Y", "http.request || http.response",
            "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
            "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst",
            "-e", "tcp.dstport", "-e", "http.request.method",
            "-e", "http.request.uri", "-e", "http.request.version",
            "-e", "http.response.code"]
    for p in ports:
        args += ["-d", "tcp.port==%s,http" % p]
    res = subprocess.run(args, capture_output=True, text=True, check=True)
    reqs, resps = defaultdict(list), defaultdict(list)
    for ln in res.stdout.splitlines():
        f = ln.split("\t")
        if f[4]:
            k = "%s:%s -> %s:%s" % tuple(f[0:4])
            for m, u, v in zip(f[4].split("|"), f[5].split("|"),
                               f[6].split("|")):
                reqs[k].append("%s %s %s" % (m, u, v))
        if f[7]:
            k = "%s:%s -> %s:%s" % (f[2], f[3], f[0], f[1])
            resps[k] += f[7].split("|")
    out = []
    for k in set(reqs) | set(resps):
        q, r = reqs[k], resps[k]
        for i in range(max(len(q), len(r))):
            out.append("%s %s -> %s" % (k, q[i] if i < len(q) else "- - -",
                                        r[i] if i < len(r) else "-"))
    if not out:
        fail("tshark found no HTTP")
    sys.stdout.write("".join(sorted(x + "\n" for x in out)))


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd = "cmd_" + sys.argv[1].replace("-", "_")
    if cmd not in globals():
        fail("unknown check " + sys.argv[1])
    globals()[cmd](*sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
