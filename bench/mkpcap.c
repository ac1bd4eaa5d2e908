/*
 * mkpcap.c - deterministic generator of test captures for moonbox:
 * interleaved Ethernet/IPv4/TCP connections (optionally reordered,
 * retransmitted, overlapping, reset, with wrapping sequence numbers),
 * HTTP-like, bulk, never-closed and pattern-carrying traffic, and a fixed
 * catalogue of hostile frames whose classes match engine/parse.c.
 *
 * The same arguments and seed give the same bytes: the program has its
 * own PRNG and starts every connection from its own seed. Frames are built
 * in one buffer and written with pcap_dump() through a large stdio buffer,
 * which keeps it at millions of packets in a few seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TS_START_SEC	1700000000u
#define TS_STEP_US	10u
#define MSS		1460u
#define FRAME_MAX	1600u
#define IO_BUF		(1u << 20)

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

enum { C2S, S2C };

/* -- Random numbers ------------------------------------------------------ */

/* xorshift64*: fast, and its output is fixed by the seed on every
 * platform (rand() is not). */
struct rng {
	uint64_t s;
};

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = mix64(seed * 0x9e3779b97f4a7c15ULL + mix64(stream + 1));
	if (r->s == 0)
		r->s = 0x853c49e6748fea9bULL;
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n), n > 0. */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (uint32_t)(((rng_next(r) >> 11) % ((uint64_t)hi - lo + 1)));
}

static int
rng_chance(struct rng *r, double p)
{
	if (p <= 0)
		return 0;
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}

/* -- Options --------------------------------------------------------------- */

enum mode { M_FLOWS, M_HTTP, M_BULK, M_OPEN, M_PATTERN, M_HOSTILE };

#define MB(m)	(1u << (m))
#define CONN_MODES \
	(MB(M_FLOWS) | MB(M_HTTP) | MB(M_BULK) | MB(M_OPEN) | MB(M_PATTERN))

struct opts {
	enum mode mode;
	const char *out;
	uint64_t conns;
	uint64_t seed;
	double reorder;
	double rexmit;
	double overlap;
	double rst;
	int wrap;
	uint32_t data_min, data_max;
	uint32_t seg_min, seg_max;
	const char *expect;
	uint32_t conc;
	uint32_t clients;
	uint64_t bytes;
	const char *pattern;
	uint32_t every;
	int split;
	const char *manifest;
	int valid_only;
	uint32_t acks;
};

static const char *const mode_names[] = {
	[M_FLOWS] = "flows", [M_HTTP] = "http", [M_BULK] = "bulk",
	[M_OPEN] = "open", [M_PATTERN] = "pattern", [M_HOSTILE] = "hostile",
};

enum {
	O_CONNS = 256, O_SEED, O_REORDER, O_REXMIT, O_OVERLAP, O_RST, O_WRAP,
	O_DATA, O_SEGSIZE, O_EXPECT, O_CONC, O_CLIENTS, O_BYTES, O_PATTERN,
	O_EVERY, O_SPLIT, O_MANIFEST, O_VALID_ONLY, O_ACKS, O_HELP,
};

static const struct option long_opts[] = {
	{ "conns", required_argument, NULL, O_CONNS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "reorder", required_argument, NULL, O_REORDER },
	{ "rexmit", required_argument, NULL, O_REXMIT },
	{ "overlap", required_argument, NULL, O_OVERLAP },
	{ "rst", required_argument, NULL, O_RST },
	{ "wrap", no_argument, NULL, O_WRAP },
	{ "data", required_argument, NULL, O_DATA },
	{ "segsize", required_argument, NULL, O_SEGSIZE },
	{ "expect", required_argument, NULL, O_EXPECT },
	{ "concurrency", required_argument, NULL, O_CONC },
	{ "clients", required_argument, NULL, O_CLIENTS },
	{ "bytes", required_argument, NULL, O_BYTES },
	{ "pattern", required_argument, NULL, O_PATTERN },
	{ "every", required_argument, NULL, O_EVERY },
	{ "split", no_argument, NULL, O_SPLIT },
	{ "manifest", required_argument, NULL, O_MANIFEST },
	{ "valid-only", no_argument, NULL, O_VALID_ONLY },
	{ "acks", required_argument, NULL, O_ACKS },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Which subcommands accept each option (indexed by option - O_CONNS). */
static const unsigned opt_modes[] = {
	[O_CONNS - O_CONNS] = CONN_MODES,
	[O_SEED - O_CONNS] = CONN_MODES | MB(M_HOSTILE),
	[O_REORDER - O_CONNS] = MB(M_FLOWS),
	[O_REXMIT - O_CONNS] = MB(M_FLOWS),
	[O_OVERLAP - O_CONNS] = MB(M_FLOWS),
	[O_RST - O_CONNS] = MB(M_FLOWS),
	[O_WRAP - O_CONNS] = MB(M_FLOWS),
	[O_DATA - O_CONNS] = MB(M_FLOWS) | MB(M_OPEN) | MB(M_PATTERN),
	[O_SEGSIZE - O_CONNS] = MB(M_FLOWS) | MB(M_PATTERN),
	[O_EXPECT - O_CONNS] = CONN_MODES,
	[O_CONC - O_CONNS] = CONN_MODES,
	[O_CLIENTS - O_CONNS] = MB(M_HTTP),
	[O_BYTES - O_CONNS] = MB(M_BULK),
	[O_PATTERN - O_CONNS] = MB(M_PATTERN),
	[O_EVERY - O_CONNS] = MB(M_PATTERN),
	[O_SPLIT - O_CONNS] = MB(M_PATTERN),
	[O_MANIFEST - O_CONNS] = MB(M_HOSTILE),
	[O_VALID_ONLY - O_CONNS] = MB(M_HOSTILE),
	[O_ACKS - O_CONNS] = MB(M_OPEN),
};

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: mkpcap SUBCOMMAND OUT.pcap [options]\n"
"Write a deterministic Ethernet/IPv4/TCP test capture (microsecond pcap,\n"
"timestamps from %u s, +%u us per frame).\n"
"\n"
"Subcommands:\n"
"  flows    interleaved connections: handshake, request/response rounds in\n"
"           both directions, FIN close (or RST)\n"
"           --conns N (20) --seed S (1) --concurrency C (8)\n"
"           --reorder P  swap a data segment with the next one of its side\n"
"           --rexmit P   send an exact duplicate of a data segment later\n"
"           --overlap P  later retransmission covering parts of the previous\n"
"                        and next segments (same bytes)\n"
"           --rst P      reset the connection (either side) instead of closing\n"
"           --wrap       ISNs close to 2^32 so sequence numbers wrap\n"
"           --data MIN:MAX (100:3000) bytes per message\n"
"           --segsize MIN:MAX (100:1460) bytes per segment\n"
"  http     short HTTP-like connections: --conns N (1000) --concurrency C (64)\n"
"           --clients K (256) --seed S\n"
"  bulk     long transfers in 1460-byte segments, ACK every 2 segments:\n"
"           --conns N (4) --bytes B (10000000, per connection) --seed S\n"
"  open     connections that send --data B (64) bytes and are never closed:\n"
"           --conns N (required) --concurrency C (64)\n"
"           --acks R  then R pure ACKs per connection on average, from\n"
"                     servers picked at random, once all are open\n"
"  pattern  payloads carrying --pattern STR in about 1 of --every K (10)\n"
"           segments, split across two segments with --split; prints\n"
"           'occurrences_c2s N', 'occurrences_s2c N', 'occurrences_split N'\n"
"           and 'occurrences N' (total) on stdout.\n"
"           --conns N (20) --concurrency C (8) --data --segsize --seed\n"
"  hostile  fixed catalogue of malformed frames mixed with valid ones\n"
"           --manifest FILE  write 'key count' lines per frame class\n"
"           --valid-only     leave the malformed frames out\n"
"\n"
"All connection subcommands accept --expect DIR: write the byte stream of\n"
"each direction to DIR, named as tcpflow does\n"
"(SRCIP.SRCPORT-DSTIP.DSTPORT, octets padded to 3 digits, port to 5).\n"
"Probabilities are in [0, 1]. Exit status: 0 ok, 1 I/O error, 2 usage.\n",
		TS_START_SEC, TS_STEP_US);
}

static int
bad_arg(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "mkpcap: %s: %s '%s'\n", opt, why, arg);
	return -1;
}

static int
parse_u64(const char *opt, const char *arg, uint64_t min, uint64_t max,
	  uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (arg[0] == '-')
		return bad_arg(opt, arg, "not a non-negative number");
	v = strtoull(arg, &end, 0);
	if (errno != 0 || end == arg || *end != '\0')
		return bad_arg(opt, arg, "not a number");
	if (v < min || v > max)
		return bad_arg(opt, arg, "out of range");
	*out = v;
	return 0;
}

