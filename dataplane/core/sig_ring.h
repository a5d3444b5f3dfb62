/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Signatures of the chunk groups a seed holds, next to its chunk store.
 * Group g covers sequences [g*G, g*G + G) (G from WELCOME), so any peer
 * finds a chunk's group from its sequence alone; the stream's first group
 * may be shorter (it starts at a random sequence). The ingest thread
 * hashes every chunk as it appends it and signs a group when its last
 * chunk arrives; TX readers take the ready-to-send SIGNATURE datagram by
 * reference. One writer, lock-free readers, as in the chunk store.
 */
#ifndef RF_SIG_RING_H
#define RF_SIG_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "wire.h"

#define RF_SIG_MSG_MAX (RF_HDR_LEN + 76 + RF_HASH_LEN * RF_GROUP_MAX)

struct rf_sig_ring;

/* Bytes for a ring of groups (a power of two) of group_size chunks; 0 for
 * bad parameters. */
size_t rf_sig_ring_size(uint32_t groups, uint8_t group_size);

/* seckey may be NULL for a ring that only keeps received signatures. */
struct rf_sig_ring *rf_sig_ring_init(void *mem, size_t mem_len, uint32_t groups,
				     uint8_t group_size, uint64_t stream_id,
				     const uint8_t seckey[RF_SECKEY_LEN]);

/* Writer: hash chunk seq (in sequence order); when it completes its group,
 * sign the group and publish its SIGNATURE. */
void rf_sig_ring_add(struct rf_sig_ring *r, uint64_t seq, uint8_t flags,
		     const uint8_t *payload, uint16_t len);

/* Writer: the source paused or ended with a group half full. Sign what
 * it has now, so peers can verify those chunks; the group stays open and
 * is signed again, whole, when it completes. */
void rf_sig_ring_flush(struct rf_sig_ring *r);

/* Writer (a relaying peer): keep a SIGNATURE datagram that was received
 * and verified, for the group that starts at first_seq. */
void rf_sig_ring_put(struct rf_sig_ring *r, uint64_t first_seq,
		     const uint8_t *msg, uint16_t len);

/* Reader: the SIGNATURE datagram of the group that holds seq, or NULL when
 * it is not signed yet or no longer held. *len is its length. */
const uint8_t *rf_sig_ring_get(const struct rf_sig_ring *r, uint64_t seq,
			       uint16_t *len);

/* Whether the SIGNATURE datagram msg covers sequence seq. */
bool rf_sig_msg_covers(const uint8_t *msg, uint64_t seq);

/* First sequence of the group holding seq, and whether seq ends it. */
uint64_t rf_sig_group_first(uint64_t seq, uint8_t group_size);
bool rf_sig_group_last(uint64_t seq, uint8_t group_size);

uint8_t rf_sig_ring_group_size(const struct rf_sig_ring *r);

#endif
