/*
 * rb.c - stream reassembly buffers and their per-core pool (see rb.h for
 * the model and the rules).
 *
 * A write is computed as a "layout" first: the buffered blocks with the
 * segment merged in, and the head that room-making (window) and the run
 * limit force. rb_plan() is that computation alone, so the plan and the
 * write cannot disagree; rb_write() then applies it, and only memory
 * (ring growth, run table) can make it store less than planned, never
 * move the head differently.
 *
 * The pool hands out power-of-two objects carved from 64 KiB slabs (plus a
 * class for headers, which are not a power of two), so a million small
 * buffers do not mean a million malloc calls; objects larger than a
 * quarter slab are malloc'd one by one and given back when freed.
 */
#include <stdlib.h>
#include <string.h>

#include "rb.h"

/* Under AddressSanitizer, free and unused slab memory is poisoned and
 * objects are separated by redzones, so that an overrun inside a slab is
 * reported like one between malloc'd blocks. */
#if defined(__SANITIZE_ADDRESS__)
#define RB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RB_ASAN 1
#endif
#endif
#ifdef RB_ASAN
#include <sanitizer/asan_interface.h>
#define RB_REDZONE	32u
#define RB_POISON(p, n)		ASAN_POISON_MEMORY_REGION(p, n)
#define RB_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RB_REDZONE	0u
#define RB_POISON(p, n)		((void)(p), (void)(n))
#define RB_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

/* Run table: [s, e) relative to head, sorted. 64 bytes, one size class. */
struct rb_ooo {
	uint32_t r[RB_MAX_RUNS][2];
};

_Static_assert(sizeof(struct rb_ooo) == 64, "run table is one 64-byte class");

#define RB_SLAB_BYTES	(64u * 1024)
#define RB_SLAB_OBJMAX	(RB_SLAB_BYTES / 4)
#define RB_NCLASS	32
#define RB_HDR_CLASS	0	/* class 0 holds headers; others are 2^k */
#define RB_OOO_CLASS	6
#define RB_HDR_SIZE	((sizeof(struct rb) + 7) & ~(size_t)7)

/* Prefixes of what the pool mallocs, so that it can free everything. */
struct rb_slab {
	struct rb_slab *next;
	uint64_t pad;		/* keeps objects 16-byte aligned */
};

struct rb_big {
	struct rb_big *prev, *next;
};

struct rb_pool {
	size_t cap;
	size_t inuse;
	size_t reserved;
	void *freel[RB_NCLASS];
	uint8_t *bump[RB_NCLASS];
	uint8_t *bump_end[RB_NCLASS];
	struct rb_slab *slabs;
	struct rb_big *bigs;
};

static size_t
pool_class_size(unsigned int cls)
{
	return cls == RB_HDR_CLASS ? RB_HDR_SIZE : (size_t)1 << cls;
}

/* A new object of class cls (size bytes) when its free list is empty: a
 * large one from malloc, else the class's slab space. */
static __attribute__((noinline)) void *
pool_get_slow(struct rb_pool *p, unsigned int cls, size_t size)
{
	void *o;

	if (size > RB_SLAB_OBJMAX) {
		struct rb_big *big = malloc(sizeof(*big) + size);

		if (big == NULL)
			return NULL;
		big->prev = NULL;
		big->next = p->bigs;
		if (p->bigs != NULL)
			p->bigs->prev = big;
		p->bigs = big;
		p->reserved += sizeof(*big) + size;
		p->inuse += size;
		return big + 1;
	}
	if ((size_t)(p->bump_end[cls] - p->bump[cls]) < size + RB_REDZONE) {
		struct rb_slab *s;

		s = malloc(sizeof(*s) + RB_SLAB_BYTES);
		if (s == NULL)
			return NULL;
		s->next = p->slabs;
		p->slabs = s;
		p->reserved += sizeof(*s) + RB_SLAB_BYTES;
		p->bump[cls] = (uint8_t *)(s + 1);
		p->bump_end[cls] = p->bump[cls] + RB_SLAB_BYTES;
		RB_POISON(p->bump[cls], RB_SLAB_BYTES);
	}
	o = p->bump[cls];
	p->bump[cls] += size + RB_REDZONE;
	RB_UNPOISON(o, size);
	p->inuse += size;
	return o;
}

/* credit: bytes the caller frees right after (ring growth), so that a cap
 * is checked against what will remain, not the transient sum. Inline: a
 * warm pool serves every flow side's header and first ring from the free
 * lists (large objects never go on them). */
