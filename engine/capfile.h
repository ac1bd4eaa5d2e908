/*
 * capfile.h - the offline input (-r FILE) read straight from the file.
 *
 * A pcap or pcapng file of Ethernet frames is read a window at a time
 * (capwin.h) and cut into packet buffers here, as net_pcap would hand
 * them over (data, lengths, the receive time stamp field, a chain for a
 * frame longer than one buffer), without libpcap's two buffered reads and
 * copies per frame.
 * The -r port stays a net_pcap port; only its reception comes from here
 * (and -w is written by capwrite.c). Other files (other link types,
 * pipes) are left to libpcap.
 */
#ifndef MB_CAPFILE_H
#define MB_CAPFILE_H

#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include "capmeta.h"

struct capfile;

/* The file opened, or NULL if it is not a pcap or pcapng file of
 * Ethernet frames in a regular file (then libpcap reads it, or says what
 * is wrong with it). */
struct capfile *
capfile_open(const char *path);

/* Up to n frames in buffers from mp, with their time stamp and capmeta
 * in the fields fl names (those that are >= 0) and their flags set: 0 at
 * the end of the file, or when mp is out of buffers (counted, see
 * capfile_nombuf). */
uint16_t
capfile_rx(struct capfile *cf, struct rte_mempool *mp,
	   const struct capmeta_fields *fl, struct rte_mbuf **out, uint16_t n);

/* 1 if the file's time stamps are finer than microseconds: a nanosecond
 * pcap file, or a pcapng file with an interface described before its
 * first packet that counts in units finer than a microsecond. */
int
capfile_nsec(const struct capfile *cf);

/* 1 once every frame was handed over (or the file's last record is cut or
 * invalid, where libpcap would stop with an error). */
int
capfile_eof(const struct capfile *cf);

/* The share of the file read so far (0 to 1); another thread may ask
 * while the reader runs. */
double
capfile_progress(const struct capfile *cf);

/* Times a frame waited for a free buffer. */
uint64_t
capfile_nombuf(const struct capfile *cf);

void
capfile_close(struct capfile *cf);

#endif /* MB_CAPFILE_H */
