/*
 * flowtbl.c - per-core flow table: index (fidx.h), slot pool, lists
 * (see flow.h).
 *
 * The slot array and the free stack are lazy mappings (lazymap.h) and
 * slots are handed out from the bottom up: a table sized for millions of
 * flows costs memory only for the slots traffic touched.
 * The index has room for twice as many keys as slots (a rewritten flow
 * has two keys), so an insert cannot fail before the pool is exhausted.
 */
#include <errno.h>
#include <string.h>

#include "flow.h"
#include "lazymap.h"

int
flowtbl_init(struct flowtbl *t, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (fidx_init(&t->ix, cap * 2 < 16 ? 16 : cap * 2) != 0)
		return -ENOMEM;
	/* Sized first: flowtbl_destroy unmaps by it. */
	t->cap = cap;
	t->f = lazymap(sizeof(struct flow) * (size_t)cap);
	t->free = lazymap(sizeof(uint32_t) * (size_t)cap);
	if (t->f == NULL || t->free == NULL) {
		flowtbl_destroy(t);
		return -ENOMEM;
	}
	t->lru_head = t->lru_tail = FLOW_NONE;
	t->tw_head = t->tw_tail = FLOW_NONE;
	return 0;
}

void
flowtbl_destroy(struct flowtbl *t)
{
	fidx_destroy(&t->ix);
	lazyunmap(t->f, sizeof(struct flow) * (size_t)t->cap);
	lazyunmap(t->free, sizeof(uint32_t) * (size_t)t->cap);
	memset(t, 0, sizeof(*t));
}

uint32_t
flowtbl_alloc(struct flowtbl *t)
{
	uint32_t idx, gen;

	if (t->nfree > 0)
		idx = t->free[--t->nfree];
	else if (t->used < t->cap)
		idx = t->used++;
	else
		return FLOW_NONE;
	gen = t->f[idx].gen;
	/* One compound literal, stored inline, not memset's call. */
	t->f[idx] = (struct flow){ .gen = gen, .prev = FLOW_NONE,
				   .next = FLOW_NONE };
	return idx;
}

void
flowtbl_release(struct flowtbl *t, uint32_t idx)
{
	flowtbl_list_remove(t, idx);
	t->f[idx].gen++;
	t->free[t->nfree++] = idx;
}

int
flowtbl_add_key(struct flowtbl *t, const struct fkey *k, uint32_t hash,
		uint32_t idx)
{
	return fidx_add(&t->ix, fkey_ips(k), fkey_ports(k), hash, idx);
}

int
flowtbl_insert_key(struct flowtbl *t, const struct fkey *k, uint32_t hash,
		   uint32_t idx)
{
	return fidx_insert(&t->ix, fkey_ips(k), fkey_ports(k), hash, idx);
}

void
flowtbl_del_key(struct flowtbl *t, const struct fkey *k, uint32_t hash)
{
	fidx_del(&t->ix, fkey_ips(k), fkey_ports(k), hash);
}

void
flowtbl_list_remove(struct flowtbl *t, uint32_t idx)
{
	struct flow *f = &t->f[idx];
	uint32_t *head, *tail;

	if (f->list == FLIST_NONE)
		return;
	head = f->list == FLIST_LRU ? &t->lru_head : &t->tw_head;
	tail = f->list == FLIST_LRU ? &t->lru_tail : &t->tw_tail;
	if (f->prev != FLOW_NONE)
		t->f[f->prev].next = f->next;
	else
		*head = f->next;
	if (f->next != FLOW_NONE)
		t->f[f->next].prev = f->prev;
	else
		*tail = f->prev;
	f->prev = f->next = FLOW_NONE;
	f->list = FLIST_NONE;
}

void
flowtbl_list_tail(struct flowtbl *t, uint32_t idx, int list)
{
	struct flow *f = &t->f[idx];
	uint32_t *head, *tail;

	if (f->list == list && f->next == FLOW_NONE)
		return;		/* already the most recent */
	flowtbl_list_remove(t, idx);
	head = list == FLIST_LRU ? &t->lru_head : &t->tw_head;
	tail = list == FLIST_LRU ? &t->lru_tail : &t->tw_tail;
	f->prev = *tail;
	f->next = FLOW_NONE;
	if (*tail != FLOW_NONE)
		t->f[*tail].next = idx;
	else
		*head = idx;
	*tail = idx;
	f->list = (uint8_t)list;
}
