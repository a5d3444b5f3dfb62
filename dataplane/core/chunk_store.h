/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chunk store: the window of the most recent chunks of one live stream,
 * indexed by a 64-bit sequence number, in memory the caller supplies (the
 * seed puts it in a hugepage memzone, the peer in plain memory). It never
 * allocates and never blocks.
 *
 * Ring: slot = seq & (slots - 1). The window is [oldest, next): at most
 * `slots` sequence numbers ending at the live edge. Every slot carries the
 * sequence number it holds, so a hole (a seq in the window that was never
 * stored) and a slot still holding an older chunk both read as "absent".
 * Sequence numbers are compared by unsigned differences (serial number
 * arithmetic), so a window that crosses 2^64 -> 0 works.
 *
 * Concurrency: ONE writer (append or insert, never both at once from two
 * threads) and any number of lock-free readers on other threads/lcores.
 * Each slot is a seqlock whose version is the sequence number itself:
 *
 *   c = rf_chunk_store_get(s, seq);           (acquire)
 *   if (c) {
 *           use c->payload[0..c->len) -- copy it, or hand it out by reference;
 *           if (!rf_chunk_store_still_valid(s, c, seq))
 *                   the slot was rewritten meanwhile: discard what you read;
 *   }
 *
 * A reader that copies the payload must recheck after the copy. A reader
 * that sends it by reference (zero-copy TX) must recheck after the payload
 * has really been read (for DMA: after TX completion) -- or size the window
 * so that a slot cannot come round again while a packet is in flight; the
 * recheck then catches the case where it did anyway.
 */
#ifndef RF_CHUNK_STORE_H
#define RF_CHUNK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Recent random access points remembered (so RAP lookups never scan slots). */
#define RF_CHUNK_STORE_RAPS 64

/* Slots are this aligned, so TX readers on other lcores never share lines. */
#define RF_CHUNK_STORE_ALIGN 64

/* One slot. payload is valid for len bytes while seq is unchanged. */
struct rf_chunk {
	uint64_t seq;    /* sequence held; a value not mapping here when empty */
	uint16_t len;    /* payload bytes, 1..chunk_max */
	uint8_t flags;   /* RF_FLAG_DATA_* as received/ingested */
	uint8_t reserved[5];
	uint8_t payload[];
};

struct rf_chunk_store;

/* Bytes the caller must supply for this geometry, or 0 if it is invalid:
 * slots a power of two >= 2, 1 <= chunk_max <= RF_CHUNK_MAX. Includes slack
 * so that any base address works (the store aligns itself). */
size_t rf_chunk_store_size(uint32_t slots, uint16_t chunk_max);

/* Lay out an empty store in mem whose window starts at first_seq (the first
 * sequence number that will be appended/accepted). Returns the store, which
 * lies inside mem but not necessarily at mem, or NULL on bad parameters or
 * mem_len < rf_chunk_store_size(). Not safe against concurrent readers. */
struct rf_chunk_store *rf_chunk_store_init(void *mem, size_t mem_len,
					   uint32_t slots, uint16_t chunk_max,
					   uint64_t first_seq);

/* Writer (seed): store a chunk at the live edge and publish it.
 * 0, or -EINVAL if len is 0 or above chunk_max. */
int rf_chunk_store_append(struct rf_chunk_store *s, const uint8_t *payload,
			  uint16_t len, uint8_t flags);

/* Writer (peer): store a chunk that may arrive out of order. A seq at or
 * ahead of the live edge (by less than 2^63) moves the window forward; the
 * seqs skipped over are holes and the oldest chunks fall out. The caller
 * decides how far ahead it trusts a sender to push the window.
 * 0, -ERANGE (older than the window), -EEXIST (already held) or -EINVAL. */
int rf_chunk_store_insert(struct rf_chunk_store *s, uint64_t seq,
			  const uint8_t *payload, uint16_t len, uint8_t flags);

/* Reader: the chunk for seq, or NULL if seq is outside the window or a hole.
 * See the header comment: recheck with rf_chunk_store_still_valid(). */
const struct rf_chunk *rf_chunk_store_get(const struct rf_chunk_store *s,
					  uint64_t seq);

/* True if c (from rf_chunk_store_get(s, seq)) still holds seq, i.e. every
 * read of c made before this call saw the chunk for seq, untorn. */
bool rf_chunk_store_still_valid(const struct rf_chunk_store *s,
				const struct rf_chunk *c, uint64_t seq);

/* First sequence number not yet stored: the live edge. */
uint64_t rf_chunk_store_next(const struct rf_chunk_store *s);

/* Oldest sequence number in the window (== next when nothing stored yet). */
uint64_t rf_chunk_store_oldest(const struct rf_chunk_store *s);

/* True if seq is inside the window [oldest, next) (held or a hole). */
bool rf_chunk_store_in_window(const struct rf_chunk_store *s, uint64_t seq);

uint32_t rf_chunk_store_slots(const struct rf_chunk_store *s);
uint16_t rf_chunk_store_chunk_max(const struct rf_chunk_store *s);

/* Newest random access point (RF_FLAG_DATA_RAP chunk) at or before seq that
 * is still held; a seq past the live edge means "newest RAP". Searches the
 * last RF_CHUNK_STORE_RAPS RAPs stored. */
bool rf_chunk_store_rap_at_or_before(const struct rf_chunk_store *s,
				     uint64_t seq, uint64_t *rap_seq);

/* Up to max RAPs still held, newest first (from the last
 * RF_CHUNK_STORE_RAPS stored). Returns how many were written to out. */
size_t rf_chunk_store_raps(const struct rf_chunk_store *s, uint64_t *out,
			   size_t max);

#endif /* RF_CHUNK_STORE_H */
