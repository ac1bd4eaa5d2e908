/*
 * mos_api.h - the mOS flow-monitoring API (events, callbacks, user-defined
 * events, stream reassembly access, packet rewriting), as implemented by
 * moonbox's libmoonbox.
 *
 * Source compatible with mOS 0.3/0.4's header of the same name: same names,
 * types, constant values and callback signature (five arguments). Each
 * function documents every errno it sets; the man pages in man3/ give the
 * full contract and the differences from mOS (COMPATIBILITY).
 *
 * "Core thread only" below means the function acts on the packet or flow
 * being processed and must be called from a callback, filter or timer of
 * that context's core; elsewhere it fails with EPERM.
 */
#ifndef __MOS_API_H_
#define __MOS_API_H_

#include <linux/tcp.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/time.h>
#include "mtcp_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __MTCP_MANAGER
#define __MTCP_MANAGER
typedef struct mtcp_manager * mtcp_manager_t;
#endif
#ifndef __SOCKET_MAP
#define __SOCKET_MAP
typedef struct socket_map * socket_map_t;
#endif

/** Hook points: where in a packet's processing a callback runs. */
enum mtcp_hook_point
{
	/** No stream context: raw PKT_IN, ORPHAN, CONN_NEW_DATA, ERROR,
	 * TIMEOUT. */
	MOS_NULL	= (1 << 29),
	/** After the receiving endpoint's emulated stack consumed the packet. */
	MOS_HK_RCV	= (1 << 30),
	/** After the sending endpoint's emulated stack was updated, before the
	 * receiver sees the packet: edits here are what the receiver sees. */
	MOS_HK_SND	= (int)(1U << 31),
};

/** Built-in events (bit flags). User-defined events have ids >= 4096. */
enum mos_event_type
{
	MOS_NULL_EVENT		= (0),
	/** A packet of a monitored flow (stream sockets) or any IPv4 packet
	 * matching the filter (raw sockets). */
	MOS_ON_PKT_IN		= (0x1<<0),
	/** Deprecated in mOS; never raised. */
	MOS_ON_PKT_OUT		= (0x1<<1),
	/** First SYN: client side at MOS_HK_SND (LISTEN -> SYN_SENT), server
	 * side at MOS_HK_RCV (LISTEN -> SYN_RCVD). Retransmitted SYNs do not
	 * raise it. */
	MOS_ON_CONN_START	= (0x1<<2),
	/** Deprecated in mOS; never raised. */
	MOS_ON_CONN_SETUP	= (0x1<<3),
	/** New in-order bytes for a side; once per side per receive burst,
	 * at MOS_NULL, after the burst's packets. */
	MOS_ON_CONN_NEW_DATA	= (0x1<<4),
	/** A segment could not be buffered (outside the window), or unread
	 * bytes are about to be overwritten (peek them now). */
	MOS_ON_ERROR		= (0x1<<5),
	/** The flow was idle for the configured timeout and is about to be
	 * closed (at MOS_NULL). Timer callbacks set with mtcp_settimer() also
	 * receive this event. */
	MOS_ON_TIMEOUT		= (0x1<<6),
	/** An emulated endpoint changed state. */
	MOS_ON_TCP_STATE_CHANGE	= (0x1<<7),
	/** A TCP packet that belongs to no monitored flow. */
	MOS_ON_ORPHAN		= (0x1<<8),
	/** Retransmission: payload overlapping bytes already received, or a
	 * repeated SYN, SYN/ACK or FIN. Raised at MOS_HK_RCV. */
	MOS_ON_REXMIT		= (0x1<<9),
	/** The flow is being destroyed; raised for each side, on MOS_HK_RCV
	 * then MOS_HK_SND. */
	MOS_ON_CONN_END		= (0x1<<10),
	/** Debugging event of mOS; never raised. */
	MOS_ON_DEBUG_MESSAGE	= (0x1<<11),
};

/* mtcp_setlastpkt() option bits */
#define MOS_ETH_HDR		(1 << 0)
#define MOS_IP_HDR		(1 << 1)
#define MOS_TCP_HDR		(1 << 2)
#define MOS_TCP_PAYLOAD		(1 << 3)
#define MOS_UPDATE_IP_CHKSUM	(1 << 4)
#define MOS_UPDATE_TCP_CHKSUM	(1 << 5)
#define MOS_DROP		(1 << 6)
#define MOS_OVERWRITE		(1 << 7)
#define MOS_CHOMP		(1 << 8)
#define MOS_INSERT		(1 << 9)

/**
 * A packet as seen by the monitor (filled by mtcp_getlastpkt()).
 * Multi-byte numbers are in host order except inside the headers.
 */
struct pkt_info {
	uint32_t      cur_ts;    /**< receive time, ms */
	int8_t        in_ifidx;  /**< input port index */

