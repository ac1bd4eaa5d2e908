/*
 * ipfrag.c - IPv4 reassembly for analysis (see ipfrag.h).
 *
 * Not DPDK's rte_ip_frag: its build fixes 8 fragments per datagram (a
 * 1500-byte MTU path cuts a 16 KiB datagram in 12) and it drops a datagram
 * on an exact duplicate fragment, which receivers ignore. The datagrams
 * being reassembled are few (FRAG_SLOTS) and fragments rare on TCP paths,
 * so a slot table scanned linearly is enough; each slot holds the payload
 * at its offsets, so a completed datagram is one copy away from a
 * contiguous buffer. A slot that failed stays (dead) until it times out,
 * so its later fragments neither count again nor start a datagram that
 * cannot end.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf_dyn.h>

#include "ipfrag.h"
#include "mtcp_util.h"
#include "rt.h"
#include "stats.h"

#define FRAG_SLOTS		256
#define FRAG_TIMEOUT_MS		30000	/* Linux's ipfrag_time */
#define FRAG_SCAN_MS		1000
#define FRAG_HDR_MAX		(22 + 60)

enum { SLOT_FREE, SLOT_OPEN, SLOT_DEAD };

struct dgram {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t state;		/* SLOT_* */
	uint8_t l2_len;		/* of the first fragment, with hdr_len */
	uint8_t hdr_len;	/* L2 + IPv4 header; 0 until offset 0 came */
	uint16_t npieces;
	uint32_t total;		/* payload length; 0 until the last fragment */
	uint32_t got;		/* payload bytes held (pieces never overlap) */
	uint64_t born_ms;
	uint32_t ps[IPFRAG_MAX_PIECES], pe[IPFRAG_MAX_PIECES];
	uint8_t hdr[FRAG_HDR_MAX];
	uint8_t data[IPFRAG_MAX_PAYLOAD];
};

struct ipfrag {
	uint32_t nused;
	uint64_t next_scan_ms;
	struct dgram slot[FRAG_SLOTS];
};

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct ipfrag *
ipfrag_create(void)
{
	/* calloc: the slots' pages cost memory only once used. */
	return calloc(1, sizeof(struct ipfrag));
}

void
ipfrag_destroy(struct ipfrag *f)
{
	free(f);
}

static void
slot_free(struct ipfrag *f, struct dgram *d)
{
	d->state = SLOT_FREE;
	f->nused--;
}

static void
slot_fail(struct stats *st, struct dgram *d)
{
	st->ipfrag_failed++;
	d->state = SLOT_DEAD;
}

/* The slot of this datagram, a new one, or NULL when all are taken by
 * datagrams younger than the timeout (the oldest is then given up). */
static struct dgram *
slot_get(struct ipfrag *f, struct stats *st, uint32_t src, uint32_t dst,
	 uint16_t id, uint8_t proto, uint64_t now)
{
	struct dgram *d, *free_slot = NULL, *oldest = NULL;
	int i;

	for (i = 0; i < FRAG_SLOTS; i++) {
		d = &f->slot[i];
		if (d->state == SLOT_FREE) {
			if (free_slot == NULL)
				free_slot = d;
			continue;
		}
		if (d->src == src && d->dst == dst && d->id == id &&
		    d->proto == proto)
			return d;
		if (oldest == NULL || d->born_ms < oldest->born_ms)
			oldest = d;
	}
	if (free_slot == NULL) {
		/* Full: a flood of fragments must not stop reassembly for
		 * good; the oldest datagram goes. */
		if (oldest->state == SLOT_OPEN)
			st->ipfrag_failed++;
		slot_free(f, oldest);
		free_slot = oldest;
	}
	d = free_slot;
	d->src = src;
	d->dst = dst;
	d->id = id;
	d->proto = proto;
	d->state = SLOT_OPEN;
	d->hdr_len = 0;
	d->npieces = 0;
	d->total = 0;
	d->got = 0;
	d->born_ms = now;
	f->nused++;
	return d;
}

/* Take the piece [off, end) of the payload: 0 when taken, 1 for an exact
 * duplicate (ignored), -1 when the datagram must be discarded. */
static int
add_piece(struct dgram *d, uint32_t off, uint32_t end, int last)
{
	uint16_t i;

	if (end > IPFRAG_MAX_PAYLOAD)
		return -1;
	for (i = 0; i < d->npieces; i++) {
		if (d->ps[i] == off && d->pe[i] == end)
			return 1;
		if (off < d->pe[i] && d->ps[i] < end)
			return -1;
	}
	if (last) {
		if (d->total != 0 && d->total != end)
			return -1;
		for (i = 0; i < d->npieces; i++)
			if (d->pe[i] > end)
				return -1;
		d->total = end;
	} else if (d->total != 0 && end > d->total) {
		return -1;
	}
	if (d->npieces == IPFRAG_MAX_PIECES)
		return -1;
	d->ps[d->npieces] = off;
	d->pe[d->npieces++] = end;
	d->got += end - off;
	return 0;
}

