/*
 * test_event.c - unit tests of events and callbacks (engine/event.c): the
 * UDE registry (ids, de-duplication, argument copies, errors, nesting,
 * depth limit, allocated events), callback trees (register, replace,
 * unregister, copy on write, per-hook masks) and the resumable dispatcher
 * (built-in bit order, UDE pre-order, lazy filters, job order, jobs that
 * end when their socket closes or stops watching a side, Lua callbacks and
 * filters handed out through pipe.inv, mtcp_raise_event).
 *
 * No EAL: a core is a calloc'd struct core with its socket table; the
 * dispatcher only reads the sockets, its own state and pipe.inv.
 *
 * The UDE registry is global to the process and ids are handed out in
 * order, so the first test checks the first ids.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "event.h"
#include "sock.h"

#define RCV	HK_RCV
#define SND	HK_SND
#define CLI	MOS_SIDE_CLI
#define SVR	MOS_SIDE_SVR
#define BOTH	MOS_SIDE_BOTH

#define NOCB	((struct ev_cb){ NULL, -1 })

/* -- What callbacks and filters did ------------------------------------- */

enum { L_CB = 'c', L_FILTER = 'f' };

struct logent {
	int kind;
	int sock;
	int side;
	event_t ev;
};

static struct logent logv[256];
static int nlog;

/* Per UDE (by id - 4096): what its C filter returns and how often it
 * ran. */
#define MAXU	1024
static int fres[MAXU];
static int fcalls[MAXU];

static struct core *cur;

/* What the next callback does to its own job. */
enum { ACT_NONE, ACT_CLOSE, ACT_UNWATCH, ACT_RAISE, ACT_REGISTER };
static int act;
static event_t act_ev;		/* event to raise or to register */
static int act_ret;

static void
log_add(int kind, int sock, int side, event_t ev)
{
	assert_true(nlog < (int)(sizeof(logv) / sizeof(logv[0])));
	logv[nlog++] = (struct logent){ kind, sock, side, ev };
}

static void
cb_rec(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	assert_ptr_equal(m, &cur->mctx);
	assert_non_null(arg);
	log_add(L_CB, sock, side, ev);
}

/* Records, then does what `act` says (once). */
static void
cb_act(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sock *s = sock_get(cur, (uint32_t)sock);
	int a = act;

	cb_rec(m, sock, side, ev, arg);
	act = ACT_NONE;
	switch (a) {
	case ACT_CLOSE:
		sock_free(&cur->socks, (uint32_t)sock);
		break;
	case ACT_UNWATCH:
		s->mon &= (uint8_t)~(1u << side);
		break;
	case ACT_RAISE:
		act_ret = disp_raise(cur, act_ev);
		break;
	case ACT_REGISTER:
		act_ret = evtree_set(&s->tree, RCV, act_ev,
				     (struct ev_cb){ cb_rec, -1 });
		break;
	default:
		break;
	}
}

static bool
flt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	assert_ptr_equal(m, &cur->mctx);
	assert_true(ev >= EV_UDE_BASE && ev < EV_UDE_BASE + MAXU);
	assert_ptr_equal(arg, &ev_ude(ev)->arg);
	fcalls[ev - EV_UDE_BASE]++;
	log_add(L_FILTER, sock, side, ev);
	return fres[ev - EV_UDE_BASE] != 0;
}

/* A second filter function, so UDEs that differ only by filter differ. */
static bool
flt2(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	return flt(m, sock, side, ev, arg);
}

/* A fresh UDE under parent whose filter answers `res`; the argument makes
 * it distinct from every other one. */
static event_t
ude(event_t parent, int res)
{
	static uint32_t uniq;
	filter_arg_t a = { &uniq, sizeof(uniq) };
	event_t id;

	uniq++;
	id = ev_define(parent, flt, -1, -1, &a);
	assert_true(id >= EV_UDE_BASE && id < EV_UDE_BASE + MAXU);
	fres[id - EV_UDE_BASE] = res;
	fcalls[id - EV_UDE_BASE] = 0;
	return id;
}

static void
reg(uint32_t sock, int hook, event_t ev, callback_t cb)
{
	struct sock *s = sock_get(cur, sock);

	assert_non_null(s);
	assert_int_equal(evtree_set(&s->tree, hook, ev,
				    (struct ev_cb){ cb, -1 }), 0);
}

static void
reg_lua(uint32_t sock, int hook, event_t ev, int32_t fn)
{
	struct sock *s = sock_get(cur, sock);

	assert_int_equal(evtree_set(&s->tree, hook, ev,
				    (struct ev_cb){ NULL, fn }), 0);
}

static uint32_t
new_sock(void)
{
	int id = sock_new_passive(&cur->socks, MOS_SOCK_MONITOR_STREAM);

	assert_true(id >= 0);
	return (uint32_t)id;
}

/* The log is exactly these (kind, sock, side, event) entries. */
static void
expect_log(const struct logent *want, int n)
{
	int i;

	for (i = 0; i < n && i < nlog; i++) {
		if (want[i].kind != logv[i].kind ||
		    want[i].sock != logv[i].sock ||
		    want[i].side != logv[i].side || want[i].ev != logv[i].ev)
			fail_msg("log[%d]: %c sock %d side %d ev %llu, "
				 "expected %c sock %d side %d ev %llu", i,
				 logv[i].kind, logv[i].sock, logv[i].side,
				 (unsigned long long)logv[i].ev, want[i].kind,
				 want[i].sock, want[i].side,
				 (unsigned long long)want[i].ev);
	}
	assert_int_equal(nlog, n);
}

