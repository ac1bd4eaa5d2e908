/*
 * api.h - what the public mtcp_* functions (api_*.c) and the Lua boundary
 * (bindings/) share: context validation, the "core thread only" rule, the
 * core lock for calls from other threads, and the registration functions
 * that take either a C function or a Lua function id.
 */
#ifndef MB_API_H
#define MB_API_H

#include <errno.h>

#include "core.h"
#include "event.h"

/* The core of mctx, or NULL with errno = EACCES. */
static inline struct core *
api_core(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);

	if (c == NULL)
		errno = EACCES;
	return c;
}

/* 1 if the caller runs on c's own thread. */
static inline int
api_own(const struct core *c)
{
	return CORE_SELF() == c;
}

/* The core of mctx when the caller runs on that core's thread, else NULL
 * (errno untouched): the thread's core compared with mctx, one TLS read
 * and no search of the cores. What core_from_mctx then api_own answer. */
static inline struct core *
api_self(mctx_t mctx)
{
	struct core *c = CORE_SELF();

	return c != NULL && &c->mctx == mctx ? c : NULL;
}

/* Calls from other threads (a program's main thread registering while the
 * core runs) wait for the end of the core's current burst. */
static inline void
api_lock(struct core *c)
{
	if (!api_own(c))
		rte_spinlock_lock(&c->lock);
}

static inline void
api_unlock(struct core *c)
{
	if (!api_own(c))
		rte_spinlock_unlock(&c->lock);
}

/* The core for a core-thread-only function: NULL with EACCES or EPERM. */
static inline struct core *
api_core_own(mctx_t mctx)
{
	struct core *c = api_core(mctx);

	if (c != NULL && !api_own(c)) {
		errno = EPERM;
		return NULL;
	}
	return c;
}

/* Register (or, with no function, unregister) a callback; 0 or -1/errno. */
int
api_register(struct core *c, int sock, event_t ev, int hook_point,
	     struct ev_cb cb);

/* Arm a timer firing cb after delay_ms; 0 or -1/errno. */
int
api_settimer(struct core *c, int id, uint64_t delay_ms, struct ev_cb cb);

/* The flow of an active socket, or NULL. */
static inline struct flow *
api_flow(struct core *c, const struct sock *s)
{
	if (s == NULL || s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE)
		return NULL;
	return &c->ft.f[s->flow];
}

/* Recompute which sides of a flow are tracked and buffered from its
 * sockets; a flow nobody monitors any more is destroyed soon after. */
void
api_flow_refresh(struct core *c, uint32_t fidx);

/* Close active socket id: off its flow's list, the flow refreshed. */
void
api_close_active(struct core *c, uint32_t id);

#endif /* MB_API_H */
