/*
 * pktmod.c - the packet being processed, as the mOS API exposes it:
 * mtcp_getlastpkt (a copy), mtcp_setlastpkt (drop, overwrite, chomp,
 * insert, checksums), mtcp_sendpkt, mtcp_reset_conn, and the remapping of
 * sequence and acknowledgement numbers that keeps a connection working
 * after callbacks changed payload lengths.
 *
 * Every edit is checked against the frame before anything is written: a
 * rejected call leaves the packet exactly as it was. Lengths (IP total
 * length, IHL, data offset) are kept consistent by moonbox itself, and a
 * plain overwrite may not change them.
 */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "api.h"
#include "flow.h"
#include "rb.h"
#include "sock.h"

#define ACTIONS	(MOS_DROP | MOS_OVERWRITE | MOS_CHOMP | MOS_INSERT)
#define REGIONS	(MOS_ETH_HDR | MOS_IP_HDR | MOS_TCP_HDR | MOS_TCP_PAYLOAD)

static inline int
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* The packet `sock` may look at: any held packet for listening and raw
 * sockets, the flow's own packets for an active socket. */
static struct pipe_pkt *
sock_packet(struct core *c, int sock, int *err)
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct sock *s = sock_get(c, (uint32_t)sock);

	if (s == NULL) {
		*err = EBADF;
		return NULL;
	}
	if (!k->valid || (s->type == MOS_SOCK_MONITOR_STREAM_ACTIVE &&
			  (k->fidx != s->flow || k->fgen != c->ft.f[s->flow].gen))) {
		*err = ENODATA;
		return NULL;
	}
	return k;
}

int
mtcp_getlastpkt(mctx_t mctx, int sock, int side, struct pkt_info *p)
{
	struct core *c = api_core_own(mctx);
	struct pipe_pkt *k;
	uint32_t len;
	uint8_t *f;
	int err = 0;

	if (c == NULL)
		return -1;
	k = sock_packet(c, sock, &err);
	if (k == NULL) {
		errno = err;
		return -1;
	}
	if (p == NULL || side < MOS_SIDE_CLI || side > MOS_SIDE_BOTH) {
		errno = EINVAL;
		return -1;
	}
	len = rte_pktmbuf_pkt_len(k->m);
	if (len > sizeof(c->frame_copy) - 2)
		len = sizeof(c->frame_copy) - 2;
	/* Two bytes in, so the IP header after a 14-byte Ethernet header is
	 * 4-byte aligned and p->iph / p->tcph can be used as they are. */
	f = c->frame_copy + 2;
	{
		/* rte_pktmbuf_read copies only a chained frame; a contiguous
		 * one it returns in place. */
		const void *src = rte_pktmbuf_read(k->m, 0, len, f);

		if (src != f)
			memcpy(f, src, len);
	}
	memset(p, 0, sizeof(*p));
	p->cur_ts = (uint32_t)c->pipe.now_ms;
	p->in_ifidx = (int8_t)k->in_port;
	p->eth_len = (uint16_t)len;
	p->ethh = (struct ethhdr *)f;
	if (k->data == NULL || (k->pr.kind != PK_TCP && k->pr.kind != PK_IPV4 &&
				k->pr.kind != PK_IPV4_FRAG))
		return 0;
	p->ip_len = k->pr.ip_len;
	p->iph = (struct iphdr *)(f + k->pr.l2_len);
	if (k->pr.kind != PK_TCP)
		return 0;
	p->tcph = (struct tcphdr *)(f + k->pr.l2_len + k->pr.l3_len);
	p->payload = f + k->pr.l2_len + k->pr.l3_len + k->pr.l4_len;
	p->payloadlen = k->pr.payload_len;
	p->seq = rte_be_to_cpu_32(p->tcph->seq);
	p->ack_seq = rte_be_to_cpu_32(p->tcph->ack_seq);
	p->window = rte_be_to_cpu_16(p->tcph->window);
	if (k->fidx != FLOW_NONE && k->off > 0)
		p->offset = (uint64_t)k->off;
	return 0;
}

