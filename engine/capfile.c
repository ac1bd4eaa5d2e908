/*
 * capfile.c - the offline input read straight from a capture file, through
 * a window (see capfile.h, capwin.h). net_pcap's reception through libpcap
 * cost 330 to 460 cycles a frame (two fread calls and three copies of the
 * frame each), more than the engine's work on the same frame in an
 * offline midstat run.
 *
 * What the frames look like is net_pcap's (DPDK 22.11, eth_pcap_rx): the
 * captured bytes, data_len and pkt_len the captured length, the receive
 * time stamp in microseconds, a frame longer than one buffer's room in a
 * chain of buffers. Records are read as libpcap reads them: in a classic
 * pcap file, a record longer than the file's snapshot length gives its
 * first snapshot-length bytes, and one beyond libpcap's largest (256 KiB)
 * or cut by the end of the file ends the input; pcapng files are read by
 * pcapng.c.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capfile.h"
#include "capwin.h"
#include "pcapng.h"

#define PCAP_HDR_LEN	24
#define PCAP_REC_LEN	16
#define PCAP_MAX_SNAP	262144u	/* libpcap's limit for Ethernet */
#define LINKTYPE_ETHERNET	1

struct capfile {
	struct capwin w;
	size_t off;		/* next record */
	uint32_t snaplen;
	uint8_t swap;		/* the file's byte order is not ours */
	uint8_t nsec;		/* time stamps in nanoseconds */
	uint8_t eof;
	uint8_t ng;		/* pcapng: the records are png's */
	uint64_t nombuf;
	struct pcapng png;
};


static inline uint32_t
rd32(const struct capfile *cf, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return cf->swap ? __builtin_bswap32(v) : v;
}

struct capfile *
capfile_open(const char *path)
{
	struct capfile *cf;
	struct stat sb;
	uint32_t magic, linktype;
	uint16_t major;
	const uint8_t *h;
	int fd;

	/* Not blocking: a named pipe (read by net_pcap, not here) would
	 * wait here for a new writer once its writer has gone. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < PCAP_HDR_LEN) {
		close(fd);
		return NULL;
	}
	cf = calloc(1, sizeof(*cf));
	if (cf == NULL || capwin_open(&cf->w, fd, (size_t)sb.st_size,
				      CAPWIN_SIZE) != 0) {
		free(cf);
		close(fd);
		return NULL;
	}
	h = capwin_at(&cf->w, 0, PCAP_HDR_LEN);
	if (h == NULL)
		goto other;
	memcpy(&magic, h, sizeof(magic));
	if (magic == PCAPNG_SHB) {
		if (pcapng_open(&cf->png, &cf->w) != 0)
			goto other;
		cf->ng = 1;
		return cf;
	}
	switch (magic) {
	case 0xa1b2c3d4:
		break;
	case 0xd4c3b2a1:
		cf->swap = 1;
		break;
	case 0xa1b23c4d:
		cf->nsec = 1;
		break;
	case 0x4d3cb2a1:
		cf->swap = 1;
		cf->nsec = 1;
		break;
	default:
		goto other;	/* a variant libpcap knows */
	}
	memcpy(&major, h + 4, sizeof(major));
	if (cf->swap)
		major = __builtin_bswap16(major);
	linktype = rd32(cf, h + 20);
	if (major != 2 || (linktype & 0xffff) != LINKTYPE_ETHERNET)
		goto other;
	cf->snaplen = rd32(cf, h + 16);
	if (cf->snaplen == 0 || cf->snaplen > PCAP_MAX_SNAP)
		cf->snaplen = PCAP_MAX_SNAP;
	cf->off = PCAP_HDR_LEN;
	return cf;
other:
	capfile_close(cf);
	return NULL;
}

/* Copy len bytes into m and buffers chained to it; 0, or -1 (m's chain
 * freed but m itself kept empty) when the pool ran out. Inlined in both
 * of capfile_rx's loops (called from two places, it was not: 15
 * instructions a frame more). */
static inline __attribute__((always_inline)) int
fill(struct rte_mempool *mp, struct rte_mbuf *m, const uint8_t *d,
     uint32_t len)
{
	struct rte_mbuf *seg = m;
	uint32_t n;

	for (;;) {
		n = rte_pktmbuf_tailroom(seg);
		if (n > len)
			n = len;
		memcpy(rte_pktmbuf_mtod(seg, uint8_t *), d, n);
		seg->data_len = (uint16_t)n;
		d += n;
		len -= n;
		if (len == 0)
			return 0;
		seg->next = rte_pktmbuf_alloc(mp);
		if (seg->next == NULL)
			break;
		seg = seg->next;
		/* A chained buffer needs no headroom. */
		seg->data_off = 0;
		m->nb_segs++;
	}
	if (m->next != NULL)
		rte_pktmbuf_free(m->next);
	m->next = NULL;
	m->nb_segs = 1;
	return -1;
}

/* The record whose header is at r, of caplen bytes, handed over (see
 * classic_next). */
static inline int
classic_rec(const struct capfile *cf, struct pcapng_rec *rc,
	    const uint8_t *r, uint32_t caplen)
{
	rc->data = r + PCAP_REC_LEN;
	rc->caplen = caplen < cf->snaplen ? caplen : cf->snaplen;
	rc->next = cf->off + PCAP_REC_LEN + caplen;
	return 1;
}

/* classic_next for a record the window does not hold whole: the window
 * moves (once every 256 KiB of the file). */
