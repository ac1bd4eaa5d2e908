/*
 * flow.h - a monitored TCP connection and the per-core flow table.
 *
 * A flow is found by a symmetric key (both directions of a 4-tuple give
 * the same key). It has the key of its first SYN and, when a callback
 * rewrote that SYN's addresses (NAT), a second key for the rewritten
 * 4-tuple, which is what the server's replies carry. The index (fidx.h),
 * one per core, is looked up with a hash computed once per packet;
 * flows live in a pool of fixed slots, so the table never allocates per
 * packet. Idle flows are kept in LRU order and time-wait flows in deadline
 * order, threaded through the flows themselves.
 */
#ifndef MB_FLOW_H
#define MB_FLOW_H

#include <stdint.h>

#include "fidx.h"
#include "tcp_fsm.h"

struct rb;

#define FLOW_NONE	UINT32_MAX

/* flow.flags */
#define FL_SVR		0x01	/* the server half exists */
#define FL_KEY2		0x02	/* the rewritten-SYN key is in the table */
#define FL_ADJ		0x04	/* sequence numbers are being remapped */
#define FL_DESTROY	0x08	/* destroy at the end of the current packet */
#define FL_RESET	0x10	/* mtcp_reset_conn() was called */

/* flow.paths: the per-packet shortcuts (flow_fast) a flow may take. */
#define PATH_FAST	0x01	/* an established segment's: both sides
				   tracked, the server half there, no
				   remapping, no end pending, no PKT_IN */
#define PATH_QUIET	0x02	/* and the quiet path's: no socket wants
				   what its steps can raise at the hooks */

/* flow.list */
enum { FLIST_NONE, FLIST_LRU, FLIST_TW };

/* Sequence-number remapping of the segments one side sends, after
 * callbacks changed payload lengths (the scheme of Linux's nf_conntrack
 * seqadj: one correction point, offsets before and after it). */
struct seqadj {
	uint32_t pos;		/* sender sequence number of the last change */
	int32_t before;		/* offset for sequence numbers <= pos */
	int32_t after;		/* offset for sequence numbers > pos */
	uint32_t pkt;		/* the packet (core's count) that made it */
};

struct flow {
	struct half h[2];	/* [MOS_SIDE_CLI], [MOS_SIDE_SVR] */
	struct rb *rb[2];	/* bytes side i receives (lazy) */
	struct seqadj adj[2];	/* for segments side i sends */
	uint32_t ip[2];		/* first SYN: client and server, network order */
	uint16_t port[2];
	uint16_t in_port[2];	/* port index side i's packets arrive on */
	uint32_t win[2];	/* buffer window of side i */
	uint8_t mac[2][12];	/* Ethernet addresses of side i's packets */
	uint32_t ip2[2];	/* rewritten first SYN (with FL_KEY2) */
	uint16_t port2[2];
	uint32_t gen;		/* bumped when the slot is freed */
	uint32_t sock_head;	/* active sockets, listener order */
	uint32_t want[3];	/* events some socket has callbacks for, per
				   hook (HK_*): others queue no jobs */
	uint64_t lru_ms;	/* last_ms when last moved in its list */
	uint32_t prev, next;	/* LRU or time-wait list */
	uint64_t last_ms;	/* time of the last packet */
	uint8_t flags;		/* FL_* */
	uint8_t mgmt;		/* sides whose state is tracked (bit per side) */
	uint8_t buf;		/* sides that buffer their bytes */
	uint8_t overlap_last;	/* sides whose buffer keeps the last copy */
	uint8_t nd_queued;	/* sides with a pending MOS_ON_CONN_NEW_DATA */
	uint8_t list;		/* FLIST_* */
	uint8_t nsocks;
	uint8_t paths;		/* PATH_*, kept by flow_update_want() and
				   flow_set_flags() */
};

/* The padding keeps keys comparable with memcmp(). */
struct fkey {
	uint32_t lo_ip;
	uint32_t hi_ip;
	uint16_t lo_port;
	uint16_t hi_port;
	uint32_t zero;
};

struct flowtbl {
	struct fidx ix;
	struct flow *f;
	uint32_t *free;		/* stack of free slots */
	uint32_t nfree;
	uint32_t cap;
	uint32_t used;		/* slots ever handed out (high-water mark) */
	uint32_t lru_head, lru_tail;
	uint32_t tw_head, tw_tail;
};

/* Symmetric key of a 4-tuple (addresses and ports in network order). */
static inline struct fkey
flow_key(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb)
{
	struct fkey k;

	if (a < b || (a == b && pa <= pb))
		k = (struct fkey){ a, b, pa, pb, 0 };
	else
		k = (struct fkey){ b, a, pb, pa, 0 };
	return k;
}

