/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpdk_lent.h"
#include "dpdk_port.h"
#include "log.h"

#define RF_POOL_CACHE 256
/* Per queue pair: its RX and TX rings, bursts in flight, and the RX fill
 * ring that af_xdp keeps beside the RX ring. */
#define RF_MBUFS_PER_QUEUE (RF_DPDK_RXD + RF_DPDK_TXD + 4096)
#define RF_HDR_ROOM (RTE_PKTMBUF_HEADROOM + 128)

/* The shared SIGNATURE copy's 16-bit reference count holds every frame in
 * flight on a worker's TX rings, plus the credit its lcore took. */
_Static_assert(RF_DPDK_TXQ_MAX * (RF_DPDK_TXD + RF_DPDK_BURST) + RF_SIG_CREDIT + 1 <
	       UINT16_MAX, "SIGNATURE reference counts fit 16 bits");

/* Does the port take chained mbufs? MULTI_SEGS says so. Asked for
 * zero-copy, net_null takes them too: it does not say so, but its TX only
 * counts and frees what it is given, and rte_pktmbuf_free() frees a chain
 * whole (not with copy=1, which reads the first segment only: auto keeps
 * to what a port says). net_ring says so, but it hands the frames
 * themselves to a reader, who may read one after its lent payload mbuf
 * was pointed at a newer chunk (dpdk_lent.h): there auto copies, and only
 * zero-copy asked for chains (the TX benchmark's reader frees each frame
 * on the sending lcore before the next burst). */
static bool rf_port_chains(const struct rte_eth_dev_info *info, enum rf_dpdk_tx_mode mode)
{
	if (strcmp(info->driver_name, "net_ring") == 0)
		return mode == RF_DPDK_TX_ZEROCOPY;
	return (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ||
	       (mode == RF_DPDK_TX_ZEROCOPY && strcmp(info->driver_name, "net_null") == 0);
}

/* Does something keep each peer's datagrams on one RX queue? The NIC's
 * RSS; or, for the PMDs over kernel sockets, the kernel: af_xdp's queues
 * are the NIC's own, which its RSS (or a veth's sender's queue) fills, and
 * af_packet spreads flows over its sockets by their hash (fanout; with
 * rollover, so a socket that overflows passes flows to another worker,
 * which drops them as no_session until the peer rejoins). */
static bool rf_port_shards(const struct rte_eth_dev_info *info)
{
	return (info->flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP)) ||
	       strcmp(info->driver_name, "net_af_xdp") == 0 ||
	       strcmp(info->driver_name, "net_af_packet") == 0;
}

int rf_dpdk_port_probe(uint16_t port_id, unsigned want_queues,
		       enum rf_dpdk_tx_mode mode, struct rf_dpdk_port *p)
{
	struct rte_eth_dev_info info;
	unsigned q;
	int rc;

	memset(p, 0, sizeof(*p));
	p->id = port_id;
	rc = rte_eth_dev_info_get(port_id, &info);
	if (rc)
		return rc;
	rte_eth_dev_get_name_by_port(port_id, p->name);
	p->driver = info.driver_name;
	p->socket = rte_eth_dev_socket_id(port_id);
	if (p->socket < 0)
		p->socket = (int)rte_socket_id();
	q = RTE_MIN(want_queues, (unsigned)RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	/* more than one queue is only useful if something shards peers */
	if (q > 1 && !rf_port_shards(&info))
		q = 1;
	p->nb_queues = (uint16_t)RTE_MAX(q, 1u);
	p->zerocopy = mode != RF_DPDK_TX_COPY && rf_port_chains(&info, mode);
	if (mode == RF_DPDK_TX_ZEROCOPY && !p->zerocopy) {
		rf_err("port %u (%s): no MULTI_SEGS TX offload, so no zero-copy TX", port_id,
		       p->driver);
		return -ENOTSUP;
	}
	return rte_eth_macaddr_get(port_id, &p->mac);
}

/* Receive the solicited-node multicast of ip6 (ff02::1:ffXX:XXXX), which
 * neighbour solicitations for it are sent to. Virtual ports see every
 * frame anyway: a port that has no filter to set is fine. */
static void rf_port_join_nd(const struct rf_dpdk_port *p, const uint8_t *ip6)
{
	struct rte_ether_addr mc = { { 0x33, 0x33, 0xff, ip6[13], ip6[14], ip6[15] } };

	if (rte_eth_dev_set_mc_addr_list(p->id, &mc, 1) == 0)
		return;
	if (rte_eth_allmulticast_enable(p->id) != 0)
		rf_debug("port %u: no multicast filter to set; relying on the PMD", p->id);
}

int rf_dpdk_port_start(struct rf_dpdk_port *p, struct rte_mempool *rx_pool,
		       const uint8_t *ip6)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_eth_link link;
	uint16_t nb_rxd = RF_DPDK_RXD, nb_txd = RF_DPDK_TXD;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	int rc;

