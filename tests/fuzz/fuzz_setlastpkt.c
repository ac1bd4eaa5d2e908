/*
 * fuzz_setlastpkt.c - fuzz target of mtcp_setlastpkt (engine/pktmod.c) in
 * the running engine. An input is a few frames, each followed by a
 * program of edits; MOS_ON_PKT_IN callbacks of a raw socket and of a
 * stream socket (at both hooks) apply the edits to the frame as it passes.
 * The frames enter through a real DPDK port (net_ring), one at a time, and
 * leave through net_null; the engine keeps its flows from input to input,
 * so the edits meet handshakes, established flows and remapped sequence
 * numbers.
 *
 * Checked around every call, against mtcp_getlastpkt's copies of the frame
 * taken before and after it:
 *  - a refused call (-1) sets an errno the man page names (EINVAL, ENOSPC,
 *    ENODATA) and leaves the frame exactly as it was;
 *  - an accepted overwrite, insertion or removal changes the frame's
 *    length and its IPv4 total length by exactly what it inserted or
 *    removed, puts its bytes at their place in the region, and changes
 *    nothing else but the length and checksum fields of the headers (an
 *    overwrite: only the checksums asked for);
 *  - the IPv4 and TCP checksums asked for are valid (computed here, not
 *    by the engine);
 *  - after a payload's length changed at MOS_HK_RCV, the receiver's
 *    buffer (mtcp_ppeek) holds the changed payload;
 *  - every frame ends forwarded or dropped (the engine's counters).
 *
 * Encoding (fuzz.h's reader; past the end everything is zero):
 *   frame := u16 len, len bytes, u8 nops, op[nops]
 *   op    := u8 a, u8 b, u16 offset, u16 datalen, then for an overwrite
 *            or an insertion its data (datalen bytes, at most DATA_MAX
 *            of them from the input)
 *   a: bits 0-1 action (drop, overwrite, chomp, insert), bits 2-3 which
 *      callback runs it (raw, sender hook, receiver hook, all), bit 4 an
 *      option word read from the input instead, bit 5 MOS_SIDE_SVR, bit 6
 *      data NULL, bit 7 a side read from the input
 *   b: bits 0-1 region (Ethernet, IPv4, TCP header, payload), bit 2
 *      MOS_UPDATE_IP_CHKSUM, bit 3 MOS_UPDATE_TCP_CHKSUM, bit 4 a second
 *      region, bit 5 offset + 65536, bit 6 a negative offset
 *
 * EAL starts once per process, at the first input (--no-huge, a file
 * prefix of its own); the engine stops at exit. Flows outlive inputs, so
 * a failure may need the inputs run before it: replay a crash file after
 * the corpus, or twice (fuzz_setlastpkt_replay DIR crash crash).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "embed.h"
#include "fuzz.h"
#include "mos_api.h"
#include "mtcp_api.h"
#include "stats.h"

#define FRAME_MAX	2048	/* what one packet buffer holds */
#define OPS_MAX		16
#define DATA_MAX	4096	/* data handed over; datalen may say more */

enum { AT_RAW, AT_SND, AT_RCV, AT_ALL };

struct op {
	uint8_t a, b;
	uint16_t offset, datalen;
	uint32_t option;
	int side;
	uint8_t data[DATA_MAX];
};

/* The frame being processed and its program, written before the frame is
 * queued (the ring orders it before the worker reads it). */
static struct op ops[OPS_MAX];
static int nops;

static struct rte_ring *in_ring;
static struct rte_mempool *pool;
static uint64_t injected;

static const int actions[] = { MOS_DROP, MOS_OVERWRITE, MOS_CHOMP,
			       MOS_INSERT };
static const int regions[] = { MOS_ETH_HDR, MOS_IP_HDR, MOS_TCP_HDR,
			       MOS_TCP_PAYLOAD };

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static int
folds_to_ffff(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* Whether the IPv4 header at ip has a valid checksum. */
static int
ip_csum_ok(const uint8_t *ip)
{
	return folds_to_ffff(sum16(ip, (size_t)(ip[0] & 0x0f) * 4, 0));
}

/* Whether the TCP segment after the IPv4 header at ip (up to the total
 * length) has a valid checksum. */
static int
tcp_csum_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	uint32_t s = sum16(ip + 12, 8, 0) + 6 + (uint32_t)(tot - ihl);

	return folds_to_ffff(sum16(ip + ihl, tot - ihl, s));
}

