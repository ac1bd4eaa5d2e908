/*
 * test_api.h - shared by the tests of the public mOS API (test_api_*.c),
 * which are real mOS-style programs: a pcap writer that builds the
 * Ethernet/IPv4/TCP connections each test needs frame by frame (with exact
 * timestamps, so timers and idle times are deterministic), and a recorder
 * for the checks callbacks make on a core's thread, where cmocka's
 * assertions cannot be used; the main thread asserts the records after
 * mtcp_app_join().
 */
#ifndef MB_TEST_API_H
#define MB_TEST_API_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

/* -- Capture writer ------------------------------------------------------ */

/* First frame's time: small enough that mtcp_cb_get_ts() (microseconds in
 * 32 bits) does not wrap during a test. */
#define TCAP_START_SEC	1000u

#define TH_FIN_	0x01
#define TH_SYN_	0x02
#define TH_RST_	0x04
#define TH_PSH_	0x08
#define TH_ACK_	0x10

enum { TC2S = 0, TS2C = 1 };

struct tcap {
	FILE *f;
	uint64_t ms;		/* time of the next frame, ms from the start */
	unsigned frames;
};

struct tconn {
	struct tcap *cap;
	uint32_t ip[2];		/* client, server; host order */
	uint16_t port[2];
	uint32_t isn[2];
	uint32_t nxt[2];	/* next sequence number each side sends */
	unsigned frames;	/* frames of this connection written */
};

static inline void
tcap_put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

/* Open a microsecond pcap file (native byte order); 0 or -1. */
static inline int
tcap_open(struct tcap *c, const char *path)
{
	c->f = fopen(path, "wb");
	c->ms = 0;
	c->frames = 0;
	if (c->f == NULL)
		return -1;
	tcap_put32(c->f, 0xa1b2c3d4u);
	fwrite("\x02\x00\x04\x00", 4, 1, c->f);	/* version 2.4 */
	tcap_put32(c->f, 0);
	tcap_put32(c->f, 0);
	tcap_put32(c->f, 65535);
	tcap_put32(c->f, 1);			/* Ethernet */
	return 0;
}

static inline int
tcap_close(struct tcap *c)
{
	return fclose(c->f) == 0 ? 0 : -1;
}

/* Frames written from now on are `ms` later. */
static inline void
tcap_wait(struct tcap *c, uint64_t ms)
{
	c->ms += ms;
}

static inline uint16_t
tcap_sum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Write one TCP frame from ip[from]:port[from] to the other end; each frame
 * takes 1 ms. */
