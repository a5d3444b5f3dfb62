/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Serving: what the seed's two backends share. A backend receives
 * datagrams, routes each by the stream id in its header to that stream's
 * rf_seed (dataplane/core/seed.h), sends the replies, and sends the stream
 * data that rf_seed_pump() hands out, from the chunk store by reference.
 *
 *   DPDK  (serve_dpdk.c):   any PMD, worker lcores run RX -> core -> TX
 *   kernel (serve_kernel.c): UDP sockets, recvmmsg / sendmmsg + UDP GSO
 */
#ifndef RF_SERVE_H
#define RF_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "ingest.h"
#include "keyfile.h"
#include "seed.h"

#define RF_SERVE_STREAMS_MAX 16
#define RF_SEED_PORT 4433

struct rf_serve_stream {
	struct rf_ingest *ingest;          /* its store and signatures */
	const struct rf_stream_key *key;
};

struct rf_serve_config {
	unsigned nstreams;
	struct rf_serve_stream streams[RF_SERVE_STREAMS_MAX];
	const char *bind_addr;             /* kernel: address to bind ("::" all) */
	uint16_t port;                     /* UDP port, default RF_SEED_PORT */
	uint32_t max_sessions;             /* per stream */
	uint64_t max_egress_bps;           /* node-wide cap, 0: none */
	uint8_t substreams;                /* K */
	uint8_t group_size;
	const struct rf_token_keys *tokens; /* NULL: no tokens required */
	uint8_t cookie_secret[RF_SECRET_LEN];
	const char *port_ip4;              /* DPDK: the seed's IPv4 address on its ports */
	const char *port_ip6;              /* DPDK: and IPv6 (either may be NULL) */
	unsigned workers;                  /* DPDK: worker lcores (default: all but main) */
	const char *control_path;          /* the control socket, NULL: none */
	volatile sig_atomic_t *quit;       /* set by a signal: drain, then return */
	double stats_interval_s;
};

/* Parameters of one stream's rf_seed from the config and what ingest
 * measured. */
void rf_serve_seed_params(const struct rf_serve_config *cfg, unsigned stream,
			  uint64_t stream_bps, struct rf_seed_params *p);

/* The stream index for a datagram (by its header's stream id), or -1. */
int rf_serve_route(const struct rf_serve_config *cfg, const uint8_t *pkt,
		   size_t len);

/* Run until *cfg->quit, then drain and return 0; -errno when the backend
 * cannot start (the message is logged). */
int rf_serve_kernel(const struct rf_serve_config *cfg);
int rf_serve_dpdk(const struct rf_serve_config *cfg); /* EAL already up */

#endif