/* The whole datagram as one frame: the first fragment's headers, the
 * length and fragment fields rewritten, then the payload. */
static struct rte_mbuf *
assemble(struct rte_mempool *big, const struct dgram *d,
	 const struct rte_mbuf *m)
{
	uint32_t len = d->hdr_len + d->total;
	struct rte_mbuf *out = rte_pktmbuf_alloc(big);
	struct rte_ipv4_hdr *ip;
	uint8_t *f;

	if (out == NULL)
		return NULL;
	f = (uint8_t *)rte_pktmbuf_append(out, (uint16_t)len);
	if (f == NULL) {
		rte_pktmbuf_free(out);
		return NULL;
	}
	memcpy(f, d->hdr, d->hdr_len);
	memcpy(f + d->hdr_len, d->data, d->total);
	ip = (struct rte_ipv4_hdr *)(f + d->l2_len);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - d->l2_len));
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	out->port = m->port;
	out->ol_flags = m->ol_flags;
	rte_mbuf_dynfield_copy(out, m);
	return out;
}

struct rte_mbuf *
ipfrag_offer(struct ipfrag *f, const struct rte_mbuf *m,
	     const struct parsed *pr, uint64_t now_ms,
	     struct rte_mempool *big, struct stats *st)
{
	const uint8_t *fr = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip = fr + pr->l2_len;
	uint16_t fo = rd16(ip + 6);
	uint32_t off = (uint32_t)(fo & 0x1fff) * 8, src, dst;
	uint32_t len = (uint32_t)pr->ip_len - pr->l3_len;
	int more = (fo & 0x2000) != 0, r;
	struct rte_mbuf *out;
	struct dgram *d;

	if (f == NULL)
		return NULL;
	/* Not a fragment a receiver could use: no payload, or a piece
	 * before the last that is not a multiple of 8 bytes. */
	if (len == 0 || (more && (len & 7)))
		return NULL;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	d = slot_get(f, st, src, dst, rd16(ip + 4), pr->ip_proto, now_ms);
	if (d->state == SLOT_DEAD)
		return NULL;
	r = add_piece(d, off, off + len, !more);
	if (r > 0)
		return NULL;
	if (r < 0 || (off == 0 && pr->l2_len + pr->l3_len > FRAG_HDR_MAX)) {
		slot_fail(st, d);
		return NULL;
	}
	memcpy(d->data + off, ip + pr->l3_len, len);
	if (off == 0) {
		memcpy(d->hdr, fr, (size_t)pr->l2_len + pr->l3_len);
		d->l2_len = (uint8_t)pr->l2_len;
		d->hdr_len = (uint8_t)(pr->l2_len + pr->l3_len);
	}
	if (d->total == 0 || d->got != d->total || d->hdr_len == 0)
		return NULL;
	out = assemble(big, d, m);
	slot_free(f, d);
	if (out == NULL) {
		st->ipfrag_failed++;
		return NULL;
	}
	st->ipfrag_reassembled++;
	return out;
}

void
ipfrag_expire(struct ipfrag *f, uint64_t now_ms, struct stats *st)
{
	int i;

	if (f == NULL || f->nused == 0 ||
	    (now_ms != UINT64_MAX && now_ms < f->next_scan_ms))
		return;
	f->next_scan_ms = now_ms + FRAG_SCAN_MS;
	for (i = 0; i < FRAG_SLOTS; i++) {
		struct dgram *d = &f->slot[i];

		if (d->state == SLOT_FREE ||
		    (now_ms != UINT64_MAX && now_ms - d->born_ms < FRAG_TIMEOUT_MS))
			continue;
		if (d->state == SLOT_OPEN)
			st->ipfrag_failed++;
		slot_free(f, d);
	}
}

int
ipfrag_core_of(const struct rte_mbuf *dgram)
{
	const uint8_t *f = rte_pktmbuf_mtod(dgram, const uint8_t *);
	const uint8_t *ip, *tcp;
	struct parsed pr;
	uint32_t sa, da;
	uint16_t sp, dp;

	if (g_rt.nb_cores == 1 ||
	    parse_frame(f, rte_pktmbuf_data_len(dgram), &pr) != PK_TCP)
		return 0;
	ip = f + pr.l2_len;
	tcp = ip + pr.l3_len;
	memcpy(&sa, ip + 12, 4);
	memcpy(&da, ip + 16, 4);
	memcpy(&sp, tcp, 2);
	memcpy(&dp, tcp + 2, 2);
	return GetRSSCPUCore(sa, da, sp, dp, g_rt.nb_cores, 0);
}