static int
parse_u32(const char *opt, const char *arg, uint32_t min, uint32_t max,
	  uint32_t *out)
{
	uint64_t v;

	if (parse_u64(opt, arg, min, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_prob(const char *opt, const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0')
		return bad_arg(opt, arg, "not a number");
	if (!(v >= 0 && v <= 1))
		return bad_arg(opt, arg, "not a probability in [0, 1]");
	*out = v;
	return 0;
}

/* "N" or "MIN:MAX" */
static int
parse_range(const char *opt, const char *arg, uint32_t min, uint32_t max,
	    uint32_t *lo, uint32_t *hi)
{
	char buf[64];
	char *colon;

	if (strlen(arg) >= sizeof(buf))
		return bad_arg(opt, arg, "not a range");
	strcpy(buf, arg);
	colon = strchr(buf, ':');
	if (colon == NULL) {
		if (parse_u32(opt, buf, min, max, lo) < 0)
			return -1;
		*hi = *lo;
		return 0;
	}
	*colon = '\0';
	if (parse_u32(opt, buf, min, max, lo) < 0 ||
	    parse_u32(opt, colon + 1, min, max, hi) < 0)
		return -1;
	if (*lo > *hi)
		return bad_arg(opt, arg, "MIN greater than MAX in");
	return 0;
}

static void
opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->data_min = 100;
	o->data_max = 3000;
	o->seg_min = 100;
	o->seg_max = MSS;
	o->every = 10;
	o->clients = 256;
	o->bytes = 10000000;
}

static int
apply_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case O_CONNS:
		return parse_u64("--conns", arg, 1, (uint64_t)64512 * 65536,
				 &o->conns);
	case O_SEED:
		return parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed);
	case O_REORDER:
		return parse_prob("--reorder", arg, &o->reorder);
	case O_REXMIT:
		return parse_prob("--rexmit", arg, &o->rexmit);
	case O_OVERLAP:
		return parse_prob("--overlap", arg, &o->overlap);
	case O_RST:
		return parse_prob("--rst", arg, &o->rst);
	case O_WRAP:
		o->wrap = 1;
		return 0;
	case O_DATA:
		/* 16 MB a message keeps a side's stream within 2^32. */
		return parse_range("--data", arg, o->mode == M_FLOWS ? 1 : 0,
				   1u << 24, &o->data_min, &o->data_max);
	case O_SEGSIZE:
		return parse_range("--segsize", arg, 1, MSS, &o->seg_min,
				   &o->seg_max);
	case O_EXPECT:
		o->expect = arg;
		return 0;
	case O_CONC:
		return parse_u32("--concurrency", arg, 1, 1u << 20, &o->conc);
	case O_CLIENTS:
		return parse_u32("--clients", arg, 1, 65536, &o->clients);
	case O_BYTES:
		return parse_u64("--bytes", arg, 1, UINT32_MAX - 2, &o->bytes);
	case O_PATTERN:
		if (arg[0] == '\0' || strlen(arg) > 256)
			return bad_arg("--pattern", arg,
				       "needs 1 to 256 bytes, not");
		o->pattern = arg;
		return 0;
	case O_EVERY:
		return parse_u32("--every", arg, 1, 1u << 30, &o->every);
	case O_SPLIT:
		o->split = 1;
		return 0;
	case O_MANIFEST:
		o->manifest = arg;
		return 0;
	case O_VALID_ONLY:
		o->valid_only = 1;
		return 0;
	case O_ACKS:
		return parse_u32("--acks", arg, 0, 1000, &o->acks);
	}
	return -1;
}

/* Returns 0, 1 (help shown) or -1 (usage error, message printed). */
static int
opts_parse(struct opts *o, int argc, char **argv)
{
	int c, m, have_mode = 0;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 1;
	}
	if (argc < 2) {
		fprintf(stderr, "mkpcap: no subcommand\n");
		return -1;
	}
	for (m = 0; m <= M_HOSTILE; m++) {
		if (strcmp(argv[1], mode_names[m]) == 0) {
			have_mode = 1;
			break;
		}
	}
	if (!have_mode) {
		fprintf(stderr, "mkpcap: unknown subcommand '%s'\n", argv[1]);
		return -1;
	}
	opts_defaults(o);
	o->mode = (enum mode)m;
	o->conns = m == M_HTTP ? 1000 : m == M_BULK ? 4 : 20;
	if (m == M_OPEN) {
		o->conns = 0;
		o->data_min = o->data_max = 64;
	}

	optind = 2;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h' || c == O_HELP) {
			usage(stdout);
			return 1;
		}
		if (c == '?')
			return -1;
		if (!(opt_modes[c - O_CONNS] & MB(m))) {
			fprintf(stderr, "mkpcap: %s does not take --%s\n",
				mode_names[m], long_opts[c - O_CONNS].name);
			return -1;
		}
		if (apply_opt(o, c, optarg) < 0)
			return -1;
	}
	if (optind >= argc) {
		fprintf(stderr, "mkpcap: no output file\n");
		return -1;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "mkpcap: unexpected argument '%s'\n",
			argv[optind + 1]);
		return -1;
	}
	o->out = argv[optind];
	if (m == M_OPEN && o->conns == 0) {
		fprintf(stderr, "mkpcap: open needs --conns N\n");
		return -1;
	}
	if (m == M_OPEN && o->acks > 0 && o->conc != 0 && o->conc < o->conns) {
		fprintf(stderr, "mkpcap: --acks needs every connection open "
			"at once (--concurrency >= --conns)\n");
		return -1;
	}
	if (m == M_PATTERN && o->pattern == NULL) {
		fprintf(stderr, "mkpcap: pattern needs --pattern STR\n");
		return -1;
	}
	if (o->conc == 0)
		o->conc = m == M_HTTP || (m == M_OPEN && o->acks == 0) ? 64 :
			  m == M_BULK || m == M_OPEN ? (uint32_t)o->conns : 8;
	return 0;
}

/* -- Output ------------------------------------------------------------------ */

struct out {
	FILE *f;
	pcap_t *dead;
	pcap_dumper_t *d;
	uint64_t frames;
	uint64_t bytes;
	uint64_t ts_us;
	const char *path;
};

static int
out_open(struct out *w, const char *path)
{
	memset(w, 0, sizeof(*w));
	w->path = path;
	w->f = fopen(path, "wb");
	if (w->f == NULL) {
		fprintf(stderr, "mkpcap: cannot write '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	setvbuf(w->f, NULL, _IOFBF, IO_BUF);
	w->dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (w->dead == NULL) {
		fprintf(stderr, "mkpcap: pcap_open_dead failed\n");
		fclose(w->f);
		return -1;
	}
	w->d = pcap_dump_fopen(w->dead, w->f);
	if (w->d == NULL) {
		fprintf(stderr, "mkpcap: '%s': %s\n", path,
			pcap_geterr(w->dead));
		pcap_close(w->dead);
		fclose(w->f);
		return -1;
	}
	w->ts_us = (uint64_t)TS_START_SEC * 1000000;
	return 0;
}

static void
out_frame(struct out *w, const uint8_t *frame, uint32_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(w->ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(w->ts_us % 1000000);
	h.caplen = len;
	h.len = len;
	pcap_dump((u_char *)w->d, &h, frame);
	w->ts_us += TS_STEP_US;
	w->frames++;
	w->bytes += len;
}

static int
out_close(struct out *w)
{
	int err;

	pcap_dump_flush(w->d);
	err = ferror(w->f);
	pcap_dump_close(w->d);	/* closes w->f */
	pcap_close(w->dead);
	if (err) {
		fprintf(stderr, "mkpcap: error writing '%s'\n", w->path);
		return -1;
	}
	return 0;
}

/* -- Frame building ------------------------------------------------------- */

static const uint8_t mac_client[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_server[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One's complement sum of big-endian 16-bit words; an odd last byte is
 * padded with zero, so only the last chunk of a sum may be odd. */
static uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t
put_eth(uint8_t *f, const uint8_t *dst, const uint8_t *src,
	const uint16_t *tpid, int ntags, uint16_t type)
{
	uint32_t off = 12;
	int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	for (i = 0; i < ntags; i++) {
		wr16(f + off, tpid[i]);
		wr16(f + off + 2, (uint16_t)(100 + i));	/* VLAN id */
		off += 4;
	}
	wr16(f + off, type);
	return off + 2;
}

static void
ip_checksum(uint8_t *ip, uint32_t hlen)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_add(0, ip, hlen)));
}

/* IPv4 header with options; the checksum is filled in. */
static uint32_t
put_ipv4(uint8_t *ip, uint8_t proto, uint32_t sip, uint32_t dip, uint16_t id,
	 uint16_t frag, const uint8_t *opt, uint32_t optlen, uint32_t l4len)
{
	uint32_t hlen = 20 + optlen;

	ip[0] = (uint8_t)(0x40 | (hlen / 4));
	ip[1] = 0;
	wr16(ip + 2, (uint16_t)(hlen + l4len));
	wr16(ip + 4, id);
	wr16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, sip);
	wr32(ip + 16, dip);
	if (optlen)
		memcpy(ip + 20, opt, optlen);
	ip_checksum(ip, hlen);
	return hlen;
}

/* Checksum of a TCP or UDP segment at l4 (header + data, l4len bytes);
 * `field` is the checksum's offset in the header. */
static void
l4_checksum(uint8_t *l4, uint32_t l4len, uint8_t proto, uint32_t sip,
	    uint32_t dip, uint32_t field)
{
	uint8_t ph[12];
	uint64_t sum;

	wr32(ph, sip);
	wr32(ph + 4, dip);
	ph[8] = 0;
	ph[9] = proto;
	wr16(ph + 10, (uint16_t)l4len);
	wr16(l4 + field, 0);
	sum = csum_add(0, ph, sizeof(ph));
	sum = csum_add(sum, l4, l4len);
	wr16(l4 + field, csum_fold(sum));
}

/* TCP header + payload (copied from pl), checksum filled in. */
static uint32_t
put_tcp(uint8_t *t, uint32_t sip, uint32_t dip, uint16_t sport,
	uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
	const uint8_t *opt, uint32_t optlen, const uint8_t *pl, uint32_t plen)
{
	uint32_t hlen = 20 + optlen;

	wr16(t, sport);
	wr16(t + 2, dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = (uint8_t)((hlen / 4) << 4);
	t[13] = flags;
	wr16(t + 14, 64240);
	wr16(t + 16, 0);
	wr16(t + 18, 0);
	if (optlen)
		memcpy(t + 20, opt, optlen);
	if (plen && pl != t + hlen)
		memcpy(t + hlen, pl, plen);
	l4_checksum(t, hlen + plen, 6, sip, dip, 16);
	return hlen + plen;
}

/* -- Payload text ---------------------------------------------------------- */

static const char text_chars[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";

/* Printable text that depends on the key (connection and direction) and
 * on the position, so a byte delivered at the wrong offset or to the
 * wrong stream shows. */
static void
text_fill(uint64_t key, uint64_t off, uint8_t *dst, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t p = off + i, h;

		if (p % 64 == 63) {
			dst[i] = '\n';
			continue;
		}
		h = (key + p) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
		dst[i] = (uint8_t)text_chars[h >> 58];
	}
}

/* -- Connections ---------------------------------------------------------- */

/*
 * A connection is planned first as a list of segments in sequence space
 * relative to each side's ISN (SYN = 0, stream byte p = 1 + p, FIN after
 * the last byte). The plan is then perturbed (reordered, duplicated,
 * overlapped) into the list that is sent. Acknowledgement numbers are
 * computed only when a segment is sent, from what the peer's side has
 * really been sent so far, in order; so a reordered segment holds the ACK
 * back until the hole is filled, as a real receiver would.
 */

#define SX_DUP		0x01	/* exact copy of out[orig] */
#define SX_NOFINACK	0x02	/* simultaneous close: FIN crossed, not acked */
#define SX_MOVED	0x04	/* already swapped by --reorder */
#define RCV_HOLES	16

struct seg {
	uint32_t rel;		/* sequence number relative to the ISN */
	uint32_t len;		/* payload bytes, from stream offset rel - 1 */
	uint32_t ack;		/* filled when sent (kept for duplicates) */
	int32_t orig;		/* SX_DUP: index in out[] */
	uint16_t ipid;		/* filled when sent */
	uint16_t msg;		/* message number of a data segment */
	uint16_t prev_len;	/* neighbours of a data segment in its message */
	uint16_t next_len;
	uint8_t dir;
	uint8_t flags;
	uint8_t xflags;
};

struct segv {
	struct seg *v;
	uint32_t n;
	uint32_t cap;
};

/* What one side has received from its peer, relative to the peer's ISN. */
struct rcv {
	uint32_t nxt;
	uint32_t nholes;
	uint32_t lo[RCV_HOLES];
	uint32_t hi[RCV_HOLES];
	uint32_t fin_rel;	/* relative seq of the peer's FIN + 1, or 0 */
};

struct delayed {
	struct seg s;
	uint32_t countdown;
};

struct conn {
	uint64_t idx;
	struct rng rng;
	uint32_t ip[2];
	uint16_t port[2];
	uint32_t isn[2];
	uint16_t ipid[2];
	uint64_t key[2];	/* payload text when buf[d] is NULL */
	uint8_t *buf[2];	/* payload of each direction, or NULL */
	uint8_t *bufmem[2];
	uint32_t bufcap[2];
	uint32_t sent[2];	/* stream bytes planned per direction */
	uint16_t msgs;
	struct segv plan;
	struct segv tail;	/* close or reset, never perturbed */
	struct segv out;
	uint32_t next;		/* next out[] segment to send */
	struct rcv rcv[2];
	struct delayed pend[16];
	uint32_t npend;
};

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fprintf(stderr, "mkpcap: out of memory\n");
		exit(1);
	}
	return q;
}

