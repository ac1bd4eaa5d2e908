/*
 * test_parse.c - unit tests of the frame parser (engine/parse.c): frames
 * are written byte by byte here, every malformation is tried at its exact
 * boundary, every length field is checked, and a fuzz loop parses random
 * frames that end right before an unmapped page, so that any read past the
 * frame crashes, comparing each result with a model written from parse.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "parse.h"

/* A frame under construction. */
struct fb {
	uint8_t b[1600];
	uint32_t len;
};

/* Two pages, the second PROT_NONE: frames are parsed at its edge. */
static uint8_t *guard_base;
static size_t page_size;

static int
setup_guard(void **state)
{
	(void)state;
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	guard_base = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED)
		return -1;
	return mprotect(guard_base + page_size, page_size, PROT_NONE);
}

static int
teardown_guard(void **state)
{
	(void)state;
	return munmap(guard_base, 2 * page_size);
}

/* Parse len bytes copied so that they end where the guard page begins. */
static int
parse_at_edge(const uint8_t *data, uint32_t len, struct parsed *p)
{
	uint8_t *f = guard_base + page_size - len;

	memcpy(f, data, len);
	/* Garbage in, so a parser that does not clear fields is caught. */
	memset(p, 0xee, sizeof(*p));
	return parse_frame(f, len, p);
}

static void
put8(struct fb *f, unsigned v)
{
	assert_true(f->len < sizeof(f->b));
	f->b[f->len++] = (uint8_t)v;
}

static void
put16(struct fb *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v & 0xff);
}

static void
put32(struct fb *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void
fill(struct fb *f, unsigned n, unsigned byte)
{
	while (n-- > 0)
		put8(f, byte);
}

/* Ethernet header; type is the first ethertype (maybe a VLAN TPID). */
static void
eth(struct fb *f, unsigned type)
{
	f->len = 0;
	put16(f, 0x0200); put32(f, 0x00000001);	/* dst 02:00:00:00:00:01 */
	put16(f, 0x0200); put32(f, 0x00000002);	/* src 02:00:00:00:00:02 */
	put16(f, type);
}

/* The rest of a VLAN tag: TCI and the next ethertype. */
static void
vlan(struct fb *f, unsigned tci, unsigned type)
{
	put16(f, tci);
	put16(f, type);
}

/* IPv4 header with ihl 32-bit words (options are NOPs). */
static void
ipv4(struct fb *f, unsigned ver_ihl, unsigned tot, unsigned frag,
     unsigned proto)
{
	unsigned ihl = ver_ihl & 0x0f;

	put8(f, ver_ihl);
	put8(f, 0);		/* TOS */
	put16(f, tot);
	put16(f, 0x1234);	/* id */
	put16(f, frag);
	put8(f, 64);		/* TTL */
	put8(f, proto);
	put16(f, 0);		/* checksum: not the parser's business */
	put32(f, 0x0a000001);
	put32(f, 0x0a000002);
	if (ihl > 5)
		fill(f, (ihl - 5) * 4, 0x01);
}

/* TCP header with doff 32-bit words (options: MSS then NOPs). */
static void
tcp(struct fb *f, unsigned doff)
{
	put16(f, 40000);
	put16(f, 80);
	put32(f, 1000);
	put32(f, 0);
	put8(f, doff << 4);
	put8(f, 0x02);		/* SYN */
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	if (doff > 5) {
		put8(f, 2); put8(f, 4); put16(f, 1460);
		fill(f, (doff - 6) * 4, 0x01);
	}
}

/* Expected result; every field of struct parsed is compared. */
struct want {
	int kind, reason;
	unsigned l2, l3, l4, ip_len, payload, proto, vlans;
};

static void
check_frame(const struct fb *f, struct want w)
{
	struct parsed p;
	int rc = parse_at_edge(f->b, f->len, &p);

	assert_int_equal(rc, w.kind);
	assert_int_equal(p.kind, w.kind);
	assert_int_equal(p.reason, w.reason);
	assert_int_equal(p.l2_len, w.l2);
	assert_int_equal(p.l3_len, w.l3);
	assert_int_equal(p.l4_len, w.l4);
	assert_int_equal(p.ip_len, w.ip_len);
	assert_int_equal(p.payload_len, w.payload);
	assert_int_equal(p.ip_proto, w.proto);
	assert_int_equal(p.vlans, w.vlans);
}

/* Fields that follow a failing header stay 0. */
#define MALFORMED(r)	.kind = PK_MALFORMED, .reason = (r)

static void
test_eth(void **state)
{
	struct fb f;

	(void)state;
	/* Zero-length frame, right at the guard page. */
	f.len = 0;
	check_frame(&f, (struct want){ MALFORMED(PR_ETH_TRUNCATED) });
	eth(&f, 0x0800);
	f.len = 13;
	check_frame(&f, (struct want){ MALFORMED(PR_ETH_TRUNCATED) });
	/* 14 bytes of IPv4 ethertype: the IP header is what is missing. */
	f.len = 14;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_TRUNCATED), .l2 = 14 });

	/* ARP and IPv6 are not IPv4. */
	eth(&f, 0x0806);
	fill(&f, 28, 0);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 14 });
	eth(&f, 0x86dd);
	put32(&f, 0x60000000);
	fill(&f, 36, 0);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 14 });
	/* A bare Ethernet header with another type. */
	eth(&f, 0x88cc);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 14 });
}