/* -- setlastpkt ---------------------------------------------------------- */

struct region {
	uint32_t start;		/* offset in the frame */
	uint32_t len;
};

static int
region_of(const struct pipe_pkt *k, int which, struct region *r)
{
	const struct parsed *pr = &k->pr;
	int ip = pr->kind == PK_TCP || pr->kind == PK_IPV4 ||
		 pr->kind == PK_IPV4_FRAG;

	switch (which) {
	case MOS_ETH_HDR:
		*r = (struct region){ 0, pr->l2_len ? pr->l2_len : 14 };
		return rte_pktmbuf_data_len(k->m) >= r->len ? 0 : -1;
	case MOS_IP_HDR:
		if (!ip)
			return -1;
		*r = (struct region){ pr->l2_len, pr->l3_len };
		return 0;
	case MOS_TCP_HDR:
		if (pr->kind != PK_TCP)
			return -1;
		*r = (struct region){ (uint32_t)pr->l2_len + pr->l3_len,
				      pr->l4_len };
		return 0;
	case MOS_TCP_PAYLOAD:
		if (pr->kind != PK_TCP)
			return -1;
		*r = (struct region){ (uint32_t)pr->l2_len + pr->l3_len +
				      pr->l4_len, pr->payload_len };
		return 0;
	}
	return -1;
}

static void
update_cksums(struct pipe_pkt *k, int option)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(k->data + k->pr.l2_len);

	if ((option & MOS_UPDATE_TCP_CHKSUM) && k->pr.kind == PK_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)
			((uint8_t *)ip + k->pr.l3_len);

		t->cksum = 0;
		t->cksum = rte_ipv4_udptcp_cksum(ip, t);
	}
	if (option & MOS_UPDATE_IP_CHKSUM) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
}

static int
same_geometry(const struct parsed *a, const struct parsed *b)
{
	return a->kind == b->kind && a->l2_len == b->l2_len &&
	       a->l3_len == b->l3_len && a->l4_len == b->l4_len &&
	       a->ip_len == b->ip_len;
}

static int
overwrite(struct pipe_pkt *k, const struct region *r, uint32_t off,
	  const uint8_t *data, uint16_t len, int which)
{
	uint8_t saved[64];
	struct parsed pr;

	if ((uint64_t)off + len > r->len)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (which == MOS_TCP_PAYLOAD) {
		memcpy(k->data + r->start + off, data, len);
		return 0;
	}
	/* Headers: the lengths they hold must stay what they are. */
	memcpy(saved, k->data + r->start, r->len);
	memcpy(k->data + r->start + off, data, len);
	if (which != MOS_ETH_HDR &&
	    (parse_frame(k->data, rte_pktmbuf_data_len(k->m), &pr),
	     !same_geometry(&pr, &k->pr))) {
		memcpy(k->data + r->start, saved, r->len);
		return -EINVAL;
	}
	return 0;
}

static void
set_ip_len(struct pipe_pkt *k, int delta)
{
	uint8_t *ip = k->data + k->pr.l2_len;
	uint16_t tot = (uint16_t)(k->pr.ip_len + delta);

	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
}

/* Free space after a frame that it may grow into: a buffer above the
 * default size is rounded up to af_packet's pages, but no frame grows
 * past --max-frame there (the ports' MTU), as none grows past 2048 bytes
 * in a default buffer. */
static uint32_t
room_after(const struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t max = (uint32_t)g_rt.opts.max_frame;

	return len >= max ? 0 : RTE_MIN((uint32_t)rte_pktmbuf_tailroom(m),
					max - len);
}

