/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chunk store: a ring of fixed-size slots in caller memory, one writer,
 * lock-free readers. See chunk_store.h for the reader protocol.
 */
#include "chunk_store.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define RF_CS_ALIGNED __attribute__((aligned(RF_CHUNK_STORE_ALIGN)))

/* Serial number arithmetic: b is "at or after" a when b - a < 2^63. */
#define RF_SEQ_HALF (UINT64_C(1) << 63)

struct rf_chunk_store {
	/* Written by the writer on every chunk, read by every reader. */
	RF_CS_ALIGNED uint64_t next_seq; /* live edge */
	uint64_t floor_seq;              /* oldest, once moved; see rf_window() */
	uint64_t rap_count;              /* RAPs ever recorded: ring head */

	/* Written only when a RAP is stored: a few per second. */
	RF_CS_ALIGNED uint64_t raps[RF_CHUNK_STORE_RAPS];

	/* Constant after init; its own line so writes above never evict it. */
	RF_CS_ALIGNED uint32_t slots;
	uint32_t mask;
	uint32_t stride;   /* bytes per slot, a multiple of RF_CHUNK_STORE_ALIGN */
	uint16_t chunk_max;

	/* The slots follow, at sizeof(struct rf_chunk_store) (a multiple of
	 * RF_CHUNK_STORE_ALIGN): an offset, not a pointer, so the store may be
	 * mapped at different addresses by different processes. */
};

_Static_assert(sizeof(struct rf_chunk) == 16, "rf_chunk header is 16 bytes");
_Static_assert(sizeof(struct rf_chunk_store) % RF_CHUNK_STORE_ALIGN == 0,
	       "slots must start cache-line aligned");
_Static_assert((RF_CHUNK_STORE_RAPS & (RF_CHUNK_STORE_RAPS - 1)) == 0,
	       "RAP ring size must be a power of two");

static uint32_t rf_stride(uint16_t chunk_max)
{
	uint32_t n = (uint32_t)sizeof(struct rf_chunk) + chunk_max;

	return (n + RF_CHUNK_STORE_ALIGN - 1) & ~(uint32_t)(RF_CHUNK_STORE_ALIGN - 1);
}

static struct rf_chunk *rf_slot(const struct rf_chunk_store *s, uint64_t seq)
{
	uint8_t *base = (uint8_t *)(uintptr_t)s + sizeof(*s);

	return (struct rf_chunk *)(base + (size_t)(seq & s->mask) * s->stride);
}

/*
 * Tag of an empty (or being rewritten) slot: a sequence number that maps to
 * a different slot, so it never equals any seq looked up in this one. Any
 * fixed sentinel value would be a legitimate seq somewhere in 2^64.
 */
static uint64_t rf_empty_tag(uint64_t seq)
{
	return seq ^ 1; /* slots >= 2, so bit 0 is part of the index */
}

/*
 * The window [oldest, next) as one reader sees it. next is loaded once and
 * everything derives from it; floor_seq only matters before the ring has
 * filled (oldest is first_seq then). A floor newer than the loaded next
 * makes next - floor huge, which falls back to next - slots: consistent.
 * Keeping floor_seq updated (instead of first_seq) keeps next - floor
 * small, so the arithmetic never wraps however far the window travels.
 */
static uint64_t rf_window(const struct rf_chunk_store *s, uint64_t *oldest)
{
	uint64_t next = __atomic_load_n(&s->next_seq, __ATOMIC_ACQUIRE);
	uint64_t floor = __atomic_load_n(&s->floor_seq, __ATOMIC_ACQUIRE);

	*oldest = next - floor <= s->slots ? floor : next - s->slots;
	return next;
}

size_t rf_chunk_store_size(uint32_t slots, uint16_t chunk_max)
{
	size_t hdr = sizeof(struct rf_chunk_store) + RF_CHUNK_STORE_ALIGN - 1;
	uint32_t stride;

	if (slots < 2 || (slots & (slots - 1)) != 0)
		return 0;
	if (chunk_max == 0 || chunk_max > RF_CHUNK_MAX)
		return 0;
	stride = rf_stride(chunk_max);
	if (slots > (SIZE_MAX - hdr) / stride) /* 32-bit hosts */
		return 0;
	return hdr + (size_t)slots * stride;
}

