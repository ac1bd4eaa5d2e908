/*
 * ipfrag.h - IPv4 fragments (--ipfrag): with "reassemble" (the default) a
 * copy of every TCP fragment goes to DPDK's rte_ip_frag, and each datagram
 * it completes is analysed by the flow engine as an extra, analysis-only
 * packet (events, streams) while the fragments themselves are forwarded
 * untouched, so the output and the frame counters stay exactly as with
 * "pass", where fragments are only counted.
 */
#ifndef MB_IPFRAG_H
#define MB_IPFRAG_H

#include <rte_mbuf.h>

struct core;
struct ipfrag;

/* Per-core state; NULL when fragments are passed. */
struct ipfrag *
ipfrag_create(int core);

void
ipfrag_destroy(struct ipfrag *f);

/* Offer a TCP fragment (the frame stays the caller's); returns a
 * reassembled datagram in one contiguous buffer when this fragment
 * completed one, else NULL. */
struct rte_mbuf *
ipfrag_offer(struct core *c, struct rte_mbuf *m, uint16_t l2_len,
	     uint16_t l3_len);

/* Free what expired or was replaced (after each burst). */
void
ipfrag_collect(struct ipfrag *f);

#endif /* MB_IPFRAG_H */