static struct seg *
segv_push(struct segv *sv)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 64;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	memset(&sv->v[sv->n], 0, sizeof(sv->v[0]));
	sv->v[sv->n].orig = -1;
	return &sv->v[sv->n++];
}

static void
conn_reset(struct conn *c, uint64_t idx, uint64_t seed)
{
	int d;

	c->idx = idx;
	rng_seed(&c->rng, seed, idx + 1000);
	c->plan.n = c->tail.n = c->out.n = 0;
	c->next = 0;
	c->npend = 0;
	c->msgs = 0;
	memset(c->rcv, 0, sizeof(c->rcv));
	for (d = 0; d < 2; d++) {
		c->sent[d] = 0;
		c->buf[d] = NULL;
		c->ipid[d] = (uint16_t)rng_next(&c->rng);
		c->isn[d] = (uint32_t)rng_next(&c->rng);
		c->key[d] = mix64(seed ^ mix64(idx * 2 + (uint64_t)d + 7));
	}
}

/* A payload buffer of n bytes for direction d. */
static uint8_t *
conn_buf(struct conn *c, int d, uint32_t n)
{
	if (c->bufcap[d] < n || c->bufmem[d] == NULL) {
		c->bufcap[d] = n > 4096 ? n : 4096;
		c->bufmem[d] = xrealloc(c->bufmem[d], c->bufcap[d]);
	}
	c->buf[d] = c->bufmem[d];
	return c->buf[d];
}

static struct seg *
plan_add(struct segv *sv, int dir, uint8_t flags, uint32_t rel, uint32_t len)
{
	struct seg *s = segv_push(sv);

	s->dir = (uint8_t)dir;
	s->flags = flags;
	s->rel = rel;
	s->len = len;
	return s;
}

static void
plan_handshake(struct conn *c)
{
	plan_add(&c->plan, C2S, F_SYN, 0, 0);
	plan_add(&c->plan, S2C, F_SYN | F_ACK, 0, 0);
	plan_add(&c->plan, C2S, F_ACK, 1, 0);
}

static void
plan_ack(struct conn *c, int dir)
{
	plan_add(&c->plan, dir, F_ACK, 1 + c->sent[dir], 0);
}

/*
 * One message of `total` bytes from dir, in segments of [smin, smax]
 * bytes (the last may be shorter), PSH on the last. The peer sends a pure
 * ACK after every `ack_every` segments (0: never) and, if ack_end, after
 * the last one.
 */
static void
plan_msg(struct conn *c, int dir, uint32_t total, uint32_t smin,
	 uint32_t smax, uint32_t ack_every, int ack_end)
{
	uint32_t done = 0, nseg = 0, unacked = 0;
	uint16_t msg = c->msgs++;

	while (done < total) {
		uint32_t n = rng_range(&c->rng, smin, smax);
		struct seg *s;

		if (n > total - done)
			n = total - done;
		s = plan_add(&c->plan, dir, F_ACK, 1 + c->sent[dir], n);
		s->msg = msg;
		c->sent[dir] += n;
		done += n;
		nseg++;
		unacked++;
		if (done == total)
			s->flags |= F_PSH;
		if (ack_every && unacked == ack_every && done < total) {
			plan_ack(c, !dir);
			unacked = 0;
		}
	}
	if (ack_end && unacked)
		plan_ack(c, !dir);
}

enum close_kind { CL_CLIENT, CL_SERVER, CL_SIMULTANEOUS };

static void
plan_close(struct conn *c, enum close_kind k)
{
	int a = k == CL_SERVER ? S2C : C2S, b = !a;
	struct seg *s;

	plan_add(&c->tail, a, F_FIN | F_ACK, 1 + c->sent[a], 0);
	if (k == CL_SIMULTANEOUS) {
		s = plan_add(&c->tail, b, F_FIN | F_ACK, 1 + c->sent[b], 0);
		s->xflags |= SX_NOFINACK;
		plan_add(&c->tail, a, F_ACK, 2 + c->sent[a], 0);
		plan_add(&c->tail, b, F_ACK, 2 + c->sent[b], 0);
		return;
	}
	plan_add(&c->tail, b, F_ACK, 1 + c->sent[b], 0);
	plan_add(&c->tail, b, F_FIN | F_ACK, 1 + c->sent[b], 0);
	plan_add(&c->tail, a, F_ACK, 2 + c->sent[a], 0);
}

/* Cut the plan after `cut` segments and reset from one side. */
static void
plan_reset(struct conn *c, uint32_t cut)
{
	uint32_t i;
	int d, from, syn[2] = { 0, 0 };

	c->plan.n = cut;
	c->sent[0] = c->sent[1] = 0;
	for (i = 0; i < cut; i++) {
		struct seg *s = &c->plan.v[i];

		if (s->flags & F_SYN)
			syn[s->dir] = 1;
		if (s->len && s->rel - 1 + s->len > c->sent[s->dir])
			c->sent[s->dir] = s->rel - 1 + s->len;
	}
	/* A client that has seen no SYN/ACK yet is not the one to reset. */
	from = syn[S2C] ? (int)rng_below(&c->rng, 2) : S2C;
	d = from;
	plan_add(&c->tail, d, syn[S2C] || d == S2C ? F_RST | F_ACK : F_RST,
		 syn[d] ? 1 + c->sent[d] : 0, 0);
}

