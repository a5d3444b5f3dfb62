/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore counters of the DPDK backend. Each worker lcore owns one
 * cache-aligned block and is its only writer; the main lcore and the
 * telemetry thread read them without locks (aligned 64-bit words: a
 * reader may see one counter a burst late, never a torn one).
 */
#ifndef RF_DPDK_STATS_H
#define RF_DPDK_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "seed.h"
#include "serve.h"
#include "wire.h"

/* Drops that happen around the protocol core, in the driver. The core's
 * own reasons (wire.h) are counted next to these, by the same names. */
#define RF_DPDK_DROP_LIST(X)                                                  \
	X(BAD_L3, "bad_l3")       /* malformed Ethernet/IP/UDP, bad checksum */ \
	X(NOT_OURS, "not_ours")   /* another address, port or protocol */      \
	X(NOT_READY, "not_ready") /* the stream's store is not sized yet */    \
	X(NO_MBUF, "no_mbuf")     /* a mempool ran dry */                      \
	X(TX_FULL, "tx_full")     /* the TX ring stayed full after retries */  \
	X(NO_NEIGH, "no_neigh")   /* no MAC known for the peer */              \
	X(STALE, "stale")         /* the chunk was overwritten while sent */

enum rf_dpdk_drop {
#define RF_X_ENUM(name, str) RF_DPDK_DROP_##name,
	RF_DPDK_DROP_LIST(RF_X_ENUM)
#undef RF_X_ENUM
	RF_DPDK_DROP_MAX
};

const char *rf_dpdk_drop_name(enum rf_dpdk_drop d);

struct rf_lcore_stats {
	bool active;                        /* a worker runs on this lcore */
	uint16_t queues;                    /* (port, queue) pairs it polls */
	uint64_t rx_packets, rx_bytes;      /* frames received */
	uint64_t tx_packets, tx_bytes;      /* frames the PMD took */
	uint64_t arp, nd, echo;             /* requests answered */
	uint64_t drops[RF_DROP_MAX];        /* wire check and routing */
	uint64_t dpdk_drops[RF_DPDK_DROP_MAX];
	/* Published by the worker from its seeds every timer tick. */
	struct rf_seed_stats seed[RF_SERVE_STREAMS_MAX];
} __rte_cache_aligned;

/* One block per lcore id, static so telemetry can read it at any time. */
extern struct rf_lcore_stats rf_lcore_stats[RTE_MAX_LCORE];

/* The seed core's counters that are summed over workers and streams and
 * shown by name (struct rf_seed_stats; drops are handled apart). */
#define RF_SEED_STAT_LIST(X)                                                  \
	X(sessions) X(joins) X(rejoins) X(redirects) X(timeouts) X(byes)      \
	X(subscribes) X(unsubscribes) X(repairs_asked) X(repairs_sent)        \
	X(repairs_missed) X(quality_reports) X(committed_bps)                 \
	X(unvalidated_rx_bytes) X(unvalidated_tx_bytes)

/* Every active lcore's counters summed: driver counters in *l (l->seed
 * unused), the seed core's in *s (drops included); sessions per stream. */
void rf_dpdk_stats_sum(struct rf_lcore_stats *l, struct rf_seed_stats *s,
		       uint64_t sessions[RF_SERVE_STREAMS_MAX]);

/* One stream's seed-core counters summed over the active lcores. */
void rf_dpdk_stream_sum(unsigned stream, struct rf_seed_stats *s);

/* The active lcores' own counters as a JSON array (the control socket's
 * stats): lcore, queues, sessions, packets, drops. */
void rf_dpdk_lcores_json(FILE *out);

/* The /rawflow/stats, /rawflow/lcores and /rawflow/sessions telemetry
 * commands; ids are the stream ids in hex that sessions are named by. */
void rf_dpdk_telemetry_register(const char (*ids)[17], unsigned nstreams);

#endif
