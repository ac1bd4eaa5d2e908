/*
 * fuzz_rb.c - fuzz target of the reassembly buffer (engine/rb.c): the
 * input is a program of writes, reads, window and policy changes, tail
 * replacements, first-ring size hints and dry runs on two buffers sharing one pool (with or
 * without a memory cap), created at offset 0, at a random offset or just
 * below 2^64.
 *
 * A byte map of each buffer (which offsets are buffered, and the byte each
 * must hold) checks every operation against the rules of rb.h: head <=
 * next <= end <= head + W, at most RB_MAX_RUNS sorted, disjoint,
 * non-adjacent runs beyond next; rb_plan predicting rb_write; each counter
 * of struct rb_result; RB_FIRST keeping and RB_LAST replacing bytes
 * already held; no byte appearing from nowhere, none at or above the head
 * lost except segment bytes for lack of memory; the head moving only as
 * far as room requires (rb_set_window); rb_read returning exactly the
 * buffered bytes; the pool's accounting and cap.
 */
#include <string.h>

#include "fuzz.h"
#include "rb.h"

#define SPAN		(1u << 16)	/* offsets used: [base, base + SPAN) */
#define MAXSEG		2048u
#define MAXDELTA	8192	/* offsets chosen around head, next, end */
#define MAXOPS		300

struct model {
	struct rb *b;
	uint64_t base;
	uint64_t used;		/* have[] may be non-zero below this */
	uint8_t have[SPAN];	/* offset base + k is buffered */
	uint8_t val[SPAN];	/* the byte it holds */
};

static struct model mods[2];
static uint8_t seg[MAXSEG], tmp[SPAN];
static uint8_t old_have[SPAN], old_val[SPAN], now[SPAN];

/* Index of offset o in the model, or -1 outside [base, base + SPAN). */
static int64_t
idx(const struct model *m, uint64_t o)
{
	if (o < m->base || o - m->base >= SPAN)
		return -1;
	return (int64_t)(o - m->base);
}

/* Copy the model's [head, end) before an operation. The ring's contents
 * always lie inside the model's span; a ring that left it is a finding,
 * not a copy from before the model's arrays. */
static void
snapshot(const struct model *m, uint64_t head, uint64_t end)
{
	int64_t i = idx(m, head);

	if (end <= head)
		return;
	FUZZ_CHECK(i >= 0 && idx(m, end - 1) >= 0);
	memcpy(old_have + i, m->have + i, end - head);
	memcpy(old_val + i, m->val + i, end - head);
}

/* The largest ring a window allows: the smallest power of two >= W. */
static uint64_t
max_cap(uint32_t w)
{
	uint64_t c = RB_MIN_CAP;

	while (c < w)
		c <<= 1;
	return c;
}

