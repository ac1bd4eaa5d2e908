/*
 * fuzz_pcapng.c - fuzz target of the pcapng reader (engine/pcapng.c): the
 * input is a whole file. It is copied into a buffer of exactly its size,
 * so AddressSanitizer reports any read past the file, and every packet
 * handed over is checked to lie inside the file, after the block before
 * it, within the largest frame -r takes, and the reading to end (each
 * packet consumes at least one block of 12 bytes or more). pcapng_nsec's
 * look ahead runs first.
 */
#include <string.h>

#include "fuzz.h"
#include "pcapng.h"

static volatile uint8_t sink;	/* keeps the reads of packet bytes */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size ? size : 1);
	struct pcapng ng;
	struct pcapng_rec r;
	size_t n = 0, last;

	FUZZ_CHECK(f != NULL);
	memcpy(f, data, size);
	if (pcapng_open(&ng, f, size) == 0) {
		FUZZ_CHECK(ng.nif == 1 && ng.off <= size);
		last = ng.off;
		/* Its look ahead reads the blocks after the first IDB and
		 * leaves the reader where it was. */
		sink ^= (uint8_t)pcapng_nsec(&ng);
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
			ng.off = r.next;
			last = r.next;
			FUZZ_CHECK(++n <= size / 12);
		}
		/* The end is for good. */
		FUZZ_CHECK(!pcapng_next(&ng, &r));
		pcapng_close(&ng);
	}
	free(f);
	return 0;
}
