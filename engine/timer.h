/*
 * timer.h - one-shot user timers of a core (mtcp_settimer), kept in a
 * binary min-heap by deadline; timers with equal deadlines fire in the
 * order they were armed.
 */
#ifndef MB_TIMER_H
#define MB_TIMER_H

#include <stdint.h>

#include "mos_api.h"

struct utimer {
	uint64_t deadline;	/* core clock, ms */
	uint64_t seq;		/* arming order */
	int32_t id;		/* passed to the callback as its socket */
	uint32_t gen;		/* id's active-socket generation, or ~0 */
	callback_t c;		/* C callback, or NULL */
	int32_t lua;		/* Lua function id, or -1 */
};

struct timers {
	struct utimer *h;
	uint32_t n;
	uint32_t cap;
	uint64_t seq;
};

/* The clock time `delay` ms after `now`; UINT64_MAX (never) where the sum
 * would wrap: a wrapped deadline would be due at once. */
static inline uint64_t
timers_after(uint64_t now, uint64_t delay)
{
	return delay > UINT64_MAX - now ? UINT64_MAX : now + delay;
}

void
timers_init(struct timers *t);

void
timers_free(struct timers *t);

/* Arm a timer; 0 or -ENOMEM. */
int
timers_add(struct timers *t, const struct utimer *u);

/* Add delta to every deadline (the packet clock jumped to its first
 * packet's time; the heap order is unchanged). */
void
timers_rebase(struct timers *t, uint64_t delta);

/* Disarm every timer whose Lua function id is in [lo, hi) (a script that
 * is reloaded); returns how many. */
uint32_t
timers_drop_lua(struct timers *t, int32_t lo, int32_t hi);

/* Pop the earliest timer if it is due at `now`; returns 1 if one was
 * popped into *out. */
int
timers_pop_due(struct timers *t, uint64_t now, struct utimer *out);

#endif /* MB_TIMER_H */