/* The buffer's structure, and every byte against the model. */
static void
check_buffer(const struct model *m)
{
	struct rb_run runs[RB_MAX_RUNS + 2];
	const struct rb *b = m->b;
	uint64_t head = rb_head(b), next = rb_next(b), end = rb_end(b);
	uint64_t o, prev = head;
	int n, i;

	FUZZ_CHECK(head <= next && next <= end);
	FUZZ_CHECK(end - head <= rb_window(b));
	FUZZ_CHECK(b->nruns <= RB_MAX_RUNS);
	FUZZ_CHECK(end == head || rb_capacity(b) >= end - head);
	FUZZ_CHECK(rb_capacity(b) <= max_cap(rb_window(b)));
	FUZZ_CHECK(rb_policy(b) == RB_FIRST || rb_policy(b) == RB_LAST);
	n = rb_runs(b, runs, RB_MAX_RUNS + 2);
	FUZZ_CHECK(n == b->nruns + (next > head));
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(runs[i].len > 0);
		if (i == 0 && next > head)
			FUZZ_CHECK(runs[0].off == head &&
				   runs[0].len == next - head);
		else	/* beyond next, apart from the run before */
			FUZZ_CHECK(runs[i].off > next && runs[i].off > prev);
		prev = runs[i].off + runs[i].len;
	}
	FUZZ_CHECK(prev == end);
	if (end == head)
		return;
	FUZZ_CHECK(idx(m, head) >= 0 && idx(m, end - 1) >= 0);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(rb_read(b, runs[i].off, tmp, runs[i].len) ==
			   (int64_t)runs[i].len);
		for (o = 0; o < runs[i].len; o++) {
			int64_t k = idx(m, runs[i].off + o);

			FUZZ_CHECK(m->have[k]);
			FUZZ_CHECK(tmp[o] == m->val[k]);
		}
	}
	/* The model has nothing else; holes read as -1 (next as 0): their
	 * first, middle and last bytes. */
	prev = head;
	for (i = 0; i <= n; i++) {
		uint64_t hs = prev, he = i < n ? runs[i].off : end, t[3];
		int j;

		for (o = hs; o < he; o++)
			FUZZ_CHECK(!m->have[idx(m, o)]);
		t[0] = hs;
		t[1] = hs + (he - hs) / 2;
		t[2] = he - 1;
		for (j = 0; j < 3 && he > hs; j++)
			FUZZ_CHECK(rb_read(b, t[j], tmp, 1) ==
				   (t[j] == next ? 0 : -1));
		if (i < n)
			prev = runs[i].off + runs[i].len;
	}
}

/* now[k] = 1 where the buffer holds offset base + k, for k in
 * [idx(lo), idx(hi)). */
static void
mark_now(const struct model *m, uint64_t lo, uint64_t hi)
{
	struct rb_run runs[RB_MAX_RUNS + 2];
	int n = rb_runs(m->b, runs, RB_MAX_RUNS + 2), i;
	uint64_t o;

	if (hi > lo)
		memset(now + idx(m, lo), 0, hi - lo);
	for (i = 0; i < n; i++)
		for (o = runs[i].off; o < runs[i].off + runs[i].len; o++) {
			FUZZ_CHECK(idx(m, o) >= 0);
			if (o >= lo && o < hi)
				now[idx(m, o)] = 1;
		}
}