struct copy {
	int ok;
	uint32_t len;
	int32_t l3;		/* -1: not IPv4 */
	int tcp;
	uint32_t pay, paylen;	/* the TCP payload's place in f */
	uint64_t soff;		/* its stream offset */
	uint8_t f[FRAME_MAX + DATA_MAX];
};

static void
take(mctx_t m, int sock, struct copy *c)
{
	struct pkt_info p;

	c->ok = mtcp_getlastpkt(m, sock, MOS_SIDE_BOTH, &p) == 0;
	if (!c->ok)
		return;
	FUZZ_CHECK(p.eth_len <= sizeof(c->f));
	c->len = p.eth_len;
	memcpy(c->f, p.ethh, p.eth_len);
	c->l3 = p.iph != NULL ? (int32_t)((uint8_t *)p.iph - (uint8_t *)p.ethh) :
		-1;
	c->tcp = p.tcph != NULL;
	c->pay = c->tcp ? (uint32_t)(p.payload - (uint8_t *)p.ethh) : 0;
	c->paylen = c->tcp ? p.payloadlen : 0;
	c->soff = p.offset;
	FUZZ_CHECK(c->l3 < 0 || (uint32_t)c->l3 + 20 <= c->len);
}

static uint32_t
ip_tot(const struct copy *c)
{
	return (uint32_t)c->f[c->l3 + 2] << 8 | c->f[c->l3 + 3];
}

/* Where region (0 to 3: Ethernet, IPv4, TCP header, payload) starts in
 * the copy's frame, -1 if it has none. */
static int64_t
region_start(const struct copy *c, int region)
{
	uint32_t ihl;

	if (region == 0)
		return 0;
	if (c->l3 < 0)
		return -1;
	if (region == 1)
		return c->l3;
	ihl = (uint32_t)(c->f[c->l3] & 0x0f) * 4;
	if (!c->tcp || c->l3 + ihl + 20 > c->len)
		return -1;
	if (region == 2)
		return c->l3 + ihl;
	return c->l3 + ihl + (uint32_t)(c->f[c->l3 + ihl + 12] >> 4) * 4;
}

static struct copy before, after;
static uint8_t expect[FRAME_MAX + DATA_MAX];

/* Take n bytes at off of the frame after the call as expected (the
 * length and checksum fields an edit rewrites). */
static void
keep(uint32_t off, uint32_t n)
{
	if (off + n <= after.len)
		memcpy(expect + off, after.f + off, n);
}

/* At MOS_HK_RCV a payload can change length only while it is the
 * receiver's newest in-order data, and then the receiver's buffer holds
 * the changed bytes (mtcp_setlastpkt(3)). */
static void
check_buffer(mctx_t m, int sock, int side)
{
	static uint8_t buf[FRAME_MAX + DATA_MAX];
	int n;

	if (after.paylen == 0)
		return;
	n = mtcp_ppeek(m, sock, side, (char *)buf, after.paylen, after.soff);
	FUZZ_CHECK(n <= (int)after.paylen);
	if (n > 0)
		FUZZ_CHECK(memcmp(buf, after.f + after.pay, (size_t)n) == 0);
}

