/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lent mbufs: an mbuf that points into memory the seed owns (a chunk in
 * the store) and that no free ever takes back. Its reference count stays
 * 1 and its pool's driver keeps nothing it is handed, so the free of a
 * frame chained to it only reads it and drops it into the pool's
 * per-lcore cache: no atomic on a count that every peer's frame of the
 * chunk shares (that atomic was 14 % of the TX lcore's time on net_null,
 * docs/BENCHMARKS.md).
 *
 * Its owner decides when it is rewritten. A PMD reads a frame's segments
 * when it takes the frame (it writes descriptors, or copies) and, later,
 * only the fields a free reads (count, flags, next, segments, pool), which
 * its owner never changes. So a lent mbuf may be pointed elsewhere once
 * every frame chained to it has been through rte_eth_tx_burst(). net_ring
 * is the exception: it hands the frame itself to its reader, who must
 * read it before the owner rewrites (dpdk_port.c copies there).
 *
 * DPDK's debug checks would refuse it: the mbuf check sums a chain's
 * segments when its head is freed, which may be after a repoint, and the
 * mempool check looks for an object header a lent mbuf does not have.
 */
#ifndef RF_DPDK_LENT_H
#define RF_DPDK_LENT_H

#include <stdint.h>

#include <rte_mbuf.h>

#if defined(RTE_LIBRTE_MBUF_DEBUG) || defined(RTE_LIBRTE_MEMPOOL_DEBUG)
#error "lent mbufs need a DPDK built without its mbuf and mempool debug checks"
#endif

/* The pool lent mbufs name (cold path). NULL with rte_errno set. */
struct rte_mempool *rf_dpdk_lent_pool_create(const char *name, int socket);

/* Make m a lent mbuf of pool `lent` holding len bytes at addr (IOVA iova). */
void rf_dpdk_lend(struct rte_mbuf *m, struct rte_mempool *lent, const void *addr,
		  rte_iova_t iova, uint16_t len);

#endif
