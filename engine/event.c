/*
 * event.c - UDE registry, callback trees and the dispatcher (see event.h).
 *
 * The UDE registry is the only state shared by all cores. Definitions are
 * appended under a mutex and never freed, and a reader sees a definition
 * only after its slot was published, so lookups take no lock. A Lua
 * load's definitions are retired when it ends (a reload) and taken again,
 * in place, by the next load's same definitions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "event.h"
#include "sock.h"

#define EV_MAX_DEPTH	32
#define BUILTIN_RAISED	(MOS_ON_PKT_IN | MOS_ON_CONN_START | \
			 MOS_ON_CONN_NEW_DATA | MOS_ON_ERROR | MOS_ON_TIMEOUT | \
			 MOS_ON_TCP_STATE_CHANGE | MOS_ON_ORPHAN | \
			 MOS_ON_REXMIT | MOS_ON_CONN_END)

static pthread_mutex_t ude_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ude *udes[EV_MAX_UDE];
static uint32_t nude;		/* published count */

int
ev_hook_index(int hook_point)
{
	switch (hook_point) {
	case MOS_NULL:
		return HK_NULL;
	case MOS_HK_RCV:
		return HK_RCV;
	case MOS_HK_SND:
		return HK_SND;
	default:
		return -1;
	}
}

const struct ude *
ev_ude(event_t id)
{
	uint32_t n = __atomic_load_n(&nude, __ATOMIC_ACQUIRE);

	if (id < EV_UDE_BASE || id - EV_UDE_BASE >= n)
		return NULL;
	return udes[id - EV_UDE_BASE];
}

int
ev_valid(event_t ev)
{
	if (ev < EV_UDE_BASE)
		return ev != 0 && (ev & (ev - 1)) == 0 &&
		       (ev & BUILTIN_RAISED) != 0;
	return ev_ude(ev) != NULL;
}

event_t
ev_root(event_t ev)
{
	const struct ude *u;

	if (ev < EV_UDE_BASE)
		return ev_valid(ev) ? ev : 0;
	u = ev_ude(ev);
	return u != NULL ? u->root : 0;
}

static int
same_arg(const filter_arg_t *a, const filter_arg_t *b)
{
	size_t la = a != NULL ? a->len : 0, lb = b != NULL ? b->len : 0;

	if (la != lb)
		return 0;
	return la == 0 || memcmp(a->arg, b->arg, la) == 0;
}

/* A definition a Lua load gave back that this one, of the same core,
 * takes again (the first in id order, so that a script reloaded gets the
 * ids it had). */
static struct ude *
retired_match(event_t parent, int lua_core, const filter_arg_t *arg,
	      int allocated)
{
	uint32_t i;

	for (i = 0; i < nude; i++) {
		struct ude *u = udes[i];

		if (u->retired && u->lua_core == lua_core &&
		    u->parent == parent && u->allocated == allocated &&
		    same_arg(&u->arg, arg))
			return u;
	}
	return NULL;
}

