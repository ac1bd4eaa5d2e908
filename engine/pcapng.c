/*
 * pcapng.c - the packets of a pcapng file, as libpcap reads them (see
 * pcapng.h). Every check libpcap 1.10 makes is made here, so
 * that a damaged or hostile file ends the input where libpcap's reader
 * would fail (plus one: no packet over 256 KiB); every length is checked
 * against the block and the block against the file before anything is
 * read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

/* Packet block types (PCAPNG_IDB is in pcapng.h). */
#define BT_PB		2u
#define BT_SPB		3u
#define BT_EPB		6u

#define LINKTYPE_ETHERNET	1u
#define MAX_SNAP	262144u		/* libpcap's largest Ethernet frame */
#define SHB_MAX		(1u << 20)	/* libpcap's limit for the first SHB */
#define BLOCK_MAX	(16u << 20)	/* and for any other block */
#define US		1000000u	/* the resolution net_pcap asks for */
#define NSEC_LOOK_BLOCKS 256u		/* pcapng_nsec's look ahead */

#define OPT_END		0
#define IF_TSRESOL	9
#define IF_TSOFFSET	14

enum { SC_PASS, SC_UP_DEC, SC_DOWN_DEC, SC_BIN };

static inline uint16_t
rd16(const struct pcapng *ng, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return ng->swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t
rd32(const struct pcapng *ng, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ng->swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t
rd64(const struct pcapng *ng, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return ng->swap ? __builtin_bswap64(v) : v;
}

/* The snapshot length libpcap 1.10 works with (pcap_adjust_snapshot):
 * only a length of 0 or over INT_MAX is replaced. */
static uint32_t
adjust_snap(uint32_t snaplen)
{
	return snaplen == 0 || snaplen > INT32_MAX ? MAX_SNAP : snaplen;
}

/* The next block at ng->off, consumed: its type and body (the bytes
 * between its length and its trailer); 0 at the end of the file or where
 * libpcap's read_block fails. */
static int
next_block(struct pcapng *ng, uint32_t *type, const uint8_t **body,
	   uint32_t *blen)
{
	const uint8_t *b = capwin_at(ng->w, ng->off, 8);
	uint32_t tl;

	if (b == NULL)
		return 0;	/* the end, or a header cut short */
	*type = rd32(ng, b);
	tl = rd32(ng, b + 4);
	if (tl < 12 || tl % 4 != 0 || tl > BLOCK_MAX)
		return 0;
	b = capwin_at(ng->w, ng->off, tl);
	if (b == NULL || rd32(ng, b + tl - 4) != tl)
		return 0;	/* past the end of the file, or damaged */
	*body = b + 8;
	*blen = tl - 12;
	ng->blk = ng->off;
	ng->off += tl;
	return 1;
}

/* The time stamp options of an Interface Description Block (its body
 * after the fixed part); -1 where libpcap's process_idb_options fails. */
static int
idb_options(const struct pcapng *ng, const uint8_t *o, uint32_t left,
	    struct pcapng_if *i)
{
	int saw_res = 0, saw_off = 0, binary = 0;
	uint8_t res;

	i->tsresol = US;
	i->tsoffset = 0;
	while (left != 0) {
		uint16_t code, olen;
		uint32_t padded;

		if (left < 4)
			return -1;
		code = rd16(ng, o);
		olen = rd16(ng, o + 2);
		padded = ((uint32_t)olen + 3) / 4 * 4;
		if (left - 4 < padded)
			return -1;
		o += 4;
		left -= 4;
		if (code == OPT_END) {
			if (olen != 0)
				return -1;
			break;
		}
		if (code == IF_TSRESOL) {
			if (olen != 1 || saw_res)
				return -1;
			saw_res = 1;
			res = o[0];
			if (res & 0x80) {
				if ((res & 0x7f) > 63)
					return -1;
				binary = 1;
				i->tsresol = UINT64_C(1) << (res & 0x7f);
			} else {
				if (res > 19)
					return -1;
				binary = 0;
				i->tsresol = 1;
				while (res-- > 0)
					i->tsresol *= 10;
			}
		} else if (code == IF_TSOFFSET) {
			if (olen != 8 || saw_off)
				return -1;
			saw_off = 1;
			i->tsoffset = (int64_t)rd64(ng, o);
		}
		o += padded;
		left -= padded;
	}
	i->factor = 1;
	if (i->tsresol == US)
		i->scale = SC_PASS;
	else if (binary)
		i->scale = SC_BIN;
	else if (i->tsresol > US) {
		i->scale = SC_DOWN_DEC;
		i->factor = i->tsresol / US;
	} else {
		i->scale = SC_UP_DEC;
		i->factor = US / i->tsresol;
	}
	return 0;
}

/* Add the interface an IDB body describes; -1 where libpcap fails. */
static int
add_interface(struct pcapng *ng, const uint8_t *body, uint32_t blen)
{
	struct pcapng_if i;

	if (idb_options(ng, body + 8, blen - 8, &i) != 0)
		return -1;
	if (ng->nif == ng->ifcap) {
		uint32_t cap = ng->ifcap ? ng->ifcap * 2 : 4;
		struct pcapng_if *n;

		if (cap < ng->ifcap)
			return -1;
		n = realloc(ng->ifs, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return -1;
		ng->ifs = n;
		ng->ifcap = cap;
	}
	ng->ifs[ng->nif++] = i;
	return 0;
}

int
pcapng_open(struct pcapng *ng, struct capwin *w)
{
	uint32_t magic, tl, type, blen;
	const uint8_t *body, *shb;
	uint16_t major, minor;

	memset(ng, 0, sizeof(*ng));
	ng->w = w;
	shb = capwin_at(w, 0, 16);
	if (shb == NULL)
		return -1;
	memcpy(&magic, shb, sizeof(magic));
	if (magic != PCAPNG_SHB)
		return -1;
	memcpy(&magic, shb + 8, sizeof(magic));
	if (magic == __builtin_bswap32(PCAPNG_BOM))
		ng->swap = 1;
	else if (magic != PCAPNG_BOM)
		return -1;
	/* libpcap reads the first SHB whole without the checks of later
	 * blocks (length a multiple of 4, trailer). */
	tl = rd32(ng, shb + 4);
	if (tl < 28 || tl > SHB_MAX || tl > w->size)
		return -1;
	major = rd16(ng, shb + 12);
	minor = rd16(ng, shb + 14);
	if (major != 1 || (minor != 0 && minor != 2))
		return -1;
	ng->off = tl;
	/* Up to the first interface; a packet before it is an error. */
	for (;;) {
		if (!next_block(ng, &type, &body, &blen))
			goto fail;
		if (type == BT_EPB || type == BT_SPB || type == BT_PB)
			goto fail;
		if (type == PCAPNG_IDB)
			break;
	}
	if (blen < 8 || rd16(ng, body) != LINKTYPE_ETHERNET)
		goto fail;
	ng->snap = adjust_snap(rd32(ng, body + 4));
	if (add_interface(ng, body, blen) != 0)
		goto fail;
	return 0;
fail:
	pcapng_close(ng);
	return -1;
}

/* A later section's header: the same byte order and major version. */
static int
section(struct pcapng *ng, const uint8_t *body, uint32_t blen)
{
	if (blen < 16 || rd32(ng, body) != PCAPNG_BOM ||
	    rd16(ng, body + 4) != 1)
		return -1;
	ng->nif = 0;
	return 0;
}

/* The time stamp in microseconds: libpcap's seconds and fraction (both
 * 64-bit, wrapping where libpcap's do), then net_pcap's sum of
 * tv_sec * 10^6 and tv_usec (an int). The common resolutions divide by a
 * constant. Seconds whose microseconds do not fit in 64 bits (past the
 * year 586 912, or before 1970: damaged files) are taken modulo 2^32, as
 * a pcap record holds them (tcpdump -w, moonbox -w). */
static uint64_t
stamp_us(const struct pcapng_if *i, uint64_t t)
{
	uint64_t sec, frac;

	if (i->scale == SC_PASS) {
		sec = t / US;
		frac = t % US;
	} else if (i->tsresol == 1000000000u) {
		sec = t / 1000000000u;
		frac = t % 1000000000u / 1000u;
	} else {
		sec = t / i->tsresol;
		frac = t % i->tsresol;
		if (i->scale == SC_UP_DEC)
			frac *= i->factor;
		else if (i->scale == SC_DOWN_DEC)
			frac /= i->factor;
		else
			frac = frac * US / i->tsresol;
	}
	sec += (uint64_t)i->tsoffset;
	if (sec > (UINT64_MAX - INT32_MAX) / US)
		sec &= UINT32_MAX;
	return sec * US + (uint64_t)(int64_t)(int32_t)(uint32_t)frac;
}

/* The nanoseconds past the microsecond of a time stamp whose unit is finer
 * than a microsecond (10^-7 s, 2^-20 s...); 0 for coarser units. The
 * whole fraction is taken in nanoseconds, rounded down as stamp_us rounds
 * down to the microsecond, so the two agree. */
static uint32_t
stamp_ns(const struct pcapng_if *i, uint64_t t)
{
	if (i->tsresol <= US)
		return 0;
	if (i->tsresol == 1000000000u)
		return (uint32_t)(t % 1000);
	return (uint32_t)((unsigned __int128)(t % i->tsresol) * 1000000000u /
			  i->tsresol % 1000);
}

int
pcapng_next(struct pcapng *ng, struct pcapng_rec *r)
{
	uint32_t type, blen, ifid, caplen, wire, fixed;
	const uint8_t *body;
	uint64_t t;

	if (ng->dead)
		return 0;
	for (;;) {
		if (!next_block(ng, &type, &body, &blen))
			goto dead;
		switch (type) {
		case BT_EPB:
		case BT_PB:
			/* The same layout but for the interface: 32 bits in
			 * an EPB, 16 (and 16 of drop count) in the obsolete
			 * PB. */
			fixed = 20;
			if (blen < fixed)
				goto dead;
			ifid = type == BT_EPB ? rd32(ng, body) : rd16(ng, body);
			t = (uint64_t)rd32(ng, body + 4) << 32 |
			    rd32(ng, body + 8);
			caplen = rd32(ng, body + 12);
			wire = rd32(ng, body + 16);
			goto found;
		case BT_SPB:
			fixed = 4;
			if (blen < fixed)
				goto dead;
			ifid = 0;
			caplen = wire = rd32(ng, body);
			if (caplen > ng->snap)
				caplen = ng->snap;
			t = 0;
			goto found;
		case PCAPNG_IDB:
			if (blen < 8 || rd16(ng, body) != LINKTYPE_ETHERNET ||
			    adjust_snap(rd32(ng, body + 4)) != ng->snap ||
			    add_interface(ng, body, blen) != 0)
				goto dead;
			break;
		case PCAPNG_SHB:
			if (section(ng, body, blen) != 0)
				goto dead;
			break;
		default:
			break;	/* not a packet: skipped, as libpcap does */
		}
	}
found:
	/* A frame over 256 KiB ends the input, as in a classic file (and
	 * in libpcap after 1.10, which takes no larger snapshot length). */
	if (ifid >= ng->nif || caplen > ng->snap || caplen > blen - fixed ||
	    caplen > MAX_SNAP)
		goto dead;
	r->data = body + fixed;
	r->caplen = caplen;
	r->wire = wire;
	r->us = stamp_us(&ng->ifs[ifid], t);
	r->ns = stamp_ns(&ng->ifs[ifid], t);
	r->next = ng->off;
	/* The caller takes the packet, then moves on past its block. */
	ng->off = ng->blk;
	return 1;
dead:
	ng->dead = 1;
	return 0;
}

int
pcapng_nsec(const struct pcapng *ng)
{
	struct pcapng look = *ng;	/* moves its offset only */
	const uint8_t *body;
	uint32_t type, blen, n;
	struct pcapng_if i;

	if (ng->nif > 0 && ng->ifs[0].tsresol > US)
		return 1;
	/* Writers put their interfaces up front: any IDB before the first
	 * packet (a bounded look) decides too. One described later cannot:
	 * the output's header is written before any frame. */
	for (n = 0; n < NSEC_LOOK_BLOCKS &&
	     next_block(&look, &type, &body, &blen); n++) {
		if (type == BT_EPB || type == BT_SPB || type == BT_PB ||
		    type == PCAPNG_SHB)
			break;
		if (type == PCAPNG_IDB && blen >= 8 &&
		    idb_options(&look, body + 8, blen - 8, &i) == 0 &&
		    i.tsresol > US)
			return 1;
	}
	return 0;
}

void
pcapng_close(struct pcapng *ng)
{
	free(ng->ifs);
	ng->ifs = NULL;
	ng->nif = ng->ifcap = 0;
}