static void
run_op(mctx_t m, int sock, int at_rcv, int rside, const struct op *o)
{
	int action = o->option & (MOS_DROP | MOS_OVERWRITE | MOS_CHOMP |
				  MOS_INSERT);
	const uint8_t *data = (o->a & 0x40) ? NULL : o->data;
	int32_t delta;
	uint32_t ihl = 0;
	off_t off;
	int r, e;

	off = o->offset;
	if (o->b & 0x20)
		off += 65536;
	if (o->b & 0x40)
		off = -off - 1;
	take(m, sock, &before);
	errno = 0;
	r = mtcp_setlastpkt(m, sock, o->side, off, (uint8_t *)data,
			    o->datalen, (int)o->option);
	e = errno;
	take(m, sock, &after);
	FUZZ_CHECK(r == 0 || r == -1);
	FUZZ_CHECK(before.ok == after.ok);
	if (!before.ok) {
		FUZZ_CHECK(r == -1);
		return;
	}
	if (r == -1) {
		FUZZ_CHECK(e == EINVAL || e == ENOSPC || e == ENODATA);
		FUZZ_CHECK(after.len == before.len);
		FUZZ_CHECK(memcmp(after.f, before.f, before.len) == 0);
		return;
	}
	if (action == MOS_DROP)
		return;
	delta = action == MOS_INSERT ? (int32_t)o->datalen :
		action == MOS_CHOMP ? -(int32_t)o->datalen : 0;
	FUZZ_CHECK((int64_t)after.len == (int64_t)before.len + delta);
	FUZZ_CHECK((before.l3 < 0) == (after.l3 < 0));
	if (after.l3 >= 0) {
		FUZZ_CHECK((int64_t)ip_tot(&after) ==
			   (int64_t)ip_tot(&before) + delta);
		FUZZ_CHECK((uint32_t)after.l3 + ip_tot(&after) <= after.len);
		ihl = (uint32_t)(after.f[after.l3] & 0x0f) * 4;
		FUZZ_CHECK(ihl >= 20 && after.l3 + ihl <= after.len);
		if (o->option & MOS_UPDATE_IP_CHKSUM)
			FUZZ_CHECK(ip_csum_ok(after.f + after.l3));
		if ((o->option & MOS_UPDATE_TCP_CHKSUM) && after.tcp) {
			FUZZ_CHECK(ip_tot(&after) >= ihl + 20);
			FUZZ_CHECK(tcp_csum_ok(after.f + after.l3));
		}
	}
	if (action == MOS_OVERWRITE && data != NULL && !(o->a & 0x10) &&
	    !(o->b & 0x10)) {
		/* The data given, at its place in the region; nothing else
		 * changed but the checksums asked for. */
		int64_t at = region_start(&before, o->b & 3);

		FUZZ_CHECK(at >= 0);
		at += off;
		FUZZ_CHECK(at + o->datalen <= after.len);
		memcpy(expect, before.f, before.len);
		memcpy(expect + at, data, o->datalen);
		if (o->option & MOS_UPDATE_IP_CHKSUM)
			memcpy(expect + after.l3 + 10, after.f + after.l3 + 10,
			       2);
		if ((o->option & MOS_UPDATE_TCP_CHKSUM) && after.tcp)
			memcpy(expect + after.l3 + ihl + 16,
			       after.f + after.l3 + ihl + 16, 2);
		FUZZ_CHECK(memcmp(expect, after.f, after.len) == 0);
	} else if (action != MOS_OVERWRITE && !(o->a & 0x10) &&
		   !(o->b & 0x10) && (data != NULL || action == MOS_CHOMP)) {
		/* The bytes inserted or removed at their place; nothing else
		 * changed but the lengths and checksums the headers hold. */
		int64_t at = region_start(&before, o->b & 3);
		uint32_t t;

		FUZZ_CHECK(at >= 0 && after.l3 >= 0);
		at += off;
		memcpy(expect, before.f, (size_t)at);
		if (action == MOS_INSERT) {
			memcpy(expect + at, data, o->datalen);
			memcpy(expect + at + o->datalen, before.f + at,
			       before.len - (size_t)at);
		} else {
			FUZZ_CHECK(at + o->datalen <= before.len);
			memcpy(expect + at, before.f + at + o->datalen,
			       before.len - (size_t)at - o->datalen);
		}
		keep(after.l3, 1);
		keep(after.l3 + 2, 2);
		keep(after.l3 + 10, 2);
		if (after.tcp) {
			t = (uint32_t)after.l3 + ihl;
			keep(t + 12, 1);
			keep(t + 16, 2);
		}
		FUZZ_CHECK(memcmp(expect, after.f, after.len) == 0);
		if (at_rcv && (o->b & 3) == 3 && o->datalen > 0)
			check_buffer(m, sock, rside);
	}
}

static void
run_ops(mctx_t m, int sock, int side, int at)
{
	int i;

	for (i = 0; i < nops; i++) {
		int w = (ops[i].a >> 2) & 3;

		if (w == at || w == AT_ALL)
			run_op(m, sock, at == AT_RCV, side, &ops[i]);
	}
}

static void
on_raw(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)ev;
	(void)arg;
	run_ops(m, sock, side, AT_RAW);
}

static void
on_snd(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)ev;
	(void)arg;
	run_ops(m, sock, side, AT_SND);
}

static void
on_rcv(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)ev;
	(void)arg;
	run_ops(m, sock, side, AT_RCV);
}

