/*
 * mosffi.h - the C/Lua boundary: everything a Lua script may call or see.
 *
 * This one file is the source of three generated files (bindings/gen_ffi.lua):
 *  - mos/ffi_decl.lua, the string given to ffi.cdef;
 *  - mosffi_gen.h, its mosffi_* types and every prototype, which C code
 *    includes next to the real mos_api.h, so the compiler checks each
 *    prototype against the definition Lua will call;
 *  - mosffi_layout.c, the offset and size of every field of the structs
 *    below and the value of every constant, computed by the compiler from
 *    the real C definitions; a test compares them with ffi.offsetof,
 *    ffi.sizeof and the values Lua sees.
 * So it is written in the subset ffi.cdef parses: no preprocessor lines,
 * constants as enums, fixed-width types (off_t is int64_t, socklen_t is
 * uint32_t, byte is uint8_t: the same types on x86-64 Linux). Format rules
 * for the generator: a struct or union opens with "struct NAME {" on its own
 * line, one member per line, closes with "};"; each enum constant on its own
 * line; a prototype may span lines and ends with ");".
 * No DPDK type appears here.
 */

/* -- ABI ------------------------------------------------------------------ */

enum {
	MOSFFI_ABI_VERSION = 2,
};

/* -- mOS types (mtcp_api.h, mos_api.h) ----------------------------------- */

struct mtcp_context {
	int cpu;
};
typedef struct mtcp_context *mctx_t;
typedef uint64_t event_t;
typedef unsigned char byte;

struct filter_arg {
	void *arg;
	size_t len;
};
typedef struct filter_arg filter_arg_t;

typedef void (*callback_t)(mctx_t mctx, int sock, int side, event_t event, filter_arg_t *arg);
typedef bool (*filter_t)(mctx_t mctx, int sock, int side, event_t event, filter_arg_t *arg);

struct ethhdr {
	uint8_t h_dest[6];
	uint8_t h_source[6];
	uint16_t h_proto;
} __attribute__((packed));

struct iphdr {
	uint8_t ihl:4;
	uint8_t version:4;
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off;
	uint8_t ttl;
	uint8_t protocol;
	uint16_t check;
	uint32_t saddr;
	uint32_t daddr;
};

struct tcphdr {
	uint16_t source;
	uint16_t dest;
	uint32_t seq;
	uint32_t ack_seq;
	uint16_t res1:4;
	uint16_t doff:4;
	uint16_t fin:1;
	uint16_t syn:1;
	uint16_t rst:1;
	uint16_t psh:1;
	uint16_t ack:1;
	uint16_t urg:1;
	uint16_t ece:1;
	uint16_t cwr:1;
	uint16_t window;
	uint16_t check;
	uint16_t urg_ptr;
};

