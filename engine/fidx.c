/*
 * fidx.c - the flow index's sizing, insertion and deletion (fidx.h).
 *
 * The buckets are a lazy mapping (lazymap.h): a table sized for millions
 * of flows costs memory only for the pages its keys touched.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fidx.h"
#include "lazymap.h"

int
fidx_init(struct fidx *x, uint32_t max)
{
	uint64_t nb = ((uint64_t)max * 5 / 4 + FIDX_WAYS - 1) / FIDX_WAYS;
	memset(x, 0, sizeof(*x));
	if (nb < 2)
		nb = 2;
	if (nb > UINT32_MAX / 2)
		return -EINVAL;
	/* Sized first: fidx_destroy unmaps by it. */
	x->nb = (uint32_t)nb;
	x->b = lazymap(nb * sizeof(*x->b));
	x->ovf = lazymap(nb * sizeof(*x->ovf));
	if (x->b == NULL || x->ovf == NULL) {
		fidx_destroy(x);
		return -ENOMEM;
	}
	x->max = max;
	return 0;
}

void
fidx_destroy(struct fidx *x)
{
	lazyunmap(x->b, (size_t)x->nb * sizeof(*x->b));
	lazyunmap(x->ovf, (size_t)x->nb * sizeof(*x->ovf));
	memset(x, 0, sizeof(*x));
}

int
fidx_add(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash,
	 uint32_t val)
{
	uint32_t passed;
	struct fidx_ent *e;

	e = fidx_find(x, ips, ports, hash, &passed);
	if (val == FIDX_NONE)
		return -EINVAL;
	if (e != NULL) {
		e->val = val + 1;
		return 0;
	}
	return fidx_insert(x, ips, ports, hash, val);
}

int
fidx_insert(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash,
	    uint32_t val)
{
	uint32_t i, b, n;

	if (val == FIDX_NONE)
		return -EINVAL;
	if (x->n >= x->max)
		return -ENOSPC;
	/* There is room (n < max < 80 % of it), so this ends. */
	for (b = fidx_home(x, hash), n = 0;; n++) {
		struct fidx_bucket *bk = &x->b[b];

		for (i = 0; i < FIDX_WAYS; i++)
			if (bk->e[i].val == 0)
				break;
		if (i < FIDX_WAYS) {
			bk->e[i] = (struct fidx_ent){ ips, ports, val + 1 };
			break;
		}
		if (++b == x->nb)
			b = 0;
	}
	for (b = fidx_home(x, hash); n > 0; n--) {
		x->ovf[b]++;
		if (++b == x->nb)
			b = 0;
	}
	x->n++;
	return 0;
}

void
fidx_del(struct fidx *x, uint64_t ips, uint32_t ports, uint32_t hash)
{
	uint32_t b, passed;
	struct fidx_ent *e;

	e = fidx_find(x, ips, ports, hash, &passed);
	if (e == NULL)
		return;
	*e = (struct fidx_ent){ 0, 0, 0 };
	for (b = fidx_home(x, hash); passed > 0; passed--) {
		x->ovf[b]--;
		if (++b == x->nb)
			b = 0;
	}
	x->n--;
}
