/*
 * modify.c - test plugin: changes packets with mtcp_setlastpkt,
 * mtcp_sendpkt and mtcp_reset_conn as --plugin-arg values say, and logs
 * every call, so tests can compare the output capture with the input.
 *
 * Which packets: those sent in direction dir=c2s|s2c|both (default c2s),
 * seen by MOS_ON_PKT_IN at hook=snd|rcv (default snd); with nth=N only the
 * Nth packet with payload of that direction in each flow (default: all).
 * What is done to them (any mix, in this order):
 *   pattern=P replace=R  overwrite each occurrence of P in the payload
 *                        with R (same length)
 *   ttl=N                IP TTL (offset 8 of the IP header)
 *   sport=N, dport=N     TCP ports (offsets 0 and 2 of the TCP header)
 *   ipopt=N, tcpopt=N    N > 0: insert N bytes of NOP options at the end
 *                        of the IP or TCP header; N < 0: remove -N bytes
 *                        at the start of its options
 *   insert=N at=K        insert N bytes "ABC..." at payload offset K
 *   chomp=N at=K         remove N bytes at payload offset K (these two
 *                        only in packets with payload)
 *   sendpkt[=noeth]      send a copy with payload SENDPKT_MARK, its
 *                        lengths and checksums spoiled for moonbox to fix
 *                        (noeth: without Ethernet header, ethh NULL)
 *   invalid=FILE         (first such packet of the core) try calls that
 *                        must fail; FILE.<core> gets "name result state",
 *                        state "intact" when the frame did not change.
 *                        Also tries calls without a packet (new data),
 *                        mtcp_reset_conn before the SYN/ACK, a raw
 *                        socket's calls on UDP and non-IP frames, and
 *                        edits of a TCP segment reassembled from IP
 *                        fragments (its payload starts with FRAG_MARK).
 *   drop                 MOS_DROP (with other option bits, which it ignores)
 *   reset                mtcp_reset_conn
 *   nocsum               leave out MOS_UPDATE_IP_CHKSUM|MOS_UPDATE_TCP_CHKSUM
 *   log=FILE             FILE.<core>: "op sport dport seq result" per call,
 *                        "end cliport svrport side" per MOS_ON_CONN_END and
 *                        "orphan sport dport seq" per MOS_ON_ORPHAN
 * A result is OK or the errno's name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <moonbox.h>

#define SENDPKT_MARK	"moonbox-sendpkt!"
#define FRAG_MARK	"fragmented:"
#define MAX_CORES	64
#define SNAP_MAX	16384

enum {
	DO_OVERWRITE = 1 << 0,
	DO_TTL = 1 << 1,
	DO_PORTS = 1 << 2,
	DO_INSERT = 1 << 3,
	DO_CHOMP = 1 << 4,
	DO_SENDPKT = 1 << 5,
	DO_INVALID = 1 << 6,
	DO_DROP = 1 << 7,
	DO_RESET = 1 << 8,
	DO_OPTS = 1 << 9,
};

static unsigned int todo;
static int hook = MOS_HK_SND;
static unsigned int dirs = 1u << MOS_SIDE_CLI;
static unsigned long nth;
static const char *pattern, *replace;
static int ttl = -1, sport = -1, dport = -1, ipopt, tcpopt, noeth;
static unsigned long ins_len, chomp_len, at;
static int csum = MOS_UPDATE_IP_CHKSUM | MOS_UPDATE_TCP_CHKSUM;
static const char *log_path, *invalid_path;

/* Per core. */
static FILE *log_file[MAX_CORES], *inv_file[MAX_CORES];
static int listener[MAX_CORES];
static int invalid_done[MAX_CORES], newdata_done[MAX_CORES];
static int raw_udp_done[MAX_CORES], raw_nonip_done[MAX_CORES];

/* Read-only source for inserts (and for lengths no frame can take). */
static const uint8_t zeros[65536];
static uint8_t letters[65536], nops[60];

struct snap {
	uint16_t len;
	uint8_t b[SNAP_MAX];
};

static const char *
err_name(int e)
{
	static __thread char num[16];

	switch (e) {
	case 0: return "OK";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ENODATA: return "ENODATA";
	case ENOSPC: return "ENOSPC";
	case ENOTSOCK: return "ENOTSOCK";
	case ENOTCONN: return "ENOTCONN";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EAGAIN: return "EAGAIN";
	case ENOBUFS: return "ENOBUFS";
	}
	snprintf(num, sizeof(num), "E%d", e);
	return num;
}

