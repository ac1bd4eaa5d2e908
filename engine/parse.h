/*
 * parse.h - frame parser of the packet path: Ethernet, up to two VLAN tags,
 * IPv4 and TCP, with every length field checked against the frame.
 *
 * parse_frame() never reads outside [frame, frame + len); what it cannot
 * trust it classifies as malformed, with a reason. Pure code: no DPDK.
 */
#ifndef MB_PARSE_H
#define MB_PARSE_H

#include <stdint.h>

enum parse_kind {
	PK_NON_IP,		/* not IPv4 (ARP, IPv6, too many tags, ...) */
	PK_IPV4,		/* IPv4, not TCP */
	PK_IPV4_FRAG,		/* IPv4 fragment (any protocol) */
	PK_TCP,			/* IPv4 + TCP, headers complete */
	PK_MALFORMED,		/* see enum parse_reason */
};

enum parse_reason {
	PR_NONE,
	PR_ETH_TRUNCATED,	/* shorter than an Ethernet header */
	PR_VLAN_TRUNCATED,	/* VLAN tag cut off */
	PR_IP_TRUNCATED,	/* less than 20 bytes of IPv4 header */
	PR_IP_VERSION,		/* ethertype IPv4 but version != 4 */
	PR_IP_IHL,		/* IHL < 5 or header beyond the frame */
	PR_IP_LEN,		/* total length < header or beyond the frame */
	PR_TCP_TRUNCATED,	/* less than 20 bytes of TCP header */
	PR_TCP_DOFF,		/* data offset < 5 or beyond the IP payload */
	PR__COUNT
};

struct parsed {
	uint16_t l2_len;	/* Ethernet header + VLAN tags */
	uint16_t l3_len;	/* IPv4 header with options */
	uint16_t l4_len;	/* TCP header with options */
	uint16_t ip_len;	/* IPv4 total length (l3 + l4 + payload) */
	uint16_t payload_len;	/* TCP payload bytes */
	uint8_t kind;		/* enum parse_kind */
	uint8_t reason;		/* enum parse_reason when PK_MALFORMED */
	uint8_t ip_proto;	/* valid from PK_IPV4 on */
	uint8_t vlans;		/* number of VLAN tags */
};

/* Walk the olen bytes of TCP options at opt from *pos: the offset of the
 * next option that has a length byte and lies wholly inside (its kind and
 * length in *kind and *len, *pos moved past it), or -1 at the end of the
 * list or at a malformed option, where the walk stops. */
static inline int
tcp_opt_next(const uint8_t *opt, uint32_t olen, uint32_t *pos, uint8_t *kind,
	     uint8_t *len)
{
	uint32_t i = *pos;

	while (i < olen && opt[i] == 1)		/* NOP */
		i++;
	if (i >= olen || opt[i] == 0 || i + 1 >= olen || opt[i + 1] < 2 ||
	    i + opt[i + 1] > olen) {
		*pos = olen;
		return -1;
	}
	*kind = opt[i];
	*len = opt[i + 1];
	*pos = i + *len;
	return (int)i;
}

/* Classify a frame; fills *p and returns p->kind. */
int
parse_frame(const uint8_t *frame, uint32_t len, struct parsed *p);

/* Short name of a malformation reason ("ip_ihl", ...), for counters. */
const char *
parse_reason_name(int reason);

#endif /* MB_PARSE_H */
