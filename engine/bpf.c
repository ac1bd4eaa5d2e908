/*
 * bpf.c - compiling monitor filters with libpcap (see bpf.h).
 *
 * pcap_compile keeps parser state in the pcap_t, and older libpcaps were
 * not reentrant at all, so compilations are serialised; they only happen
 * when a program binds a filter, never per packet.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpf.h"

static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

struct bpf_program *
bpf_prog_compile(const char *expr, char *err, size_t errlen)
{
	struct bpf_program *p = calloc(1, sizeof(*p));
	pcap_t *pc;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&compile_lock);
	pc = pcap_open_dead(DLT_EN10MB, 65535);
	if (pc == NULL) {
		pthread_mutex_unlock(&compile_lock);
		snprintf(err, errlen, "libpcap: cannot create a compiler");
		free(p);
		return NULL;
	}
	if (pcap_compile(pc, p, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(pc));
		pcap_close(pc);
		pthread_mutex_unlock(&compile_lock);
		free(p);
		return NULL;
	}
	pcap_close(pc);
	pthread_mutex_unlock(&compile_lock);
	return p;
}

void
bpf_prog_free(struct bpf_program *p)
{
	if (p == NULL)
		return;
	pcap_freecode(p);
	free(p);
}
