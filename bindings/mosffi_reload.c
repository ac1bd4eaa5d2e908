/*
 * mosffi_reload.c - the C side of reloading a core's Lua script (SIGHUP;
 * the Lua host's side is in lua/luahost.c): the sockets a script opens and
 * the events it allocates are marked as its own, so that a reload closes
 * exactly those (with the flows' sockets made from them), and its timers,
 * whose Lua function ids carry the script's generation, are disarmed with
 * them; the events it defined are given back for the next load (event.h).
 * C plugins' sockets, timers and events stay.
 */
#include "api.h"
#include "core.h"
#include "mosffi_gen.h"

/* Owner mark of generation gen (sock.owner: 0 is C's). */
static uint8_t
owner_of(int gen)
{
	return (uint8_t)(gen % 255 + 1);
}

/* 0 if gen is a generation the Lua host gives; -1 with EINVAL if not. */
static int
check_gen(int gen)
{
	if (gen >= 0 && gen < MOSFFI_GENERATIONS)
		return 0;
	errno = EINVAL;
	return -1;
}

int
mosffi_socket(mctx_t mctx, int domain, int type, int protocol, int gen)
{
	struct core *c = api_core(mctx);
	int id;

	if (c == NULL || check_gen(gen) != 0)
		return -1;
	id = mtcp_socket(mctx, domain, type, protocol);
	if (id >= 0) {
		api_lock(c);
		c->socks.s[id].owner = owner_of(gen);
		api_unlock(c);
	}
	return id;
}

event_t
mosffi_alloc_event(mctx_t mctx, event_t event, int gen)
{
	struct core *c = api_core(mctx);

	if (c == NULL || check_gen(gen) != 0)
		return MOS_NULL_EVENT;
	return ev_alloc_lua(event, c->idx, gen);
}

int
mosffi_retire(mctx_t mctx, int gen)
{
	struct core *c = api_core_own(mctx);
	struct socktbl *t;
	uint32_t mine[SOCK_MAX_PASSIVE], id;
	int n = 0, i, j;
	uint8_t owner;

	if (c == NULL || check_gen(gen) != 0)
		return -1;
	t = &c->socks;
	owner = owner_of(gen);
	for (i = 0; i < t->npassive; i++)
		if (t->s[t->passive[i]].owner == owner)
			mine[n++] = t->passive[i];
	/* The flows' sockets made from them first: each flow then learns
	 * which sides anybody still monitors. */
	for (id = 0; id < t->cap && n > 0; id++) {
		struct sock *s = &t->s[id];

		if (s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE)
			continue;
		for (j = 0; j < n; j++) {
			if (s->listener == mine[j]) {
				api_close_active(c, id);
				break;
			}
		}
	}
	for (j = 0; j < n; j++)
		sock_free(t, mine[j]);
	timers_drop_lua(&c->timers, gen * MOSFFI_FN_SPAN,
			(gen + 1) * MOSFFI_FN_SPAN);
	ev_retire(c->idx, gen);
	return n;
}

void
mosffi_reloaded(mctx_t mctx, int ok)
{
	struct core *c = api_core_own(mctx);

	if (c == NULL)
		return;
	if (ok) {
		c->st.script_reloads++;
		/* The new load's first error of each kind is shown too. */
		c->errs_logged = 0;
	} else {
		c->st.script_reload_failures++;
	}
}