static void
test_vlan(void **state)
{
	struct fb f;
	uint32_t full;

	(void)state;
	/* One tag (0x8100) and two (0x88a8 outside 0x8100), with TCP. */
	eth(&f, 0x8100);
	vlan(&f, 0x0064, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 18, .l3 = 20,
		    .l4 = 20, .ip_len = 40, .proto = 6, .vlans = 1 });
	eth(&f, 0x88a8);
	vlan(&f, 0x0064, 0x8100);
	vlan(&f, 0x00c8, 0x0800);
	ipv4(&f, 0x45, 45, 0, 6);
	tcp(&f, 5);
	fill(&f, 5, 'x');
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 22, .l3 = 20,
		    .l4 = 20, .ip_len = 45, .payload = 5, .proto = 6,
		    .vlans = 2 });
	/* 0x88a8 alone, and 0x8100 twice, are tags too. */
	eth(&f, 0x88a8);
	vlan(&f, 1, 0x0800);
	ipv4(&f, 0x45, 20, 0, 17);
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 18, .l3 = 20,
		    .ip_len = 20, .proto = 17, .vlans = 1 });
	eth(&f, 0x8100);
	vlan(&f, 1, 0x8100);
	vlan(&f, 2, 0x0806);
	fill(&f, 28, 0);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 22,
		    .vlans = 2 });

	/* Three tags: not parsed further, whatever follows. */
	eth(&f, 0x8100);
	vlan(&f, 1, 0x88a8);
	vlan(&f, 2, 0x8100);
	vlan(&f, 3, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 22,
		    .vlans = 2 });
	/* ... even when the third tag itself is cut off. */
	f.len = 22;
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 22,
		    .vlans = 2 });

	/* Truncated tags: exactly 4 bytes of tag are enough. */
	eth(&f, 0x8100);
	vlan(&f, 1, 0x0806);
	check_frame(&f, (struct want){ .kind = PK_NON_IP, .l2 = 18,
		    .vlans = 1 });
	for (full = 14; full < 18; full++) {
		f.len = full;
		check_frame(&f, (struct want){ MALFORMED(PR_VLAN_TRUNCATED) });
	}
	eth(&f, 0x88a8);
	vlan(&f, 1, 0x8100);
	vlan(&f, 2, 0x0806);
	for (full = 18; full < 22; full++) {
		f.len = full;
		check_frame(&f, (struct want){ MALFORMED(PR_VLAN_TRUNCATED),
			    .vlans = 1 });
	}
	/* A tagged frame whose IP header is short. */
	eth(&f, 0x8100);
	vlan(&f, 1, 0x0800);
	ipv4(&f, 0x45, 20, 0, 17);
	f.len--;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_TRUNCATED), .l2 = 18,
		    .vlans = 1 });
}

