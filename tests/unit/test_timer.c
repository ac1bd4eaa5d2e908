/*
 * test_timer.c - unit tests of the user-timer heap (engine/timer.c):
 * deadline order, arming order among equal deadlines, due-time checks,
 * rebasing, growth, and random sequences of arming, popping and dropping a
 * reloaded script's timers checked against a sorted reference.
 *
 * TIMER_FUZZ_SEED (environment) sets the seed of the random test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timer.h"

static void
arm(struct timers *t, uint64_t deadline, int32_t id)
{
	struct utimer u = { .deadline = deadline, .id = id, .gen = ~0u,
			    .c = NULL, .lua = id };

	assert_int_equal(timers_add(t, &u), 0);
}

/* Pop one due timer and check its id and deadline. */
static void
pop_expect(struct timers *t, uint64_t now, int32_t id, uint64_t deadline)
{
	struct utimer u;

	memset(&u, 0, sizeof(u));
	assert_int_equal(timers_pop_due(t, now, &u), 1);
	assert_int_equal(u.id, id);
	assert_int_equal(u.deadline, deadline);
	assert_int_equal(u.lua, id);
	assert_int_equal(u.gen, ~0u);
}

static void
test_empty(void **state)
{
	struct timers t;
	struct utimer u;

	(void)state;
	timers_init(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(timers_pop_due(&t, UINT64_MAX, &u), 0);
	timers_rebase(&t, 1000);
	assert_int_equal(timers_pop_due(&t, UINT64_MAX, &u), 0);
	timers_free(&t);
	timers_free(&t);	/* freeing twice is harmless */
}

static void
test_order(void **state)
{
	static const uint64_t dl[] = { 50, 10, 40, 20, 30, 5, 45, 15 };
	static const int32_t order[] = { 5, 1, 7, 3, 4, 2, 6, 0 };
	struct timers t;
	struct utimer u;
	int i;

	(void)state;
	timers_init(&t);
	for (i = 0; i < 8; i++)
		arm(&t, dl[i], i);
	assert_int_equal(t.n, 8);
	/* Nothing is due before the earliest deadline. */
	assert_int_equal(timers_pop_due(&t, 4, &u), 0);
	assert_int_equal(t.n, 8);
	/* A deadline equal to now is due. */
	pop_expect(&t, 5, 5, 5);
	assert_int_equal(timers_pop_due(&t, 9, &u), 0);
	for (i = 1; i < 8; i++)
		pop_expect(&t, 1000, order[i], dl[order[i]]);
	assert_int_equal(t.n, 0);
	assert_int_equal(timers_pop_due(&t, 1000, &u), 0);
	timers_free(&t);
}

/* Equal deadlines fire in the order they were armed, also when armed
 * between pops and mixed with other deadlines. */
static void
test_equal_deadlines(void **state)
{
	struct timers t;
	int i;

	(void)state;
	timers_init(&t);
	for (i = 0; i < 40; i++)
		arm(&t, i % 2 ? 100 : 200, i);
	pop_expect(&t, 100, 1, 100);
	pop_expect(&t, 100, 3, 100);
	arm(&t, 100, 1000);
	arm(&t, 50, 1001);
	pop_expect(&t, 100, 1001, 50);
	for (i = 5; i < 40; i += 2)
		pop_expect(&t, 100, i, 100);
	pop_expect(&t, 100, 1000, 100);
	for (i = 0; i < 40; i += 2)
		pop_expect(&t, 200, i, 200);
	assert_int_equal(t.n, 0);
	timers_free(&t);
}

/* The packet clock starts at the first packet's time: deadlines armed
 * before it (relative to 0) move by the same amount, order kept. */
static void
test_rebase(void **state)
{
	const uint64_t base = 1700000000000ULL;
	struct timers t;
	struct utimer u;

	(void)state;
	timers_init(&t);
	arm(&t, 300, 1);
	arm(&t, 100, 2);
	arm(&t, 300, 3);
	arm(&t, 200, 4);
	timers_rebase(&t, base);
	assert_int_equal(timers_pop_due(&t, 300, &u), 0);
	assert_int_equal(timers_pop_due(&t, base + 99, &u), 0);
	pop_expect(&t, base + 100, 2, base + 100);
	pop_expect(&t, base + 250, 4, base + 200);
	assert_int_equal(timers_pop_due(&t, base + 250, &u), 0);
	/* A timer armed after the rebase is ordered with the others. */
	arm(&t, base + 300, 5);
	arm(&t, base + 260, 6);
	pop_expect(&t, base + 1000, 6, base + 260);
	pop_expect(&t, base + 1000, 1, base + 300);
	pop_expect(&t, base + 1000, 3, base + 300);
	pop_expect(&t, base + 1000, 5, base + 300);
	assert_int_equal(t.n, 0);
	timers_free(&t);
}

/* Deadlines beyond the clock's range are never due, not wrapped into the
 * past (where the timer would fire at once, and again when re-armed). */
static void
test_saturate(void **state)
{
	struct timers t;
	struct utimer u;

	(void)state;
	assert_true(timers_after(10, 5) == 15);
	assert_true(timers_after(UINT64_MAX - 5, 5) == UINT64_MAX);
	assert_true(timers_after(UINT64_MAX - 5, 6) == UINT64_MAX);
	assert_true(timers_after(7, UINT64_MAX) == UINT64_MAX);
	timers_init(&t);
	arm(&t, 100, 1);
	arm(&t, UINT64_MAX - 10, 2);
	arm(&t, 50, 3);
	timers_rebase(&t, 100);
	/* 3 and 1 moved by 100; 2 stopped at the end of the clock, still
	 * last. */
	pop_expect(&t, 1000, 3, 150);
	pop_expect(&t, 1000, 1, 200);
	assert_int_equal(timers_pop_due(&t, UINT64_MAX - 1, &u), 0);
	pop_expect(&t, UINT64_MAX, 2, UINT64_MAX);
	timers_free(&t);
}

/* Fields other than the deadline come out as they went in. */
static void
test_payload(void **state)
{
	struct timers t;
	struct utimer in = { .deadline = 7, .id = -3, .gen = 99,
			     .c = NULL, .lua = 42 }, out;

	(void)state;
	timers_init(&t);
	assert_int_equal(timers_add(&t, &in), 0);
	assert_int_equal(timers_pop_due(&t, 7, &out), 1);
	assert_int_equal(out.deadline, 7);
	assert_int_equal(out.id, -3);
	assert_int_equal(out.gen, 99);
	assert_null(out.c);
	assert_int_equal(out.lua, 42);
	timers_free(&t);
}

/* -- Random sequences against a sorted reference -------------------------- */

struct ref {
	uint64_t deadline;
	uint64_t order;		/* arming order */
	int32_t id;
};

static struct ref refv[20000];
static int nref;

static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Index of the reference timer that must fire next, -1 if none. */
static int
ref_first(void)
{
	int i, best = -1;

	for (i = 0; i < nref; i++)
		if (best < 0 || refv[i].deadline < refv[best].deadline ||
		    (refv[i].deadline == refv[best].deadline &&
		     refv[i].order < refv[best].order))
			best = i;
	return best;
}

static void
test_random(void **state)
{
	const char *env = getenv("TIMER_FUZZ_SEED");
	uint64_t now = 0, armed = 0;
	struct timers t;
	struct utimer u;
	int round, k;

	(void)state;
	rng = env != NULL ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	if (rng == 0)
		rng = 1;
	timers_init(&t);
	nref = 0;
	for (round = 0; round < 3000; round++) {
		int adds = (int)(rnd() % 8);

		for (k = 0; k < adds && nref < 20000; k++) {
			/* Few distinct deadlines, so ties are common. */
			uint64_t dl = now + rnd() % 64;
			int32_t id = (int32_t)armed;

			arm(&t, dl, id);
			refv[nref++] = (struct ref){ dl, armed, id };
			armed++;
		}
		now += rnd() % 10;
		for (;;) {
			int b = ref_first();

			if (b < 0 || refv[b].deadline > now) {
				assert_int_equal(timers_pop_due(&t, now, &u),
						 0);
				break;
			}
			pop_expect(&t, now, refv[b].id, refv[b].deadline);
			refv[b] = refv[--nref];
		}
		assert_int_equal(t.n, (uint32_t)nref);
		/* Sometimes a script is reloaded: its timers go, the rest
		 * keep their order. */
		if (round % 300 == 150 && armed > 0) {
			int32_t lo = (int32_t)(rnd() % armed);
			int32_t hi = lo + (int32_t)(rnd() % 200);
			uint32_t want = 0;

			for (k = 0; k < nref;) {
				if (refv[k].id >= lo && refv[k].id < hi) {
					refv[k] = refv[--nref];
					want++;
				} else {
					k++;
				}
			}
			assert_int_equal(timers_drop_lua(&t, lo, hi), want);
			assert_int_equal(t.n, (uint32_t)nref);
		}
		/* Sometimes the clock jumps: everything moves with it. */
		if (round % 500 == 250) {
			uint64_t d = rnd() % 100000;

			timers_rebase(&t, d);
			for (k = 0; k < nref; k++)
				refv[k].deadline += d;
			now += d;
		}
	}
	/* Drain. */
	while (nref > 0) {
		int b = ref_first();

		pop_expect(&t, UINT64_MAX, refv[b].id, refv[b].deadline);
		refv[b] = refv[--nref];
	}
	assert_int_equal(timers_pop_due(&t, UINT64_MAX, &u), 0);
	assert_true(armed > 5000);
	timers_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_equal_deadlines),
		cmocka_unit_test(test_rebase),
		cmocka_unit_test(test_saturate),
		cmocka_unit_test(test_payload),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
