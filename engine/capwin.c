/*
 * capwin.c - the window's slow path: moving on through the file (see
 * capwin.h). Called once a window's worth of records, so it may copy and
 * read; only a read larger than the buffer (a pcapng block of up to
 * 16 MiB) allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capwin.h"

int
capwin_open(struct capwin *w, int fd, size_t size, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = malloc(cap);
	if (w->buf == NULL)
		return -1;
	w->p = w->buf;
	w->cap = cap;
	w->size = size;
	w->fd = fd;
	/* Read once, front to back: let the kernel read ahead. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

void
capwin_mem(struct capwin *w, const uint8_t *data, size_t size)
{
	memset(w, 0, sizeof(*w));
	w->p = data;
	w->len = size;
	w->size = size;
	w->fd = -1;
}

/* A buffer of at least n bytes (realloc keeps what the window holds). */
static int
grow(struct capwin *w, size_t n)
{
	uint8_t *b;

	if (n <= w->cap)
		return 0;
	b = realloc(w->buf, n);
	if (b == NULL)
		return -1;
	w->buf = b;
	w->p = b;
	w->cap = n;
	return 0;
}

const uint8_t *
capwin_load(struct capwin *w, size_t off, size_t n)
{
	size_t keep = 0, want;
	ssize_t r;

	if (off > w->size || n > w->size - off || w->fd < 0)
		return NULL;
	/* What the window holds from off on moves to the front; the rest
	 * (a look back, as pcapng_nsec's) is read again. */
	if (off >= w->off && off - w->off < w->len) {
		keep = w->len - (off - w->off);
		if (off != w->off)
			memmove(w->buf, w->buf + (off - w->off), keep);
	}
	w->off = off;
	w->len = keep;
	if (grow(w, n) != 0)
		return NULL;
	want = w->size - off < w->cap ? w->size - off : w->cap;
	while (w->len < want) {
		r = pread(w->fd, w->buf + w->len, want - w->len,
			  (off_t)(off + w->len));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* a read error, or the file cut short */
		w->len += (size_t)r;
	}
	return n <= w->len ? w->p : NULL;
}

void
capwin_close(struct capwin *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	free(w->buf);
	w->buf = NULL;
	w->p = NULL;
	w->len = 0;
}
