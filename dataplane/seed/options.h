/* SPDX-License-Identifier: BSD-3-Clause */
/* rawflow-seed's command line. */
#ifndef RF_SEED_OPTIONS_H
#define RF_SEED_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define RF_MAX_STREAMS 16

struct rf_seed_opts {
	const char *sources[RF_MAX_STREAMS];
	const char *keys[RF_MAX_STREAMS];
	unsigned nsources, nkeys;
	unsigned window_s;
	unsigned store_max_mb;
	unsigned packets_per_chunk;
	unsigned chunk_bytes;
	unsigned stall_ms;
	bool loop;
	const char *record_dir;
	const char *stats_json;
	double stats_interval_s;
	double duration_s;
	const char *backend;         /* auto, dpdk, kernel */
	bool serve;                  /* false: --no-serve, ingest only */
	const char *bind_addr;
	unsigned port;
	unsigned max_sessions;
	uint64_t max_egress_bps;
	unsigned substreams;
	unsigned group_size;
	const char *token_keys;
	const char *control;
	const char *port_ip4, *port_ip6;
	unsigned workers;
	int eal_at;                  /* argv index after "--", argc when none */
};

/* Fill o from argv (defaults first). 0, 1 after --help, or -EINVAL with a
 * message on stderr. */
int rf_seed_parse_args(int argc, char **argv, struct rf_seed_opts *o);

#endif
