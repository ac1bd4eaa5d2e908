/*
 * rb.h - per-side TCP stream reassembly buffer ("receive ring buffer") and
 * its per-core allocator. It backs mtcp_peek/mtcp_ppeek, MOS_FRAGINFO_*,
 * MOS_INFO_* and the REXMIT/ERROR decisions of the flow engine. Pure C:
 * no DPDK, no syscalls on the write path except when a buffer grows.
 *
 * Model. Offsets are 64-bit stream offsets (0 = first byte after the SYN;
 * the caller converts sequence numbers). A buffer keeps at most the last
 * W ("window") bytes of its stream:
 *   head  oldest offset still buffered;
 *   next  end of the in-order data [head, next), all real received bytes;
 *   end   end of the highest byte buffered (out-of-order data included).
 * Invariants: head <= next <= end <= head + W. Beyond next, out-of-order
 * data is a sorted list of disjoint, non-adjacent runs [s, e) with
 * next < s, at most RB_MAX_RUNS of them. Offsets never wrap: a segment
 * reaching past 2^64 - 1 loses the bytes that do not fit (counted as
 * dropped).
 *
 * Storage is a ring whose capacity is a power of two: it starts at the
 * first power of two >= what the first write needs (at least
 * RB_MIN_CAP, or what rb_expect announced) and grows on demand up to
 * the smallest power of two >= W, so a flow that carries 100 bytes
 * costs 128 bytes of ring, not W. The byte at offset o lives at
 * ring[o & (capacity - 1)].
 *
 * Writing [off, off + len) (rb_write):
 *  1. bytes below head are ignored and set `overlap`;
 *  2. bytes already present (in [head, next) or in a run) set `overlap`
 *     (the REXMIT signal); RB_FIRST keeps the old copy, RB_LAST overwrites;
 *  3. if off + len > head + W, head advances to make room: first over the
 *     in-order data (those bytes are "discarded"); if that is not enough,
 *     the oldest hole is skipped (its bytes are declared lost, "skipped"),
 *     the data after it (a run, or the segment itself) becomes in-order,
 *     and so on. A segment longer than W keeps only its last W bytes;
 *  4. if the write would leave more than RB_MAX_RUNS out-of-order runs,
 *     the oldest hole is skipped as in 3 until it fits;
 *  5. runs that touch merge; filling the hole at next advances next;
 *  6. if the ring must grow and the pool refuses (cap reached), what fits
 *     in the current capacity is stored, the rest is dropped (RB_NOMEM).
 * Steps 3-4 do not depend on memory, so rb_plan() predicts them exactly.
 *
 * Not thread-safe: a pool and its buffers belong to one core.
 */
#ifndef MB_RB_H
#define MB_RB_H

#include <stddef.h>
#include <stdint.h>

#define RB_MAX_RUNS	8		/* out-of-order runs per buffer */
#define RB_WINDOW_MIN	64u		/* smallest window */
#define RB_WINDOW_MAX	(1u << 30)	/* largest window */
#define RB_MIN_CAP	64u		/* smallest ring */

/* Overlap policy (values of mOS's MOS_OVERLAP_POLICY_*). */
enum rb_policy {
	RB_BUFPOLICY = -1,	/* rb_write: use the buffer's (rb_set_policy) */
	RB_FIRST = 0,		/* keep the bytes received first (default) */
	RB_LAST = 1,		/* overwrite with the newest copy */
};

enum rb_reason {
	RB_OK = 0,
	RB_NOMEM = 1,		/* the pool refused memory: some bytes dropped */
	RB_INVAL = 2,		/* bad arguments: nothing done */
};

/* What one rb_write did. Byte counts; a segment's bytes below the old head
 * are in none of them (they only set overlap). */
struct rb_result {
	uint64_t appended;	/* next advanced by this much, skipped excluded */
	uint64_t stored;	/* bytes written into the ring */
	uint64_t dropped;	/* new bytes not kept: beyond W, NOMEM, 2^64 */
	uint64_t skipped;	/* hole bytes declared lost (3, 4) */
	uint64_t discarded;	/* buffered bytes that fell below the new head */
	uint8_t overlap;	/* 1: some byte had been received before */
	uint8_t reason;		/* enum rb_reason */
};

/* What rb_write would do, computed without changing anything. */
struct rb_plan {
	uint64_t new_head;	/* head after the write */
	uint64_t skipped;	/* as rb_result.skipped; > 0: holes skipped */
	uint64_t discarded;	/* as rb_result.discarded */
	uint8_t overlap;	/* as rb_result.overlap */
};

/* One contiguous stretch of buffered data (MOS_FRAGINFO layout). */
struct rb_run {
	uint64_t off;
	uint32_t len;
};

struct rb_pool;
struct rb_ooo;

/* Private: use the functions below. Kept small because there is one per
 * flow side that carried payload (40 bytes on LP64). */
struct rb {
	uint64_t head;
	uint8_t *ring;		/* NULL until the first byte is stored */
	struct rb_ooo *ooo;	/* run table, only while there are runs */
	uint32_t nlen;		/* next - head */
	uint32_t window;	/* W */
	uint8_t cap_log2;	/* capacity = 1 << cap_log2 when ring != NULL */
	uint8_t nruns;
	uint8_t policy;		/* enum rb_policy, RB_FIRST or RB_LAST */
	uint8_t first_log2;	/* least size of the first ring (rb_expect) */
};

/*
 * Pools.
 */

/* Create a pool. cap_bytes bounds rb_pool_bytes() (0: no bound); when an
 * allocation would exceed it, it fails. Returns NULL if out of memory. */