/* Neighbour lengths for --overlap, from the (cut) plan in stream order. */
static void
plan_neighbours(struct conn *c)
{
	int32_t last[2] = { -1, -1 };
	uint32_t i;

	for (i = 0; i < c->plan.n; i++) {
		struct seg *s = &c->plan.v[i];
		int32_t p;

		if (s->len == 0)
			continue;
		p = last[s->dir];
		if (p >= 0 && c->plan.v[p].msg == s->msg) {
			s->prev_len = (uint16_t)c->plan.v[p].len;
			c->plan.v[p].next_len = (uint16_t)s->len;
		}
		last[s->dir] = (int32_t)i;
	}
}

/* --reorder: swap a data segment with the next data segment of the same
 * side, as long as the other side sends no data in between. */
static void
plan_reorder(struct conn *c, double p)
{
	uint32_t i, j;

	for (i = 0; i < c->plan.n; i++) {
		struct seg *s = &c->plan.v[i], t;

		if (s->len == 0 || (s->xflags & SX_MOVED) ||
		    !rng_chance(&c->rng, p))
			continue;
		/* The first data segment after s, of either side. */
		for (j = i + 1; j < c->plan.n; j++)
			if (c->plan.v[j].len)
				break;
		if (j == c->plan.n || c->plan.v[j].dir != s->dir ||
		    c->plan.v[j].len == 0 || (c->plan.v[j].xflags & SX_MOVED))
			continue;
		t = *s;
		*s = c->plan.v[j];
		c->plan.v[j] = t;
		s->xflags |= SX_MOVED;
		c->plan.v[j].xflags |= SX_MOVED;
	}
}

static void
pend_add(struct conn *c, const struct seg *s, uint32_t countdown)
{
	if (c->npend == sizeof(c->pend) / sizeof(c->pend[0])) {
		*segv_push(&c->out) = c->pend[0].s;
		memmove(c->pend, c->pend + 1, --c->npend * sizeof(c->pend[0]));
	}
	c->pend[c->npend].s = *s;
	c->pend[c->npend].countdown = countdown;
	c->npend++;
}

/* One more segment went out: release the delayed ones now due. */
static void
pend_tick(struct conn *c)
{
	uint32_t i = 0;

	while (i < c->npend) {
		if (--c->pend[i].countdown == 0) {
			*segv_push(&c->out) = c->pend[i].s;
			memmove(c->pend + i, c->pend + i + 1,
				(c->npend - i - 1) * sizeof(c->pend[0]));
			c->npend--;
		} else {
			i++;
		}
	}
}

/* Plan -> out, adding --rexmit duplicates and --overlap retransmissions,
 * then the tail. */
static void
conn_finish(struct conn *c, double rexmit, double overlap)
{
	uint32_t i;

	for (i = 0; i < c->plan.n; i++) {
		struct seg *s = &c->plan.v[i], o;
		uint32_t idx = c->out.n;

		*segv_push(&c->out) = *s;
		pend_tick(c);
		if (s->len == 0)
			continue;
		if (rng_chance(&c->rng, rexmit)) {
			o = *s;
			o.xflags = SX_DUP;
			o.orig = (int32_t)idx;
			pend_add(c, &o, rng_range(&c->rng, 1, 4));
		}
		if (s->prev_len && s->next_len && s->len + 2 <= MSS &&
		    rng_chance(&c->rng, overlap)) {
			uint32_t budget = MSS - s->len, amax, bmax, a, b;

			amax = s->prev_len > 1 ? s->prev_len - 1u : 1u;
			if (amax > budget - 1)
				amax = budget - 1;
			a = rng_range(&c->rng, 1, amax);
			bmax = s->next_len > 1 ? s->next_len - 1u : 1u;
			if (bmax > budget - a)
				bmax = budget - a;
			b = rng_range(&c->rng, 1, bmax);
			o = *s;
			o.rel = s->rel - a;
			o.len = s->len + a + b;
			o.flags = F_ACK;
			o.xflags = 0;
			pend_add(c, &o, rng_range(&c->rng, 2, 5));
		}
	}
	for (i = 0; i < c->npend; i++)
		*segv_push(&c->out) = c->pend[i].s;
	c->npend = 0;
	for (i = 0; i < c->tail.n; i++)
		*segv_push(&c->out) = c->tail.v[i];
}

static void
rcv_feed(struct rcv *r, uint32_t lo, uint32_t hi)
{
	uint32_t i;
	int merged = 1;

	if (hi <= lo)
		return;
	if (lo > r->nxt) {
		if (r->nholes < RCV_HOLES) {
			r->lo[r->nholes] = lo;
			r->hi[r->nholes] = hi;
			r->nholes++;
		}
		return;
	}
	if (hi > r->nxt)
		r->nxt = hi;
	while (merged) {
		merged = 0;
		for (i = 0; i < r->nholes; i++) {
			if (r->lo[i] <= r->nxt) {
				if (r->hi[i] > r->nxt)
					r->nxt = r->hi[i];
				r->lo[i] = r->lo[r->nholes - 1];
				r->hi[i] = r->hi[r->nholes - 1];
				r->nholes--;
				merged = 1;
				break;
			}
		}
	}
}

/* Build the frame of out[c->next] and write it. */
static void
conn_send(struct conn *c, struct out *w)
{
	static const uint8_t mss_opt[4] = { 2, 4, MSS >> 8, MSS & 0xff };
	uint8_t f[FRAME_MAX];
	struct seg *s = &c->out.v[c->next++];
	int d = s->dir, p = !d;
	uint32_t off, l3, l4, ack = 0, optlen;
	uint8_t *tcp;

	if (s->xflags & SX_DUP) {
		s->ack = c->out.v[s->orig].ack;
		s->ipid = c->out.v[s->orig].ipid;
	} else {
		if (s->flags & F_ACK) {
			ack = c->rcv[d].nxt;
			if ((s->xflags & SX_NOFINACK) && c->rcv[d].fin_rel &&
			    ack == c->rcv[d].fin_rel)
				ack--;
			ack += c->isn[p];
		}
		s->ack = ack;
		s->ipid = c->ipid[d]++;
	}
	if (s->flags & F_FIN)
		c->rcv[p].fin_rel = s->rel + s->len + 1;
	rcv_feed(&c->rcv[p], s->rel, s->rel + s->len +
		 !!(s->flags & F_SYN) + !!(s->flags & F_FIN));

	off = put_eth(f, d == C2S ? mac_server : mac_client,
		      d == C2S ? mac_client : mac_server, NULL, 0, 0x0800);
	optlen = (s->flags & F_SYN) ? sizeof(mss_opt) : 0;
	tcp = f + off + 20;
	if (s->len) {
		uint8_t *pl = tcp + 20 + optlen;

		if (c->buf[d] != NULL)
			memcpy(pl, c->buf[d] + s->rel - 1, s->len);
		else
			text_fill(c->key[d], s->rel - 1, pl, s->len);
	}
	l4 = put_tcp(tcp, c->ip[d], c->ip[p], c->port[d], c->port[p],
		     c->isn[d] + s->rel, s->ack, s->flags, mss_opt, optlen,
		     tcp + 20 + optlen, s->len);
	l3 = put_ipv4(f + off, 6, c->ip[d], c->ip[p], s->ipid, 0x4000, NULL, 0,
		      l4);
	out_frame(w, f, off + l3 + l4);
}

/* -- Expected streams (tcpflow's file names) ------------------------------ */

static int
expect_write(const char *dir, struct conn *c)
{
	static uint8_t chunk[65536];
	char path[PATH_MAX];
	int d;

	for (d = 0; d < 2; d++) {
		uint32_t sip = c->ip[d], dip = c->ip[!d], done = 0;
		FILE *f;

		if (c->sent[d] == 0)
			continue;
		snprintf(path, sizeof(path),
			 "%s/%03u.%03u.%03u.%03u.%05u-%03u.%03u.%03u.%03u.%05u",
			 dir, sip >> 24, (sip >> 16) & 255, (sip >> 8) & 255,
			 sip & 255, c->port[d], dip >> 24, (dip >> 16) & 255,
			 (dip >> 8) & 255, dip & 255, c->port[!d]);
		f = fopen(path, "wb");
		if (f == NULL) {
			fprintf(stderr, "mkpcap: cannot write '%s': %s\n",
				path, strerror(errno));
			return -1;
		}
		while (done < c->sent[d]) {
			uint32_t n = c->sent[d] - done;

			if (n > sizeof(chunk))
				n = sizeof(chunk);
			if (c->buf[d] != NULL)
				memcpy(chunk, c->buf[d] + done, n);
			else
				text_fill(c->key[d], done, chunk, n);
			fwrite(chunk, 1, n, f);
			done += n;
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "mkpcap: error writing '%s'\n", path);
			return -1;
		}
	}
	return 0;
}

/* -- Connection subcommands ------------------------------------------------ */

struct gen {
	const struct opts *o;
	uint16_t *client_ports;	/* http: next port per client address */
	uint64_t occ[2];	/* pattern: occurrences per direction */
	uint64_t occ_split;
	uint8_t filler[96];	/* pattern: characters not in the pattern */
	uint32_t nfiller;
};

static const uint16_t server_ports[] = { 80, 80, 80, 443, 8080, 25, 8000 };
static const uint16_t http_ports[] = { 80, 80, 80, 8080, 3128, 8088 };

/* A client address and port unique to the connection: the port walks
 * through 64000 values, and each block of 64000 connections takes other
 * addresses (up to 4.096 million connections). */
static void
client_addr(struct conn *c, uint64_t seed)
{
	uint32_t block = (uint32_t)(c->idx / 64000 % 64);

	c->ip[C2S] = 0x0a010000u | (block * 4 + rng_below(&c->rng, 4)) << 8 |
		     (1 + rng_below(&c->rng, 250));
	c->port[C2S] = (uint16_t)(1024 + (c->idx * 7919 + seed) % 64000);
}

