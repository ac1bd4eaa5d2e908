/*
 * mtcp_util.h - helpers of mOS's public utility header that monitors use.
 * moonbox provides GetRSSCPUCore(), which tells which worker core moonbox
 * delivers a given 4-tuple to (the NAT sample uses it to choose ports whose
 * return traffic comes back to the same core).
 */
#ifndef __MTCP_UTIL_H__
#define __MTCP_UTIL_H__

#include <stdint.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Core that moonbox assigns to packets with this 4-tuple (either
 * direction). Addresses and ports in network byte order.
 * @param num_queues number of worker cores to spread over.
 * @param endian_check ignored (mOS used it to guess the NIC's hash).
 * @return a core index in [0, num_queues), or -1 if num_queues < 1.
 */
int
GetRSSCPUCore(in_addr_t sip, in_addr_t dip,
	      in_port_t sp, in_port_t dp, int num_queues, uint8_t endian_check);

#ifdef __cplusplus
}
#endif

#endif /* !__MTCP_UTIL_H__ */