#define EXPECT_LOG(...) do {						\
	const struct logent w_[] = { __VA_ARGS__ };			\
	expect_log(w_, (int)(sizeof(w_) / sizeof(w_[0])));		\
} while (0)
#define CB(s, sd, e)	{ L_CB, (int)(s), (sd), (e) }
#define FL(s, sd, e)	{ L_FILTER, (int)(s), (sd), (e) }

static int
setup(void **state)
{
	(void)state;
	cur = calloc(1, sizeof(*cur));
	if (cur == NULL || sock_table_init(&cur->socks, 64) != 0)
		return -1;
	cur->idx = 0;
	cur->mctx.cpu = 0;
	nlog = 0;
	act = ACT_NONE;
	act_ret = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	disp_reset(&cur->disp);
	sock_table_free(&cur->socks);
	free(cur);
	cur = NULL;
	return 0;
}

/* -- UDE registry --------------------------------------------------------- */

static void
test_define_ids(void **state)
{
	char b1[] = "abc", b2[] = "abc", b3[] = "abd";
	filter_arg_t a1 = { b1, 3 }, a2 = { b2, 3 }, a3 = { b3, 3 };
	filter_arg_t empty = { NULL, 0 }, empty2 = { b1, 0 };
	event_t e1, e2, e3, e4, e5;
	const struct ude *u;

	(void)state;
	/* Nothing defined yet in this process: ids start at 4096. */
	e1 = ev_define(MOS_ON_PKT_IN, flt, -1, -1, NULL);
	assert_int_equal(e1, EV_UDE_BASE);
	e2 = ev_define(MOS_ON_PKT_IN, flt, -1, -1, &a1);
	assert_int_equal(e2, EV_UDE_BASE + 1);

	/* Same parent, filter and argument bytes: the same event. */
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, NULL), e1);
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &empty), e1);
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &empty2), e1);
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &a2), e2);

	/* Other bytes, filter or parent: a new event. */
	e3 = ev_define(MOS_ON_PKT_IN, flt, -1, -1, &a3);
	assert_int_equal(e3, EV_UDE_BASE + 2);
	e4 = ev_define(MOS_ON_PKT_IN, flt2, -1, -1, &a1);
	assert_int_equal(e4, EV_UDE_BASE + 3);
	e5 = ev_define(MOS_ON_CONN_START, flt, -1, -1, &a1);
	assert_int_equal(e5, EV_UDE_BASE + 4);
	a1.len = 2;	/* a prefix is other bytes */
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &a1),
			 EV_UDE_BASE + 5);

	/* The bytes were copied: the caller's buffer may change. */
	b1[0] = 'X';
	u = ev_ude(e2);
	assert_non_null(u);
	assert_int_equal(u->arg.len, 3);
	assert_ptr_not_equal(u->arg.arg, b1);
	assert_memory_equal(u->arg.arg, "abc", 3);
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &a2), e2);
	assert_int_equal(u->id, e2);
	assert_int_equal(u->parent, MOS_ON_PKT_IN);
	assert_int_equal(u->root, MOS_ON_PKT_IN);
	assert_int_equal(u->depth, 1);
	assert_int_equal(u->allocated, 0);
	assert_ptr_equal(u->cfn, flt);
	assert_int_equal(u->lua_fn, -1);
	u = ev_ude(e1);
	assert_int_equal(u->arg.len, 0);

	assert_true(ev_valid(e1));
	assert_true(ev_valid(MOS_ON_CONN_END));
	assert_int_equal(ev_root(e5), MOS_ON_CONN_START);
	assert_null(ev_ude(EV_UDE_BASE + 6));
	assert_false(ev_valid(EV_UDE_BASE + 6));
	assert_int_equal(ev_root(EV_UDE_BASE + 6), 0);
}