	uint16_t      eth_len;   /**< frame length */
	uint16_t      ip_len;    /**< IPv4 total length */

	uint64_t      offset;    /**< stream offset of the payload's first byte
				      (0 = first byte after the SYN) */
	uint16_t      payloadlen;
	uint32_t      seq;
	uint32_t      ack_seq;
	uint16_t      window;

	/* Keep these four last (mOS relies on it, see PKT_INFO_LEN). */
	struct ethhdr *ethh;
	struct iphdr  *iph;
	struct tcphdr *tcph;
	uint8_t       *payload;
};

/** Packet context (kept for mOS source compatibility). */
struct pkt_ctx {
	struct pkt_info  p;

	int8_t        direction;
	uint8_t       forward;
	int8_t        out_ifidx;
	int8_t        batch_index;
};
#define PKT_INFO_LEN		offsetof(struct pkt_info, ethh)

/** Sequence number change record (MOS_SEQ_REMAP in mOS; informational). */
typedef struct {
	int64_t seq_off;
	int side;
	uint32_t base_seq;
} seq_remap_info;

typedef struct filter_arg {
	void *arg;
	size_t len;
} filter_arg_t;

#ifndef SOL_SOCKET
#define SOL_SOCKET		0xffff
#endif
/** Socket option level of the monitor options. */
#define SOL_MONSOCKET		0xfffe

/** Monitor socket options (values as in mOS). */
enum mos_socket_opts {
	MOS_FRAGINFO_CLIBUF	= 0x01,
	MOS_FRAGINFO_SVRBUF	= 0x02,
	MOS_INFO_CLIBUF		= 0x03,
	MOS_INFO_SVRBUF		= 0x04,
	MOS_TCP_STATE_CLI	= 0x05,
	MOS_TCP_STATE_SVR	= 0x06,
	MOS_CLIBUF		= 0x09,
	MOS_SVRBUF		= 0x0a,
	MOS_STOP_MON		= 0x0c,
	MOS_CLIOVERLAP		= 0x0f,
	MOS_SVROVERLAP		= 0x10,

	MOS_TIMESTAMP		= 0x07,
	MOS_SEQ_REMAP		= 0x0b,
	MOS_FRAG_CLIBUF		= 0x0d,
	MOS_FRAG_SVRBUF		= 0x0e,
};

/** Reassembly buffer information (MOS_INFO_CLIBUF / MOS_INFO_SVRBUF).
 * All four fields are TCP sequence numbers of the side's receive stream. */
struct tcp_buf_info {
	/** Sequence number of the first stream byte (peer's ISN + 1). */
	uint32_t tcpbi_init_seq;
	/** Sequence number after the last byte this socket has read with
	 * mtcp_peek(). */
	uint32_t tcpbi_last_byte_read;
	/** Sequence number of the next in-order byte expected. */
	uint32_t tcpbi_next_byte_expected;
	/** Sequence number after the highest byte buffered (out of order
	 * bytes included). */
	uint32_t tcpbi_last_byte_received;
};

/** One buffered run of bytes (MOS_FRAGINFO_CLIBUF / MOS_FRAGINFO_SVRBUF). */
struct tcp_ring_fragment {
	uint64_t offset;	/**< stream offset of the first byte */
	uint32_t len;		/**< number of bytes */
};

/** Emulated endpoint states (values as in mOS). */
enum tcpstate
{
	TCP_CLOSED		= 0,
	TCP_LISTEN		= 1,
	TCP_SYN_SENT		= 2,
	TCP_SYN_RCVD		= 3,
	TCP_ESTABLISHED		= 4,
	TCP_FIN_WAIT_1		= 5,
	TCP_FIN_WAIT_2		= 6,
	TCP_CLOSE_WAIT		= 7,
	TCP_CLOSING		= 8,
	TCP_LAST_ACK		= 9,
	TCP_TIME_WAIT		= 10
};

/** Overlap policies of the reassembly buffers. */
enum {
	MOS_OVERLAP_POLICY_FIRST=0,
	MOS_OVERLAP_POLICY_LAST,
	MOS_OVERLAP_CNT
};

typedef uint64_t event_t;

/** Sides of a flow. */
enum {MOS_SIDE_CLI=0, MOS_SIDE_SVR, MOS_SIDE_BOTH};

/** Callback: sock is the flow's active socket (stream events) or the
 * listening/raw socket (MOS_NULL events); side as documented per event;
 * event is the id the callback was registered for; arg is the event's
 * filter argument ({NULL, 0} for built-in events). */
typedef void (*callback_t)(mctx_t mctx, int sock, int side,
			   event_t event, filter_arg_t *arg);
/** Filter of a user-defined event: return true to raise the event. */
typedef bool (*filter_t)(mctx_t mctx, int sock, int side,
			 event_t event, filter_arg_t *arg);

