/*
 * api_sock.c - monitor sockets of the mOS API: creation and closing, BPF
 * filters, socket options, per-flow user context and peer addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bpf.h"
#include "rb.h"
#include "sock.h"

#define SIDES	((1u << MOS_SIDE_CLI) | (1u << MOS_SIDE_SVR))

int
mtcp_socket(mctx_t mctx, int domain, int type, int protocol)
{
	struct core *c = api_core(mctx);
	int id;

	(void)protocol;
	if (c == NULL)
		return -1;
	if (domain != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (type != MOS_SOCK_MONITOR_STREAM && type != MOS_SOCK_MONITOR_RAW) {
		errno = EINVAL;
		return -1;
	}
	api_lock(c);
	id = sock_new_passive(&c->socks, type);
	if (id >= 0 && g_rt.cfg.overlap_last)
		c->socks.s[id].ls->overlap_last = SIDES;
	api_unlock(c);
	if (id < 0) {
		errno = -id;
		return -1;
	}
	return id;
}

/* Unlink an active socket from its flow's list. */
static void
unlink_active(struct core *c, uint32_t id)
{
	struct sock *s = &c->socks.s[id];
	struct flow *f = &c->ft.f[s->flow];
	uint32_t *pp = &f->sock_head;

	while (*pp != SOCK_NONE && *pp != id)
		pp = &c->socks.s[*pp].next;
	if (*pp == id)
		*pp = s->next;
	f->nsocks--;
}

void
api_close_active(struct core *c, uint32_t id)
{
	uint32_t fidx = c->socks.s[id].flow;

	unlink_active(c, id);
	sock_free(&c->socks, id);
	api_flow_refresh(c, fidx);
}

int
mtcp_close(mctx_t mctx, int sock)
{
	struct core *c = api_core(mctx);
	struct sock *s;

	if (c == NULL)
		return -1;
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		api_unlock(c);
		errno = EBADF;
		return -1;
	}
	if (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE)
		api_close_active(c, (uint32_t)sock);
	else
		sock_free(&c->socks, (uint32_t)sock);
	api_unlock(c);
	return 0;
}

/* Reasons printed for filters that do not compile, in the whole run: a
 * script that retries one from a callback must not write to stderr per
 * packet. */
#define FILTER_ERRS_PRINTED	10

static int
compile(const char *expr, struct bpf_program **out)
{
	static unsigned int nprinted;
	char err[PCAP_ERRBUF_SIZE + 64];
	unsigned int n;

	*out = NULL;
	if (expr == NULL)
		return 0;
	*out = bpf_prog_compile(expr, err, sizeof(err));
	if (*out == NULL) {
		n = __atomic_fetch_add(&nprinted, 1, __ATOMIC_RELAXED);
		if (n < FILTER_ERRS_PRINTED)
			fprintf(stderr, "moonbox: filter '%s': %s\n", expr, err);
		else if (n == FILTER_ERRS_PRINTED)
			fprintf(stderr, "moonbox: filter errors: further ones "
				"are not printed\n");
		return -1;
	}
	return 0;
}

int
mtcp_bind_monitor_filter(mctx_t mctx, int sock, monitor_filter_t ft)
{
	struct core *c = api_core(mctx);
	struct bpf_program *a = NULL, *b = NULL;
	struct sock *s;
	struct lsock *ls;

	if (c == NULL)
		return -1;
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		api_unlock(c);
		errno = EBADF;
		return -1;
	}
	if (s->type != MOS_SOCK_MONITOR_STREAM && s->type != MOS_SOCK_MONITOR_RAW) {
		api_unlock(c);
		errno = ENOPROTOOPT;
		return -1;
	}
	ls = s->ls;
	if (ft != NULL) {
		if (s->type == MOS_SOCK_MONITOR_RAW) {
			if (compile(ft->raw_pkt_filter, &a) != 0)
				goto bad;
		} else if (compile(ft->stream_syn_filter, &a) != 0 ||
			   compile(ft->stream_orphan_filter, &b) != 0) {
			goto bad;
		}
	}
	if (s->type == MOS_SOCK_MONITOR_RAW) {
		bpf_prog_free(ls->raw);
		ls->raw = a;
	} else {
		bpf_prog_free(ls->syn);
		bpf_prog_free(ls->orphan);
		ls->syn = a;
		ls->orphan = b;
	}
	api_unlock(c);
	return 0;
