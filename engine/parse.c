/*
 * parse.c - hostile-frame-safe classification of Ethernet/VLAN/IPv4/TCP.
 *
 * Each header is accepted only after checking that it lies wholly inside
 * the bytes that remain; the IPv4 total length, not the frame length,
 * bounds the TCP segment (Ethernet pads short frames).
 */
#include <stddef.h>

#include "parse.h"

#define ETH_HLEN_	14
#define VLAN_HLEN_	4
#define ET_IPV4		0x0800
#define ET_VLAN		0x8100
#define ET_QINQ		0x88a8
#define MAX_VLANS	2

static const char *const reason_names[PR__COUNT] = {
	[PR_NONE] = "none",
	[PR_ETH_TRUNCATED] = "eth_truncated",
	[PR_VLAN_TRUNCATED] = "vlan_truncated",
	[PR_IP_TRUNCATED] = "ip_truncated",
	[PR_IP_VERSION] = "ip_version",
	[PR_IP_IHL] = "ip_ihl",
	[PR_IP_LEN] = "ip_len",
	[PR_TCP_TRUNCATED] = "tcp_truncated",
	[PR_TCP_DOFF] = "tcp_doff",
};

const char *
parse_reason_name(int reason)
{
	if (reason < 0 || reason >= PR__COUNT)
		return "unknown";
	return reason_names[reason];
}

static inline uint16_t
rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static int
malformed(struct parsed *p, int reason)
{
	p->kind = PK_MALFORMED;
	p->reason = (uint8_t)reason;
	return PK_MALFORMED;
}

int
parse_frame(const uint8_t *f, uint32_t len, struct parsed *p)
{
	uint32_t off, ihl, tot, doff;
	uint16_t et;
	const uint8_t *ip, *tcp;

	if (parse_plain_tcp(f, len, p))
		return PK_TCP;
	*p = (struct parsed){ 0 };
	if (len < ETH_HLEN_)
		return malformed(p, PR_ETH_TRUNCATED);
	et = rd16(f + 12);
	off = ETH_HLEN_;
	while (et == ET_VLAN || et == ET_QINQ) {
		if (p->vlans == MAX_VLANS) {
			p->l2_len = (uint16_t)off;
			p->kind = PK_NON_IP;
			return PK_NON_IP;
		}
		if (len - off < VLAN_HLEN_)
			return malformed(p, PR_VLAN_TRUNCATED);
		et = rd16(f + off + 2);
		off += VLAN_HLEN_;
		p->vlans++;
	}
	p->l2_len = (uint16_t)off;
	if (et != ET_IPV4) {
		p->kind = PK_NON_IP;
		return PK_NON_IP;
	}

	ip = f + off;
	if (len - off < 20)
		return malformed(p, PR_IP_TRUNCATED);
	if ((ip[0] >> 4) != 4)
		return malformed(p, PR_IP_VERSION);
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len - off)
		return malformed(p, PR_IP_IHL);
	tot = rd16(ip + 2);
	if (tot < ihl || tot > len - off)
		return malformed(p, PR_IP_LEN);
	p->l3_len = (uint16_t)ihl;
	p->ip_len = (uint16_t)tot;
	p->ip_proto = ip[9];

	/* More-fragments flag or a fragment offset: not a whole datagram. */
	if (rd16(ip + 6) & 0x3fff) {
		p->kind = PK_IPV4_FRAG;
		return PK_IPV4_FRAG;
	}
	if (p->ip_proto != 6) {
		p->kind = PK_IPV4;
		return PK_IPV4;
	}

	if (tot - ihl < 20)
		return malformed(p, PR_TCP_TRUNCATED);
	tcp = ip + ihl;
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || doff > tot - ihl)
		return malformed(p, PR_TCP_DOFF);
	p->l4_len = (uint16_t)doff;
	p->payload_len = (uint16_t)(tot - ihl - doff);
	p->kind = PK_TCP;
	return PK_TCP;
}
