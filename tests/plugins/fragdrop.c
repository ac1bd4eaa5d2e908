/*
 * fragdrop.c - test plugin: tries MOS_DROP on every TCP segment whose
 * payload starts with a mark and logs what mtcp_getlastpkt showed of it,
 * so tests can check that a datagram reassembled from IPv4 fragments is
 * presented whole but cannot be dropped (its fragments have been forwarded
 * already), while an ordinary segment can.
 *
 * Plugin arguments: log=PATH (lines go to PATH.<core>), mark=STR.
 * Line, per marked segment seen at MOS_HK_SND:
 *	seq=S len=L iplen=N frag=0xF fnv=H drop=RESULT
 * (iplen and frag: the IPv4 total length and flags/offset field; fnv: the
 * FNV-1a hash of the payload; RESULT: OK or the errno's name.)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <moonbox.h>

#define MAX_CORES	64

static FILE *out[MAX_CORES];
static const char *mark;

static uint32_t
fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static const char *
err_name(int e)
{
	switch (e) {
	case 0: return "OK";
	case EINVAL: return "EINVAL";
	case ENODATA: return "ENODATA";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	}
	return "other";
}

static void
on_pkt(mctx_t m, int sock, int side, event_t ev, filter_arg_t *arg)
{
	size_t ml = strlen(mark);
	struct pkt_info p;
	FILE *f = out[m->cpu];
	int ret;

	if (f == NULL || mtcp_getlastpkt(m, sock, side, &p) != 0 ||
	    p.tcph == NULL || p.payloadlen < ml ||
	    memcmp(p.payload, mark, ml) != 0)
		return;
	/* Logged first: a successful drop may end the packet's life. */
	fprintf(f, "seq=%u len=%u iplen=%u frag=0x%04x fnv=%08x", p.seq,
		p.payloadlen, ntohs(p.iph->tot_len), ntohs(p.iph->frag_off),
		fnv1a(p.payload, p.payloadlen));
	errno = 0;
	ret = mtcp_setlastpkt(m, sock, side, 0, NULL, 0, MOS_DROP);
	fprintf(f, " drop=%s\n", err_name(ret == 0 ? 0 : errno));
	fflush(f);
}

int
moonbox_plugin_init(mctx_t mctx, int argc, char **argv)
{
	const char *path = NULL;
	char name[4096];
	int sock, i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "log=", 4) == 0)
			path = argv[i] + 4;
		else if (strncmp(argv[i], "mark=", 5) == 0)
			mark = argv[i] + 5;
	}
	if (path == NULL || mark == NULL || *mark == '\0' ||
	    mctx->cpu >= MAX_CORES)
		return 1;
	snprintf(name, sizeof(name), "%s.%d", path, mctx->cpu);
	out[mctx->cpu] = fopen(name, "w");
	if (out[mctx->cpu] == NULL)
		return 2;
	sock = mtcp_socket(mctx, AF_INET, MOS_SOCK_MONITOR_STREAM, 0);
	if (sock < 0 || mtcp_register_callback(mctx, sock, MOS_ON_PKT_IN,
					       MOS_HK_SND, on_pkt) != 0)
		return 3;
	return 0;
}

void
moonbox_plugin_fini(mctx_t mctx)
{
	if (mctx->cpu < MAX_CORES && out[mctx->cpu] != NULL) {
		fclose(out[mctx->cpu]);
		out[mctx->cpu] = NULL;
	}
}