static void
test_ip_header(void **state)
{
	struct fb f;
	unsigned v;

	(void)state;
	/* 19 bytes of IPv4 header: truncated; 20: a whole header. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 20, 0, 17);
	f.len = 14 + 19;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_TRUNCATED), .l2 = 14 });
	f.len = 14 + 20;
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 20,
		    .ip_len = 20, .proto = 17 });

	/* Any version but 4. */
	for (v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		eth(&f, 0x0800);
		ipv4(&f, v << 4 | 5, 20, 0, 17);
		check_frame(&f, (struct want){ MALFORMED(PR_IP_VERSION),
			    .l2 = 14 });
	}

	/* IHL below 5. */
	for (v = 0; v < 5; v++) {
		eth(&f, 0x0800);
		ipv4(&f, 0x40 | v, 20, 0, 17);
		fill(&f, 40, 0);
		check_frame(&f, (struct want){ MALFORMED(PR_IP_IHL),
			    .l2 = 14 });
	}
	/* IHL*4 == the bytes after L2 is valid; one byte less is not. */
	for (v = 5; v <= 15; v++) {
		eth(&f, 0x0800);
		ipv4(&f, 0x40 | v, v * 4, 0, 17);
		assert_int_equal(f.len, 14 + v * 4);
		check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14,
			    .l3 = v * 4, .ip_len = v * 4, .proto = 17 });
		if (v > 5) {
			f.len--;
			check_frame(&f, (struct want){ MALFORMED(PR_IP_IHL),
				    .l2 = 14 });
		}
	}
}

static void
test_ip_len(void **state)
{
	struct fb f;

	(void)state;
	/* tot_len below the header. */
	eth(&f, 0x0800);
	ipv4(&f, 0x46, 23, 0, 17);
	fill(&f, 8, 0);
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 14 });
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 0, 0, 17);
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 14 });
	/* tot_len == header: valid, no payload. */
	eth(&f, 0x0800);
	ipv4(&f, 0x46, 24, 0, 17);
	fill(&f, 8, 0);
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 24,
		    .ip_len = 24, .proto = 17 });
	/* tot_len == the frame is valid; one more byte is not. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 48, 0, 17);
	fill(&f, 28, 0xab);
	assert_int_equal(f.len, 14 + 48);
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 20,
		    .ip_len = 48, .proto = 17 });
	f.b[14 + 3] = 49;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 14 });
	f.b[14 + 2] = 0xff;
	f.b[14 + 3] = 0xff;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 14 });
	/* The same boundary behind two tags. */
	eth(&f, 0x88a8);
	vlan(&f, 1, 0x8100);
	vlan(&f, 2, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 22, .l3 = 20,
		    .l4 = 20, .ip_len = 40, .proto = 6, .vlans = 2 });
	f.len--;
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 22,
		    .vlans = 2 });
}