static void
op_write(struct rb_pool *pool, struct model *m, struct fuzz_in *in)
{
	struct rb *b = m->b;
	uint8_t anchor = fuzz_u8(in), pol = fuzz_u8(in), seed;
	int32_t delta = (int32_t)(fuzz_u16(in) % (2 * MAXDELTA)) - MAXDELTA;
	uint32_t len = fuzz_u16(in) % (MAXSEG + 1), i;
	uint64_t head = rb_head(b), next = rb_next(b), end = rb_end(b);
	uint64_t off, nh, hi, o, fit, cut;
	uint64_t skipped = 0, discarded = 0, dropped = 0, kept = 0, fresh = 0;
	int policy, eff, overlap, ret;
	struct rb_result res;
	struct rb_plan plan;

	seed = fuzz_u8(in);
	switch (anchor % 4) {
	case 0: off = next; break;
	case 1: off = head; break;
	case 2: off = end; break;
	default: off = m->base; break;
	}
	off += (uint64_t)(int64_t)delta;
	/* Bytes at offset 2^64 - 1 and beyond cannot be buffered. */
	fit = UINT64_MAX - off < len ? UINT64_MAX - off : len;
	cut = len - fit;
	if (idx(m, off) < 0 || (fit > 0 && idx(m, off + fit - 1) < 0))
		return;
	for (i = 0; i < len; i++)
		seg[i] = (uint8_t)(seed + i * 131 + (i >> 8));
	policy = pol % 3 == 0 ? RB_FIRST : pol % 3 == 1 ? RB_LAST :
		 RB_BUFPOLICY;
	eff = policy == RB_BUFPOLICY ? rb_policy(b) : policy;
	hi = end > off + fit ? end : off + fit;
	snapshot(m, head, hi);

	rb_plan(b, off, len, &plan);
	ret = rb_write(pool, b, off, seg, len, policy, &res);
	FUZZ_CHECK(ret == 0 ? res.reason == RB_OK :
		   ret == -1 && res.reason == RB_NOMEM);
	nh = rb_head(b);
	mark_now(m, head, hi);
	if (len == 0) {
		FUZZ_CHECK(nh == head && rb_next(b) == next &&
			   rb_end(b) == end);
		return;
	}
	/* The plan was the write's. */
	FUZZ_CHECK(plan.new_head == nh);
	FUZZ_CHECK(plan.skipped == res.skipped);
	FUZZ_CHECK(plan.discarded == res.discarded);
	FUZZ_CHECK(plan.overlap == res.overlap);
	FUZZ_CHECK(nh >= head);
	FUZZ_CHECK(rb_next(b) - next == res.appended + res.skipped);

	/* Each byte by the rules. */
	overlap = off < head;
	for (o = head < off ? head : off; o < hi; o++) {
		int inseg = o >= off && o - off < fit;
		int held, was;
		int64_t k;

		if (o < head)
			continue;	/* below the head: ignored */
		k = idx(m, o);
		was = old_have[k];
		held = now[k];
		if (inseg && was)
			overlap = 1;
		if (o < nh) {
			FUZZ_CHECK(!held);
			discarded += was;
			if (inseg && !was)
				dropped++;
			if (!inseg && !was && o >= next)
				skipped++;
			m->have[k] = 0;
			continue;
		}
		if (!held) {
			/* Held bytes stay; new ones may lack memory. */
			FUZZ_CHECK(!was);
			if (inseg) {
				FUZZ_CHECK(res.reason == RB_NOMEM);
				dropped++;
			}
			m->have[k] = 0;
			continue;
		}
		FUZZ_CHECK(was || inseg);
		m->have[k] = 1;
		if (inseg) {
			kept++;
			fresh += !was;
			if (!was || eff == RB_LAST)
				m->val[k] = seg[o - off];
		}
	}
	FUZZ_CHECK(res.discarded == discarded);
	FUZZ_CHECK(res.skipped == skipped);
	FUZZ_CHECK(res.overlap == overlap);
	FUZZ_CHECK(res.dropped == dropped + cut);
	FUZZ_CHECK(res.stored == (eff == RB_LAST ? kept : fresh));
}

static void
op_window(struct rb_pool *pool, struct model *m, struct fuzz_in *in,
	  int capped)
{
	uint32_t w = fuzz_u16(in);
	uint64_t head = rb_head(m->b), end = rb_end(m->b), nh, need, o;
	int ret;

	if (w & 0x8000)
		w = RB_WINDOW_MAX + (w & 1);	/* the limit, and one past */
	snapshot(m, head, end);
	ret = rb_set_window(pool, m->b, w);
	nh = rb_head(m->b);
	if (w < RB_WINDOW_MIN || w > RB_WINDOW_MAX || ret != 0) {
		/* Refused (a smaller ring may lack memory): no change. */
		FUZZ_CHECK(ret == -1 && nh == head && rb_end(m->b) == end);
		FUZZ_CHECK(w < RB_WINDOW_MIN || w > RB_WINDOW_MAX || capped);
		return;
	}
	FUZZ_CHECK(rb_window(m->b) == w);
	FUZZ_CHECK(rb_capacity(m->b) <= max_cap(w));
	/* Room for the new window and no more: the head passes need only
	 * to skip a hole. */
	need = end - head > w ? end - w : head;
	FUZZ_CHECK(nh >= need);
	mark_now(m, head, end);
	for (o = head; o < end; o++) {
		int64_t k = idx(m, o);

		if (o >= need && o < nh)
			FUZZ_CHECK(!old_have[k]);
		if (o < nh)
			m->have[k] = 0;
		else
			FUZZ_CHECK(now[k] == old_have[k]);
	}
}

