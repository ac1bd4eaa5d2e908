/*
 * api_event.c - events of the mOS API: callback registration (with the
 * hook/event/socket-type rules of mos-semantics §1.3, applied to the
 * event's built-in root so nested user events are checked correctly),
 * user-defined and allocated events, timers and the core clock.
 */
#include <errno.h>

#include "api.h"
#include "sock.h"

#define FLOW_EVENTS	(MOS_ON_PKT_IN | MOS_ON_CONN_START | \
			 MOS_ON_TCP_STATE_CHANGE | MOS_ON_CONN_END)

/* Whether an event rooted at `root` ever fires at hook `hk` on a socket of
 * type `type`; combinations mOS accepted but never fired are refused. */
static int
hook_allows(int type, int hk, event_t root)
{
	switch (hk) {
	case HK_NULL:
		if (type == MOS_SOCK_MONITOR_RAW)
			return root == MOS_ON_PKT_IN || root == MOS_ON_ORPHAN;
		if (type == MOS_SOCK_MONITOR_STREAM)
			return (root & (MOS_ON_CONN_NEW_DATA | MOS_ON_ERROR |
					MOS_ON_ORPHAN | MOS_ON_TIMEOUT)) != 0;
		return (root & (MOS_ON_CONN_NEW_DATA | MOS_ON_ERROR |
				MOS_ON_TIMEOUT)) != 0;
	case HK_RCV:
		if (type == MOS_SOCK_MONITOR_RAW)
			return 0;
		return (root & (FLOW_EVENTS | MOS_ON_REXMIT)) != 0;
	case HK_SND:
		if (type == MOS_SOCK_MONITOR_RAW)
			return 0;
		return (root & FLOW_EVENTS) != 0;
	default:
		return 0;
	}
}

int
api_register(struct core *c, int sock, event_t ev, int hook_point,
	     struct ev_cb cb)
{
	int hk = ev_hook_index(hook_point), ret;
	event_t root;
	struct sock *s;

	if (hk < 0 || !ev_valid(ev)) {
		errno = EINVAL;
		return -1;
	}
	root = ev_root(ev);
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		api_unlock(c);
		errno = EBADF;
		return -1;
	}
	if (!hook_allows(s->type, hk, root)) {
		api_unlock(c);
		errno = EINVAL;
		return -1;
	}
	/* On an active socket this changes only its flow's copy; on a
	 * listener, the flows created from now on. */
	ret = evtree_set(&s->tree, hk, ev, cb);
	if (ret == 0 && s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE)
		flow_update_want(c, &c->ft.f[s->flow]);
	api_unlock(c);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

int
mtcp_register_callback(mctx_t mctx, int sock, event_t event, int hook_point,
		       callback_t cb)
{
	struct core *c = api_core(mctx);

	if (c == NULL)
		return -1;
	return api_register(c, sock, event, hook_point,
			    (struct ev_cb){ cb, -1 });
}

event_t
mtcp_define_event(event_t event, filter_t filter, struct filter_arg *arg)
{
	return ev_define(event, filter, -1, -1, arg);
}

event_t
mtcp_alloc_event(event_t event)
{
	return ev_alloc(event);
}

int
mtcp_raise_event(mctx_t mctx, event_t event)
{
	struct core *c = api_core_own(mctx);

	if (c == NULL)
		return -1;
	if (!c->disp.walking) {
		errno = EPERM;
		return -1;
	}
	if (disp_raise(c, event) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
api_settimer(struct core *c, int id, uint64_t delay_ms, struct ev_cb cb)
{
	struct utimer u = { .id = id, .gen = UINT32_MAX, .c = cb.c,
			    .lua = cb.lua };
	struct sock *s;
	int ret;

	api_lock(c);
	/* Before the first packet the packet clock has not started: the
	 * deadline is kept relative and rebased when it starts. */
	u.deadline = timers_after(c->pipe.now_ms, delay_ms);
	s = sock_get(c, (uint32_t)id);
	if (s != NULL && s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE)
		u.gen = s->gen;
	ret = timers_add(&c->timers, &u);
	api_unlock(c);
	if (ret < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
mtcp_settimer(mctx_t mctx, int id, struct timeval *timeout, callback_t cb)
{
	struct core *c = api_core(mctx);
	uint64_t ms;

	if (c == NULL)
		return -1;
	if (timeout == NULL || cb == NULL || timeout->tv_sec < 0 ||
	    timeout->tv_usec < 0 || timeout->tv_usec >= 1000000) {
		errno = EINVAL;
		return -1;
	}
	/* A delay of 2^64 ms or more never comes. */
	ms = timers_after((uint64_t)timeout->tv_sec > UINT64_MAX / 1000 ?
			  UINT64_MAX : (uint64_t)timeout->tv_sec * 1000,
			  ((uint64_t)timeout->tv_usec + 999) / 1000);
	return api_settimer(c, id, ms, (struct ev_cb){ cb, -1 });
}

uint32_t
mtcp_cb_get_ts(mctx_t mctx)
{
	struct core *c = api_core_own(mctx);

	if (c == NULL)
		return 0;
	return (uint32_t)(c->pipe.now_ms * 1000);
}