static int
core_init(mctx_t m, void *arg)
{
	int raw = mtcp_socket(m, AF_INET, MOS_SOCK_MONITOR_RAW, 0);
	int mon = mtcp_socket(m, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);

	(void)arg;
	if (raw < 0 || mon < 0 ||
	    mtcp_register_callback(m, raw, MOS_ON_PKT_IN, MOS_NULL,
				   on_raw) != 0 ||
	    mtcp_register_callback(m, mon, MOS_ON_PKT_IN, MOS_HK_SND,
				   on_snd) != 0 ||
	    mtcp_register_callback(m, mon, MOS_ON_PKT_IN, MOS_HK_RCV,
				   on_rcv) != 0)
		return -1;
	return 0;
}

static void
engine_down(void)
{
	mbx_stop();
	mbx_wait();
	mbx_cleanup();
}

static void
engine_up(void)
{
	static char *argv[] = {
		"fuzz_setlastpkt", "-c", "1", "--port", "net_ring0",
		"--port", "net_null0,no-rx=1", NULL,
	};
	struct mb_opts o;

	mbx_opts_defaults(&o);
	FUZZ_CHECK(mbx_opts_parse(&o, (int)RTE_DIM(argv) - 1, argv) == 0);
	FUZZ_CHECK(mbx_init(&o, argv[0]) == 0);
	FUZZ_CHECK(mbx_start(core_init, NULL) == 0);
	FUZZ_CHECK(mbx_wait_ready() == 0);
	/* net_ring0's one ring is both its receive and its transmit queue:
	 * nothing is sent out of port 0 here (no mtcp_sendpkt or resets). */
	in_ring = rte_ring_lookup("ETH_RXTX0_net_ring0");
	pool = rte_mempool_lookup("moonbox_pool");
	FUZZ_CHECK(in_ring != NULL && pool != NULL);
	atexit(engine_down);
	mbx_release();
}

/* Every frame queued so far has a fate (forwarded or dropped). */
static void
wait_accounted(void)
{
	uint64_t until = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	struct stats t;

	for (;;) {
		mbx_totals(&t);
		if (t.rx_packets == injected &&
		    t.tx_packets + stats_dropped(&t) == injected)
			return;
		FUZZ_CHECK(rte_get_timer_cycles() < until);
		rte_pause();
	}
}

static void
read_op(struct fuzz_in *in, struct op *o)
{
	uint16_t i;

	o->a = fuzz_u8(in);
	o->b = fuzz_u8(in);
	o->offset = fuzz_u16(in);
	o->datalen = fuzz_u16(in);
	/* Data follows an overwrite's or an insertion's header. */
	for (i = 0; (o->a & 1) && i < o->datalen && i < DATA_MAX &&
	     fuzz_more(in); i++)
		o->data[i] = fuzz_u8(in);
	o->option = (uint32_t)(actions[o->a & 3] | regions[o->b & 3]);
	if (o->b & 0x04)
		o->option |= MOS_UPDATE_IP_CHKSUM;
	if (o->b & 0x08)
		o->option |= MOS_UPDATE_TCP_CHKSUM;
	if (o->b & 0x10)
		o->option |= (uint32_t)regions[(o->b + 1) & 3];
	if (o->a & 0x10)
		o->option = fuzz_u32(in);
	o->side = (o->a & 0x20) ? MOS_SIDE_SVR : MOS_SIDE_CLI;
	if (o->a & 0x80)
		o->side = (int8_t)fuzz_u8(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int frames;

	if (in_ring == NULL)
		engine_up();
	for (frames = 0; frames < 64 && fuzz_more(&in); frames++) {
		uint16_t len = fuzz_u16(&in), i;
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *f;
		int n;

		FUZZ_CHECK(m != NULL);
		if (len > FRAME_MAX)
			len = FRAME_MAX;
		f = (uint8_t *)rte_pktmbuf_append(m, len);
		FUZZ_CHECK(f != NULL || len == 0);
		for (i = 0; i < len; i++)
			f[i] = fuzz_u8(&in);
		n = fuzz_u8(&in) % (OPS_MAX + 1);
		for (nops = 0; nops < n; nops++)
			read_op(&in, &ops[nops]);
		injected++;
		FUZZ_CHECK(rte_ring_enqueue(in_ring, m) == 0);
		wait_accounted();
	}
	return 0;
}
