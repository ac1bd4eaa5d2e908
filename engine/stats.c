/*
 * stats.c - summing and JSON output of the counters in stats.h.
 */
#include <inttypes.h>

#include "stats.h"

void
stats_add(struct stats *dst, const struct stats *src)
{
	int i;

#define X_ADD(n) dst->n += src->n;
	STATS_OTHERS(X_ADD)
	STATS_DROPS(X_ADD)
#undef X_ADD
	for (i = 0; i < PR__COUNT; i++)
		dst->malformed_reason[i] += src->malformed_reason[i];
}

uint64_t
stats_dropped(const struct stats *s)
{
	uint64_t sum = 0;

#define X_SUM(n) sum += s->n;
	STATS_DROPS(X_SUM)
#undef X_SUM
	return sum;
}

static void
write_fields(FILE *f, const struct stats *s, const char *indent)
{
	int i;

#define X_PUT(n) fprintf(f, "%s\"" #n "\": %" PRIu64 ",\n", indent, s->n);
	STATS_OTHERS(X_PUT)
	STATS_DROPS(X_PUT)
#undef X_PUT
	for (i = 1; i < PR__COUNT; i++)
		fprintf(f, "%s\"malformed_%s\": %" PRIu64 ",\n", indent,
			parse_reason_name(i), s->malformed_reason[i]);
}

int
stats_write_json(FILE *f, const struct stats *total, uint64_t rx_nombuf,
		 uint64_t flows_active, double run_seconds, uint64_t tsc_hz,
		 const struct stats *per_core, int ncores,
		 const struct stats *dist, int final)
{
	int i;

	fprintf(f, "{\n");
	fprintf(f, "  \"final\": %s,\n", final ? "true" : "false");
	write_fields(f, total, "  ");
	fprintf(f, "  \"rx_nombuf\": %" PRIu64 ",\n", rx_nombuf);
	fprintf(f, "  \"flows_active\": %" PRIu64 ",\n", flows_active);
	fprintf(f, "  \"run_seconds\": %.6f,\n", run_seconds);
	fprintf(f, "  \"tsc_hz\": %" PRIu64 ",\n", tsc_hz);
	fprintf(f, "  \"cores\": [");
	for (i = 0; i < ncores; i++) {
		fprintf(f, "%s\n    {\n", i ? "," : "");
		write_fields(f, &per_core[i], "      ");
		fprintf(f, "      \"core\": %d\n    }", i);
	}
	fprintf(f, "%s]", ncores ? "\n  " : "");
	if (dist != NULL) {
		fprintf(f, ",\n  \"distributor\": {\n");
		write_fields(f, dist, "    ");
		fprintf(f, "    \"core\": -1\n  }");
	}
	fprintf(f, "\n}\n");
	return ferror(f) ? -1 : 0;
}