/* --wrap: an ISN that puts 2^32 inside the stream (or right after SYN). */
static uint32_t
wrap_isn(struct rng *r, uint32_t sent)
{
	return (uint32_t)(0xffffffffu - rng_below(r, sent + 1));
}

static void
make_flows(struct gen *g, struct conn *c)
{
	const struct opts *o = g->o;
	uint32_t rounds, r, cut;
	int d;

	client_addr(c, o->seed);
	c->ip[S2C] = 0x0a020000u | (1 + rng_below(&c->rng, 4));
	c->port[S2C] = server_ports[rng_below(&c->rng, 7)];
	if (c->port[S2C] == 8000)
		c->port[S2C] = (uint16_t)rng_range(&c->rng, 1, 1023);

	plan_handshake(c);
	rounds = rng_range(&c->rng, 1, 4);
	for (r = 0; r < rounds; r++) {
		plan_msg(c, C2S, rng_range(&c->rng, o->data_min, o->data_max),
			 o->seg_min, o->seg_max, 2, (int)rng_below(&c->rng, 2));
		plan_msg(c, S2C, rng_range(&c->rng, o->data_min, o->data_max),
			 o->seg_min, o->seg_max, 2,
			 r + 1 < rounds ? 1 : (int)rng_below(&c->rng, 2));
	}
	if (rng_chance(&c->rng, o->rst)) {
		cut = rng_range(&c->rng, 1, c->plan.n);
		plan_reset(c, cut);
	} else {
		plan_close(c, (enum close_kind)rng_below(&c->rng, 3));
	}
	if (o->wrap && rng_below(&c->rng, 3) != 0)
		for (d = 0; d < 2; d++)
			c->isn[d] = wrap_isn(&c->rng, c->sent[d]);
	plan_neighbours(c);
	plan_reorder(c, o->reorder);
	conn_finish(c, o->rexmit, o->overlap);
}

static uint32_t
http_append(uint8_t *b, uint32_t at, const char *s)
{
	size_t n = strlen(s);

	memcpy(b + at, s, n);
	return at + (uint32_t)n;
}

static void
make_http(struct gen *g, struct conn *c)
{
	static const char *const paths[] = {
		"/", "/index.html", "/api/v1/items", "/static/app.js",
		"/images/logo.png", "/search?q=moonbox", "/login", "/feed.xml",
	};
	const struct opts *o = g->o;
	uint32_t client = rng_below(&c->rng, o->clients);
	uint32_t server = rng_below(&c->rng, 4);
	uint32_t reqlen, nseg, resplen, at, hlen;
	uint8_t *b;
	char line[256];

	c->ip[C2S] = 0x0a010000u | (client + 1);
	c->port[C2S] = g->client_ports[client];
	g->client_ports[client] = g->client_ports[client] == 65535 ? 1024 :
				  (uint16_t)(g->client_ports[client] + 1);
	c->ip[S2C] = 0x0a020000u | (server + 1);
	c->port[S2C] = http_ports[rng_below(&c->rng, 6)];

	/* Request: 100-300 bytes, padded with a header. */
	reqlen = rng_range(&c->rng, 100, 300);
	b = conn_buf(c, C2S, 512);
	snprintf(line, sizeof(line),
		 "GET %s HTTP/1.1\r\nHost: www%u.example.com\r\n"
		 "User-Agent: mkpcap/1\r\nX-Pad: ",
		 paths[rng_below(&c->rng, 8)], server + 1);
	at = http_append(b, 0, line);
	if (at + 4 + 1 > reqlen)
		reqlen = at + 5;
	text_fill(c->key[C2S], at, b + at, reqlen - 4 - at);
	for (hlen = at; hlen < reqlen - 4; hlen++)
		if (b[hlen] == '\n')
			b[hlen] = '-';
	http_append(b, reqlen - 4, "\r\n\r\n");

	/* Response: 1-3 segments, mostly one. */
	at = rng_below(&c->rng, 100);
	nseg = at < 65 ? 1 : at < 88 ? 2 : 3;
	resplen = (nseg - 1) * MSS + rng_range(&c->rng, 120, MSS - 8);
	b = conn_buf(c, S2C, resplen + 16);
	/* Body length from a guess at the header's, then the total follows
	 * from the header as printed. */
	at = resplen - 70;
	snprintf(line, sizeof(line),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %u\r\n\r\n", at);
	hlen = (uint32_t)strlen(line);
	resplen = hlen + at;
	at = http_append(b, 0, line);
	text_fill(c->key[S2C], at, b + at, resplen - at);

	plan_handshake(c);
	plan_msg(c, C2S, reqlen, reqlen, reqlen, 0, rng_below(&c->rng, 10) < 3);
	plan_msg(c, S2C, resplen, MSS, MSS, 2, 1);
	plan_close(c, rng_below(&c->rng, 4) == 0 ? CL_SERVER : CL_CLIENT);
	conn_finish(c, 0, 0);
}

static void
make_bulk(struct gen *g, struct conn *c)
{
	const struct opts *o = g->o;
	int up = c->idx & 1;

	c->ip[C2S] = 0x0a010000u | (uint32_t)(1 + c->idx % 250);
	c->port[C2S] = (uint16_t)(1024 + (c->idx * 7919 + o->seed) % 64000);
	c->ip[S2C] = 0x0a020000u | 1;
	c->port[S2C] = 5001;
	plan_handshake(c);
	/* Even connections download, odd ones upload. */
	plan_msg(c, up ? S2C : C2S, rng_range(&c->rng, 60, 200), MSS, MSS, 0,
		 0);
	plan_msg(c, up ? C2S : S2C, (uint32_t)o->bytes, MSS, MSS, 2, 1);
	plan_close(c, up ? CL_CLIENT : CL_SERVER);
	conn_finish(c, 0, 0);
}

static void
make_open(struct gen *g, struct conn *c)
{
	const struct opts *o = g->o;

	c->ip[C2S] = 0x0a010000u | (uint32_t)(c->idx & 0xffff);
	c->port[C2S] = (uint16_t)(1024 + (c->idx >> 16));
	c->ip[S2C] = 0x0a020000u | (uint32_t)(1 + (c->idx % 4));
	c->port[S2C] = 80;
	plan_handshake(c);
	plan_msg(c, C2S, rng_range(&c->rng, o->data_min, o->data_max), MSS,
		 MSS, 2, 1);
	conn_finish(c, 0, 0);
}

/* Filler text without any of the pattern's characters, so the pattern
 * occurs exactly where it is placed. */
static void
pattern_fill(struct gen *g, uint64_t key, uint8_t *b, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint64_t h = (key + i) * 0x9e3779b97f4a7c15ULL;

		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
		b[i] = g->filler[(h >> 32) % g->nfiller];
	}
}

static void
pattern_place(struct gen *g, struct conn *c, int d)
{
	const char *pat = g->o->pattern;
	uint32_t L = (uint32_t)strlen(pat), i, j, floor = 0;
	uint8_t *b = c->buf[d];

	for (i = 0; i < c->plan.n; i++) {
		struct seg *s = &c->plan.v[i], *nx = NULL;
		uint32_t st = s->rel - 1, en = st + s->len, lo, pos;

		if (s->dir != d || s->len == 0 ||
		    rng_below(&c->rng, g->o->every) != 0)
			continue;
		for (j = i + 1; j < c->plan.n; j++) {
			if (c->plan.v[j].dir == d && c->plan.v[j].len) {
				nx = &c->plan.v[j];
				break;
			}
		}
		lo = st > floor ? st : floor;
		if (lo >= en)
			continue;
		if (g->o->split && nx != NULL && rng_below(&c->rng, 2)) {
			/* k bytes in this segment, the rest in the next. */
			uint32_t kmin = 1, kmax = L - 1;

			if (L - kmin > nx->len)
				kmin = L - nx->len;
			if (kmax > en - lo)
				kmax = en - lo;
			if (L >= 2 && kmin <= kmax) {
				pos = en - rng_range(&c->rng, kmin, kmax);
				memcpy(b + pos, pat, L);
				floor = pos + L + 1;
				g->occ[d]++;
				g->occ_split++;
				continue;
			}
		}
		if (en >= L && en - L >= lo) {
			pos = rng_range(&c->rng, lo, en - L);
			memcpy(b + pos, pat, L);
			floor = pos + L + 1;
			g->occ[d]++;
		}
	}
}

static void
make_pattern(struct gen *g, struct conn *c)
{
	const struct opts *o = g->o;
	uint32_t rounds, r, L = (uint32_t)strlen(o->pattern);
	uint32_t smin = o->seg_min, smax = o->seg_max;
	int d;

	if (smin < L + 2)
		smin = L + 2 < MSS ? L + 2 : MSS;
	if (smax < smin)
		smax = smin;
	client_addr(c, o->seed);
	c->ip[S2C] = 0x0a020000u | (1 + rng_below(&c->rng, 4));
	c->port[S2C] = server_ports[rng_below(&c->rng, 6)];
	plan_handshake(c);
	rounds = rng_range(&c->rng, 1, 4);
	for (r = 0; r < rounds; r++) {
		plan_msg(c, C2S, rng_range(&c->rng, o->data_min, o->data_max),
			 smin, smax, 2, 1);
		plan_msg(c, S2C, rng_range(&c->rng, o->data_min, o->data_max),
			 smin, smax, 2, 1);
	}
	plan_close(c, (enum close_kind)rng_below(&c->rng, 3));
	for (d = 0; d < 2; d++) {
		conn_buf(c, d, c->sent[d] + 1);
		pattern_fill(g, c->key[d], c->buf[d], c->sent[d]);
		pattern_place(g, c, d);
	}
	conn_finish(c, 0, 0);
}

