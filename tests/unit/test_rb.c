/*
 * test_rb.c - unit tests of the stream reassembly buffer (engine/rb.c):
 * directed cases for every rule of rb.h, and a randomized differential
 * test against a byte-map reference model (with and without a memory cap).
 *
 * RB_FUZZ_SEQS (environment) sets the number of random sequences per
 * differential test; RB_FUZZ_SEED its seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rb.h"

/* Payload bytes that encode their offset and which copy ("tag") they are,
 * so a test can tell which copy of a retransmitted byte won. */
static uint8_t
pat(uint64_t off, unsigned int tag)
{
	return (uint8_t)(off * 7 + (off >> 8) * 13 + (off >> 29) +
			 tag * 0x55 + 1);
}

static uint8_t segbuf[1 << 17];

static int
wr(struct rb_pool *p, struct rb *b, uint64_t off, uint32_t len,
   unsigned int tag, int policy, struct rb_result *res)
{
	uint32_t i;

	assert_true(len <= sizeof(segbuf));
	for (i = 0; i < len; i++)
		segbuf[i] = pat(off + i, tag);
	return rb_write(p, b, off, segbuf, len, policy, res);
}

/* Every byte of [off, off + len) is buffered and is copy `tag`. */
static void
expect_bytes(const struct rb *b, uint64_t off, uint64_t len, unsigned int tag)
{
	uint64_t i;
	uint8_t c;

	for (i = 0; i < len; i++) {
		c = 0;
		assert_int_equal(rb_read(b, off + i, &c, 1), 1);
		if (c != pat(off + i, tag))
			fail_msg("byte at %llu: 0x%02x, want copy %u (0x%02x)",
				 (unsigned long long)(off + i), c, tag,
				 pat(off + i, tag));
	}
}

static void
expect_state(const struct rb *b, uint64_t head, uint64_t next, uint64_t end)
{
	assert_int_equal(rb_head(b), head);
	assert_int_equal(rb_next(b), next);
	assert_int_equal(rb_end(b), end);
}

static void
expect_res(const struct rb_result *r, uint64_t appended, uint64_t stored,
	   uint64_t dropped, uint64_t skipped, uint64_t discarded, int overlap)
{
	assert_int_equal(r->appended, appended);
	assert_int_equal(r->stored, stored);
	assert_int_equal(r->dropped, dropped);
	assert_int_equal(r->skipped, skipped);
	assert_int_equal(r->discarded, discarded);
	assert_int_equal(r->overlap, overlap);
}

/* rb_plan, then rb_write; the plan must match what the write did. */
static int
pwr(struct rb_pool *p, struct rb *b, uint64_t off, uint32_t len,
    unsigned int tag, int policy, struct rb_result *res)
{
	struct rb_plan pl;
	int rc;

	rb_plan(b, off, len, &pl);
	rc = wr(p, b, off, len, tag, policy, res);
	assert_int_equal(pl.new_head, rb_head(b));
	assert_int_equal(pl.skipped, res->skipped);
	assert_int_equal(pl.discarded, res->discarded);
	assert_int_equal(pl.overlap, res->overlap);
	return rc;
}

static void
expect_runs(const struct rb *b, int n, const uint64_t (*want)[2])
{
	struct rb_run r[RB_MAX_RUNS + 2];
	int i;

	assert_int_equal(rb_runs(b, r, RB_MAX_RUNS + 2), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(r[i].off, want[i][0]);
		assert_int_equal(r[i].len, want[i][1]);
	}
}

/*
 * Directed tests.
 */

static void
test_create(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b;
	struct rb_run r[2];
	uint8_t c;

	assert_non_null(p);
	assert_null(rb_create(p, RB_WINDOW_MIN - 1));
	assert_null(rb_create(p, RB_WINDOW_MAX + 1));
	assert_null(rb_create(NULL, 8192));
	assert_int_equal(rb_pool_bytes(p), 0);
	b = rb_create(p, 1000);
	assert_non_null(b);
	expect_state(b, 0, 0, 0);
	assert_int_equal(rb_capacity(b), 0);
	assert_int_equal(rb_window(b), 1000);
	assert_int_equal(rb_policy(b), RB_FIRST);
	assert_int_equal(rb_read(b, 0, &c, 1), 0);
	assert_int_equal(rb_read(b, 1, &c, 1), -1);
	assert_int_equal(rb_runs(b, r, 2), 0);
	assert_int_equal(rb_mem(b), rb_pool_bytes(p));
	assert_true(rb_mem(b) <= 64);
	assert_int_equal(rb_set_policy(b, 2), -1);
	assert_int_equal(rb_set_policy(b, -1), -1);
	assert_int_equal(rb_policy(b), RB_FIRST);
	assert_int_equal(rb_set_policy(b, RB_LAST), 0);
	assert_int_equal(rb_policy(b), RB_LAST);
	rb_destroy(p, b);
	assert_int_equal(rb_pool_bytes(p), 0);
	rb_destroy(p, NULL);
	rb_pool_destroy(p);
	rb_pool_destroy(NULL);
}

