/*
 * mosffi.c - the C side of the Lua boundary (declared in mosffi.h): the
 * run loop's step, Lua functions as callbacks, filters and timers, script
 * error accounting. Compiled into libmoonbox; never includes lua.h (the
 * Lua host lives in lua/). The prototypes come from the generated
 * mosffi_gen.h, included beside the real API headers, so each definition
 * here and each mtcp_* function Lua calls is checked by the compiler.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "core.h"
#include "mosffi_gen.h"
#include "rt.h"

/* The Lua loop reads the engine's invocation slot through the mosffi view:
 * the two layouts must be one. */
_Static_assert(sizeof(struct mosffi_invoke) == sizeof(struct pipe_invoke),
	       "invoke slot size");
_Static_assert(offsetof(struct mosffi_invoke, fn) ==
	       offsetof(struct pipe_invoke, fn), "invoke.fn");
_Static_assert(offsetof(struct mosffi_invoke, kind) ==
	       offsetof(struct pipe_invoke, kind), "invoke.kind");
_Static_assert(offsetof(struct mosffi_invoke, sock) ==
	       offsetof(struct pipe_invoke, sock), "invoke.sock");
_Static_assert(offsetof(struct mosffi_invoke, side) ==
	       offsetof(struct pipe_invoke, side), "invoke.side");
_Static_assert(offsetof(struct mosffi_invoke, event) ==
	       offsetof(struct pipe_invoke, event), "invoke.event");
_Static_assert(offsetof(struct mosffi_invoke, arg) ==
	       offsetof(struct pipe_invoke, arg), "invoke.arg");
_Static_assert(offsetof(struct mosffi_invoke, ret) ==
	       offsetof(struct pipe_invoke, ret), "invoke.ret");
_Static_assert(offsetof(struct mosffi_invoke, failed) ==
	       offsetof(struct pipe_invoke, failed), "invoke.failed");

int
mosffi_abi_version(void)
{
	return MOSFFI_ABI_VERSION;
}

mctx_t
mosffi_mctx(int core)
{
	if (core < 0 || core >= RT_MAX_CORES || g_rt.cores[core] == NULL)
		return NULL;
	return &g_rt.cores[core]->mctx;
}

struct mosffi_invoke *
mosffi_invoke_slot(mctx_t mctx)
{
	struct core *c = core_from_mctx(mctx);

	return c != NULL ? (struct mosffi_invoke *)&c->pipe.inv : NULL;
}

int
mosffi_run(mctx_t mctx)
{
	/* Called for every Lua callback: only the core's own thread may run
	 * its loop. */
	struct core *c = api_self(mctx);
	int r;

	if (c == NULL)
		return 0;
	c->lua_busy = 0;
	c->heartbeat++;
	r = pipe_run(c);
	c->lua_busy = (uint8_t)(r == PIPE_INVOKE);
	return r == PIPE_INVOKE ? 1 : r == PIPE_RELOAD ? 2 :
	       r == PIPE_STOP ? 3 : 0;
}

void
mosffi_stop_loop(mctx_t mctx, int on)
{
	struct core *c = core_from_mctx(mctx);

	if (c != NULL)
		c->lua_stop = on != 0;
}

void
mosffi_busy(mctx_t mctx, int busy)
{
	struct core *c = api_self(mctx);

	if (c == NULL)
		return;
	c->heartbeat++;
	c->lua_busy = busy != 0;
}

int
mosffi_register_callback(mctx_t mctx, int sock, event_t event, int hook_point,
			 int32_t fn)
{
	struct core *c = api_core(mctx);

	if (c == NULL)
		return -1;
	return api_register(c, sock, event, hook_point,
			    (struct ev_cb){ NULL, fn >= 0 ? fn : -1 });
}

event_t
mosffi_define_event(mctx_t mctx, event_t event, int32_t fn, const void *arg,
		    size_t len)
{
	struct core *c = api_core(mctx);
	filter_arg_t fa = { (void *)arg, len };

	if (c == NULL)
		return MOS_NULL_EVENT;
	if (fn < 0) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	/* The function's id carries its load's generation. */
	return ev_define_lua(event, c->idx, fn, &fa, fn / MOSFFI_FN_SPAN);
}

int
mosffi_settimer(mctx_t mctx, int id, int64_t usec, int32_t fn)
{
	struct core *c = api_core(mctx);

	if (c == NULL)
		return -1;
	if (usec < 0 || fn < 0) {
		errno = EINVAL;
		return -1;
	}
	return api_settimer(c, id, ((uint64_t)usec + 999) / 1000,
			    (struct ev_cb){ NULL, fn });
}

void
mosffi_script_error(mctx_t mctx, int kind, const char *msg)
{
	static const char *const kinds[] = {
		"Lua error in a callback", "Lua error in a filter",
		"Lua heap limit (--lua-mem) reached",
		"Lua code stopped by the watchdog (--watchdog)",
	};
	struct core *c = core_from_mctx(mctx);
	struct pipe_pkt *k;

	if (c == NULL || kind < 0 || kind > MOSFFI_ERR_TIMEOUT)
		return;
	/* However it surfaced (even through a failing error handler), an
	 * allocation refused by the heap cap is a memory error. */
	if (msg != NULL && strstr(msg, "not enough memory") != NULL)
		kind = MOSFFI_ERR_MEMORY;
	c->st.script_errors++;
	switch (kind) {
	case MOSFFI_ERR_RUNTIME:
		c->st.script_errors_runtime++;
		break;
	case MOSFFI_ERR_FILTER:
		c->st.script_errors_filter++;
		break;
	case MOSFFI_ERR_MEMORY:
		c->st.script_errors_memory++;
		break;
	default:
		c->st.script_errors_timeout++;
		break;
	}
	/* The packet the failing function was about follows --on-error. */
	k = &c->pipe.cur;
	if (k->valid && g_rt.opts.on_error == ON_ERROR_DROP)
		k->err_drop = 1;
	if (!(c->errs_logged & (1u << kind))) {
		c->errs_logged |= (uint8_t)(1u << kind);
		fprintf(stderr, "moonbox: core %d: %s (further ones are only "
			"counted, in script_errors): %s\n", c->idx, kinds[kind],
			msg != NULL ? msg : "?");
	}
}

int
mosffi_checking(void)
{
	return g_rt.opts.check;
}

int
mosffi_script_argc(void)
{
	return g_rt.opts.script_argc;
}

const char *
mosffi_script_arg(int i)
{
	if (i < 0 || i >= g_rt.opts.script_argc)
		return NULL;
	return g_rt.opts.script_argv[i];
}