/** BPF filters (libpcap syntax, evaluated on the Ethernet frame). */
union monitor_filter {
	/** MOS_SOCK_MONITOR_RAW: packets that raise MOS_ON_PKT_IN. */
	char *raw_pkt_filter;
	/** MOS_SOCK_MONITOR_STREAM */
	struct {
		/** First SYN of a flow: monitor the flow or not. */
		char *stream_syn_filter;
		/** Packets without a flow: deliver MOS_ON_ORPHAN or not. */
		char *stream_orphan_filter;
	};
};
typedef union monitor_filter *monitor_filter_t;

/**
 * Bind BPF filters to a monitor socket, replacing earlier ones. A NULL
 * expression means "match everything"; ft == NULL removes all filters.
 * Any libpcap expression is accepted.
 * @return 0; -1 with EACCES (invalid mctx), EBADF (no such socket),
 *         ENOPROTOOPT (not a MOS_SOCK_MONITOR_STREAM or _RAW socket) or
 *         EINVAL (the expression does not compile; the reason is on
 *         stderr).
 */
int
mtcp_bind_monitor_filter(mctx_t mctx, int sock, monitor_filter_t ft);

/**
 * Register cb for one event at one hook point on a socket; cb == NULL
 * unregisters. On a listening or raw socket the registration applies to
 * flows created afterwards; on an active socket, to that flow only.
 * Registering again replaces the callback.
 * @return 0; -1 with EACCES, EBADF, EINVAL (event is 0, several built-in
 *         bits, an unknown user event, an unknown hook, a hook the event
 *         never fires at, or a socket type that cannot receive it), ENOENT
 *         (unregistering an event that is not registered) or ENOMEM.
 */
int
mtcp_register_callback(mctx_t mctx, int sock, event_t event,
		       int hook_point, callback_t cb);

/**
 * Allocate a child event of event that fires only when raised with
 * mtcp_raise_event() during the dispatch of its parent.
 * @return the new event id; MOS_NULL_EVENT with EINVAL (unknown parent,
 *         or nesting deeper than 32 levels), ENOSPC (too many user events)
 *         or ENOMEM.
 */
event_t
mtcp_alloc_event(event_t event);

/**
 * Define a user event: a child of event that fires when event fires and
 * filter returns true. arg is copied. Defining the same (parent, filter,
 * arg) again returns the same id.
 * @return the new event id (>= 4096); MOS_NULL_EVENT with EINVAL (filter
 *         NULL, unknown parent, arg->len > 0 with arg->arg NULL), ENOSPC or
 *         ENOMEM.
 */
event_t
mtcp_define_event(event_t event, filter_t filter, struct filter_arg *arg);

/**
 * Raise an event allocated with mtcp_alloc_event(): it fires, for the
 * socket and packet being processed, when the dispatch reaches it.
 * Core thread only.
 * @return 0; -1 with EACCES, EPERM (not inside a callback or filter) or
 *         EINVAL (not an allocated event).
 */
int
mtcp_raise_event(mctx_t mctx, event_t event);

/** Store a per-flow (active socket) or per-socket (listening/raw) user
 * pointer. Core thread only for active sockets. On failure errno is set
 * to EACCES, EPERM or EBADF. */
void
mtcp_set_uctx(mctx_t mctx, int sock, void *uctx);

/** Return the pointer stored with mtcp_set_uctx(), or NULL (errno EACCES,
 * EPERM or EBADF on failure, unchanged when none was stored). */
void *
mtcp_get_uctx(mctx_t mctx, int sock);

/**
 * Copy the next unread in-order bytes received by side (MOS_SIDE_SVR: the
 * bytes the server received) into buf and advance this socket's read
 * offset. Core thread only.
 * @return bytes copied (0 when there is nothing new); -(bytes missed) with
 *         ENODATA when data was overwritten before it was read (the offset
 *         then moves to the oldest byte still buffered); -1 with EACCES,
 *         EPERM, EBADF (not an active socket), EINVAL (bad side, buf NULL,
 *         or buffering off for that side) or ENOTCONN (that side's stream
 *         does not exist yet).
 */
ssize_t
mtcp_peek(mctx_t mctx, int sock, int side, char *buf, size_t len);

/**
 * Copy up to count buffered bytes of side's stream starting at stream
 * offset off (0 = first byte after the SYN) without moving the read offset.
 * Core thread only.
 * @return bytes copied (stops at a gap); -1 with EACCES, EPERM, EBADF,
 *         ESOCKTNOSUPPORT (not an active socket), EINVAL (bad side, buf
 *         NULL, buffering off), ENOTCONN or ENODATA (off is not buffered:
 *         not received yet, in a gap, or overwritten).
 */
ssize_t
mtcp_ppeek(mctx_t mctx, int sock, int side,
	   char *buf, size_t count, uint64_t off);