static void
test_tcp_header(void **state)
{
	struct fb f;
	unsigned d;

	(void)state;
	/* 19 bytes of TCP: truncated, by tot_len and by the frame. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 39, 0, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ MALFORMED(PR_TCP_TRUNCATED), .l2 = 14,
		    .l3 = 20, .ip_len = 39, .proto = 6 });
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 20, 0, 6);
	check_frame(&f, (struct want){ MALFORMED(PR_TCP_TRUNCATED), .l2 = 14,
		    .l3 = 20, .ip_len = 20, .proto = 6 });
	/* 20 bytes: a whole header. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 20,
		    .l4 = 20, .ip_len = 40, .proto = 6 });

	/* Data offset below 5. */
	for (d = 0; d < 5; d++) {
		eth(&f, 0x0800);
		ipv4(&f, 0x45, 60, 0, 6);
		tcp(&f, 5);
		fill(&f, 20, 0);
		f.b[14 + 20 + 12] = (uint8_t)(d << 4);
		check_frame(&f, (struct want){ MALFORMED(PR_TCP_DOFF),
			    .l2 = 14, .l3 = 20, .ip_len = 60, .proto = 6 });
	}
	/* doff*4 == IP payload is valid; one byte less of IP is not. */
	for (d = 5; d <= 15; d++) {
		eth(&f, 0x0800);
		ipv4(&f, 0x45, 20 + d * 4, 0, 6);
		tcp(&f, d);
		check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14,
			    .l3 = 20, .l4 = d * 4, .ip_len = 20 + d * 4,
			    .proto = 6 });
		/*
		 * tot_len one short, the frame unchanged (so padded); with
		 * doff 5 that leaves less than a TCP header.
		 */
		f.b[14 + 3]--;
		check_frame(&f, (struct want){
			    MALFORMED(d == 5 ? PR_TCP_TRUNCATED : PR_TCP_DOFF),
			    .l2 = 14, .l3 = 20, .ip_len = 19 + d * 4,
			    .proto = 6 });
	}
	/* doff beyond the IP payload but inside the Ethernet padding. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	f.b[14 + 20 + 12] = 0x60;
	fill(&f, 20, 0);
	check_frame(&f, (struct want){ MALFORMED(PR_TCP_DOFF), .l2 = 14,
		    .l3 = 20, .ip_len = 40, .proto = 6 });
}

static void
test_tcp_valid(void **state)
{
	struct fb f;

	(void)state;
	/* IP options (IHL 7) + TCP options (doff 8) + 100 bytes. */
	eth(&f, 0x0800);
	ipv4(&f, 0x47, 28 + 32 + 100, 0x4000, 6);	/* DF: not a fragment */
	tcp(&f, 8);
	fill(&f, 100, 'p');
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 28,
		    .l4 = 32, .ip_len = 160, .payload = 100, .proto = 6 });
	/* Maximum header sizes: IHL 15 and doff 15. */
	eth(&f, 0x0800);
	ipv4(&f, 0x4f, 60 + 60 + 1, 0, 6);
	tcp(&f, 15);
	put8(&f, 'z');
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 60,
		    .l4 = 60, .ip_len = 121, .payload = 1, .proto = 6 });

	/* Ethernet padding: a 60-byte frame carrying 40 bytes of IP. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 40, 0, 6);
	tcp(&f, 5);
	fill(&f, 6, 0);
	assert_int_equal(f.len, 60);
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 20,
		    .l4 = 20, .ip_len = 40, .proto = 6 });
	/* Padding that looks like payload is not payload. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 43, 0, 6);
	tcp(&f, 5);
	fill(&f, 3, 'd');
	fill(&f, 300, 'P');
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 20,
		    .l4 = 20, .ip_len = 43, .payload = 3, .proto = 6 });
	/* A jumbo-sized datagram. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 1500, 0, 6);
	tcp(&f, 5);
	fill(&f, 1460, 'j');
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 20,
		    .l4 = 20, .ip_len = 1500, .payload = 1460, .proto = 6 });
}

static void
test_other_ip(void **state)
{
	struct fb f;

	(void)state;
	/* UDP: headers beyond IPv4 are not examined. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 36, 0, 17);
	put16(&f, 53); put16(&f, 53); put16(&f, 16); put16(&f, 0);
	fill(&f, 8, 'q');
	fill(&f, 10, 0);	/* padding */
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 20,
		    .ip_len = 36, .proto = 17 });
	/* ICMP echo, with IP options. */
	eth(&f, 0x0800);
	ipv4(&f, 0x46, 24 + 8, 0, 1);
	put8(&f, 8); put8(&f, 0); put16(&f, 0); put32(&f, 1);
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 24,
		    .ip_len = 32, .proto = 1 });
	/* A short "UDP" is still IPv4: only TCP is checked deeper. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 21, 0, 17);
	put8(&f, 0);
	check_frame(&f, (struct want){ .kind = PK_IPV4, .l2 = 14, .l3 = 20,
		    .ip_len = 21, .proto = 17 });
}

static void
test_fragments(void **state)
{
	static const unsigned frags[] = {
		0x2000,		/* MF, offset 0: first fragment */
		0x0001,		/* offset 8, no MF: last fragment */
		0x1fff,		/* largest offset */
		0x2005,		/* MF and an offset: middle fragment */
		0x6001,		/* DF with an offset: still a fragment */
		0x8001,		/* reserved bit with an offset */
	};
	struct fb f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		/* TCP first fragment carrying a whole header. */
		eth(&f, 0x0800);
		ipv4(&f, 0x45, 48, frags[i], 6);
		tcp(&f, 5);
		fill(&f, 8, 'f');
		check_frame(&f, (struct want){ .kind = PK_IPV4_FRAG,
			    .l2 = 14, .l3 = 20, .ip_len = 48, .proto = 6 });
		/* A fragment too short for TCP is a fragment, not bad TCP. */
		eth(&f, 0x0800);
		ipv4(&f, 0x45, 28, frags[i], 6);
		fill(&f, 8, 0);
		check_frame(&f, (struct want){ .kind = PK_IPV4_FRAG,
			    .l2 = 14, .l3 = 20, .ip_len = 28, .proto = 6 });
		/* UDP fragment behind a tag. */
		eth(&f, 0x8100);
		vlan(&f, 7, 0x0800);
		ipv4(&f, 0x46, 32, frags[i], 17);
		fill(&f, 8, 0);
		check_frame(&f, (struct want){ .kind = PK_IPV4_FRAG,
			    .l2 = 18, .l3 = 24, .ip_len = 32, .proto = 17,
			    .vlans = 1 });
	}
	/* DF alone and the reserved bit alone are not fragments. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 40, 0x8000, 6);
	tcp(&f, 5);
	check_frame(&f, (struct want){ .kind = PK_TCP, .l2 = 14, .l3 = 20,
		    .l4 = 20, .ip_len = 40, .proto = 6 });
	/* Length checks come before the fragment test. */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 100, 0x2000, 6);
	check_frame(&f, (struct want){ MALFORMED(PR_IP_LEN), .l2 = 14 });
}