struct rf_chunk_store *rf_chunk_store_init(void *mem, size_t mem_len,
					   uint32_t slots, uint16_t chunk_max,
					   uint64_t first_seq)
{
	size_t need = rf_chunk_store_size(slots, chunk_max);
	struct rf_chunk_store *s;
	uintptr_t p;
	uint32_t i;

	if (mem == NULL || need == 0 || mem_len < need)
		return NULL;
	/* size() included the slack for this, whatever mem's alignment. */
	p = ((uintptr_t)mem + RF_CHUNK_STORE_ALIGN - 1) &
	    ~(uintptr_t)(RF_CHUNK_STORE_ALIGN - 1);
	s = (struct rf_chunk_store *)p;

	memset(s, 0, sizeof(*s));
	s->slots = slots;
	s->mask = slots - 1;
	s->stride = rf_stride(chunk_max);
	s->chunk_max = chunk_max;
	s->next_seq = first_seq;
	s->floor_seq = first_seq;
	for (i = 0; i < slots; i++) {
		struct rf_chunk *c = rf_slot(s, i);

		c->seq = rf_empty_tag(i);
		c->len = 0;
		c->flags = 0;
		memset(c->reserved, 0, sizeof(c->reserved));
	}
	/* Publish the layout to readers that are handed s after this. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return s;
}

/* Rewrite the slot for seq under its seqlock (writer only). */
static void rf_put(struct rf_chunk_store *s, uint64_t seq,
		   const uint8_t *payload, uint16_t len, uint8_t flags)
{
	struct rf_chunk *c = rf_slot(s, seq);

	__atomic_store_n(&c->seq, rf_empty_tag(seq), __ATOMIC_RELEASE);
	/* A release store only orders what came before it; the fence also
	 * keeps the payload writes below from being seen before the slot is
	 * marked invalid, which is what makes a reader's recheck sound. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(c->payload, payload, len);
	c->len = len;
	c->flags = flags;
	__atomic_store_n(&c->seq, seq, __ATOMIC_RELEASE);
}

/* Move the live edge to just past seq (writer only; seq at/after next). */
static void rf_advance(struct rf_chunk_store *s, uint64_t seq)
{
	uint64_t next = seq + 1;

	if (next - s->floor_seq > s->slots)
		__atomic_store_n(&s->floor_seq, next - s->slots,
				 __ATOMIC_RELEASE);
	__atomic_store_n(&s->next_seq, next, __ATOMIC_RELEASE);
}

/* Remember a RAP (writer only). The slot is already published, so a
 * reader that finds seq here can verify it against the slot. */
static void rf_note_rap(struct rf_chunk_store *s, uint64_t seq)
{
	uint64_t n = s->rap_count;

	__atomic_store_n(&s->raps[n & (RF_CHUNK_STORE_RAPS - 1)], seq,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&s->rap_count, n + 1, __ATOMIC_RELEASE);
}

static bool rf_bad_chunk(const struct rf_chunk_store *s,
			 const uint8_t *payload, uint16_t len)
{
	return payload == NULL || len == 0 || len > s->chunk_max;
}

int rf_chunk_store_append(struct rf_chunk_store *s, const uint8_t *payload,
			  uint16_t len, uint8_t flags)
{
	uint64_t seq = s->next_seq; /* we are the only writer */

	if (rf_bad_chunk(s, payload, len))
		return -EINVAL;
	rf_put(s, seq, payload, len, flags);
	rf_advance(s, seq);
	if (flags & RF_FLAG_DATA_RAP)
		rf_note_rap(s, seq);
	return 0;
}

int rf_chunk_store_insert(struct rf_chunk_store *s, uint64_t seq,
			  const uint8_t *payload, uint16_t len, uint8_t flags)
{
	uint64_t oldest, next;

	if (rf_bad_chunk(s, payload, len))
		return -EINVAL;
	next = rf_window(s, &oldest);
	if (seq - next < RF_SEQ_HALF) {
		/* At or past the live edge: the window moves up to seq; what
		 * it skips are holes, what it leaves behind falls out. */
		rf_put(s, seq, payload, len, flags);
		rf_advance(s, seq);
	} else {
		if (seq - oldest >= next - oldest)
			return -ERANGE;
		if (__atomic_load_n(&rf_slot(s, seq)->seq, __ATOMIC_RELAXED) == seq)
			return -EEXIST;
		rf_put(s, seq, payload, len, flags);
	}
	if (flags & RF_FLAG_DATA_RAP)
		rf_note_rap(s, seq);
	return 0;
}

const struct rf_chunk *rf_chunk_store_get(const struct rf_chunk_store *s,
					  uint64_t seq)
{
	uint64_t oldest, next = rf_window(s, &oldest);
	const struct rf_chunk *c;

	if (seq - oldest >= next - oldest)
		return NULL;
	c = rf_slot(s, seq);
	/* Acquire pairs with the writer's final release of seq: len, flags
	 * and payload read after this are the ones written for seq (unless
	 * the slot is rewritten meanwhile, which still_valid() detects). */
	if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != seq)
		return NULL;
	return c;
}

bool rf_chunk_store_still_valid(const struct rf_chunk_store *s,
				const struct rf_chunk *c, uint64_t seq)
{
	(void)s;
	/* Seqlock recheck: the fence keeps the caller's earlier reads of the
	 * chunk from moving after this load. If the writer had started to
	 * rewrite the slot, seq would already read as the empty tag. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == seq;
}

uint64_t rf_chunk_store_next(const struct rf_chunk_store *s)
{
	return __atomic_load_n(&s->next_seq, __ATOMIC_ACQUIRE);
}

uint64_t rf_chunk_store_oldest(const struct rf_chunk_store *s)
{
	uint64_t oldest;

	rf_window(s, &oldest);
	return oldest;
}

bool rf_chunk_store_in_window(const struct rf_chunk_store *s, uint64_t seq)
{
	uint64_t oldest, next = rf_window(s, &oldest);

	return seq - oldest < next - oldest;
}

uint32_t rf_chunk_store_slots(const struct rf_chunk_store *s)
{
	return s->slots;
}

uint16_t rf_chunk_store_chunk_max(const struct rf_chunk_store *s)
{
	return s->chunk_max;
}

/*
 * Collect the RAPs from the ring that are still held, as offsets from
 * oldest (so they compare correctly across 2^64). A ring entry is only a
 * candidate: it is kept if it is in the window and its slot still holds
 * it. Entries overwritten while we read are verified the same way.
 * Returns how many offsets were written to off[RF_CHUNK_STORE_RAPS].
 */
static size_t rf_held_raps(const struct rf_chunk_store *s, uint64_t oldest,
			   uint64_t span, uint64_t *off)
{
	uint64_t n = __atomic_load_n(&s->rap_count, __ATOMIC_ACQUIRE);
	uint64_t k = n < RF_CHUNK_STORE_RAPS ? n : RF_CHUNK_STORE_RAPS;
	size_t found = 0;
	uint64_t i;

	for (i = 0; i < k; i++) {
		uint64_t seq = __atomic_load_n(
			&s->raps[(n - 1 - i) & (RF_CHUNK_STORE_RAPS - 1)],
			__ATOMIC_RELAXED);

		if (seq - oldest >= span)
			continue;
		if (__atomic_load_n(&rf_slot(s, seq)->seq, __ATOMIC_ACQUIRE) != seq)
			continue;
		off[found++] = seq - oldest;
	}
	return found;
}

bool rf_chunk_store_rap_at_or_before(const struct rf_chunk_store *s,
				     uint64_t seq, uint64_t *rap_seq)
{
	uint64_t off[RF_CHUNK_STORE_RAPS];
	uint64_t oldest, next = rf_window(s, &oldest);
	uint64_t span = next - oldest, limit, best = 0;
	bool have = false;
	size_t n, i;

	if (span == 0)
		return false;
	if (seq - oldest < span)
		limit = seq - oldest;
	else if (seq - next < RF_SEQ_HALF)
		limit = span - 1; /* past the live edge: newest RAP */
	else
		return false;     /* older than the window */

	n = rf_held_raps(s, oldest, span, off);
	for (i = 0; i < n; i++) {
		if (off[i] <= limit && (!have || off[i] > best)) {
			best = off[i];
			have = true;
		}
	}
	if (have && rap_seq != NULL)
		*rap_seq = oldest + best;
	return have;
}

size_t rf_chunk_store_raps(const struct rf_chunk_store *s, uint64_t *out,
			   size_t max)
{
	uint64_t off[RF_CHUNK_STORE_RAPS];
	uint64_t oldest, next = rf_window(s, &oldest);
	size_t n, i, j, w = 0;

	n = rf_held_raps(s, oldest, next - oldest, off);
	/* Insertion sort, newest first: n <= 64 and usually in order already
	 * (only a peer inserting out of order breaks it). */
	for (i = 1; i < n; i++) {
		uint64_t v = off[i];

		for (j = i; j > 0 && off[j - 1] < v; j--)
			off[j] = off[j - 1];
		off[j] = v;
	}
	for (i = 0; i < n && w < max; i++) {
		if (w > 0 && off[i] == out[w - 1] - oldest)
			continue; /* same seq read twice across a ring overwrite */
		out[w++] = oldest + off[i];
	}
	return w;
}