static void
test_define_errors(void **state)
{
	filter_arg_t bad = { NULL, 4 };
	event_t before = ude(MOS_ON_PKT_IN, 1);

	(void)state;
	errno = 0;
	assert_int_equal(ev_define(0, flt, -1, -1, NULL), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_define(MOS_ON_PKT_IN | MOS_ON_CONN_START, flt, -1,
				   -1, NULL), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	/* Deprecated events are never raised: no children. */
	errno = 0;
	assert_int_equal(ev_define(MOS_ON_PKT_OUT, flt, -1, -1, NULL),
			 MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_define(before + 100, flt, -1, -1, NULL),
			 MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_define(MOS_ON_PKT_IN, NULL, -1, -1, NULL),
			 MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_define(MOS_ON_PKT_IN, flt, -1, -1, &bad),
			 MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_alloc(0), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	/* Failures used no id. */
	assert_int_equal(ude(MOS_ON_PKT_IN, 1), before + 1);
}

static void
test_define_nested(void **state)
{
	event_t chain[40], e;
	const struct ude *u;
	int i;

	(void)state;
	e = MOS_ON_TCP_STATE_CHANGE;
	for (i = 0; i < 32; i++) {
		chain[i] = ude(e, 1);
		u = ev_ude(chain[i]);
		assert_int_equal(u->parent, e);
		assert_int_equal(u->root, MOS_ON_TCP_STATE_CHANGE);
		assert_int_equal(u->depth, i + 1);
		assert_int_equal(ev_root(chain[i]), MOS_ON_TCP_STATE_CHANGE);
		e = chain[i];
	}
	/* Depth limit: 32 levels below a built-in event. */
	errno = 0;
	assert_int_equal(ev_define(e, flt, -1, -1, NULL), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ev_alloc(e), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	/* One level up still works. */
	assert_true(ev_define(chain[30], flt2, -1, -1, NULL) >= EV_UDE_BASE);
}

static void
test_alloc_event(void **state)
{
	event_t a, b, c, d;
	const struct ude *u;

	(void)state;
	a = ev_alloc(MOS_ON_PKT_IN);
	b = ev_alloc(MOS_ON_PKT_IN);
	assert_true(a >= EV_UDE_BASE);
	assert_int_equal(b, a + 1);	/* never merged */
	u = ev_ude(a);
	assert_int_equal(u->allocated, 1);
	assert_null(u->cfn);
	assert_int_equal(u->root, MOS_ON_PKT_IN);
	/* An allocated event can be a parent, of both kinds. */
	c = ev_alloc(a);
	assert_int_equal(ev_ude(c)->depth, 2);
	d = ude(a, 1);
	assert_int_equal(ev_ude(d)->parent, a);
	assert_int_equal(ev_root(d), MOS_ON_PKT_IN);
	errno = 0;
	assert_int_equal(ev_alloc(MOS_ON_PKT_OUT), MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
}

static void
test_define_lua(void **state)
{
	event_t a, b, c;
	const struct ude *u;

	(void)state;
	a = ev_define(MOS_ON_PKT_IN, NULL, 0, 5, NULL);
	assert_true(a >= EV_UDE_BASE);
	u = ev_ude(a);
	assert_null(u->cfn);
	assert_int_equal(u->lua_fn, 5);
	assert_int_equal(u->lua_core, 0);
	assert_int_equal(ev_define(MOS_ON_PKT_IN, NULL, 0, 5, NULL), a);
	/* The same function id on another core is another function. */
	b = ev_define(MOS_ON_PKT_IN, NULL, 1, 5, NULL);
	assert_int_not_equal(b, a);
	c = ev_define(MOS_ON_PKT_IN, NULL, 0, 6, NULL);
	assert_int_not_equal(c, a);
	assert_int_not_equal(c, b);
}

/* A Lua load's definitions are given back when it ends and taken again,
 * in place, by the same definitions of a later load of that core. */
static void
test_retire_lua(void **state)
{
	const filter_arg_t arg = { (void *)"ab", 2 };
	event_t f, a, g, c, other, other_core;
	const struct ude *u;

	(void)state;
	c = ev_define(MOS_ON_CONN_START, flt, -1, -1, NULL);
	f = ev_define_lua(MOS_ON_CONN_START, 2, 100, &arg, 7);
	a = ev_alloc_lua(MOS_ON_CONN_START, 2, 7);
	g = ev_define_lua(a, 2, 101, NULL, 7);
	other_core = ev_define_lua(MOS_ON_CONN_START, 3, 100, &arg, 7);
	assert_true(f >= EV_UDE_BASE && a >= EV_UDE_BASE && g >= EV_UDE_BASE);
	assert_int_equal(ev_define_lua(MOS_ON_CONN_START, 2, 100, &arg, 7), f);
	assert_int_equal(ev_define_lua(MOS_ON_CONN_START, 2, -1, NULL, 7),
			 MOS_NULL_EVENT);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ev_alloc_lua(MOS_ON_CONN_START, 2, -1),
			 MOS_NULL_EVENT);

	ev_retire(2, 7);
	u = ev_ude(f);
	assert_true(u->retired);
	assert_int_equal(u->lua_fn, -1);
	assert_true(ev_ude(a)->retired && ev_ude(g)->retired);
	/* Neither another core's nor C's. */
	assert_false(ev_ude(other_core)->retired);
	assert_int_equal(ev_ude(other_core)->lua_fn, 100);
	assert_false(ev_ude(c)->retired);
	assert_ptr_equal(ev_ude(c)->cfn, flt);

	/* Another argument, or a C filter: a new id. */
	other = ev_define_lua(MOS_ON_CONN_START, 2, 200, NULL, 8);
	assert_true(other != f && other != g && other > g);
	assert_int_not_equal(ev_define(MOS_ON_CONN_START, flt2, -1, -1, &arg),
			     f);
	/* The next load's same definitions: the same ids, its functions. */
	assert_int_equal(ev_define_lua(MOS_ON_CONN_START, 2, 300, &arg, 8), f);
	assert_int_equal(ev_alloc_lua(MOS_ON_CONN_START, 2, 8), a);
	assert_int_equal(ev_define_lua(a, 2, 301, NULL, 8), g);
	assert_false(u->retired);
	assert_int_equal(u->lua_fn, 300);
	assert_int_equal(u->owner, 8);
	assert_int_equal(ev_ude(g)->lua_fn, 301);
	/* Taken: a second allocation is a new event again. */
	assert_int_not_equal(ev_alloc_lua(MOS_ON_CONN_START, 2, 8), a);
	/* Another core does not take core 2's. */
	ev_retire(2, 8);
	assert_int_not_equal(ev_define_lua(MOS_ON_CONN_START, 3, 400, &arg, 9),
			     f);
}

/* -- Callback trees ------------------------------------------------------- */

static void
test_tree_register(void **state)
{
	struct evtree *t = evtree_empty(), *old;
	struct ev_cb cb1 = { cb_rec, -1 }, cb2 = { cb_act, -1 };
	event_t u = ude(MOS_ON_PKT_IN, 1);

	(void)state;
	assert_int_equal(t->nreg, 0);
	assert_int_equal(evtree_set(&t, RCV, MOS_ON_CONN_START, cb1), 0);
	assert_ptr_not_equal(t, evtree_empty());
	assert_int_equal(t->refcnt, 1);
	assert_int_equal(t->nreg, 1);
	assert_int_equal(t->mask[RCV], MOS_ON_CONN_START);
	assert_int_equal(t->mask[SND], 0);
	assert_int_equal(t->mask[HK_NULL], 0);
	assert_int_equal(t->n[RCV], 1);
	assert_int_equal(t->nodes[RCV][0].ev, MOS_ON_CONN_START);
	assert_ptr_equal(t->nodes[RCV][0].cb.c, cb_rec);
	assert_null(t->nodes[RCV][0].ude);
	assert_int_equal(t->nodes[RCV][0].end, 1);
	assert_true(evtree_wants(t, RCV, MOS_ON_CONN_START | MOS_ON_PKT_IN));
	assert_false(evtree_wants(t, RCV, MOS_ON_PKT_IN));
	assert_false(evtree_wants(t, SND, MOS_ON_CONN_START));

	/* A UDE at SND: its root is in that hook's mask, and the tree
	 * holds the path root -> UDE. */
	assert_int_equal(evtree_set(&t, SND, u, cb1), 0);
	assert_int_equal(t->mask[SND], MOS_ON_PKT_IN);
	assert_int_equal(t->n[SND], 2);
	assert_int_equal(t->nodes[SND][0].ev, MOS_ON_PKT_IN);
	assert_null(t->nodes[SND][0].cb.c);
	assert_int_equal(t->nodes[SND][0].cb.lua, -1);
	assert_int_equal(t->nodes[SND][0].end, 2);
	assert_int_equal(t->nodes[SND][1].ev, u);
	assert_ptr_equal(t->nodes[SND][1].ude, ev_ude(u));
	assert_int_equal(t->nodes[SND][1].end, 2);

	/* Replace: same registration, new function. */
	old = t;
	assert_int_equal(evtree_set(&t, RCV, MOS_ON_CONN_START, cb2), 0);
	assert_ptr_not_equal(t, old);
	assert_int_equal(t->nreg, 2);
	assert_ptr_equal(t->nodes[RCV][0].cb.c, cb_act);

	/* Unregister. */
	assert_int_equal(evtree_set(&t, SND, u, NOCB), 0);
	assert_int_equal(t->nreg, 1);
	assert_int_equal(t->mask[SND], 0);
	assert_int_equal(t->n[SND], 0);
	old = t;
	assert_int_equal(evtree_set(&t, SND, u, NOCB), -ENOENT);
	assert_ptr_equal(t, old);
	assert_int_equal(evtree_set(&t, SND, MOS_ON_CONN_START, NOCB),
			 -ENOENT);
	assert_int_equal(evtree_set(&t, RCV, MOS_ON_CONN_START, NOCB), 0);
	assert_int_equal(t->nreg, 0);
	assert_int_equal(t->mask[RCV], 0);
	evtree_unref(t);

	/* Unregistering from the empty tree. */
	t = evtree_empty();
	assert_int_equal(evtree_set(&t, RCV, MOS_ON_PKT_IN, NOCB), -ENOENT);
	assert_ptr_equal(t, evtree_empty());
}

/* A tree shared by reference stays as it was when a holder registers. */
static void
test_tree_cow(void **state)
{
	struct evtree *t = evtree_empty(), *shared, *mine;
	struct ev_cb cb1 = { cb_rec, -1 };

	(void)state;
	assert_int_equal(evtree_set(&t, RCV, MOS_ON_PKT_IN, cb1), 0);
	assert_int_equal(evtree_set(&t, SND, MOS_ON_CONN_END, cb1), 0);
	/* A listener's tree referenced by a flow's socket. */
	shared = t;
	mine = evtree_ref(shared);
	assert_int_equal(shared->refcnt, 2);
	assert_int_equal(evtree_set(&mine, RCV, MOS_ON_REXMIT, cb1), 0);
	assert_ptr_not_equal(mine, shared);
	assert_int_equal(shared->refcnt, 1);
	assert_int_equal(mine->refcnt, 1);
	/* The old tree is unchanged. */
	assert_int_equal(shared->nreg, 2);
	assert_int_equal(shared->mask[RCV], MOS_ON_PKT_IN);
	assert_int_equal(shared->n[RCV], 1);
	assert_int_equal(mine->nreg, 3);
	assert_int_equal(mine->mask[RCV], MOS_ON_PKT_IN | MOS_ON_REXMIT);
	assert_int_equal(mine->n[RCV], 2);
	/* Unregistering in the copy leaves the original alone too. */
	assert_int_equal(evtree_set(&mine, RCV, MOS_ON_PKT_IN, NOCB), 0);
	assert_int_equal(mine->mask[RCV], MOS_ON_REXMIT);
	assert_int_equal(shared->mask[RCV], MOS_ON_PKT_IN);
	assert_int_equal(shared->mask[SND], MOS_ON_CONN_END);
	assert_ptr_equal(shared->nodes[RCV][0].cb.c, cb_rec);
	evtree_unref(mine);
	evtree_unref(shared);
	/* The empty tree is never freed. */
	evtree_unref(evtree_empty());
	assert_int_equal(evtree_empty()->nreg, 0);
}

/* -- Dispatcher ----------------------------------------------------------- */

static void
test_builtin_order(void **state)
{
	uint32_t s = new_sock();

	(void)state;
	reg(s, RCV, MOS_ON_CONN_END, cb_rec);
	reg(s, RCV, MOS_ON_REXMIT, cb_rec);
	reg(s, RCV, MOS_ON_TCP_STATE_CHANGE, cb_rec);
	reg(s, RCV, MOS_ON_PKT_IN, cb_rec);
	reg(s, RCV, MOS_ON_CONN_START, cb_rec);
	reg(s, SND, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_CONN_START | MOS_ON_TCP_STATE_CHANGE |
				  MOS_ON_REXMIT | MOS_ON_CONN_END), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(s, SVR, MOS_ON_PKT_IN), CB(s, SVR, MOS_ON_CONN_START),
		   CB(s, SVR, MOS_ON_TCP_STATE_CHANGE),
		   CB(s, SVR, MOS_ON_REXMIT), CB(s, SVR, MOS_ON_CONN_END));
	assert_int_equal(cur->st.callbacks_run, 5);

	/* Only the raised events. */
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_CONN_END |
				  MOS_ON_PKT_IN | MOS_ON_ERROR), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(s, CLI, MOS_ON_PKT_IN), CB(s, CLI, MOS_ON_CONN_END));

	/* Nothing registered for the raised events at that hook: no job. */
	assert_int_equal(disp_add(cur, s, SND, CLI, MOS_ON_CONN_START), 0);
	assert_int_equal(disp_add(cur, s, HK_NULL, CLI, MOS_ON_PKT_IN), 0);
	assert_int_equal(disp_add(cur, 63, RCV, CLI, MOS_ON_PKT_IN), 0);
	assert_int_equal(cur->disp.nj, 0);
	nlog = 0;
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(nlog, 0);
}

