/*
 * sock.c - per-core socket table (see sock.h).
 *
 * The slots live in a lazy mapping (lazymap.h) sized for the configured
 * number of flows: a large table costs nothing until traffic needs it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf.h"
#include "core.h"
#include "lazymap.h"
#include "sock.h"

int
sock_table_init(struct socktbl *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	t->s = lazymap(sizeof(struct sock) * (size_t)cap);
	if (t->s == NULL)
		return -ENOMEM;
	t->cap = cap;
	/* Ids come from the free list first, else from the next never-used
	 * slot (used is the high-water mark): slots are linked only once
	 * freed, so untouched pages stay unbacked. */
	t->free_head = SOCK_NONE;
	t->used = 0;
	return 0;
}

static void
free_filters(struct lsock *ls)
{
	if (ls == NULL)
		return;
	bpf_prog_free(ls->syn);
	bpf_prog_free(ls->orphan);
	bpf_prog_free(ls->raw);
	free(ls);
}

void
sock_table_free(struct socktbl *t)
{
	uint32_t i;

	if (t->s == NULL)
		return;
	for (i = 0; i < t->used; i++) {
		struct sock *s = &t->s[i];

		if (s->type == MOS_SOCK_UNUSED)
			continue;
		evtree_unref(s->tree);
		if (s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE)
			free_filters(s->ls);
	}
	lazyunmap(t->s, sizeof(struct sock) * (size_t)t->cap);
	memset(t, 0, sizeof(*t));
}

static uint32_t
take_slot(struct socktbl *t)
{
	uint32_t id;

	if (t->free_head != SOCK_NONE) {
		id = t->free_head;
		t->free_head = t->s[id].next;
		return id;
	}
	if (t->used == t->cap)
		return SOCK_NONE;
	return t->used++;
}

int
sock_new_passive(struct socktbl *t, int type)
{
	struct sock *s;
	uint32_t id;

	if (t->npassive == SOCK_MAX_PASSIVE)
		return -ENFILE;
	id = take_slot(t);
	if (id == SOCK_NONE)
		return -ENFILE;
	s = &t->s[id];
	s->ls = calloc(1, sizeof(struct lsock));
	if (s->ls == NULL) {
		s->next = t->free_head;
		t->free_head = id;
		return -ENOMEM;
	}
	s->type = (uint8_t)type;
	s->owner = 0;
	s->mon = (1u << MOS_SIDE_CLI) | (1u << MOS_SIDE_SVR);
	s->tree = evtree_empty();
	s->uctx = NULL;
	s->next = SOCK_NONE;
	t->passive[t->npassive++] = id;
	if (type == MOS_SOCK_MONITOR_STREAM)
		t->nstream++;
	else
		t->nraw++;
	return (int)id;
}

uint32_t
sock_new_active(struct socktbl *t, uint32_t listener, uint32_t flow)
{
	struct sock *l = &t->s[listener], *s;
	uint32_t id = take_slot(t);

	if (id == SOCK_NONE)
		return SOCK_NONE;
	s = &t->s[id];
	s->type = MOS_SOCK_MONITOR_STREAM_ACTIVE;
	s->mon = l->mon;
	s->bufoff = l->ls->bufoff;
	s->flow = flow;
	s->next = SOCK_NONE;
	s->listener = listener;
	s->tree = evtree_ref(l->tree);
	s->uctx = NULL;
	s->peek[0] = 0;
	s->peek[1] = 0;
	return id;
}

void
sock_free(struct socktbl *t, uint32_t id)
{
	struct sock *s = &t->s[id];
	int i;

	if (s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE) {
		for (i = 0; i < t->npassive; i++) {
			if (t->passive[i] != id)
				continue;
			memmove(&t->passive[i], &t->passive[i + 1],
				sizeof(uint32_t) * (size_t)(t->npassive - i - 1));
			t->npassive--;
			break;
		}
		if (s->type == MOS_SOCK_MONITOR_STREAM)
			t->nstream--;
		else
			t->nraw--;
		free_filters(s->ls);
	}
	evtree_unref(s->tree);
	s->type = MOS_SOCK_UNUSED;
	s->gen++;
	s->tree = NULL;
	s->uctx = NULL;
	s->next = t->free_head;
	t->free_head = id;
}

struct sock *
sock_get(struct core *c, uint32_t id)
{
	return sock_at(&c->socks, id);
}