/* Open (n > 0) or close (n < 0) |n| bytes at frame offset pos. */
static int
resize_frame(struct core *c, struct pipe_pkt *k, uint32_t pos, int n,
	     const uint8_t *data)
{
	struct rte_mbuf *m = k->m;
	uint32_t flen = rte_pktmbuf_data_len(m);

	if (n < 0) {
		memmove(k->data + pos, k->data + pos - n, flen - pos + n);
		rte_pktmbuf_trim(m, (uint16_t)-n);
		return 0;
	}
	if (room_after(m) >= (uint32_t)n) {
		rte_pktmbuf_append(m, (uint16_t)n);
		memmove(k->data + pos + n, k->data + pos, flen - pos);
	} else if (rte_pktmbuf_headroom(m) >= (uint16_t)n) {
		uint8_t *old = k->data;

		k->data = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)n);
		memmove(k->data, old, pos);
	} else {
		return -ENOSPC;
	}
	memcpy(k->data + pos, data, (size_t)n);
	(void)c;
	return 0;
}

/* Whether a length change in the segment the sender numbered seq can be
 * remapped: not in a segment older than the last one changed, whose later
 * bytes were already renumbered and sent (Linux seqadj has one correction
 * point per direction). */
static int
seqadj_allows(const struct flow *f, int side, uint32_t seq)
{
	const struct seqadj *a = &f->adj[side];

	return !(f->flags & FL_ADJ) || a->before == a->after ||
	       !seq_after(a->pos, seq);
}

/* Register a payload length change of `delta` bytes in the segment the
 * sender numbered `seq`, made in packet pktno. A retransmission of the
 * segment last changed is assumed to be changed the same way (Linux
 * seqadj): only several changes of the same packet add up. */
static void
seqadj_add(struct flow *f, int side, uint32_t seq, int32_t delta,
	   uint32_t pktno)
{
	struct seqadj *a = &f->adj[side];

	if (!(f->flags & FL_ADJ))
		memset(f->adj, 0, sizeof(f->adj));
	flow_set_flags(f, FL_ADJ);
	if (a->before == a->after || seq_after(seq, a->pos)) {
		a->pos = seq;
		a->before = a->after;
		a->after += delta;
		a->pkt = pktno;
	} else if (seq == a->pos && a->pkt == pktno) {
		a->after += delta;
	}
}


/* After the receiver consumed the segment, a length change is allowed only
 * if the segment was the last in-order data (it can then be replaced in
 * the buffer, and the receiver's next expected byte moved). */
static int
rcv_fixup_possible(struct core *c, const struct pipe_pkt *k)
{
	struct flow *f = &c->ft.f[k->fidx];
	const struct half *r = &f->h[k->rcv];
	struct rb *b = f->rb[k->rcv];

	if (!(f->mgmt & (1u << k->rcv)))
		return 1;
	if (k->off < 0 || (uint64_t)k->off + k->orig_len != r->rcv_off)
		return 0;
	if (b != NULL && (b->nruns != 0 || rb_next(b) - rb_head(b) <
			  k->orig_len))
		return 0;
	return 1;
}

static void
rcv_fixup(struct core *c, struct pipe_pkt *k, int delta)
{
	struct flow *f = &c->ft.f[k->fidx];
	struct half *r = &f->h[k->rcv];
	struct rb *b = f->rb[k->rcv];
	const uint8_t *pl = flow_tcp_hdr(k) + k->pr.l4_len;

	if (!(f->mgmt & (1u << k->rcv)))
		return;
	if (b != NULL && (f->buf & (1u << k->rcv)) &&
	    rb_replace_tail(c->rbpool, b, k->orig_len, pl, k->pr.payload_len)
	    == 0)
		r->rcv_off = rb_next(b);
	else
		r->rcv_off = (uint64_t)((int64_t)r->rcv_off + delta);
	k->orig_len = k->pr.payload_len;
}