/*
 * Tree (HK_RCV):  PKT_IN*
 *                   +- U1* ---- U11*
 *                   +- U2*
 *                 TCP_STATE_CHANGE
 *                   +- U3*
 * (* = callback). Children are in the order of their first registration.
 */
static void
test_ude_preorder(void **state)
{
	uint32_t s = new_sock();
	event_t u1 = ude(MOS_ON_PKT_IN, 1), u2 = ude(MOS_ON_PKT_IN, 1);
	event_t u11 = ude(u1, 1), u3 = ude(MOS_ON_TCP_STATE_CHANGE, 1);

	(void)state;
	reg(s, RCV, u3, cb_rec);
	reg(s, RCV, u11, cb_rec);
	reg(s, RCV, u2, cb_rec);
	reg(s, RCV, MOS_ON_PKT_IN, cb_rec);
	reg(s, RCV, u1, cb_rec);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN |
				  MOS_ON_TCP_STATE_CHANGE), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(s, CLI, MOS_ON_PKT_IN),
		   FL(s, CLI, u1), CB(s, CLI, u1),
		   FL(s, CLI, u11), CB(s, CLI, u11),
		   FL(s, CLI, u2), CB(s, CLI, u2),
		   FL(s, CLI, u3), CB(s, CLI, u3));
	assert_int_equal(cur->st.filters_run, 4);

	/* TCP_STATE_CHANGE alone: only its subtree. The job's raised
	 * events decide, not the UDE's own id bits. */
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_TCP_STATE_CHANGE),
			 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, SVR, u3), CB(s, SVR, u3));
}