static void
op_replace(struct rb_pool *pool, struct model *m, struct fuzz_in *in,
	   int capped)
{
	struct rb *b = m->b;
	uint32_t old_len = fuzz_u16(in), new_len = fuzz_u16(in) % (MAXSEG + 1);
	uint64_t head = rb_head(b), next = rb_next(b), base, nh, o;
	uint8_t seed = fuzz_u8(in);
	int ret, can;
	uint32_t i;

	for (i = 0; i < new_len; i++)
		seg[i] = (uint8_t)(seed ^ (i * 29));
	can = b->nruns == 0 && old_len <= next - head;
	base = can ? next - old_len : next;
	if (can && (new_len > UINT64_MAX - base ||
		    idx(m, base + new_len) < 0))
		return;
	ret = rb_replace_tail(pool, b, old_len, seg, new_len);
	if (!can || ret != 0) {
		FUZZ_CHECK(ret == -1 && rb_next(b) == next &&
			   rb_head(b) == head);
		FUZZ_CHECK(!can || capped);
		return;
	}
	nh = rb_head(b);
	FUZZ_CHECK(rb_next(b) == base + new_len && b->nruns == 0);
	FUZZ_CHECK(base + new_len - nh <= rb_window(b));
	FUZZ_CHECK(nh == (base + new_len - head > rb_window(b) ?
			  base + new_len - rb_window(b) : head));
	for (o = head; o < next; o++)
		m->have[idx(m, o)] = o >= nh && o < base;
	for (i = 0; i < new_len; i++) {
		int64_t k = idx(m, base + i);

		m->have[k] = base + i >= nh;
		m->val[k] = seg[i];
	}
}

static void
op_read(const struct model *m, struct fuzz_in *in)
{
	const struct rb *b = m->b;
	uint64_t head = rb_head(b), next = rb_next(b), e;
	uint64_t o = head + fuzz_u16(in) - 8, n = fuzz_u16(in), i;
	int64_t r = rb_read(b, o, tmp, n), want;

	if (o < head) {
		want = -1;
	} else if (o == next) {
		want = 0;
	} else if (o < next) {
		e = next;
		want = (int64_t)(e - o < n ? e - o : n);
	} else if (idx(m, o) >= 0 && o < rb_end(b) && m->have[idx(m, o)]) {
		for (e = o; e < rb_end(b) && m->have[idx(m, e)]; e++)
			;
		want = (int64_t)(e - o < n ? e - o : n);
	} else {
		want = -1;
	}
	FUZZ_CHECK(r == want);
	for (i = 0; r > 0 && i < (uint64_t)r; i++)
		FUZZ_CHECK(tmp[i] == m->val[idx(m, o + i)]);
}

/* Policy changes, and calls that must be refused without effect. */
static void
op_misc(struct rb_pool *pool, struct model *m, struct fuzz_in *in)
{
	uint64_t h = rb_head(m->b), n = rb_next(m->b), e = rb_end(m->b);
	struct rb_result res;
	uint32_t cap;

	FUZZ_CHECK(rb_set_policy(m->b, fuzz_u8(in) & 1) == 0);
	FUZZ_CHECK(rb_set_policy(m->b, 2) == -1);
	FUZZ_CHECK(rb_set_policy(NULL, RB_FIRST) == -1);
	FUZZ_CHECK(rb_write(pool, m->b, n, NULL, 5, RB_FIRST, &res) == -1 &&
		   res.reason == RB_INVAL);
	FUZZ_CHECK(rb_write(pool, NULL, n, seg, 5, RB_FIRST, &res) == -1 &&
		   res.reason == RB_INVAL);
	FUZZ_CHECK(rb_read(NULL, n, tmp, 1) == -1);
	FUZZ_CHECK(rb_runs(NULL, NULL, 0) == 0 && rb_mem(NULL) == 0);
	FUZZ_CHECK(rb_write(pool, m->b, n, seg, 0, RB_FIRST, NULL) == 0);
	FUZZ_CHECK(rb_replace_tail(pool, m->b, 0, NULL, 1) == -1);
	FUZZ_CHECK(rb_set_window(pool, NULL, RB_WINDOW_MIN) == -1);
	/* A hint for the first ring's size (any size: check_buffer keeps
	 * every ring within the window's, also after later window
	 * changes) moves no byte and no ring that exists. */
	cap = rb_capacity(m->b);
	rb_expect(m->b, fuzz_u32(in) >> (fuzz_u8(in) % 32));
	FUZZ_CHECK(rb_capacity(m->b) == cap);
	FUZZ_CHECK(rb_head(m->b) == h && rb_next(m->b) == n &&
		   rb_end(m->b) == e);
}