/* errno of a call that returned ret (0 for success). */
static int
result(int ret)
{
	return ret == 0 ? 0 : ret == -1 ? errno : -1000;
}

static void
log_op(mctx_t m, const char *op, const struct pkt_info *p, int err)
{
	FILE *f = log_file[m->cpu];

	if (f == NULL)
		return;
	fprintf(f, "%s %u %u %u %s\n", op, ntohs(p->tcph->source),
		ntohs(p->tcph->dest), p->seq, err_name(err));
	fflush(f);
}

static int
snap_take(mctx_t m, int sock, struct snap *s)
{
	struct pkt_info p;

	if (mtcp_getlastpkt(m, sock, MOS_SIDE_BOTH, &p) != 0 ||
	    p.eth_len > SNAP_MAX)
		return -1;
	s->len = p.eth_len;
	memcpy(s->b, p.ethh, p.eth_len);
	return 0;
}

static int
snap_same(mctx_t m, int sock, const struct snap *s)
{
	struct snap now;

	return snap_take(m, sock, &now) == 0 && now.len == s->len &&
	       memcmp(now.b, s->b, s->len) == 0;
}

/* One line of the invalid-call report: the call's result and whether the
 * frame (read through `good`, a socket allowed to see it) is unchanged. */
static void
report(mctx_t m, int good, const char *name, int err, const struct snap *s)
{
	FILE *f = inv_file[m->cpu];

	if (f == NULL)
		return;
	fprintf(f, "%s %s %s\n", name, err_name(err),
		s == NULL ? "-" : snap_same(m, good, s) ? "intact" : "CHANGED");
	fflush(f);
}

static void
try_set(mctx_t m, int good, const struct snap *s, const char *name,
	int sock, int side, off_t off, const uint8_t *data, uint16_t len,
	int opt)
{
	errno = 0;
	report(m, good, name, result(mtcp_setlastpkt(m, sock, side, off,
			(byte *)data, len, opt)), s);
}

/* A copy of *p in buf with the four pointers moved into it. */
static int
pkt_copy(const struct pkt_info *p, struct pkt_info *q, uint8_t *buf,
	 size_t room, const void *payload, uint16_t plen)
{
	const uint8_t *base = (const uint8_t *)p->ethh;
	size_t hl = p->payload - base;

	if (p->tcph == NULL || hl + plen > room)
		return -1;
	memcpy(buf, base, hl);
	memcpy(buf + hl, payload, plen);
	*q = *p;
	q->ethh = (struct ethhdr *)buf;
	q->iph = (struct iphdr *)(buf + ((const uint8_t *)p->iph - base));
	q->tcph = (struct tcphdr *)(buf + ((const uint8_t *)p->tcph - base));
	q->payload = buf + hl;
	q->payloadlen = plen;
	return 0;
}