static inline void
tcap_tcp(struct tcap *c, const uint32_t ip[2], const uint16_t port[2],
	 int from, uint8_t flags, uint32_t seq, uint32_t ack,
	 const void *payload, uint16_t len)
{
	uint8_t fr[14 + 20 + 20 + 1500], ph[12];
	uint8_t *iph = fr + 14, *th = fr + 34;
	uint16_t tot = (uint16_t)(40 + len), ck;
	uint32_t sa = htonl(ip[from]), da = htonl(ip[from ^ 1]), v;
	uint64_t us = ((uint64_t)TCAP_START_SEC * 1000 + c->ms) * 1000;

	memset(fr, 0, 54);
	/* MACs 02:00:00:00:00:01 (client) and :02 (server) */
	fr[0] = fr[6] = 0x02;
	fr[5] = (uint8_t)(from == TC2S ? 2 : 1);
	fr[11] = (uint8_t)(from == TC2S ? 1 : 2);
	fr[12] = 0x08;
	iph[0] = 0x45;
	iph[2] = (uint8_t)(tot >> 8);
	iph[3] = (uint8_t)tot;
	iph[6] = 0x40;
	iph[8] = 64;
	iph[9] = 6;
	memcpy(iph + 12, &sa, 4);
	memcpy(iph + 16, &da, 4);
	ck = tcap_sum(0, iph, 20);
	iph[10] = (uint8_t)(ck >> 8);
	iph[11] = (uint8_t)ck;
	th[0] = (uint8_t)(port[from] >> 8);
	th[1] = (uint8_t)port[from];
	th[2] = (uint8_t)(port[from ^ 1] >> 8);
	th[3] = (uint8_t)port[from ^ 1];
	v = htonl(seq);
	memcpy(th + 4, &v, 4);
	v = htonl(ack);
	memcpy(th + 8, &v, 4);
	th[12] = 5 << 4;
	th[13] = flags;
	th[14] = 0xfa;		/* window 64000 */
	th[15] = 0x00;
	if (len > 0)
		memcpy(th + 20, payload, len);
	memcpy(ph, iph + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (uint8_t)((20 + len) >> 8);
	ph[11] = (uint8_t)(20 + len);
	{
		uint8_t tmp[12 + 20 + 1500];

		memcpy(tmp, ph, 12);
		memcpy(tmp + 12, th, 20u + len);
		ck = tcap_sum(0, tmp, 32u + len);
	}
	th[16] = (uint8_t)(ck >> 8);
	th[17] = (uint8_t)ck;
	tcap_put32(c->f, (uint32_t)(us / 1000000));
	tcap_put32(c->f, (uint32_t)(us % 1000000));
	tcap_put32(c->f, 54u + len);
	tcap_put32(c->f, 54u + len);
	fwrite(fr, 54u + len, 1, c->f);
	c->frames++;
	c->ms++;
}

/* A UDP frame 10.255.0.1:9 -> 10.255.0.2:9 with 8 zero bytes (no flow, no
 * TCP): filler that puts later frames into later receive bursts. */
static inline void
tcap_udp(struct tcap *c)
{
	static const uint8_t fr[14 + 20 + 16] = {
		0x02, 0, 0, 0, 0, 0x0a, 0x02, 0, 0, 0, 0, 0x0b, 0x08, 0x00,
		0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 17, 0, 0,
		10, 255, 0, 1, 10, 255, 0, 2,
		0, 9, 0, 9, 0, 16, 0, 0,
	};
	uint8_t f[sizeof(fr)];
	uint64_t us = ((uint64_t)TCAP_START_SEC * 1000 + c->ms) * 1000;
	uint16_t ck;

	memcpy(f, fr, sizeof(f));
	ck = tcap_sum(0, f + 14, 20);
	f[24] = (uint8_t)(ck >> 8);
	f[25] = (uint8_t)ck;
	tcap_put32(c->f, (uint32_t)(us / 1000000));
	tcap_put32(c->f, (uint32_t)(us % 1000000));
	tcap_put32(c->f, sizeof(f));
	tcap_put32(c->f, sizeof(f));
	fwrite(f, sizeof(f), 1, c->f);
	c->frames++;
	c->ms++;
}

/* A connection cli_ip:cli_port -> svr_ip:svr_port (addresses as strings). */
static inline void
tconn_init(struct tconn *k, struct tcap *cap, const char *cli, uint16_t cport,
	   const char *svr, uint16_t sport, uint32_t isn_c, uint32_t isn_s)
{
	struct in_addr a;

	memset(k, 0, sizeof(*k));
	k->cap = cap;
	inet_pton(AF_INET, cli, &a);
	k->ip[TC2S] = ntohl(a.s_addr);
	inet_pton(AF_INET, svr, &a);
	k->ip[TS2C] = ntohl(a.s_addr);
	k->port[TC2S] = cport;
	k->port[TS2C] = sport;
	k->isn[TC2S] = isn_c;
	k->isn[TS2C] = isn_s;
	k->nxt[TC2S] = isn_c;
	k->nxt[TS2C] = isn_s;
}

/* A segment from `from` at its next sequence number, acknowledging what
 * the peer sent; SYN and FIN count one. */
static inline void
tconn_seg(struct tconn *k, int from, uint8_t flags, const void *data,
	  uint16_t len)
{
	uint32_t ack = (flags & TH_ACK_) ? k->nxt[from ^ 1] : 0;

	tcap_tcp(k->cap, k->ip, k->port, from, flags, k->nxt[from], ack,
		 data, len);
	k->nxt[from] += len + ((flags & (TH_SYN_ | TH_FIN_)) ? 1 : 0);
	k->frames++;
}

/* A segment at stream offset `off` of `from` (0 = first byte after the
 * SYN) that does not move the next sequence number: retransmissions. */
static inline void
tconn_seg_at(struct tconn *k, int from, uint32_t off, const void *data,
	     uint16_t len)
{
	tcap_tcp(k->cap, k->ip, k->port, from, TH_ACK_ | TH_PSH_,
		 k->isn[from] + 1 + off, k->nxt[from ^ 1], data, len);
	k->frames++;
}

static inline void
tconn_handshake(struct tconn *k)
{
	tconn_seg(k, TC2S, TH_SYN_, NULL, 0);
	tconn_seg(k, TS2C, TH_SYN_ | TH_ACK_, NULL, 0);
	tconn_seg(k, TC2S, TH_ACK_, NULL, 0);
}

static inline void
tconn_data(struct tconn *k, int from, const char *s)
{
	tconn_seg(k, from, TH_ACK_ | TH_PSH_, s, (uint16_t)strlen(s));
}

/* Client FIN, server FIN/ACK, client ACK. */
static inline void
tconn_close(struct tconn *k)
{
	tconn_seg(k, TC2S, TH_FIN_ | TH_ACK_, NULL, 0);
	tconn_seg(k, TS2C, TH_FIN_ | TH_ACK_, NULL, 0);
	tconn_seg(k, TC2S, TH_ACK_, NULL, 0);
}

/* -- Start-up ------------------------------------------------------------ */

/*
 * Point MOONBOX_OPTS at the capture, with a DPDK file prefix of our own
 * (mb_api_NAME_PID, so tests run in parallel) given through --eal, and
 * extra options. tapi_cleanup() removes what the run left: the capture and
 * EAL's (empty) runtime directory of that prefix.
 */
static inline void
tapi_opts(const char *name, const char *cap, const char *extra)
{
	char opts[1024];

	snprintf(opts, sizeof(opts), "-r %s --no-progress %s --eal "
		 "\"--file-prefix=mb_api_%s_%d\"", cap, extra, name,
		 (int)getpid());
	setenv("MOONBOX_OPTS", opts, 1);
}

static inline void
tapi_cleanup(const char *name, const char *cap)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "/var/run/dpdk/mb_api_%s_%d", name,
		 (int)getpid());
	rmdir(dir);
	unlink(cap);
}

