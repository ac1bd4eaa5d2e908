/*
 * capwin.h - a capture file's bytes, read through a window: one buffer
 * that pread(2) fills from the file as the reader moves on.
 *
 * The offline input (capfile.c, pcapng.c) used to map the whole file and
 * hand its pages back every 4 MiB. On a 243 MB capture the page faults,
 * the unmapping and its TLB shootdowns took about a third of the
 * reception's cycles (perf: 12 % of the worker's time); read into one
 * buffer that stays in the caches, reception took 234 cycles a frame
 * instead of 346 (medians of ten offline midstat passes each) and no page
 * of the file counts in the process's resident memory. The buffer's size
 * is the one that fits the core's own cache (L2: 512 KiB on this AMD
 * host): 245 cycles a frame with 4 MiB, 180 with 1 MiB, 168 with 256 KiB
 * (medians of eight alternating passes); 64 and 128 KiB did no better.
 *
 * A window may also be a whole file already in memory (capwin_mem), as
 * the fuzz target hands one over.
 */
#ifndef MB_CAPWIN_H
#define MB_CAPWIN_H

#include <stddef.h>
#include <stdint.h>

#define CAPWIN_SIZE	(256u << 10)	/* the buffer's usual size */

struct capwin {
	const uint8_t *p;	/* the file's bytes [off, off + len) */
	size_t off;
	size_t len;
	size_t size;		/* the file's size when it was opened */
	uint8_t *buf;		/* owned; NULL for a file in memory */
	size_t cap;		/* buf's size (it grows for a larger read) */
	int fd;			/* -1 for a file in memory */
};

/* Read fd (a regular file of size bytes, now the window's) through a
 * buffer of cap bytes; 0, or -1 (no memory; fd left open). */
int
capwin_open(struct capwin *w, int fd, size_t size, size_t cap);

/* The size bytes at data, which must outlive the window. */
void
capwin_mem(struct capwin *w, const uint8_t *data, size_t size);

/* The window moved to hold the n bytes at offset off: their address, or
 * NULL if the file holds fewer (or the read failed, or no memory for a
 * larger buffer). Kept out of line: inlined into capwin_at, it made
 * capwin_at too large for the profile build to inline (54 instructions a
 * frame more than reading from a mapping). */
__attribute__((noinline, cold)) const uint8_t *
capwin_load(struct capwin *w, size_t off, size_t n);

/* The n bytes at offset off, or NULL as capwin_load. The address holds
 * until the next call for bytes outside the window. */
static inline __attribute__((always_inline)) const uint8_t *
capwin_at(struct capwin *w, size_t off, size_t n)
{
	size_t d = off - w->off;

	if (off >= w->off && d <= w->len && n <= w->len - d)
		return w->p + d;
	return capwin_load(w, off, n);
}

/* How many of the file's bytes from offset off on the window holds (0 if
 * off is outside it). */
static inline size_t
capwin_left(const struct capwin *w, size_t off)
{
	size_t d = off - w->off;

	return off >= w->off && d <= w->len ? w->len - d : 0;
}

/* Closes the file (of capwin_open) and frees the buffer. */
void
capwin_close(struct capwin *w);

#endif /* MB_CAPWIN_H */
