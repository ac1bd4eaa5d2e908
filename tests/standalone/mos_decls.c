/*
 * mos_decls.c - source compatibility with mOS, checked by the compiler: the
 * declarations an mOS program relies on, written again as mOS 0.3/0.4's
 * headers give them, after moonbox's public headers. A prototype that
 * differs is a "conflicting types" error; a constant, a type or a struct
 * layout that differs fails a static assertion. Built with -Werror; the
 * program itself only takes every function's address (so the link proves
 * libmoonbox exports them) and exits 0.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>

#include <cpu.h>
#include <mos_api.h>
#include <mtcp_api.h>
#include <mtcp_util.h>

/* -- mtcp_api.h, as mOS declares it -------------------------------------- */

int mtcp_init(const char *config_file);
int mtcp_destroy();
int mtcp_getconf(struct mtcp_conf *conf);
int mtcp_setconf(const struct mtcp_conf *conf);
int mtcp_core_affinitize(int cpu);
mctx_t mtcp_create_context(int cpu);
int mtcp_destroy_context(mctx_t mctx);
mtcp_sighandler_t mtcp_register_signal(int signum, mtcp_sighandler_t handler);
int mtcp_getsockopt(mctx_t mctx, int sock, int level, int optname,
		    void *optval, socklen_t *optlen);
int mtcp_setsockopt(mctx_t mctx, int sock, int level, int optname,
		    const void *optval, socklen_t optlen);
int mtcp_socket(mctx_t mctx, int domain, int type, int protocol);
int mtcp_close(mctx_t mctx, int sock);

/* -- mos_api.h ----------------------------------------------------------- */

int mtcp_bind_monitor_filter(mctx_t mctx, int sock, monitor_filter_t ft);
int mtcp_register_callback(mctx_t mctx, int sock, event_t event,
			   int hook_point, callback_t cb);
event_t mtcp_alloc_event(event_t event);
event_t mtcp_define_event(event_t event, filter_t filter,
			  struct filter_arg *arg);
int mtcp_raise_event(mctx_t mctx, event_t event);
void mtcp_set_uctx(mctx_t mctx, int sock, void *uctx);
void *mtcp_get_uctx(mctx_t mctx, int sock);
ssize_t mtcp_peek(mctx_t mctx, int sock, int side, char *buf, size_t len);
ssize_t mtcp_ppeek(mctx_t mctx, int sock, int side, char *buf, size_t count,
		   uint64_t off);
int mtcp_getlastpkt(mctx_t mctx, int sock, int side, struct pkt_info *p);
int mtcp_settimer(mctx_t mctx, int id, struct timeval *timeout,
		  callback_t cb);
uint32_t mtcp_cb_get_ts(mctx_t mctx);
void mtcp_app_join(mctx_t mctx);
int mtcp_getpeername(mctx_t mctx, int sock, struct sockaddr *saddr,
		     socklen_t *addrlen, int side);
int mtcp_setlastpkt(mctx_t mctx, int sock, int side, off_t offset,
		    byte *data, uint16_t datalen, int option);
int mtcp_reset_conn(mctx_t mctx, int sock);
int mtcp_sendpkt(mctx_t mctx, int sock, const struct pkt_info *pkt);

/* -- mtcp_util.h (0.4: six arguments) ------------------------------------ */

int GetRSSCPUCore(in_addr_t sip, in_addr_t dip, in_port_t sp, in_port_t dp,
		  int num_queues, uint8_t endian_check);

/* -- cpu.h (mOS's util/include, which its samples include) ------------- */

int GetNumCPUs();
int CoreAffinitize(int cpu);

/* -- Types and layouts --------------------------------------------------- */

/* mOS's struct pkt_info, field for field */
struct mos_pkt_info {
	uint32_t cur_ts;
	int8_t in_ifidx;
	uint16_t eth_len;
	uint16_t ip_len;
	uint64_t offset;
	uint16_t payloadlen;
	uint32_t seq;
	uint32_t ack_seq;
	uint16_t window;
	struct ethhdr *ethh;
	struct iphdr *iph;
	struct tcphdr *tcph;
	uint8_t *payload;
};

struct mos_pkt_ctx {
	struct mos_pkt_info p;
	int8_t direction;
	uint8_t forward;
	int8_t out_ifidx;
	int8_t batch_index;
};

struct mos_mtcp_conf {
	int num_cores;
	int max_concurrency;
	uint64_t cpu_mask;
	int max_num_buffers;
	int rcvbuf_size;
	int sndbuf_size;
	int tcp_timewait;
	int tcp_timeout;
	uint64_t app_cpu_mask[20];
	char *app_argv[20][20];
	int app_argc[20];
	int num_app;
};