static void
op_plan(const struct model *m, struct fuzz_in *in)
{
	const struct rb *b = m->b;
	uint64_t off = rb_head(b) + (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
	uint32_t len = fuzz_u32(in);
	uint64_t h = rb_head(b), n = rb_next(b), e = rb_end(b);
	struct rb_plan p1, p2;

	/* Any length, past 2^64 too: a dry run changes nothing and says
	 * the same twice. */
	rb_plan(b, off, len, &p1);
	rb_plan(b, off, len, &p2);
	FUZZ_CHECK(p1.new_head == p2.new_head && p1.skipped == p2.skipped &&
		   p1.discarded == p2.discarded && p1.overlap == p2.overlap);
	FUZZ_CHECK(rb_head(b) == h && rb_next(b) == n && rb_end(b) == e);
	FUZZ_CHECK(p1.new_head >= h);
	FUZZ_CHECK(p1.overlap == 0 || len > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);
	size_t cap = (mode & 1) ? 256 + (size_t)fuzz_u16(&in) : 0;
	struct rb_pool *pool = rb_pool_create(cap);
	int i, ops;

	FUZZ_CHECK(pool != NULL);
	for (i = 0; i < 2; i++) {
		struct model *m = &mods[i];
		uint32_t w = RB_WINDOW_MIN + fuzz_u16(&in) % 8192;
		uint8_t where = fuzz_u8(&in);

		/* val[] is only read where have[] is set. */
		memset(m->have, 0, m->used);
		m->used = 0;
		m->base = where % 3 == 0 ? 0 : where % 3 == 1 ?
			  (uint64_t)fuzz_u32(&in) << 16 :
			  UINT64_MAX - 1 - fuzz_u16(&in) % (SPAN - 1);
		m->b = m->base == 0 && (where & 4) ? rb_create(pool, w) :
		       rb_create_at(pool, w, m->base);
		if (m->b == NULL) {
			FUZZ_CHECK(cap != 0);
			goto out;
		}
		FUZZ_CHECK(rb_head(m->b) == m->base &&
			   rb_end(m->b) == m->base && rb_capacity(m->b) == 0);
	}
	FUZZ_CHECK(rb_create(pool, RB_WINDOW_MIN - 1) == NULL);
	FUZZ_CHECK(rb_create(pool, RB_WINDOW_MAX + 1) == NULL);
	for (ops = 0; fuzz_more(&in) && ops < MAXOPS; ops++) {
		uint8_t op = fuzz_u8(&in);
		struct model *m = &mods[op >> 7];

		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			op_write(pool, m, &in);
			break;
		case 3:
			op_read(m, &in);
			break;
		case 4:
			op_window(pool, m, &in, cap != 0);
			break;
		case 5:
			op_misc(pool, m, &in);
			break;
		case 6:
			op_replace(pool, m, &in, cap != 0);
			break;
		default:
			op_plan(m, &in);
			break;
		}
		check_buffer(m);
		if (rb_end(m->b) - m->base > m->used)
			m->used = rb_end(m->b) - m->base;
		FUZZ_CHECK(cap == 0 || rb_pool_bytes(pool) <= cap);
		FUZZ_CHECK(rb_pool_reserved(pool) >= rb_pool_bytes(pool));
		FUZZ_CHECK(rb_pool_bytes(pool) >=
			   rb_mem(mods[0].b) + rb_mem(mods[1].b));
	}
out:
	for (i = 0; i < 2; i++) {
		rb_destroy(pool, mods[i].b);
		mods[i].b = NULL;
	}
	FUZZ_CHECK(rb_pool_bytes(pool) == 0);
	rb_pool_destroy(pool);
	return 0;
}