static int
run_conns(const struct opts *o)
{
	void (*make)(struct gen *, struct conn *);
	struct gen g = { .o = o };
	struct conn *pool, **act;
	uint64_t started = 0;
	uint32_t nact = 0, i, conc;
	struct rng sched;
	struct out w;
	int ret = 0;

	switch (o->mode) {
	case M_FLOWS:
		make = make_flows;
		break;
	case M_HTTP:
		make = make_http;
		g.client_ports = xrealloc(NULL, o->clients * sizeof(uint16_t));
		for (i = 0; i < o->clients; i++)
			g.client_ports[i] = (uint16_t)(1024 +
				mix64(o->seed + i) % 30000);
		break;
	case M_BULK:
		make = make_bulk;
		break;
	case M_OPEN:
		make = make_open;
		break;
	default:
		make = make_pattern;
		for (i = 32; i < 127; i++)
			if (strchr(o->pattern, (int)i) == NULL)
				g.filler[g.nfiller++] = (uint8_t)i;
		if (g.nfiller < 2) {
			fprintf(stderr, "mkpcap: --pattern uses too many "
				"characters to leave filler text\n");
			return 2;
		}
		break;
	}
	if (o->expect != NULL && mkdir(o->expect, 0755) != 0 &&
	    errno != EEXIST) {
		fprintf(stderr, "mkpcap: cannot create '%s': %s\n", o->expect,
			strerror(errno));
		return 1;
	}
	if (out_open(&w, o->out) < 0)
		return 1;

	conc = o->conc < o->conns ? o->conc : (uint32_t)o->conns;
	pool = calloc(conc, sizeof(*pool));
	act = calloc(conc, sizeof(*act));
	if (pool == NULL || act == NULL) {
		fprintf(stderr, "mkpcap: out of memory\n");
		free(pool);
		free(act);
		return 1;
	}
	rng_seed(&sched, o->seed, 0);
	for (i = 0; i < conc; i++) {
		conn_reset(&pool[i], started++, o->seed);
		make(&g, &pool[i]);
		if (o->expect != NULL && expect_write(o->expect, &pool[i]) < 0)
			ret = 1;
		act[nact++] = &pool[i];
	}
	/* Every packet comes from a connection picked at random among those
	 * in flight, so connections overlap in time. */
	while (nact > 0 && ret == 0) {
		uint32_t k = rng_below(&sched, nact);
		struct conn *c = act[k];

		conn_send(c, &w);
		if (c->next < c->out.n)
			continue;
		if (started < o->conns) {
			conn_reset(c, started++, o->seed);
			make(&g, c);
			if (o->expect != NULL &&
			    expect_write(o->expect, c) < 0)
				ret = 1;
		} else {
			act[k] = act[--nact];
		}
	}
	/* Lookups of a full table: every connection is still in pool[]. */
	for (uint64_t n = 0; ret == 0 && n < (uint64_t)o->acks * conc; n++) {
		struct conn *c = &pool[rng_below(&sched, conc)];

		plan_add(&c->out, S2C, F_ACK, 1 + c->sent[S2C], 0);
		conn_send(c, &w);
	}
	if (out_close(&w) < 0)
		ret = 1;
	if (ret == 0)
		fprintf(stderr, "mkpcap: %s: %" PRIu64 " frames, %" PRIu64
			" bytes, %" PRIu64 " connections -> %s\n",
			mode_names[o->mode], w.frames, w.bytes, o->conns,
			o->out);
	if (o->mode == M_PATTERN && ret == 0) {
		printf("occurrences_c2s %" PRIu64 "\n", g.occ[C2S]);
		printf("occurrences_s2c %" PRIu64 "\n", g.occ[S2C]);
		printf("occurrences_split %" PRIu64 "\n", g.occ_split);
		printf("occurrences %" PRIu64 "\n", g.occ[C2S] + g.occ[S2C]);
	}
	for (i = 0; i < conc; i++) {
		free(pool[i].plan.v);
		free(pool[i].tail.v);
		free(pool[i].out.v);
		free(pool[i].bufmem[0]);
		free(pool[i].bufmem[1]);
	}
	free(pool);
	free(act);
	free(g.client_ports);
	return ret;
}

/* -- Hostile catalogue --------------------------------------------------- */

/* The classes of engine/parse.c, decided the same way. */
enum hclass {
	HC_NON_IP, HC_IPV4, HC_FRAG, HC_TCP,
	HC_ETH_TRUNC, HC_VLAN_TRUNC, HC_IP_TRUNC, HC_IP_VERSION, HC_IP_IHL,
	HC_IP_LEN, HC_TCP_TRUNC, HC_TCP_DOFF,
	HC__COUNT
};

#define HC_FIRST_MALFORMED HC_ETH_TRUNC

static enum hclass
hclass_of(const uint8_t *f, uint32_t len)
{
	uint32_t off = 14, vlans = 0, ihl, tot, doff;
	uint16_t et;
	const uint8_t *ip;

	if (len < 14)
		return HC_ETH_TRUNC;
	et = rd16(f + 12);
	while (et == 0x8100 || et == 0x88a8) {
		if (vlans == 2)
			return HC_NON_IP;
		if (len - off < 4)
			return HC_VLAN_TRUNC;
		et = rd16(f + off + 2);
		off += 4;
		vlans++;
	}
	if (et != 0x0800)
		return HC_NON_IP;
	ip = f + off;
	if (len - off < 20)
		return HC_IP_TRUNC;
	if (ip[0] >> 4 != 4)
		return HC_IP_VERSION;
	ihl = (ip[0] & 15u) * 4;
	if (ihl < 20 || ihl > len - off)
		return HC_IP_IHL;
	tot = rd16(ip + 2);
	if (tot < ihl || tot > len - off)
		return HC_IP_LEN;
	if (rd16(ip + 6) & 0x3fff)
		return HC_FRAG;
	if (ip[9] != 6)
		return HC_IPV4;
	if (tot - ihl < 20)
		return HC_TCP_TRUNC;
	doff = (uint32_t)(ip[ihl + 12] >> 4) * 4;
	if (doff < 20 || doff > tot - ihl)
		return HC_TCP_DOFF;
	return HC_TCP;
}

struct hostile {
	struct out w;
	uint64_t count[HC__COUNT];
	int valid_only;
	struct rng rng;
	uint8_t f[FRAME_MAX];
	uint32_t len;
	struct gen g;
	struct opts go;
	struct conn bg[3];	/* valid connections the frames are mixed in */
	uint32_t nbg;
	uint64_t bg_started;
};

/* Write the frame in h->f, after checking that parse.c will put it in
 * the class it was made for. */
static int
h_emit(struct hostile *h, enum hclass want, const char *what)
{
	enum hclass got = hclass_of(h->f, h->len);

	if (got != want) {
		fprintf(stderr, "mkpcap: internal error: hostile frame '%s' "
			"classifies as %d, not %d\n", what, got, want);
		return -1;
	}
	if (h->valid_only && got >= HC_FIRST_MALFORMED)
		return 0;
	out_frame(&h->w, h->f, h->len);
	h->count[got]++;
	return 0;
}

/* One packet of the valid background connections, between catalogue
 * frames. */
static void
h_background(struct hostile *h)
{
	uint32_t k;
	struct conn *c;

	if (h->nbg == 0)
		return;
	k = rng_below(&h->rng, h->nbg);
	c = &h->bg[k];
	conn_send(c, &h->w);
	h->count[HC_TCP]++;
	if (c->next < c->out.n)
		return;
	if (h->bg_started < h->go.conns) {
		conn_reset(c, h->bg_started++, h->go.seed);
		make_flows(&h->g, c);
	} else {
		/* Swap, not copy: both structs own their arrays. */
		struct conn t = h->bg[k];

		h->bg[k] = h->bg[--h->nbg];
		h->bg[h->nbg] = t;
	}
}

/*
 * A TCP/IPv4 frame in h->f: `tags` VLAN tags (QinQ outer tag when 2),
 * IP options of optlen bytes, TCP options of toptlen bytes, plen bytes of
 * payload. Returns the offset of the IP header.
 */
static uint32_t
h_tcp(struct hostile *h, int tags, uint32_t optlen, uint32_t toptlen,
      uint32_t plen, uint8_t flags)
{
	static const uint16_t tpid1[1] = { 0x8100 };
	static const uint16_t tpid2[2] = { 0x88a8, 0x8100 };
	uint8_t ipopt[40], topt[40];
	uint32_t off, l4, i;
	uint32_t sip = 0x0a030000u | rng_range(&h->rng, 1, 254);
	uint32_t dip = 0x0a040001u;
	uint8_t *tcp;

	/* Router-alert style option padded with NOPs; TCP: NOPs then EOL. */
	memset(ipopt, 1, sizeof(ipopt));
	if (optlen >= 4) {
		ipopt[0] = 0x94;
		ipopt[1] = 4;
		ipopt[2] = ipopt[3] = 0;
	}
	if (optlen)
		ipopt[optlen - 1] = 0;
	memset(topt, 1, sizeof(topt));
	if (toptlen)
		topt[toptlen - 1] = 0;
	off = put_eth(h->f, mac_server, mac_client, tags == 2 ? tpid2 : tpid1,
		      tags, 0x0800);
	tcp = h->f + off + 20 + optlen;
	for (i = 0; i < plen; i++)
		tcp[20 + toptlen + i] = (uint8_t)('a' + i % 26);
	l4 = put_tcp(tcp, sip, dip, (uint16_t)rng_range(&h->rng, 1024, 65535),
		     80, (uint32_t)rng_next(&h->rng),
		     (uint32_t)rng_next(&h->rng), flags, topt, toptlen,
		     tcp + 20 + toptlen, plen);
	put_ipv4(h->f + off, 6, sip, dip, (uint16_t)rng_next(&h->rng), 0,
		 ipopt, optlen, l4);
	h->len = off + 20 + optlen + l4;
	return off;
}