int
flowtbl_init(struct flowtbl *t, uint32_t cap);

void
flowtbl_destroy(struct flowtbl *t);

/* Index of the flow with this key, or FLOW_NONE. */
static inline uint64_t
fkey_ips(const struct fkey *k)
{
	return (uint64_t)k->hi_ip << 32 | k->lo_ip;
}

static inline uint32_t
fkey_ports(const struct fkey *k)
{
	return (uint32_t)k->hi_port << 16 | k->lo_port;
}

static inline uint32_t
flowtbl_lookup(const struct flowtbl *t, const struct fkey *k, uint32_t hash)
{
	return fidx_lookup(&t->ix, fkey_ips(k), fkey_ports(k), hash);
}

/* A zeroed flow slot, or FLOW_NONE when the table is full. */
uint32_t
flowtbl_alloc(struct flowtbl *t);

/* Return a slot (its keys must be gone). */
void
flowtbl_release(struct flowtbl *t, uint32_t idx);

int
flowtbl_add_key(struct flowtbl *t, const struct fkey *k, uint32_t hash,
		uint32_t idx);

/* flowtbl_add_key for a key just looked up in vain. */
int
flowtbl_insert_key(struct flowtbl *t, const struct fkey *k, uint32_t hash,
		   uint32_t idx);

void
flowtbl_del_key(struct flowtbl *t, const struct fkey *k, uint32_t hash);

/* Lists: put a flow at the tail of one list (removing it from the other). */
void
flowtbl_list_tail(struct flowtbl *t, uint32_t idx, int list);

void
flowtbl_list_remove(struct flowtbl *t, uint32_t idx);

static inline uint32_t
flowtbl_active(const struct flowtbl *t)
{
	return t->used - t->nfree;
}

/* -- Per-packet flow processing (flow.c), in pipeline order ------------- */

struct core;
struct pipe_pkt;

/* Recompute flow.want from its sockets' callback trees, and flow.paths.
 * Call it after every change of a flow's sockets, callbacks or tracked
 * sides (flow.mgmt). */
void flow_update_want(struct core *c, struct flow *f);

/* Set FL_* flags of a flow (flow.paths follows them): every flag is set
 * this way. */
void flow_set_flags(struct flow *f, uint8_t fl);

/* A pending MOS_ON_CONN_NEW_DATA for one side of a flow. */
struct nd_ent {
	uint32_t fidx;
	uint32_t gen;
	uint8_t side;
};

enum { FB_ORPHAN, FB_FLOW, FB_RECYCLE };

uint8_t *flow_tcp_hdr(const struct pipe_pkt *k);
void flow_read_seg(struct pipe_pkt *k);
int flow_socks(struct core *c, const struct flow *f, int forward,
	       uint32_t *out);
/* Load the flow-index lines the frames of the core's fresh burst will look
 * up and, with many flows, look them up (pipe.burst_ent) and load their
 * flow slots; their hashes go to pipe.burst_hash. */
void flow_prefetch_burst(struct core *c);
/* Find or create the packet's flow: FB_FLOW, FB_ORPHAN, or FB_RECYCLE
 * (a new connection on the 4-tuple of a finished one: end that first). */
int flow_begin(struct core *c);
void flow_raw_jobs(struct core *c);
void flow_orphan_jobs(struct core *c);
/* The whole of the steps below for the common packet: an in-order ACK
 * segment of an established flow that raises nothing any socket listens
 * to, and no error, or another such segment without SYN or RST. FF_EST
 * if the packet is done with and its flow cannot end with it (so
 * flow_end_of_packet would say 0); FF_QUIET if it is done with and the
 * flow may end; FF_NO, changing nothing, if the steps must run one by
 * one. */
enum { FF_NO, FF_QUIET, FF_EST };
int flow_fast(struct core *c);
void flow_snd(struct core *c);
void flow_after_snd(struct core *c);
void flow_rcv_check(struct core *c);
void flow_rcv(struct core *c);
/* 1 if the flow must be destroyed now. */
int flow_end_of_packet(struct core *c);
void flow_destroy_jobs(struct core *c, uint32_t fidx, int first_side,
		       int timeout);
void flow_free(struct core *c, uint32_t fidx);
void flow_new_data_jobs(struct core *c, const struct nd_ent *e);
/* A flow whose idle or time-wait period is over, or FLOW_NONE. */
uint32_t flow_expired(struct core *c, int *idle);

#endif /* MB_FLOW_H */