struct pkt_info {
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

struct pkt_ctx {
	struct pkt_info p;
	int8_t direction;
	uint8_t forward;
	int8_t out_ifidx;
	int8_t batch_index;
};

struct tcp_buf_info {
	uint32_t tcpbi_init_seq;
	uint32_t tcpbi_last_byte_read;
	uint32_t tcpbi_next_byte_expected;
	uint32_t tcpbi_last_byte_received;
};

struct tcp_ring_fragment {
	uint64_t offset;
	uint32_t len;
};

union monitor_filter {
	char *raw_pkt_filter;
	struct {
		char *stream_syn_filter;
		char *stream_orphan_filter;
	};
};
typedef union monitor_filter *monitor_filter_t;

struct mtcp_conf {
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

struct timeval {
	int64_t tv_sec;
	int64_t tv_usec;
};

struct sockaddr {
	uint16_t sa_family;
	char sa_data[14];
};

struct sockaddr_in {
	uint16_t sin_family;
	uint16_t sin_port;
	uint32_t sin_addr;
	uint8_t sin_zero[8];
};

typedef void (*mtcp_sighandler_t)(int);

/* -- Constants ------------------------------------------------------------ */

enum {
	MOS_NULL = 536870912,
	MOS_HK_RCV = 1073741824,
	MOS_HK_SND = -2147483647 - 1,
};

enum {
	MOS_NULL_EVENT = 0,
	MOS_ON_PKT_IN = 1,
	MOS_ON_PKT_OUT = 2,
	MOS_ON_CONN_START = 4,
	MOS_ON_CONN_SETUP = 8,
	MOS_ON_CONN_NEW_DATA = 16,
	MOS_ON_ERROR = 32,
	MOS_ON_TIMEOUT = 64,
	MOS_ON_TCP_STATE_CHANGE = 128,
	MOS_ON_ORPHAN = 256,
	MOS_ON_REXMIT = 512,
	MOS_ON_CONN_END = 1024,
	MOS_ON_DEBUG_MESSAGE = 2048,
};

enum {
	MOS_ETH_HDR = 1,
	MOS_IP_HDR = 2,
	MOS_TCP_HDR = 4,
	MOS_TCP_PAYLOAD = 8,
	MOS_UPDATE_IP_CHKSUM = 16,
	MOS_UPDATE_TCP_CHKSUM = 32,
	MOS_DROP = 64,
	MOS_OVERWRITE = 128,
	MOS_CHOMP = 256,
	MOS_INSERT = 512,
};

enum {
	SOL_MONSOCKET = 65534,
	MOS_FRAGINFO_CLIBUF = 1,
	MOS_FRAGINFO_SVRBUF = 2,
	MOS_INFO_CLIBUF = 3,
	MOS_INFO_SVRBUF = 4,
	MOS_TCP_STATE_CLI = 5,
	MOS_TCP_STATE_SVR = 6,
	MOS_TIMESTAMP = 7,
	MOS_CLIBUF = 9,
	MOS_SVRBUF = 10,
	MOS_SEQ_REMAP = 11,
	MOS_STOP_MON = 12,
	MOS_FRAG_CLIBUF = 13,
	MOS_FRAG_SVRBUF = 14,
	MOS_CLIOVERLAP = 15,
	MOS_SVROVERLAP = 16,
};

enum {
	TCP_CLOSED = 0,
	TCP_LISTEN = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RCVD = 3,
	TCP_ESTABLISHED = 4,
	TCP_FIN_WAIT_1 = 5,
	TCP_FIN_WAIT_2 = 6,
	TCP_CLOSE_WAIT = 7,
	TCP_CLOSING = 8,
	TCP_LAST_ACK = 9,
	TCP_TIME_WAIT = 10,
};

enum {
	MOS_OVERLAP_POLICY_FIRST = 0,
	MOS_OVERLAP_POLICY_LAST = 1,
	MOS_OVERLAP_CNT = 2,
};

enum {
	MOS_SIDE_CLI = 0,
	MOS_SIDE_SVR = 1,
	MOS_SIDE_BOTH = 2,
};

enum {
	MOS_SOCK_UNUSED = 0,
	MOS_SOCK_STREAM_LISTEN = 1,
	MOS_SOCK_PROXY_LISTEN = 2,
	MOS_SOCK_MONITOR_STREAM = 3,
	MOS_SOCK_STREAM = 4,
	MOS_SOCK_PROXY = 5,
	MOS_SOCK_MONITOR_STREAM_ACTIVE = 6,
	MOS_SOCK_MONITOR_RAW = 7,
	MOS_SOCK_EPOLL = 8,
	MOS_SOCK_PIPE = 9,
};

enum {
	AF_INET = 2,
};

/* -- The mOS API (called from Lua as they are) --------------------------- */

int mtcp_init(const char *config_file);
int mtcp_destroy(void);
int mtcp_getconf(struct mtcp_conf *conf);
int mtcp_setconf(const struct mtcp_conf *conf);
int mtcp_core_affinitize(int cpu);
mctx_t mtcp_create_context(int cpu);
int mtcp_destroy_context(mctx_t mctx);
void mtcp_app_join(mctx_t mctx);
mtcp_sighandler_t mtcp_register_signal(int signum, mtcp_sighandler_t handler);
int mtcp_socket(mctx_t mctx, int domain, int type, int protocol);
int mtcp_close(mctx_t mctx, int sock);
int mtcp_bind_monitor_filter(mctx_t mctx, int sock, monitor_filter_t ft);
int mtcp_getsockopt(mctx_t mctx, int sock, int level, int optname, void *optval,
		    uint32_t *optlen);
int mtcp_setsockopt(mctx_t mctx, int sock, int level, int optname,
		    const void *optval, uint32_t optlen);
event_t mtcp_alloc_event(event_t event);
int mtcp_raise_event(mctx_t mctx, event_t event);
void mtcp_set_uctx(mctx_t mctx, int sock, void *uctx);
void *mtcp_get_uctx(mctx_t mctx, int sock);
int64_t mtcp_peek(mctx_t mctx, int sock, int side, char *buf, size_t len);
int64_t mtcp_ppeek(mctx_t mctx, int sock, int side, char *buf, size_t count,
		   uint64_t off);
int mtcp_getlastpkt(mctx_t mctx, int sock, int side, struct pkt_info *p);
uint32_t mtcp_cb_get_ts(mctx_t mctx);
int mtcp_getpeername(mctx_t mctx, int sock, struct sockaddr *saddr,
		     uint32_t *addrlen, int side);
int mtcp_setlastpkt(mctx_t mctx, int sock, int side, int64_t offset,
		    uint8_t *data, uint16_t datalen, int option);
int mtcp_sendpkt(mctx_t mctx, int sock, const struct pkt_info *pkt);
int mtcp_reset_conn(mctx_t mctx, int sock);
int GetRSSCPUCore(uint32_t sip, uint32_t dip, uint16_t sp, uint16_t dp,
		  int num_queues, uint8_t endian_check);
int GetNumCPUs(void);
int CoreAffinitize(int cpu);
int moonbox_num_cores(void);

/* -- What Lua needs besides: Lua functions as callbacks, the run loop ---- */

/*
 * Where the engine asks for a Lua function to be called (mirrors the
 * engine's struct pipe_invoke): fn is the Lua function's id, kind 0 a
 * callback and 1 a filter, whose result the loop stores in ret; failed is
 * set by the loop when the call raised an error.
 */
struct mosffi_invoke {
	int32_t fn;
	int32_t kind;
	int32_t sock;
	int32_t side;
	uint64_t event;
	filter_arg_t *arg;
	int32_t ret;
	int32_t failed;
};

/* Script error kinds, for mosffi_script_error(). */
enum {
	MOSFFI_ERR_RUNTIME = 0,
	MOSFFI_ERR_FILTER = 1,
	MOSFFI_ERR_MEMORY = 2,
	MOSFFI_ERR_TIMEOUT = 3,
};

/* One field of the structs above, from the C compiler (see the top). */
struct mosffi_field {
	const char *type;
	const char *field;
	int64_t offset;
	int64_t size;
};

int mosffi_abi_version(void);
/* Field i of the layout table; 0, or -1 past its end. */
int mosffi_abi_field(int i, struct mosffi_field *out);
/* Constant i as the C headers define it: its name and value; 0 or -1. */
int mosffi_abi_const(int i, const char **name, int64_t *value);

/* The context of core i (NULL if none). */
mctx_t mosffi_mctx(int core);
/* The invocation slot of the calling core. */
struct mosffi_invoke *mosffi_invoke_slot(mctx_t mctx);
/* Advance the core's pipeline: 1 when the call in the slot must be made,
 * 2 when the core is asked to reload its script (between two bursts), 3
 * when the script must stop (mosffi_stop_loop; between two bursts), 0
 * when the core has finished. */
int mosffi_run(mctx_t mctx);
/* Have mosffi_run return 3 at the end of the burst (on 1), or not (0):
 * the host stops a script whose heap went past --lua-mem there, out of
 * its Lua code, where its state can still be closed. */
void mosffi_stop_loop(mctx_t mctx, int on);
/* Mark a Lua call the engine did not ask for (mos.at_exit functions) as
 * running (1) or over (0), for the watchdog. */
void mosffi_busy(mctx_t mctx, int busy);
/* Register Lua function fn (>= 0; -1 unregisters) like
 * mtcp_register_callback. */
int mosffi_register_callback(mctx_t mctx, int sock, event_t event,
			     int hook_point, int32_t fn);
/* mtcp_define_event with a Lua filter of this core (the event is the
 * filter's generation's: see mosffi_retire). */
event_t mosffi_define_event(mctx_t mctx, event_t event, int32_t fn,
			    const void *arg, size_t len);
/* mtcp_settimer with a Lua callback; the delay in microseconds. */
int mosffi_settimer(mctx_t mctx, int id, int64_t usec, int32_t fn);
/* Count a script error of a kind and apply --on-error to the packet held;
 * the message is printed once per kind and core. */
void mosffi_script_error(mctx_t mctx, int kind, const char *msg);
/* 1 in a run of moonbox --check: the script is loaded, not run (its
 * mos.at_exit functions do not run either). */
int mosffi_checking(void);
/* The script's arguments: count, and argument i. */
int mosffi_script_argc(void);
const char *mosffi_script_arg(int i);

/* -- Reloading the script (SIGHUP) ---------------------------------------- */

/*
 * Each load of the script on a core is a generation, 0 to
 * MOSFFI_GENERATIONS - 1 (then 0 again): the Lua function ids it gives the
 * engine are gen * MOSFFI_FN_SPAN + 1, + 2, ..., and the sockets it opens
 * with mosffi_socket are marked as its own. mosffi_run returns 2 when the
 * core is asked to reload, between two bursts.
 */
enum {
	MOSFFI_FN_SPAN = 1048576,
	MOSFFI_GENERATIONS = 2047,
};

/* mtcp_socket, the socket marked as generation gen's. */
int mosffi_socket(mctx_t mctx, int domain, int type, int protocol, int gen);
/* mtcp_alloc_event, the event marked as generation gen's. */
event_t mosffi_alloc_event(mctx_t mctx, event_t event, int gen);
/* Close every socket generation gen opened, the flows' sockets made from
 * them, disarm its timers and give back the events it defined (a later
 * load's same definitions take their ids again): the number of its
 * sockets, or -1. */
int mosffi_retire(mctx_t mctx, int gen);
/* Count a reload that worked (ok 1: the new load's first error of each
 * kind is printed again) or failed (0). */
void mosffi_reloaded(mctx_t mctx, int ok);

/* -- Test scenarios (moonbox --scenario, mos_scenario(3)) ----------------- */

/* mosffi_scn_pull's flags. */
enum {
	MOSFFI_SCN_GENERATED = 1,
};

/* 1 when the run is a scenario's. */
int mosffi_scn_active(void);
/* Put a frame on the receive ring of scenario port 0 or 1, with the capture
 * time usec; 0, or -1 with errno EINVAL (no scenario, another thread, a bad
 * port, length or time), ENOBUFS (no packet buffer) or ENOSPC (the ring is
 * full). */
int mosffi_scn_push(mctx_t mctx, int port, const void *frame, uint32_t len,
		    int64_t usec);
/* Advance the engine until it has handled every frame pushed (at least one
 * burst): 1 when the call in the invocation slot must be made (then step
 * again), 0 when it is done, 2 when the core has finished; -1 (errno). */
int mosffi_scn_step(mctx_t mctx);
/* Take the next frame port sent, copying at most cap bytes of it to buf:
 * its whole length (more than cap: cut), 0 when there is none, or -1
 * (errno EINVAL). *flags: MOSFFI_SCN_GENERATED for frames moonbox made. */
int mosffi_scn_pull(mctx_t mctx, int port, void *buf, uint32_t cap,
		    uint32_t *flags);
/* Move the core's clock on to ms (never back) between steps; 0 or -1. */
int mosffi_scn_clock(mctx_t mctx, int64_t ms);
/* Stop taking input: the steps that follow close every flow, then 2. */
int mosffi_scn_finish(mctx_t mctx);
/* Counter i of the core's struct stats: its name and value; 0 or -1. */
int mosffi_scn_counter(mctx_t mctx, int i, const char **name,
		       uint64_t *value);
/* The scenario's result: how many tests failed (the exit status). */
void mosffi_scn_report(mctx_t mctx, int failed);