/* Filters run only on the way to a callback, and a false one skips its
 * subtree. */
static void
test_lazy_filters(void **state)
{
	uint32_t s = new_sock();
	event_t lonely = ude(MOS_ON_PKT_IN, 1);
	event_t no = ude(MOS_ON_PKT_IN, 0), below_no = ude(no, 1);
	event_t path = ude(MOS_ON_PKT_IN, 1), leaf = ude(path, 1);
	event_t other_hook = ude(MOS_ON_PKT_IN, 1);
	event_t gone = ude(MOS_ON_PKT_IN, 1), gone_leaf = ude(gone, 1);

	(void)state;
	reg(s, RCV, gone_leaf, cb_rec);
	assert_int_equal(evtree_set(&sock_get(cur, s)->tree, RCV, gone_leaf,
				    NOCB), 0);
	reg(s, RCV, no, cb_rec);
	reg(s, RCV, below_no, cb_rec);
	reg(s, RCV, leaf, cb_rec);	/* path has no callback itself */
	reg(s, SND, other_hook, cb_rec);
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, SVR, no), FL(s, SVR, path), FL(s, SVR, leaf),
		   CB(s, SVR, leaf));
	assert_int_equal(fcalls[lonely - EV_UDE_BASE], 0);
	assert_int_equal(fcalls[gone - EV_UDE_BASE], 0);
	assert_int_equal(fcalls[gone_leaf - EV_UDE_BASE], 0);
	assert_int_equal(fcalls[other_hook - EV_UDE_BASE], 0);
	assert_int_equal(fcalls[below_no - EV_UDE_BASE], 0);
	assert_int_equal(fcalls[no - EV_UDE_BASE], 1);
	assert_int_equal(fcalls[path - EV_UDE_BASE], 1);
	assert_int_equal(fcalls[leaf - EV_UDE_BASE], 1);

	/* Once per job: two jobs, two calls each. */
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(fcalls[no - EV_UDE_BASE], 3);
	assert_int_equal(fcalls[path - EV_UDE_BASE], 3);
	assert_int_equal(fcalls[leaf - EV_UDE_BASE], 3);
	assert_int_equal(fcalls[below_no - EV_UDE_BASE], 0);

	/* The parent was not raised: no filter runs at all. */
	nlog = 0;
	reg(s, RCV, MOS_ON_CONN_END, cb_rec);
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_CONN_END), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(s, SVR, MOS_ON_CONN_END));
	assert_int_equal(fcalls[no - EV_UDE_BASE], 3);
}