static void
test_reason_names(void **state)
{
	static const char *const names[PR__COUNT] = {
		"none", "eth_truncated", "vlan_truncated", "ip_truncated",
		"ip_version", "ip_ihl", "ip_len", "tcp_truncated", "tcp_doff",
	};
	int r;

	(void)state;
	for (r = 0; r < PR__COUNT; r++)
		assert_string_equal(parse_reason_name(r), names[r]);
	assert_string_equal(parse_reason_name(PR__COUNT), "unknown");
	assert_string_equal(parse_reason_name(-1), "unknown");
	assert_string_equal(parse_reason_name(255), "unknown");
}

/*
 * Model of parse_frame() written from parse.h's contract, for the fuzz
 * loop; it works on the whole frame with explicit offsets.
 */
static void
model(const uint8_t *f, uint32_t len, struct parsed *m)
{
	uint32_t l2 = 14, ihl, tot, doff;
	unsigned et;

	memset(m, 0, sizeof(*m));
	m->kind = PK_MALFORMED;
	if (len < 14) {
		m->reason = PR_ETH_TRUNCATED;
		return;
	}
	et = (unsigned)f[12] << 8 | f[13];
	while (et == 0x8100 || et == 0x88a8) {
		if (m->vlans == 2)
			break;
		if (len < l2 + 4) {
			m->reason = PR_VLAN_TRUNCATED;
			return;
		}
		et = (unsigned)f[l2 + 2] << 8 | f[l2 + 3];
		l2 += 4;
		m->vlans++;
	}
	m->l2_len = (uint16_t)l2;
	if (et != 0x0800) {
		m->kind = PK_NON_IP;
		return;
	}
	if (len < l2 + 20) {
		m->reason = PR_IP_TRUNCATED;
		return;
	}
	if (f[l2] >> 4 != 4) {
		m->reason = PR_IP_VERSION;
		return;
	}
	ihl = (f[l2] & 15u) * 4;
	if (ihl < 20 || l2 + ihl > len) {
		m->reason = PR_IP_IHL;
		return;
	}
	tot = (uint32_t)f[l2 + 2] << 8 | f[l2 + 3];
	if (tot < ihl || l2 + tot > len) {
		m->reason = PR_IP_LEN;
		return;
	}
	m->l3_len = (uint16_t)ihl;
	m->ip_len = (uint16_t)tot;
	m->ip_proto = f[l2 + 9];
	if ((f[l2 + 6] & 0x3f) != 0 || f[l2 + 7] != 0) {
		m->kind = PK_IPV4_FRAG;
		return;
	}
	if (m->ip_proto != 6) {
		m->kind = PK_IPV4;
		return;
	}
	if (ihl + 20 > tot) {
		m->reason = PR_TCP_TRUNCATED;
		return;
	}
	doff = (uint32_t)(f[l2 + ihl + 12] >> 4) * 4;
	if (doff < 20 || ihl + doff > tot) {
		m->reason = PR_TCP_DOFF;
		return;
	}
	m->l4_len = (uint16_t)doff;
	m->payload_len = (uint16_t)(tot - ihl - doff);
	m->kind = PK_TCP;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	/* xorshift64*: deterministic, so failures reproduce. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* Random bytes with plausible headers written over them. */
static uint32_t
random_frame(uint8_t *b)
{
	static const unsigned tpids[] = { 0x8100, 0x88a8, 0x0800, 0x0806 };
	uint32_t len = rnd() % 201, i, off = 14, ip, ihl;
	int tags = (int)(rnd() % 4);

	for (i = 0; i < 200; i++)
		b[i] = (uint8_t)rnd();
	if (rnd() % 8 == 0)
		return len;	/* pure noise */
	/* Ethertype chain: up to three tags, mostly ending in IPv4. */
	b[12] = 0x08;
	b[13] = 0x00;
	for (i = 0; i < (uint32_t)tags; i++) {
		unsigned t = tpids[rnd() % 2];

		b[off - 2] = (uint8_t)(t >> 8);
		b[off - 1] = (uint8_t)t;
		b[off + 2] = 0x08;
		b[off + 3] = 0x00;
		off += 4;
	}
	if (rnd() % 10 == 0) {
		unsigned t = tpids[rnd() % 4];

		b[off - 2] = (uint8_t)(t >> 8);
		b[off - 1] = (uint8_t)t;
	}
	ip = off;
	ihl = rnd() % 4 == 0 ? rnd() % 16 : 5 + rnd() % 3;
	b[ip] = (uint8_t)((rnd() % 16 == 0 ? rnd() % 16 : 4) << 4 | ihl);
	/* Total length near what the frame holds, sometimes anything. */
	if (rnd() % 8 != 0 && len > ip) {
		int tot = (int)(len - ip) - (int)(rnd() % 8) + 2;

		if (rnd() % 4 == 0)
			tot -= (int)(rnd() % 64);
		if (tot < 0)
			tot = 0;
		b[ip + 2] = (uint8_t)(tot >> 8);
		b[ip + 3] = (uint8_t)tot;
	}
	b[ip + 6] = rnd() % 4 == 0 ? b[ip + 6] : 0x40;
	b[ip + 7] = rnd() % 4 == 0 ? b[ip + 7] : 0;
	b[ip + 9] = rnd() % 5 == 0 ? b[ip + 9] : 6;
	if (ip + ihl * 4 + 12 < 200)
		b[ip + ihl * 4 + 12] = (uint8_t)((rnd() % 4 == 0 ?
						  rnd() % 16 :
						  5 + rnd() % 4) << 4);
	return len;
}

static void
test_fuzz(void **state)
{
	uint8_t b[200];
	unsigned counts[PK_MALFORMED + 1] = { 0 };
	unsigned reasons[PR__COUNT] = { 0 };
	int i, k;

	(void)state;
	for (i = 0; i < 400000; i++) {
		uint32_t len = random_frame(b);
		struct parsed p, m;
		int rc;

		rc = parse_at_edge(b, len, &p);
		assert_int_equal(rc, p.kind);
		assert_in_range(p.kind, PK_NON_IP, PK_MALFORMED);
		counts[p.kind]++;
		if (p.kind == PK_MALFORMED) {
			assert_in_range(p.reason, PR_NONE + 1, PR__COUNT - 1);
			reasons[p.reason]++;
		} else {
			assert_int_equal(p.reason, PR_NONE);
			assert_true(p.vlans <= 2);
			assert_int_equal(p.l2_len, 14 + 4 * p.vlans);
		}
		if (p.kind == PK_TCP) {
			assert_true(p.l2_len + p.ip_len <= len);
			assert_int_equal(p.l3_len + p.l4_len + p.payload_len,
					 p.ip_len);
			assert_true(p.l3_len >= 20);
			assert_true(p.l4_len >= 20);
		}
		if (p.kind == PK_IPV4 || p.kind == PK_IPV4_FRAG) {
			assert_true(p.l2_len + p.ip_len <= len);
			assert_true(p.l3_len >= 20 && p.l3_len <= p.ip_len);
		}
		model(b, len, &m);
		if (memcmp(&p, &m, sizeof(p)) != 0) {
			print_error("frame %d (len %u): parser kind %d reason "
				    "%d l2 %u l3 %u l4 %u ip %u pay %u; model "
				    "kind %d reason %d l2 %u l3 %u l4 %u ip %u "
				    "pay %u\n", i, len, p.kind, p.reason,
				    p.l2_len, p.l3_len, p.l4_len, p.ip_len,
				    p.payload_len, m.kind, m.reason, m.l2_len,
				    m.l3_len, m.l4_len, m.ip_len,
				    m.payload_len);
			fail();
		}
	}
	/* The generator must reach every outcome for the loop to mean much. */
	for (k = PK_NON_IP; k <= PK_MALFORMED; k++)
		assert_true(counts[k] > 100);
	for (k = PR_NONE + 1; k < PR__COUNT; k++)
		assert_true(reasons[k] > 100);
}

/*
 * The parser takes the common frame (untagged IPv4 without options, TCP)
 * by a shortcut: every byte its tests read, and the frame's length, are
 * set to every value around a plain segment, and each result must be the
 * model's, inside and outside the shortcut alike.
 */
static void
test_plain_shortcut(void **state)
{
	struct fb f;
	uint32_t base_len, len;
	unsigned pos, v, took = 0;

	(void)state;
	memset(&f, 0, sizeof(f));	/* lengths past the frame read zeros */
	eth(&f, 0x0800);
	ipv4(&f, 0x45, 20 + 20 + 30, 0x4000, 6);
	tcp(&f, 5);
	fill(&f, 30, 0x61);
	base_len = f.len;
	for (pos = 0; pos < 54; pos++) {
		for (v = 0; v < 256; v++) {
			struct fb g = f;
			struct parsed p, m;

			g.b[pos] = (uint8_t)v;
			parse_at_edge(g.b, g.len, &p);
			model(g.b, g.len, &m);
			assert_memory_equal(&p, &m, sizeof(p));
			took += p.kind == PK_TCP && p.l3_len == 20 &&
				p.vlans == 0;
		}
	}
	/* Every length from nothing to past the datagram's end. */
	for (len = 0; len <= base_len + 8; len++) {
		struct parsed p, m;

		parse_at_edge(f.b, len, &p);
		model(f.b, len, &m);
		assert_memory_equal(&p, &m, sizeof(p));
		assert_int_equal(p.kind, len < base_len ? PK_MALFORMED : PK_TCP);
	}
	/* Most single-byte changes leave a plain TCP segment. */
	assert_true(took > 54 * 256 / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_ip_header),
		cmocka_unit_test(test_ip_len),
		cmocka_unit_test(test_tcp_header),
		cmocka_unit_test(test_tcp_valid),
		cmocka_unit_test(test_other_ip),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_plain_shortcut),
	};

	return cmocka_run_group_tests(tests, setup_guard, teardown_guard);
}