bad:
	bpf_prog_free(a);
	bpf_prog_free(b);
	api_unlock(c);
	errno = EINVAL;
	return -1;
}

/* -- Per-flow state from the sockets ------------------------------------ */

void
api_flow_refresh(struct core *c, uint32_t fidx)
{
	struct flow *f = &c->ft.f[fidx];
	uint8_t mgmt = 0, buf = 0;
	uint32_t s;
	int side;

	for (s = f->sock_head; s != SOCK_NONE; s = c->socks.s[s].next) {
		mgmt |= c->socks.s[s].mon;
		buf |= (uint8_t)(c->socks.s[s].mon & ~c->socks.s[s].bufoff);
	}
	/* mOS: a side nobody monitors any more is no longer tracked. */
	f->mgmt &= mgmt;
	for (side = 0; side < 2; side++) {
		if ((f->buf & (1u << side)) && !(buf & (1u << side)) &&
		    f->rb[side] != NULL) {
			rb_destroy(c->rbpool, f->rb[side]);
			f->rb[side] = NULL;
		}
	}
	f->buf = buf;
	flow_update_want(c, f);
	if ((f->mgmt & SIDES) == 0 && !(f->flags & FL_DESTROY)) {
		flow_set_flags(f, FL_DESTROY);
		if (c->nkill < RTE_DIM(c->kill))
			c->kill[c->nkill++] = (struct nd_ent){ fidx, f->gen, 0 };
	}
}

/* -- Socket options ------------------------------------------------------ */

static int
get_int(const void *optval, socklen_t optlen, int *v)
{
	if (optval == NULL)
		return -1;
	if (optlen == sizeof(int)) {
		memcpy(v, optval, sizeof(int));
		return 0;
	}
	if (optlen == sizeof(uint8_t)) {	/* mOS read a uint8_t */
		*v = *(const uint8_t *)optval;
		return 0;
	}
	return -1;
}

static int
set_buf(struct core *c, struct sock *s, int side, int v)
{
	struct flow *f;

	if (v != 0 && (v < (int)RB_WINDOW_MIN || v > (1 << 26)))
		return -EINVAL;
	if (s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE) {
		if (v == 0) {
			s->ls->bufoff |= (uint8_t)(1u << side);
		} else {
			s->ls->bufoff &= (uint8_t)~(1u << side);
			s->ls->win[side] = (uint32_t)v;
		}
		return 0;
	}
	f = &c->ft.f[s->flow];
	if (v == 0) {
		s->bufoff |= (uint8_t)(1u << side);
	} else {
		s->bufoff &= (uint8_t)~(1u << side);
		if (f->rb[side] != NULL &&
		    rb_set_window(c->rbpool, f->rb[side], (uint32_t)v) != 0)
			return -ENOMEM;
		f->win[side] = (uint32_t)v;
	}
	api_flow_refresh(c, s->flow);
	return 0;
}

static int
set_overlap(struct core *c, struct sock *s, int side, int v)
{
	uint8_t bit = (uint8_t)(1u << side);
	struct flow *f;

	if (v != MOS_OVERLAP_POLICY_FIRST && v != MOS_OVERLAP_POLICY_LAST)
		return -EINVAL;
	if (s->type != MOS_SOCK_MONITOR_STREAM_ACTIVE) {
		if (v == MOS_OVERLAP_POLICY_LAST)
			s->ls->overlap_last |= bit;
		else
			s->ls->overlap_last &= (uint8_t)~bit;
		return 0;
	}
	/* The policy is the flow's, stored even before the first payload
	 * creates the buffer (mOS failed with EFAULT then). */
	f = &c->ft.f[s->flow];
	if (v == MOS_OVERLAP_POLICY_LAST)
		f->overlap_last |= bit;
	else
		f->overlap_last &= (uint8_t)~bit;
	if (f->rb[side] != NULL)
		rb_set_policy(f->rb[side], v);
	return 0;
}

