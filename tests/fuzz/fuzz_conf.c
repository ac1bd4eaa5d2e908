/*
 * fuzz_conf.c - fuzz target of the mos.conf parser (engine/conf.c), whose
 * input is a user's file: the whole fuzz input is the file's bytes.
 *
 * Checked: the parser returns 0 or -1 with EINVAL; the message is
 * NUL-terminated in its buffer, empty exactly on success, and starts with
 * the file's name; a success leaves every count within its table, every
 * string terminated inside its field, no port without CPUs, prefixes
 * within 0..32, every application with a command and num_cores the number
 * of CPUs the ports name; parsing is deterministic (a second parse gives
 * the same bytes); and a message buffer too small for the message only
 * shortens it.
 */
#include <errno.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

#define NAME	"fuzz.conf"

static struct mosconf c1, c2;

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#define TERM(field)	FUZZ_CHECK(terminated(field, sizeof(field)))

static void
check_ok(const struct mosconf *c)
{
	uint64_t cpus = 0;
	int i;

	FUZZ_CHECK(c->nb_ports >= 0 && c->nb_ports <= CONF_MAX_PORTS);
	FUZZ_CHECK(c->nb_fwd >= 0 && c->nb_fwd <= CONF_MAX_FWD);
	FUZZ_CHECK(c->nb_routes >= 0 && c->nb_routes <= CONF_MAX_ROUTES);
	FUZZ_CHECK(c->nb_arp >= 0 && c->nb_arp <= CONF_MAX_ARP);
	FUZZ_CHECK(c->nb_apps >= 0 && c->nb_apps <= CONF_MAX_APPS);
	FUZZ_CHECK(c->nb_ignored >= 0 && c->nb_ignored <= CONF_MAX_IGNORED);
	FUZZ_CHECK(c->forward == 0 || c->forward == 1);
	FUZZ_CHECK(c->multiprocess || c->mp_core == -1);
	FUZZ_CHECK(c->monitor_mode == 0 || c->monitor_mode == 1);
	TERM(c->mos_log);
	TERM(c->stat_print);
	TERM(c->port);
	for (i = 0; i < c->nb_ports; i++) {
		const struct conf_port *p = &c->ports[i];

		TERM(p->dev);
		TERM(p->spec);
		FUZZ_CHECK(p->dev[0] != '\0' && p->spec[0] != '\0');
		FUZZ_CHECK(p->cpu_mask != 0);
		FUZZ_CHECK(p->kind == CONF_DEV_IFNAME || p->kind == CONF_DEV_PCI ||
			   p->kind == CONF_DEV_VDEV);
		cpus |= p->cpu_mask;
	}
	FUZZ_CHECK(c->num_cores == __builtin_popcountll(cpus));
	for (i = 0; i < c->nb_fwd; i++) {
		TERM(c->fwd[i][0]);
		TERM(c->fwd[i][1]);
		FUZZ_CHECK(strcmp(c->fwd[i][0], c->fwd[i][1]) != 0);
	}
	for (i = 0; i < c->nb_routes; i++) {
		TERM(c->routes[i].dev);
		FUZZ_CHECK(c->routes[i].prefix >= 0 &&
			   c->routes[i].prefix <= 32);
	}
	for (i = 0; i < c->nb_arp; i++)
		FUZZ_CHECK(c->arp[i].prefix >= 0 && c->arp[i].prefix <= 32);
	for (i = 0; i < c->nb_apps; i++) {
		TERM(c->apps[i].type);
		TERM(c->apps[i].run);
		FUZZ_CHECK(c->apps[i].run[0] != '\0');
		FUZZ_CHECK(c->apps[i].cpu_mask != 0);
		FUZZ_CHECK(c->apps[i].ip_forward == 0 ||
			   c->apps[i].ip_forward == 1);
	}
	for (i = 0; i < c->nb_ignored; i++)
		TERM(c->ignored[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], err2[512], small[24];
	int rc, rc2;

	memset(err, 0x55, sizeof(err));
	errno = 0;
	rc = conf_parse_buf((const char *)data, size, NAME, &c1, err,
			    sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(terminated(err, sizeof(err)));
	if (rc == 0) {
		FUZZ_CHECK(err[0] == '\0');
		check_ok(&c1);
	} else {
		FUZZ_CHECK(errno == EINVAL);
		FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	}

	/* The same input, the same result, byte for byte. */
	rc2 = conf_parse_buf((const char *)data, size, NAME, &c2, err2,
			     sizeof(err2));
	FUZZ_CHECK(rc2 == rc && strcmp(err, err2) == 0);
	if (rc == 0)
		FUZZ_CHECK(memcmp(&c1, &c2, sizeof(c1)) == 0);

	/* A short buffer holds the message's beginning; none at all is
	 * allowed. */
	rc2 = conf_parse_buf((const char *)data, size, NAME, &c2, small,
			     sizeof(small));
	FUZZ_CHECK(rc2 == rc);
	FUZZ_CHECK(strncmp(small, err, sizeof(small) - 1) == 0);
	FUZZ_CHECK(terminated(small, sizeof(small)));
	FUZZ_CHECK(conf_parse_buf((const char *)data, size, NAME, &c2, NULL,
				  0) == rc);
	return 0;
}