static void
test_job_order(void **state)
{
	uint32_t a = new_sock(), b = new_sock();

	(void)state;
	reg(a, RCV, MOS_ON_PKT_IN, cb_rec);
	reg(a, SND, MOS_ON_PKT_IN, cb_rec);
	reg(a, SND, MOS_ON_CONN_START, cb_rec);
	reg(b, RCV, MOS_ON_PKT_IN, cb_rec);
	reg(b, SND, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_add(cur, b, SND, CLI, MOS_ON_PKT_IN |
				  MOS_ON_CONN_START), 1);
	assert_int_equal(disp_add(cur, a, SND, CLI, MOS_ON_PKT_IN |
				  MOS_ON_CONN_START), 1);
	assert_int_equal(disp_add(cur, a, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_add(cur, b, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(b, CLI, MOS_ON_PKT_IN), CB(a, CLI, MOS_ON_PKT_IN),
		   CB(a, CLI, MOS_ON_CONN_START), CB(a, SVR, MOS_ON_PKT_IN),
		   CB(b, SVR, MOS_ON_PKT_IN));
	/* The queue is empty afterwards. */
	assert_int_equal(cur->disp.nj, 0);
	assert_int_equal(cur->disp.walking, 0);
}

static void
test_close_stops_job(void **state)
{
	uint32_t a = new_sock(), b = new_sock();

	(void)state;
	reg(a, RCV, MOS_ON_PKT_IN, cb_act);
	reg(a, RCV, MOS_ON_CONN_END, cb_rec);
	reg(b, RCV, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_add(cur, a, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_CONN_END), 1);
	assert_int_equal(disp_add(cur, a, SND, SVR, MOS_ON_PKT_IN), 0);
	assert_int_equal(disp_add(cur, b, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_add(cur, a, RCV, CLI, MOS_ON_PKT_IN), 1);
	act = ACT_CLOSE;
	assert_int_equal(disp_run(cur), 0);
	/* The closed socket's remaining callback and its later job are
	 * skipped; the other socket's job runs. */
	EXPECT_LOG(CB(a, SVR, MOS_ON_PKT_IN), CB(b, SVR, MOS_ON_PKT_IN));
	assert_null(sock_get(cur, a));

	/* A new socket in the same slot is not the old one. */
	nlog = 0;
	assert_int_equal(new_sock(), a);
	reg(a, RCV, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_add(cur, a, RCV, CLI, MOS_ON_PKT_IN), 1);
	sock_free(&cur->socks, a);
	assert_int_equal(new_sock(), a);
	reg(a, RCV, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(nlog, 0);
}

static void
test_unwatch_stops_job(void **state)
{
	uint32_t s = new_sock();

	(void)state;
	reg(s, RCV, MOS_ON_PKT_IN, cb_act);
	reg(s, RCV, MOS_ON_TCP_STATE_CHANGE, cb_rec);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN |
				  MOS_ON_TCP_STATE_CHANGE), 1);
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_TCP_STATE_CHANGE), 1);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	act = ACT_UNWATCH;
	assert_int_equal(disp_run(cur), 0);
	/* CLI unwatched in the first callback: the rest of that job and the
	 * later CLI job are dropped, SVR goes on. */
	EXPECT_LOG(CB(s, CLI, MOS_ON_PKT_IN), CB(s, SVR, MOS_ON_PKT_IN),
		   CB(s, SVR, MOS_ON_TCP_STATE_CHANGE));
	assert_int_equal(sock_get(cur, s)->mon, 1u << SVR);

	/* A job for both sides is not tied to one side's monitoring. */
	nlog = 0;
	reg(s, HK_NULL, MOS_ON_ORPHAN, cb_rec);
	assert_int_equal(disp_add(cur, s, HK_NULL, BOTH, MOS_ON_ORPHAN), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(s, BOTH, MOS_ON_ORPHAN));
}

/* Registering during a walk: the walk keeps its tree, the next job of the
 * socket sees the new one, and the old tree is freed after the walk. */
static void
test_register_during_walk(void **state)
{
	uint32_t s = new_sock();
	struct evtree *t0;

	(void)state;
	reg(s, RCV, MOS_ON_PKT_IN, cb_act);
	t0 = sock_get(cur, s)->tree;
	assert_int_equal(t0->refcnt, 1);
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_CONN_END), 1);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN |
				  MOS_ON_CONN_END), 1);
	act = ACT_REGISTER;
	act_ev = MOS_ON_CONN_END;
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(act_ret, 0);
	EXPECT_LOG(CB(s, SVR, MOS_ON_PKT_IN), CB(s, CLI, MOS_ON_PKT_IN),
		   CB(s, CLI, MOS_ON_CONN_END));
	assert_ptr_not_equal(sock_get(cur, s)->tree, t0);
	assert_int_equal(sock_get(cur, s)->tree->refcnt, 1);
}

/* A Lua callback: disp_run stops with the call described in pipe.inv and
 * goes on where it stopped. */
