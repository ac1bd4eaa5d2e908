/*
 * conf.c - parser of mOS's mos.conf (syntax and choices in conf.h).
 *
 * One pass over the text, line by line, with '{' and '}' acting as
 * separators wherever they appear, so that "netdev { dpdk0 0x1 }" and the
 * usual one-item-per-line layout parse alike. A lone word at the end of a
 * line is held back until the next token shows whether a '{' follows it
 * (mOS accepts "name" and "{" on separate lines). Nothing is copied out of
 * the input until its length has been checked against the destination.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_FILE_MAX	(16u << 20)	/* larger files are not configs */
#define CONF_TIME_MAX	604800		/* a week, so ms still fit an int */
#define IFNAME_MAX	15		/* IFNAMSIZ - 1 */

enum blk_kind {
	BK_TOP, BK_APP, BK_MOS, BK_NETDEV, BK_ARP, BK_ROUTE, BK_FWD,
	BK_SKIP,	/* unknown block: content skipped */
};

struct span {
	const char *p;
	size_t n;
};

struct frame {
	int kind;		/* enum blk_kind */
	int line;		/* line of the block's name */
	char path[48];		/* "mos.netdev": prefix of ignored names */
	char name[48];		/* printable, for "not closed" */
};

struct pstate {
	const char *name;
	struct mosconf *c;
	char *err;
	size_t errlen;
	int line;
	int depth;
	struct frame stk[CONF_MAX_DEPTH + 1];	/* stk[0]: top level */
	int mos_line;		/* line of the mos block, 0 before */
	struct span pending;	/* lone word that may name a block */
	int pending_line;
	int fwd_line[CONF_MAX_FWD];
};

struct numkey {
	const char *key;
	size_t off;		/* int field in struct mosconf */
	long long min, max;
};

static const struct numkey mos_nums[] = {
	{ "forward", offsetof(struct mosconf, forward), 0, 1 },
	{ "nb_mem_channels", offsetof(struct mosconf, nb_mem_channels),
	  0, 128 },
	{ "max_concurrency", offsetof(struct mosconf, max_concurrency),
	  1, INT_MAX },
	{ "rmem_size", offsetof(struct mosconf, rmem_size), 1, INT_MAX },
	{ "wmem_size", offsetof(struct mosconf, wmem_size), 1, INT_MAX },
	{ "tcp_tw_interval", offsetof(struct mosconf, tcp_tw_interval),
	  0, CONF_TIME_MAX },
	{ "tcp_timeout", offsetof(struct mosconf, tcp_timeout),
	  INT_MIN, CONF_TIME_MAX },
	{ "no_ring_buffers", offsetof(struct mosconf, no_ring_buffers),
	  0, 1 },
};

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' ||
	       ch == '\f';
}