#define SAME_FIELD(a, b, f) \
	(offsetof(struct a, f) == offsetof(struct b, f) && \
	 sizeof(((struct a *)0)->f) == sizeof(((struct b *)0)->f))

_Static_assert(sizeof(struct pkt_info) == sizeof(struct mos_pkt_info),
	       "struct pkt_info size");
_Static_assert(SAME_FIELD(pkt_info, mos_pkt_info, cur_ts) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, in_ifidx) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, eth_len) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, ip_len) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, offset) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, payloadlen) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, seq) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, ack_seq) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, window) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, ethh) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, iph) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, tcph) &&
	       SAME_FIELD(pkt_info, mos_pkt_info, payload),
	       "struct pkt_info layout");
_Static_assert(PKT_INFO_LEN == offsetof(struct mos_pkt_info, ethh),
	       "PKT_INFO_LEN");
_Static_assert(sizeof(struct pkt_ctx) == sizeof(struct mos_pkt_ctx) &&
	       SAME_FIELD(pkt_ctx, mos_pkt_ctx, direction) &&
	       SAME_FIELD(pkt_ctx, mos_pkt_ctx, forward) &&
	       SAME_FIELD(pkt_ctx, mos_pkt_ctx, out_ifidx) &&
	       SAME_FIELD(pkt_ctx, mos_pkt_ctx, batch_index),
	       "struct pkt_ctx layout");
_Static_assert(sizeof(struct mtcp_conf) == sizeof(struct mos_mtcp_conf) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, num_cores) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, max_concurrency) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, cpu_mask) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, rcvbuf_size) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, tcp_timewait) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, tcp_timeout) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, app_argv) &&
	       SAME_FIELD(mtcp_conf, mos_mtcp_conf, num_app),
	       "struct mtcp_conf layout");
_Static_assert(sizeof(struct tcp_buf_info) == 16 &&
	       offsetof(struct tcp_buf_info, tcpbi_last_byte_received) == 12,
	       "struct tcp_buf_info");
_Static_assert(offsetof(struct tcp_ring_fragment, len) == 8,
	       "struct tcp_ring_fragment");
_Static_assert(sizeof(filter_arg_t) == sizeof(void *) + sizeof(size_t) &&
	       offsetof(struct filter_arg, len) == sizeof(void *),
	       "filter_arg_t");
_Static_assert(offsetof(struct mtcp_context, cpu) == 0, "mctx->cpu");
_Static_assert(sizeof(event_t) == 8 && (event_t)-1 > 0, "event_t");
_Static_assert(sizeof(byte) == 1, "byte");

/* Constants an mOS program uses */
_Static_assert(SOL_MONSOCKET == 0xfffe, "SOL_MONSOCKET");
_Static_assert(MOS_SIDE_CLI == 0 && MOS_SIDE_SVR == 1 && MOS_SIDE_BOTH == 2,
	       "sides");
_Static_assert(MOS_NULL == (1 << 29) && MOS_HK_RCV == (1 << 30) &&
	       MOS_HK_SND == (int)(1U << 31), "hook points");
_Static_assert(MOS_NULL_EVENT == 0 && MOS_ON_PKT_IN == 0x1 &&
	       MOS_ON_PKT_OUT == 0x2 && MOS_ON_CONN_START == 0x4 &&
	       MOS_ON_CONN_SETUP == 0x8 && MOS_ON_CONN_NEW_DATA == 0x10 &&
	       MOS_ON_ERROR == 0x20 && MOS_ON_TIMEOUT == 0x40 &&
	       MOS_ON_TCP_STATE_CHANGE == 0x80 && MOS_ON_ORPHAN == 0x100 &&
	       MOS_ON_REXMIT == 0x200 && MOS_ON_CONN_END == 0x400 &&
	       MOS_ON_DEBUG_MESSAGE == 0x800, "built-in events");
_Static_assert(TCP_CLOSED == 0 && TCP_LISTEN == 1 && TCP_SYN_SENT == 2 &&
	       TCP_SYN_RCVD == 3 && TCP_ESTABLISHED == 4 &&
	       TCP_FIN_WAIT_1 == 5 && TCP_FIN_WAIT_2 == 6 &&
	       TCP_CLOSE_WAIT == 7 && TCP_CLOSING == 8 &&
	       TCP_LAST_ACK == 9 && TCP_TIME_WAIT == 10, "enum tcpstate");
_Static_assert(MOS_SOCK_UNUSED == 0 && MOS_SOCK_STREAM_LISTEN == 1 &&
	       MOS_SOCK_PROXY_LISTEN == 2 && MOS_SOCK_MONITOR_STREAM == 3 &&
	       MOS_SOCK_STREAM == 4 && MOS_SOCK_PROXY == 5 &&
	       MOS_SOCK_MONITOR_STREAM_ACTIVE == 6 &&
	       MOS_SOCK_MONITOR_RAW == 7 && MOS_SOCK_EPOLL == 8 &&
	       MOS_SOCK_PIPE == 9, "enum socket_type");
