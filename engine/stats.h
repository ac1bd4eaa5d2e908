/*
 * stats.h - packet and flow counters, one set per core (and one for the
 * distributor), summed and written as JSON at exit.
 *
 * Every received frame ends in exactly one fate: transmitted, or one of the
 * dropped_* counters, so rx_packets == tx_packets + sum(dropped_*) holds for
 * the totals once the run is over. The other counters classify, they are
 * not fates.
 */
#ifndef MB_STATS_H
#define MB_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "parse.h"

/* Fates of a frame (summed with tx_packets to give rx_packets). */
#define STATS_DROPS(X) \
	X(dropped_by_policy)	/* MOS_DROP from a callback */ \
	X(dropped_malformed)	/* --drop-malformed */ \
	X(dropped_tx_full)	/* output queue full */ \
	X(dropped_passive)	/* --passive: nothing is transmitted */ \
	X(dropped_script_error)	/* --on-error=drop after a script error */ \
	X(dropped_ring_full)	/* distributor ring to a worker full */ \
	X(dropped_bad_chain)	/* buffers holding less than their length */

/* Classifications and engine events. */
#define STATS_OTHERS(X) \
	X(rx_packets) X(rx_bytes) X(tx_packets) X(tx_bytes) \
	X(malformed) X(non_ip) X(non_tcp) X(ip_fragments) X(tcp_packets) \
	X(tcp_fast_path) X(tcp_quiet_path) \
	X(unanalysed) \
	X(ipfrag_reassembled) X(ipfrag_failed) \
	X(flows_created) X(flows_destroyed) X(flows_rejected_full) \
	X(orphans) X(syn_rexmit) X(rexmit_data) X(rexmit_ctrl) \
	X(reasm_bytes) X(reasm_out_of_window) X(reasm_overrun) \
	X(reasm_gap_skipped) X(reasm_nomem) X(seq_remapped) \
	X(socks_exhausted) X(filters_run) \
	X(timeouts_idle) X(timeouts_timewait) X(eof_flushed) \
	X(callbacks_run) X(script_errors) \
	X(script_errors_runtime) X(script_errors_filter) \
	X(script_errors_memory) X(script_errors_timeout) \
	X(script_skipped) X(script_reloads) X(script_reload_failures) X(timers_fired) X(pkts_sent) X(pkts_modified) \
	STATS_CYCLES(X)

/* With --cycles, time stamp counter cycles of the core's loop: busy (an
 * iteration that received packets or had flows or timers to expire, all
 * of it), of which rx (the receive calls) and tx (the transmit calls), and
 * idle (the other iterations). The engine's share, scripts included, is
 * busy - rx - tx. */
#define STATS_CYCLES(X) \
	X(cycles_busy) X(cycles_rx) X(cycles_tx) X(cycles_idle)

struct stats {
#define X_FIELD(n) uint64_t n;
	STATS_OTHERS(X_FIELD)
	STATS_DROPS(X_FIELD)
#undef X_FIELD
	uint64_t malformed_reason[PR__COUNT];
};

/* dst += src, field by field. */
void
stats_add(struct stats *dst, const struct stats *src);

/* Sum of all dropped_* counters. */
uint64_t
stats_dropped(const struct stats *s);

/* Write the totals (plus the gauges given) as one JSON object, with the
 * cores' counters ("cores") and the software distributor's
 * ("distributor", when dist is not NULL): the totals are their sums.
 * tsc_hz converts the cycles_* counters to seconds; final says whether
 * the run was over (else packets may be in flight). */
int
stats_write_json(FILE *f, const struct stats *total, uint64_t rx_nombuf,
		 uint64_t flows_active, double run_seconds, uint64_t tsc_hz,
		 const struct stats *per_core, int ncores,
		 const struct stats *dist, int final);

#endif /* MB_STATS_H */
