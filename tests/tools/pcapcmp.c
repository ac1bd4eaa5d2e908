/*
 * pcapcmp.c - compare two captures frame by frame: captured bytes only,
 * not timestamps nor wire lengths, so a microsecond input and net_pcap's
 * nanosecond output of the same frames are equal (lib.sh's same_times
 * compares time stamps).
 *
 * With --ignore-order the captures are compared as multisets of frames,
 * for multi-core runs that forward the same frames in another order.
 * Exit status: 0 identical, 1 different (one line says where first),
 * 2 usage or file error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cap {
	const char *path;
	pcap_t *pc;
	uint64_t n;		/* frames read so far */
};

/* A frame kept for --ignore-order: its bytes are at data[off]. */
struct frame {
	uint64_t hash;
	uint64_t off;
	uint64_t num;		/* 1-based position in its capture */
	uint32_t len;
};

struct store {
	struct frame *v;
	uint64_t n;
	uint64_t cap;
	uint8_t *data;
	uint64_t size;
	uint64_t used;
	const char *path;
};

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: pcapcmp [--ignore-order] A.pcap B.pcap\n"
"Compare the captured bytes of two captures frame by frame (timestamps are\n"
"ignored; microsecond and nanosecond files compare equal).\n"
"  --ignore-order  compare as multisets of frames\n"
"Exit status: 0 identical, 1 different, 2 usage or file error.\n");
}

static int
cap_open(struct cap *c, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];

	c->path = path;
	c->n = 0;
	c->pc = pcap_open_offline_with_tstamp_precision(path,
		PCAP_TSTAMP_PRECISION_NANO, err);
	if (c->pc == NULL) {
		/* libpcap names the file in some messages only. */
		if (strstr(err, path) != NULL)
			fprintf(stderr, "pcapcmp: %s\n", err);
		else
			fprintf(stderr, "pcapcmp: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

/* 1 and a frame, 0 at the end, -1 on a read error. */
static int
cap_next(struct cap *c, const uint8_t **data, uint32_t *len)
{
	struct pcap_pkthdr *h;
	int rc = pcap_next_ex(c->pc, &h, data);

	if (rc == 1) {
		c->n++;
		*len = h->caplen;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	fprintf(stderr, "pcapcmp: %s: %s\n", c->path, pcap_geterr(c->pc));
	return -1;
}

static int
compare_ordered(struct cap *a, struct cap *b)
{
	for (;;) {
		const uint8_t *da, *db;
		uint32_t la, lb, i, n;
		int ra = cap_next(a, &da, &la), rb;

		if (ra < 0)
			return 2;
		rb = cap_next(b, &db, &lb);
		if (rb < 0)
			return 2;
		if (ra == 0 && rb == 0)
			return 0;
		if (ra == 0 || rb == 0) {
			struct cap *more = ra ? a : b;
			int r;

			/* Read on to report both counts. */
			while ((r = cap_next(more, &da, &la)) == 1)
				;
			if (r < 0)
				return 2;
			printf("frame count differs: %s has %" PRIu64 " frames, "
			       "%s has %" PRIu64 "\n", a->path, a->n, b->path,
			       b->n);
			return 1;
		}
		n = la < lb ? la : lb;
		for (i = 0; i < n && da[i] == db[i]; i++)
			;
		if (i < n) {
			printf("frame %" PRIu64 " differs at offset %u: "
			       "0x%02x vs 0x%02x\n", a->n, i, da[i], db[i]);
			return 1;
		}
		if (la != lb) {
			printf("frame %" PRIu64 " differs in length: %u vs %u "
			       "bytes\n", a->n, la, lb);
			return 1;
		}
	}
}

static uint64_t
fnv1a(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int
store_add(struct store *s, const uint8_t *p, uint32_t len, uint64_t num)
{
	if (s->n == s->cap) {
		void *v;

		s->cap = s->cap ? s->cap * 2 : 4096;
		v = realloc(s->v, s->cap * sizeof(*s->v));
		if (v == NULL)
			return -1;
		s->v = v;
	}
	if (s->used + len > s->size) {
		void *d;
		uint64_t size = s->size ? s->size : 1 << 20;

		while (size < s->used + len)
			size *= 2;
		d = realloc(s->data, size);
		if (d == NULL)
			return -1;
		s->data = d;
		s->size = size;
	}
	memcpy(s->data + s->used, p, len);
	s->v[s->n] = (struct frame){ .hash = fnv1a(p, len), .off = s->used,
				      .num = num, .len = len };
	s->used += len;
	s->n++;
	return 0;
}

static const struct store *sort_store;

static int
frame_order(const struct frame *x, const uint8_t *dx, const struct frame *y,
	    const uint8_t *dy)
{
	int c;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(dx + x->off, dy + y->off, x->len);
	return c;
}

static int
cmp_frames(const void *a, const void *b)
{
	const struct frame *x = a, *y = b;
	int c = frame_order(x, sort_store->data, y, sort_store->data);

	if (c != 0)
		return c;
	return x->num < y->num ? -1 : x->num > y->num;
}

static int
load(struct cap *c, struct store *s)
{
	const uint8_t *d;
	uint32_t len;
	int rc;

	s->path = c->path;
	while ((rc = cap_next(c, &d, &len)) == 1) {
		if (store_add(s, d, len, c->n) < 0) {
			fprintf(stderr, "pcapcmp: out of memory\n");
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	sort_store = s;
	qsort(s->v, s->n, sizeof(*s->v), cmp_frames);
	return 0;
}

static int
compare_unordered(struct cap *a, struct cap *b)
{
	struct store sa = { 0 }, sb = { 0 };
	uint64_t i = 0, j = 0;
	int ret = 0;

	if (load(a, &sa) < 0 || load(b, &sb) < 0) {
		ret = 2;
		goto out;
	}
	/* Walk both sorted lists; the first frame found on one side only is
	 * the one reported. */
	while (i < sa.n || j < sb.n) {
		int c;

		if (i == sa.n)
			c = 1;
		else if (j == sb.n)
			c = -1;
		else
			c = frame_order(&sa.v[i], sa.data, &sb.v[j], sb.data);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		if (c < 0)
			printf("frame %" PRIu64 " of %s (%u bytes) is not in %s"
			       " (%" PRIu64 " vs %" PRIu64 " frames)\n",
			       sa.v[i].num, sa.path, sa.v[i].len, sb.path,
			       sa.n, sb.n);
		else
			printf("frame %" PRIu64 " of %s (%u bytes) is not in %s"
			       " (%" PRIu64 " vs %" PRIu64 " frames)\n",
			       sb.v[j].num, sb.path, sb.v[j].len, sa.path,
			       sb.n, sa.n);
		ret = 1;
		break;
	}
out:
	free(sa.v);
	free(sa.data);
	free(sb.v);
	free(sb.data);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ignore-order", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cap a, b;
	int c, unordered = 0, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			unordered = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (cap_open(&a, argv[optind]) < 0)
		return 2;
	if (cap_open(&b, argv[optind + 1]) < 0) {
		pcap_close(a.pc);
		return 2;
	}
	if (pcap_datalink(a.pc) != pcap_datalink(b.pc)) {
		printf("link types differ: %s vs %s\n",
		       pcap_datalink_val_to_name(pcap_datalink(a.pc)),
		       pcap_datalink_val_to_name(pcap_datalink(b.pc)));
		ret = 1;
	} else if (unordered) {
		ret = compare_unordered(&a, &b);
	} else {
		ret = compare_ordered(&a, &b);
	}
	pcap_close(a.pc);
	pcap_close(b.pc);
	return ret;
}
