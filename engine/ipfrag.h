/*
 * ipfrag.h - IPv4 fragments (--ipfrag): with "reassemble" (the default)
 * every TCP fragment is copied into the datagram it belongs to, and each
 * datagram completed is analysed by the flow engine as an extra,
 * analysis-only packet (events, streams) while the fragments themselves
 * are forwarded untouched, so the output and the frame counters stay
 * exactly as with "pass", where fragments are only counted.
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

struct core;
struct ipfrag;

/* Per-core state; NULL when fragments are passed. */
struct ipfrag *
ipfrag_create(int core);

void
ipfrag_destroy(struct ipfrag *f);

/* Offer a TCP fragment (contiguous, parsed as pr; it stays the caller's).
 * Returns the datagram it completed, in one buffer of c->big, when its
 * flow belongs to this core; NULL otherwise (not complete, failed, or
 * handed to the core of its flow through that core's frag_in ring). */
struct rte_mbuf *
ipfrag_offer(struct core *c, struct rte_mbuf *m, const struct parsed *pr);

/* Discard the datagrams begun before now_ms minus the timeout (every one
 * with UINT64_MAX, at the end of the input), counting those not already
 * counted as failed. Cheap when called often: it scans once a second. */
void
ipfrag_expire(struct core *c, uint64_t now_ms);

#endif /* MB_IPFRAG_H */
