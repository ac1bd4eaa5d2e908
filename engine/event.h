/*
 * event.h - events and callbacks: the global registry of user-defined
 * events (UDEs), the per-socket callback trees, and the resumable
 * dispatcher that runs callbacks in mOS's order.
 *
 * Order (mos-semantics §2.3): a dispatch is a list of jobs, one per
 * (socket, hook, side) in socket order; inside a job the raised built-in
 * events are visited in ascending bit order, each followed by its UDE
 * subtree in pre-order: a UDE's filter runs only when its parent fired and
 * a callback is registered at or below it (lazy evaluation), and a false
 * filter skips the whole subtree.
 *
 * A callback tree is immutable once built and shared by reference count
 * between a listener and the flows created from it; registering on a
 * socket builds a new tree (copy on write), so a walk in progress keeps
 * the tree it started with.
 */
#ifndef MB_EVENT_H
#define MB_EVENT_H

#include <stdint.h>

#include "mos_api.h"

struct core;

#define EV_UDE_BASE	4096
#define EV_MAX_UDE	65536
#define EV_BUILTIN_MASK	0xfffu

enum { HK_NULL, HK_RCV, HK_SND, HK__COUNT };

/* Hook index of a hook point, -1 if not one. */
int
ev_hook_index(int hook_point);

struct ude {
	event_t id;
	event_t parent;
	event_t root;		/* built-in ancestor */
	filter_t cfn;		/* C filter, or NULL */
	int32_t lua_fn;		/* Lua filter id (with lua_core), or -1 */
	int32_t owner;		/* the Lua load's generation, -1 for C's */
	int16_t lua_core;
	uint8_t allocated;	/* mtcp_alloc_event(): fires when raised */
	uint8_t retired;	/* given back by its Lua load (ev_retire) */
	uint8_t depth;		/* 1 for a child of a built-in */
	filter_arg_t arg;	/* owned copy */
};

/* The UDE with this id, or NULL. Lock-free: definitions are never freed
 * (a retired one is only marked, and may be taken again). */
const struct ude *
ev_ude(event_t id);

/* 1 if ev is one built-in bit that moonbox raises or a defined UDE. */
int
ev_valid(event_t ev);

/* Built-in ancestor of an event (itself for a built-in), 0 if unknown. */
event_t
ev_root(event_t ev);

/* mtcp_define_event for C (lua_fn < 0) or Lua filters; errno on failure. */
event_t
ev_define(event_t parent, filter_t cfn, int lua_core, int32_t lua_fn,
	  const filter_arg_t *arg);

/* mtcp_alloc_event. */
event_t
ev_alloc(event_t parent);

/* The same for a Lua load of core lua_core (owner: its generation): what
 * ev_retire gave back of that core's is taken again, with its id, by the
 * same definition (parent, argument; any Lua function), so that reloading
 * a script does not use up the event ids. */
event_t
ev_define_lua(event_t parent, int lua_core, int32_t lua_fn,
	      const filter_arg_t *arg, int32_t owner);

event_t
ev_alloc_lua(event_t parent, int lua_core, int32_t owner);

/* Give back the definitions of a Lua load that ended: its filters no
 * longer run (as no function is there to run them). On lua_core's own
 * thread, between its bursts. */
void
ev_retire(int lua_core, int32_t owner);

/* A registered callback: C function or Lua function id (>= 0). */
struct ev_cb {
	callback_t c;
	int32_t lua;
};

struct evnode {
	event_t ev;
	const struct ude *ude;	/* NULL for a built-in event */
	struct ev_cb cb;	/* cb.c == NULL && cb.lua < 0: no callback */
	uint16_t end;		/* index just after this node's subtree */
};

struct evreg {
	uint8_t hook;
	event_t ev;
	struct ev_cb cb;
};

struct evtree {
	uint32_t refcnt;
	uint32_t mask[HK__COUNT];	/* built-in roots present, per hook */
	uint16_t n[HK__COUNT];
	struct evnode *nodes[HK__COUNT];
	uint16_t nreg;
	struct evreg *regs;		/* registrations in order */
};

/* The shared empty tree (never freed). */
struct evtree *
evtree_empty(void);

static inline struct evtree *
evtree_ref(struct evtree *t)
{
	t->refcnt++;
	return t;
}

void
evtree_unref(struct evtree *t);

/*
 * Register cb for (hook, ev) on the tree *tp, or unregister when cb has no
 * function; *tp is replaced by a new tree (the old reference is dropped).
 * Returns 0, -ENOENT (unregistering what is not there) or -ENOMEM.
 */
int
evtree_set(struct evtree **tp, int hook, event_t ev, struct ev_cb cb);

/* 1 if the tree has a callback that a job raising `raised` at `hook`
 * could reach. */
static inline int
evtree_wants(const struct evtree *t, int hook, uint32_t raised)
{
	return (t->mask[hook] & raised) != 0;
}

/* -- Dispatcher ---------------------------------------------------------- */

#define DISP_MAX_JOBS	512
#define DISP_MAX_RAISED	16

struct djob {
	uint32_t sock;
	uint32_t gen;		/* socket generation when queued */
	uint8_t hook;		/* HK_* */
	int8_t side;
	uint32_t raised;	/* built-in events raised */
};

struct disp {
	uint16_t nj;
	uint16_t ji;
	uint8_t walking;	/* jobs[ji] is being walked */
	uint8_t awaiting;	/* a Lua filter's result is awaited */
	uint8_t recheck;	/* a Lua callback ran: revalidate the job */
	uint16_t ni;		/* node of the walk */
	struct evtree *t;	/* tree of the walk (referenced) */
	uint8_t nraised;
	event_t raised_ude[DISP_MAX_RAISED];	/* mtcp_raise_event() */
	struct djob jobs[DISP_MAX_JOBS];
};

/* Forget queued jobs (the next disp_run starts a new dispatch). */
void
disp_reset(struct disp *d);

/* Queue a job if the socket's tree has a callback for it; returns 1 if
 * queued. */
int
disp_add(struct core *c, uint32_t sock, int hook, int side, uint32_t raised);

/* Run queued jobs: C callbacks and filters inline. Returns 0 when all jobs
 * are done, 1 when a Lua function must run first (pipe.inv is filled);
 * call again after it ran. */
int
disp_run(struct core *c);

/* mtcp_raise_event inside a dispatch; -1 if ev is not an allocated event
 * or no dispatch is in progress. */
int
disp_raise(struct core *c, event_t ev);

#endif /* MB_EVENT_H */
