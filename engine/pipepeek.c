/*
 * pipepeek.c - the link type of a capture on a pipe (see pipepeek.h).
 *
 * A regular file (redirected to the standard input) is read with pread,
 * which leaves its offset where it was. For a pipe, tee(2) copies what
 * it holds into another pipe without consuming it; each call copies from
 * the head of the stream again, so waiting for more of a header that
 * came in pieces means calling it again a little later, until the writer
 * has written enough or closed its end.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pcapng.h"
#include "pipepeek.h"

#define PEEK_MAX	(64u << 10)	/* bytes looked at, at most */

static uint32_t
rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t
rd16(const uint8_t *p, int swap)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swap ? __builtin_bswap16(v) : v;
}

/* The link type in the first n bytes of a stream: >= 0; -1 if they are
 * not the head of a capture; -2 - k when the first k bytes are needed. */
static long
linktype_in(const uint8_t *b, size_t n)
{
	uint32_t magic, len, type;
	size_t off;
	int swap;

	if (n < 12)
		return -2 - 12;
	memcpy(&magic, b, sizeof(magic));
	switch (magic) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
	case 0xd4c3b2a1:
	case 0x4d3cb2a1:
		if (n < 24)
			return -2 - 24;
		swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
		return rd32(b + 20, swap) & 0xffff;
	case PCAPNG_SHB:
		break;
	default:
		return -1;
	}
	/* pcapng: the section header, then blocks up to the first
	 * interface description, whose first field is the link type. */
	if (rd32(b + 8, 0) == PCAPNG_BOM)
		swap = 0;
	else if (rd32(b + 8, 1) == PCAPNG_BOM)
		swap = 1;
	else
		return -1;
	for (off = 0;; off += len) {
		if (n - off < 12)
			return -2 - (long)(off + 12);
		type = rd32(b + off, swap);
		len = rd32(b + off + 4, swap);
		if (off != 0 && type == PCAPNG_IDB)
			return rd16(b + off + 8, swap);
		if (len < 12 || len % 4 != 0 || len > PEEK_MAX - off ||
		    (off == 0) != (type == PCAPNG_SHB))
			return -1;
		if (n < off + len)
			return -2 - (long)(off + len + 12);
	}
}

int
pipepeek_linktype(int fd, const volatile int *stop)
{
	struct timespec ms = { 0, 1000 * 1000 };
	size_t want = 24;
	uint8_t *buf = NULL;
	int p[2], ret = -1, closed = 0;
	struct stat sb;
	ssize_t n;
	long lt;

	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		/* A file on the standard input: pread leaves its offset
		 * (where libpcap starts reading). */
		off_t at = lseek(fd, 0, SEEK_CUR);

		buf = malloc(PEEK_MAX);
		n = buf != NULL && at >= 0 ? pread(fd, buf, PEEK_MAX, at) : -1;
		lt = n > 0 ? linktype_in(buf, (size_t)n) : -1;
		free(buf);
		return lt >= 0 ? (int)lt : -1;
	}
	if (pipe(p) != 0)
		return -1;
	/* Our pipe must hold all that is copied at once. */
	if (fcntl(p[1], F_SETPIPE_SZ, PEEK_MAX) < 0)
		goto out;
	buf = malloc(PEEK_MAX);
	if (buf == NULL)
		goto out;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		size_t got = 0;

		/* A signal ends a waiting tee unless its handler restarts
		 * it (moonbox's start-up handler does not). */
		n = tee(fd, p[1], want, 0);
		if (n <= 0)
			goto out;	/* not a pipe, or empty and closed */
		while (got < (size_t)n) {
			ssize_t r = read(p[0], buf + got, (size_t)n - got);

			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		lt = linktype_in(buf, got);
		if (lt > -2) {
			ret = lt >= 0 ? (int)lt : -1;
			goto out;
		}
		want = (size_t)(-2 - lt);
		if (want > PEEK_MAX || closed || *stop)
			goto out;
		/* The writer has not written that much yet; once it has
		 * closed its end, one more look sees all there is. */
		if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP))
			closed = 1;
		else
			nanosleep(&ms, NULL);
	}
out:
	free(buf);
	close(p[0]);
	close(p[1]);
	return ret;
}
