/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A peer on the network: one UDP socket, the peer core (receive, verify,
 * heal, play) and, once welcomed, a relay for children (the seed core
 * over the peer's own store, capped at the upload limit). rawflow-peer
 * runs one; rawflow-swarm runs hundreds in one process.
 *
 * Upload budget, with upload_auto: the ceiling to start with, then what
 * the uplink measurably takes. A socket that was full in a second (its
 * send buffer is kept small, so a slow uplink pushes back within a fraction
 * of a second) sets the budget to 9/10 of what it took in that second, and
 * the relay sheds children down to it; after ten seconds of no pushback,
 * a budget nearly used grows by an eighth a second, up to the ceiling. The
 * seed hears of the budget through QUALITY (the upload not on offer).
 *
 * For load tests a node can lose and delay what it receives (a simple
 * network model on the receive path).
 */
#ifndef RF_NODE_H
#define RF_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "peer.h"
#include "seed.h"

#define RF_PEER_UPLOAD_AUTO_KBPS 20000 /* upload_auto's ceiling, as rawflow-peer's default */

struct rf_node_config {
	struct rf_addr bind;             /* local address (port 0: any) */
	struct rf_peer_params peer;      /* seed, stream, upload, delay ... */
	bool upload_auto;                /* peer.upload_kbps is a ceiling: the budget
					  * follows what the uplink takes (below) */
	uint32_t max_children;           /* relay sessions (default 64) */
	double loss;                     /* share of received datagrams dropped */
	uint32_t delay_ms;               /* added to every received datagram */
	uint32_t rnd_seed;               /* for the loss model */
	bool forge;                      /* tests: relay chunks with a flipped byte */
};

struct rf_node_stats {
	uint64_t rx_datagrams, rx_dropped_by_model;
	uint64_t relay_bytes;            /* sent to children */
	uint32_t budget_kbps;            /* the relay's upload budget now */
	uint32_t uplink_kbps;            /* what the uplink took when last full (0: never) */
};

struct rf_node;

/* Open the socket and lay out the peer. 0 or -errno (logged). */
int rf_node_open(struct rf_node **out, const struct rf_node_config *cfg);

/* Join: HELLO to the seed. */
void rf_node_start(struct rf_node *n, uint64_t now_ms);

/* The socket is readable: take everything it has. */
void rf_node_readable(struct rf_node *n, uint64_t now_ms);

/* Timers, relay fan-out, delayed datagrams: every ~10 ms. */
void rf_node_tick(struct rf_node *n, uint64_t now_ms);

/* Chunks due for the player. */
unsigned rf_node_play(struct rf_node *n, uint64_t now_ms, rf_peer_play_fn play, void *ctx);

/* Close the socket and free everything. Parents and children notice by
 * silence, as they would a crash: the protocol heals either way. */
void rf_node_close(struct rf_node *n);

int rf_node_fd(const struct rf_node *n);
const struct rf_addr *rf_node_addr(const struct rf_node *n);
const struct rf_peer *rf_node_peer(const struct rf_node *n);
const struct rf_node_stats *rf_node_stats(const struct rf_node *n);
/* The relay's counters, NULL until welcomed. */
const struct rf_seed_stats *rf_node_relay_stats(const struct rf_node *n);

#endif
