/*
 * fuzz.h - shared by the fuzz targets of tests/fuzz/: the libFuzzer entry
 * point, a byte reader that decodes operations from the fuzz input (past
 * its end it yields zeros, so every input is a valid program), and the
 * check that stops a run when an invariant breaks (abort(), which
 * libFuzzer and ctest both report, with the failed condition).
 */
#ifndef MB_FUZZ_H
#define MB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline int
fuzz_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t v = fuzz_u8(in);

	return (uint16_t)(v << 8 | fuzz_u8(in));
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = fuzz_u16(in);

	return v << 16 | fuzz_u16(in);
}

#endif /* MB_FUZZ_H */
