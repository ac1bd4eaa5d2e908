/*
 * sock.h - the monitor sockets of one core: listening stream sockets and
 * raw sockets (created by the program, kept in creation order, which is
 * the order callbacks run in), and the active sockets the engine creates,
 * one per flow and accepting listener.
 *
 * Socket ids index one per-core array; a free id is reused, and each slot
 * carries a generation number so that work queued for a socket that has
 * since been closed is recognised and skipped.
 */
#ifndef MB_SOCK_H
#define MB_SOCK_H

#include <pcap/bpf.h>
#include <stdint.h>

#include "event.h"

#define SOCK_MAX_PASSIVE	64
#define SOCK_NONE		UINT32_MAX

struct core;

/* Listening or raw socket extras. */
struct lsock {
	struct bpf_program *syn;	/* stream: first-SYN filter */
	struct bpf_program *orphan;	/* stream: orphan filter */
	struct bpf_program *raw;	/* raw: packet filter */
	uint8_t bufoff;		/* sides (bit per side) new flows don't buffer */
	uint8_t overlap_last;	/* sides whose new buffers keep the last copy */
	uint32_t win[2];	/* buffer window per side, 0: configured */
};

struct sock {
	uint8_t type;		/* enum socket_type; MOS_SOCK_UNUSED if free */
	uint8_t mon;		/* sides still monitored (bit per side) */
	uint8_t bufoff;		/* active: sides this socket does not buffer */
	uint8_t owner;		/* passive: 0 (C), or the Lua script that
				   opened it (its generation + 1) */
	uint32_t gen;		/* bumped when the slot is freed */
	uint32_t flow;		/* active: flow index */
	uint32_t next;		/* active: next socket of the flow; free list */
	uint32_t listener;	/* active: the listener it was created from */
	struct evtree *tree;	/* callbacks */
	void *uctx;
	union {
		uint64_t peek[2];	/* active: read offset per side */
		struct lsock *ls;	/* passive */
	};
};

struct socktbl {
	struct sock *s;
	uint32_t cap;
	uint32_t free_head;
	uint32_t used;
	int npassive;
	uint32_t passive[SOCK_MAX_PASSIVE];	/* creation order */
	int nstream;		/* stream listeners among them */
	int nraw;		/* raw sockets among them */
};

int
sock_table_init(struct socktbl *t, uint32_t cap);

void
sock_table_free(struct socktbl *t);

/* Create a listening (MOS_SOCK_MONITOR_STREAM) or raw socket. Returns the
 * id, or -ENFILE / -ENOMEM. */
int
sock_new_passive(struct socktbl *t, int type);

/* Create an active socket for a flow; returns the id or SOCK_NONE. */
uint32_t
sock_new_active(struct socktbl *t, uint32_t listener, uint32_t flow);

/* Free a socket (unlinking a passive one from the creation order). */
void
sock_free(struct socktbl *t, uint32_t id);

static inline struct sock *
sock_at(struct socktbl *t, uint32_t id)
{
	if (id >= t->cap || t->s[id].type == MOS_SOCK_UNUSED)
		return NULL;
	return &t->s[id];
}

/* The socket `id` of a core, or NULL (defined in core.h's terms). */
struct sock *
sock_get(struct core *c, uint32_t id);

#endif /* MB_SOCK_H */
