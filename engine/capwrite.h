/*
 * capwrite.h - the offline output (-w FILE): a pcap file of the frames
 * that leave by the -r port, each with the time it was captured.
 *
 * net_pcap's dumper stamps every frame with the time it is written, so an
 * output read by Wireshark or tcptrace showed the run, not the traffic;
 * and it cuts frames longer than 16 128 bytes. Here a frame keeps the
 * receive time stamp its buffer carries (capfile.c and net_pcap's reader
 * set it, in microseconds; capfile.c adds the nanoseconds of a nanosecond
 * file, which make the output a nanosecond file too) and is written whole
 * up to 262 144 bytes, with the length its input record gave it. A frame
 * without one (a packet no callback stamped) takes the time of the frame
 * written before it.
 */
#ifndef MB_CAPWRITE_H
#define MB_CAPWRITE_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "capmeta.h"

/* The longest frame written whole (libpcap's largest snapshot length);
 * a longer one is cut, its record keeping the whole length. */
#define CAPWRITE_SNAPLEN	262144u

struct capwrite;

/* A new, empty pcap file of Ethernet frames at path ("-": the standard
 * output), with time stamps in nanoseconds if nano, else microseconds;
 * or NULL with errno set. */
struct capwrite *
capwrite_open(const char *path, int nano);

/* Write n frames (their time stamp and capmeta in the fields fl names,
 * where their flags are set) and free them; returns n. Threads may call
 * it together. After a write error the frames are freed unwritten
 * (capwrite_failed says so, capwrite_close reports it). */
uint16_t
capwrite_burst(struct capwrite *w, const struct capmeta_fields *fl,
	       struct rte_mbuf **m, uint16_t n);

/* Whether a write failed (the rest of the output is lost). */
int
capwrite_failed(const struct capwrite *w);

/* Flush and close; 0, or -1 with errno set if some frame or the file's
 * end could not be written. NULL is ignored. */
int
capwrite_close(struct capwrite *w);

#endif /* MB_CAPWRITE_H */