static int
send_copy(mctx_t m, int sock, const struct pkt_info *p)
{
	/* The frame 2 bytes in, as mtcp_getlastpkt places it: the IP and
	 * TCP headers are then 4-byte aligned for the struct accesses. */
	uint8_t raw[258] __attribute__((aligned(4)));
	uint8_t *buf = raw + 2;
	struct pkt_info q;

	if (pkt_copy(p, &q, buf, sizeof(raw) - 2, SENDPKT_MARK,
		     sizeof(SENDPKT_MARK) - 1) != 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (noeth)
		q.ethh = NULL;
	/* mtcp_sendpkt fills these in. */
	q.iph->tot_len = 0;
	q.iph->check = htons(0xbeef);
	q.tcph->check = htons(0xbeef);
	return mtcp_sendpkt(m, sock, &q);
}

/* Calls of mtcp_sendpkt and mtcp_reset_conn that must fail and send
 * nothing. */
static void
invalid_send_reset(mctx_t m, int sock, const struct pkt_info *p,
		   const struct snap *s)
{
	uint8_t buf[256];
	struct pkt_info q;

	report(m, sock, "sendpkt_null", result(mtcp_sendpkt(m, sock, NULL)),
	       s);
	report(m, sock, "sendpkt_bad_sock",
	       result(send_copy(m, -1, p)), s);
	/* Each copy below is of the same frame into the same room. */
	if (pkt_copy(p, &q, buf, sizeof(buf), "x", 1) != 0)
		return;
	q.iph = NULL;
	report(m, sock, "sendpkt_no_iph", result(mtcp_sendpkt(m, sock, &q)), s);
	pkt_copy(p, &q, buf, sizeof(buf), "x", 1);
	q.tcph = NULL;
	report(m, sock, "sendpkt_no_tcph", result(mtcp_sendpkt(m, sock, &q)),
	       s);
	pkt_copy(p, &q, buf, sizeof(buf), "x", 1);
	((uint8_t *)q.iph)[0] = 0x44;
	report(m, sock, "sendpkt_ihl_16", result(mtcp_sendpkt(m, sock, &q)),
	       s);
	pkt_copy(p, &q, buf, sizeof(buf), "x", 1);
	((uint8_t *)q.tcph)[12] = 4 << 4;
	report(m, sock, "sendpkt_doff_16", result(mtcp_sendpkt(m, sock, &q)),
	       s);
	pkt_copy(p, &q, buf, sizeof(buf), "x", 1);
	q.payload = NULL;
	report(m, sock, "sendpkt_payload_null",
	       result(mtcp_sendpkt(m, sock, &q)), s);
	pkt_copy(p, &q, buf, sizeof(buf), "x", 1);
	q.payload = (uint8_t *)zeros;
	q.payloadlen = 65535;
	report(m, sock, "sendpkt_too_long", result(mtcp_sendpkt(m, sock, &q)),
	       s);
	report(m, sock, "reset_listener",
	       result(mtcp_reset_conn(m, listener[m->cpu])), s);
	report(m, sock, "reset_bad_sock", result(mtcp_reset_conn(m, -1)), s);
}

/* Every way of calling mtcp_setlastpkt wrongly, on a TCP data segment. */
static void
invalid_calls(mctx_t m, int sock, int side)
{
	const int ow = MOS_OVERWRITE | csum, pl = MOS_TCP_PAYLOAD;
	static struct snap s[MAX_CORES];
	struct snap *sn = &s[m->cpu];
	struct pkt_info p;
	uint8_t ip[60], tcp[60], b[4] = { 1, 2, 3, 4 };
	uint16_t ihl, doff, plen, tot;
	const uint8_t *base;

	if (mtcp_getlastpkt(m, sock, side, &p) != 0 || p.tcph == NULL ||
	    p.payloadlen < 4 || snap_take(m, sock, sn) != 0)
		return;
	/* The calls below reuse getlastpkt's buffer: point into the copy. */
	base = (const uint8_t *)p.ethh;
	p.iph = (struct iphdr *)(sn->b + ((const uint8_t *)p.iph - base));
	p.tcph = (struct tcphdr *)(sn->b + ((const uint8_t *)p.tcph - base));
	p.payload = sn->b + (p.payload - base);
	p.ethh = (struct ethhdr *)sn->b;
	ihl = (uint16_t)(p.iph->ihl * 4);
	doff = (uint16_t)(p.tcph->doff * 4);
	plen = p.payloadlen;
	memcpy(ip, p.iph, ihl);
	memcpy(tcp, p.tcph, doff);

	/* Actions: none, or more than one. */
	try_set(m, sock, sn, "no_action", sock, side, 0, b, 1, pl | csum);
	try_set(m, sock, sn, "overwrite_chomp", sock, side, 0, b, 1,
		ow | MOS_CHOMP | pl);
	try_set(m, sock, sn, "overwrite_insert", sock, side, 0, b, 1,
		ow | MOS_INSERT | pl);
	try_set(m, sock, sn, "chomp_insert", sock, side, 0, b, 1,
		MOS_CHOMP | MOS_INSERT | pl);
	try_set(m, sock, sn, "drop_insert", sock, side, 0, b, 1,
		MOS_DROP | MOS_INSERT | pl);
	try_set(m, sock, sn, "drop_overwrite", sock, side, 0, b, 1,
		MOS_DROP | ow | pl);
	/* Regions: none, or more than one. */
	try_set(m, sock, sn, "no_region", sock, side, 0, b, 1, ow);
	try_set(m, sock, sn, "ip_and_tcp", sock, side, 0, b, 1,
		ow | MOS_IP_HDR | MOS_TCP_HDR);
	try_set(m, sock, sn, "tcp_and_payload", sock, side, 0, b, 1,
		ow | MOS_TCP_HDR | pl);
	try_set(m, sock, sn, "all_regions", sock, side, 0, b, 1,
		ow | MOS_ETH_HDR | MOS_IP_HDR | MOS_TCP_HDR | pl);
	/* Unknown bits. */
	try_set(m, sock, sn, "unknown_bit_10", sock, side, 0, b, 1,
		ow | pl | (1 << 10));
	try_set(m, sock, sn, "unknown_bit_30", sock, side, 0, b, 1,
		ow | pl | (1 << 30));
	/* Offsets and ranges. */
	try_set(m, sock, sn, "negative_offset", sock, side, -1, b, 1, ow | pl);
	try_set(m, sock, sn, "offset_2_32", sock, side, (off_t)1 << 32, b, 1,
		ow | pl);
	try_set(m, sock, sn, "payload_past_end", sock, side, plen - 1, b, 2,
		ow | pl);
	try_set(m, sock, sn, "payload_at_end", sock, side, plen, b, 1,
		ow | pl);
	try_set(m, sock, sn, "eth_past_end", sock, side, 13, b, 2,
		ow | MOS_ETH_HDR);
	try_set(m, sock, sn, "ip_past_end", sock, side, ihl - 1, b, 2,
		ow | MOS_IP_HDR);
	try_set(m, sock, sn, "tcp_past_end", sock, side, doff - 1, b, 2,
		ow | MOS_TCP_HDR);
	try_set(m, sock, sn, "chomp_past_end", sock, side, 0, NULL, plen + 1,
		MOS_CHOMP | pl | csum);
	try_set(m, sock, sn, "chomp_offset_past_end", sock, side, plen - 1,
		NULL, 2, MOS_CHOMP | pl | csum);
	try_set(m, sock, sn, "insert_past_end", sock, side, plen + 1, b, 1,
		MOS_INSERT | pl | csum);
	/* Data NULL with a length. */
	try_set(m, sock, sn, "null_overwrite", sock, side, 0, NULL, 4,
		ow | pl);
	try_set(m, sock, sn, "null_insert", sock, side, 0, NULL, 4,
		MOS_INSERT | pl | csum);
	/* Length changes of the Ethernet header and of fixed headers. */
	try_set(m, sock, sn, "chomp_eth", sock, side, 0, NULL, 2,
		MOS_CHOMP | MOS_ETH_HDR);
	try_set(m, sock, sn, "insert_eth", sock, side, 12, b, 4,
		MOS_INSERT | MOS_ETH_HDR);
	try_set(m, sock, sn, "insert_ip_fixed", sock, side, 8, b, 4,
		MOS_INSERT | MOS_IP_HDR | csum);
	try_set(m, sock, sn, "chomp_ip_fixed", sock, side, 16, NULL, 4,
		MOS_CHOMP | MOS_IP_HDR | csum);
	try_set(m, sock, sn, "chomp_tcp_fixed", sock, side, 0, NULL, 4,
		MOS_CHOMP | MOS_TCP_HDR | csum);
	/* Option inserts: 4-byte units, 60 bytes at most. */
	try_set(m, sock, sn, "insert_ip_opt_3", sock, side, ihl, zeros, 3,
		MOS_INSERT | MOS_IP_HDR | csum);
	try_set(m, sock, sn, "insert_ip_opt_to_64", sock, side, ihl, zeros,
		(uint16_t)(64 - ihl), MOS_INSERT | MOS_IP_HDR | csum);
	try_set(m, sock, sn, "insert_tcp_opt_2", sock, side, doff, zeros, 2,
		MOS_INSERT | MOS_TCP_HDR | csum);
	try_set(m, sock, sn, "insert_tcp_opt_to_64", sock, side, doff, zeros,
		(uint16_t)(64 - doff), MOS_INSERT | MOS_TCP_HDR | csum);
	/* Plain overwrites may not change a length field. */
	b[0] = (uint8_t)((ip[0] & 0xf0) | ((ip[0] & 0x0f) + 1));
	try_set(m, sock, sn, "overwrite_ihl", sock, side, 0, b, 1,
		ow | MOS_IP_HDR);
	tot = (uint16_t)((ip[2] << 8 | ip[3]) - 1);
	b[0] = (uint8_t)(tot >> 8);
	b[1] = (uint8_t)tot;
	try_set(m, sock, sn, "overwrite_tot_len", sock, side, 2, b, 2,
		ow | MOS_IP_HDR);
	b[0] = (uint8_t)((tcp[12] & 0x0f) | ((tcp[12] >> 4) + 1) << 4);
	try_set(m, sock, sn, "overwrite_doff", sock, side, 12, b, 1,
		ow | MOS_TCP_HDR);
	/* Too long for any frame buffer, though a valid IP length. */
	tot = (uint16_t)(ip[2] << 8 | ip[3]);
	try_set(m, sock, sn, "insert_no_room", sock, side, 0, zeros,
		(uint16_t)(65535 - tot), MOS_INSERT | pl | csum);
	/* Bad socket or side. */
	try_set(m, sock, sn, "bad_side", sock, 7, 0, b, 1, ow | pl);
	try_set(m, sock, sn, "bad_sock", -1, side, 0, b, 1, ow | pl);
	try_set(m, sock, sn, "bad_sock_big", 1 << 20, side, 0, b, 1, ow | pl);
	/* Allowed, and changing nothing: the same bytes over the lengths,
	 * and an empty overwrite. */
	try_set(m, sock, sn, "same_ip_header", sock, side, 0, ip, ihl,
		ow | MOS_IP_HDR);
	try_set(m, sock, sn, "same_tcp_header", sock, side, 0, tcp, doff,
		ow | MOS_TCP_HDR);
	try_set(m, sock, sn, "empty_overwrite", sock, side, 0, NULL, 0,
		ow | pl);
	/* Controls of the report itself: a real change shows, and undoing
	 * it gives the frame back byte for byte. */
	b[0] = (uint8_t)~p.payload[0];
	try_set(m, sock, sn, "control_change", sock, side, 0, b, 1, ow | pl);
	b[0] = p.payload[0];
	try_set(m, sock, sn, "control_restore", sock, side, 0, b, 1, ow | pl);
	invalid_send_reset(m, sock, &p, sn);
}

/* The fragments of a reassembled segment have been forwarded already. */
static void
invalid_reassembled(mctx_t m, int sock, int side)
{
	static struct snap s[MAX_CORES];
	struct snap *sn = &s[m->cpu];
	uint8_t b = '!';

	if (snap_take(m, sock, sn) != 0)
		return;
	try_set(m, sock, sn, "reassembled_overwrite", sock, side, 0, &b, 1,
		MOS_OVERWRITE | MOS_TCP_PAYLOAD | csum);
	try_set(m, sock, sn, "reassembled_drop", sock, side, 0, NULL, 0,
		MOS_DROP);
}

/* Insert n bytes of NOP options at the end of a header of length hl, or
 * remove -n bytes after its fixed part. */
static void
edit_opts(mctx_t m, int sock, int side, const struct pkt_info *p, int region,
	  int n, uint16_t hl, const char *op)
{
	int ret;

	if (n > 0)
		ret = mtcp_setlastpkt(m, sock, side, hl, nops, (uint16_t)n,
				      MOS_INSERT | region | csum);
	else if (n < 0)
		ret = mtcp_setlastpkt(m, sock, side, 20, NULL, (uint16_t)-n,
				      MOS_CHOMP | region | csum);
	else
		return;
	log_op(m, op, p, result(ret));
}

static void
on_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	int sender = hook == MOS_HK_RCV ? side ^ 1 : side;
	int opt_pl = MOS_TCP_PAYLOAD | csum, err;
	struct pkt_info p;
	uintptr_t u, n;
	uint16_t v;

	if (mtcp_getlastpkt(m, sock, side, &p) != 0 || p.tcph == NULL)
		return;
	if ((todo & DO_INVALID) && p.payloadlen >= sizeof(FRAG_MARK) - 1 &&
	    memcmp(p.payload, FRAG_MARK, sizeof(FRAG_MARK) - 1) == 0) {
		invalid_reassembled(m, sock, side);
		return;
	}
	if (!(dirs & (1u << sender)))
		return;
	if (nth > 0) {
		/* Data segments counted per direction, packed in the flow's
		 * user pointer (nothing to free). */
		if (p.payloadlen == 0)
			return;
		u = (uintptr_t)mtcp_get_uctx(m, sock);
		n = ((u >> (16 * sender)) & 0xffff) + 1;
		if (n <= 0xffff)
			mtcp_set_uctx(m, sock, (void *)((u & ~((uintptr_t)0xffff
				<< (16 * sender))) | n << (16 * sender)));
		if (n != nth)
			return;
	}
	if (todo & DO_OVERWRITE) {
		size_t pl = strlen(pattern), o = 0;
		const uint8_t *hit;

		while (o + pl <= p.payloadlen &&
		       (hit = memmem(p.payload + o, p.payloadlen - o, pattern,
				     pl)) != NULL) {
			o = (size_t)(hit - p.payload);
			err = result(mtcp_setlastpkt(m, sock, side, (off_t)o,
					(byte *)replace, (uint16_t)pl,
					MOS_OVERWRITE | opt_pl));
			log_op(m, "overwrite", &p, err);
			o += pl;
		}
	}
	if (todo & DO_TTL) {
		uint8_t t = (uint8_t)ttl;

		err = result(mtcp_setlastpkt(m, sock, side, 8, &t, 1,
				MOS_OVERWRITE | MOS_IP_HDR | csum));
		log_op(m, "ttl", &p, err);
	}
	if ((todo & DO_PORTS) && sport >= 0) {
		v = htons((uint16_t)sport);
		err = result(mtcp_setlastpkt(m, sock, side, 0, (byte *)&v, 2,
				MOS_OVERWRITE | MOS_TCP_HDR | csum));
		log_op(m, "sport", &p, err);
	}
	if ((todo & DO_PORTS) && dport >= 0) {
		v = htons((uint16_t)dport);
		err = result(mtcp_setlastpkt(m, sock, side, 2, (byte *)&v, 2,
				MOS_OVERWRITE | MOS_TCP_HDR | csum));
		log_op(m, "dport", &p, err);
	}
	if (todo & DO_OPTS) {
		edit_opts(m, sock, side, &p, MOS_IP_HDR, ipopt,
			  (uint16_t)(p.iph->ihl * 4), "ipopt");
		edit_opts(m, sock, side, &p, MOS_TCP_HDR, tcpopt,
			  (uint16_t)(p.tcph->doff * 4), "tcpopt");
	}
	if ((todo & DO_INSERT) && p.payloadlen > 0) {
		err = result(mtcp_setlastpkt(m, sock, side, (off_t)at, letters,
				(uint16_t)ins_len, MOS_INSERT | opt_pl));
		log_op(m, "insert", &p, err);
	}
	if ((todo & DO_CHOMP) && p.payloadlen > 0) {
		err = result(mtcp_setlastpkt(m, sock, side, (off_t)at, NULL,
				(uint16_t)chomp_len, MOS_CHOMP | opt_pl));
		log_op(m, "chomp", &p, err);
	}
	if (todo & DO_SENDPKT)
		log_op(m, "sendpkt", &p, result(send_copy(m, sock, &p)));
	if ((todo & DO_INVALID) && !invalid_done[m->cpu]) {
		invalid_done[m->cpu] = 1;
		invalid_calls(m, sock, side);
	}
	if (todo & DO_DROP)
		log_op(m, "drop", &p, result(mtcp_setlastpkt(m, sock, side, 0,
			NULL, 0, MOS_DROP | MOS_TCP_PAYLOAD | csum)));
	if (todo & DO_RESET)
		log_op(m, "reset", &p, result(mtcp_reset_conn(m, sock)));
}

