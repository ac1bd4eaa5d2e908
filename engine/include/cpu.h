/*
 * cpu.h - the CPU helpers of mOS's utility header of the same name, which
 * mOS's sample programs include (midstat, nat, simple_firewall): how many
 * CPUs are online, and pinning the calling thread to one of them. The
 * guard is mOS's, so that a program carrying mOS's own copy compiles too.
 */
#ifndef __CPU_H_
#define __CPU_H_

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Number of CPUs online (sysconf(_SC_NPROCESSORS_ONLN)), as mOS gives
 * it; mOS's samples take it as the default number of cores to run.
 * @return the number of CPUs, or -1 with errno set if it is unknown.
 */
int
GetNumCPUs(void);

/**
 * Pin the calling thread to the CPU numbered cpu (as
 * mtcp_core_affinitize() does).
 * @return 0, or -1 with errno EINVAL.
 */
int
CoreAffinitize(int cpu);

#ifdef __cplusplus
}
#endif

#endif /* !__CPU_H_ */
