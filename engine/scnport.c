/*
 * scnport.c - the ports of a test scenario (see scnport.h).
 */
#include <stdio.h>

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "rt.h"
#include "scnport.h"

void
scnport_declare(void)
{
	int i;

	for (i = 0; i < SCNPORT_N && g_rt.nb_ports < RT_MAX_PORTS; i++) {
		struct rt_port *p = &g_rt.ports[g_rt.nb_ports++];

		snprintf(p->spec, sizeof(p->spec), "scenario port %d", i);
		/* rte_eth_from_rings names the device net_ring_NAME. */
		snprintf(p->name, sizeof(p->name), "net_ring_mbxscn%d", i);
		p->scenario = 1;
		p->has_tx = 1;
	}
}

int
scnport_create(const char *prog)
{
	int i, idx = 0;

	for (i = 0; i < g_rt.nb_ports; i++) {
		struct rt_port *p = &g_rt.ports[i];
		char name[RTE_RING_NAMESIZE];

		if (!p->scenario)
			continue;
		snprintf(name, sizeof(name), "mbxscn_rx%d", idx);
		p->scn_rx = rte_ring_create(name, SCNPORT_RING,
			(int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "mbxscn_tx%d", idx);
		p->scn_tx = rte_ring_create(name, SCNPORT_RING,
			(int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		/* The device is net_ring_mbxscnN, as scnport_declare said. */
		snprintf(name, sizeof(name), "mbxscn%d", idx++);
		if (p->scn_rx == NULL || p->scn_tx == NULL ||
		    rte_eth_from_rings(name, &p->scn_rx, 1, &p->scn_tx, 1,
				       rte_socket_id()) < 0) {
			fprintf(stderr, "%s: cannot make the scenario's ports: "
				"%s\n", prog, rte_strerror(rte_errno));
			return -1;
		}
	}
	return 0;
}
