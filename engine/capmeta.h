/*
 * capmeta.h - what a frame read by -r carries to -w besides its bytes and
 * its microsecond time stamp: the bytes its capture left out and the
 * nanoseconds past the microsecond, so that the output keeps the input's
 * record lengths and (from a nanosecond file) its time stamps to the
 * nanosecond, as tcpdump --nano -r in -w out keeps them.
 */
#ifndef MB_CAPMETA_H
#define MB_CAPMETA_H

#include <stdint.h>

/* The buffer fields a capture's details go to (rt.c finds them, the
 * time stamp's as net_pcap registered it, or registers them): g_rt.capf,
 * which rt_has_ts reads too. */
struct capmeta_fields {
	int ts_off;		/* receive time stamp (us), or -1 */
	uint64_t ts_flag;	/* set when a buffer has one */
	int meta_off;		/* struct capmeta, or -1 */
	uint64_t meta_flag;	/* set when a buffer has one */
};

struct capmeta {
	uint32_t cut;		/* the record's length less its bytes */
	uint32_t ns;		/* ns past the time stamp (below 1000) */
};

#endif /* MB_CAPMETA_H */