_Static_assert(MOS_FRAGINFO_CLIBUF == 0x01 && MOS_FRAGINFO_SVRBUF == 0x02 &&
	       MOS_INFO_CLIBUF == 0x03 && MOS_INFO_SVRBUF == 0x04 &&
	       MOS_TCP_STATE_CLI == 0x05 && MOS_TCP_STATE_SVR == 0x06 &&
	       MOS_TIMESTAMP == 0x07 && MOS_CLIBUF == 0x09 &&
	       MOS_SVRBUF == 0x0a && MOS_SEQ_REMAP == 0x0b &&
	       MOS_STOP_MON == 0x0c && MOS_FRAG_CLIBUF == 0x0d &&
	       MOS_FRAG_SVRBUF == 0x0e && MOS_CLIOVERLAP == 0x0f &&
	       MOS_SVROVERLAP == 0x10, "socket options");
_Static_assert(MOS_OVERLAP_POLICY_FIRST == 0 &&
	       MOS_OVERLAP_POLICY_LAST == 1 && MOS_OVERLAP_CNT == 2,
	       "overlap policies");
_Static_assert(MOS_ETH_HDR == 1 && MOS_IP_HDR == 2 && MOS_TCP_HDR == 4 &&
	       MOS_TCP_PAYLOAD == 8 && MOS_UPDATE_IP_CHKSUM == 16 &&
	       MOS_UPDATE_TCP_CHKSUM == 32 && MOS_DROP == 64 &&
	       MOS_OVERWRITE == 128 && MOS_CHOMP == 256 && MOS_INSERT == 512,
	       "setlastpkt options");
_Static_assert(MOS_APP == 20 && MOS_APP_ARGC == 20 && APP_NAME_LEN == 40,
	       "mtcp_conf sizes");

/* midstat writes its callbacks with uint64_t for the event */
static void
cb_u64(mctx_t mctx, int sock, int side, uint64_t events, filter_arg_t *arg)
{
	(void)mctx;
	(void)sock;
	(void)side;
	(void)events;
	(void)arg;
}

static bool
ft_u64(mctx_t mctx, int sock, int side, uint64_t events, filter_arg_t *arg)
{
	(void)mctx;
	(void)sock;
	(void)side;
	(void)events;
	(void)arg;
	return true;
}

int
main(void)
{
	/* Every function, so that linking needs them all */
	void (*const fns[])(void) = {
		(void (*)(void))mtcp_init, (void (*)(void))mtcp_destroy,
		(void (*)(void))mtcp_getconf, (void (*)(void))mtcp_setconf,
		(void (*)(void))mtcp_core_affinitize,
		(void (*)(void))mtcp_create_context,
		(void (*)(void))mtcp_destroy_context,
		(void (*)(void))mtcp_register_signal,
		(void (*)(void))mtcp_getsockopt,
		(void (*)(void))mtcp_setsockopt, (void (*)(void))mtcp_socket,
		(void (*)(void))mtcp_close,
		(void (*)(void))mtcp_bind_monitor_filter,
		(void (*)(void))mtcp_register_callback,
		(void (*)(void))mtcp_alloc_event,
		(void (*)(void))mtcp_define_event,
		(void (*)(void))mtcp_raise_event, (void (*)(void))mtcp_set_uctx,
		(void (*)(void))mtcp_get_uctx, (void (*)(void))mtcp_peek,
		(void (*)(void))mtcp_ppeek, (void (*)(void))mtcp_getlastpkt,
		(void (*)(void))mtcp_settimer, (void (*)(void))mtcp_cb_get_ts,
		(void (*)(void))mtcp_app_join,
		(void (*)(void))mtcp_getpeername,
		(void (*)(void))mtcp_setlastpkt,
		(void (*)(void))mtcp_reset_conn, (void (*)(void))mtcp_sendpkt,
		(void (*)(void))GetRSSCPUCore,
		(void (*)(void))GetNumCPUs, (void (*)(void))CoreAffinitize,
	};
	callback_t cb = cb_u64;
	filter_t ft = ft_u64;
	union monitor_filter mf = { .raw_pkt_filter = NULL };
	struct pkt_ctx pctx = { .forward = 1 };
	size_t i, n = 0;

	mf.stream_syn_filter = (char *)"tcp";
	mf.stream_orphan_filter = NULL;
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		n += fns[i] != NULL;
	printf("%zu functions, callback %d, filter %d, pkt_ctx %d, "
	       "filter %s\n", n, cb != NULL, ft != NULL, pctx.forward,
	       mf.stream_syn_filter);
	return n == sizeof(fns) / sizeof(fns[0]) ? 0 : 1;
}
