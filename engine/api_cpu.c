/*
 * api_cpu.c - cpu.h's helpers, which mOS programs get from mOS's library
 * and utility code: GetNumCPUs and CoreAffinitize. They stand apart from
 * the engine: nothing here needs moonbox to be initialised.
 */
#include <unistd.h>

#include "cpu.h"
#include "mtcp_api.h"

int
GetNumCPUs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : -1;
}

int
CoreAffinitize(int cpu)
{
	return mtcp_core_affinitize(cpu);
}