static inline void *
pool_get(struct rb_pool *p, unsigned int cls, size_t credit)
{
	size_t size = pool_class_size(cls);
	void *o;

	if (p == NULL)
		return NULL;
	if (p->cap != 0 && p->inuse - credit + size > p->cap)
		return NULL;
	o = p->freel[cls];
	if (o == NULL)
		return pool_get_slow(p, cls, size);
	RB_UNPOISON(o, sizeof(void *));
	memcpy(&p->freel[cls], o, sizeof(void *));
	RB_UNPOISON(o, size);
	p->inuse += size;
	return o;
}

static __attribute__((noinline)) void
pool_put_big(struct rb_pool *p, void *o, size_t size)
{
	struct rb_big *big = (struct rb_big *)o - 1;

	if (big->prev != NULL)
		big->prev->next = big->next;
	else
		p->bigs = big->next;
	if (big->next != NULL)
		big->next->prev = big->prev;
	p->reserved -= sizeof(*big) + size;
	free(big);
}

static inline void
pool_put(struct rb_pool *p, unsigned int cls, void *o)
{
	size_t size = pool_class_size(cls);

	if (o == NULL)
		return;
	p->inuse -= size;
	if (size > RB_SLAB_OBJMAX) {
		pool_put_big(p, o, size);
		return;
	}
	memcpy(o, &p->freel[cls], sizeof(void *));
	p->freel[cls] = o;
	RB_POISON(o, size);
}

struct rb_pool *
rb_pool_create(size_t cap_bytes)
{
	struct rb_pool *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->cap = cap_bytes;
	return p;
}

void
rb_pool_destroy(struct rb_pool *p)
{
	if (p == NULL)
		return;
	while (p->slabs != NULL) {
		struct rb_slab *s = p->slabs;

		p->slabs = s->next;
		free(s);
	}
	while (p->bigs != NULL) {
		struct rb_big *big = p->bigs;

		p->bigs = big->next;
		free(big);
	}
	free(p);
}

size_t
rb_pool_bytes(const struct rb_pool *p)
{
	return p != NULL ? p->inuse : 0;
}

size_t
rb_pool_reserved(const struct rb_pool *p)
{
	return p != NULL ? p->reserved : 0;
}

/*
 * Buffers.
 */

struct rb *
rb_create(struct rb_pool *pool, uint32_t window)
{
	struct rb *b;

	if (pool == NULL || window < RB_WINDOW_MIN || window > RB_WINDOW_MAX)
		return NULL;
	b = pool_get(pool, RB_HDR_CLASS, 0);
	if (b == NULL)
		return NULL;
	*b = (struct rb){ .window = window, .policy = RB_FIRST };
	return b;
}

struct rb *
rb_create_at(struct rb_pool *pool, uint32_t window, uint64_t off)
{
	struct rb *b = rb_create(pool, window);

	if (b != NULL)
		b->head = off;
	return b;
}

void
rb_destroy(struct rb_pool *pool, struct rb *b)
{
	if (pool == NULL || b == NULL)
		return;
	if (b->ring != NULL)
		pool_put(pool, b->cap_log2, b->ring);
	pool_put(pool, RB_OOO_CLASS, b->ooo);
	pool_put(pool, RB_HDR_CLASS, b);
}

int
rb_set_policy(struct rb *b, int policy)
{
	if (b == NULL || (policy != RB_FIRST && policy != RB_LAST))
		return -1;
	b->policy = (uint8_t)policy;
	return 0;
}

size_t
rb_mem(const struct rb *b)
{
	size_t m;

	if (b == NULL)
		return 0;
	m = RB_HDR_SIZE + rb_capacity(b);
	if (b->ooo != NULL)
		m += sizeof(struct rb_ooo);
	return m;
}

uint64_t
rb_end(const struct rb *b)
{
	if (b->nruns != 0)
		return b->head + b->ooo->r[b->nruns - 1][1];
	return b->head + b->nlen;
}

/* Copy n bytes (n <= capacity) between a flat buffer and the ring. */
static void
ring_put(uint8_t *ring, uint32_t cap, uint64_t off, const uint8_t *src,
	 uint64_t n)
{
	uint32_t pos = (uint32_t)(off & (cap - 1));
	uint64_t first = n < cap - pos ? n : cap - pos;

	memcpy(ring + pos, src, first);
	/* Most writes do not wrap: a call for 0 bytes costs about 15
	 * instructions, some 3 a packet of the http replay. */
	if (n != first)
		memcpy(ring, src + first, n - first);
}