static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_hex(int ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

static int
is_ident(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '_';
}

static struct span
trim(const char *b, const char *e)
{
	while (b < e && is_blank((unsigned char)*b))
		b++;
	while (e > b && is_blank((unsigned char)e[-1]))
		e--;
	return (struct span){ b, (size_t)(e - b) };
}

static int
span_eq(struct span s, const char *str)
{
	return strlen(str) == s.n && memcmp(s.p, str, s.n) == 0;
}

/* An identifier of any length (length limits are checked by the users). */
static int
span_is_ident(struct span s)
{
	size_t i;

	if (s.n == 0 || !(is_alpha((unsigned char)s.p[0]) || s.p[0] == '_'))
		return 0;
	for (i = 1; i < s.n; i++)
		if (!is_ident((unsigned char)s.p[i]))
			return 0;
	return 1;
}

/* Printable excerpt of possibly hostile text, for messages. */
static const char *
show(struct span s, char *buf, size_t size)
{
	size_t i, n = s.n, max = size - 4;

	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (n < s.n)
		memcpy(buf + n, "...", 4);
	else
		buf[n] = '\0';
	return buf;
}

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Report an error at line (0: no particular line). fail() is -1 where it
 * is called, so that a static analyzer, which does not follow variadic
 * calls, sees every failed parse return -1. */
__attribute__((format(printf, 3, 4)))
static void
fail_msg(struct pstate *s, int line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		set_err(s->err, s->errlen, "%s:%d: %s", s->name, line, msg);
	else
		set_err(s->err, s->errlen, "%s: %s", s->name, msg);
	errno = EINVAL;
}

#define fail(...)	(fail_msg(__VA_ARGS__), -1)

static struct frame *
top(struct pstate *s)
{
	return &s->stk[s->depth];
}

static void
record_ignored(struct pstate *s, struct span name)
{
	struct mosconf *c = s->c;
	const char *path = top(s)->path;
	char full[sizeof(c->ignored[0])] = "";	/* no stack bytes copied */
	int i;

	/* Names are at most CONF_KEY_MAX long and paths short: it fits. */
	if (path[0] != '\0')
		snprintf(full, sizeof(full), "%s.%.*s", path, (int)name.n,
			 name.p);
	else
		snprintf(full, sizeof(full), "%.*s", (int)name.n, name.p);
	for (i = 0; i < c->nb_ignored; i++)
		if (strcmp(c->ignored[i], full) == 0)
			return;
	if (c->nb_ignored == CONF_MAX_IGNORED) {
		c->nb_ignored_dropped++;
		return;
	}
	memcpy(c->ignored[c->nb_ignored++], full, sizeof(full));
}

static int
check_chars(struct pstate *s, struct span st, int line)
{
	size_t i;

	for (i = 0; i < st.n; i++) {
		unsigned char ch = (unsigned char)st.p[i];

		if ((ch < 0x20 && !is_blank(ch)) || ch == 0x7f)
			return fail(s, line, "control character 0x%02x", ch);
	}
	return 0;
}

/* Whole-string %i: decimal, 0x hex or 0 octal, optional sign. */
static int
parse_ll(const char *v, long long *out)
{
	char *end;
	long long x;

	if (v[0] == '\0' || is_blank((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoll(v, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

static int
parse_u64(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!is_digit((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

static int
num_value(struct pstate *s, int line, const char *key, const char *v,
	  long long min, long long max, int *out)
{
	long long x;

	if (parse_ll(v, &x) < 0)
		return fail(s, line, "%s: '%s' is not a number", key, v);
	if (x < min || x > max)
		return fail(s, line, "%s: %s is out of range (%lld..%lld)",
			    key, v, min, max);
	*out = (int)x;
	return 0;
}

static int
mask_value(struct pstate *s, int line, const char *key, struct span v,
	   uint64_t *out)
{
	char buf[CONF_VALUE_MAX + 1], sh[48];

	if (v.n >= sizeof(buf))
		return fail(s, line, "%s: '%s' is not a number", key,
			    show(v, sh, sizeof(sh)));
	memcpy(buf, v.p, v.n);
	buf[v.n] = '\0';
	if (parse_u64(buf, out) < 0)
		return fail(s, line, "%s: '%s' is not a number", key, buf);
	return 0;
}

/*
 * "key = value" into key[CONF_KEY_MAX + 1] and val[CONF_VALUE_MAX + 1].
 * The statement is trimmed, so the value has no blanks at either end.
 */
static int
parse_kv(struct pstate *s, struct span st, int line, char *key, char *val)
{
	size_t i = 0, klen;
	struct span v;
	char sh[48];

	if (st.n > 0 && (is_alpha((unsigned char)st.p[0]) || st.p[0] == '_'))
		while (i < st.n && is_ident((unsigned char)st.p[i]))
			i++;
	klen = i;
	while (i < st.n && is_blank((unsigned char)st.p[i]))
		i++;
	if (klen == 0 || i == st.n || st.p[i] != '=')
		return fail(s, line, "expected 'key = value', 'name {' or "
			    "'}', not '%s'", show(st, sh, sizeof(sh)));
	if (klen > CONF_KEY_MAX)
		return fail(s, line, "key '%s' is longer than %d characters",
			    show((struct span){ st.p, klen }, sh, sizeof(sh)),
			    CONF_KEY_MAX);
	v = trim(st.p + i + 1, st.p + st.n);
	memcpy(key, st.p, klen);
	key[klen] = '\0';
	if (v.n > CONF_VALUE_MAX)
		return fail(s, line, "value of '%s' is longer than %d "
			    "characters", key, CONF_VALUE_MAX);
	memcpy(val, v.p, v.n);
	val[v.n] = '\0';
	return 0;
}

/* Split on blanks; returns the number of words, storing at most max. */
static int
split(struct span st, struct span *w, int max)
{
	size_t i = 0;
	int n = 0;

	for (;;) {
		size_t b;

		while (i < st.n && is_blank((unsigned char)st.p[i]))
			i++;
		if (i == st.n)
			return n;
		b = i;
		while (i < st.n && !is_blank((unsigned char)st.p[i]))
			i++;
		if (n < max)
			w[n] = (struct span){ st.p + b, i - b };
		n++;
	}
}

static int
is_pci(struct span d)
{
	const char *p = d.p;

	if (d.n == 12) {
		if (!is_hex(p[0]) || !is_hex(p[1]) || !is_hex(p[2]) ||
		    !is_hex(p[3]) || p[4] != ':')
			return 0;
		p += 5;
	} else if (d.n != 7) {
		return 0;
	}
	return is_hex(p[0]) && is_hex(p[1]) && p[2] == ':' && is_hex(p[3]) &&
	       is_hex(p[4]) && p[5] == '.' && p[6] >= '0' && p[6] <= '7';
}

/* Kind of a device word, or -1. */
static int
dev_kind(struct span d)
{
	size_t i;

	if (d.n >= 4 && memcmp(d.p, "net_", 4) == 0) {
		/* The driver/instance name is what DPDK matches on. */
		if (d.n == 4 || d.p[4] == ',')
			return -1;
		for (i = 4; i < d.n && d.p[i] != ','; i++)
			if (!is_ident((unsigned char)d.p[i]))
				return -1;
		for (; i < d.n; i++)
			if ((unsigned char)d.p[i] <= 0x20 ||
			    (unsigned char)d.p[i] >= 0x7f)
				return -1;
		return CONF_DEV_VDEV;
	}
	if (is_pci(d))
		return CONF_DEV_PCI;
	if (d.n == 0 || d.n > IFNAME_MAX)
		return -1;
	for (i = 0; i < d.n; i++)
		if (!is_ident((unsigned char)d.p[i]) && d.p[i] != '.' &&
		    d.p[i] != '-')
			return -1;
	return CONF_DEV_IFNAME;
}

static int
bad_dev(struct pstate *s, int line, const char *blk, struct span d)
{
	char sh[48];

	return fail(s, line, "%s: '%s' is not an interface name, PCI "
		    "address or net_* vdev", blk, show(d, sh, sizeof(sh)));
}

/* "a.b.c.d" or "a.b.c.d/prefix" (prefix 0..32, default 32). */
static int
parse_ipprefix(struct span w, uint32_t *addr, int *prefix)
{
	char ip[16];
	struct in_addr in;
	size_t i, iplen = w.n;
	int pfx = 32;
	const char *slash = memchr(w.p, '/', w.n);

	if (slash != NULL) {
		iplen = (size_t)(slash - w.p);
		i = iplen + 1;
		if (i == w.n || w.n - i > 2)
			return -1;
		for (pfx = 0; i < w.n; i++) {
			if (!is_digit((unsigned char)w.p[i]))
				return -1;
			pfx = pfx * 10 + (w.p[i] - '0');
		}
		if (pfx > 32)
			return -1;
	}
	if (iplen == 0 || iplen >= sizeof(ip))
		return -1;
	memcpy(ip, w.p, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, &in) != 1)
		return -1;
	*addr = in.s_addr;
	*prefix = pfx;
	return 0;
}

/* Six groups of one or two hex digits separated by ':'. */
static int
parse_mac(struct span w, uint8_t *mac)
{
	size_t i = 0;
	int g;

	for (g = 0; g < 6; g++) {
		unsigned v = 0;
		int nd = 0;

		if (g > 0) {
			if (i == w.n || w.p[i] != ':')
				return -1;
			i++;
		}
		while (i < w.n && is_hex((unsigned char)w.p[i]) && nd < 2) {
			char ch = w.p[i++];

			v = v * 16 + (unsigned)(is_digit(ch) ? ch - '0' :
						(ch | 0x20) - 'a' + 10);
			nd++;
		}
		if (nd == 0)
			return -1;
		mac[g] = (uint8_t)v;
	}
	return i == w.n ? 0 : -1;
}

static int
app_line(struct pstate *s, struct span st, int line)
{
	struct conf_app *a = &s->c->apps[s->c->nb_apps - 1];
	char key[CONF_KEY_MAX + 1], val[CONF_VALUE_MAX + 1];

	if (parse_kv(s, st, line, key, val) < 0)
		return -1;
	if (strcmp(key, "type") == 0) {
		if (strcmp(val, "end") != 0 && strcmp(val, "monitor") != 0)
			return fail(s, line, "type: '%s' is not 'end' or "
				    "'monitor'", val);
		memcpy(a->type, val, strlen(val) + 1);
	} else if (strcmp(key, "run") == 0) {
		memcpy(a->run, val, strlen(val) + 1);
	} else if (strcmp(key, "cpu_mask") == 0) {
		return mask_value(s, line, key,
				  (struct span){ val, strlen(val) },
				  &a->cpu_mask);
	} else if (strcmp(key, "ip_forward") == 0) {
		return num_value(s, line, key, val, 0, 1, &a->ip_forward);
	} else {
		record_ignored(s, (struct span){ key, strlen(key) });
	}
	return 0;
}

static int
multiprocess_value(struct pstate *s, int line, const char *val)
{
	struct span w[3];
	char num[CONF_VALUE_MAX + 1];
	int n = split((struct span){ val, strlen(val) }, w, 3);

	if (n < 1 || n > 2 || (n == 2 && !span_eq(w[1], "master")))
		return fail(s, line, "multiprocess: expected 'CORE [master]'");
	memcpy(num, w[0].p, w[0].n);
	num[w[0].n] = '\0';
	if (num_value(s, line, "multiprocess", num, 0, 1023,
		      &s->c->mp_core) < 0)
		return -1;
	s->c->multiprocess = 1;
	s->c->mp_master = n == 2;
	return 0;
}

static int
mos_line(struct pstate *s, struct span st, int line)
{
	struct mosconf *c = s->c;
	char key[CONF_KEY_MAX + 1], val[CONF_VALUE_MAX + 1];
	size_t i;

	if (parse_kv(s, st, line, key, val) < 0)
		return -1;
	for (i = 0; i < sizeof(mos_nums) / sizeof(mos_nums[0]); i++) {
		const struct numkey *k = &mos_nums[i];

		if (strcmp(key, k->key) == 0)
			return num_value(s, line, key, val, k->min, k->max,
					 (int *)((char *)c + k->off));
	}
	/* Values are at most CONF_VALUE_MAX: they fit these fields. */
	if (strcmp(key, "mos_log") == 0)
		memcpy(c->mos_log, val, strlen(val) + 1);
	else if (strcmp(key, "stat_print") == 0)
		memcpy(c->stat_print, val, strlen(val) + 1);
	else if (strcmp(key, "port") == 0)
		memcpy(c->port, val, strlen(val) + 1);
	else if (strcmp(key, "multiprocess") == 0)
		return multiprocess_value(s, line, val);
	else
		record_ignored(s, (struct span){ key, strlen(key) });
	return 0;
}

static int
netdev_line(struct pstate *s, struct span st, int line)
{
	struct mosconf *c = s->c;
	struct conf_port *pt;
	struct span w[2];
	uint64_t mask;
	int n = split(st, w, 2), kind, i;
	char sh[48];

	if (n == 1)
		return fail(s, line, "netdev: '%s' has no cpu mask",
			    show(w[0], sh, sizeof(sh)));
	if (n != 2)
		return fail(s, line, "netdev: expected '<device> <cpumask>'");
	if (w[0].n >= sizeof(pt->dev))
		return fail(s, line, "netdev: device name longer than %zu "
			    "characters", sizeof(pt->dev) - 1);
	kind = dev_kind(w[0]);
	if (kind < 0)
		return bad_dev(s, line, "netdev", w[0]);
	if (mask_value(s, line, "netdev", w[1], &mask) < 0)
		return -1;
	if (mask == 0)
		return fail(s, line, "netdev: cpu mask of '%s' is 0",
			    show(w[0], sh, sizeof(sh)));
	for (i = 0; i < c->nb_ports; i++)
		if (span_eq(w[0], c->ports[i].dev))
			return fail(s, line, "netdev: '%s' is listed twice",
				    c->ports[i].dev);
	if (c->nb_ports == CONF_MAX_PORTS)
		return fail(s, line, "netdev: more than %d devices",
			    CONF_MAX_PORTS);
	pt = &c->ports[c->nb_ports++];
	memcpy(pt->dev, w[0].p, w[0].n);
	pt->dev[w[0].n] = '\0';
	if (kind == CONF_DEV_IFNAME)
		snprintf(pt->spec, sizeof(pt->spec),
			 "net_af_packet_%.*s,iface=%.*s", (int)w[0].n, w[0].p,
			 (int)w[0].n, w[0].p);
	else
		memcpy(pt->spec, pt->dev, w[0].n + 1);
	pt->cpu_mask = mask;
	pt->kind = kind;
	return 0;
}

static int
arp_line(struct pstate *s, struct span st, int line)
{
	struct mosconf *c = s->c;
	struct conf_arp *e;
	struct span w[2];
	uint32_t addr;
	int prefix;
	char sh[48];

	if (split(st, w, 2) != 2)
		return fail(s, line, "arp_table: expected '<ip>/<prefix> "
			    "<mac>'");
	if (parse_ipprefix(w[0], &addr, &prefix) < 0)
		return fail(s, line, "arp_table: '%s' is not an IPv4 "
			    "address/prefix", show(w[0], sh, sizeof(sh)));
	if (c->nb_arp == CONF_MAX_ARP)
		return fail(s, line, "arp_table: more than %d entries",
			    CONF_MAX_ARP);
	e = &c->arp[c->nb_arp];
	if (parse_mac(w[1], e->mac) < 0)
		return fail(s, line, "arp_table: '%s' is not a MAC address",
			    show(w[1], sh, sizeof(sh)));
	e->addr = addr;
	e->prefix = prefix;
	c->nb_arp++;
	return 0;
}

static int
route_line(struct pstate *s, struct span st, int line)
{
	struct mosconf *c = s->c;
	struct conf_route *r;
	struct span w[2];
	uint32_t addr;
	int prefix;
	char sh[48];

	if (split(st, w, 2) != 2)
		return fail(s, line, "route_table: expected '<ip>/<prefix> "
			    "<device>'");
	if (parse_ipprefix(w[0], &addr, &prefix) < 0)
		return fail(s, line, "route_table: '%s' is not an IPv4 "
			    "address/prefix", show(w[0], sh, sizeof(sh)));
	if (w[1].n >= sizeof(r->dev) || dev_kind(w[1]) < 0)
		return bad_dev(s, line, "route_table", w[1]);
	if (c->nb_routes == CONF_MAX_ROUTES)
		return fail(s, line, "route_table: more than %d entries",
			    CONF_MAX_ROUTES);
	r = &c->routes[c->nb_routes++];
	r->addr = addr;
	r->prefix = prefix;
	memcpy(r->dev, w[1].p, w[1].n);
	r->dev[w[1].n] = '\0';
	return 0;
}

static int
fwd_line(struct pstate *s, struct span st, int line)
{
	struct mosconf *c = s->c;
	struct span w[2];
	int i;

	if (split(st, w, 2) != 2)
		return fail(s, line, "nic_forward_table: expected '<device> "
			    "<device>'");
	for (i = 0; i < 2; i++)
		if (w[i].n >= sizeof(c->fwd[0][0]) || dev_kind(w[i]) < 0)
			return bad_dev(s, line, "nic_forward_table", w[i]);
	if (c->nb_fwd == CONF_MAX_FWD)
		return fail(s, line, "nic_forward_table: more than %d pairs",
			    CONF_MAX_FWD);
	for (i = 0; i < 2; i++) {
		memcpy(c->fwd[c->nb_fwd][i], w[i].p, w[i].n);
		c->fwd[c->nb_fwd][i][w[i].n] = '\0';
	}
	s->fwd_line[c->nb_fwd++] = line;
	return 0;
}

static int
handle_stmt(struct pstate *s, struct span st, int line)
{
	char key[CONF_KEY_MAX + 1], val[CONF_VALUE_MAX + 1];
	int kind = top(s)->kind;

	if (kind == BK_SKIP)
		return 0;
	if (check_chars(s, st, line) < 0)
		return -1;
	switch (kind) {
	case BK_TOP:
		/* mOS ignores top-level settings; say so, keep going. */
		if (parse_kv(s, st, line, key, val) < 0)
			return -1;
		record_ignored(s, (struct span){ key, strlen(key) });
		return 0;
	case BK_APP:
		return app_line(s, st, line);
	case BK_MOS:
		return mos_line(s, st, line);
	case BK_NETDEV:
		return netdev_line(s, st, line);
	case BK_ARP:
		return arp_line(s, st, line);
	case BK_ROUTE:
		return route_line(s, st, line);
	default:
		return fwd_line(s, st, line);
	}
}

static int
flush_pending(struct pstate *s)
{
	struct span p = s->pending;

	if (p.n == 0)
		return 0;
	s->pending.n = 0;
	return handle_stmt(s, p, s->pending_line);
}

static int
open_block(struct pstate *s, struct span name, int line)
{
	struct mosconf *c = s->c;
	struct frame *parent = top(s), *f;
	int kind = BK_SKIP;
	char sh[48], path[sizeof(f->path)];
	size_t len;

	if (parent->kind != BK_SKIP) {
		if (check_chars(s, name, line) < 0)
			return -1;
		if (!span_is_ident(name))
			return fail(s, line, "'%s' is not a block name",
				    show(name, sh, sizeof(sh)));
		if (name.n > CONF_KEY_MAX)
			return fail(s, line, "block name '%s' is longer than "
				    "%d characters", show(name, sh, sizeof(sh)),
				    CONF_KEY_MAX);
	}
	if (s->depth == CONF_MAX_DEPTH)
		return fail(s, line, "blocks nested deeper than %d",
			    CONF_MAX_DEPTH);

	if (parent->kind == BK_TOP && span_eq(name, "application")) {
		struct conf_app *a;

		if (c->nb_apps == CONF_MAX_APPS)
			return fail(s, line, "more than %d application blocks",
				    CONF_MAX_APPS);
		a = &c->apps[c->nb_apps++];
		memset(a, 0, sizeof(*a));
		a->cpu_mask = UINT64_MAX;
		a->ip_forward = 1;
		kind = BK_APP;
	} else if (parent->kind == BK_TOP && span_eq(name, "mos")) {
		if (s->mos_line != 0)
			return fail(s, line, "second 'mos' block (the first "
				    "is at line %d)", s->mos_line);
		s->mos_line = line;
		kind = BK_MOS;
	} else if (parent->kind == BK_MOS && span_eq(name, "netdev")) {
		kind = BK_NETDEV;
	} else if (parent->kind == BK_MOS && span_eq(name, "arp_table")) {
		kind = BK_ARP;
	} else if (parent->kind == BK_MOS && span_eq(name, "route_table")) {
		kind = BK_ROUTE;
	} else if (parent->kind == BK_MOS &&
		   span_eq(name, "nic_forward_table")) {
		kind = BK_FWD;
	} else if (parent->kind != BK_SKIP) {
		record_ignored(s, name);
	}

	f = &s->stk[++s->depth];
	f->kind = kind;
	f->line = line;
	show(name, f->name, sizeof(f->name));
	/* Only known blocks get a path: at most "mos.nic_forward_table". */
	len = 0;
	if (kind != BK_SKIP) {
		len = strlen(parent->path);
		memcpy(path, parent->path, len);
		if (len > 0)
			path[len++] = '.';
		memcpy(path + len, name.p, name.n);
		len += name.n;
	}
	path[len] = '\0';
	memcpy(f->path, path, sizeof(path));
	return 0;
}

/* '{' preceded on its line by seg (possibly empty). */
static int
open_seg(struct pstate *s, struct span seg)
{
	struct span name = seg;
	int line = s->line;

	if (seg.n == 0) {
		if (s->pending.n == 0 && top(s)->kind != BK_SKIP)
			return fail(s, line, "'{' without a block name");
		name = s->pending;
		line = s->pending.n != 0 ? s->pending_line : line;
		s->pending.n = 0;
	} else if (flush_pending(s) < 0) {
		return -1;
	}
	return open_block(s, name, line);
}

static int
close_block(struct pstate *s)
{
	struct frame *f;

	if (flush_pending(s) < 0)
		return -1;
	if (s->depth == 0)
		return fail(s, s->line, "'}' without an open block");
	f = &s->stk[s->depth--];
	if (f->kind == BK_APP && s->c->apps[s->c->nb_apps - 1].run[0] == '\0')
		return fail(s, f->line, "application block without 'run'");
	return 0;
}

/* A statement; at_eol: it ends its line (no '}' after it). */
static int
stmt(struct pstate *s, struct span seg, int at_eol)
{
	if (flush_pending(s) < 0)
		return -1;
	if (at_eol && span_is_ident(seg)) {
		s->pending = seg;
		s->pending_line = s->line;
		return 0;
	}
	return handle_stmt(s, seg, s->line);
}

static int
do_line(struct pstate *s, const char *p, const char *end)
{
	while (p < end) {
		const char *b = p;
		struct span seg;

		while (b < end && *b != '{' && *b != '}')
			b++;
		seg = trim(p, b);
		if (b == end)
			return seg.n != 0 ? stmt(s, seg, 1) : 0;
		if (*b == '{') {
			if (open_seg(s, seg) < 0)
				return -1;
		} else {
			if (seg.n != 0 && stmt(s, seg, 0) < 0)
				return -1;
			if (close_block(s) < 0)
				return -1;
		}
		p = b + 1;
	}
	return 0;
}

static int
find_port(const struct mosconf *c, const char *dev)
{
	int i;

	for (i = 0; i < c->nb_ports; i++)
		if (strcmp(c->ports[i].dev, dev) == 0)
			return i;
	return -1;
}

static int
finish(struct pstate *s)
{
	struct mosconf *c = s->c;
	uint64_t cores = 0;
	int i, j, k, end_app = 0, mon_app = 0;

	if (flush_pending(s) < 0)
		return -1;
	if (s->depth > 0)
		return fail(s, top(s)->line, "block '%s' is not closed",
			    top(s)->name);
	if (s->mos_line == 0)
		return fail(s, 0, "no 'mos' block");

	for (i = 0; i < c->nb_fwd; i++) {
		for (j = 0; j < 2; j++) {
			const char *d = c->fwd[i][j];

			if (find_port(c, d) < 0)
				return fail(s, s->fwd_line[i],
					    "nic_forward_table: '%s' is not "
					    "a netdev device", d);
			for (k = 0; k < i; k++)
				if (strcmp(c->fwd[k][0], d) == 0 ||
				    strcmp(c->fwd[k][1], d) == 0)
					return fail(s, s->fwd_line[i],
						    "nic_forward_table: '%s' "
						    "is already paired", d);
		}
		if (strcmp(c->fwd[i][0], c->fwd[i][1]) == 0)
			return fail(s, s->fwd_line[i], "nic_forward_table: "
				    "'%s' is paired with itself",
				    c->fwd[i][0]);
	}

	for (i = 0; i < c->nb_ports; i++)
		cores |= c->ports[i].cpu_mask;
	c->num_cores = __builtin_popcountll(cores);
	for (i = 0; i < c->nb_apps; i++) {
		c->forward = c->forward && c->apps[i].ip_forward;
		end_app |= strcmp(c->apps[i].type, "end") == 0;
		mon_app |= strcmp(c->apps[i].type, "monitor") == 0;
	}
	c->monitor_mode = mon_app || !end_app;
	return 0;
}

void
conf_defaults(struct mosconf *c)
{
	memset(c, 0, sizeof(*c));
	c->forward = 1;
	c->max_concurrency = 100000;
	c->rmem_size = 8192;
	c->wmem_size = 8192;
	c->tcp_tw_interval = 0;
	c->tcp_timeout = 30;
	c->mp_core = -1;
	c->monitor_mode = 1;
}

int
conf_parse_buf(const char *buf, size_t len, const char *name,
	       struct mosconf *c, char *err, size_t errlen)
{
	struct pstate s;
	const char *p = buf, *end = buf + len;

	conf_defaults(c);
	memset(&s, 0, sizeof(s));
	s.name = name != NULL ? name : "(config)";
	s.c = c;
	s.err = err;
	s.errlen = errlen;
	s.stk[0].kind = BK_TOP;
	set_err(err, errlen, "%s", "");

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *lend = eol != NULL ? eol : end;
		const char *cut;

		s.line++;
		if (memchr(p, '\0', (size_t)(lend - p)) != NULL)
			return fail(&s, s.line, "NUL byte");
		cut = memchr(p, '#', (size_t)(lend - p));
		if (do_line(&s, p, cut != NULL ? cut : lend) < 0)
			return -1;
		p = eol != NULL ? eol + 1 : end;
	}
	return finish(&s);
}

int
conf_parse_string(const char *text, const char *name, struct mosconf *c,
		  char *err, size_t errlen)
{
	return conf_parse_buf(text, strlen(text), name, c, err, errlen);
}

int
conf_parse_file(const char *path, struct mosconf *c, char *err,
		size_t errlen)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int rc, e;

	conf_defaults(c);
	f = fopen(path, "r");
	if (f == NULL)
		goto out_errno;
	errno = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= CONF_FILE_MAX) {
				fclose(f);
				free(buf);
				set_err(err, errlen, "%s: larger than %u bytes",
					path, CONF_FILE_MAX);
				errno = EFBIG;
				return -1;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL)
				goto out_close;
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))
				goto out_close;
			break;
		}
	}
	fclose(f);
	rc = conf_parse_buf(buf, len, path, c, err, errlen);
	e = errno;
	free(buf);
	errno = e;
	return rc;

out_close:
	e = errno != 0 ? errno : EIO;
	fclose(f);
	free(buf);
	errno = e;
out_errno:
	e = errno;
	set_err(err, errlen, "%s: %s", path, strerror(e));
	errno = e;
	return -1;
}
