/*
 * testutil.h - helpers shared by the cmocka unit tests: starting DPDK's EAL
 * the way tests must on this kind of machine (no hugepages, no PCI, a
 * private file prefix so tests run in parallel under ctest -j), and frame
 * builders.
 */
#ifndef MB_TESTUTIL_H
#define MB_TESTUTIL_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

/* Start EAL once per test process; extra vdev arguments may be given. */
static inline int
test_eal_init(const char *name, const char *vdev1, const char *vdev2)
{
	static char prefix[64], mem[] = "-m256";
	char *argv[12];
	int argc = 0;

	snprintf(prefix, sizeof(prefix), "--file-prefix=t_%s_%d", name,
		 (int)getpid());
	argv[argc++] = (char *)name;
	argv[argc++] = (char *)"--no-huge";
	argv[argc++] = mem;
	argv[argc++] = (char *)"--no-pci";
	argv[argc++] = (char *)"--no-shconf";
	argv[argc++] = (char *)"--no-telemetry";
	argv[argc++] = prefix;
	argv[argc++] = (char *)"--log-level=lib.*:error";
	argv[argc++] = (char *)"-l0";
	if (vdev1 != NULL)
		argv[argc++] = (char *)vdev1;
	if (vdev2 != NULL)
		argv[argc++] = (char *)vdev2;
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

#endif /* MB_TESTUTIL_H */