	rc = rte_eth_dev_info_get(p->id, &info);
	if (rc)
		return rc;
	if (p->nb_queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
	}
	if (p->zerocopy)
		conf.txmode.offloads |= info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* where the NIC checks UDP checksums the worker need not */
	conf.rxmode.offloads = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	rc = rte_eth_dev_configure(p->id, p->nb_queues, p->nb_queues, &conf);
	if (rc) {
		rf_err("port %u (%s): cannot configure %u queues: %s", p->id, p->driver,
		       p->nb_queues, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nb_rxd, &nb_txd);
	if (rc)
		return rc;
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		struct rte_eth_txconf txconf = info.default_txconf;

		txconf.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(p->id, q, nb_rxd, (unsigned)p->socket, NULL, rx_pool);
		if (!rc)
			rc = rte_eth_tx_queue_setup(p->id, q, nb_txd, (unsigned)p->socket, &txconf);
		if (rc) {
			rf_err("port %u (%s): cannot set up queue %u: %s", p->id, p->driver, q,
			       rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(p->id);
	if (rc) {
		rf_err("port %u (%s): cannot start: %s", p->id, p->driver, rte_strerror(-rc));
		return rc;
	}
	p->started = true;
	/* only what is addressed to the seed; some vdevs have no such switch */
	rc = rte_eth_promiscuous_disable(p->id);
	if (rc && rc != -ENOTSUP)
		rf_warn("port %u: cannot turn promiscuous mode off: %s", p->id, rte_strerror(-rc));
	if (ip6)
		rf_port_join_nd(p, ip6);
	rte_eth_link_get_nowait(p->id, &link);
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);
	rf_info("port %u %s (%s): %u queue(s), %s TX, MAC %s, link %s, %u Mbit/s", p->id,
		p->name, p->driver, p->nb_queues, p->zerocopy ? "zero-copy" : "copy", mac,
		link.link_status ? "up" : "down", link.link_speed);
	return 0;
}

void rf_dpdk_port_stop(struct rf_dpdk_port *p)
{
	if (p->started) {
		rte_eth_dev_stop(p->id);
		p->started = false;
	}
	rte_eth_dev_close(p->id);
}

static struct rte_mempool *rf_pool(const char *what, int socket, unsigned n,
				   unsigned cache, uint16_t room)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	snprintf(name, sizeof(name), "rf_%s_%d", what, socket);
	mp = rte_pktmbuf_pool_create(name, n, cache, 0, room, socket);
	if (!mp)
		rf_err("cannot create the %u-mbuf %s pool on socket %d: %s", n, what, socket,
		       rte_strerror(rte_errno));
	return mp;
}

int rf_dpdk_pools_create(int socket, unsigned queues, bool chains,
			 struct rf_dpdk_pools *pools)
{
	/* 2^n - 1 is the mempool's best size */
	unsigned n = rte_align32pow2(RTE_MAX(queues, 2u) * RF_MBUFS_PER_QUEUE) - 1;
	char name[RTE_MEMPOOL_NAMESIZE];

	memset(pools, 0, sizeof(*pools));
	pools->pkt = rf_pool("pkt", socket, n, RF_POOL_CACHE, RTE_MBUF_DEFAULT_BUF_SIZE);
	if (!pools->pkt)
		return -ENOMEM;
	if (!chains)
		return 0;
	pools->hdr = rf_pool("hdr", socket, n, RF_POOL_CACHE, RF_HDR_ROOM);
	snprintf(name, sizeof(name), "rf_lent_%d", socket);
	pools->lent = rf_dpdk_lent_pool_create(name, socket);
	if (!pools->lent)
		rf_err("cannot create the lent pool on socket %d: %s", socket,
		       rte_strerror(rte_errno));
	if (!pools->hdr || !pools->lent) {
		rf_dpdk_pools_free(pools);
		return -ENOMEM;
	}
	return 0;
}

void rf_dpdk_pools_free(struct rf_dpdk_pools *pools)
{
	rte_mempool_free(pools->pkt);
	rte_mempool_free(pools->hdr);
	rte_mempool_free(pools->lent);
	memset(pools, 0, sizeof(*pools));
}
