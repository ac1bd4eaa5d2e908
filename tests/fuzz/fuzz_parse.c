/*
 * fuzz_parse.c - fuzz target of the frame parser (engine/parse.c): the
 * input is one frame. It is copied into a buffer of exactly its size, so
 * AddressSanitizer reports any read past the frame, and the result is
 * compared field by field with a reference classifier written here from
 * the rules parse.h documents (Ethernet, up to two VLAN tags, IPv4, TCP,
 * every length checked against the frame, the IPv4 total length bounding
 * the segment).
 */
#include <string.h>

#include "fuzz.h"
#include "parse.h"

static uint16_t
be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The reference: what parse.h says the result must be. */
static void
reference(const uint8_t *f, uint32_t len, struct parsed *r)
{
	uint32_t off = 14, ihl, tot, doff;
	uint16_t et;
	const uint8_t *ip;

	memset(r, 0, sizeof(*r));
	r->kind = PK_MALFORMED;
	if (len < 14) {
		r->reason = PR_ETH_TRUNCATED;
		return;
	}
	et = be16(f + 12);
	while (et == 0x8100 || et == 0x88a8) {
		if (r->vlans == 2) {
			/* A third tag: not something moonbox parses. */
			r->l2_len = (uint16_t)off;
			r->kind = PK_NON_IP;
			return;
		}
		if (off + 4 > len) {
			r->reason = PR_VLAN_TRUNCATED;
			return;
		}
		et = be16(f + off + 2);
		off += 4;
		r->vlans++;
	}
	r->l2_len = (uint16_t)off;
	if (et != 0x0800) {
		r->kind = PK_NON_IP;
		return;
	}
	ip = f + off;
	if (off + 20 > len) {
		r->reason = PR_IP_TRUNCATED;
		return;
	}
	if ((ip[0] >> 4) != 4) {
		r->reason = PR_IP_VERSION;
		return;
	}
	ihl = (ip[0] & 15u) * 4;
	if (ihl < 20 || off + ihl > len) {
		r->reason = PR_IP_IHL;
		return;
	}
	tot = be16(ip + 2);
	if (tot < ihl || off + tot > len) {
		r->reason = PR_IP_LEN;
		return;
	}
	r->l3_len = (uint16_t)ihl;
	r->ip_len = (uint16_t)tot;
	r->ip_proto = ip[9];
	if ((be16(ip + 6) & 0x1fff) != 0 || (ip[6] & 0x20) != 0) {
		r->kind = PK_IPV4_FRAG;
		return;
	}
	if (ip[9] != 6) {
		r->kind = PK_IPV4;
		return;
	}
	if (tot < ihl + 20) {
		r->reason = PR_TCP_TRUNCATED;
		return;
	}
	doff = (uint32_t)(ip[ihl + 12] >> 4) * 4;
	if (doff < 20 || ihl + doff > tot) {
		r->reason = PR_TCP_DOFF;
		return;
	}
	r->l4_len = (uint16_t)doff;
	r->payload_len = (uint16_t)(tot - ihl - doff);
	r->kind = PK_TCP;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parsed p, r;
	uint8_t *f;
	uint32_t len;
	int kind;

	/* Frames are at most 64 KiB (the largest IPv4 datagram plus tags). */
	if (size > 65535 + 22)
		return 0;
	len = (uint32_t)size;
	/* Exactly the frame's bytes: AddressSanitizer flags a read past. */
	f = calloc(size ? size : 1, 1);
	FUZZ_CHECK(f != NULL);
	if (size)
		memcpy(f, data, size);
	memset(&p, 0xa5, sizeof(p));
	kind = parse_frame(f, len, &p);
	reference(f, len, &r);

	FUZZ_CHECK(kind == p.kind);
	FUZZ_CHECK(p.kind == r.kind);
	FUZZ_CHECK(p.l2_len == r.l2_len || p.kind == PK_MALFORMED);
	if (p.kind == PK_MALFORMED) {
		FUZZ_CHECK(p.reason == r.reason);
		FUZZ_CHECK(p.reason > PR_NONE && p.reason < PR__COUNT);
		FUZZ_CHECK(strcmp(parse_reason_name(p.reason), "unknown") != 0);
	} else {
		FUZZ_CHECK(p.reason == PR_NONE);
		FUZZ_CHECK(p.l2_len == 14 + 4 * p.vlans);
		FUZZ_CHECK(p.vlans == r.vlans);
	}
	if (p.kind == PK_IPV4 || p.kind == PK_IPV4_FRAG || p.kind == PK_TCP) {
		FUZZ_CHECK(p.l3_len == r.l3_len && p.ip_len == r.ip_len);
		FUZZ_CHECK(p.ip_proto == r.ip_proto);
		FUZZ_CHECK((uint32_t)p.l2_len + p.ip_len <= len);
	}
	if (p.kind == PK_TCP) {
		FUZZ_CHECK(p.l4_len == r.l4_len);
		FUZZ_CHECK(p.payload_len == r.payload_len);
		FUZZ_CHECK((uint32_t)p.l3_len + p.l4_len + p.payload_len ==
			   p.ip_len);
		/* Every header byte the engine will read is in the frame. */
		FUZZ_CHECK((uint32_t)p.l2_len + p.l3_len + p.l4_len <= len);
	}
	FUZZ_CHECK(strcmp(parse_reason_name(-1), "unknown") == 0);
	FUZZ_CHECK(strcmp(parse_reason_name(PR__COUNT), "unknown") == 0);
	free(f);
	return 0;
}