static event_t
publish(event_t parent, filter_t cfn, int lua_core, int32_t lua_fn,
	const filter_arg_t *arg, int allocated, int32_t owner)
{
	struct ude *u;
	uint32_t i;

	if (!ev_valid(parent)) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	if (arg != NULL && arg->len > 0 && arg->arg == NULL) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	pthread_mutex_lock(&ude_lock);
	if (!allocated) {
		for (i = 0; i < nude; i++) {
			u = udes[i];
			if (!u->allocated && u->parent == parent &&
			    u->cfn == cfn && u->lua_fn == lua_fn &&
			    (lua_fn < 0 || u->lua_core == lua_core) &&
			    same_arg(&u->arg, arg)) {
				pthread_mutex_unlock(&ude_lock);
				return u->id;
			}
		}
	}
	if (owner >= 0 &&
	    (u = retired_match(parent, lua_core, arg, allocated)) != NULL) {
		u->owner = owner;
		u->retired = 0;
		__atomic_store_n(&u->lua_fn, lua_fn, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&ude_lock);
		return u->id;
	}
	if (nude == EV_MAX_UDE) {
		pthread_mutex_unlock(&ude_lock);
		errno = ENOSPC;
		return MOS_NULL_EVENT;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		goto nomem;
	if (arg != NULL && arg->len > 0) {
		u->arg.arg = malloc(arg->len);
		if (u->arg.arg == NULL) {
			free(u);
			goto nomem;
		}
		memcpy(u->arg.arg, arg->arg, arg->len);
		u->arg.len = arg->len;
	}
	u->id = EV_UDE_BASE + nude;
	u->parent = parent;
	u->root = ev_root(parent);
	u->depth = (uint8_t)(parent < EV_UDE_BASE ? 1 : ev_ude(parent)->depth + 1);
	u->cfn = cfn;
	u->lua_fn = lua_fn;
	u->lua_core = (int16_t)lua_core;
	u->allocated = (uint8_t)allocated;
	u->owner = owner;
	if (u->depth > EV_MAX_DEPTH) {
		free(u->arg.arg);
		free(u);
		pthread_mutex_unlock(&ude_lock);
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	udes[nude] = u;
	__atomic_store_n(&nude, nude + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ude_lock);
	return u->id;
nomem:
	pthread_mutex_unlock(&ude_lock);
	errno = ENOMEM;
	return MOS_NULL_EVENT;
}

event_t
ev_define(event_t parent, filter_t cfn, int lua_core, int32_t lua_fn,
	  const filter_arg_t *arg)
{
	if (cfn == NULL && lua_fn < 0) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	return publish(parent, cfn, lua_core, lua_fn, arg, 0, -1);
}

event_t
ev_alloc(event_t parent)
{
	return publish(parent, NULL, -1, -1, NULL, 1, -1);
}

event_t
ev_define_lua(event_t parent, int lua_core, int32_t lua_fn,
	      const filter_arg_t *arg, int32_t owner)
{
	if (lua_fn < 0 || owner < 0) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	return publish(parent, NULL, lua_core, lua_fn, arg, 0, owner);
}

event_t
ev_alloc_lua(event_t parent, int lua_core, int32_t owner)
{
	if (owner < 0) {
		errno = EINVAL;
		return MOS_NULL_EVENT;
	}
	return publish(parent, NULL, lua_core, -1, NULL, 1, owner);
}

void
ev_retire(int lua_core, int32_t owner)
{
	uint32_t i;

	pthread_mutex_lock(&ude_lock);
	for (i = 0; i < nude; i++) {
		struct ude *u = udes[i];

		if (u->owner == owner && u->lua_core == lua_core &&
		    !u->retired) {
			u->retired = 1;
			__atomic_store_n(&u->lua_fn, -1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&ude_lock);
}

/* -- Callback trees ------------------------------------------------------ */

static struct evtree empty_tree = { .refcnt = 1u << 30 };

struct evtree *
evtree_empty(void)
{
	return &empty_tree;
}

static void
evtree_free(struct evtree *t)
{
	int h;

	for (h = 0; h < HK__COUNT; h++)
		free(t->nodes[h]);
	free(t->regs);
	free(t);
}

void
evtree_unref(struct evtree *t)
{
	if (t != &empty_tree && --t->refcnt == 0)
		evtree_free(t);
}

/* Build-time node: a tree with child/sibling links, then flattened. */
struct bnode {
	event_t ev;
	struct ev_cb cb;
	int first, last, next;
};

static int
bnode_child(struct bnode *b, int *nb, int parent, event_t ev, int *roots,
	    int *nroots)
{
	int i = parent < 0 ? -1 : b[parent].first;

	if (parent < 0) {
		for (i = 0; i < *nroots; i++)
			if (b[roots[i]].ev == ev)
				return roots[i];
	} else {
		for (; i >= 0; i = b[i].next)
			if (b[i].ev == ev)
				return i;
	}
	i = (*nb)++;
	b[i] = (struct bnode){ .ev = ev, .cb = { NULL, -1 }, .first = -1,
			       .last = -1, .next = -1 };
	if (parent < 0) {
		roots[(*nroots)++] = i;
	} else if (b[parent].last < 0) {
		b[parent].first = b[parent].last = i;
	} else {
		b[b[parent].last].next = i;
		b[parent].last = i;
	}
	return i;
}

static void
flatten(const struct bnode *b, int i, struct evnode *out, uint16_t *n)
{
	uint16_t at = (*n)++;
	int ch;

	out[at].ev = b[i].ev;
	out[at].ude = b[i].ev >= EV_UDE_BASE ? ev_ude(b[i].ev) : NULL;
	out[at].cb = b[i].cb;
	for (ch = b[i].first; ch >= 0; ch = b[ch].next)
		flatten(b, ch, out, n);
	out[at].end = *n;
}

static int
cmp_root(const void *x, const void *y, void *bp)
{
	const struct bnode *b = bp;
	event_t a = b[*(const int *)x].ev, c = b[*(const int *)y].ev;

	return a < c ? -1 : a > c;
}

static int
build_hook(struct evtree *t, int hook)
{
	int maxn = (t->nreg + 1) * (EV_MAX_DEPTH + 1), nb = 0, nroots = 0;
	struct bnode *b;
	int *roots, i, r;
	uint16_t n = 0;

	b = malloc(sizeof(*b) * (size_t)maxn);
	roots = malloc(sizeof(*roots) * (size_t)maxn);
	if (b == NULL || roots == NULL) {
		free(b);
		free(roots);
		return -ENOMEM;
	}
	for (r = 0; r < t->nreg; r++) {
		event_t path[EV_MAX_DEPTH + 1];
		int depth = 0, node = -1;
		event_t ev = t->regs[r].ev;

		if (t->regs[r].hook != hook)
			continue;
		while (ev >= EV_UDE_BASE) {
			path[depth++] = ev;
			ev = ev_ude(ev)->parent;
		}
		path[depth++] = ev;
		while (depth > 0)
			node = bnode_child(b, &nb, node, path[--depth], roots,
					   &nroots);
		b[node].cb = t->regs[r].cb;
	}
	qsort_r(roots, (size_t)nroots, sizeof(int), cmp_root, b);
	t->mask[hook] = 0;
	t->nodes[hook] = NULL;
	if (nb > 0) {
		t->nodes[hook] = calloc((size_t)nb, sizeof(struct evnode));
		if (t->nodes[hook] == NULL) {
			free(b);
			free(roots);
			return -ENOMEM;
		}
		for (i = 0; i < nroots; i++) {
			t->mask[hook] |= (uint32_t)b[roots[i]].ev;
			flatten(b, roots[i], t->nodes[hook], &n);
		}
	}
	t->n[hook] = n;
	free(b);
	free(roots);
	return 0;
}

static int
has_fn(struct ev_cb cb)
{
	return cb.c != NULL || cb.lua >= 0;
}

int
evtree_set(struct evtree **tp, int hook, event_t ev, struct ev_cb cb)
{
	struct evtree *old = *tp, *t;
	int i, found = -1, h, ret;

	for (i = 0; i < old->nreg; i++)
		if (old->regs[i].hook == hook && old->regs[i].ev == ev)
			found = i;
	if (found < 0 && !has_fn(cb))
		return -ENOENT;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->refcnt = 1;
	t->regs = malloc(sizeof(struct evreg) * (size_t)(old->nreg + 1));
	if (t->regs == NULL) {
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < old->nreg; i++) {
		if (i == found && !has_fn(cb))
			continue;
		t->regs[t->nreg] = old->regs[i];
		if (i == found)
			t->regs[t->nreg].cb = cb;
		t->nreg++;
	}
	if (found < 0)
		t->regs[t->nreg++] = (struct evreg){ (uint8_t)hook, ev, cb };
	for (h = 0; h < HK__COUNT; h++) {
		ret = build_hook(t, h);
		if (ret != 0) {
			evtree_free(t);
			return ret;
		}
	}
	*tp = t;
	evtree_unref(old);
	return 0;
}

/* -- Dispatcher ---------------------------------------------------------- */

void
disp_reset(struct disp *d)
{
	if (d->walking)
		evtree_unref(d->t);
	d->nj = 0;
	d->ji = 0;
	d->walking = 0;
	d->awaiting = 0;
	d->recheck = 0;
	d->nraised = 0;
}

int
disp_add(struct core *c, uint32_t sock, int hook, int side, uint32_t raised)
{
	struct disp *d = &c->disp;
	struct sock *s = sock_get(c, sock);

	if (s == NULL || !evtree_wants(s->tree, hook, raised))
		return 0;
	if (d->nj == DISP_MAX_JOBS)
		return 0;
	d->jobs[d->nj++] = (struct djob){ sock, s->gen, (uint8_t)hook,
					  (int8_t)side, raised };
	return 1;
}

int
disp_raise(struct core *c, event_t ev)
{
	struct disp *d = &c->disp;
	const struct ude *u = ev_ude(ev);

	if (u == NULL || !u->allocated || !d->walking)
		return -1;
	if (d->nraised < DISP_MAX_RAISED)
		d->raised_ude[d->nraised++] = ev;
	return 0;
}

static int
was_raised(const struct disp *d, event_t ev)
{
	int i;

	for (i = 0; i < d->nraised; i++)
		if (d->raised_ude[i] == ev)
			return 1;
	return 0;
}

/* The job's socket still exists and still watches the job's side. */
static int
job_live(struct core *c, const struct djob *j)
{
	struct sock *s = sock_get(c, j->sock);

	if (s == NULL || s->gen != j->gen)
		return 0;
	if (j->side == MOS_SIDE_CLI || j->side == MOS_SIDE_SVR)
		return (s->mon & (1u << j->side)) != 0;
	return 1;
}

static void
end_walk(struct disp *d)
{
	evtree_unref(d->t);
	d->t = NULL;
	d->walking = 0;
	d->ji++;
}

static void
set_invoke(struct core *c, int32_t fn, int kind, const struct djob *j,
	   event_t ev, filter_arg_t *arg)
{
	struct pipe_invoke *inv = &c->pipe.inv;

	inv->fn = fn;
	inv->kind = kind;
	inv->sock = (int32_t)j->sock;
	inv->side = j->side;
	inv->event = ev;
	inv->arg = arg;
	inv->ret = 0;
	inv->failed = 0;
}

/* Run the callback of the node at d->ni (if any) and step past it.
 * Returns 0 to go on, 1 when a Lua callback must run, -1 when the job's
 * socket went away or stopped watching the side. */
static int
fire(struct core *c, struct disp *d, const struct djob *j,
     const struct evnode *nd)
{
	filter_arg_t *arg;

	d->ni++;
	if (nd->cb.c == NULL && nd->cb.lua < 0)
		return 0;
	c->st.callbacks_run++;
	c->noarg = (filter_arg_t){ NULL, 0 };
	arg = nd->ude != NULL ? (filter_arg_t *)&nd->ude->arg : &c->noarg;
	if (nd->cb.c == NULL) {
		set_invoke(c, nd->cb.lua, 0, j, nd->ev, arg);
		d->recheck = 1;
		return 1;
	}
	nd->cb.c(&c->mctx, (int)j->sock, j->side, nd->ev, arg);
	return job_live(c, j) ? 0 : -1;
}

/* Whether the UDE node passes: allocated events must have been raised,
 * filters are asked. Returns 0/1, or 2 when a Lua filter must run. */
static int
filter_pass(struct core *c, struct disp *d, const struct djob *j,
	    const struct evnode *nd)
{
	const struct ude *u = nd->ude;
	int32_t fn;

	if (u->allocated)
		return was_raised(d, nd->ev);
	if (u->cfn != NULL) {
		c->st.filters_run++;
		return u->cfn(&c->mctx, (int)j->sock, j->side, nd->ev,
			      (filter_arg_t *)&u->arg) ? 1 : 0;
	}
	fn = __atomic_load_n(&u->lua_fn, __ATOMIC_RELAXED);
	if (fn >= 0 && u->lua_core == c->idx) {
		c->st.filters_run++;
		set_invoke(c, fn, 1, j, nd->ev, (filter_arg_t *)&u->arg);
		d->awaiting = 1;
		return 2;
	}
	return 0;	/* a Lua filter of another core's script */
}

int
disp_run(struct core *c)
{
	struct disp *d = &c->disp;

	for (;;) {
		const struct djob *j;
		const struct evnode *nodes;
		int r;

		if (!d->walking) {
			if (d->ji >= d->nj) {
				disp_reset(d);
				return 0;
			}
			j = &d->jobs[d->ji];
			if (!job_live(c, j)) {
				d->ji++;
				continue;
			}
			d->t = evtree_ref(sock_get(c, j->sock)->tree);
			d->ni = 0;
			d->nraised = 0;
			d->walking = 1;
		}
		j = &d->jobs[d->ji];
		nodes = d->t->nodes[j->hook];

		if (d->recheck) {
			/* A Lua callback ran: it may have closed the socket
			 * or stopped monitoring. */
			d->recheck = 0;
			if (!job_live(c, j)) {
				end_walk(d);
				continue;
			}
		}
		if (d->awaiting) {
			const struct pipe_invoke *inv = &c->pipe.inv;

			d->awaiting = 0;
			if (inv->failed || !inv->ret) {
				d->ni = nodes[d->ni].end;
			} else if ((r = fire(c, d, j, &nodes[d->ni])) != 0) {
				if (r > 0)
					return 1;
				end_walk(d);
				continue;
			}
		}
		r = 0;
		while (d->ni < d->t->n[j->hook]) {
			const struct evnode *nd = &nodes[d->ni];

			if (nd->ude == NULL) {
				if (!(j->raised & nd->ev)) {
					d->ni = nd->end;
					continue;
				}
			} else {
				r = filter_pass(c, d, j, nd);
				if (r == 2)
					return 1;
				if (r == 0) {
					d->ni = nd->end;
					continue;
				}
			}
			r = fire(c, d, j, nd);
			if (r != 0)
				break;
		}
		if (r > 0)
			return 1;
		end_walk(d);
	}
}
