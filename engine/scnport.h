/*
 * scnport.h - the two ports of a test scenario (moonbox --scenario): real
 * DPDK ring ports (net_ring, made with rte_eth_from_rings) whose receive
 * and transmit rings are apart, so that the scenario puts frames in on one
 * side and takes what the engine sent out of the other.
 *
 * Port 0 is the client's side, port 1 the server's; as any pair of ports,
 * each forwards to the other. The scenario's Lua code runs on the worker
 * core that owns the rings, so one thread uses each end.
 */
#ifndef MB_SCNPORT_H
#define MB_SCNPORT_H

#include <stdint.h>

#define SCNPORT_N	2
/* Frames a ring holds: what one push may bring, and what one step may
 * send before the scenario takes it. */
#define SCNPORT_RING	4096

/* Before EAL: declare the two ports in g_rt.ports (the pool is sized
 * from them). */
void
scnport_declare(void);

/* After EAL: make the rings and the ports; 0, or -1 with a message. */
int
scnport_create(const char *prog);

#endif /* MB_SCNPORT_H */