static int
chomp_insert(struct core *c, struct pipe_pkt *k, const struct region *r,
	     int which, uint32_t off, const uint8_t *data, uint16_t len,
	     int insert)
{
	int delta = insert ? len : -(int)len;
	struct flow *f;
	struct parsed pr;
	int ret;

	if (which == MOS_ETH_HDR)
		return -EINVAL;
	if (insert ? off > r->len : (uint64_t)off + len > r->len)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (which == MOS_IP_HDR || which == MOS_TCP_HDR) {
		/* Only options: the fixed header stays, 4-byte units. */
		uint32_t nl = r->len + (uint32_t)delta;

		if (off < 20 || len % 4 != 0 || nl < 20 || nl > 60)
			return -EINVAL;
	}
	if (k->pr.ip_len + delta > 65535 || k->pr.ip_len + delta < 20)
		return -EINVAL;
	/* A TCP packet's lengths may change only where the flow is known
	 * (its sequence numbers must then be remapped): not from a raw
	 * socket, ahead of the flow lookup, while stream listeners exist. */
	if (which != MOS_IP_HDR && k->where == W_RAW && c->socks.nstream > 0)
		return -EINVAL;
	if (which == MOS_TCP_PAYLOAD && k->where == W_RCV_DONE &&
	    !rcv_fixup_possible(c, k))
		return -EINVAL;
	if (which == MOS_TCP_PAYLOAD && k->fidx != FLOW_NONE &&
	    !seqadj_allows(&c->ft.f[k->fidx], k->snd, k->orig_seq))
		return -EINVAL;

	ret = resize_frame(c, k, r->start + off, delta, data);
	if (ret < 0)
		return ret;
	set_ip_len(k, delta);
	if (which == MOS_IP_HDR) {
		uint8_t *ip = k->data + k->pr.l2_len;

		ip[0] = (uint8_t)((ip[0] & 0xf0) | ((r->len + delta) / 4));
	} else if (which == MOS_TCP_HDR) {
		uint8_t *t = k->data + k->pr.l2_len + k->pr.l3_len;

		t[12] = (uint8_t)((t[12] & 0x0f) | (((r->len + delta) / 4) << 4));
	}
	parse_frame(k->data, rte_pktmbuf_data_len(k->m), &pr);
	k->pr = pr;
	k->len_changed = 1;
	if (which != MOS_TCP_PAYLOAD || k->fidx == FLOW_NONE)
		return 0;
	f = &c->ft.f[k->fidx];
	seqadj_add(f, k->snd, k->orig_seq, delta, k->pktno);
	if (k->where == W_RCV_DONE)
		rcv_fixup(c, k, delta);
	return 0;
}