static void
ring_get(const uint8_t *ring, uint32_t cap, uint64_t off, uint8_t *dst,
	 uint64_t n)
{
	uint32_t pos = (uint32_t)(off & (cap - 1));
	uint64_t first = n < cap - pos ? n : cap - pos;

	memcpy(dst, ring + pos, first);
	if (n != first)
		memcpy(dst + first, ring, n - first);
}

static unsigned int
log2_ceil(uint64_t v)
{
	return v <= 1 ? 0 : 64u - (unsigned int)__builtin_clzll(v - 1);
}

void
rb_expect(struct rb *b, uint32_t bytes)
{
	unsigned int k = log2_ceil(bytes), w = log2_ceil(b->window);

	if (b->ring == NULL)
		b->first_log2 = (uint8_t)(k < w ? k : w);
}

/* Replace the ring by one of at least need bytes (a power of two, at
 * least RB_MIN_CAP), keeping the bytes of [lo, hi), hi - lo <= both
 * capacities. need <= the smallest power of two >= W, so the class
 * stays <= 30. */
static int
rb_resize(struct rb_pool *pool, struct rb *b, uint64_t need, uint64_t lo,
	  uint64_t hi)
{
	uint32_t ocap = rb_capacity(b), ncap;
	unsigned int k = log2_ceil(need < RB_MIN_CAP ? RB_MIN_CAP : need);
	uint8_t *ring;

	ring = pool_get(pool, k, ocap);
	if (ring == NULL)
		return -1;
	ncap = 1u << k;
	while (lo < hi) {
		uint32_t opos = (uint32_t)(lo & (ocap - 1));
		uint32_t npos = (uint32_t)(lo & (ncap - 1));
		uint64_t n = hi - lo;

		if (n > ocap - opos)
			n = ocap - opos;
		if (n > ncap - npos)
			n = ncap - npos;
		memcpy(ring + npos, b->ring + opos, n);
		lo += n;
	}
	if (b->ring != NULL)
		pool_put(pool, b->cap_log2, b->ring);
	b->ring = ring;
	b->cap_log2 = (uint8_t)k;
	return 0;
}

/*
 * Layout: the planning half of a write.
 */

struct rb_iv {
	uint64_t s, e;
};

#define RB_MAX_IV	(RB_MAX_RUNS + 2)

struct rb_lay {
	uint64_t a, e;		/* the segment at or above the old head */
	uint64_t segcut;	/* bytes beyond 2^64 - 1 */
	uint64_t head;		/* head after the write */
	uint64_t skipped, discarded;
	int overlap;
	int np;			/* blocks buffered before the write */
	int nu;			/* blocks after it, clipped at head */
	struct rb_iv p[RB_MAX_RUNS + 1];
	struct rb_iv u[RB_MAX_IV];
};

/*
 * Make room: from head h, advance until h >= need and at most RB_MAX_RUNS
 * blocks of u[0..n) (sorted, disjoint, non-adjacent) lie beyond the one
 * holding h. The head moves over in-order data first, and only when that
 * is all gone skips the oldest hole, up to the next block. Returns the
 * new head; *jp gets the index of the first block ending after it.
 */
static uint64_t
rb_advance(const struct rb_iv *u, int n, uint64_t h, uint64_t need, int *jp)
{
	int j = 0;

	for (;;) {
		int inord, runs;

		while (j < n && u[j].e <= h)
			j++;
		inord = j < n && u[j].s <= h;
		runs = n - j - inord;
		if (h >= need && runs <= RB_MAX_RUNS)
			break;
		if (j == n) {
			/* Never: the last block ends at or after need. */
			h = need;
			break;
		}
		if (!inord)
			h = u[j].s;		/* skip the oldest hole */
		else if (runs > RB_MAX_RUNS || u[j].e <= need)
			h = u[j].e;		/* discard all in-order data */
		else
			h = need;
	}
	*jp = j;
	return h;
}

/* Bytes of the blocks iv[0..n) inside [x, y). */
static uint64_t
iv_measure(const struct rb_iv *iv, int n, uint64_t x, uint64_t y)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n && x < y; i++) {
		uint64_t s = iv[i].s > x ? iv[i].s : x;
		uint64_t e = iv[i].e < y ? iv[i].e : y;

		if (s < e)
			sum += e - s;
	}
	return sum;
}

