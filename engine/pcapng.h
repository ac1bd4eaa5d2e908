/*
 * pcapng.h - the packets of a pcapng file read through a window, as libpcap
 * (1.10, sf-pcapng.c) hands them over: the same records, the same
 * captured lengths, the same time stamps, and the end of the input where
 * libpcap would report an error.
 *
 * Only files whose first interface is Ethernet are taken (the -r input's
 * link type); a later interface of another type or snapshot length ends
 * the input, as it makes libpcap fail. No allocation but the interface
 * table, which grows with the file's Interface Description Blocks.
 */
#ifndef MB_PCAPNG_H
#define MB_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "capwin.h"

#define PCAPNG_SHB	0x0A0D0D0Au	/* the first four bytes of the file */
#define PCAPNG_IDB	1u		/* an interface description block */
#define PCAPNG_BOM	0x1A2B3C4Du	/* a section header's byte order */

struct pcapng_if {
	uint64_t tsresol;	/* time stamp units a second */
	uint64_t factor;	/* tsresol over 10^6, or the other way round */
	int64_t tsoffset;	/* seconds added to every time stamp */
	uint8_t scale;		/* how units become microseconds */
};

struct pcapng {
	struct capwin *w;	/* the file */
	size_t off;		/* the next block */
	size_t blk;		/* the block next_block read last */
	uint32_t snap;		/* the first interface's snapshot length */
	uint32_t nif;		/* interfaces of the current section */
	uint32_t ifcap;
	struct pcapng_if *ifs;
	uint8_t swap;		/* the file's byte order is not ours */
	uint8_t dead;		/* an error ended the input */
};

struct pcapng_rec {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wire;		/* the packet's length (> caplen: cut) */
	uint64_t us;		/* time stamp, as net_pcap computes it */
	uint32_t ns;		/* nanoseconds past us (finer units) */
	size_t next;		/* where the block after this packet's starts */
};

/* 0 if the file in w is a pcapng file libpcap opens, of Ethernet frames;
 * -1 otherwise (nothing to close). w is the caller's, and stays so. */
int
pcapng_open(struct pcapng *ng, struct capwin *w);

/* 1 and the next packet, whose block ends at r->next (set ng->off to it
 * once the packet is taken; blocks before it that are not packets were
 * consumed already); 0 at the end of the file or where libpcap would fail
 * (then ever after). r->data holds until the window moves: the next call
 * of pcapng_next, pcapng_nsec or capwin_at on w. */
int
pcapng_next(struct pcapng *ng, struct pcapng_rec *r);

/* 1 if an interface described before the file's first packet counts in
 * units finer than a microsecond. */
int
pcapng_nsec(const struct pcapng *ng);

void
pcapng_close(struct pcapng *ng);

#endif /* MB_PCAPNG_H */
