/*
 * timer.c - the user-timer heap (see timer.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "timer.h"

void
timers_init(struct timers *t)
{
	t->h = NULL;
	t->n = 0;
	t->cap = 0;
	t->seq = 0;
}

void
timers_free(struct timers *t)
{
	free(t->h);
	timers_init(t);
}

static int
before(const struct utimer *a, const struct utimer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

int
timers_add(struct timers *t, const struct utimer *u)
{
	uint32_t i;

	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		struct utimer *h = realloc(t->h, sizeof(*h) * cap);

		if (h == NULL)
			return -ENOMEM;
		t->h = h;
		t->cap = cap;
	}
	i = t->n++;
	t->h[i] = *u;
	t->h[i].seq = t->seq++;
	while (i > 0 && before(&t->h[i], &t->h[(i - 1) / 2])) {
		struct utimer tmp = t->h[i];

		t->h[i] = t->h[(i - 1) / 2];
		t->h[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
	return 0;
}

void
timers_rebase(struct timers *t, uint64_t delta)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		t->h[i].deadline = timers_after(t->h[i].deadline, delta);
}

static void
sift_down(struct timers *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		struct utimer tmp;

		if (l < t->n && before(&t->h[l], &t->h[m]))
			m = l;
		if (r < t->n && before(&t->h[r], &t->h[m]))
			m = r;
		if (m == i)
			break;
		tmp = t->h[i];
		t->h[i] = t->h[m];
		t->h[m] = tmp;
		i = m;
	}
}

int
timers_pop_due(struct timers *t, uint64_t now, struct utimer *out)
{
	if (t->n == 0 || t->h[0].deadline > now)
		return 0;
	*out = t->h[0];
	t->h[0] = t->h[--t->n];
	sift_down(t, 0);
	return 1;
}

uint32_t
timers_drop_lua(struct timers *t, int32_t lo, int32_t hi)
{
	uint32_t i, n = 0, dropped;

	for (i = 0; i < t->n; i++)
		if (t->h[i].lua < lo || t->h[i].lua >= hi)
			t->h[n++] = t->h[i];
	dropped = t->n - n;
	t->n = n;
	/* Rebuild the heap; (deadline, seq) orders it as before. */
	for (i = n / 2; i-- > 0;)
		sift_down(t, i);
	return dropped;
}
