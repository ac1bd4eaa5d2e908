/*
 * test_flowtbl.c - unit tests of the per-core flow table
 * (engine/flowtbl.c and flow_key in flow.h): the symmetric key and hash,
 * keys added, found in both directions and deleted, the index (fidx.h:
 * probing past full buckets, deletions, fullness, and a long random run
 * checked against a plain array), the slot pool (exhaustion, release,
 * reuse with a new generation), and the LRU and time-wait lists threaded
 * through the flows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow.h"
#include "rt.h"

static void
tbl_init(struct flowtbl *t, uint32_t cap)
{
	assert_int_equal(flowtbl_init(t, cap), 0);
	assert_int_equal(flowtbl_active(t), 0);
	assert_int_equal(t->lru_head, FLOW_NONE);
	assert_int_equal(t->tw_head, FLOW_NONE);
}

static uint32_t
ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static int
key_eq(struct fkey a, struct fkey b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* -- Keys ----------------------------------------------------------------- */

static void
test_key_symmetric(void **state)
{
	uint32_t a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("192.168.1.1");
	uint16_t p1 = htons(1234), p2 = htons(80), p3 = htons(443);

	(void)state;
	assert_true(key_eq(flow_key(a, b, p1, p2), flow_key(b, a, p2, p1)));
	assert_true(key_eq(flow_key(c, a, p3, p1), flow_key(a, c, p1, p3)));
	/* Same address both ends: ports decide, still symmetric. */
	assert_true(key_eq(flow_key(a, a, p1, p2), flow_key(a, a, p2, p1)));
	assert_true(key_eq(flow_key(a, a, p1, p1), flow_key(a, a, p1, p1)));
	/* Different tuples differ. */
	assert_false(key_eq(flow_key(a, b, p1, p2), flow_key(a, b, p2, p1)));
	assert_false(key_eq(flow_key(a, b, p1, p2), flow_key(a, c, p1, p2)));
	assert_false(key_eq(flow_key(a, b, p1, p2), flow_key(a, b, p1, p3)));
	assert_false(key_eq(flow_key(a, a, p1, p2), flow_key(a, a, p1, p3)));
	/* The hash too. */
	assert_int_equal(rt_sym_hash(a, b, p1, p2), rt_sym_hash(b, a, p2, p1));
	assert_int_equal(rt_sym_hash(a, a, p1, p2), rt_sym_hash(a, a, p2, p1));
	assert_int_not_equal(rt_sym_hash(a, b, p1, p2),
			     rt_sym_hash(a, b, p2, p1));
}

/* The flow hash is DPDK's CRC32-C of the ordered addresses then ports,
 * whichever way rt.h computes it (the distributor and other cores must
 * agree, and tools that place flows on cores by it). */
static void
test_hash_is_dpdk_crc(void **state)
{
	uint32_t x = 2463534242u;
	int i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		uint32_t lo, hi, ports;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		lo = x;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		hi = x;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		ports = x;
		assert_int_equal(rt_sym_hash_ordered(lo, hi,
				(uint16_t)(ports >> 16), (uint16_t)ports),
			rte_hash_crc_4byte(ports, rte_hash_crc_4byte(hi,
				rte_hash_crc_4byte(lo, 0))));
	}
	/* A known value, from a bitwise CRC32-C (reflected 0x82F63B78, no
	 * final xor) of the bytes 1, 2, ..., 12 as the words are stored. */
	assert_int_equal(rt_sym_hash_ordered(0x04030201u, 0x08070605u, 0x0c0b,
					     0x0a09), 0x7ac1e03eu);
}

