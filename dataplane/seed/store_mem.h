/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory for chunk stores: a DPDK memzone (hugepages, visible to every
 * lcore) when the EAL runs, else an anonymous mapping, on hugepages when
 * the host has some free.
 */
#ifndef RF_STORE_MEM_H
#define RF_STORE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Tell the allocator the DPDK EAL is initialised: stores go in memzones. */
void rf_store_mem_use_eal(bool up);

void *rf_store_mem_alloc(const char *name, size_t bytes, const char **where);
void rf_store_mem_free(const char *name, void *mem, size_t bytes);

#endif
