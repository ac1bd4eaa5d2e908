/*
 * bpf.h - monitor socket filters: libpcap expressions compiled with
 * libpcap's own compiler (pcap_compile) for Ethernet frames, and run with
 * its BPF interpreter.
 */
#ifndef MB_BPF_H
#define MB_BPF_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

/* Compile expr; returns a program to free with bpf_prog_free(), or NULL
 * with the compiler's message in err. Thread-safe. */
struct bpf_program *
bpf_prog_compile(const char *expr, char *err, size_t errlen);

void
bpf_prog_free(struct bpf_program *p);

/* 1 if the frame matches (a NULL program matches everything). */
static inline int
bpf_prog_match(const struct bpf_program *p, const uint8_t *frame,
	       uint32_t len)
{
	if (p == NULL)
		return 1;
	return bpf_filter(p->bf_insns, frame, len, len) != 0;
}

#endif /* MB_BPF_H */