static void
on_end(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct sockaddr_in a[2];
	socklen_t len = sizeof(a);

	if (log_file[m->cpu] == NULL ||
	    mtcp_getpeername(m, sock, (struct sockaddr *)a, &len,
			     MOS_SIDE_BOTH) != 0)
		return;
	fprintf(log_file[m->cpu], "end %u %u %s\n", ntohs(a[MOS_SIDE_CLI].sin_port),
		ntohs(a[MOS_SIDE_SVR].sin_port),
		side == MOS_SIDE_CLI ? "CLI" : "SVR");
	fflush(log_file[m->cpu]);
}

static void
on_orphan(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;

	if (log_file[m->cpu] == NULL || mtcp_getlastpkt(m, sock, side, &p) != 0 ||
	    p.tcph == NULL)
		return;
	fprintf(log_file[m->cpu], "orphan %u %u %u\n", ntohs(p.tcph->source),
		ntohs(p.tcph->dest), p.seq);
	fflush(log_file[m->cpu]);
}

/* Without a packet, nothing may be read or changed. */
static void
on_newdata(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	struct pkt_info p;
	uint8_t b = 0;

	if (newdata_done[m->cpu])
		return;
	newdata_done[m->cpu] = 1;
	errno = 0;
	report(m, sock, "newdata_getlastpkt",
	       result(mtcp_getlastpkt(m, sock, side, &p)), NULL);
	errno = 0;
	report(m, sock, "newdata_setlastpkt",
	       result(mtcp_setlastpkt(m, sock, side, 0, &b, 1,
				      MOS_OVERWRITE | MOS_TCP_PAYLOAD)), NULL);
}