/* The buffered data as absolute blocks: in-order (if any), then runs. */
static int
rb_blocks(const struct rb *b, struct rb_iv *p)
{
	int i, n = 0;

	if (b->nlen != 0)
		p[n++] = (struct rb_iv){ b->head, b->head + b->nlen };
	for (i = 0; i < b->nruns; i++)
		p[n++] = (struct rb_iv){ b->head + b->ooo->r[i][0],
					 b->head + b->ooo->r[i][1] };
	return n;
}

static void
rb_layout(const struct rb *b, uint64_t off, uint32_t len, struct rb_lay *L)
{
	uint64_t h, need, nxt = rb_next(b);
	int i, j, n;

	L->np = rb_blocks(b, L->p);
	L->segcut = len > UINT64_MAX - off ? len - (UINT64_MAX - off) : 0;
	L->a = off;
	L->e = off + (len - L->segcut);
	L->overlap = len != 0 && off < b->head;
	L->skipped = 0;
	L->discarded = 0;
	L->head = b->head;
	if (L->a < b->head)
		L->a = b->head;
	if (L->a >= L->e) {
		L->e = L->a;		/* empty, at or above the head */
		memcpy(L->u, L->p, sizeof(L->p[0]) * (size_t)L->np);
		L->nu = L->np;
		return;
	}
	if (iv_measure(L->p, L->np, L->a, L->e) != 0)
		L->overlap = 1;

	/* Merge the segment into the buffered blocks. */
	n = 0;
	for (i = 0; i < L->np && L->p[i].e < L->a; i++)
		L->u[n++] = L->p[i];
	L->u[n] = (struct rb_iv){ L->a, L->e };
	for (; i < L->np && L->p[i].s <= L->e; i++) {
		if (L->p[i].s < L->u[n].s)
			L->u[n].s = L->p[i].s;
		if (L->p[i].e > L->u[n].e)
			L->u[n].e = L->p[i].e;
	}
	n++;
	for (; i < L->np; i++)
		L->u[n++] = L->p[i];

	need = L->e - b->head > b->window ? L->e - b->window : b->head;
	h = rb_advance(L->u, n, b->head, need, &j);
	L->head = h;
	L->discarded = iv_measure(L->p, L->np, b->head, h);
	if (h > nxt)
		L->skipped = (h - nxt) - iv_measure(L->u, n, nxt, h);

	/* Keep what lies at or above the new head. */
	L->nu = 0;
	for (i = j; i < n; i++) {
		L->u[L->nu] = L->u[i];
		if (L->u[L->nu].s < h)
			L->u[L->nu].s = h;
		L->nu++;
	}
}

void
rb_plan(const struct rb *b, uint64_t off, uint32_t len, struct rb_plan *plan)
{
	struct rb_lay L;

	rb_layout(b, off, len, &L);
	plan->new_head = L.head;
	plan->skipped = L.skipped;
	plan->discarded = L.discarded;
	plan->overlap = (uint8_t)L.overlap;
}

/* In-order append with no runs that needs no growth: the common case. */
static int
rb_write_fast(struct rb *b, uint64_t off, const uint8_t *data, uint32_t len,
	      struct rb_result *res)
{
	uint64_t nxt = rb_next(b), e = off + len, h, w0;

	h = e - b->head > b->window ? e - b->window : b->head;
	if (e - h > rb_capacity(b))
		return -1;
	w0 = nxt > h ? nxt : h;
	ring_put(b->ring, rb_capacity(b), w0, data + (w0 - off), e - w0);
	res->appended = len;
	res->stored = e - w0;
	res->dropped = w0 - nxt;
	res->discarded = (nxt < h ? nxt : h) - b->head;
	b->head = h;
	b->nlen = (uint32_t)(e - h);
	return 0;
}