/* -- Check recorder ------------------------------------------------------ */

/*
 * Callbacks record every check they make; a failed check keeps its text.
 * Each record names the area (a test) it belongs to, so each cmocka test
 * reports the failures of its own area. Single writer per recorder: one
 * recorder per core.
 */
#define TREC_MAX	8192

struct trec_ent {
	const char *area;
	int line;
	int ok;
	char msg[200];
};

struct trec {
	unsigned n;		/* records kept */
	unsigned lost;		/* records that did not fit */
	struct trec_ent e[TREC_MAX];
};

static inline void
trec_add(struct trec *r, const char *area, int line, int ok,
	 const char *fmt, ...)
{
	struct trec_ent *e;
	va_list ap;

	if (r->n == TREC_MAX) {
		r->lost++;
		return;
	}
	e = &r->e[r->n++];
	e->area = area;
	e->line = line;
	e->ok = ok;
	e->msg[0] = '\0';
	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
}

/* Checks of `area` that ran, and print the failed ones; returns the number
 * of failures. */
static inline unsigned
trec_report(const struct trec *r, const char *area, unsigned *ran)
{
	unsigned i, bad = 0;

	*ran = 0;
	for (i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].area, area) != 0)
			continue;
		(*ran)++;
		if (!r->e[i].ok) {
			bad++;
			fprintf(stderr, "  %s:%d: %s\n", area, r->e[i].line,
				r->e[i].msg);
		}
	}
	return bad;
}

/* Fail the current cmocka test unless at least `min` checks of `area` ran
 * and none failed (the failures are listed on stderr). */
static inline void
trec_assert(const struct trec *r, const char *area, unsigned min)
{
	unsigned ran, bad = trec_report(r, area, &ran);

	if (r->lost)
		fail_msg("%u records lost", r->lost);
	if (bad)
		fail_msg("%s: %u of %u checks failed (listed above)", area,
			 bad, ran);
	if (ran < min)
		fail_msg("%s: only %u checks ran, expected at least %u",
			 area, ran, min);
}

/* Record that `call` failed with `fail` and errno `err`. */
#define TFAIL(r, area, call, fail, err) do {				\
	long long r_;							\
	int e_;								\
	errno = 0;							\
	r_ = (long long)(call);						\
	e_ = errno;							\
	trec_add((r), (area), __LINE__, r_ == (long long)(fail) &&	\
		 e_ == (err), "%s: got %lld errno %d (%s), want %lld "	\
		 "errno %d (%s)", #call, r_, e_, strerror(e_),		\
		 (long long)(fail), (err), strerror(err));		\
} while (0)

/* Record that `call` returned `want`. */
#define TRET(r, area, call, want) do {					\
	long long r_;							\
	int e_;								\
	errno = 0;							\
	r_ = (long long)(call);						\
	e_ = errno;							\
	trec_add((r), (area), __LINE__, r_ == (long long)(want),	\
		 "%s: got %lld errno %d (%s), want %lld", #call, r_, e_,	\
		 strerror(e_), (long long)(want));			\
} while (0)

/* Record a condition. */
#define TTRUE(r, area, cond, ...)					\
	trec_add((r), (area), __LINE__, (cond) ? 1 : 0, __VA_ARGS__)

#endif /* MB_TEST_API_H */