/* Recompute the IP checksum after a header was damaged, when the
 * header is there to checksum, so only the intended fault remains. */
static void
h_fix_ip(struct hostile *h, uint32_t ipoff)
{
	uint32_t ihl = (h->f[ipoff] & 15u) * 4;

	if (ihl >= 20 && ipoff + ihl <= h->len)
		ip_checksum(h->f + ipoff, ihl);
}

static void
h_fix_tcp(struct hostile *h, uint32_t ipoff)
{
	uint8_t *ip = h->f + ipoff;
	uint32_t ihl = (ip[0] & 15u) * 4, tot = rd16(ip + 2);

	if (tot >= ihl + 20 && ipoff + tot <= h->len)
		l4_checksum(ip + ihl, tot - ihl, 6, (uint32_t)rd16(ip + 12) << 16 |
			    rd16(ip + 14), (uint32_t)rd16(ip + 16) << 16 |
			    rd16(ip + 18), 16);
}

static int
h_malformed(struct hostile *h)
{
	uint32_t ip, i;
	int rc = 0;

	/* Shorter than an Ethernet header. */
	for (i = 1; i <= 13; i += 6) {
		h_tcp(h, 0, 0, 0, 0, F_ACK);
		h->len = i;
		rc |= h_emit(h, HC_ETH_TRUNC, "eth_truncated");
		h_background(h);
	}
	/* VLAN tag cut off: bare TPID, half a tag, QinQ inner tag cut. */
	h_tcp(h, 1, 0, 0, 0, F_ACK);
	h->len = 14;
	rc |= h_emit(h, HC_VLAN_TRUNC, "vlan_truncated 14");
	h_background(h);
	h_tcp(h, 1, 0, 0, 0, F_ACK);
	h->len = 16;
	rc |= h_emit(h, HC_VLAN_TRUNC, "vlan_truncated 16");
	h_tcp(h, 2, 0, 0, 0, F_ACK);
	h->len = 20;
	rc |= h_emit(h, HC_VLAN_TRUNC, "vlan_truncated qinq");
	h_background(h);

	/* IPv4 ethertype with less than 20 bytes left. */
	h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->len = 14;
	rc |= h_emit(h, HC_IP_TRUNC, "ip_truncated 0");
	h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->len = 33;
	rc |= h_emit(h, HC_IP_TRUNC, "ip_truncated 19");
	h_background(h);
	h_tcp(h, 1, 0, 0, 0, F_ACK);
	h->len = 18 + 10;
	rc |= h_emit(h, HC_IP_TRUNC, "ip_truncated vlan");
	h_background(h);

	/* Version 6 (and 0) inside ethertype 0x0800. */
	for (i = 0; i < 3; i++) {
		ip = h_tcp(h, 0, 0, 0, 10 * i, F_ACK | F_PSH);
		h->f[ip] = (uint8_t)((i == 2 ? 0x00 : 0x60) | 5);
		h_fix_ip(h, ip);
		rc |= h_emit(h, HC_IP_VERSION, "ip_version");
		h_background(h);
	}

	/* IHL below 5, and IHL*4 beyond the frame. */
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->f[ip] = 0x40;
	rc |= h_emit(h, HC_IP_IHL, "ip_ihl 0");
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->f[ip] = 0x44;
	rc |= h_emit(h, HC_IP_IHL, "ip_ihl 4");
	h_background(h);
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->len = ip + 40;
	h->f[ip] = 0x4f;
	rc |= h_emit(h, HC_IP_IHL, "ip_ihl beyond");
	h_background(h);

	/* Total length below the header, and beyond the frame. */
	ip = h_tcp(h, 0, 0, 0, 20, F_ACK | F_PSH);
	wr16(h->f + ip + 2, 12);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_IP_LEN, "ip_len short");
	ip = h_tcp(h, 0, 4, 0, 0, F_ACK);
	wr16(h->f + ip + 2, 22);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_IP_LEN, "ip_len below options");
	h_background(h);
	ip = h_tcp(h, 0, 0, 0, 30, F_ACK | F_PSH);
	wr16(h->f + ip + 2, (uint16_t)(h->len - ip + 1));
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_IP_LEN, "ip_len +1");
	ip = h_tcp(h, 0, 0, 0, 30, F_ACK | F_PSH);
	wr16(h->f + ip + 2, 1500);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_IP_LEN, "ip_len 1500");
	h_background(h);

	/* Less than 20 bytes of TCP header: by the IP length (the frame
	 * may hold more) or by the frame itself. */
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	wr16(h->f + ip + 2, 30);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_TCP_TRUNC, "tcp_truncated len");
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	wr16(h->f + ip + 2, 20);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_TCP_TRUNC, "tcp_truncated none");
	h_background(h);
	ip = h_tcp(h, 1, 8, 0, 0, F_ACK);
	h->len = ip + 28 + 8;
	wr16(h->f + ip + 2, 28 + 8);
	h_fix_ip(h, ip);
	rc |= h_emit(h, HC_TCP_TRUNC, "tcp_truncated frame");
	h_background(h);

	/* Data offset below 5, or beyond the IP payload. */
	ip = h_tcp(h, 0, 0, 0, 10, F_ACK | F_PSH);
	h->f[ip + 20 + 12] = 0x00;
	h_fix_tcp(h, ip);
	rc |= h_emit(h, HC_TCP_DOFF, "tcp_doff 0");
	ip = h_tcp(h, 0, 0, 0, 10, F_ACK | F_PSH);
	h->f[ip + 20 + 12] = 0x40;
	h_fix_tcp(h, ip);
	rc |= h_emit(h, HC_TCP_DOFF, "tcp_doff 4");
	h_background(h);
	ip = h_tcp(h, 0, 0, 0, 0, F_ACK);
	h->f[ip + 20 + 12] = 0xf0;
	h_fix_tcp(h, ip);
	rc |= h_emit(h, HC_TCP_DOFF, "tcp_doff 15");
	ip = h_tcp(h, 0, 0, 4, 0, F_ACK);
	h->f[ip + 20 + 12] = 0x70;
	h_fix_tcp(h, ip);
	rc |= h_emit(h, HC_TCP_DOFF, "tcp_doff 7 of 6");
	h_background(h);
	return rc;
}

