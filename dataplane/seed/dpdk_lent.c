/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mempool.h>

#include "dpdk_lent.h"

#define RF_LENT_OPS "rf_lent"
/* Frees land in a per-lcore cache of this size; past 1.5 times that
 * (768), the driver is handed the lot and keeps none: one call per 768
 * frames. */
#define RF_LENT_CACHE 512

static int rf_lent_alloc(struct rte_mempool *mp)
{
	(void)mp;
	return 0;
}

static void rf_lent_free(struct rte_mempool *mp)
{
	(void)mp;
}

/* A freed lent mbuf goes back to nobody: its owner still holds it. */
static int rf_lent_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	(void)mp;
	(void)objs;
	(void)n;
	return 0;
}

/* Lent mbufs are never allocated. */
static int rf_lent_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	(void)mp;
	(void)objs;
	(void)n;
	return -ENOBUFS;
}

static unsigned rf_lent_count(const struct rte_mempool *mp)
{
	(void)mp;
	return 0;
}

static const struct rte_mempool_ops rf_lent_ops = {
	.name = RF_LENT_OPS,
	.alloc = rf_lent_alloc,
	.free = rf_lent_free,
	.enqueue = rf_lent_enqueue,
	.dequeue = rf_lent_dequeue,
	.get_count = rf_lent_count,
};

RTE_MEMPOOL_REGISTER_OPS(rf_lent_ops);

struct rte_mempool *rf_dpdk_lent_pool_create(const char *name, int socket)
{
	/* no objects are ever put in it: the size only bounds the cache */
	struct rte_mempool *mp = rte_mempool_create_empty(
		name, 2 * RF_LENT_CACHE - 1, sizeof(struct rte_mbuf), RF_LENT_CACHE,
		sizeof(struct rte_pktmbuf_pool_private), socket, 0);
	int rc;

	if (!mp)
		return NULL;
	rc = rte_mempool_set_ops_byname(mp, RF_LENT_OPS, NULL);
	if (rc != 0) {
		rte_mempool_free(mp);
		rte_errno = -rc;
		return NULL;
	}
	rte_pktmbuf_pool_init(mp, NULL);
	return mp;
}

void rf_dpdk_lend(struct rte_mbuf *m, struct rte_mempool *lent, const void *addr,
		  rte_iova_t iova, uint16_t len)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = (void *)(uintptr_t)addr;
	rte_mbuf_iova_set(m, iova);
	m->buf_len = len;
	m->data_len = len;
	m->pkt_len = len;
	m->nb_segs = 1;
	m->pool = lent;
	m->port = RTE_MBUF_PORT_INVALID;
	rte_mbuf_refcnt_set(m, 1);
}