static int
stop_mon(struct core *c, struct sock *s, int v)
{
	uint8_t bits;

	if (v == MOS_SIDE_BOTH)
		bits = SIDES;
	else if (v == MOS_SIDE_CLI || v == MOS_SIDE_SVR)
		bits = (uint8_t)(1u << v);
	else
		return -EINVAL;
	if (s->type == MOS_SOCK_MONITOR_RAW)
		return -ENOTSOCK;
	s->mon &= (uint8_t)~bits;
	if (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE)
		api_flow_refresh(c, s->flow);
	return 0;
}

int
mtcp_setsockopt(mctx_t mctx, int sock, int level, int optname,
		const void *optval, socklen_t optlen)
{
	struct core *c = api_core(mctx);
	struct sock *s;
	int v, ret;

	if (c == NULL)
		return -1;
	if (level != SOL_MONSOCKET) {
		errno = EINVAL;
		return -1;
	}
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		ret = -EBADF;
		goto out;
	}
	/* Options of an active socket act on the flow being processed: only
	 * the core's own thread may touch it. */
	if (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE && !api_own(c)) {
		ret = -EPERM;
		goto out;
	}
	if (get_int(optval, optlen, &v) != 0) {
		ret = -EINVAL;
		goto out;
	}
	switch (optname) {
	case MOS_CLIBUF:
	case MOS_SVRBUF:
		if (s->type == MOS_SOCK_MONITOR_RAW) {
			ret = -ENOTSOCK;
			break;
		}
		ret = set_buf(c, s, optname == MOS_CLIBUF ? MOS_SIDE_CLI :
			      MOS_SIDE_SVR, v);
		break;
	case MOS_CLIOVERLAP:
	case MOS_SVROVERLAP:
		if (s->type == MOS_SOCK_MONITOR_RAW) {
			ret = -ENOTSOCK;
			break;
		}
		ret = set_overlap(c, s, optname == MOS_CLIOVERLAP ?
				  MOS_SIDE_CLI : MOS_SIDE_SVR, v);
		break;
	case MOS_STOP_MON:
		ret = stop_mon(c, s, v);
		break;
	case MOS_SEQ_REMAP:
		/* Remapping after length changes is always on; it cannot
		 * be switched off without breaking the connection. */
		ret = v == 1 ? 0 : -EINVAL;
		break;
	default:
		ret = -ENOPROTOOPT;
		break;
	}
out:
	api_unlock(c);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static int
side_of_opt(int optname)
{
	switch (optname) {
	case MOS_FRAGINFO_CLIBUF:
	case MOS_INFO_CLIBUF:
	case MOS_TCP_STATE_CLI:
		return MOS_SIDE_CLI;
	default:
		return MOS_SIDE_SVR;
	}
}

static int
get_buf_info(struct core *c, struct sock *s, struct flow *f, int side,
	     void *optval, socklen_t *optlen)
{
	const struct half *h = &f->h[side];
	struct tcp_buf_info bi;
	uint32_t base;

	if (*optlen != sizeof(bi))
		return -EINVAL;
	if (!(f->buf & (1u << side)))
		return -EINVAL;
	if (f->rb[side] == NULL || !(h->flags & HF_IRS))
		return -ENODATA;
	(void)c;
	base = h->irs + 1;
	bi.tcpbi_init_seq = base;
	bi.tcpbi_last_byte_read = base + (uint32_t)s->peek[side];
	bi.tcpbi_next_byte_expected = base + (uint32_t)rb_next(f->rb[side]);
	bi.tcpbi_last_byte_received = base + (uint32_t)rb_end(f->rb[side]);
	memcpy(optval, &bi, sizeof(bi));
	return 0;
}

static int
get_frag_info(struct flow *f, int side, void *optval, socklen_t *optlen)
{
	struct rb_run runs[RB_MAX_RUNS + 1];
	struct tcp_ring_fragment fr;
	int n, i, max;

	if (*optlen == 0 || *optlen % sizeof(fr) != 0)
		return -EINVAL;
	if (!(f->buf & (1u << side)))
		return -EINVAL;
	max = (int)(*optlen / sizeof(fr));
	n = f->rb[side] != NULL ?
	    rb_runs(f->rb[side], runs, RB_MAX_RUNS + 1) : 0;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		fr.offset = runs[i].off;
		fr.len = runs[i].len;
		memcpy((uint8_t *)optval + (size_t)i * sizeof(fr), &fr,
		       sizeof(fr));
	}
	*optlen = (socklen_t)((size_t)n * sizeof(fr));
	return 0;
}

