/*
 * fidx_bench.c - the flow index (engine/fidx.h) against DPDK's rte_hash on
 * the same keys and hashes, as moonbox uses each: lookups of present keys
 * in random order, lookups of absent keys, and add + delete pairs, with a
 * table sized for N flows holding N keys. Prints million operations per
 * second, one line per table; bench/run shows the ratios.
 *   fidx_bench [N] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "fidx.h"

struct key {
	uint32_t lo_ip, hi_ip;
	uint16_t lo_port, hi_port;
	uint32_t zero;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t
hash_of(const struct key *k)
{
	return rte_hash_crc_4byte((uint32_t)k->lo_port << 16 | k->hi_port,
		rte_hash_crc_4byte(k->hi_ip, rte_hash_crc_4byte(k->lo_ip, 0)));
}

static uint64_t
ips(const struct key *k)
{
	return (uint64_t)k->hi_ip << 32 | k->lo_ip;
}

static uint32_t
ports(const struct key *k)
{
	return (uint32_t)k->hi_port << 16 | k->lo_port;
}

/* Keys i < n are in the table, keys n <= i < 2n are not. */
static void
make_keys(struct key *k, uint32_t *h, uint32_t *order, uint32_t n)
{
	uint32_t i, r = 1;

	for (i = 0; i < 2 * n; i++) {
		k[i] = (struct key){ 0x0a000000u + i, 0xc0a80001u,
				     (uint16_t)(1024 + i % 60000), 80, 0 };
		h[i] = hash_of(&k[i]);
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint32_t j, t;

		r = r * 1103515245u + 12345u;
		j = (r >> 4) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "-m", "512",
			"--no-shconf", "--no-telemetry", "--log-level=*:error",
			"--file-prefix=fidxbench" };
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 1000000;
	uint32_t i, *h, *order, rounds, r, sink = 0;
	struct rte_hash_parameters hp = { 0 };
	double t, res[2][3];
	struct rte_hash *rh;
	struct fidx x;
	struct key *k;
	void *data;

	if (n < 16 || rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "fidx_bench: bad N or EAL failed\n");
		return 1;
	}
	k = malloc(sizeof(*k) * 2 * n);
	h = malloc(sizeof(*h) * 2 * n);
	order = malloc(sizeof(*order) * n);
	if (k == NULL || h == NULL || order == NULL) {
		free(k);
		free(h);
		free(order);
		return 1;
	}
	make_keys(k, h, order, n);
	rounds = 4000000 / n + 1;

	/* Sized as moonbox sizes them: two keys per flow. */
	hp.name = "fidxbench";
	hp.entries = 2 * n;
	hp.key_len = sizeof(struct key);
	hp.socket_id = (int)rte_socket_id();
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	rh = rte_hash_create(&hp);
	if (rh == NULL || fidx_init(&x, 2 * n) != 0) {
		fprintf(stderr, "fidx_bench: no memory for %u keys\n", n);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (rte_hash_add_key_with_hash_data(rh, &k[i], h[i],
				(void *)(uintptr_t)i) != 0 ||
		    fidx_add(&x, ips(&k[i]), ports(&k[i]), h[i], i) != 0) {
			fprintf(stderr, "fidx_bench: add failed\n");
			return 1;
		}
	}

	t = now();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			uint32_t j = order[i];

			if (rte_hash_lookup_with_hash_data(rh, &k[j], h[j],
							   &data) >= 0)
				sink += (uint32_t)(uintptr_t)data;
		}
	res[0][0] = rounds * (double)n / (now() - t) / 1e6;
	t = now();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			uint32_t j = order[i];

			sink += fidx_lookup(&x, ips(&k[j]), ports(&k[j]), h[j]);
		}
	res[1][0] = rounds * (double)n / (now() - t) / 1e6;

	t = now();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			uint32_t j = n + order[i];

			if (rte_hash_lookup_with_hash_data(rh, &k[j], h[j],
							   &data) >= 0)
				sink++;
		}
	res[0][1] = rounds * (double)n / (now() - t) / 1e6;
	t = now();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			uint32_t j = n + order[i];

			sink += fidx_lookup(&x, ips(&k[j]), ports(&k[j]), h[j]) !=
				FIDX_NONE;
		}
	res[1][1] = rounds * (double)n / (now() - t) / 1e6;

	/* A flow's life in the table: its key added, later deleted. */
	t = now();
	for (i = 0; i < n; i++) {
		uint32_t j = n + order[i];

		rte_hash_add_key_with_hash_data(rh, &k[j], h[j], NULL);
		rte_hash_del_key_with_hash(rh, &k[j], h[j]);
	}
	res[0][2] = n / (now() - t) / 1e6;
	t = now();
	for (i = 0; i < n; i++) {
		uint32_t j = n + order[i];

		fidx_add(&x, ips(&k[j]), ports(&k[j]), h[j], j);
		fidx_del(&x, ips(&k[j]), ports(&k[j]), h[j]);
	}
	res[1][2] = n / (now() - t) / 1e6;

	if (sink == 0)	/* keeps the loops; never true with n >= 16 */
		fprintf(stderr, "fidx_bench: nothing found\n");
	if (argc > 2 && strcmp(argv[2], "--json") == 0) {
		printf("{\"keys\": %u, \"rte_hash\": {\"hit\": %.2f, "
		       "\"miss\": %.2f, \"add_del\": %.2f}, \"fidx\": "
		       "{\"hit\": %.2f, \"miss\": %.2f, \"add_del\": %.2f}}\n",
		       n, res[0][0], res[0][1], res[0][2], res[1][0],
		       res[1][1], res[1][2]);
	} else {
		printf("%u keys, million operations per second\n", n);
		printf("%-10s %8s %8s %8s\n", "table", "hit", "miss",
		       "add+del");
		printf("%-10s %8.2f %8.2f %8.2f\n", "rte_hash", res[0][0],
		       res[0][1], res[0][2]);
		printf("%-10s %8.2f %8.2f %8.2f\n", "fidx", res[1][0],
		       res[1][1], res[1][2]);
	}
	rte_hash_free(rh);
	fidx_destroy(&x);
	free(k);
	free(h);
	free(order);
	rte_eal_cleanup();
	return 0;
}
