/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <sys/mman.h>

#ifdef RF_HAVE_DPDK
#include <rte_memzone.h>
#endif

#include "store_mem.h"

#define RF_HUGE_2M (2u << 20)

static size_t rf_round_2m(size_t bytes)
{
	return (bytes + RF_HUGE_2M - 1) & ~(size_t)(RF_HUGE_2M - 1);
}

static bool rf_eal_up;

void rf_store_mem_use_eal(bool up)
{
	rf_eal_up = up;
}

#ifdef RF_HAVE_DPDK
static void rf_memzone_name(char *out, size_t cap, const char *name)
{
	/* memzone names are short: keep the stream id's start */
	snprintf(out, cap, "rf_store_%.16s", name);
}
#endif

void *rf_store_mem_alloc(const char *name, size_t bytes, const char **where)
{
	void *mem;

#ifdef RF_HAVE_DPDK
	if (rf_eal_up) {
		char mz_name[RTE_MEMZONE_NAMESIZE];
		const struct rte_memzone *mz;

		rf_memzone_name(mz_name, sizeof(mz_name), name);
		mz = rte_memzone_reserve_aligned(mz_name, bytes, SOCKET_ID_ANY, 0, 64);
		if (mz) {
			*where = "a DPDK memzone (hugepages)";
			return mz->addr;
		}
	}
#else
	(void)name;
#endif
	mem = mmap(NULL, rf_round_2m(bytes), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (mem != MAP_FAILED) {
		*where = "hugepages";
		return mem;
	}
	mem = mmap(NULL, rf_round_2m(bytes), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*where = "plain memory (no free hugepages)";
	return mem == MAP_FAILED ? NULL : mem;
}

void rf_store_mem_free(const char *name, void *mem, size_t bytes)
{
#ifdef RF_HAVE_DPDK
	if (rf_eal_up) {
		char mz_name[RTE_MEMZONE_NAMESIZE];
		const struct rte_memzone *mz;

		rf_memzone_name(mz_name, sizeof(mz_name), name);
		mz = rte_memzone_lookup(mz_name);
		if (mz && mz->addr == mem) {
			rte_memzone_free(mz);
			return;
		}
	}
#else
	(void)name;
#endif
	munmap(mem, rf_round_2m(bytes));
}