static void
test_add_lookup_del(void **state)
{
	struct flowtbl t;
	uint32_t a = ip("10.1.0.7"), b = ip("10.2.0.1"), n = ip("198.51.100.9");
	uint16_t pa = htons(40000), pb = htons(80), pn = htons(61000);
	struct fkey k1 = flow_key(a, b, pa, pb), k1r = flow_key(b, a, pb, pa);
	struct fkey k2 = flow_key(n, b, pn, pb);
	uint32_t h1 = rt_sym_hash(a, b, pa, pb), h2 = rt_sym_hash(n, b, pn, pb);
	uint32_t f, g;

	(void)state;
	tbl_init(&t, 16);
	assert_int_equal(flowtbl_lookup(&t, &k1, h1), FLOW_NONE);
	f = flowtbl_alloc(&t);
	g = flowtbl_alloc(&t);
	assert_int_not_equal(f, FLOW_NONE);
	assert_int_not_equal(g, f);
	assert_int_equal(flowtbl_add_key(&t, &k1, h1, f), 0);
	assert_int_equal(flowtbl_lookup(&t, &k1, h1), f);
	/* The reply direction finds the same flow. */
	assert_int_equal(flowtbl_lookup(&t, &k1r,
					rt_sym_hash(b, a, pb, pa)), f);
	/* A second key (a NAT's rewritten tuple) for the same flow. */
	assert_int_equal(flowtbl_add_key(&t, &k2, h2, f), 0);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), f);
	assert_int_equal(flowtbl_lookup(&t, &k1, h1), f);
	/* Another flow's key. */
	k2.lo_port ^= 1;
	h2 = rt_sym_hash(k2.lo_ip, k2.hi_ip, k2.lo_port, k2.hi_port);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), FLOW_NONE);
	assert_int_equal(flowtbl_add_key(&t, &k2, h2, g), 0);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), g);
	/* Adding a key again updates its flow. */
	assert_int_equal(flowtbl_add_key(&t, &k2, h2, f), 0);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), f);

	flowtbl_del_key(&t, &k1, h1);
	assert_int_equal(flowtbl_lookup(&t, &k1, h1), FLOW_NONE);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), f);
	flowtbl_del_key(&t, &k1, h1);	/* deleting twice is harmless */
	flowtbl_del_key(&t, &k2, h2);
	assert_int_equal(flowtbl_lookup(&t, &k2, h2), FLOW_NONE);
	flowtbl_destroy(&t);
}

/* -- Index -------------------------------------------------------------- */

#define KEY(k) fkey_ips(&(k)), fkey_ports(&(k))

static struct fkey
nth_key(uint32_t i)
{
	return flow_key(htonl(0x0a000000u + i), htonl(0xc0a80001u),
			htons((uint16_t)(1024 + i % 50000)), htons(80));
}

/* All keys on one home bucket: they spill over into the following ones,
 * stay reachable, and deleting any of them leaves the others reachable
 * and the overflow counts back at zero. */
