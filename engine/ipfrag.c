/*
 * ipfrag.c - IPv4 reassembly for analysis (see ipfrag.h), with DPDK's
 * rte_ip_frag. Its reassembly edits the first fragment's header in place,
 * so it is given copies, never the frames being forwarded. A completed
 * datagram arrives as a chain of buffers and is made contiguous in a
 * buffer from a pool of large ones, since the flow engine parses frames in
 * one piece; datagrams larger than that buffer are counted and skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip_frag.h>
#include <rte_lcore.h>

#include "core.h"
#include "ipfrag.h"

#define FRAG_BUCKETS		1024
#define FRAG_BUCKET_ENTRIES	16
#define FRAG_TIMEOUT_MS		2000
#define BIG_DATAROOM		16384
#define BIG_MBUFS		511

struct ipfrag {
	struct rte_ip_frag_tbl *tbl;
	struct rte_ip_frag_death_row dr;
	struct rte_mempool *big;
};

struct ipfrag *
ipfrag_create(int core)
{
	struct ipfrag *f = calloc(1, sizeof(*f));
	uint64_t cycles = rte_get_timer_hz() * FRAG_TIMEOUT_MS / 1000;
	char name[64];

	if (f == NULL)
		return NULL;
	f->tbl = rte_ip_frag_table_create(FRAG_BUCKETS, FRAG_BUCKET_ENTRIES,
					  FRAG_BUCKETS * FRAG_BUCKET_ENTRIES,
					  cycles, (int)rte_socket_id());
	snprintf(name, sizeof(name), "mb_frag%d", core);
	f->big = rte_pktmbuf_pool_create(name, BIG_MBUFS, 32, 0,
					 BIG_DATAROOM + RTE_PKTMBUF_HEADROOM,
					 (int)rte_socket_id());
	if (f->tbl == NULL || f->big == NULL) {
		ipfrag_destroy(f);
		return NULL;
	}
	return f;
}

void
ipfrag_destroy(struct ipfrag *f)
{
	if (f == NULL)
		return;
	if (f->tbl != NULL)
		rte_ip_frag_table_destroy(f->tbl);
	rte_ip_frag_free_death_row(&f->dr, 0);
	rte_mempool_free(f->big);
	free(f);
}

static struct rte_mbuf *
linearize(struct ipfrag *f, struct rte_mbuf *m)
{
	struct rte_mbuf *out;
	uint32_t len = rte_pktmbuf_pkt_len(m);
	char *d;

	if (m->nb_segs == 1)
		return m;
	out = len <= BIG_DATAROOM ? rte_pktmbuf_alloc(f->big) : NULL;
	if (out == NULL || (d = rte_pktmbuf_append(out, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(out);
		rte_pktmbuf_free(m);
		return NULL;
	}
	{
		/* rte_pktmbuf_read copies a chain into d. */
		const void *src = rte_pktmbuf_read(m, 0, len, d);

		if (src != d)
			memcpy(d, src, len);
	}
	out->port = m->port;
	out->ol_flags = m->ol_flags;
	rte_pktmbuf_free(m);
	return out;
}

struct rte_mbuf *
ipfrag_offer(struct core *c, struct rte_mbuf *m, uint16_t l2_len,
	     uint16_t l3_len)
{
	struct ipfrag *f = c->ipfrag;
	struct rte_mbuf *copy, *done;

	if (f == NULL)
		return NULL;
	copy = rte_pktmbuf_copy(m, g_rt.pool, 0, UINT32_MAX);
	if (copy == NULL) {
		c->st.ipfrag_failed++;
		return NULL;
	}
	copy->port = m->port;
	copy->ol_flags = m->ol_flags;
	copy->l2_len = l2_len;
	copy->l3_len = l3_len;
	done = rte_ipv4_frag_reassemble_packet(f->tbl, &f->dr, copy,
		rte_get_tsc_cycles(),
		rte_pktmbuf_mtod_offset(copy, struct rte_ipv4_hdr *, l2_len));
	if (done == NULL)
		return NULL;
	done = linearize(f, done);
	if (done == NULL) {
		c->st.ipfrag_failed++;
		return NULL;
	}
	c->st.ipfrag_reassembled++;
	return done;
}

void
ipfrag_collect(struct ipfrag *f)
{
	if (f != NULL)
		rte_ip_frag_free_death_row(&f->dr, 0);
}
