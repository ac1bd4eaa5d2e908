/*
 * fuzz_pcapng.c - fuzz target of the pcapng reader (engine/pcapng.c) and
 * of the window it reads through (engine/capwin.c): the input is a whole
 * file.
 *
 * It is read twice. First from a buffer of exactly its size (a window
 * that holds the whole file), so AddressSanitizer reports any read past
 * the file, and every packet handed over is checked to lie inside the
 * file, after the block before it, within the largest frame -r takes, and
 * the reading to end (each packet consumes at least one block of 12 bytes
 * or more). Then from a file through a window of a few dozen bytes, which
 * must move and grow for almost every block: the same packets, byte for
 * byte, must come out. pcapng_nsec's look ahead runs first in both.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "capwin.h"
#include "pcapng.h"

static volatile uint8_t sink;	/* keeps the reads of packet bytes */

struct seen {
	struct pcapng_rec r;
	size_t off;		/* where r.data's bytes are in the file */
};

/* The input in a file of its own (one, reused), or -1. */
static int
as_file(const uint8_t *data, size_t size)
{
	static int fd = -2;

	if (fd == -2)
		fd = memfd_create("fuzz_pcapng", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) != 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		return -1;
	return dup(fd);
}

/* The packets of the file through a small window; each is checked
 * against the one read from memory. */
static void
through_window(const uint8_t *f, size_t size, int opened, int nsec,
	       const struct seen *s, size_t n)
{
	struct capwin w;
	struct pcapng ng;
	struct pcapng_rec r;
	size_t i = 0;
	int fd = as_file(f, size);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(capwin_open(&w, fd, size, 16 + size % 53) == 0);
	FUZZ_CHECK((pcapng_open(&ng, &w) == 0) == opened);
	if (opened) {
		FUZZ_CHECK(pcapng_nsec(&ng) == nsec);
		while (pcapng_next(&ng, &r)) {
			FUZZ_CHECK(i < n);
			FUZZ_CHECK(r.caplen == s[i].r.caplen &&
				   r.wire == s[i].r.wire && r.us == s[i].r.us &&
				   r.ns == s[i].r.ns && r.next == s[i].r.next);
			FUZZ_CHECK(memcmp(r.data, f + s[i].off, r.caplen) == 0);
			ng.off = r.next;
			i++;
		}
		FUZZ_CHECK(i == n);
		pcapng_close(&ng);
	}
	capwin_close(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size ? size : 1);
	struct seen *s = malloc((size / 12 + 1) * sizeof(*s));
	struct capwin w;
	struct pcapng ng;
	struct pcapng_rec r;
	size_t n = 0, last;
	int opened, nsec = 0;

	FUZZ_CHECK(f != NULL && s != NULL);
	memcpy(f, data, size);
	capwin_mem(&w, f, size);
	opened = pcapng_open(&ng, &w) == 0;
	if (opened) {
		FUZZ_CHECK(ng.nif == 1 && ng.off <= size);
		last = ng.off;
		/* Its look ahead reads the blocks after the first IDB and
		 * leaves the reader where it was. */
		nsec = pcapng_nsec(&ng);
		FUZZ_CHECK(ng.off == last && ng.nif == 1);
		while (pcapng_next(&ng, &r)) {
			FUZZ_CHECK(r.data >= f + last && r.caplen <= 262144);
			FUZZ_CHECK(r.ns < 1000);
			FUZZ_CHECK((size_t)(r.data - f) + r.caplen <= r.next);
			FUZZ_CHECK(r.next <= size && r.next >= last + 12);
			FUZZ_CHECK(ng.off < r.next);
			/* Read the packet as -r copies it (ASan checks). */
			for (uint32_t i = 0; i < r.caplen; i++)
				sink ^= r.data[i];
			FUZZ_CHECK(++n <= size / 12);
			s[n - 1] = (struct seen){ r, (size_t)(r.data - f) };
			ng.off = r.next;
			last = r.next;
		}
		/* The end is for good. */
		FUZZ_CHECK(!pcapng_next(&ng, &r));
		pcapng_close(&ng);
	}
	capwin_close(&w);
	through_window(f, size, opened, nsec, s, n);
	free(s);
	free(f);
	return 0;
}
