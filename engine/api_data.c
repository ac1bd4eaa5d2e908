/*
 * api_data.c - reading the reassembled streams: mtcp_peek (each socket's
 * own read offset per side) and mtcp_ppeek (any stream offset). Neither
 * ever exits: where mOS called exit(), these return an error.
 */
#include <errno.h>

#include "api.h"
#include "rb.h"
#include "sock.h"

/* Common checks; returns the flow's buffer for side (may be NULL: nothing
 * received yet), or sets *err. */
static struct rb *
side_buffer(struct core *c, int sock, int side, int not_active_errno,
	    struct sock **sp, int *err)
{
	struct sock *s = sock_get(c, (uint32_t)sock);
	struct flow *f;

	*err = 0;
	if (s == NULL) {
		*err = EBADF;
		return NULL;
	}
	f = api_flow(c, s);
	if (f == NULL) {
		*err = not_active_errno;
		return NULL;
	}
	if (side != MOS_SIDE_CLI && side != MOS_SIDE_SVR) {
		*err = EINVAL;
		return NULL;
	}
	if (!(f->buf & (1u << side))) {
		*err = EINVAL;
		return NULL;
	}
	if (side == MOS_SIDE_SVR && !(f->flags & FL_SVR)) {
		*err = ENOTCONN;
		return NULL;
	}
	*sp = s;
	return f->rb[side];
}

ssize_t
mtcp_peek(mctx_t mctx, int sock, int side, char *buf, size_t len)
{
	struct core *c = api_core_own(mctx);
	struct sock *s = NULL;
	struct rb *b;
	int64_t n;
	int err;

	if (c == NULL)
		return -1;
	b = side_buffer(c, sock, side, EBADF, &s, &err);
	if (err == 0 && buf == NULL && len > 0)
		err = EINVAL;
	if (err != 0) {
		errno = err;
		return -1;
	}
	if (b == NULL || len == 0)
		return 0;
	if (s->peek[side] < rb_head(b)) {
		/* Overwritten before this socket read it: say how much was
		 * missed and continue from the oldest byte still there. */
		uint64_t missed = rb_head(b) - s->peek[side];

		s->peek[side] = rb_head(b);
		errno = ENODATA;
		return missed > (uint64_t)SSIZE_MAX ? -SSIZE_MAX :
		       -(ssize_t)missed;
	}
	n = rb_read(b, s->peek[side], buf, len);
	if (n <= 0)
		return 0;
	s->peek[side] += (uint64_t)n;
	return (ssize_t)n;
}

ssize_t
mtcp_ppeek(mctx_t mctx, int sock, int side, char *buf, size_t count,
	   uint64_t off)
{
	struct core *c = api_core_own(mctx);
	struct sock *s = NULL;
	struct rb *b;
	int64_t n;
	int err;

	if (c == NULL)
		return -1;
	b = side_buffer(c, sock, side, ESOCKTNOSUPPORT, &s, &err);
	if (err == 0 && buf == NULL && count > 0)
		err = EINVAL;
	if (err != 0) {
		errno = err;
		return -1;
	}
	if (count == 0)
		return 0;
	if (b == NULL || (n = rb_read(b, off, buf, count)) <= 0) {
		errno = ENODATA;
		return -1;
	}
	return (ssize_t)n;
}
