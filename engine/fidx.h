/*
 * fidx.h - the flow index: symmetric flow key -> flow slot, one per core.
 *
 * Open addressing over cache-line buckets of four entries, each holding the
 * whole key and the slot, so a lookup that hits its home bucket (nearly all
 * of them: the table is at most 80 % full, 40 % when no flow has a second
 * key) costs one cache line and no call. rte_hash needs three lines (the
 * signature bucket, the key store, and the data) and a call through the
 * PLT; bench/fidx_bench measures both on the same keys.
 *
 * An entry that does not fit its home bucket goes to the next one with room
 * (linear probing); each bucket counts the entries that probed past it, so
 * a lookup stops at the first bucket whose count is 0 and a deletion needs
 * no tombstones (the scheme of folly's F14 tables).
 */
#ifndef MB_FIDX_H
#define MB_FIDX_H

#include <stdint.h>

#define FIDX_NONE	UINT32_MAX
#define FIDX_WAYS	4

struct fidx_ent {
	uint64_t ips;		/* the key */
	uint32_t ports;
	uint32_t val;		/* the value + 1; 0: empty (zero pages are
				   empty buckets) */
};

struct fidx_bucket {
	struct fidx_ent e[FIDX_WAYS];
} __attribute__((aligned(64)));

struct fidx {
	struct fidx_bucket *b;
	uint32_t *ovf;		/* entries that probed past bucket i */
	uint32_t nb;		/* buckets */
	uint32_t n;		/* entries */
	uint32_t max;		/* entries it was sized for */
};

/* A table for up to max entries (which stay below 80 % of its room). */
int
fidx_init(struct fidx *x, uint32_t max);

void
fidx_destroy(struct fidx *x);

/* A key is two words: the addresses (ips) and the ports. They are
 * passed by value: built in registers, not read back from a struct whose
 * halves were just stored (a store-forwarding stall on every packet). */

/* Map a key to val, replacing the value of a key already there. -ENOSPC
 * when max entries are in, -EINVAL for val FIDX_NONE. */
int
fidx_add(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash,
	 uint32_t val);

/* fidx_add for a key known to be absent (looked up in vain since the
 * last change): the same results, without the lookup. */
int
fidx_insert(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash,
	    uint32_t val);

/* Remove a key; absent keys are ignored. */
void
fidx_del(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash);

/* The home bucket: the hash's low bits spread flows over the cores
 * (rt_core_of_hash takes the high ones), so all of it is mixed first. */
static inline uint32_t
fidx_home(const struct fidx *x, uint32_t hash)
{
	return (uint32_t)(((uint64_t)(hash * 0x9e3779b1u) * x->nb) >> 32);
}

static inline void
fidx_prefetch(const struct fidx *x, uint32_t hash)
{
	__builtin_prefetch(&x->b[fidx_home(x, hash)]);
}

/* The entry holding a key, or NULL; *passed counts the buckets probed
 * before its own. Always inlined: the profile build called it out of line
 * on every packet's lookup (track 820.5 -> 808.7 instructions a packet). */
static inline __attribute__((always_inline)) struct fidx_ent *
fidx_find(const struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash,
	  uint32_t *passed)
{
	uint32_t i, b = fidx_home(x, hash), n = 0;

	for (;;) {
		struct fidx_bucket *bk = &x->b[b];

		for (i = 0; i < FIDX_WAYS; i++)
			if (bk->e[i].ips == ips && bk->e[i].ports == ports &&
			    bk->e[i].val != 0) {
				*passed = n;
				return &bk->e[i];
			}
		if (x->ovf[b] == 0 || ++n == x->nb)
			return NULL;
		if (++b == x->nb)
			b = 0;
	}
}

static inline uint32_t
fidx_lookup(const struct fidx *x, uint64_t ips, uint32_t ports,
	    uint32_t hash)
{
	uint32_t passed;
	const struct fidx_ent *e = fidx_find(x, ips, ports, hash, &passed);

	return e != NULL ? e->val - 1 : FIDX_NONE;
}

#endif /* MB_FIDX_H */