/* The server has not answered: there is no sequence number to reset. */
static void
on_start(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	errno = 0;
	report(m, sock, "reset_before_synack",
	       result(mtcp_reset_conn(m, sock)), NULL);
}

/* Regions a raw socket's non-TCP frame does not have. */
static void
on_raw(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	static struct snap s[MAX_CORES];
	struct snap *sn = &s[m->cpu];
	const int ow = MOS_OVERWRITE | MOS_UPDATE_IP_CHKSUM;
	struct pkt_info p;
	uint8_t b[4] = { 9, 9, 9, 9 };
	const uint8_t *ip;

	if (snap_take(m, sock, sn) != 0 ||
	    mtcp_getlastpkt(m, sock, side, &p) != 0)
		return;
	if (p.iph == NULL && !raw_nonip_done[m->cpu]) {
		raw_nonip_done[m->cpu] = 1;
		try_set(m, sock, sn, "raw_nonip_ip_hdr", sock, side, 8, b, 1,
			ow | MOS_IP_HDR);
		try_set(m, sock, sn, "raw_nonip_tcp_hdr", sock, side, 0, b, 2,
			ow | MOS_TCP_HDR);
		try_set(m, sock, sn, "raw_nonip_payload", sock, side, 0, b, 1,
			ow | MOS_TCP_PAYLOAD);
		try_set(m, sock, sn, "raw_nonip_ip_insert", sock, side, 20, b,
			4, MOS_INSERT | MOS_IP_HDR);
		try_set(m, sock, sn, "raw_nonip_eth_ip_csum", sock, side, 0,
			sn->b, 6, ow | MOS_ETH_HDR);
		try_set(m, sock, sn, "raw_nonip_same_eth", sock, side, 0,
			sn->b, 6, MOS_OVERWRITE | MOS_ETH_HDR);
	} else if (p.iph != NULL && p.iph->protocol == IPPROTO_UDP &&
		   !raw_udp_done[m->cpu]) {
		raw_udp_done[m->cpu] = 1;
		try_set(m, sock, sn, "raw_udp_tcp_hdr", sock, side, 0, b, 2,
			ow | MOS_TCP_HDR);
		try_set(m, sock, sn, "raw_udp_payload", sock, side, 0, b, 1,
			ow | MOS_TCP_PAYLOAD);
		try_set(m, sock, sn, "raw_udp_chomp_payload", sock, side, 0,
			NULL, 1, MOS_CHOMP | MOS_TCP_PAYLOAD);
		/* From the copy: getlastpkt's buffer is reused. */
		ip = sn->b + ((uint8_t *)p.iph - (uint8_t *)p.ethh);
		try_set(m, sock, sn, "raw_udp_ip_tcp_csum", sock, side, 0, ip,
			4, MOS_OVERWRITE | MOS_IP_HDR | MOS_UPDATE_TCP_CHKSUM);
		try_set(m, sock, sn, "raw_udp_same_ip_header", sock, side, 0,
			ip, (uint16_t)((ip[0] & 0x0f) * 4), ow | MOS_IP_HDR);
	}
}