int
rb_write(struct rb_pool *pool, struct rb *b, uint64_t off, const void *data,
	 uint32_t len, int policy, struct rb_result *res)
{
	struct rb_result dummy;
	struct rb_lay L;
	const uint8_t *src = data;
	uint64_t nxt, h, top, lim, w0, w1, seg_new, stored_new, old_nxt;
	uint32_t cap;
	int i, inord, nomem = 0;

	if (res == NULL)
		res = &dummy;
	*res = (struct rb_result){ 0 };
	if (b == NULL || (data == NULL && len != 0)) {
		res->reason = RB_INVAL;
		return -1;
	}
	if (policy != RB_FIRST && policy != RB_LAST)
		policy = b->policy;
	if (len == 0)
		return 0;
	/* A buffer's first bytes, in order (every flow side's first write):
	 * a ring just big enough for them, and nothing to plan. rb_resize
	 * would allocate the same ring, at 50 instructions more a call
	 * (callgrind), for a copy loop that has nothing to copy. */
	if (b->ring == NULL && b->nruns == 0 && b->nlen == 0 &&
	    off == b->head && len <= b->window && len <= UINT64_MAX - off) {
		unsigned int k = log2_ceil(len < RB_MIN_CAP ? RB_MIN_CAP : len);

		if (k < b->first_log2)
			k = b->first_log2;
		b->ring = pool_get(pool, k, 0);
		if (b->ring != NULL) {
			b->cap_log2 = (uint8_t)k;
			ring_put(b->ring, 1u << k, off, src, len);
			b->nlen = len;
			res->appended = len;
			res->stored = len;
			return 0;
		}
	}
	old_nxt = rb_next(b);
	if (b->nruns == 0 && off == old_nxt && len <= UINT64_MAX - off) {
		uint64_t e = off + len;

		if (b->ring != NULL && rb_write_fast(b, off, src, len, res) == 0)
			return 0;
		/* In order but the ring is too small: grow it to what the
		 * write needs, keeping the bytes the new head leaves, as the
		 * planned path would (callgrind: -260 instructions a flow
		 * side when first bytes came this way). */
		h = e - b->head > b->window ? e - b->window : b->head;
		if (e - h > rb_capacity(b) &&
		    rb_resize(pool, b, e - h, h < old_nxt ? h : old_nxt,
			      old_nxt) == 0 &&
		    rb_write_fast(b, off, src, len, res) == 0)
			return 0;
	}

	rb_layout(b, off, len, &L);
	res->overlap = (uint8_t)L.overlap;
	res->skipped = L.skipped;
	res->discarded = L.discarded;
	h = L.head;
	seg_new = (L.e - L.a) - iv_measure(L.p, L.np, L.a, L.e);

	/* Memory: the ring must span [h, top); failing that, keep [h, lim). */
	top = L.nu != 0 ? L.u[L.nu - 1].e : h;
	if (top - h > rb_capacity(b) &&
	    rb_resize(pool, b, top - h, h, rb_end(b)) != 0)
		nomem = 1;
	cap = rb_capacity(b);
	lim = UINT64_MAX - h < cap ? UINT64_MAX : h + cap;
	if (nomem) {
		/* Only segment bytes lie at or above lim: the old data fit. */
		for (i = 0; i < L.nu && L.u[i].s < lim; i++)
			if (L.u[i].e > lim)
				L.u[i].e = lim;
		L.nu = i;
	}
	inord = L.nu != 0 && L.u[0].s == h;
	if (L.nu > inord && b->ooo == NULL) {
		b->ooo = pool_get(pool, RB_OOO_CLASS, 0);
		if (b->ooo == NULL) {
			/* With no table there were no runs: the only run is
			 * the segment's own, which is dropped. */
			nomem = 1;
			L.nu = inord;
		}
	}

	/* The segment's bytes that are kept: the block holding max(a, h). */
	w0 = L.a > h ? L.a : h;
	w1 = w0;
	for (i = 0; i < L.nu; i++)
		if (L.u[i].s <= w0 && w0 < L.u[i].e) {
			w1 = L.e < L.u[i].e ? L.e : L.u[i].e;
			break;
		}
	stored_new = (w1 - w0) - iv_measure(L.p, L.np, w0, w1);
	if (policy == RB_LAST) {
		if (w1 > w0)
			ring_put(b->ring, cap, w0, src + (w0 - off), w1 - w0);
		res->stored = w1 - w0;
	} else {
		uint64_t x = w0;

		/* Fill only the gaps between the blocks held before. */
		for (i = 0; i < L.np && x < w1; i++) {
			if (L.p[i].e <= x)
				continue;
			if (L.p[i].s >= w1)
				break;
			if (L.p[i].s > x)
				ring_put(b->ring, cap, x, src + (x - off),
					 L.p[i].s - x);
			x = L.p[i].e;
		}
		if (x < w1)
			ring_put(b->ring, cap, x, src + (x - off), w1 - x);
		res->stored = stored_new;
	}
	res->dropped = seg_new - stored_new + L.segcut;

	nxt = inord ? L.u[0].e : h;
	res->appended = nxt - old_nxt - L.skipped;
	b->head = h;
	b->nlen = (uint32_t)(nxt - h);
	b->nruns = (uint8_t)(L.nu - inord);
	for (i = inord; i < L.nu; i++) {
		b->ooo->r[i - inord][0] = (uint32_t)(L.u[i].s - h);
		b->ooo->r[i - inord][1] = (uint32_t)(L.u[i].e - h);
	}
	if (b->nruns == 0 && b->ooo != NULL) {
		pool_put(pool, RB_OOO_CLASS, b->ooo);
		b->ooo = NULL;
	}
	if (nomem) {
		res->reason = RB_NOMEM;
		return -1;
	}
	return 0;
}

