/*
 * ipfrag.h - IPv4 fragments (--ipfrag): with "reassemble" (the default)
 * every TCP fragment is copied into the datagram it belongs to, and each
 * datagram completed is analysed by the flow engine as an extra,
 * analysis-only packet (events, streams) while the fragments themselves
 * are forwarded untouched, so the output and the frame counters stay
 * exactly as with "pass", where fragments are only counted. The datagram
 * is analysed on the core that owns its flow.
 *
 * A receiver's rules (Linux since 4.19): an exact duplicate of a fragment
 * is ignored, a datagram with overlapping fragments is discarded, as is
 * one not complete within FRAG_TIMEOUT_MS of its first fragment. Up to
 * IPFRAG_MAX_PIECES fragments and IPFRAG_MAX_PAYLOAD bytes of payload;
 * each datagram that fails counts once in ipfrag_failed.
 */
#ifndef MB_IPFRAG_H
#define MB_IPFRAG_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "parse.h"

#define IPFRAG_MAX_PIECES	64
#define IPFRAG_MAX_PAYLOAD	(16384 - 22 - 60)	/* fits a big buffer
							   with any headers */

struct ipfrag;
struct stats;

/* The reassembly state of whoever sees the fragments: a worker core, or
 * the software distributor, which then hands each datagram to its flow's
 * core in order with the flow's other packets. */
struct ipfrag *
ipfrag_create(void);

void
ipfrag_destroy(struct ipfrag *f);

/* Offer a TCP fragment (contiguous, parsed as pr; it stays the caller's)
 * at time now_ms. Returns the datagram it completed, in one buffer of
 * pool big, with m's port, flags and dynamic fields; else NULL (not
 * complete yet, or failed). Counts in st's ipfrag_* counters. */
struct rte_mbuf *
ipfrag_offer(struct ipfrag *f, const struct rte_mbuf *m,
	     const struct parsed *pr, uint64_t now_ms,
	     struct rte_mempool *big, struct stats *st);

/* Discard the datagrams begun before now_ms minus the timeout (every one
 * with UINT64_MAX, at the end of the input), counting those not already
 * counted as failed. Cheap when called often: it scans once a second. */
void
ipfrag_expire(struct ipfrag *f, uint64_t now_ms, struct stats *st);

/* The worker core that owns the flow of a reassembled datagram: the one
 * its unfragmented packets reach (fragments are spread by addresses
 * alone, without ports). */
int
ipfrag_core_of(const struct rte_mbuf *dgram);

#endif /* MB_IPFRAG_H */
