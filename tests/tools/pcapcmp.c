/*
 * pcapcmp.c - compare two captures frame by frame: captured bytes only,
 * not timestamps nor wire lengths, so a microsecond input and net_pcap's
 * nanosecond output of the same frames are equal (lib.sh's same_times
 * compares time stamps), in order: moonbox -c N writes a file's frames in
 * the order it read them.
 * Exit status: 0 identical, 1 different (one line says where first),
 * 2 usage or file error.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct cap {
	const char *path;
	pcap_t *pc;
	uint64_t n;		/* frames read so far */
};

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: pcapcmp A.pcap B.pcap\n"
"Compare the captured bytes of two captures frame by frame (timestamps are\n"
"ignored; microsecond and nanosecond files compare equal).\n"
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
compare(struct cap *a, struct cap *b)
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

int
main(int argc, char **argv)
{
	struct cap a, b;
	int ret;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	if (cap_open(&a, argv[1]) < 0)
		return 2;
	if (cap_open(&b, argv[2]) < 0) {
		pcap_close(a.pc);
		return 2;
	}
	if (pcap_datalink(a.pc) != pcap_datalink(b.pc)) {
		printf("link types differ: %s vs %s\n",
		       pcap_datalink_val_to_name(pcap_datalink(a.pc)),
		       pcap_datalink_val_to_name(pcap_datalink(b.pc)));
		ret = 1;
	} else {
		ret = compare(&a, &b);
	}
	pcap_close(a.pc);
	pcap_close(b.pc);
	return ret;
}