static void
test_invalid_args(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;
	uint8_t c = 0;

	assert_int_equal(rb_write(p, NULL, 0, &c, 1, RB_FIRST, &res), -1);
	assert_int_equal(res.reason, RB_INVAL);
	assert_int_equal(rb_write(p, b, 0, NULL, 1, RB_FIRST, &res), -1);
	assert_int_equal(res.reason, RB_INVAL);
	expect_state(b, 0, 0, 0);
	/* Empty segments are fine, change nothing, even without data. */
	assert_int_equal(rb_write(p, b, 5, NULL, 0, RB_FIRST, &res), 0);
	expect_res(&res, 0, 0, 0, 0, 0, 0);
	assert_int_equal(res.reason, RB_OK);
	expect_state(b, 0, 0, 0);
	/* res may be NULL. */
	assert_int_equal(rb_write(p, b, 0, &c, 1, RB_FIRST, NULL), 0);
	expect_state(b, 0, 1, 1);
	/* Without a pool nothing can be allocated: NOMEM, not a crash. */
	assert_int_equal(rb_write(NULL, b, 1, segbuf, 80, RB_FIRST, &res), -1);
	assert_int_equal(res.reason, RB_NOMEM);
	expect_res(&res, 63, 63, 17, 0, 0, 0);
	expect_state(b, 0, 64, 64);
	assert_int_equal(rb_mem(NULL), 0);
	assert_int_equal(rb_read(NULL, 0, &c, 1), -1);
	assert_int_equal(rb_runs(NULL, NULL, 4), 0);
	assert_int_equal(rb_replace_tail(p, NULL, 0, &c, 1), -1);
	assert_int_equal(rb_replace_tail(p, b, 0, NULL, 1), -1);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_inorder(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 8192);
	struct rb_result res;
	uint8_t buf[3000];
	uint64_t off = 0;
	int i;

	for (i = 1; i <= 20; i++) {
		assert_int_equal(pwr(p, b, off, (uint32_t)(i * 10), 0,
				     RB_FIRST, &res), 0);
		expect_res(&res, (uint64_t)i * 10, (uint64_t)i * 10, 0, 0, 0,
			   0);
		assert_int_equal(res.reason, RB_OK);
		off += (uint64_t)i * 10;
		expect_state(b, 0, off, off);
	}
	assert_int_equal(off, 2100);
	expect_bytes(b, 0, off, 0);
	/* A read stops at next, and is bounded by len. */
	assert_int_equal(rb_read(b, 0, buf, sizeof(buf)), 2100);
	assert_int_equal(rb_read(b, 2000, buf, sizeof(buf)), 100);
	assert_int_equal(buf[99], pat(2099, 0));
	assert_int_equal(rb_read(b, 10, buf, 5), 5);
	assert_int_equal(buf[0], pat(10, 0));
	assert_int_equal(buf[4], pat(14, 0));
	assert_int_equal(rb_read(b, 10, buf, 0), 0);
	assert_int_equal(rb_read(b, 2100, buf, sizeof(buf)), 0);
	assert_int_equal(rb_read(b, 2101, buf, sizeof(buf)), -1);
	expect_runs(b, 1, (const uint64_t[][2]){ { 0, 2100 } });
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_reorder(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;
	size_t hdr = rb_mem(b);

	pwr(p, b, 0, 100, 0, RB_FIRST, &res);
	expect_res(&res, 100, 100, 0, 0, 0, 0);
	pwr(p, b, 200, 100, 0, RB_FIRST, &res);
	expect_res(&res, 0, 100, 0, 0, 0, 0);
	expect_state(b, 0, 100, 300);
	pwr(p, b, 400, 50, 0, RB_FIRST, &res);
	expect_res(&res, 0, 50, 0, 0, 0, 0);
	expect_runs(b, 3, (const uint64_t[][2]){
		{ 0, 100 }, { 200, 100 }, { 400, 50 } });
	/* The run table exists only while there are runs. */
	assert_int_equal(rb_mem(b), hdr + rb_capacity(b) + 64);
	assert_int_equal(rb_pool_bytes(p), rb_mem(b));
	/* Exactly filling the hole between two runs merges them. */
	pwr(p, b, 300, 100, 0, RB_FIRST, &res);
	expect_res(&res, 0, 100, 0, 0, 0, 0);
	expect_state(b, 0, 100, 450);
	expect_runs(b, 2, (const uint64_t[][2]){ { 0, 100 }, { 200, 250 } });
	/* Adjacent to the run's end: extends it. */
	pwr(p, b, 450, 10, 0, RB_FIRST, &res);
	expect_runs(b, 2, (const uint64_t[][2]){ { 0, 100 }, { 200, 260 } });
	/* Partly filling the first hole from next: next advances only. */
	pwr(p, b, 100, 40, 0, RB_FIRST, &res);
	expect_res(&res, 40, 40, 0, 0, 0, 0);
	expect_state(b, 0, 140, 460);
	/* Partly filling it from the run side: the run grows downwards. */
	pwr(p, b, 180, 20, 0, RB_FIRST, &res);
	expect_res(&res, 0, 20, 0, 0, 0, 0);
	expect_runs(b, 2, (const uint64_t[][2]){ { 0, 140 }, { 180, 280 } });
	/* Filling the rest of the first hole: next jumps over the run. */
	pwr(p, b, 140, 40, 0, RB_FIRST, &res);
	expect_res(&res, 320, 40, 0, 0, 0, 0);
	expect_state(b, 0, 460, 460);
	expect_runs(b, 1, (const uint64_t[][2]){ { 0, 460 } });
	expect_bytes(b, 0, 460, 0);
	assert_int_equal(rb_mem(b), hdr + rb_capacity(b));
	assert_int_equal(rb_pool_bytes(p), rb_mem(b));
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

/* A segment spanning in-order data, a hole, a run and a hole, under FIRST
 * and LAST, with a different copy of the bytes. */
static void
overlap_case(int policy)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;
	unsigned int win = policy == RB_LAST ? 1 : 0;

	assert_int_equal(rb_set_policy(b, policy), 0);
	pwr(p, b, 0, 100, 0, RB_BUFPOLICY, &res);
	pwr(p, b, 150, 50, 0, RB_BUFPOLICY, &res);

	/* Exact duplicate of in-order data. */
	pwr(p, b, 20, 30, 1, RB_BUFPOLICY, &res);
	expect_res(&res, 0, policy == RB_LAST ? 30 : 0, 0, 0, 0, 1);
	expect_bytes(b, 0, 20, 0);
	expect_bytes(b, 20, 30, win);
	expect_bytes(b, 50, 50, 0);
	expect_state(b, 0, 100, 200);

	/* Exact duplicate of a run. */
	pwr(p, b, 150, 50, 1, RB_BUFPOLICY, &res);
	expect_res(&res, 0, policy == RB_LAST ? 50 : 0, 0, 0, 0, 1);
	expect_bytes(b, 150, 50, win);

	/* [90, 220): 10 old in-order, 50 new, 50 old run, 20 new. */
	pwr(p, b, 90, 130, 2, RB_BUFPOLICY, &res);
	expect_res(&res, 120, policy == RB_LAST ? 130 : 70, 0, 0, 0, 1);
	expect_state(b, 0, 220, 220);
	expect_bytes(b, 80, 10, 0);
	expect_bytes(b, 90, 10, win ? 2 : 0);
	expect_bytes(b, 100, 50, 2);
	expect_bytes(b, 150, 50, win ? 2 : 0);
	expect_bytes(b, 200, 20, 2);

	/* Adjacent, not overlapping: no overlap flag. */
	pwr(p, b, 220, 10, 0, RB_BUFPOLICY, &res);
	assert_int_equal(res.overlap, 0);
	pwr(p, b, 240, 10, 0, RB_BUFPOLICY, &res);
	assert_int_equal(res.overlap, 0);
	pwr(p, b, 230, 10, 0, RB_BUFPOLICY, &res);
	assert_int_equal(res.overlap, 0);
	/* One byte overlapping the end of the in-order data. */
	pwr(p, b, 249, 2, 1, RB_BUFPOLICY, &res);
	expect_res(&res, 1, policy == RB_LAST ? 2 : 1, 0, 0, 0, 1);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_overlap_first(void **state)
{
	overlap_case(RB_FIRST);
}

static void
test_overlap_last(void **state)
{
	overlap_case(RB_LAST);
}

/* The policy argument overrides the buffer's; RB_BUFPOLICY and unknown
 * values use it. */
static void
test_policy_argument(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;

	pwr(p, b, 0, 100, 0, RB_FIRST, &res);
	pwr(p, b, 0, 10, 1, RB_LAST, &res);
	expect_bytes(b, 0, 10, 1);
	pwr(p, b, 10, 10, 1, RB_BUFPOLICY, &res);
	expect_bytes(b, 10, 10, 0);
	pwr(p, b, 20, 10, 1, 7, &res);
	expect_bytes(b, 20, 10, 0);
	rb_set_policy(b, RB_LAST);
	pwr(p, b, 30, 10, 1, RB_BUFPOLICY, &res);
	expect_bytes(b, 30, 10, 1);
	pwr(p, b, 40, 10, 1, RB_FIRST, &res);
	expect_bytes(b, 40, 10, 0);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_below_head(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;
	uint8_t c;

	pwr(p, b, 0, 100, 0, RB_FIRST, &res);
	pwr(p, b, 100, 50, 0, RB_FIRST, &res);
	expect_res(&res, 50, 50, 0, 0, 50, 0);
	expect_state(b, 50, 150, 150);
	/* Entirely old: ignored, flagged, nothing changes (either policy). */
	pwr(p, b, 0, 50, 1, RB_LAST, &res);
	expect_res(&res, 0, 0, 0, 0, 0, 1);
	assert_int_equal(res.reason, RB_OK);
	expect_state(b, 50, 150, 150);
	pwr(p, b, 10, 5, 1, RB_FIRST, &res);
	expect_res(&res, 0, 0, 0, 0, 0, 1);
	/* Partly old, partly new. */
	pwr(p, b, 40, 120, 1, RB_FIRST, &res);
	expect_res(&res, 10, 10, 0, 0, 10, 1);
	expect_state(b, 60, 160, 160);
	expect_bytes(b, 60, 90, 0);
	expect_bytes(b, 150, 10, 1);
	rb_destroy(p, b);

	/* Partly old, rest in the hole at next: overlap although no
	 * buffered byte is overlapped. */
	b = rb_create(p, 100);
	pwr(p, b, 0, 90, 0, RB_FIRST, &res);
	pwr(p, b, 120, 10, 0, RB_FIRST, &res);
	pwr(p, b, 180, 10, 0, RB_FIRST, &res);
	expect_state(b, 90, 90, 190);
	pwr(p, b, 85, 10, 1, RB_FIRST, &res);
	expect_res(&res, 5, 5, 0, 0, 0, 1);
	assert_int_equal(rb_read(b, 89, &c, 1), -1);
	assert_int_equal(rb_read(b, 90, &c, 1), 1);
	assert_int_equal(c, pat(90, 1));
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_slide(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);	/* not a power of two */
	struct rb_result res;
	uint8_t buf[1100];
	uint64_t off = 0;
	int i;

	pwr(p, b, 0, 900, 0, RB_FIRST, &res);
	off = 900;
	pwr(p, b, off, 300, 0, RB_FIRST, &res);
	expect_res(&res, 300, 300, 0, 0, 200, 0);
	off += 300;
	expect_state(b, 200, 1200, 1200);
	assert_int_equal(rb_read(b, 0, buf, 10), -1);
	assert_int_equal(rb_read(b, 199, buf, 10), -1);
	assert_int_equal(rb_read(b, 200, buf, sizeof(buf)), 1000);
	expect_bytes(b, 200, 1000, 0);
	for (i = 0; i < 50; i++) {
		uint32_t len = (uint32_t)(37 + i * 13);

		pwr(p, b, off, len, 0, RB_FIRST, &res);
		expect_res(&res, len, len, 0, 0, len, 0);
		off += len;
		expect_state(b, off - 1000, off, off);
		assert_true(rb_capacity(b) == 1024);
	}
	expect_bytes(b, off - 1000, 1000, 0);
	assert_int_equal(rb_read(b, off - 1001, buf, 1), -1);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_long_segment(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;

	/* Longer than W into an empty buffer: only the last W bytes. */
	pwr(p, b, 0, 250, 0, RB_FIRST, &res);
	expect_res(&res, 250, 100, 150, 0, 0, 0);
	expect_state(b, 150, 250, 250);
	expect_bytes(b, 150, 100, 0);
	assert_true(rb_capacity(b) == 128);
	/* Longer than W beyond a hole: the hole is skipped too. */
	pwr(p, b, 300, 150, 1, RB_FIRST, &res);
	expect_res(&res, 150, 100, 50, 50, 100, 0);
	expect_state(b, 350, 450, 450);
	expect_bytes(b, 350, 100, 1);
	/* Longer than W overlapping the in-order data (LAST). */
	pwr(p, b, 400, 200, 2, RB_LAST, &res);
	expect_res(&res, 150, 100, 50, 0, 100, 1);
	expect_state(b, 500, 600, 600);
	expect_bytes(b, 500, 100, 2);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

/* 3b: room is made by skipping holes once the in-order data is gone. */
static void
test_skip_holes(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;
	uint8_t c;

	/* In-order [0,50), run [80,100); [150,170) needs head >= 70. */
	pwr(p, b, 0, 50, 0, RB_FIRST, &res);
	pwr(p, b, 80, 20, 0, RB_FIRST, &res);
	pwr(p, b, 150, 20, 0, RB_FIRST, &res);
	expect_res(&res, 20, 20, 0, 30, 50, 0);
	expect_state(b, 80, 100, 170);
	expect_runs(b, 2, (const uint64_t[][2]){ { 80, 20 }, { 150, 20 } });
	assert_int_equal(rb_read(b, 79, &c, 1), -1);
	expect_bytes(b, 80, 20, 0);
	expect_bytes(b, 150, 20, 0);

	/* Several holes: [100,150) and the run, then [170, 400) -> the
	 * segment itself becomes the in-order data. */
	pwr(p, b, 400, 50, 1, RB_FIRST, &res);
	expect_res(&res, 70, 50, 0, 280, 40, 0);
	expect_state(b, 400, 450, 450);
	expect_bytes(b, 400, 50, 1);
	rb_destroy(p, b);

	/* No run at all: head jumps to the segment's start. */
	b = rb_create(p, 100);
	pwr(p, b, 0, 50, 0, RB_FIRST, &res);
	pwr(p, b, 300, 50, 0, RB_FIRST, &res);
	expect_res(&res, 50, 50, 0, 250, 50, 0);
	expect_state(b, 300, 350, 350);
	rb_destroy(p, b);

	/* The segment starts inside the hole being skipped: the skip stops
	 * at the segment, whose first bytes fall below the head only because
	 * it is longer than the room left. */
	b = rb_create(p, 100);
	pwr(p, b, 0, 10, 0, RB_FIRST, &res);
	pwr(p, b, 60, 20, 0, RB_FIRST, &res);
	pwr(p, b, 40, 110, 1, RB_FIRST, &res);
	expect_res(&res, 110, 80, 10, 30, 10, 1);
	expect_state(b, 50, 150, 150);
	expect_bytes(b, 50, 10, 1);
	expect_bytes(b, 60, 20, 0);
	expect_bytes(b, 80, 70, 1);
	rb_destroy(p, b);

	/* The window is met by advancing over in-order data alone: no hole
	 * skipped, the segment stays out of order. */
	b = rb_create(p, 100);
	pwr(p, b, 0, 90, 0, RB_FIRST, &res);
	pwr(p, b, 120, 10, 0, RB_FIRST, &res);
	expect_res(&res, 0, 10, 0, 0, 30, 0);
	expect_state(b, 30, 90, 130);
	/* ... and advancing exactly to next leaves an empty in-order run. */
	pwr(p, b, 180, 10, 0, RB_FIRST, &res);
	expect_res(&res, 0, 10, 0, 0, 60, 0);
	expect_state(b, 90, 90, 190);
	assert_int_equal(rb_read(b, 90, &c, 1), 0);
	expect_runs(b, 2, (const uint64_t[][2]){ { 120, 10 }, { 180, 10 } });
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

/* Rule 4: at most RB_MAX_RUNS out-of-order runs. */
static void
test_max_runs(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 10000);
	struct rb_result res;
	struct rb_run r[RB_MAX_RUNS + 2];
	int i;

	pwr(p, b, 0, 10, 0, RB_FIRST, &res);
	for (i = 0; i < RB_MAX_RUNS; i++) {
		pwr(p, b, 20 + 20 * (uint64_t)i, 5, 0, RB_FIRST, &res);
		expect_res(&res, 0, 5, 0, 0, 0, 0);
	}
	assert_int_equal(rb_runs(b, r, RB_MAX_RUNS + 2), RB_MAX_RUNS + 1);
	/* A write that adds no run (extends one) is fine. */
	pwr(p, b, 25, 2, 0, RB_FIRST, &res);
	expect_res(&res, 0, 2, 0, 0, 0, 0);
	expect_state(b, 0, 10, 165);
	/* A ninth run: the oldest hole [10,20) goes, with the in-order
	 * data before it, and the first run becomes in-order. */
	pwr(p, b, 200, 5, 1, RB_FIRST, &res);
	expect_res(&res, 7, 5, 0, 10, 10, 0);
	expect_state(b, 20, 27, 205);
	assert_int_equal(rb_runs(b, r, RB_MAX_RUNS + 2), RB_MAX_RUNS + 1);
	assert_int_equal(r[RB_MAX_RUNS].off, 200);
	/* A new run in the middle: same. */
	pwr(p, b, 50, 3, 1, RB_FIRST, &res);
	expect_res(&res, 5, 3, 0, 13, 7, 0);
	expect_state(b, 40, 45, 205);
	expect_bytes(b, 40, 5, 0);
	expect_bytes(b, 50, 3, 1);
	/* A new run before all others, in the oldest hole: it is the
	 * first run, so skipping the oldest hole makes it in-order. */
	pwr(p, b, 47, 1, 2, RB_FIRST, &res);
	expect_res(&res, 1, 1, 0, 2, 5, 0);
	expect_state(b, 47, 48, 205);
	expect_bytes(b, 47, 1, 2);
	/* A segment that bridges runs reduces the count. */
	pwr(p, b, 53, 10, 0, RB_FIRST, &res);
	expect_res(&res, 0, 7, 0, 0, 0, 1);
	assert_int_equal(rb_runs(b, r, RB_MAX_RUNS + 2), RB_MAX_RUNS);
	/* Filling everything up to the end. */
	pwr(p, b, 48, 157, 0, RB_FIRST, &res);
	expect_state(b, 47, 205, 205);
	assert_int_equal(res.appended, 157);
	assert_int_equal(rb_runs(b, r, RB_MAX_RUNS + 2), 1);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

/* rb_expect sizes the first ring for the bytes announced, never past the
 * window's ring (also when the window shrinks later), and changes nothing
 * once a ring exists; the next write then fits without growing. */
static void
test_expect(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create_at(p, 65536, 5000);
	struct rb_result res;
	size_t hdr = rb_pool_bytes(p);

	(void)state;
	rb_expect(b, 2 * 1460);
	pwr(p, b, 5000, 1460, 0, RB_FIRST, &res);
	assert_int_equal(res.appended, 1460);
	assert_int_equal(rb_capacity(b), 4096);
	assert_int_equal(rb_pool_bytes(p), hdr + 4096);
	rb_expect(b, 60000);		/* too late: no effect */
	pwr(p, b, 6460, 1460, 1, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 4096);
	expect_state(b, 5000, 7920, 7920);
	expect_bytes(b, 5000, 1460, 0);
	expect_bytes(b, 6460, 1460, 1);
	pwr(p, b, 7920, 1460, 2, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 8192);
	expect_bytes(b, 5000, 1460, 0);
	expect_bytes(b, 7920, 1460, 2);
	rb_destroy(p, b);

	/* Without it, the first write's own size. */
	b = rb_create(p, 65536);
	pwr(p, b, 0, 1460, 0, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 2048);
	rb_destroy(p, b);

	/* Capped at the window's ring, then at a smaller window's. */
	b = rb_create(p, 3000);
	rb_expect(b, 100000);
	pwr(p, b, 0, 100, 0, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 4096);
	rb_destroy(p, b);
	b = rb_create(p, 65536);
	rb_expect(b, 65536);
	assert_int_equal(rb_set_window(p, b, 1000), 0);
	pwr(p, b, 0, 100, 0, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 1024);
	expect_bytes(b, 0, 100, 0);
	rb_destroy(p, b);
	assert_int_equal(rb_pool_bytes(p), 0);
	rb_pool_destroy(p);
}

static void
test_growth(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 8192);
	struct rb_result res;
	size_t hdr = rb_pool_bytes(p);
	uint64_t off = 0;
	static const struct {
		uint32_t len, cap;
	} steps[] = {
		{ 10, 64 }, { 54, 64 }, { 1, 128 }, { 100, 256 },
		{ 700, 1024 }, { 200, 2048 }, { 3000, 4096 }, { 4000, 8192 },
		{ 500, 8192 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		pwr(p, b, off, steps[i].len, 0, RB_FIRST, &res);
		off += steps[i].len;
		assert_int_equal(rb_capacity(b), steps[i].cap);
		assert_int_equal(rb_pool_bytes(p), hdr + steps[i].cap);
		assert_int_equal(rb_mem(b), hdr + steps[i].cap);
		expect_bytes(b, rb_head(b), rb_next(b) - rb_head(b), 0);
	}
	expect_state(b, off - 8192, off, off);
	rb_destroy(p, b);

	/* Growth while the buffered bytes wrap around the small ring. */
	b = rb_create(p, 4096);
	pwr(p, b, 0, 60, 0, RB_FIRST, &res);
	pwr(p, b, 10000, 30, 1, RB_FIRST, &res);
	expect_state(b, 10000, 10030, 10030);
	assert_int_equal(rb_capacity(b), 64);
	/* 10000 & 63 = 16: [10000, 10060) wraps in the 64-byte ring. */
	pwr(p, b, 10030, 30, 1, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 64);
	pwr(p, b, 10070, 30, 1, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 128);
	/* ... and [10000, 10125) in the 128-byte one. */
	pwr(p, b, 10100, 25, 1, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 128);
	pwr(p, b, 10200, 10, 1, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 256);
	expect_state(b, 10000, 10060, 10210);
	expect_bytes(b, 10000, 60, 1);
	expect_bytes(b, 10070, 55, 1);
	expect_bytes(b, 10200, 10, 1);
	rb_destroy(p, b);

	/* A non-power-of-two window caps the ring at the next power. */
	b = rb_create(p, 300);
	pwr(p, b, 0, 1000, 0, RB_FIRST, &res);
	assert_int_equal(rb_capacity(b), 512);
	expect_bytes(b, 700, 300, 0);
	rb_destroy(p, b);
	assert_int_equal(rb_pool_bytes(p), 0);
	rb_pool_destroy(p);
}

/* Memory: small flows cost little; the pool counts exactly. */
static void
test_pool_accounting(void **state)
{
	enum { NB = 3000 };
	struct rb_pool *p = rb_pool_create(0);
	struct rb **bs = calloc(NB, sizeof(*bs));
	struct rb_result res;
	size_t sum = 0;
	int i;

	assert_non_null(bs);
	for (i = 0; i < NB; i++) {
		bs[i] = rb_create(p, i % 3 == 0 ? 65536 : 8192);
		assert_non_null(bs[i]);
		pwr(p, bs[i], 0, 100, 0, RB_FIRST, &res);
		assert_true(rb_mem(bs[i]) <= 64 + 128);
		sum += rb_mem(bs[i]);
	}
	assert_int_equal(rb_pool_bytes(p), sum);
	assert_true(rb_pool_reserved(p) >= sum);
	/* Slabs, not one allocation per buffer: little overhead. */
	assert_true(rb_pool_reserved(p) < sum + sum / 4 + 20 * 65536);
	/* Some grow to big rings (individually allocated above 16 KiB). */
	for (i = 0; i < NB; i += 97)
		pwr(p, bs[i], 100, 60000, 0, RB_FIRST, &res);
	for (sum = 0, i = 0; i < NB; i++)
		sum += rb_mem(bs[i]);
	assert_int_equal(rb_pool_bytes(p), sum);
	for (i = 0; i < NB; i += 97)
		expect_bytes(bs[i], rb_head(bs[i]),
			     rb_next(bs[i]) - rb_head(bs[i]), 0);
	for (i = 0; i < NB; i += 2)
		rb_destroy(p, bs[i]);
	for (sum = 0, i = 1; i < NB; i += 2)
		sum += rb_mem(bs[i]);
	assert_int_equal(rb_pool_bytes(p), sum);
	/* Freed objects are reused. */
	{
		size_t before = rb_pool_reserved(p);

		for (i = 0; i < NB; i += 2) {
			bs[i] = rb_create(p, 8192);
			pwr(p, bs[i], 0, 100, 0, RB_FIRST, &res);
		}
		assert_int_equal(rb_pool_reserved(p), before);
	}
	/* The pool frees what is still allocated (valgrind checks). */
	rb_pool_destroy(p);
	free(bs);
}

static void
test_nomem(void **state)
{
	struct rb_pool *p, *q;
	struct rb *b, *nb;
	struct rb_result res;
	struct rb_plan pl;
	size_t hdr;

	/* Header + 128-byte ring allowed, nothing more. */
	q = rb_pool_create(0);
	b = rb_create(q, 1000);
	hdr = rb_pool_bytes(q);
	rb_destroy(q, b);
	rb_pool_destroy(q);

	p = rb_pool_create(2 * hdr + 2 * 128);
	b = rb_create(p, 1000);
	nb = rb_create(p, 1000);
	assert_non_null(nb);
	assert_int_equal(pwr(p, b, 0, 100, 0, RB_FIRST, &res), 0);
	assert_int_equal(rb_capacity(b), 128);
	/* nb's ring is carved right after b's: a write past b's ring would
	 * land in it. */
	assert_int_equal(pwr(p, nb, 0, 100, 2, RB_FIRST, &res), 0);
	/* Needs 512: refused; the first 28 bytes fit in the ring. */
	rb_plan(b, 100, 200, &pl);
	assert_int_equal(pwr(p, b, 100, 200, 0, RB_FIRST, &res), -1);
	assert_int_equal(res.reason, RB_NOMEM);
	expect_res(&res, 28, 28, 172, 0, 0, 0);
	assert_int_equal(pl.new_head, rb_head(b));
	expect_state(b, 0, 128, 128);
	assert_int_equal(rb_capacity(b), 128);
	expect_bytes(b, 0, 128, 0);
	expect_bytes(nb, 0, 100, 2);
	assert_true(rb_pool_bytes(p) <= 2 * hdr + 2 * 128);
	/* The next byte cannot go in either. */
	assert_int_equal(pwr(p, b, 128, 1, 0, RB_FIRST, &res), -1);
	expect_res(&res, 0, 0, 1, 0, 0, 0);
	/* A duplicate needs no memory. */
	assert_int_equal(pwr(p, b, 0, 10, 1, RB_LAST, &res), 0);
	expect_res(&res, 0, 10, 0, 0, 0, 1);
	rb_destroy(p, b);
	rb_destroy(p, nb);

	/* The run table is refused: the out-of-order segment is dropped. */
	b = rb_create(p, 1000);
	nb = rb_create(p, 1000);
	assert_int_equal(pwr(p, nb, 0, 100, 2, RB_FIRST, &res), 0);
	assert_int_equal(pwr(p, b, 0, 100, 0, RB_FIRST, &res), 0);
	assert_int_equal(pwr(p, b, 110, 10, 0, RB_FIRST, &res), -1);
	assert_int_equal(res.reason, RB_NOMEM);
	expect_res(&res, 0, 0, 10, 0, 0, 0);
	expect_state(b, 0, 100, 100);
	/* Once the memory is free it works. */
	rb_destroy(p, nb);
	assert_int_equal(pwr(p, b, 110, 10, 0, RB_FIRST, &res), 0);
	expect_state(b, 0, 100, 120);
	rb_destroy(p, b);

	/* No ring at all: everything dropped, the plan is still followed. */
	b = rb_create(p, 1000);
	nb = rb_create(p, 1000);
	assert_int_equal(pwr(p, nb, 0, 200, 2, RB_FIRST, &res), 0);
	assert_int_equal(pwr(p, b, 5000, 10, 0, RB_FIRST, &res), -1);
	expect_res(&res, 0, 0, 10, 5000, 0, 0);
	expect_state(b, 5000, 5000, 5000);
	assert_int_equal(rb_capacity(b), 0);
	assert_int_equal(rb_replace_tail(p, b, 0, segbuf, 10), -1);
	expect_state(b, 5000, 5000, 5000);
	rb_destroy(p, b);
	rb_destroy(p, nb);

	/* Growth is checked against what remains once the old ring is
	 * freed: 64 -> 128 fits a cap of header + 128. */
	rb_pool_destroy(p);
	p = rb_pool_create(hdr + 128);
	b = rb_create(p, 1000);
	assert_int_equal(pwr(p, b, 0, 60, 0, RB_FIRST, &res), 0);
	assert_int_equal(rb_capacity(b), 64);
	assert_int_equal(pwr(p, b, 60, 60, 0, RB_FIRST, &res), 0);
	assert_int_equal(rb_capacity(b), 128);
	assert_int_equal(rb_pool_bytes(p), hdr + 128);
	assert_int_equal(pwr(p, b, 120, 60, 0, RB_FIRST, &res), -1);
	expect_res(&res, 8, 8, 52, 0, 0, 0);
	expect_bytes(b, 0, 128, 0);
	rb_destroy(p, b);
	rb_pool_destroy(p);
	p = rb_pool_create(2 * hdr + 2 * 128);

	/* Headers are refused too. */
	b = rb_create(p, 1000);
	nb = rb_create(p, 1000);
	assert_non_null(nb);
	assert_int_equal(pwr(p, b, 0, 200, 2, RB_FIRST, &res), 0);
	assert_int_equal(rb_pool_bytes(p), 2 * hdr + 256);
	assert_null(rb_create(p, 1000));
	rb_destroy(p, b);
	rb_destroy(p, nb);
	assert_int_equal(rb_pool_bytes(p), 0);
	rb_pool_destroy(p);
}

static void
test_read_offsets(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;
	uint8_t buf[600];

	/* head 100, next 300, runs [400,450) [500,600). */
	pwr(p, b, 0, 300, 0, RB_FIRST, &res);
	pwr(p, b, 400, 50, 1, RB_FIRST, &res);
	pwr(p, b, 500, 100, 2, RB_FIRST, &res);
	pwr(p, b, 1000, 100, 0, RB_FIRST, &res);	/* skips no hole */
	expect_res(&res, 0, 100, 0, 0, 100, 0);
	expect_state(b, 100, 300, 1100);
	assert_int_equal(rb_read(b, 99, buf, 10), -1);
	assert_int_equal(rb_read(b, 0, buf, 10), -1);
	assert_int_equal(rb_read(b, 100, buf, sizeof(buf)), 200);
	assert_int_equal(buf[0], pat(100, 0));
	assert_int_equal(buf[199], pat(299, 0));
	assert_int_equal(rb_read(b, 299, buf, sizeof(buf)), 1);
	assert_int_equal(rb_read(b, 300, buf, sizeof(buf)), 0);
	assert_int_equal(rb_read(b, 301, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 399, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 400, buf, sizeof(buf)), 50);
	assert_int_equal(buf[49], pat(449, 1));
	assert_int_equal(rb_read(b, 420, buf, sizeof(buf)), 30);
	assert_int_equal(buf[0], pat(420, 1));
	assert_int_equal(rb_read(b, 420, buf, 7), 7);
	assert_int_equal(rb_read(b, 450, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 499, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 599, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], pat(599, 2));
	assert_int_equal(rb_read(b, 600, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 1099, buf, sizeof(buf)), 1);
	assert_int_equal(rb_read(b, 1100, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, UINT64_MAX, buf, sizeof(buf)), -1);
	assert_int_equal(rb_read(b, 420, buf, 0), 0);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_runs(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;
	struct rb_run r[4];

	/* Nothing in order: the first entry is an out-of-order run. */
	pwr(p, b, 10, 5, 0, RB_FIRST, &res);
	pwr(p, b, 30, 5, 0, RB_FIRST, &res);
	pwr(p, b, 50, 5, 0, RB_FIRST, &res);
	expect_runs(b, 3, (const uint64_t[][2]){
		{ 10, 5 }, { 30, 5 }, { 50, 5 } });
	assert_int_equal(rb_runs(b, r, 2), 2);
	assert_int_equal(r[1].off, 30);
	assert_int_equal(rb_runs(b, r, 0), 0);
	assert_int_equal(rb_runs(b, r, -1), 0);
	pwr(p, b, 0, 10, 0, RB_FIRST, &res);
	expect_res(&res, 15, 10, 0, 0, 0, 0);
	expect_runs(b, 3, (const uint64_t[][2]){
		{ 0, 15 }, { 30, 5 }, { 50, 5 } });
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_replace_tail(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;
	uint8_t d[300];
	int i;

	for (i = 0; i < (int)sizeof(d); i++)
		d[i] = pat((uint64_t)i, 2);
	pwr(p, b, 0, 50, 0, RB_FIRST, &res);
	/* Grow: 5 bytes become 10. */
	assert_int_equal(rb_replace_tail(p, b, 5, d, 10), 0);
	expect_state(b, 0, 55, 55);
	expect_bytes(b, 0, 45, 0);
	for (i = 0; i < 10; i++) {
		uint8_t c;

		assert_int_equal(rb_read(b, 45 + (uint64_t)i, &c, 1), 1);
		assert_int_equal(c, d[i]);
	}
	/* Shrink: 10 bytes become 3. */
	assert_int_equal(rb_replace_tail(p, b, 10, d + 100, 3), 0);
	expect_state(b, 0, 48, 48);
	assert_int_equal(rb_read(b, 45, d + 200, 10), 3);
	assert_memory_equal(d + 200, d + 100, 3);
	/* Pure removal and pure append. */
	assert_int_equal(rb_replace_tail(p, b, 3, NULL, 0), 0);
	expect_state(b, 0, 45, 45);
	assert_int_equal(rb_replace_tail(p, b, 0, d, 5), 0);
	expect_state(b, 0, 50, 50);
	/* Whole in-order data. */
	assert_int_equal(rb_replace_tail(p, b, 50, d, 60), 0);
	expect_state(b, 0, 60, 60);
	/* Room: head advances over the oldest bytes. */
	assert_int_equal(rb_replace_tail(p, b, 10, d, 60), 0);
	expect_state(b, 10, 110, 110);
	assert_int_equal(rb_read(b, 9, d + 200, 1), -1);
	assert_int_equal(rb_read(b, 50, d + 200, 60), 60);
	assert_memory_equal(d + 200, d, 60);
	/* Longer than W: the last W bytes. */
	assert_int_equal(rb_replace_tail(p, b, 0, d, 250), 0);
	expect_state(b, 260, 360, 360);
	assert_int_equal(rb_read(b, 260, d + 250, 50), 50);
	assert_memory_equal(d + 250, d + 150, 50);
	/* Refused: more than the in-order data, or runs present. */
	assert_int_equal(rb_replace_tail(p, b, 101, d, 1), -1);
	expect_state(b, 260, 360, 360);
	pwr(p, b, 370, 5, 0, RB_FIRST, &res);
	expect_state(b, 275, 360, 375);
	assert_int_equal(rb_replace_tail(p, b, 1, d, 2), -1);
	expect_state(b, 275, 360, 375);
	rb_destroy(p, b);
	rb_pool_destroy(p);

	/* Refused on NOMEM, nothing changed. */
	p = rb_pool_create(0);
	b = rb_create(p, 1000);
	i = (int)rb_pool_bytes(p);
	rb_destroy(p, b);
	rb_pool_destroy(p);
	p = rb_pool_create((size_t)i + 64);
	b = rb_create(p, 1000);
	pwr(p, b, 0, 60, 0, RB_FIRST, &res);
	assert_int_equal(rb_replace_tail(p, b, 10, d, 20), -1);
	expect_state(b, 0, 60, 60);
	expect_bytes(b, 0, 60, 0);
	assert_int_equal(rb_replace_tail(p, b, 10, d, 14), 0);
	expect_state(b, 0, 64, 64);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

static void
test_set_window(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 100);
	struct rb_result res;
	uint8_t c;

	assert_int_equal(rb_set_window(p, b, RB_WINDOW_MIN - 1), -1);
	assert_int_equal(rb_set_window(p, b, RB_WINDOW_MAX + 1), -1);
	assert_int_equal(rb_set_window(p, NULL, 1000), -1);
	assert_int_equal(rb_window(b), 100);
	/* Before any data: only W changes. */
	assert_int_equal(rb_set_window(p, b, 1000), 0);
	expect_state(b, 0, 0, 0);
	assert_int_equal(rb_capacity(b), 0);
	pwr(p, b, 0, 600, 0, RB_FIRST, &res);
	pwr(p, b, 700, 100, 1, RB_FIRST, &res);
	expect_state(b, 0, 600, 800);
	assert_int_equal(rb_capacity(b), 1024);
	/* Larger: nothing moves, more is kept from now on. */
	assert_int_equal(rb_set_window(p, b, 2000), 0);
	pwr(p, b, 1500, 100, 2, RB_FIRST, &res);
	expect_state(b, 0, 600, 1600);
	assert_int_equal(rb_capacity(b), 2048);
	/* Smaller, within the in-order data: head advances, ring shrinks,
	 * contents stay (the ring was 2048, the data wrap in 512). */
	assert_int_equal(rb_set_window(p, b, 1100), 0);
	expect_state(b, 500, 600, 1600);
	assert_int_equal(rb_capacity(b), 2048);
	assert_int_equal(rb_set_window(p, b, 1000), 0);
	expect_state(b, 600, 600, 1600);
	assert_int_equal(rb_capacity(b), 1024);
	/* Smaller than what follows the in-order data: holes skipped. */
	assert_int_equal(rb_set_window(p, b, 300), 0);
	expect_state(b, 1500, 1600, 1600);
	assert_int_equal(rb_capacity(b), 512);
	expect_bytes(b, 1500, 100, 2);
	assert_int_equal(rb_read(b, 799, &c, 1), -1);
	assert_int_equal(rb_mem(b), rb_pool_bytes(p));
	pwr(p, b, 1600, 400, 0, RB_FIRST, &res);
	expect_state(b, 1700, 2000, 2000);
	rb_destroy(p, b);

	/* Shrinking skips the oldest hole as far as needed; runs that fit
	 * stay. */
	b = rb_create(p, 1000);
	pwr(p, b, 0, 10, 0, RB_FIRST, &res);
	pwr(p, b, 20, 10, 1, RB_FIRST, &res);
	pwr(p, b, 200, 10, 1, RB_FIRST, &res);
	assert_int_equal(rb_set_window(p, b, 195), 0);
	expect_state(b, 20, 30, 210);
	expect_runs(b, 2, (const uint64_t[][2]){ { 20, 10 }, { 200, 10 } });
	expect_bytes(b, 20, 10, 1);
	expect_bytes(b, 200, 10, 1);
	assert_int_equal(rb_capacity(b), 256);
	rb_destroy(p, b);
	assert_int_equal(rb_pool_bytes(p), 0);
	rb_pool_destroy(p);
}

static void
test_huge_offsets(void **state)
{
	struct rb_pool *p = rb_pool_create(0);
	struct rb *b = rb_create(p, 1000);
	struct rb_result res;
	const uint64_t big = (uint64_t)1 << 63;
	uint8_t c;

	/* From an empty buffer at 0: everything up to there is a hole. */
	pwr(p, b, big - 5, 10, 0, RB_FIRST, &res);
	expect_res(&res, 10, 10, 0, big - 5, 0, 0);
	expect_state(b, big - 5, big + 5, big + 5);
	pwr(p, b, big + 100, 10, 0, RB_FIRST, &res);
	expect_state(b, big - 5, big + 5, big + 110);
	pwr(p, b, big + 5, 95, 0, RB_FIRST, &res);
	expect_res(&res, 105, 95, 0, 0, 0, 0);
	pwr(p, b, big + 1000, 10, 0, RB_FIRST, &res);
	expect_res(&res, 0, 10, 0, 0, 15, 0);
	expect_state(b, big + 10, big + 110, big + 1010);
	expect_bytes(b, big + 10, 100, 0);
	expect_bytes(b, big + 1000, 10, 0);
	assert_int_equal(rb_read(b, 0, &c, 1), -1);
	/* Old data far below: ignored. */
	pwr(p, b, 5, 10, 1, RB_FIRST, &res);
	expect_res(&res, 0, 0, 0, 0, 0, 1);
	rb_destroy(p, b);

	/* At the very top: bytes past 2^64 - 1 are dropped. */
	b = rb_create(p, 1000);
	pwr(p, b, UINT64_MAX - 100, 50, 0, RB_FIRST, &res);
	expect_state(b, UINT64_MAX - 100, UINT64_MAX - 50, UINT64_MAX - 50);
	pwr(p, b, UINT64_MAX - 20, 40, 0, RB_FIRST, &res);
	expect_res(&res, 0, 20, 20, 0, 0, 0);
	expect_state(b, UINT64_MAX - 100, UINT64_MAX - 50, UINT64_MAX);
	pwr(p, b, UINT64_MAX - 50, 100, 0, RB_LAST, &res);
	expect_res(&res, 50, 50, 50, 0, 0, 1);
	expect_state(b, UINT64_MAX - 100, UINT64_MAX, UINT64_MAX);
	expect_bytes(b, UINT64_MAX - 100, 100, 0);
	pwr(p, b, UINT64_MAX, 10, 0, RB_FIRST, &res);
	expect_res(&res, 0, 0, 10, 0, 0, 0);
	assert_int_equal(rb_read(b, UINT64_MAX, &c, 1), 0);
	assert_int_equal(rb_replace_tail(p, b, 0, segbuf, 1), -1);
	assert_int_equal(rb_replace_tail(p, b, 1, segbuf, 1), 0);
	expect_state(b, UINT64_MAX - 100, UINT64_MAX, UINT64_MAX);
	rb_destroy(p, b);
	rb_pool_destroy(p);
}

/*
 * Randomized differential test against a reference model: a byte map over
 * a large array, with the rules of rb.h applied byte by byte.
 */

#define MSPAN	(1u << 20)

struct model {
	uint64_t head;
	uint64_t hi;		/* present[] is 0 from here on */
	uint32_t w;
	uint8_t *present;
	uint8_t *data;
};

struct mseg {
	uint64_t a, e;
};

static int
m_u(const struct model *m, const struct mseg *s, uint64_t x)
{
	return x < MSPAN && (m->present[x] || (x >= s->a && x < s->e));
}

static uint64_t
m_next(const struct model *m)
{
	uint64_t x = m->head;

	while (x < MSPAN && m->present[x])
		x++;
	return x;
}

static uint64_t
m_end(const struct model *m)
{
	uint64_t x = m->head + m->w;

	if (x > MSPAN)
		x = MSPAN;
	while (x > m->head && !m->present[x - 1])
		x--;
	return x;
}

static int
m_nruns(const struct model *m)
{
	uint64_t x, nxt = m_next(m), end = m_end(m);
	int n = 0;

	for (x = nxt + 1; x < end; x++)
		if (m->present[x] && !m->present[x - 1])
			n++;
	return n;
}

/* The rules of rooms and run limits, byte by byte: from h, move over
 * in-order data, then skip the oldest hole, until h >= need and at most
 * RB_MAX_RUNS runs follow. */
static uint64_t
m_advance(const struct model *m, const struct mseg *s, uint64_t need,
	  uint64_t top)
{
	uint64_t h = m->head, x;

	for (;;) {
		int inord = m_u(m, s, h), runs = 0;
		uint64_t ne = h;

		while (m_u(m, s, ne))
			ne++;
		for (x = ne + 1; x < top; x++)
			if (m_u(m, s, x) && !m_u(m, s, x - 1))
				runs++;
		if (h >= need && runs <= RB_MAX_RUNS)
			return h;
		if (!inord) {
			while (!m_u(m, s, h))	/* the oldest hole */
				h++;
		} else if (runs > RB_MAX_RUNS || ne <= need) {
			h = ne;
		} else {
			h = need;
		}
	}
}

/* Apply a write to the model. lim: bytes at or above it are refused for
 * lack of memory (UINT64_MAX: none); no_ooo: the run table was refused. */
static void
m_write(struct model *m, uint64_t off, uint32_t len, const uint8_t *d,
	int policy, uint64_t lim, int no_ooo, struct rb_result *r)
{
	struct mseg s = { off > m->head ? off : m->head, off + len };
	uint64_t x, h, need, nold = m_next(m), top, nnew, seg_new = 0;
	uint64_t stored_new = 0;

	*r = (struct rb_result){ 0 };
	r->overlap = len != 0 && off < m->head;
	if (s.a >= s.e)
		return;
	for (x = s.a; x < s.e; x++) {
		if (m->present[x])
			r->overlap = 1;
		else
			seg_new++;
	}
	need = s.e > m->head + m->w ? s.e - m->w : m->head;
	top = s.e > m_end(m) ? s.e : m_end(m);
	h = m_advance(m, &s, need, top);
	for (x = nold; x < h; x++)
		if (!m_u(m, &s, x))
			r->skipped++;
	for (x = m->head; x < h; x++) {
		if (m->present[x])
			r->discarded++;
		m->present[x] = 0;
	}
	m->head = h;
	if (s.e > m->hi)
		m->hi = s.e;
	for (x = s.a > h ? s.a : h; x < s.e && x < lim; x++) {
		if (!m->present[x]) {
			m->present[x] = 1;
			m->data[x] = d[x - off];
			stored_new++;
			r->stored++;
		} else if (policy == RB_LAST) {
			m->data[x] = d[x - off];
			r->stored++;
		}
	}
	nnew = m_next(m);
	if (no_ooo) {
		for (x = nnew; x < s.e; x++)
			if (m->present[x]) {
				m->present[x] = 0;
				stored_new--;
				r->stored--;
			}
	}
	r->dropped = seg_new - stored_new;
	r->appended = nnew - nold - r->skipped;
}

static void
m_set_window(struct model *m, uint32_t w)
{
	struct mseg none = { 0, 0 };
	uint64_t end = m_end(m), h, x;

	h = m_advance(m, &none, end > m->head + w ? end - w : m->head, end);
	for (x = m->head; x < h; x++)
		m->present[x] = 0;
	m->head = h;
	m->w = w;
}

static void
m_replace_tail(struct model *m, uint32_t old_len, const uint8_t *d,
	       uint32_t new_len)
{
	uint64_t base = m_next(m) - old_len, e = base + new_len, h, x;

	for (x = base; x < base + old_len; x++)
		m->present[x] = 0;
	h = e > m->head + m->w ? e - m->w : m->head;
	for (x = m->head; x < h; x++)
		m->present[x] = 0;
	m->head = h;
	if (e > m->hi)
		m->hi = e;
	for (x = base > h ? base : h; x < e; x++) {
		m->present[x] = 1;
		m->data[x] = d[x - base];
	}
}

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t
rnd_below(uint64_t n)
{
	return n != 0 ? rnd() % n : 0;
}

static uint32_t
pow2_at_least(uint64_t v)
{
	uint32_t c = RB_MIN_CAP;

	while (c < v)
		c <<= 1;
	return c;
}

/* Compare everything observable in rb with the model. */
static void
check_against(const struct rb *b, const struct model *m, uint64_t base)
{
	uint64_t x, lo, nxt = m_next(m), end = m_end(m);
	struct rb_run r[RB_MAX_RUNS + 2];
	uint8_t c, buf[RB_WINDOW_MIN * 64];
	int n, i, k;

	assert_int_equal(rb_head(b), base + m->head);
	assert_int_equal(rb_next(b), base + nxt);
	assert_int_equal(rb_end(b), base + end);
	assert_true(rb_end(b) - rb_head(b) <= m->w);
	assert_true(rb_capacity(b) >= rb_end(b) - rb_head(b));
	assert_true(rb_capacity(b) <= pow2_at_least(m->w));
	lo = m->head > 2 ? m->head - 2 : 0;
	for (x = lo; x < end + 3; x++) {
		int64_t got = rb_read(b, base + x, &c, 1);

		if (x >= m->head && x < MSPAN && m->present[x]) {
			assert_int_equal(got, 1);
			if (c != m->data[x])
				fail_msg("offset %llu: 0x%02x, model 0x%02x",
					 (unsigned long long)x, c, m->data[x]);
		} else {
			assert_int_equal(got, x == nxt ? 0 : -1);
		}
	}
	/* Runs: the model's blocks, each read whole in one call. */
	n = rb_runs(b, r, RB_MAX_RUNS + 2);
	assert_true(n <= RB_MAX_RUNS + 1);
	assert_int_equal(n - (nxt > m->head), m_nruns(m));
	x = m->head;
	for (i = 0; i < n; i++) {
		uint64_t s = r[i].off - base;

		while (!m->present[x])
			x++;
		assert_int_equal(s, x);
		assert_true(r[i].len > 0);
		for (k = 0; k < (int)r[i].len; k++)
			assert_true(m->present[s + k]);
		assert_false(m->present[s + r[i].len]);
		if (r[i].len <= sizeof(buf)) {
			assert_int_equal(rb_read(b, r[i].off, buf, sizeof(buf)),
					 r[i].len);
			assert_memory_equal(buf, m->data + s, r[i].len);
		}
		x = s + r[i].len;
	}
}

static const uint32_t windows[] = { 64, 100, 257, 1000, 1024, 3000 };

static int
env_int(const char *name, int dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? atoi(v) : dflt;
}

/* One random segment near the interesting places of the model. With
 * scatter, mostly tiny out-of-order segments, to pile up runs. */
static void
gen_segment(const struct model *m, int scatter, uint64_t *off, uint32_t *len)
{
	uint64_t h = m->head, nxt = m_next(m), end = m_end(m);
	uint32_t w = m->w, r = (uint32_t)rnd_below(100);

	if (scatter && r < 70) {
		*off = nxt + 2 + rnd_below(w);
		*len = 1 + (uint32_t)rnd_below(3);
		return;
	}
	if (r < 25)
		*off = nxt;
	else if (r < 40)
		*off = nxt + 1 + rnd_below(w);
	else if (r < 52)
		*off = h + rnd_below(end - h + 1);
	else if (r < 58)
		*off = h - rnd_below(h < 300 ? h + 1 : 300);
	else if (r < 68)
		*off = nxt + w / 2 + rnd_below(2 * (uint64_t)w);
	else if (r < 72)
		*off = end + rnd_below(4 * (uint64_t)w);
	else
		*off = h + rnd_below(w + 20);
	r = (uint32_t)rnd_below(100);
	if (r < 30)
		*len = 1 + (uint32_t)rnd_below(6);
	else if (r < 75)
		*len = 1 + (uint32_t)rnd_below(w / 3 + 1);
	else if (r < 93)
		*len = (uint32_t)rnd_below(w + 1);
	else if (r < 97)
		*len = w + (uint32_t)rnd_below(w);
	else
		*len = 0;
}

/* seqs random write sequences; cap_extra > 0 gives each pool a cap of one
 * header plus a random amount up to cap_extra bytes. */
static void
differential(int seqs, size_t cap_extra)
{
	static const uint64_t bases[] = {
		0, 0, 0, 123457, (uint64_t)1 << 63,
		UINT64_MAX - ((uint64_t)1 << 21),
	};
	struct model m;
	uint8_t *d = malloc(1 << 13);
	uint64_t nomems = 0, skips = 0, overlaps = 0, writes = 0;
	uint64_t at_limit = 0, replaces = 0, windowed = 0;
	int sq;

	m.present = calloc(MSPAN + 1, 1);
	m.data = malloc(MSPAN);
	m.hi = 0;
	assert_non_null(d);
	assert_non_null(m.present);
	assert_non_null(m.data);
	for (sq = 0; sq < seqs; sq++) {
		uint64_t base = bases[rnd_below(6)];
		struct rb_pool *p;
		struct rb *b;
		struct rb_result res, exp;
		struct rb_plan pl;
		int policy = (int)rnd_below(2), nw, i;
		int scatter = rnd_below(3) == 0;
		size_t capv = 0;

		m.w = windows[rnd_below(sizeof(windows) / sizeof(windows[0]))];
		m.head = 0;
		memset(m.present, 0, m.hi + 1);
		m.hi = 0;
		p = rb_pool_create(0);
		b = rb_create(p, m.w);
		assert_non_null(b);
		if (cap_extra != 0) {
			size_t hdr = rb_pool_bytes(p);

			rb_destroy(p, b);
			rb_pool_destroy(p);
			capv = hdr + rnd_below(cap_extra);
			p = rb_pool_create(capv);
			b = rb_create(p, m.w);
			assert_non_null(b);
		}
		if (rnd_below(2))
			rb_set_policy(b, policy);
		if (base != 0) {
			/* Move the buffer's head to base (skipping the hole
			 * from 0); the model starts there at 0. */
			rb_plan(b, base, 1, &pl);
			assert_int_equal(pl.new_head, base);
			assert_int_equal(pl.skipped, base);
			d[0] = 0x5a;
			rb_write(p, b, base, d, 1, policy, &res);
			assert_int_equal(rb_head(b), base);
			m_write(&m, 0, 1, d, policy,
				res.reason == RB_NOMEM ? 0 : UINT64_MAX, 0,
				&exp);
		}
		nw = 20 + (int)rnd_below(100);
		for (i = 0; i < nw; i++) {
			uint64_t off, lim = UINT64_MAX, cap0 = rb_capacity(b);
			uint32_t len, k;
			int rc, had_runs = m_nruns(&m) != 0, no_ooo;
			int pol = rnd_below(4) == 0 ? RB_BUFPOLICY : policy;

			if (rnd_below(40) == 0) {
				/* A new window now and then. */
				uint32_t nwin = windows[rnd_below(
					sizeof(windows) / sizeof(windows[0]))];

				rc = rb_set_window(p, b, nwin);
				assert_int_equal(rc, 0);
				m_set_window(&m, nwin);
				assert_int_equal(rb_window(b), nwin);
				assert_true(rb_capacity(b) <=
					    pow2_at_least(nwin));
				check_against(b, &m, base);
				assert_int_equal(rb_pool_bytes(p), rb_mem(b));
				windowed++;
				continue;
			}
			if (rnd_below(25) == 0 && !had_runs) {
				/* A length-changing rewrite now and then. */
				uint32_t nl = (uint32_t)(m_next(&m) - m.head);
				uint32_t ol = (uint32_t)rnd_below(
					(nl < 200 ? nl : 200) + 1);
				uint32_t nn = (uint32_t)rnd_below(300);

				if (m_next(&m) - ol + nn + m.w >= MSPAN)
					break;
				for (len = 0; len < nn; len++)
					d[len] = (uint8_t)rnd();
				rc = rb_replace_tail(p, b, ol, d, nn);
				if (rc == 0) {
					m_replace_tail(&m, ol, d, nn);
					replaces++;
				} else {
					assert_true(cap_extra != 0);
				}
				check_against(b, &m, base);
				continue;
			}
			gen_segment(&m, scatter, &off, &len);
			if (off + len + 2 * (uint64_t)m.w >= MSPAN)
				break;
			for (k = 0; k < len; k++)
				d[k] = (uint8_t)rnd();
			at_limit += m_nruns(&m) == RB_MAX_RUNS;
			rb_plan(b, base + off, len, &pl);
			rc = rb_write(p, b, base + off, d, len, pol, &res);
			assert_int_equal(rc, res.reason == RB_OK ? 0 : -1);
			if (cap_extra == 0)
				assert_int_equal(res.reason, RB_OK);
			else
				assert_true(rb_pool_bytes(p) <= capv);
			if (res.reason == RB_NOMEM) {
				nomems++;
				lim = rb_head(b) - base + rb_capacity(b);
			}
			no_ooo = res.reason == RB_NOMEM && !had_runs &&
				 rb_end(b) == rb_next(b);
			m_write(&m, off, len, d,
				pol == RB_BUFPOLICY ? rb_policy(b) : pol, lim,
				no_ooo, &exp);
			assert_int_equal(pl.new_head, rb_head(b));
			assert_int_equal(pl.new_head, base + m.head);
			assert_int_equal(pl.skipped, res.skipped);
			assert_int_equal(pl.discarded, res.discarded);
			assert_int_equal(pl.overlap, res.overlap);
			assert_int_equal(res.appended, exp.appended);
			assert_int_equal(res.stored, exp.stored);
			assert_int_equal(res.dropped, exp.dropped);
			assert_int_equal(res.skipped, exp.skipped);
			assert_int_equal(res.discarded, exp.discarded);
			assert_int_equal(res.overlap, exp.overlap);
			/* Grows only on demand, to the power of two needed;
			 * never when it refused memory. */
			if (rb_capacity(b) > cap0 && res.reason == RB_OK)
				assert_int_equal(rb_capacity(b),
					pow2_at_least(rb_end(b) - rb_head(b)));
			if (res.reason == RB_NOMEM && cap0 != 0 && !no_ooo)
				assert_int_equal(rb_capacity(b), cap0);
			check_against(b, &m, base);
			assert_int_equal(rb_pool_bytes(p), rb_mem(b));
			writes++;
			skips += res.skipped != 0;
			overlaps += res.overlap;
		}
		rb_destroy(p, b);
		assert_int_equal(rb_pool_bytes(p), 0);
		rb_pool_destroy(p);
	}
	print_message("differential: %d sequences, %llu writes (%llu with "
		      "skipped holes, %llu overlaps, %llu at the run limit, "
		      "%llu NOMEM), %llu tail rewrites, %llu window changes\n",
		      seqs,
		      (unsigned long long)writes, (unsigned long long)skips,
		      (unsigned long long)overlaps,
		      (unsigned long long)at_limit,
		      (unsigned long long)nomems, (unsigned long long)replaces,
		      (unsigned long long)windowed);
	assert_true(writes > (uint64_t)seqs * 10);
	assert_true(skips > 0);
	assert_true(overlaps > 0);
	assert_true(at_limit > 0);
	assert_true(replaces > 0);
	assert_true(windowed > 0);
	if (cap_extra != 0)
		assert_true(nomems > 0);
	free(m.present);
	free(m.data);
	free(d);
}

static void
test_differential(void **state)
{
	differential(env_int("RB_FUZZ_SEQS", 2000), 0);
}

static void
test_differential_nomem(void **state)
{
	differential(env_int("RB_FUZZ_SEQS", 2000) / 2, 2048);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_inorder),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_overlap_first),
		cmocka_unit_test(test_overlap_last),
		cmocka_unit_test(test_policy_argument),
		cmocka_unit_test(test_below_head),
		cmocka_unit_test(test_slide),
		cmocka_unit_test(test_long_segment),
		cmocka_unit_test(test_skip_holes),
		cmocka_unit_test(test_max_runs),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_pool_accounting),
		cmocka_unit_test(test_nomem),
		cmocka_unit_test(test_read_offsets),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_replace_tail),
		cmocka_unit_test(test_set_window),
		cmocka_unit_test(test_huge_offsets),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_nomem),
	};

	rng_state = (uint64_t)env_int("RB_FUZZ_SEED", 0x2545f491) | 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
