/*
 * lazymap.h - large tables that cost memory only for the pages traffic
 * touches: anonymous, unreserved mappings, with transparent huge pages
 * advised (they spare a TLB miss per access to a big table; a table hit at
 * random then becomes resident by 2 MiB regions; without THP the advice
 * fails harmlessly).
 *
 * A table of 2 MiB or more is placed on a 2 MiB boundary and rounded up to
 * whole 2 MiB regions: the kernel backs with a huge page only a region the
 * mapping covers whole, so an unaligned 4 MiB flow index got one huge page
 * and 2 MiB of small ones (a time profile put a first SYN's bucket prefetch
 * among the costliest instructions: a page walk).
 */
#ifndef MB_LAZYMAP_H
#define MB_LAZYMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define LAZYMAP_HUGE	((size_t)2 << 20)

/* The bytes a table of sz bytes occupies (what lazyunmap releases). */
static inline size_t
lazymap_len(size_t sz)
{
	if (sz < LAZYMAP_HUGE)
		return sz;
	return (sz + LAZYMAP_HUGE - 1) & ~(LAZYMAP_HUGE - 1);
}

static inline void *
lazymap(size_t sz)
{
	size_t len = lazymap_len(sz), extra = len == sz ? 0 : LAZYMAP_HUGE;
	uint8_t *m = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *a;

	if (m == MAP_FAILED)
		return NULL;
	if (extra != 0) {
		/* Keep the aligned len bytes, return the rest. */
		a = (uint8_t *)(((uintptr_t)m + LAZYMAP_HUGE - 1) &
				~(uintptr_t)(LAZYMAP_HUGE - 1));
		if (a != m)
			(void)munmap(m, (size_t)(a - m));
		(void)munmap(a + len, (size_t)(m + len + extra - (a + len)));
		m = a;
	}
	(void)madvise(m, len, MADV_HUGEPAGE);
	return m;
}

static inline void
lazyunmap(void *m, size_t sz)
{
	if (m != NULL)
		(void)munmap(m, lazymap_len(sz));
}

#endif /* MB_LAZYMAP_H */
