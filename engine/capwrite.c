/*
 * capwrite.c - the -w output file (see capwrite.h), written through
 * libpcap's dumper into a large stdio buffer: one write(2) per megabyte,
 * not one per burst as net_pcap's dumper flushes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <rte_mbuf_dyn.h>
#include <rte_spinlock.h>

#include "capwrite.h"

#define CAPWRITE_BUF	(1u << 20)

struct capwrite {
	rte_spinlock_t lock;
	pcap_dumper_t *d;
	FILE *f;
	char *buf;		/* f's buffer */
	uint8_t *chain;		/* a chained frame, made contiguous */
	uint64_t last_us;	/* time stamp of the frame written last */
	uint32_t last_ns;	/* and its nanoseconds past last_us */
	uint8_t nano;		/* a nanosecond file */
	int err;		/* errno of the first failed write, or 0 */
};

struct capwrite *
capwrite_open(const char *path, int nano)
{
	struct capwrite *w = calloc(1, sizeof(*w));
	pcap_t *p;
	int e;

	if (w == NULL)
		return NULL;
	rte_spinlock_init(&w->lock);
	w->nano = nano != 0;
	w->buf = malloc(CAPWRITE_BUF);
	w->chain = malloc(CAPWRITE_SNAPLEN);
	if (strcmp(path, "-") == 0) {
		/* The standard output, as tcpdump -w - writes it. */
		int fd = dup(STDOUT_FILENO);

		w->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
		if (fd >= 0 && w->f == NULL)
			close(fd);
	} else {
		w->f = fopen(path, "wb");
	}
	if (w->buf == NULL || w->chain == NULL || w->f == NULL)
		goto fail;
	/* Before the first write: the dumper writes the file header at once. */
	setvbuf(w->f, w->buf, _IOFBF, CAPWRITE_BUF);
	p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, CAPWRITE_SNAPLEN,
		w->nano ? PCAP_TSTAMP_PRECISION_NANO :
			  PCAP_TSTAMP_PRECISION_MICRO);
	if (p == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	w->d = pcap_dump_fopen(p, w->f);
	pcap_close(p);
	if (w->d == NULL) {
		errno = EIO;
		goto fail;
	}
	return w;
fail:
	e = errno;
	if (w->f != NULL)
		fclose(w->f);
	free(w->chain);
	free(w->buf);
	free(w);
	errno = e;
	return NULL;
}

uint16_t
capwrite_burst(struct capwrite *w, const struct capmeta_fields *fl,
	       struct rte_mbuf **m, uint16_t n)
{
	struct pcap_pkthdr h;
	uint16_t i;

	rte_spinlock_lock(&w->lock);
	for (i = 0; i < n && w->err == 0; i++) {
		const struct rte_mbuf *b = m[i];
		const struct capmeta *cm = NULL;
		uint32_t len = rte_pktmbuf_pkt_len(b);
		const void *data;

		if (fl->meta_off >= 0 && (b->ol_flags & fl->meta_flag))
			cm = RTE_MBUF_DYNFIELD(b, fl->meta_off,
					       const struct capmeta *);
		if (fl->ts_off >= 0 && (b->ol_flags & fl->ts_flag)) {
			w->last_us = *RTE_MBUF_DYNFIELD(b, fl->ts_off,
							const uint64_t *);
			w->last_ns = cm != NULL ? cm->ns : 0;
		}
		h.ts.tv_sec = (time_t)(w->last_us / 1000000);
		/* In a nanosecond file the field holds nanoseconds. */
		h.ts.tv_usec = (suseconds_t)(w->last_us % 1000000);
		if (w->nano)
			h.ts.tv_usec = h.ts.tv_usec * 1000 + w->last_ns;
		/* What the input's capture left out of a frame stays out;
		 * its record keeps the length the frame had. */
		h.caplen = len < CAPWRITE_SNAPLEN ? len : CAPWRITE_SNAPLEN;
		h.len = cm != NULL && cm->cut <= UINT32_MAX - len ?
			len + cm->cut : len;
		/* A chain is copied into one piece. (caplen <= pkt_len, so
		 * this never fails; chains holding less than their length
		 * never get here: verdict() drops them.) */
		data = rte_pktmbuf_read(b, 0, h.caplen, w->chain);
		pcap_dump((u_char *)w->d, &h, data);
	}
	if (w->err == 0 && ferror(w->f))
		__atomic_store_n(&w->err, errno != 0 ? errno : EIO,
				 __ATOMIC_RELAXED);
	rte_spinlock_unlock(&w->lock);
	rte_pktmbuf_free_bulk(m, n);
	return n;
}

int
capwrite_failed(const struct capwrite *w)
{
	return __atomic_load_n(&w->err, __ATOMIC_RELAXED) != 0;
}

int
capwrite_close(struct capwrite *w)
{
	int err;

	if (w == NULL)
		return 0;
	err = w->err;
	if ((pcap_dump_flush(w->d) != 0 || ferror(w->f)) && err == 0)
		err = errno != 0 ? errno : EIO;
	pcap_dump_close(w->d);	/* closes f */
	free(w->chain);
	free(w->buf);
	free(w);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