int
mtcp_setlastpkt(mctx_t mctx, int sock, int side, off_t offset, byte *data,
		uint16_t datalen, int option)
{
	struct core *c = api_core_own(mctx);
	struct pipe_pkt *k;
	struct region r;
	int err = 0, action, which, ret;

	if (c == NULL)
		return -1;
	k = sock_packet(c, sock, &err);
	if (k == NULL) {
		errno = err;
		return -1;
	}
	if (side < MOS_SIDE_CLI || side > MOS_SIDE_BOTH) {
		errno = EINVAL;
		return -1;
	}
	/* A reassembled datagram is only analysed: its fragments were
	 * forwarded as they came and cannot be changed any more. */
	if (k->analysis) {
		errno = EINVAL;
		return -1;
	}
	action = option & ACTIONS;
	if (action == MOS_DROP) {
		/* MOS_DROP ignores every other bit except other actions. */
		k->drop = 1;
		return 0;
	}
	which = option & REGIONS;
	if (__builtin_popcount((unsigned)action) != 1 ||
	    __builtin_popcount((unsigned)which) != 1 || offset < 0 ||
	    offset > 65535 || (data == NULL && datalen > 0 &&
			       action != MOS_CHOMP) ||
	    (option & ~(ACTIONS | REGIONS | MOS_UPDATE_IP_CHKSUM |
			MOS_UPDATE_TCP_CHKSUM)) != 0 ||
	    k->data == NULL || region_of(k, which, &r) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* A checksum can only be updated in a header the frame has. */
	if (((option & MOS_UPDATE_IP_CHKSUM) && region_of(k, MOS_IP_HDR, &r)) ||
	    ((option & MOS_UPDATE_TCP_CHKSUM) && region_of(k, MOS_TCP_HDR, &r)) ||
	    region_of(k, which, &r) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (action == MOS_OVERWRITE)
		ret = overwrite(k, &r, (uint32_t)offset, data, datalen, which);
	else
		ret = chomp_insert(c, k, &r, which, (uint32_t)offset, data,
				   datalen, action == MOS_INSERT);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	update_cksums(k, option);
	k->modified = 1;
	/* The burst's hash and lookup were of the frame as it came. */
	k->hashed = 0;
	k->found = 0;
	c->st.pkts_modified++;
	return 0;
}

/* -- Remapping ----------------------------------------------------------- */

/* RFC 1624 incremental update of a checksum for a 32-bit field change. */
static uint16_t
cksum_update32(uint16_t ck, uint32_t old, uint32_t new)
{
	uint32_t s = (uint16_t)~ck;

	s += (uint16_t)~(old >> 16);
	s += (uint16_t)~(old & 0xffff);
	s += new >> 16;
	s += new & 0xffff;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t
map_seq(const struct seqadj *a, uint32_t seq)
{
	return seq + (uint32_t)(seq_after(seq, a->pos) ? a->after : a->before);
}

static uint32_t
map_ack(const struct seqadj *a, uint32_t ack)
{
	return ack - (uint32_t)(seq_after(ack - (uint32_t)a->before, a->pos) ?
				a->after : a->before);
}

static void
put32(uint8_t *p, uint32_t v, uint16_t *ck)
{
	uint32_t old = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	uint16_t c = (uint16_t)(ck[0] >> 8 | ck[0] << 8);

	if (old == v)
		return;
	c = cksum_update32(c, old, v);
	ck[0] = (uint16_t)(c >> 8 | c << 8);
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
flow_seq_remap(struct core *c, struct flow *f, struct pipe_pkt *k)
{
	const struct seqadj *as = &f->adj[k->snd], *ar = &f->adj[k->rcv];
	uint8_t *t = flow_tcp_hdr(k);
	uint16_t *ck = (uint16_t *)(t + 16);
	uint32_t i = 0, e, olen = k->pr.l4_len - 20u;
	uint8_t kind, len;
	int at;

	put32(t + 4, map_seq(as, k->g.seq), ck);
	if (k->g.flags & TH_ACK)
		put32(t + 8, map_ack(ar, k->g.ack), ck);
	/* SACK blocks name the peer's sequence numbers, like the ack. */
	while ((at = tcp_opt_next(t + 20, olen, &i, &kind, &len)) >= 0) {
		if (kind != 5)
			continue;
		for (e = 2; e + 4 <= len; e += 4) {
			uint8_t *p = t + 20 + at + e;
			uint32_t v = (uint32_t)p[0] << 24 |
				     (uint32_t)p[1] << 16 |
				     (uint32_t)p[2] << 8 | p[3];

			put32(p, map_ack(ar, v), ck);
		}
	}
	c->st.seq_remapped++;
	flow_read_seg(k);
}

/* -- Sending ------------------------------------------------------------- */

/* Build Ethernet/IPv4/TCP around the given headers and payload, fixing
 * lengths and checksums. Returns the frame length or -errno. */
static int
build_frame(uint8_t *out, uint32_t room, const uint8_t *eth,
	    const uint8_t *ip, const uint8_t *tcp, const uint8_t *payload,
	    uint32_t plen)
{
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t doff = (uint32_t)(tcp[12] >> 4) * 4;
	uint32_t tot = ihl + doff + plen;
	struct rte_ipv4_hdr *iph;
	struct rte_tcp_hdr *th;

	if (ihl < 20 || doff < 20 || 14 + tot > room || tot > 65535)
		return -EINVAL;
	memcpy(out, eth, 12);
	out[12] = 0x08;
	out[13] = 0x00;
	memcpy(out + 14, ip, ihl);
	memcpy(out + 14 + ihl, tcp, doff);
	if (plen)
		memcpy(out + 14 + ihl + doff, payload, plen);
	iph = (struct rte_ipv4_hdr *)(out + 14);
	iph->version_ihl = (uint8_t)(0x40 | (ihl / 4));
	iph->total_length = rte_cpu_to_be_16((uint16_t)tot);
	iph->next_proto_id = IPPROTO_TCP;
	iph->hdr_checksum = 0;
	iph->hdr_checksum = rte_ipv4_cksum(iph);
	th = (struct rte_tcp_hdr *)(out + 14 + ihl);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(iph, th);
	return (int)(14 + tot);
}

/* The port a packet to `dst` leaves by, and the Ethernet header to use. */
static int
route(struct core *c, struct sock *s, uint32_t dst, uint16_t *port,
      uint8_t eth[12])
{
	struct pipe_pkt *k = &c->pipe.cur;
	struct flow *f = api_flow(c, s);

	if (f != NULL) {
		int to = (dst == f->ip[MOS_SIDE_CLI] ||
			  ((f->flags & FL_KEY2) && dst == f->ip2[0])) ?
			 MOS_SIDE_CLI : MOS_SIDE_SVR, from = to ^ 1;
		int have_to = f->mac[to][0] | f->mac[to][6] | f->mac[to][11];

		/* Toward a side: out where its packets come in; addresses as
		 * the other side's packets carry them (or swapped). */
		*port = (to == MOS_SIDE_SVR && !have_to) ?
			g_rt.ports[f->in_port[MOS_SIDE_CLI]].peer :
			f->in_port[to];
		if (f->mac[from][0] | f->mac[from][6] | f->mac[from][11]) {
			memcpy(eth, f->mac[from], 12);
		} else {
			memcpy(eth, f->mac[to] + 6, 6);
			memcpy(eth + 6, f->mac[to], 6);
		}
		return 0;
	}
	if (!k->valid || k->data == NULL)
		return -ENOTCONN;
	if (k->pr.kind == PK_TCP &&
	    memcmp(k->data + k->pr.l2_len + 16, &dst, 4) == 0) {
		*port = g_rt.ports[k->in_port].peer;
		memcpy(eth, k->data, 12);
	} else {
		*port = k->in_port;
		memcpy(eth, k->data + 6, 6);
		memcpy(eth + 6, k->data, 6);
	}
	return 0;
}

/* Build a frame (see build_frame) in a new packet buffer, at most 2048
 * bytes or --max-frame (room_after), and transmit it: a packet moonbox
 * made, not a received one, so it is counted apart from tx_packets (which
 * balances rx_packets). */
static int
send_built(struct core *c, uint16_t port, const uint8_t *eth,
	   const uint8_t *ip, const uint8_t *tcp, const uint8_t *payload,
	   uint32_t plen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_rt.pool);
	int len;

	if (m == NULL)
		return -ENOBUFS;
	len = build_frame(rte_pktmbuf_mtod(m, uint8_t *), room_after(m), eth,
			  ip, tcp, payload, plen);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return len;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	core_tx_gen(c, port, m);
	return 0;
}

int
mtcp_sendpkt(mctx_t mctx, int sock, const struct pkt_info *pkt)
{
	struct core *c = api_core_own(mctx);
	uint8_t eth[12];
	struct sock *s;
	uint16_t port;
	uint32_t dst;
	int ret;

	if (c == NULL)
		return -1;
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		errno = EBADF;
		return -1;
	}
	if (pkt == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (pkt->iph == NULL || pkt->tcph == NULL) {
		errno = ENODATA;
		return -1;
	}
	if (pkt->payloadlen > 0 && pkt->payload == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* The caller's headers need not be aligned. */
	memcpy(&dst, (const uint8_t *)pkt->iph + 16, 4);
	ret = route(c, s, dst, &port, eth);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	if (pkt->ethh != NULL)
		memcpy(eth, pkt->ethh, 12);
	ret = send_built(c, port, eth, (const uint8_t *)pkt->iph,
			 (const uint8_t *)pkt->tcph, pkt->payload,
			 pkt->payloadlen);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static int
send_rst(struct core *c, struct sock *s, uint32_t sa, uint32_t da,
	 uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack)
{
	uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, IPPROTO_TCP };
	uint8_t tcp[20] = { 0 }, eth[12];
	uint16_t port;
	int ret;

	memcpy(ip + 12, &sa, 4);
	memcpy(ip + 16, &da, 4);
	memcpy(tcp, &sp, 2);
	memcpy(tcp + 2, &dp, 2);
	seq = rte_cpu_to_be_32(seq);
	ack = rte_cpu_to_be_32(ack);
	memcpy(tcp + 4, &seq, 4);
	memcpy(tcp + 8, &ack, 4);
	tcp[12] = 5 << 4;
	tcp[13] = TH_RST | TH_ACK;
	ret = route(c, s, da, &port, eth);
	if (ret < 0)
		return ret;
	return send_built(c, port, eth, ip, tcp, NULL, 0);
}

int
mtcp_reset_conn(mctx_t mctx, int sock)
{
	struct core *c = api_core_own(mctx);
	const struct half *cli, *svr;
	struct pipe_pkt *k;
	uint32_t exp[2];
	struct sock *s;
	struct flow *f;
	int ret, k2;

	if (c == NULL)
		return -1;
	s = sock_get(c, (uint32_t)sock);
	if (s == NULL) {
		errno = EBADF;
		return -1;
	}
	f = api_flow(c, s);
	if (f == NULL) {
		errno = ENOTSOCK;
		return -1;
	}
	cli = &f->h[MOS_SIDE_CLI];
	svr = &f->h[MOS_SIDE_SVR];
	if (!(f->flags & FL_SVR) || !(svr->flags & HF_ISS) ||
	    !(cli->flags & HF_IRS)) {
		errno = ENOTCONN;
		return -1;
	}
	k2 = (f->flags & FL_KEY2) != 0;
	/* Each endpoint gets the sequence number it expects next, from its
	 * peer's address as it knows it. The packet being processed leaves
	 * after the RSTs: its receiver still expects its first byte. */
	exp[MOS_SIDE_CLI] = fsm_rcv_nxt(cli);
	exp[MOS_SIDE_SVR] = fsm_rcv_nxt(svr);
	k = &c->pipe.cur;
	if (k->valid && k->fidx == s->flow && k->where == W_RCV_DONE)
		exp[k->rcv] = k->rcv_nxt_before;
	ret = send_rst(c, s, f->ip[MOS_SIDE_SVR], f->ip[MOS_SIDE_CLI],
		       f->port[MOS_SIDE_SVR], f->port[MOS_SIDE_CLI],
		       exp[MOS_SIDE_CLI], cli->snd_nxt);
	if (ret == 0)
		ret = send_rst(c, s, k2 ? f->ip2[0] : f->ip[MOS_SIDE_CLI],
			       k2 ? f->ip2[1] : f->ip[MOS_SIDE_SVR],
			       k2 ? f->port2[0] : f->port[MOS_SIDE_CLI],
			       k2 ? f->port2[1] : f->port[MOS_SIDE_SVR],
			       exp[MOS_SIDE_SVR], svr->snd_nxt);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	flow_set_flags(f, FL_RESET | FL_DESTROY);
	if (!c->pipe.cur.valid || c->pipe.cur.fidx != s->flow)
		if (c->nkill < RTE_DIM(c->kill))
			c->kill[c->nkill++] = (struct nd_ent){ s->flow, f->gen,
							       0 };
	return 0;
}