static void
test_lua_callback(void **state)
{
	uint32_t a = new_sock(), b = new_sock();
	event_t u = ude(MOS_ON_PKT_IN, 1);
	const struct ude *ud = ev_ude(u);
	struct pipe_invoke *inv = &cur->pipe.inv;
	struct evtree *t;

	(void)state;
	reg(a, SND, MOS_ON_PKT_IN, cb_rec);
	reg_lua(a, SND, u, 11);
	reg_lua(a, SND, MOS_ON_CONN_START, 12);
	reg(a, SND, MOS_ON_TCP_STATE_CHANGE, cb_rec);
	reg(b, SND, MOS_ON_PKT_IN, cb_rec);
	t = sock_get(cur, a)->tree;
	assert_int_equal(disp_add(cur, a, SND, CLI, MOS_ON_PKT_IN |
				  MOS_ON_CONN_START |
				  MOS_ON_TCP_STATE_CHANGE), 1);
	assert_int_equal(disp_add(cur, b, SND, CLI, MOS_ON_PKT_IN), 1);

	assert_int_equal(disp_run(cur), 1);
	EXPECT_LOG(CB(a, CLI, MOS_ON_PKT_IN), FL(a, CLI, u));
	assert_int_equal(inv->fn, 11);
	assert_int_equal(inv->kind, 0);
	assert_int_equal(inv->sock, (int32_t)a);
	assert_int_equal(inv->side, CLI);
	assert_int_equal(inv->event, u);
	assert_ptr_equal(inv->arg, &ud->arg);
	/* The walk holds the tree while the Lua function runs. */
	assert_int_equal(t->refcnt, 2);

	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(inv->fn, 12);
	assert_int_equal(inv->kind, 0);
	assert_int_equal(inv->event, MOS_ON_CONN_START);
	assert_ptr_equal(inv->arg, &cur->noarg);
	assert_null(inv->arg->arg);
	assert_int_equal(inv->arg->len, 0);
	assert_int_equal(nlog, 2);

	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(a, CLI, MOS_ON_PKT_IN), FL(a, CLI, u),
		   CB(a, CLI, MOS_ON_TCP_STATE_CHANGE),
		   CB(b, CLI, MOS_ON_PKT_IN));
	assert_int_equal(t->refcnt, 1);
	assert_int_equal(cur->st.callbacks_run, 5);
}

/* The Lua function closed the socket or stopped monitoring the side: the
 * job ends when the dispatcher resumes. */
static void
test_lua_callback_closes(void **state)
{
	uint32_t a = new_sock(), b = new_sock();

	(void)state;
	reg_lua(a, RCV, MOS_ON_PKT_IN, 1);
	reg(a, RCV, MOS_ON_CONN_END, cb_rec);
	reg(b, RCV, MOS_ON_PKT_IN, cb_rec);
	assert_int_equal(disp_add(cur, a, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_CONN_END), 1);
	assert_int_equal(disp_add(cur, b, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	sock_free(&cur->socks, a);	/* what mtcp_close would do */
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(CB(b, SVR, MOS_ON_PKT_IN));

	nlog = 0;
	assert_int_equal(disp_add(cur, b, RCV, SVR, MOS_ON_PKT_IN), 1);
	reg_lua(b, RCV, MOS_ON_PKT_IN, 2);
	reg(b, RCV, MOS_ON_CONN_END, cb_rec);
	assert_int_equal(disp_add(cur, b, RCV, SVR, MOS_ON_PKT_IN |
				  MOS_ON_CONN_END), 1);
	/* The first job was queued with the old tree's registrations but
	 * walks the socket's tree as it is when the job starts. */
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(cur->pipe.inv.fn, 2);
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(cur->pipe.inv.fn, 2);
	sock_get(cur, b)->mon &= (uint8_t)~(1u << SVR);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(nlog, 0);
}

/* A Lua filter: the result is written into pipe.inv.ret before resuming;
 * a failed call counts as false. */
static void
test_lua_filter(void **state)
{
	uint32_t s = new_sock();
	char argb[] = "needle";
	filter_arg_t arg = { argb, 6 };
	event_t lf = ev_define(MOS_ON_PKT_IN, NULL, 0, 21, &arg);
	event_t child = ude(lf, 1), sib = ude(MOS_ON_PKT_IN, 1);
	event_t foreign = ev_define(MOS_ON_PKT_IN, NULL, 1, 21, &arg);
	struct pipe_invoke *inv = &cur->pipe.inv;
	const struct ude *ul = ev_ude(lf);

	(void)state;
	assert_true(lf >= EV_UDE_BASE);
	assert_true(foreign >= EV_UDE_BASE);
	reg(s, RCV, lf, cb_rec);
	reg(s, RCV, child, cb_rec);
	reg(s, RCV, foreign, cb_rec);
	reg(s, RCV, sib, cb_rec);

	/* true */
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(nlog, 0);
	assert_int_equal(inv->fn, 21);
	assert_int_equal(inv->kind, 1);
	assert_int_equal(inv->sock, (int32_t)s);
	assert_int_equal(inv->side, SVR);
	assert_int_equal(inv->event, lf);
	assert_ptr_equal(inv->arg, &ul->arg);
	assert_int_equal(inv->arg->len, 6);
	assert_memory_equal(inv->arg->arg, "needle", 6);
	inv->ret = 1;
	assert_int_equal(disp_run(cur), 0);
	/* The other core's Lua filter is false here, without a call. */
	EXPECT_LOG(CB(s, SVR, lf), FL(s, SVR, child), CB(s, SVR, child),
		   FL(s, SVR, sib), CB(s, SVR, sib));

	/* false */
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(inv->kind, 1);
	inv->ret = 0;
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, CLI, sib), CB(s, CLI, sib));

	/* raised an error: false even with ret set */
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	inv->ret = 1;
	inv->failed = 1;
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, CLI, sib), CB(s, CLI, sib));

	/* A Lua filter in front of a Lua callback: two stops. */
	nlog = 0;
	reg_lua(s, RCV, lf, 22);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(inv->kind, 1);
	inv->ret = 1;
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(inv->kind, 0);
	assert_int_equal(inv->fn, 22);
	assert_int_equal(inv->event, lf);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, CLI, child), CB(s, CLI, child), FL(s, CLI, sib),
		   CB(s, CLI, sib));
}