struct rb_pool *
rb_pool_create(size_t cap_bytes);

/* Free the pool and every buffer still allocated from it. NULL is a no-op. */
void
rb_pool_destroy(struct rb_pool *pool);

/* Bytes held by live buffers (headers, rings and run tables, each rounded
 * to its size class); this is what the cap applies to. */
size_t
rb_pool_bytes(const struct rb_pool *pool);

/* Bytes the pool obtained from the system (slabs and large objects); at
 * least rb_pool_bytes(): freed objects stay on the pool's free lists. */
size_t
rb_pool_reserved(const struct rb_pool *pool);

/*
 * Buffers.
 */

/* New empty buffer (head = next = end = 0, policy RB_FIRST) with window
 * W = window. No ring is allocated until data is stored. Returns NULL if
 * window is outside [RB_WINDOW_MIN, RB_WINDOW_MAX] or the pool refuses. */
struct rb *
rb_create(struct rb_pool *pool, uint32_t window);

/* As rb_create, for a stream already under way: head = next = end = off
 * (a side whose buffering was switched on mid-stream). */
struct rb *
rb_create_at(struct rb_pool *pool, uint32_t window, uint64_t off);

/* Have the first ring hold at least `bytes` (within the window's ring)
 * when the caller knows that more bytes follow the first write at once
 * (a TCP segment without PSH): the ring then need not grow, and copy
 * what it holds, on the next write. No effect once the ring exists. */
void
rb_expect(struct rb *b, uint32_t bytes);

/* Return the buffer and its storage to the pool. NULL is a no-op. */
void
rb_destroy(struct rb_pool *pool, struct rb *b);

/* Change the window W of a buffer. If the buffered span no longer fits,
 * the head advances as rb_write makes room (over in-order data, then
 * skipping the oldest holes); the ring shrinks to the smallest power of
 * two >= the new W if it is larger. Returns 0, or -1 with nothing changed
 * if window is outside [RB_WINDOW_MIN, RB_WINDOW_MAX] or the smaller ring
 * cannot be allocated. The caller compares rb_head() before and after to
 * learn what was given up. */
int
rb_set_window(struct rb_pool *pool, struct rb *b, uint32_t window);

/* Set the buffer's overlap policy (RB_FIRST or RB_LAST); returns 0, or -1
 * for any other value (nothing changed). */
int
rb_set_policy(struct rb *b, int policy);

/*
 * Store the segment [off, off + len) following the rules in the file
 * comment. policy is RB_FIRST, RB_LAST or RB_BUFPOLICY (any other value
 * means RB_BUFPOLICY). res, if not NULL, receives the outcome.
 * Returns 0; -1 with res->reason = RB_NOMEM if bytes were dropped because
 * the pool refused memory (the buffer stays consistent and the plan was
 * still followed); -1 with RB_INVAL (nothing done) if b is NULL or data is
 * NULL with len > 0. Allocates only when the ring grows or the first
 * out-of-order run appears.
 */
int
rb_write(struct rb_pool *pool, struct rb *b, uint64_t off, const void *data,
	 uint32_t len, int policy, struct rb_result *res);

/* Dry run of rb_write(b, off, len): fills *plan with the head, skipped,
 * discarded and overlap values rb_write would produce (memory permitting:
 * NOMEM changes none of them). Changes nothing. */
void
rb_plan(const struct rb *b, uint64_t off, uint32_t len, struct rb_plan *plan);

/*
 * Copy bytes from offset off up to the end of the run containing off
 * (the in-order run [head, next) or an out-of-order run), at most len,
 * into buf. Returns the number of bytes copied (> 0 when len > 0); 0 if
 * off == next (nothing new to read) or len == 0; -1 if off is not
 * buffered (below head, in a hole, beyond end) or b is NULL.
 */
int64_t
rb_read(const struct rb *b, uint64_t off, void *buf, uint64_t len);

/* The buffered runs, the in-order run first (if non-empty), then the
 * out-of-order runs in offset order. Writes at most max entries to out and
 * returns how many it wrote. */
int
rb_runs(const struct rb *b, struct rb_run *out, int max);

/*
 * Length-changing rewrite of the newest in-order bytes: the last old_len
 * bytes before next are replaced by new_len bytes of data, so next moves
 * by new_len - old_len. Room and growth follow rb_write (head may advance,
 * a replacement longer than W keeps its last W bytes). Returns 0, or -1
 * with nothing changed if there are out-of-order runs, old_len > next -
 * head, data is NULL with new_len > 0, or the pool refuses memory.
 */
int
rb_replace_tail(struct rb_pool *pool, struct rb *b, uint32_t old_len,
		const void *data, uint32_t new_len);

/* Memory this buffer holds: header, ring and run table. */
size_t
rb_mem(const struct rb *b);

static inline uint64_t
rb_head(const struct rb *b)
{
	return b->head;
}

static inline uint64_t
rb_next(const struct rb *b)
{
	return b->head + b->nlen;
}

/* Current ring capacity in bytes (0 before the first byte is stored). */
static inline uint32_t
rb_capacity(const struct rb *b)
{
	return b->ring != NULL ? 1u << b->cap_log2 : 0;
}

static inline uint32_t
rb_window(const struct rb *b)
{
	return b->window;
}

static inline int
rb_policy(const struct rb *b)
{
	return b->policy;
}

/* End of the highest buffered byte (next if there are no runs). */
uint64_t
rb_end(const struct rb *b);

#endif /* MB_RB_H */