int
mtcp_getsockopt(mctx_t mctx, int sock, int level, int optname,
		void *optval, socklen_t *optlen)
{
	struct core *c = api_core_own(mctx);
	struct sock *s;
	struct flow *f;
	int side, ret = 0, v;
	uint32_t ts;

	if (c == NULL)
		return -1;
	if (level != SOL_MONSOCKET || optval == NULL || optlen == NULL) {
		errno = EINVAL;
		return -1;
	}
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		errno = EBADF;
		return -1;
	}
	f = api_flow(c, s);
	if (f == NULL) {
		errno = ENOTSOCK;
		return -1;
	}
	side = side_of_opt(optname);
	switch (optname) {
	case MOS_TCP_STATE_CLI:
	case MOS_TCP_STATE_SVR:
		if (*optlen < sizeof(int)) {
			ret = -EINVAL;
		} else if (side == MOS_SIDE_SVR && !(f->flags & FL_SVR)) {
			ret = -ENOTCONN;	/* first SYN, sender hook */
		} else {
			v = f->h[side].state;
			memcpy(optval, &v, sizeof(int));
			*optlen = sizeof(int);
		}
		break;
	case MOS_INFO_CLIBUF:
	case MOS_INFO_SVRBUF:
		ret = get_buf_info(c, s, f, side, optval, optlen);
		break;
	case MOS_FRAGINFO_CLIBUF:
	case MOS_FRAGINFO_SVRBUF:
		ret = get_frag_info(f, side, optval, optlen);
		break;
	case MOS_TIMESTAMP:
		if (*optlen < sizeof(uint32_t)) {
			ret = -EINVAL;
			break;
		}
		ts = (uint32_t)(f->last_ms * 1000);
		memcpy(optval, &ts, sizeof(ts));
		*optlen = sizeof(ts);
		break;
	default:
		ret = -ENOPROTOOPT;
		break;
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

/* -- User context, peer names ------------------------------------------- */

void
mtcp_set_uctx(mctx_t mctx, int sock, void *uctx)
{
	struct core *c = api_core(mctx);
	struct sock *s;

	if (c == NULL)
		return;
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL)
		errno = EBADF;
	else if (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE && !api_own(c))
		errno = EPERM;
	else
		s->uctx = uctx;
	api_unlock(c);
}

void *
mtcp_get_uctx(mctx_t mctx, int sock)
{
	struct core *c = api_core(mctx);
	struct sock *s;
	void *u = NULL;

	if (c == NULL)
		return NULL;
	api_lock(c);
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL)
		errno = EBADF;
	else if (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE && !api_own(c))
		errno = EPERM;
	else
		u = s->uctx;
	api_unlock(c);
	return u;
}

int
mtcp_getpeername(mctx_t mctx, int sock, struct sockaddr *saddr,
		 socklen_t *addrlen, int side)
{
	struct core *c = api_core_own(mctx);
	struct sockaddr_in in[2];
	struct flow *f;
	int i;

	if (c == NULL)
		return -1;
	f = api_flow(c, sock_get(c, (uint32_t)sock));
	if (f == NULL) {
		errno = sock_get(c, (uint32_t)sock) == NULL ? EBADF : ENOTSOCK;
		return -1;
	}
	if (saddr == NULL || addrlen == NULL) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < 2; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].sin_family = AF_INET;
		in[i].sin_addr.s_addr = f->ip[i];
		in[i].sin_port = f->port[i];
	}
	/* Like getpeername(2): the buffer must be large enough, and *addrlen
	 * tells what was written (mOS wanted exact sizes). */
	switch (side) {
	case MOS_SIDE_CLI:
	case MOS_SIDE_SVR:
		if (*addrlen < sizeof(struct sockaddr)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(saddr, &in[side], sizeof(in[0]));
		*addrlen = sizeof(struct sockaddr);
		return 0;
	case MOS_SIDE_BOTH:
		if (*addrlen < 2 * sizeof(struct sockaddr)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(saddr, in, sizeof(in));
		*addrlen = 2 * sizeof(struct sockaddr);
		return 0;
	default:
		errno = EINVAL;
		return -1;
	}
}