static int
parse_args(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');

		v = v != NULL ? v + 1 : "";
		if (strncmp(a, "pattern=", 8) == 0) {
			pattern = v;
			todo |= DO_OVERWRITE;
		} else if (strncmp(a, "replace=", 8) == 0) {
			replace = v;
		} else if (strncmp(a, "ttl=", 4) == 0) {
			ttl = atoi(v);
			todo |= DO_TTL;
		} else if (strncmp(a, "sport=", 6) == 0) {
			sport = atoi(v);
			todo |= DO_PORTS;
		} else if (strncmp(a, "dport=", 6) == 0) {
			dport = atoi(v);
			todo |= DO_PORTS;
		} else if (strncmp(a, "insert=", 7) == 0) {
			ins_len = strtoul(v, NULL, 10);
			todo |= DO_INSERT;
		} else if (strncmp(a, "chomp=", 6) == 0) {
			chomp_len = strtoul(v, NULL, 10);
			todo |= DO_CHOMP;
		} else if (strncmp(a, "at=", 3) == 0) {
			at = strtoul(v, NULL, 10);
		} else if (strncmp(a, "ipopt=", 6) == 0) {
			ipopt = atoi(v);
			todo |= DO_OPTS;
		} else if (strncmp(a, "tcpopt=", 7) == 0) {
			tcpopt = atoi(v);
			todo |= DO_OPTS;
		} else if (strcmp(a, "sendpkt") == 0) {
			todo |= DO_SENDPKT;
		} else if (strcmp(a, "sendpkt=noeth") == 0) {
			noeth = 1;
			todo |= DO_SENDPKT;
		} else if (strncmp(a, "invalid=", 8) == 0) {
			invalid_path = v;
			todo |= DO_INVALID;
		} else if (strcmp(a, "drop") == 0) {
			todo |= DO_DROP;
		} else if (strcmp(a, "reset") == 0) {
			todo |= DO_RESET;
		} else if (strcmp(a, "nocsum") == 0) {
			csum = 0;
		} else if (strcmp(a, "hook=snd") == 0) {
			hook = MOS_HK_SND;
		} else if (strcmp(a, "hook=rcv") == 0) {
			hook = MOS_HK_RCV;
		} else if (strcmp(a, "dir=c2s") == 0) {
			dirs = 1u << MOS_SIDE_CLI;
		} else if (strcmp(a, "dir=s2c") == 0) {
			dirs = 1u << MOS_SIDE_SVR;
		} else if (strcmp(a, "dir=both") == 0) {
			dirs = 1u << MOS_SIDE_CLI | 1u << MOS_SIDE_SVR;
		} else if (strncmp(a, "nth=", 4) == 0) {
			nth = strtoul(v, NULL, 10);
		} else if (strncmp(a, "log=", 4) == 0) {
			log_path = v;
		} else {
			fprintf(stderr, "modify.so: unknown argument '%s'\n", a);
			return -1;
		}
	}
	if ((todo & DO_OVERWRITE) &&
	    (replace == NULL || strlen(replace) != strlen(pattern) ||
	     *pattern == '\0')) {
		fprintf(stderr, "modify.so: pattern= needs a replace= of the "
			"same length\n");
		return -1;
	}
	if (ins_len > sizeof(letters) || chomp_len > 65535 || nth > 0xffff ||
	    ipopt < -40 || ipopt > 40 || tcpopt < -40 || tcpopt > 40) {
		fprintf(stderr, "modify.so: value out of range\n");
		return -1;
	}
	return 0;
}

