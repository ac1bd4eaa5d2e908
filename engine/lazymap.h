/*
 * lazymap.h - large tables that cost memory only for the pages traffic
 * touches: anonymous, unreserved mappings, with transparent huge pages
 * advised (they spare a TLB miss per access to a big table; a table hit at
 * random then becomes resident by 2 MiB regions; without THP the advice
 * fails harmlessly).
 */
#ifndef MB_LAZYMAP_H
#define MB_LAZYMAP_H

#include <stddef.h>
#include <sys/mman.h>

static inline void *
lazymap(size_t sz)
{
	void *m = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	(void)madvise(m, sz, MADV_HUGEPAGE);
	return m;
}

#endif /* MB_LAZYMAP_H */