/* Allocated events fire when a callback or filter of the same walk raised
 * them before they are visited. */
static void
test_raise(void **state)
{
	uint32_t s = new_sock();
	event_t a = ev_alloc(MOS_ON_PKT_IN), b = ev_alloc(MOS_ON_PKT_IN);
	event_t plain = ude(MOS_ON_PKT_IN, 1);

	(void)state;
	reg(s, RCV, MOS_ON_PKT_IN, cb_act);
	reg(s, RCV, a, cb_rec);
	reg(s, RCV, b, cb_rec);

	/* Outside a walk, and for events that are not allocated. */
	assert_int_equal(disp_raise(cur, a), -1);
	act = ACT_RAISE;
	act_ev = plain;
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(act_ret, -1);
	EXPECT_LOG(CB(s, SVR, MOS_ON_PKT_IN));
	act = ACT_RAISE;
	act_ev = MOS_ON_PKT_IN;
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(act_ret, -1);
	EXPECT_LOG(CB(s, SVR, MOS_ON_PKT_IN));

	/* Raised in the first job: fires there, not in the second. */
	act = ACT_RAISE;
	act_ev = b;
	nlog = 0;
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(act_ret, 0);
	EXPECT_LOG(CB(s, SVR, MOS_ON_PKT_IN), CB(s, SVR, b),
		   CB(s, CLI, MOS_ON_PKT_IN));
	assert_int_equal(disp_raise(cur, b), -1);
}

/* mtcp_raise_event from a filter, for an allocated child of that filter's
 * event (the multi-event filter of the mOS man page, e.g. a pattern
 * matcher raising one event per pattern found). */
static event_t raise_target;

static bool
flt_raise(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)arg;
	log_add(L_FILTER, sock, side, ev);
	assert_int_equal(disp_raise(cur, raise_target), 0);
	return true;
}

static void
test_raise_from_filter(void **state)
{
	static const char tag[] = "raise_from_filter";
	filter_arg_t arg = { (void *)tag, sizeof(tag) };
	uint32_t s = new_sock();
	event_t f, hit1, hit2, late, after;

	(void)state;
	f = ev_define(MOS_ON_PKT_IN, flt_raise, -1, -1, &arg);
	assert_true(f >= EV_UDE_BASE);
	hit1 = ev_alloc(f);
	hit2 = ev_alloc(f);
	raise_target = hit2;
	reg(s, SND, f, cb_rec);
	reg(s, SND, hit1, cb_rec);
	reg(s, SND, hit2, cb_rec);
	assert_int_equal(disp_add(cur, s, SND, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	EXPECT_LOG(FL(s, CLI, f), CB(s, CLI, f), CB(s, CLI, hit2));

	/* Raised after the walk passed the event: too late to fire. */
	nlog = 0;
	late = ev_alloc(MOS_ON_CONN_START);
	after = ude(MOS_ON_CONN_START, 1);
	reg(s, SND, late, cb_rec);
	reg(s, SND, after, cb_act);
	act = ACT_RAISE;
	act_ev = late;
	assert_int_equal(disp_add(cur, s, SND, CLI, MOS_ON_CONN_START), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(act_ret, 0);
	EXPECT_LOG(FL(s, CLI, after), CB(s, CLI, after));
}

static void
test_reset_drops_walk(void **state)
{
	uint32_t s = new_sock();
	struct evtree *t;

	(void)state;
	reg_lua(s, RCV, MOS_ON_PKT_IN, 3);
	t = sock_get(cur, s)->tree;
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_add(cur, s, RCV, CLI, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 1);
	assert_int_equal(t->refcnt, 2);
	disp_reset(&cur->disp);
	assert_int_equal(t->refcnt, 1);
	assert_int_equal(cur->disp.nj, 0);
	assert_int_equal(disp_run(cur), 0);
}

static int ncount;

static void
cb_count(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	(void)m;
	(void)sock;
	(void)side;
	(void)ev;
	(void)arg;
	ncount++;
}

static void
test_queue_full(void **state)
{
	uint32_t s = new_sock();
	int i, n = 0;

	(void)state;
	reg(s, RCV, MOS_ON_PKT_IN, cb_count);
	for (i = 0; i < DISP_MAX_JOBS + 5; i++)
		n += disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN);
	assert_int_equal(n, DISP_MAX_JOBS);
	ncount = 0;
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(ncount, DISP_MAX_JOBS);
	/* The queue is free again. */
	assert_int_equal(disp_add(cur, s, RCV, SVR, MOS_ON_PKT_IN), 1);
	assert_int_equal(disp_run(cur), 0);
	assert_int_equal(ncount, DISP_MAX_JOBS + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_define_ids),
		cmocka_unit_test(test_define_errors),
		cmocka_unit_test(test_define_nested),
		cmocka_unit_test(test_alloc_event),
		cmocka_unit_test(test_define_lua),
		cmocka_unit_test(test_retire_lua),
		cmocka_unit_test_setup_teardown(test_tree_register, setup,
						teardown),
		cmocka_unit_test(test_tree_cow),
		cmocka_unit_test_setup_teardown(test_builtin_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ude_preorder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lazy_filters, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_job_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_stops_job, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwatch_stops_job, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_register_during_walk,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lua_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lua_callback_closes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lua_filter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raise_from_filter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_drops_walk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