/**
 * Copy the packet being processed into *p; the header pointers point into
 * a per-core copy of the frame that is valid until the next call.
 * Core thread only.
 * @return 0; -1 with EACCES, EPERM, EBADF, EINVAL (p NULL or bad side) or
 *         ENODATA (no packet: new-data and timer callbacks, flow ends
 *         without a packet, or a socket unrelated to the packet).
 */
int
mtcp_getlastpkt(mctx_t mctx, int sock, int side, struct pkt_info *p);

/**
 * Arm a one-shot timer: after *timeout, cb(mctx, id, 0, MOS_ON_TIMEOUT,
 * NULL) runs on this core. If id is an active socket, the timer is
 * cancelled when that flow ends.
 * @return 0; -1 with EACCES, EINVAL (timeout or cb NULL, negative
 *         timeout) or ENOMEM.
 */
int
mtcp_settimer(mctx_t mctx, int id, struct timeval *timeout, callback_t cb);

/** Current time of the core in microseconds (1 ms resolution; packet time
 * for offline input). @return the time; 0 with EACCES or EPERM. */
uint32_t
mtcp_cb_get_ts(mctx_t mctx);

/** Release the held input (first call) and wait until this core's thread
 * has finished (end of offline input, mtcp_destroy_context() or SIGINT). */
void
mtcp_app_join(mctx_t mctx);

/**
 * Addresses of the flow's endpoints (struct sockaddr_in), as in its first
 * SYN before any rewrite. side MOS_SIDE_CLI or MOS_SIDE_SVR needs
 * *addrlen >= sizeof(struct sockaddr); MOS_SIDE_BOTH needs twice that and
 * fills addr[MOS_SIDE_CLI] and addr[MOS_SIDE_SVR]. *addrlen is set to the
 * bytes written. Core thread only.
 * @return 0; -1 with EACCES, EPERM, EBADF, ENOTSOCK (not an active socket)
 *         or EINVAL (addr or addrlen NULL, buffer too small, bad side).
 */
int
mtcp_getpeername(mctx_t mctx, int sock, struct sockaddr *saddr,
		 socklen_t *addrlen, int side);

/**
 * Change the packet being processed. option is one action (MOS_DROP,
 * MOS_OVERWRITE, MOS_CHOMP, MOS_INSERT); for the last three also one
 * region (MOS_ETH_HDR, MOS_IP_HDR, MOS_TCP_HDR, MOS_TCP_PAYLOAD) and
 * optionally MOS_UPDATE_IP_CHKSUM / MOS_UPDATE_TCP_CHKSUM. offset is
 * relative to the start of the region. MOS_DROP ignores all other bits.
 * CHOMP and INSERT keep the IP length and the flow's later sequence and
 * acknowledgement numbers consistent. Core thread only.
 * @return 0; -1 with EACCES, EPERM, EBADF, ENODATA (no packet for this
 *         socket), EINVAL (invalid option combination, negative offset,
 *         data NULL with datalen > 0, region absent from the packet, a
 *         checksum flag for a header the frame lacks, range outside the
 *         region, a length field changed by MOS_OVERWRITE, a length change
 *         at MOS_HK_RCV of a segment that was not received in order, a
 *         length change in a segment older than the last one changed, or a
 *         datagram reassembled from fragments) or ENOSPC (no room in the
 *         frame buffer for MOS_INSERT).
 */
int
mtcp_setlastpkt(mctx_t mctx, int sock, int side, off_t offset,
		byte *data, uint16_t datalen, int option);

/**
 * Send a new TCP/IPv4 packet built from pkt: the Ethernet header from
 * pkt->ethh (or the flow's addresses when NULL), IP and TCP headers from
 * pkt->iph and pkt->tcph as given, then pkt->payloadlen bytes of
 * pkt->payload; lengths and checksums are filled in. It leaves the port
 * the flow's packets to that destination leave by. Core thread only.
 * @return 0; -1 with EACCES, EPERM, EBADF, ENODATA (iph or tcph NULL),
 *         EINVAL (pkt NULL, bad header lengths, too long), ENOTCONN (no
 *         output port known) or ENOBUFS (no packet buffer). A packet that
 *         a full output queue then drops is not reported.
 */
int
mtcp_sendpkt(mctx_t mctx, int sock, const struct pkt_info *pkt);

/**
 * Reset the flow: send a RST to each endpoint with the sequence number
 * that endpoint expects, then stop monitoring the flow (it ends with
 * MOS_ON_CONN_END). Core thread only.
 * @return 0; -1 with EACCES, EPERM, EBADF, ENOTSOCK (not an active
 *         socket), ENOTCONN (the server has not answered yet) or ENOBUFS.
 */
int
mtcp_reset_conn(mctx_t mctx, int sock);

#ifdef __cplusplus
};
#endif

#endif /* __MOS_API_H_ */