int64_t
rb_read(const struct rb *b, uint64_t off, void *buf, uint64_t len)
{
	uint64_t nxt, s, e, n;
	int i;

	if (b == NULL || off < b->head)
		return -1;
	nxt = rb_next(b);
	if (off < nxt) {
		e = nxt;
	} else if (off == nxt) {
		return 0;
	} else {
		e = 0;
		for (i = 0; i < b->nruns; i++) {
			s = b->head + b->ooo->r[i][0];
			if (off < s)
				break;
			if (off < b->head + b->ooo->r[i][1]) {
				e = b->head + b->ooo->r[i][1];
				break;
			}
		}
		if (e == 0)
			return -1;
	}
	n = e - off < len ? e - off : len;
	if (n != 0)
		ring_get(b->ring, rb_capacity(b), off, buf, n);
	return (int64_t)n;
}

int
rb_runs(const struct rb *b, struct rb_run *out, int max)
{
	int n = 0, i;

	if (b == NULL || out == NULL)
		return 0;
	if (b->nlen != 0 && n < max)
		out[n++] = (struct rb_run){ b->head, b->nlen };
	for (i = 0; i < b->nruns && n < max; i++)
		out[n++] = (struct rb_run){
			b->head + b->ooo->r[i][0],
			b->ooo->r[i][1] - b->ooo->r[i][0] };
	return n;
}

int
rb_replace_tail(struct rb_pool *pool, struct rb *b, uint32_t old_len,
		const void *data, uint32_t new_len)
{
	const uint8_t *src = data;
	uint64_t base, e, h, w0;

	if (b == NULL || b->nruns != 0 || old_len > b->nlen ||
	    (data == NULL && new_len != 0))
		return -1;
	base = rb_next(b) - old_len;
	if (new_len > UINT64_MAX - base)
		return -1;
	e = base + new_len;
	h = e - b->head > b->window ? e - b->window : b->head;
	if (e - h > rb_capacity(b) &&
	    rb_resize(pool, b, e - h, h, base > h ? base : h) != 0)
		return -1;
	w0 = base > h ? base : h;
	if (e > w0)
		ring_put(b->ring, rb_capacity(b), w0, src + (w0 - base),
			 e - w0);
	b->head = h;
	b->nlen = (uint32_t)(e - h);
	return 0;
}

int
rb_set_window(struct rb_pool *pool, struct rb *b, uint32_t window)
{
	struct rb_iv p[RB_MAX_RUNS + 1];
	uint64_t end, h, need, nxt;
	unsigned int wk;
	uint32_t maxcap;
	int np, j, i;

	if (b == NULL || window < RB_WINDOW_MIN || window > RB_WINDOW_MAX)
		return -1;
	wk = log2_ceil(window);
	maxcap = 1u << wk;
	np = rb_blocks(b, p);
	end = rb_end(b);
	need = end - b->head > window ? end - window : b->head;
	h = rb_advance(p, np, b->head, need, &j);
	/* A smaller window gives its memory back. */
	if (rb_capacity(b) > maxcap && rb_resize(pool, b, maxcap, h, end) != 0)
		return -1;
	nxt = j < np && p[j].s <= h ? p[j].e : h;
	i = j + (nxt > h);
	b->head = h;
	b->nlen = (uint32_t)(nxt - h);
	b->nruns = (uint8_t)(np - i);
	for (j = 0; i < np; i++, j++) {
		b->ooo->r[j][0] = (uint32_t)(p[i].s - h);
		b->ooo->r[j][1] = (uint32_t)(p[i].e - h);
	}
	if (b->nruns == 0 && b->ooo != NULL) {
		pool_put(pool, RB_OOO_CLASS, b->ooo);
		b->ooo = NULL;
	}
	b->window = window;
	/* What rb_expect asked for stays within the new window's ring. */
	if (b->first_log2 > wk)
		b->first_log2 = (uint8_t)wk;
	return 0;
}