static void
test_index_collisions(void **state)
{
	struct fidx x;
	struct fkey k[20];
	uint32_t i, j;

	(void)state;
	assert_int_equal(fidx_init(&x, 40), 0);
	for (i = 0; i < 20; i++) {
		k[i] = nth_key(i);
		assert_int_equal(fidx_add(&x, KEY(k[i]), 7, i), 0);
	}
	assert_int_equal(x.n, 20);
	assert_true(x.ovf[fidx_home(&x, 7)] > 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(fidx_lookup(&x, KEY(k[i]), 7), i);
	/* Same key, other hash: another home bucket, not found. */
	assert_int_equal(fidx_lookup(&x, KEY(k[0]), 7 + (1u << 30)), FIDX_NONE);
	for (i = 0; i < 20; i += 2)
		fidx_del(&x, KEY(k[i]), 7);
	for (i = 0; i < 20; i++)
		assert_int_equal(fidx_lookup(&x, KEY(k[i]), 7),
				 i % 2 ? i : FIDX_NONE);
	/* Re-adding fills the holes near home. */
	for (i = 0; i < 20; i += 2)
		assert_int_equal(fidx_add(&x, KEY(k[i]), 7, 100 + i), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(fidx_lookup(&x, KEY(k[i]), 7),
				 i % 2 ? i : 100 + i);
	for (i = 0; i < 20; i++)
		fidx_del(&x, KEY(k[i]), 7);
	assert_int_equal(x.n, 0);
	for (j = 0; j < x.nb; j++)
		assert_int_equal(x.ovf[j], 0);
	/* Wrap-around: keys homed on the last bucket spill into the first. */
	for (i = 0; i < 9; i++) {
		uint32_t h = 0;

		while (fidx_home(&x, h) != x.nb - 1)
			h++;
		assert_int_equal(fidx_add(&x, KEY(k[i]), h, i), 0);
		assert_int_equal(fidx_lookup(&x, KEY(k[i]), h), i);
	}
	assert_int_equal(fidx_add(&x, KEY(k[0]), 0, FIDX_NONE), -EINVAL);
	assert_int_equal(fidx_insert(&x, KEY(k[19]), 0, FIDX_NONE), -EINVAL);
	fidx_destroy(&x);
}

/* Up to max keys go in, one more is refused; after a deletion there is
 * room again. */
static void
test_index_full(void **state)
{
	struct fidx x;
	struct fkey k;
	uint32_t i;

	(void)state;
	assert_int_equal(fidx_init(&x, 100), 0);
	assert_true(x.nb * FIDX_WAYS >= 125);
	for (i = 0; i < 100; i++) {
		k = nth_key(i);
		assert_int_equal(fidx_add(&x, KEY(k), i * 2654435761u, i), 0);
	}
	k = nth_key(100);
	assert_int_equal(fidx_add(&x, KEY(k), 1, 100), -ENOSPC);
	assert_int_equal(fidx_lookup(&x, KEY(k), 1), FIDX_NONE);
	/* Replacing a key's value needs no room. */
	k = nth_key(5);
	assert_int_equal(fidx_add(&x, KEY(k), 5 * 2654435761u, 555), 0);
	assert_int_equal(fidx_lookup(&x, KEY(k), 5 * 2654435761u), 555);
	fidx_del(&x, KEY(k), 5 * 2654435761u);
	k = nth_key(100);
	assert_int_equal(fidx_add(&x, KEY(k), 1, 100), 0);
	for (i = 0; i < 100; i++) {
		k = nth_key(i);
		assert_int_equal(fidx_lookup(&x, KEY(k), i * 2654435761u),
				 i == 5 ? FIDX_NONE : i);
	}
	fidx_destroy(&x);
}

/* A long random run of adds (and inserts of absent keys), deletes and
 * lookups with few distinct hash values (so probing and wrap-around are
 * exercised), against a model. */
static void
test_index_model(void **state)
{
	enum { NKEYS = 600, MAX = 400 };
	static uint32_t model[NKEYS];
	struct fidx x;
	uint32_t i, n = 0, r = 12345;

	(void)state;
	assert_int_equal(fidx_init(&x, MAX), 0);
	for (i = 0; i < NKEYS; i++)
		model[i] = FIDX_NONE;
	for (i = 0; i < 200000; i++) {
		uint32_t key_no, hash, op;
		struct fkey k;

		r = r * 1103515245u + 12345u;
		key_no = (r >> 8) % NKEYS;
		op = (r >> 4) % 3;
		k = nth_key(key_no);
		hash = (key_no % 37) * 0x05f5e101u;
		if (op == 0) {
			/* A key the model says is absent goes in by
			 * fidx_insert half the time: the same results. */
			int rc = model[key_no] == FIDX_NONE && ((r >> 20) & 1) ?
				 fidx_insert(&x, KEY(k), hash, i) :
				 fidx_add(&x, KEY(k), hash, i);

			if (model[key_no] == FIDX_NONE && n == MAX) {
				assert_int_equal(rc, -ENOSPC);
			} else {
				assert_int_equal(rc, 0);
				n += model[key_no] == FIDX_NONE;
				model[key_no] = i;
			}
		} else if (op == 1) {
			fidx_del(&x, KEY(k), hash);
			n -= model[key_no] != FIDX_NONE;
			model[key_no] = FIDX_NONE;
		} else {
			assert_int_equal(fidx_lookup(&x, KEY(k), hash),
					 model[key_no]);
		}
		assert_int_equal(x.n, n);
	}
	for (i = 0; i < NKEYS; i++) {
		struct fkey k = nth_key(i);

		assert_int_equal(fidx_lookup(&x, KEY(k), (i % 37) * 0x05f5e101u),
				 model[i]);
	}
	fidx_destroy(&x);
}

/* -- Slots ---------------------------------------------------------------- */

static void
test_capacity(void **state)
{
	struct flowtbl t;
	uint32_t idx[8], i, j, again, gen;
	struct fkey k;

	(void)state;
	tbl_init(&t, 8);
	for (i = 0; i < 8; i++) {
		idx[i] = flowtbl_alloc(&t);
		assert_true(idx[i] < 8);
		for (j = 0; j < i; j++)
			assert_int_not_equal(idx[i], idx[j]);
		assert_int_equal(t.f[idx[i]].prev, FLOW_NONE);
		assert_int_equal(t.f[idx[i]].next, FLOW_NONE);
		assert_int_equal(t.f[idx[i]].list, FLIST_NONE);
		assert_int_equal(flowtbl_active(&t), i + 1);
	}
	assert_int_equal(flowtbl_alloc(&t), FLOW_NONE);
	assert_int_equal(flowtbl_alloc(&t), FLOW_NONE);
	assert_int_equal(flowtbl_active(&t), 8);

	/* The hash holds two keys per slot. */
	for (i = 0; i < 16; i++) {
		k = flow_key(htonl(0x0a000000u + i), htonl(0x0b000000u),
			     htons(1000), htons(80));
		assert_int_equal(flowtbl_add_key(&t, &k,
			rt_sym_hash(k.lo_ip, k.hi_ip, k.lo_port, k.hi_port),
			idx[i % 8]), 0);
	}
	for (i = 0; i < 16; i++) {
		k = flow_key(htonl(0x0a000000u + i), htonl(0x0b000000u),
			     htons(1000), htons(80));
		assert_int_equal(flowtbl_lookup(&t, &k,
			rt_sym_hash(k.lo_ip, k.hi_ip, k.lo_port, k.hi_port)),
			idx[i % 8]);
	}

	/* Release and reuse: the slot comes back zeroed, one generation
	 * later. */
	gen = t.f[idx[3]].gen;
	t.f[idx[3]].flags = FL_SVR | FL_ADJ;
	t.f[idx[3]].nsocks = 3;
	t.f[idx[3]].last_ms = 12345;
	t.f[idx[3]].h[MOS_SIDE_CLI].state = TCP_ESTABLISHED;
	flowtbl_release(&t, idx[3]);
	assert_int_equal(t.f[idx[3]].gen, gen + 1);
	assert_int_equal(flowtbl_active(&t), 7);
	again = flowtbl_alloc(&t);
	assert_int_equal(again, idx[3]);
	assert_int_equal(t.f[again].gen, gen + 1);
	assert_int_equal(t.f[again].flags, 0);
	assert_int_equal(t.f[again].nsocks, 0);
	assert_int_equal(t.f[again].last_ms, 0);
	assert_int_equal(t.f[again].h[MOS_SIDE_CLI].state, 0);
	assert_int_equal(flowtbl_alloc(&t), FLOW_NONE);

	/* Several released slots are all reused before failing again. */
	flowtbl_release(&t, idx[0]);
	flowtbl_release(&t, idx[7]);
	flowtbl_release(&t, again);
	assert_int_equal(t.f[again].gen, gen + 2);
	assert_int_equal(flowtbl_active(&t), 5);
	for (i = 0; i < 3; i++) {
		uint32_t x = flowtbl_alloc(&t);

		assert_true(x == idx[0] || x == idx[7] || x == again);
	}
	assert_int_equal(flowtbl_alloc(&t), FLOW_NONE);
	assert_int_equal(flowtbl_active(&t), 8);
	assert_int_equal(t.f[again].gen, gen + 2);
	flowtbl_destroy(&t);
}

/* -- Lists ---------------------------------------------------------------- */

/* The list is exactly `want` (head to tail), consistent both ways. */
static void
expect_list(const struct flowtbl *t, int list, const uint32_t *want, int n)
{
	uint32_t head = list == FLIST_LRU ? t->lru_head : t->tw_head;
	uint32_t tail = list == FLIST_LRU ? t->lru_tail : t->tw_tail;
	uint32_t i, prev = FLOW_NONE;
	int k = 0;

	for (i = head; i != FLOW_NONE; i = t->f[i].next) {
		assert_true(k < n);
		assert_int_equal(i, want[k]);
		assert_int_equal(t->f[i].prev, prev);
		assert_int_equal(t->f[i].list, list);
		prev = i;
		k++;
	}
	assert_int_equal(k, n);
	assert_int_equal(tail, n > 0 ? want[n - 1] : FLOW_NONE);
}

#define LIST(t, l, ...) do {						\
	const uint32_t w_[] = { __VA_ARGS__ };				\
	expect_list((t), (l), w_, (int)(sizeof(w_) / sizeof(w_[0])));	\
} while (0)
#define EMPTY(t, l)	expect_list((t), (l), NULL, 0)

static void
test_lists(void **state)
{
	struct flowtbl t;
	uint32_t f[6], i;

	(void)state;
	tbl_init(&t, 8);
	for (i = 0; i < 6; i++)
		f[i] = flowtbl_alloc(&t);
	EMPTY(&t, FLIST_LRU);
	EMPTY(&t, FLIST_TW);
	for (i = 0; i < 5; i++)
		flowtbl_list_tail(&t, f[i], FLIST_LRU);
	LIST(&t, FLIST_LRU, f[0], f[1], f[2], f[3], f[4]);

	/* Activity moves a flow to the tail. */
	flowtbl_list_tail(&t, f[2], FLIST_LRU);
	LIST(&t, FLIST_LRU, f[0], f[1], f[3], f[4], f[2]);
	flowtbl_list_tail(&t, f[0], FLIST_LRU);
	LIST(&t, FLIST_LRU, f[1], f[3], f[4], f[2], f[0]);
	flowtbl_list_tail(&t, f[0], FLIST_LRU);	/* already last */
	LIST(&t, FLIST_LRU, f[1], f[3], f[4], f[2], f[0]);

	/* Removal from the middle, the head, the tail. */
	flowtbl_list_remove(&t, f[4]);
	LIST(&t, FLIST_LRU, f[1], f[3], f[2], f[0]);
	assert_int_equal(t.f[f[4]].list, FLIST_NONE);
	assert_int_equal(t.f[f[4]].prev, FLOW_NONE);
	assert_int_equal(t.f[f[4]].next, FLOW_NONE);
	flowtbl_list_remove(&t, f[4]);		/* not on a list */
	LIST(&t, FLIST_LRU, f[1], f[3], f[2], f[0]);
	flowtbl_list_remove(&t, f[1]);
	LIST(&t, FLIST_LRU, f[3], f[2], f[0]);
	flowtbl_list_remove(&t, f[0]);
	LIST(&t, FLIST_LRU, f[3], f[2]);

	/* To the time-wait list: off the LRU list. */
	flowtbl_list_tail(&t, f[2], FLIST_TW);
	LIST(&t, FLIST_LRU, f[3]);
	LIST(&t, FLIST_TW, f[2]);
	flowtbl_list_tail(&t, f[3], FLIST_TW);
	EMPTY(&t, FLIST_LRU);
	LIST(&t, FLIST_TW, f[2], f[3]);
	flowtbl_list_tail(&t, f[5], FLIST_TW);
	flowtbl_list_tail(&t, f[1], FLIST_LRU);
	flowtbl_list_tail(&t, f[4], FLIST_LRU);
	LIST(&t, FLIST_TW, f[2], f[3], f[5]);
	LIST(&t, FLIST_LRU, f[1], f[4]);
	/* Restarting the wait of a time-wait flow. */
	flowtbl_list_tail(&t, f[2], FLIST_TW);
	LIST(&t, FLIST_TW, f[3], f[5], f[2]);
	/* The last flow of a list, which is also its head. */
	flowtbl_list_tail(&t, f[1], FLIST_TW);
	LIST(&t, FLIST_LRU, f[4]);
	flowtbl_list_remove(&t, f[4]);
	EMPTY(&t, FLIST_LRU);
	LIST(&t, FLIST_TW, f[3], f[5], f[2], f[1]);

	/* Releasing a flow takes it off its list. */
	assert_int_equal(flowtbl_active(&t), 6);
	flowtbl_release(&t, f[5]);
	LIST(&t, FLIST_TW, f[3], f[2], f[1]);
	assert_int_equal(flowtbl_active(&t), 5);
	flowtbl_release(&t, f[3]);
	flowtbl_release(&t, f[1]);
	LIST(&t, FLIST_TW, f[2]);
	assert_int_equal(flowtbl_active(&t), 3);
	/* A reused slot starts on no list. */
	i = flowtbl_alloc(&t);
	assert_true(i == f[1] || i == f[3] || i == f[5]);
	assert_int_equal(t.f[i].list, FLIST_NONE);
	flowtbl_list_tail(&t, i, FLIST_LRU);
	LIST(&t, FLIST_LRU, i);
	LIST(&t, FLIST_TW, f[2]);
	assert_int_equal(flowtbl_active(&t), 4);
	flowtbl_destroy(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_symmetric),
		cmocka_unit_test(test_hash_is_dpdk_crc),
		cmocka_unit_test(test_add_lookup_del),
		cmocka_unit_test(test_index_collisions),
		cmocka_unit_test(test_index_full),
		cmocka_unit_test(test_index_model),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
