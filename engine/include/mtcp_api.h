/*
 * mtcp_api.h - context life cycle, sockets and socket options of the mOS
 * monitoring API, as implemented by moonbox (libmoonbox).
 *
 * Names, types and constant values are those of mOS 0.3/0.4 so that a
 * monitor written for mOS compiles unchanged. The end-host (mTCP) half of
 * mOS's header (bind/listen/accept/connect/read/write/epoll) is not part of
 * moonbox: moonbox is a monitor, not a TCP endpoint. See the COMPATIBILITY
 * section of each man page for the places where moonbox deliberately differs.
 *
 * Error convention: functions return -1 (or NULL) and set errno; nothing in
 * this API calls exit() or assert() on its arguments.
 */
#ifndef __MTCP_API_H_
#define __MTCP_API_H_

#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifndef UNUSED
#define UNUSED(x)		(void)x
#endif

#ifndef INPORT_ANY
#define INPORT_ANY	(uint16_t)0
#endif

typedef unsigned char byte;

#ifdef __cplusplus
extern "C" {
#endif

/** Per-core context handle. `cpu` is the core index given to
 * mtcp_create_context(); the rest of the context is private. */
struct mtcp_context
{
	int cpu;
};

typedef struct mtcp_context *mctx_t;

/** Signal handler type for mtcp_register_signal(). */
typedef void (*mtcp_sighandler_t)(int);

/** Socket types (values as in mOS). moonbox implements the monitor types:
 * MOS_SOCK_MONITOR_STREAM, MOS_SOCK_MONITOR_STREAM_ACTIVE (created by the
 * engine for each monitored flow) and MOS_SOCK_MONITOR_RAW. */
enum socket_type
{
	MOS_SOCK_UNUSED,
	MOS_SOCK_STREAM_LISTEN,
	MOS_SOCK_PROXY_LISTEN,
	MOS_SOCK_MONITOR_STREAM,
	MOS_SOCK_STREAM,
	MOS_SOCK_PROXY,
	MOS_SOCK_MONITOR_STREAM_ACTIVE,
	MOS_SOCK_MONITOR_RAW,
	MOS_SOCK_EPOLL,
	MOS_SOCK_PIPE,
};

/** Run-time configuration, read with mtcp_getconf() and changed with
 * mtcp_setconf() before the first mtcp_create_context(). Layout as in mOS.
 * tcp_timewait and tcp_timeout are in milliseconds (mOS's internal ticks);
 * the config file gives them in seconds. */
struct mtcp_conf
{
#define APP_NAME_LEN			40
#define MOS_APP				20

	int num_cores;        /**< number of worker cores */
	int max_concurrency;  /**< flows per core */
	uint64_t cpu_mask;    /**< read-only */

	int max_num_buffers;  /**< reassembly buffers per core (0: as many as flows) */
	int rcvbuf_size;      /**< reassembly window per side, bytes */
	int sndbuf_size;      /**< unused by monitors, kept for mOS */

	int tcp_timewait;     /**< TIME_WAIT hold, ms (0: close at once) */
	int tcp_timeout;      /**< idle timeout, ms (<= 0: never) */

#define MOS_APP_ARGC 20
	uint64_t app_cpu_mask[MOS_APP];
	char *app_argv[MOS_APP][MOS_APP_ARGC];
	int app_argc[MOS_APP];
	int num_app;
};

/** Kept for source compatibility with mOS programs; unused. */
struct app_context
{
	mctx_t mctx;
	int socket_id;
	struct conn_filter *cf;
	int ep_id;
};

/**
 * Initialise moonbox from an mOS-style configuration file.
 * @param config_file path of a mos.conf, or NULL to use only the options in
 *        the environment variable MOONBOX_OPTS.
 * @return 0 on success; -1 with errno ENOENT (file missing), EINVAL
 *         (unreadable file, syntax or value error, no port; reported on
 *         stderr), EALREADY (called twice) or ENODEV (DPDK or a port
 *         failed to start).
 */
int
mtcp_init(const char *config_file);

/**
 * Release what mtcp_init() set up. Contexts still running are stopped first.
 * @return 0; -1 with EPERM when called from a worker core.
 */
int
mtcp_destroy(void);

/** Copy the current configuration into *conf.
 * @return 0; -1 with EINVAL if conf is NULL or mtcp_init() was not called. */
int
mtcp_getconf(struct mtcp_conf *conf);

/** Change the configuration (only before the first mtcp_create_context()).
 * @return 0; -1 with EINVAL (NULL or out-of-range value) or EBUSY (a
 *         context already exists). */
int
mtcp_setconf(const struct mtcp_conf *conf);

/** Pin the calling thread to CPU cpu.
 * @return 0; -1 with EINVAL (no such CPU). */
int
mtcp_core_affinitize(int cpu);

/**
 * Create the context of worker core cpu and start its thread. The thread
 * does not process packets of offline input until mtcp_app_join() is
 * called, so registrations made between the two calls see every packet.
 * @return the context; NULL with errno EINVAL (cpu out of range), EEXIST
 *         (context already exists), EPERM (mtcp_init() not called), ENODEV
 *         (a port failed to start), EBUSY (no lcore for the core's thread)
 *         or ENOMEM.
 */
mctx_t
mtcp_create_context(int cpu);

/** Stop the context's core and wait for its thread to finish (from a
 * signal handler: only ask it to stop). Its memory is freed by
 * mtcp_destroy().
 * @return 0; -1 with EACCES (invalid mctx) or EPERM (called from the
 *         core's own thread). */
int
mtcp_destroy_context(mctx_t mctx);

/** Register a handler for signum. For SIGINT the handler runs in place of
 * moonbox's default (stop all cores); a second SIGINT within one second
 * always stops. @return the previous handler, or SIG_ERR with EINVAL. */
mtcp_sighandler_t
mtcp_register_signal(int signum, mtcp_sighandler_t handler);

/**
 * Read a socket option. level must be SOL_MONSOCKET.
 * @return 0; -1 with EACCES (invalid mctx), EPERM (not on the core's
 *         thread), EBADF (no such socket), ENOTSOCK (not an active flow
 *         socket), EINVAL (bad level, NULL pointers, bad optlen, buffering
 *         off for that side), ENOTCONN (the server side does not exist
 *         yet), ENODATA (no bytes buffered yet), ENOPROTOOPT (unknown
 *         option).
 */
int
mtcp_getsockopt(mctx_t mctx, int sock, int level,
		int optname, void *optval, socklen_t *optlen);

/**
 * Set a socket option. level must be SOL_MONSOCKET.
 * @return 0; -1 with EACCES, EPERM, EBADF, EINVAL (bad level, value or
 *         optlen), ENOTSOCK (option needs an active socket), ENOMEM,
 *         ENOPROTOOPT (unknown option).
 */
int
mtcp_setsockopt(mctx_t mctx, int sock, int level,
		int optname, const void *optval, socklen_t optlen);

/**
 * Create a monitor socket.
 * @param domain AF_INET.
 * @param type MOS_SOCK_MONITOR_STREAM or MOS_SOCK_MONITOR_RAW.
 * @return the socket id; -1 with EACCES (invalid mctx), EAFNOSUPPORT,
 *         EINVAL (other type), ENFILE (no free socket) or ENOMEM.
 */
int
mtcp_socket(mctx_t mctx, int domain, int type, int protocol);

/**
 * Close a monitor socket. A listening or raw socket stops receiving events
 * and its flows keep the registrations they inherited; an active socket
 * stops monitoring its flow for this listener. When no socket monitors a
 * flow any more, moonbox stops tracking it (without MOS_ON_CONN_END).
 * @return 0; -1 with EACCES or EBADF.
 */
int
mtcp_close(mctx_t mctx, int sock);

#ifdef __cplusplus
};
#endif

#endif /* __MTCP_API_H_ */