static FILE *
open_per_core(const char *path, int cpu)
{
	char name[4096];

	snprintf(name, sizeof(name), "%s.%d", path, cpu);
	return fopen(name, "w");
}

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	int sock, raw, cpu = mctx->cpu;
	size_t i;

	if (cpu < 0 || cpu >= MAX_CORES || parse_args(argc, argv) != 0)
		return 1;
	for (i = 0; i < sizeof(letters); i++)
		letters[i] = (uint8_t)('A' + i % 26);
	memset(nops, 1, sizeof(nops));
	if (log_path != NULL &&
	    (log_file[cpu] = open_per_core(log_path, cpu)) == NULL)
		return 2;
	if (invalid_path != NULL &&
	    (inv_file[cpu] = open_per_core(invalid_path, cpu)) == NULL)
		return 2;
	sock = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0)
		return 3;
	listener[cpu] = sock;
	if (mtcp_register_callback(mctx, sock, MOS_ON_PKT_IN, hook,
				   on_pkt) != 0 ||
	    mtcp_register_callback(mctx, sock, MOS_ON_CONN_END, MOS_HK_RCV,
				   on_end) != 0 ||
	    mtcp_register_callback(mctx, sock, MOS_ON_ORPHAN, MOS_NULL,
				   on_orphan) != 0)
		return 4;
	if (!(todo & DO_INVALID))
		return 0;
	if (mtcp_register_callback(mctx, sock, MOS_ON_CONN_NEW_DATA, MOS_NULL,
				   on_newdata) != 0 ||
	    mtcp_register_callback(mctx, sock, MOS_ON_CONN_START, MOS_HK_SND,
				   on_start) != 0)
		return 5;
	raw = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_RAW, 0);
	if (raw < 0 ||
	    mtcp_register_callback(mctx, raw, MOS_ON_PKT_IN, MOS_NULL,
				   on_raw) != 0)
		return 6;
	return 0;
}

void
moonbox_plugin_fini(mctx_t mctx)
{
	int cpu = mctx->cpu;

	if (cpu < 0 || cpu >= MAX_CORES)
		return;
	if (log_file[cpu] != NULL)
		fclose(log_file[cpu]);
	if (inv_file[cpu] != NULL)
		fclose(inv_file[cpu]);
	log_file[cpu] = inv_file[cpu] = NULL;
}
