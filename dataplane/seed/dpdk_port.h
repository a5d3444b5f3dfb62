/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet ports and mempools of the DPDK backend: any PMD the EAL probed.
 * A port gets as many RX/TX queue pairs as there are workers and it can
 * give (more than one only with RSS, which shards peers across them); its
 * TX path is zero-copy where it accepts chained mbufs (MULTI_SEGS), copy
 * where it does not.
 */
#ifndef RF_DPDK_PORT_H
#define RF_DPDK_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "dpdk_tx.h"

#define RF_DPDK_RXD 1024
#define RF_DPDK_TXD 1024

enum rf_dpdk_tx_mode {
	RF_DPDK_TX_AUTO,       /* zero-copy where the port says it takes chains */
	RF_DPDK_TX_COPY,
	RF_DPDK_TX_ZEROCOPY,   /* also on net_null; refused on other ports
				* without MULTI_SEGS */
};

struct rf_dpdk_port {
	uint16_t id;
	uint16_t nb_queues;
	int socket;
	bool zerocopy;
	bool started;
	struct rte_ether_addr mac;
	char name[RTE_ETH_NAME_MAX_LEN];
	const char *driver;
};

/* Fill p for port_id (no change to the device): queues up to want, TX
 * path per mode. 0 or -errno (-ENOTSUP: zero-copy asked of a port that
 * cannot chain). */
int rf_dpdk_port_probe(uint16_t port_id, unsigned want_queues,
		       enum rf_dpdk_tx_mode mode, struct rf_dpdk_port *p);

/* Configure and start p, its RX queues filling from rx_pool; with ip6,
 * also receive its solicited-node multicast (neighbour discovery). */
int rf_dpdk_port_start(struct rf_dpdk_port *p, struct rte_mempool *rx_pool,
		       const uint8_t *ip6);
void rf_dpdk_port_stop(struct rf_dpdk_port *p);

/* Mbufs for queues RX/TX queue pairs on socket; the zero-copy pools only
 * with chains. 0 or -ENOMEM (logged). */
int rf_dpdk_pools_create(int socket, unsigned queues, bool chains,
			 struct rf_dpdk_pools *pools);
void rf_dpdk_pools_free(struct rf_dpdk_pools *pools);

#endif