static int
h_valid(struct hostile *h)
{
	static const uint16_t tpid3[3] = { 0x88a8, 0x8100, 0x8100 };
	static const uint16_t tpid1[1] = { 0x8100 };
	uint8_t dgram[400], *p;
	uint32_t off, ip, i, sip = 0x0a030001u, dip = 0x0a040001u;
	int rc = 0;

	/* ARP request, plain and VLAN-tagged, padded to 60 bytes. */
	for (i = 0; i < 2; i++) {
		static const uint8_t bcast[6] = { 255, 255, 255, 255, 255, 255 };

		memset(h->f, 0, 64);
		off = put_eth(h->f, bcast, mac_client, tpid1, (int)i, 0x0806);
		p = h->f + off;
		wr16(p, 1);
		wr16(p + 2, 0x0800);
		p[4] = 6;
		p[5] = 4;
		wr16(p + 6, 1);
		memcpy(p + 8, mac_client, 6);
		wr32(p + 14, sip);
		wr32(p + 24, dip);
		h->len = 60 + 4 * i;
		rc |= h_emit(h, HC_NON_IP, "arp");
		h_background(h);
	}

	/* IPv6 + TCP SYN. */
	off = put_eth(h->f, mac_server, mac_client, NULL, 0, 0x86dd);
	p = h->f + off;
	memset(p, 0, 40 + 20);
	p[0] = 0x60;
	wr16(p + 4, 20);
	p[6] = 6;
	p[7] = 64;
	p[8] = 0xfd;
	p[23] = 1;
	p[24] = 0xfd;
	p[39] = 2;
	wr16(p + 40, 40000);
	wr16(p + 42, 80);
	wr32(p + 44, 12345);
	p[52] = 0x50;
	p[53] = F_SYN;
	wr16(p + 54, 64240);
	{
		/* IPv6 pseudo-header: addresses, length, next header. */
		uint64_t sum = csum_add(0, p + 8, 32);

		sum += 20 + 6;
		sum = csum_add(sum, p + 40, 20);
		wr16(p + 56, csum_fold(sum));
	}
	h->len = off + 60;
	rc |= h_emit(h, HC_NON_IP, "ipv6");
	h_background(h);

	/* Three VLAN tags: more than parse.c looks through. */
	h_tcp(h, 0, 0, 0, 0, F_ACK);
	memmove(h->f + 12 + 12, h->f + 12, h->len - 12);
	put_eth(h->f, mac_server, mac_client, tpid3, 3, 0x0800);
	h->len += 12;
	rc |= h_emit(h, HC_NON_IP, "three tags");
	h_background(h);

	/* UDP (DNS-like query) and ICMP echo. */
	for (i = 0; i < 2; i++) {
		off = put_eth(h->f, mac_server, mac_client, tpid1, (int)i,
			      0x0800);
		p = h->f + off + 20;
		wr16(p, (uint16_t)(33000 + i));
		wr16(p + 2, 53);
		wr16(p + 4, 8 + 29);
		memcpy(p + 8, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"
		       "\x00\x07" "example" "\x03" "com" "\x00\x00\x01\x00\x01",
		       29);
		l4_checksum(p, 8 + 29, 17, sip, dip, 6);
		put_ipv4(h->f + off, 17, sip, dip, (uint16_t)(7 + i), 0, NULL,
			 0, 8 + 29);
		h->len = off + 20 + 8 + 29;
		rc |= h_emit(h, HC_IPV4, "udp");
		h_background(h);
	}
	for (i = 0; i < 2; i++) {
		off = put_eth(h->f, mac_server, mac_client, NULL, 0, 0x0800);
		p = h->f + off + 20;
		p[0] = 8;
		p[1] = 0;
		wr16(p + 2, 0);
		wr16(p + 4, 0x4242);
		wr16(p + 6, (uint16_t)i);
		memset(p + 8, 'x', 32);
		wr16(p + 2, csum_fold(csum_add(0, p, 40)));
		put_ipv4(h->f + off, 1, sip, dip, (uint16_t)(20 + i), 0x4000,
			 NULL, 0, 40);
		h->len = off + 60;
		rc |= h_emit(h, HC_IPV4, "icmp");
		h_background(h);
	}

	/* 802.1Q and QinQ TCP, TCP with IP options, with TCP options. */
	h_tcp(h, 1, 0, 0, 40, F_ACK | F_PSH);
	rc |= h_emit(h, HC_TCP, "vlan tcp");
	h_tcp(h, 1, 0, 0, 0, F_SYN);
	rc |= h_emit(h, HC_TCP, "vlan tcp syn");
	h_background(h);
	h_tcp(h, 2, 0, 0, 25, F_ACK | F_PSH);
	rc |= h_emit(h, HC_TCP, "qinq tcp");
	h_background(h);
	h_tcp(h, 0, 4, 0, 33, F_ACK | F_PSH);
	rc |= h_emit(h, HC_TCP, "ip options");
	h_tcp(h, 0, 40, 40, 0, F_ACK);
	rc |= h_emit(h, HC_TCP, "max options");
	h_background(h);

	/* Ethernet padding: a 54-byte pure ACK padded to 60 bytes. */
	for (i = 0; i < 2; i++) {
		h_tcp(h, (int)i, 0, 0, 0, F_ACK);
		memset(h->f + h->len, 0, 60 + 4 * i - h->len);
		h->len = 60 + 4 * i;
		rc |= h_emit(h, HC_TCP, "padded");
		h_background(h);
	}
	/* Padding after a short data segment, non-zero pad bytes. */
	h_tcp(h, 0, 0, 0, 2, F_ACK | F_PSH);
	memset(h->f + h->len, 0xee, 60 - h->len);
	h->len = 60;
	rc |= h_emit(h, HC_TCP, "padded data");
	h_background(h);

	/* A TCP datagram of 20 + 300 bytes in three fragments (first, middle,
	 * last), then a first fragment too short for a TCP header and a
	 * UDP fragment: all fragments, whatever they carry. */
	for (i = 0; i < 300; i++)
		dgram[20 + i] = (uint8_t)('A' + i % 26);
	wr16(dgram, 41000);
	wr16(dgram + 2, 80);
	wr32(dgram + 4, 5000);
	wr32(dgram + 8, 6000);
	dgram[12] = 0x50;
	dgram[13] = F_ACK | F_PSH;
	wr16(dgram + 14, 64240);
	wr16(dgram + 18, 0);
	l4_checksum(dgram, 320, 6, sip, dip, 16);
	for (i = 0; i < 3; i++) {
		uint32_t fo = i * 112, n = i < 2 ? 112 : 320 - 224;

		off = put_eth(h->f, mac_server, mac_client, NULL, 0, 0x0800);
		memcpy(h->f + off + 20, dgram + fo, n);
		ip = off;
		put_ipv4(h->f + ip, 6, sip, dip, 0x5151,
			 (uint16_t)((i < 2 ? 0x2000 : 0) | fo / 8), NULL, 0, n);
		h->len = off + 20 + n;
		rc |= h_emit(h, HC_FRAG, "fragment");
		h_background(h);
	}
	off = put_eth(h->f, mac_server, mac_client, NULL, 0, 0x0800);
	memcpy(h->f + off + 20, dgram, 8);
	put_ipv4(h->f + off, 6, sip, dip, 0x5252, 0x2000, NULL, 0, 8);
	h->len = off + 28;
	memset(h->f + h->len, 0, 60 - h->len);
	h->len = 60;
	rc |= h_emit(h, HC_FRAG, "tiny first fragment");
	off = put_eth(h->f, mac_server, mac_client, tpid1, 1, 0x0800);
	memset(h->f + off + 20, 'u', 64);
	put_ipv4(h->f + off, 17, sip, dip, 0x5353, 100, NULL, 0, 64);
	h->len = off + 20 + 64;
	rc |= h_emit(h, HC_FRAG, "udp later fragment");
	h_background(h);
	return rc;
}

static int
run_hostile(const struct opts *o)
{
	static const char *const keys[HC__COUNT] = {
		[HC_ETH_TRUNC] = "malformed_eth_truncated",
		[HC_VLAN_TRUNC] = "malformed_vlan_truncated",
		[HC_IP_TRUNC] = "malformed_ip_truncated",
		[HC_IP_VERSION] = "malformed_ip_version",
		[HC_IP_IHL] = "malformed_ip_ihl",
		[HC_IP_LEN] = "malformed_ip_len",
		[HC_TCP_TRUNC] = "malformed_tcp_truncated",
		[HC_TCP_DOFF] = "malformed_tcp_doff",
	};
	struct hostile *h = calloc(1, sizeof(*h));
	uint64_t malformed = 0;
	int rc = 0, i;

	if (h == NULL)
		return 1;
	h->valid_only = o->valid_only;
	rng_seed(&h->rng, o->seed, 0);
	/* Background: a few valid connections, made exactly as by flows. */
	opts_defaults(&h->go);
	h->go.mode = M_FLOWS;
	h->go.seed = o->seed;
	h->go.conns = 4;
	h->go.data_min = 50;
	h->go.data_max = 600;
	h->go.seg_min = 50;
	h->go.seg_max = 400;
	h->g.o = &h->go;
	if (out_open(&h->w, o->out) < 0) {
		free(h);
		return 1;
	}
	for (h->nbg = 0; h->nbg < 3; h->nbg++) {
		conn_reset(&h->bg[h->nbg], h->bg_started++, o->seed);
		make_flows(&h->g, &h->bg[h->nbg]);
	}
	/* Let the handshakes begin before the first hostile frame. */
	for (i = 0; i < 4; i++)
		h_background(h);
	rc |= h_malformed(h);
	rc |= h_valid(h);
	rc |= h_malformed(h);
	while (h->nbg > 0)
		h_background(h);
	if (out_close(&h->w) < 0)
		rc = -1;

	for (i = HC_FIRST_MALFORMED; i < HC__COUNT; i++)
		malformed += h->count[i];
	if (rc == 0 && o->manifest != NULL) {
		FILE *f = fopen(o->manifest, "w");

		if (f == NULL) {
			fprintf(stderr, "mkpcap: cannot write '%s': %s\n",
				o->manifest, strerror(errno));
			rc = -1;
		} else {
			fprintf(f, "frames %" PRIu64 "\n", h->w.frames);
			fprintf(f, "malformed %" PRIu64 "\n", malformed);
			for (i = HC_FIRST_MALFORMED; i < HC__COUNT; i++)
				fprintf(f, "%s %" PRIu64 "\n", keys[i],
					h->count[i]);
			fprintf(f, "non_ip %" PRIu64 "\n", h->count[HC_NON_IP]);
			fprintf(f, "ip_fragments %" PRIu64 "\n",
				h->count[HC_FRAG]);
			fprintf(f, "tcp_packets %" PRIu64 "\n",
				h->count[HC_TCP]);
			fprintf(f, "non_tcp %" PRIu64 "\n",
				h->count[HC_NON_IP] + h->count[HC_IPV4] +
				h->count[HC_FRAG]);
			if (fclose(f) != 0)
				rc = -1;
		}
	}
	if (rc == 0)
		fprintf(stderr, "mkpcap: hostile: %" PRIu64 " frames (%" PRIu64
			" malformed), %" PRIu64 " bytes -> %s\n", h->w.frames,
			malformed, h->w.bytes, o->out);
	for (i = 0; i < 3; i++) {
		free(h->bg[i].plan.v);
		free(h->bg[i].tail.v);
		free(h->bg[i].out.v);
	}
	free(h);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int rc;

	rc = opts_parse(&o, argc, argv);
	if (rc > 0)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "Try 'mkpcap --help' for more information.\n");
		return 2;
	}
	if (o.mode == M_HOSTILE)
		return run_hostile(&o);
	return run_conns(&o);
}
