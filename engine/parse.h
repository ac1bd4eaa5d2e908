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
#include <string.h>

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

/* Bytes b0.. as they lie in memory, read as a native word: for comparing
 * several header bytes in one test. */
#define PARSE_BYTES2(b0, b1) \
	(((union { uint8_t b[2]; uint16_t w; }){ .b = { b0, b1 } }).w)
#define PARSE_BYTES4(b0, b1, b2, b3) \
	(((union { uint8_t b[4]; uint32_t w; }){ .b = { b0, b1, b2, b3 } }).w)

/* parse_frame() for the common frame: untagged IPv4 without options, one
 * whole TCP segment with a sane data offset; 1 if the frame is that (*p
 * filled as parse_frame() would), 0 if not (*p unspecified). Every test
 * is one parse_frame() makes too, in a cheaper order. Inline, for the
 * packet path's classification (pipe.c) to call first. */
static inline int
parse_plain_tcp(const uint8_t *f, uint32_t len, struct parsed *p)
{
	uint32_t w, tot, doff;
	uint16_t frag;

	if (len < 54)
		return 0;
	/* Ethertype IPv4, version 4 and a 20-byte header (not the TOS). */
	memcpy(&w, f + 12, 4);
	if ((w & PARSE_BYTES4(0xff, 0xff, 0xff, 0)) !=
	    PARSE_BYTES4(0x08, 0x00, 0x45, 0))
		return 0;
	/* TCP, and neither more fragments nor a fragment offset. */
	memcpy(&frag, f + 20, 2);
	if (f[23] != 6 || (frag & PARSE_BYTES2(0x3f, 0xff)) != 0)
		return 0;
	tot = (uint32_t)(f[16] << 8 | f[17]);
	doff = (uint32_t)(f[46] >> 4) * 4;
	/* 40 <= tot <= len - 14 (len >= 54), and a data offset from 20
	 * bytes to what the datagram holds. */
	if (tot - 40 > len - 54 || doff < 20 || doff > tot - 20)
		return 0;
	*p = (struct parsed){
		.l2_len = 14,
		.l3_len = 20,
		.l4_len = (uint16_t)doff,
		.ip_len = (uint16_t)tot,
		.payload_len = (uint16_t)(tot - 20 - doff),
		.kind = PK_TCP,
		.ip_proto = 6,
	};
	return 1;
}

/* Classify a frame; fills *p and returns p->kind. */
int
parse_frame(const uint8_t *frame, uint32_t len, struct parsed *p);

/* Short name of a malformation reason ("ip_ihl", ...), for counters. */
const char *
parse_reason_name(int reason);

#endif /* MB_PARSE_H */