static __attribute__((noinline)) int
classic_load(struct capfile *cf, struct pcapng_rec *rc)
{
	const uint8_t *r = capwin_at(&cf->w, cf->off, PCAP_REC_LEN);
	uint32_t caplen;

	if (r == NULL)
		return 0;
	caplen = rd32(cf, r + 8);
	if (caplen > PCAP_MAX_SNAP)
		return 0;
	r = capwin_at(&cf->w, cf->off, PCAP_REC_LEN + caplen);
	if (r == NULL)
		return 0;	/* cut by the end of the file */
	return classic_rec(cf, rc, r, caplen);
}

/* The classic record at cf->off (in pcapng.c's form, its time stamp
 * left out); 0 at the end of the input. A record the window holds is
 * taken with one look at the window (two capwin_at calls cost 20
 * instructions a frame more than reading from a mapping did). */
static inline int
classic_next(struct capfile *cf, struct pcapng_rec *rc)
{
	size_t left = capwin_left(&cf->w, cf->off);
	const uint8_t *r;
	uint32_t caplen;

	if (likely(left >= PCAP_REC_LEN)) {
		r = cf->w.p + (cf->off - cf->w.off);
		caplen = rd32(cf, r + 8);
		if (likely(caplen <= left - PCAP_REC_LEN &&
			   caplen <= PCAP_MAX_SNAP))
			return classic_rec(cf, rc, r, caplen);
	}
	return classic_load(cf, rc);
}

/* The time stamp of the classic record whose bytes are at d (read after
 * the copy: kept across it, it cost 7 instructions a frame). */
static inline uint64_t
classic_us(const struct capfile *cf, const uint8_t *d)
{
	uint32_t sec = rd32(cf, d - PCAP_REC_LEN);
	uint32_t frac = rd32(cf, d - PCAP_REC_LEN + 4);

	return (uint64_t)sec * 1000000 + (cf->nsec ? frac / 1000 : frac);
}

/* The same record's capmeta: its length (which may exceed what it
 * holds) and the nanoseconds of a nanosecond file. */
static inline struct capmeta
classic_meta(const struct capfile *cf, const uint8_t *d, uint32_t caplen)
{
	uint32_t wire = rd32(cf, d - PCAP_REC_LEN + 12);

	return (struct capmeta){
		.cut = wire > caplen ? wire - caplen : 0,
		.ns = cf->nsec ? rd32(cf, d - PCAP_REC_LEN + 4) % 1000 : 0,
	};
}

/* capfile_rx's loop, made twice: for classic files and for pcapng (the
 * test per record cost the classic reader 11 instructions a frame). */
static inline __attribute__((always_inline)) uint16_t
rx_frames(struct capfile *cf, struct rte_mempool *mp,
	  const struct capmeta_fields *fl, struct rte_mbuf **out, uint16_t n,
	  const int ng)
{
	size_t *off = ng ? &cf->png.off : &cf->off;
	int ts_off = fl->ts_off, meta_off = fl->meta_off;
	uint64_t flags = (ts_off >= 0 ? fl->ts_flag : 0) |
			 (meta_off >= 0 ? fl->meta_flag : 0);
	uint16_t i, got = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = out[i];
		struct pcapng_rec rc;

		if (ng ? !pcapng_next(&cf->png, &rc) : !classic_next(cf, &rc)) {
			cf->eof = 1;
			break;
		}
		if (fill(mp, m, rc.data, rc.caplen) != 0) {
			cf->nombuf++;	/* the record is read again */
			break;
		}
		m->pkt_len = rc.caplen;
		if (ts_off >= 0)
			*RTE_MBUF_DYNFIELD(m, ts_off, uint64_t *) =
				ng ? rc.us : classic_us(cf, rc.data);
		if (meta_off >= 0)
			*RTE_MBUF_DYNFIELD(m, meta_off, struct capmeta *) =
				ng ? (struct capmeta){
					.cut = rc.wire > rc.caplen ?
					       rc.wire - rc.caplen : 0,
					.ns = rc.ns } :
				classic_meta(cf, rc.data, rc.caplen);
		m->ol_flags |= flags;
		*off = rc.next;
		got++;
	}
	return got;
}

uint16_t
capfile_rx(struct capfile *cf, struct rte_mempool *mp,
	   const struct capmeta_fields *fl, struct rte_mbuf **out, uint16_t n)
{
	uint16_t got;

	if (cf->eof)
		return 0;
	/* Fewer frames rather than none when the pool runs low. */
	while (n > 0 && rte_pktmbuf_alloc_bulk(mp, out, n) != 0)
		n /= 2;
	if (n == 0) {
		cf->nombuf++;
		return 0;
	}
	if (cf->ng)
		got = rx_frames(cf, mp, fl, out, n, 1);
	else
		got = rx_frames(cf, mp, fl, out, n, 0);
	/* The buffers not filled go back. */
	if (got < n)
		rte_pktmbuf_free_bulk(out + got, n - got);
	return got;
}

int
capfile_nsec(const struct capfile *cf)
{
	return cf->ng ? pcapng_nsec(&cf->png) : cf->nsec;
}

int
capfile_eof(const struct capfile *cf)
{
	return cf->eof;
}

double
capfile_progress(const struct capfile *cf)
{
	const size_t *off = cf->ng ? &cf->png.off : &cf->off;

	return (double)__atomic_load_n(off, __ATOMIC_RELAXED) /
	       (double)cf->w.size;
}

uint64_t
capfile_nombuf(const struct capfile *cf)
{
	return cf->nombuf;
}

void
capfile_close(struct capfile *cf)
{
	if (cf == NULL)
		return;
	pcapng_close(&cf->png);
	capwin_close(&cf->w);
	free(cf);
}
