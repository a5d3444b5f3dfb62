/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "msg.h"
#include "sig_ring.h"

/* A group is signed up to twice (part of it after an outage, then whole):
 * the two versions go to alternate buffers, so a reader that took the
 * first by reference is not torn by the second. */
struct rf_sig_slot {
	uint64_t first;         /* first sequence of the group; published last */
	bool ready;
	uint8_t cur;            /* the buffer readers take */
	uint16_t len[2];
	uint8_t msg[2][RF_SIG_MSG_MAX];
};

struct rf_sig_ring {
	uint32_t mask;
	uint8_t group_size;
	uint64_t stream_id;
	uint8_t seckey[RF_SECKEY_LEN];
	/* the group being hashed */
	bool open;
	uint64_t open_first;
	uint8_t count;
	uint8_t hashes[RF_GROUP_MAX][RF_HASH_LEN];
	struct rf_sig_slot slot[];
};

uint64_t rf_sig_group_first(uint64_t seq, uint8_t group_size)
{
	return seq - seq % group_size;
}

bool rf_sig_group_last(uint64_t seq, uint8_t group_size)
{
	return seq % group_size == (uint64_t)group_size - 1;
}

uint8_t rf_sig_ring_group_size(const struct rf_sig_ring *r)
{
	return r->group_size;
}

size_t rf_sig_ring_size(uint32_t groups, uint8_t group_size)
{
	if (groups < 2 || (groups & (groups - 1)) || group_size == 0 ||
	    group_size > RF_GROUP_MAX)
		return 0;
	return sizeof(struct rf_sig_ring) + (size_t)groups * sizeof(struct rf_sig_slot);
}

struct rf_sig_ring *rf_sig_ring_init(void *mem, size_t mem_len, uint32_t groups,
				     uint8_t group_size, uint64_t stream_id,
				     const uint8_t seckey[RF_SECKEY_LEN])
{
	size_t need = rf_sig_ring_size(groups, group_size);
	struct rf_sig_ring *r = mem;

	if (need == 0 || mem_len < need)
		return NULL;
	memset(r, 0, need);
	r->mask = groups - 1;
	r->group_size = group_size;
	r->stream_id = stream_id;
	if (seckey)
		memcpy(r->seckey, seckey, RF_SECKEY_LEN);
	return r;
}

static struct rf_sig_slot *rf_sig_slot_of(const struct rf_sig_ring *r, uint64_t first)
{
	return (struct rf_sig_slot *)&r->slot[(first / r->group_size) & r->mask];
}

/* Publish a group's SIGNATURE datagram: unready, write, ready. */
static void rf_sig_slot_publish(struct rf_sig_ring *r, uint64_t first,
				const uint8_t *msg, uint16_t len)
{
	struct rf_sig_slot *slot = rf_sig_slot_of(r, first);
	uint8_t next = (uint8_t)!slot->cur;

	__atomic_store_n(&slot->ready, false, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(slot->msg[next], msg, len);
	slot->len[next] = len;
	__atomic_store_n(&slot->cur, next, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->first, first, __ATOMIC_RELEASE);
	__atomic_store_n(&slot->ready, true, __ATOMIC_RELEASE);
}

/* Sign the open group as it is and publish it. */
static void rf_sig_ring_sign(struct rf_sig_ring *r)
{
	uint8_t sig[RF_SIG_LEN], msg[RF_SIG_MSG_MAX];
	struct rf_msg m = {
		.type = RF_MSG_SIGNATURE, .stream_id = r->stream_id,
		.signature = { .first_seq = r->open_first, .count = r->count,
			       .sig = sig, .hashes = r->hashes[0] },
	};
	int len;

	rf_group_sign(sig, r->seckey, r->stream_id, r->open_first, r->count,
		      (const uint8_t (*)[RF_HASH_LEN])r->hashes);
	len = rf_msg_encode(&m, msg, sizeof(msg)); /* cannot fail: count <= RF_GROUP_MAX */
	rf_sig_slot_publish(r, r->open_first, msg, (uint16_t)len);
}

static void rf_sig_ring_close(struct rf_sig_ring *r)
{
	rf_sig_ring_sign(r);
	r->open = false;
}

void rf_sig_ring_flush(struct rf_sig_ring *r)
{
	if (r->open && r->count)
		rf_sig_ring_sign(r);
}

bool rf_sig_msg_covers(const uint8_t *msg, uint64_t seq)
{
	uint64_t first = rf_get64(msg + RF_HDR_LEN);

	return seq >= first && seq - first < msg[RF_HDR_LEN + 8];
}

void rf_sig_ring_put(struct rf_sig_ring *r, uint64_t first_seq,
		     const uint8_t *msg, uint16_t len)
{
	const struct rf_sig_slot *slot = rf_sig_slot_of(r, first_seq);

	if (len > RF_SIG_MSG_MAX)
		return;
	/* a late partial signature never replaces the whole group's */
	if (slot->ready && slot->first == first_seq &&
	    slot->msg[slot->cur][RF_HDR_LEN + 8] >= msg[RF_HDR_LEN + 8])
		return;
	rf_sig_slot_publish(r, first_seq, msg, len);
}

void rf_sig_ring_add(struct rf_sig_ring *r, uint64_t seq, uint8_t flags,
		     const uint8_t *payload, uint16_t len)
{
	uint64_t first = rf_sig_group_first(seq, r->group_size);

	if (r->open && rf_sig_group_first(r->open_first, r->group_size) != first)
		rf_sig_ring_close(r); /* a gap in sequences: sign what we have */
	if (!r->open) {
		r->open = true;
		r->open_first = seq; /* the stream's first group starts mid-way */
		r->count = 0;
	}
	rf_chunk_hash(r->hashes[r->count++], r->stream_id, seq, flags, payload, len);
	if (rf_sig_group_last(seq, r->group_size))
		rf_sig_ring_close(r);
}

const uint8_t *rf_sig_ring_get(const struct rf_sig_ring *r, uint64_t seq,
			       uint16_t *len)
{
	const struct rf_sig_slot *slot = rf_sig_slot_of(r, rf_sig_group_first(seq, r->group_size));
	const uint8_t *msg;
	uint64_t first;
	uint8_t cur;

	if (!__atomic_load_n(&slot->ready, __ATOMIC_ACQUIRE))
		return NULL;
	first = __atomic_load_n(&slot->first, __ATOMIC_ACQUIRE);
	cur = __atomic_load_n(&slot->cur, __ATOMIC_ACQUIRE);
	msg = slot->msg[cur];
	/* the group's signature, and one that covers seq: a part signed
	 * before an outage does not stand for the whole group */
	if (rf_sig_group_first(first, r->group_size) != rf_sig_group_first(seq, r->group_size) ||
	    !rf_sig_msg_covers(msg, seq))
		return NULL;
	*len = slot->len[cur];
	return msg;
}
