/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the chunk store (dataplane/core/chunk_store.c). */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_store.h"
#include "wire.h"

static void *arena;

static void teardown(void)
{
	free(arena);
	arena = NULL;
}

TestSuite(chunk_store, .fini = teardown);

/* A store in fresh heap memory, deliberately misaligned by one byte so
 * init's own alignment is exercised in every test. */
static struct rf_chunk_store *mk(uint32_t slots, uint16_t chunk_max,
				 uint64_t first)
{
	size_t len = rf_chunk_store_size(slots, chunk_max);
	struct rf_chunk_store *s;

	cr_assert_gt(len, 0);
	free(arena);
	arena = malloc(len + 1);
	cr_assert_not_null(arena);
	memset(arena, 0xa5, len + 1); /* init must not rely on zeroed memory */
	s = rf_chunk_store_init((uint8_t *)arena + 1, len, slots, chunk_max,
				first);
	cr_assert_not_null(s);
	return s;
}

/* Payload bytes derived from seq, so any mix-up or tear is visible. */
static uint8_t pat(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 131 + (seq >> 56) * 7 + i * 17 + 1);
}

static uint16_t pat_len(uint64_t seq, uint16_t max)
{
	return (uint16_t)(1 + (seq * 2654435761u) % max);
}

static void fill(uint8_t *buf, uint64_t seq, uint16_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seq, i);
}

static int append_seq(struct rf_chunk_store *s, uint64_t seq, uint8_t flags)
{
	uint8_t buf[RF_CHUNK_MAX];
	uint16_t len = pat_len(seq, rf_chunk_store_chunk_max(s));

	fill(buf, seq, len);
	return rf_chunk_store_append(s, buf, len, flags);
}

static int insert_seq(struct rf_chunk_store *s, uint64_t seq, uint8_t flags)
{
	uint8_t buf[RF_CHUNK_MAX];
	uint16_t len = pat_len(seq, rf_chunk_store_chunk_max(s));

	fill(buf, seq, len);
	return rf_chunk_store_insert(s, seq, buf, len, flags);
}

/* The chunk for seq is held with the pattern payload and these flags. */
static void expect_held(struct rf_chunk_store *s, uint64_t seq, uint8_t flags)
{
	const struct rf_chunk *c = rf_chunk_store_get(s, seq);
	uint8_t want[RF_CHUNK_MAX];
	uint16_t len = pat_len(seq, rf_chunk_store_chunk_max(s));

	cr_assert_not_null(c, "seq %llu should be held", (unsigned long long)seq);
	cr_assert_eq(c->seq, seq);
	cr_assert_eq(c->len, len, "seq %llu len %u != %u",
		     (unsigned long long)seq, c->len, len);
	cr_assert_eq(c->flags, flags);
	fill(want, seq, len);
	cr_assert_arr_eq(c->payload, want, len);
	cr_assert(rf_chunk_store_still_valid(s, c, seq));
}

static void expect_absent(struct rf_chunk_store *s, uint64_t seq)
{
	cr_assert_null(rf_chunk_store_get(s, seq), "seq %llu should be absent",
		       (unsigned long long)seq);
}

Test(chunk_store, size_rejects_bad_geometry)
{
	cr_assert_eq(rf_chunk_store_size(0, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(1, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(3, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(6, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(1000, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(0x80000001u, 1316), 0);
	cr_assert_eq(rf_chunk_store_size(8, 0), 0);
	cr_assert_eq(rf_chunk_store_size(8, RF_CHUNK_MAX + 1), 0);
	cr_assert_eq(rf_chunk_store_size(8, UINT16_MAX), 0);

	/* Valid ones: room for every slot, rounded up to cache lines. */
	cr_assert_geq(rf_chunk_store_size(2, 1), 2 * 64);
	cr_assert_geq(rf_chunk_store_size(8, RF_CHUNK_MAX),
		      8 * (sizeof(struct rf_chunk) + RF_CHUNK_MAX));
	cr_assert_gt(rf_chunk_store_size(16, 1316), rf_chunk_store_size(8, 1316));
	cr_assert_gt(rf_chunk_store_size(8, 1400), rf_chunk_store_size(8, 100));
}

Test(chunk_store, init_rejects_bad_params)
{
	size_t len = rf_chunk_store_size(8, 1316);
	uint8_t *mem = malloc(len + 64);

	cr_assert_not_null(mem);
	cr_assert_null(rf_chunk_store_init(NULL, len, 8, 1316, 0));
	cr_assert_null(rf_chunk_store_init(mem, len - 1, 8, 1316, 0));
	cr_assert_null(rf_chunk_store_init(mem, 0, 8, 1316, 0));
	cr_assert_null(rf_chunk_store_init(mem, len, 7, 1316, 0));
	cr_assert_null(rf_chunk_store_init(mem, len, 1, 1316, 0));
	cr_assert_null(rf_chunk_store_init(mem, len, 8, 0, 0));
	cr_assert_null(rf_chunk_store_init(mem, len, 8, RF_CHUNK_MAX + 1, 0));
	/* Too small for the bigger geometry it claims. */
	cr_assert_null(rf_chunk_store_init(mem, len, 16, 1316, 0));
	cr_assert_not_null(rf_chunk_store_init(mem, len, 8, 1316, 0));
	free(mem);
}

Test(chunk_store, init_aligns_any_base)
{
	size_t len = rf_chunk_store_size(4, 1316);
	uint8_t *mem = malloc(len + 64);

	cr_assert_not_null(mem);
	for (size_t off = 0; off < 64; off += 7) {
		struct rf_chunk_store *s =
			rf_chunk_store_init(mem + off, len, 4, 1316, 10);

		cr_assert_not_null(s);
		cr_assert_geq((uintptr_t)s, (uintptr_t)(mem + off));
		cr_assert_eq((uintptr_t)s % RF_CHUNK_STORE_ALIGN, 0);
		cr_assert_eq(rf_chunk_store_slots(s), 4);
		cr_assert_eq(rf_chunk_store_chunk_max(s), 1316);
		for (uint64_t q = 10; q < 14; q++) {
			const struct rf_chunk *c;

			cr_assert_eq(append_seq(s, q, 0), 0);
			c = rf_chunk_store_get(s, q);
			cr_assert_not_null(c);
			/* TX readers get whole cache lines per slot. */
			cr_assert_eq((uintptr_t)c % RF_CHUNK_STORE_ALIGN, 0);
			/* Nothing written past the caller's buffer. */
			cr_assert_leq((uintptr_t)(c->payload + 1316),
				      (uintptr_t)(mem + off + len));
		}
	}
	free(mem);
}

Test(chunk_store, empty_store)
{
	struct rf_chunk_store *s = mk(8, 1316, 1000);
	uint64_t out[4], r;

	cr_assert_eq(rf_chunk_store_next(s), 1000);
	cr_assert_eq(rf_chunk_store_oldest(s), 1000);
	cr_assert_not(rf_chunk_store_in_window(s, 1000));
	for (uint64_t q = 990; q < 1010; q++)
		expect_absent(s, q);
	expect_absent(s, 0);
	expect_absent(s, UINT64_MAX);
	cr_assert_eq(rf_chunk_store_raps(s, out, 4), 0);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 1000, &r));
}

Test(chunk_store, append_get_round_trip)
{
	struct rf_chunk_store *s = mk(8, 1316, 5);
	uint8_t buf[1316];
	const struct rf_chunk *c;

	fill(buf, 5, 1316);
	cr_assert_eq(rf_chunk_store_append(s, buf, 1316,
					   RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT), 0);
	cr_assert_eq(rf_chunk_store_next(s), 6);
	cr_assert_eq(rf_chunk_store_oldest(s), 5);
	c = rf_chunk_store_get(s, 5);
	cr_assert_not_null(c);
	cr_assert_eq(c->seq, 5);
	cr_assert_eq(c->len, 1316);
	cr_assert_eq(c->flags, RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT);
	cr_assert_arr_eq(c->payload, buf, 1316);

	/* A one-byte chunk. */
	buf[0] = 0x42;
	cr_assert_eq(rf_chunk_store_append(s, buf, 1, 0), 0);
	c = rf_chunk_store_get(s, 6);
	cr_assert_not_null(c);
	cr_assert_eq(c->len, 1);
	cr_assert_eq(c->flags, 0);
	cr_assert_eq(c->payload[0], 0x42);

	/* The store copied: changing the source changes nothing. */
	memset(buf, 0, sizeof(buf));
	c = rf_chunk_store_get(s, 5);
	cr_assert_eq(c->payload[0], pat(5, 0));

	for (uint64_t q = 7; q < 12; q++)
		cr_assert_eq(append_seq(s, q, (uint8_t)(q & 3)), 0);
	for (uint64_t q = 7; q < 12; q++)
		expect_held(s, q, (uint8_t)(q & 3));
	cr_assert_eq(rf_chunk_store_next(s), 12);
	expect_absent(s, 12); /* the live edge is not stored yet */
	expect_absent(s, 4);  /* before first_seq */
}

Test(chunk_store, append_rejects_bad_len)
{
	struct rf_chunk_store *s = mk(4, 100, 0);
	uint8_t buf[RF_CHUNK_MAX] = { 0 };

	cr_assert_eq(rf_chunk_store_append(s, buf, 0, 0), -EINVAL);
	cr_assert_eq(rf_chunk_store_append(s, buf, 101, 0), -EINVAL);
	cr_assert_eq(rf_chunk_store_append(s, NULL, 10, 0), -EINVAL);
	cr_assert_eq(rf_chunk_store_next(s), 0, "a rejected chunk uses no seq");
	expect_absent(s, 0);
	cr_assert_eq(rf_chunk_store_append(s, buf, 100, 0), 0);
	cr_assert_eq(rf_chunk_store_next(s), 1);
}

Test(chunk_store, ring_wraparound)
{
	struct rf_chunk_store *s = mk(8, 200, 0);

	for (uint64_t q = 0; q < 20; q++) {
		cr_assert_eq(append_seq(s, q, 0), 0);
		cr_assert_eq(rf_chunk_store_next(s), q + 1);
		cr_assert_eq(rf_chunk_store_oldest(s), q + 1 > 8 ? q + 1 - 8 : 0);
	}
	cr_assert_eq(rf_chunk_store_next(s), 20);
	cr_assert_eq(rf_chunk_store_oldest(s), 12);
	for (uint64_t q = 0; q < 12; q++) {
		expect_absent(s, q); /* overwritten or merely out of window */
		cr_assert_not(rf_chunk_store_in_window(s, q));
	}
	for (uint64_t q = 12; q < 20; q++) {
		expect_held(s, q, 0);
		cr_assert(rf_chunk_store_in_window(s, q));
	}
	/* Above the window, near and far; below it, far (serial arithmetic). */
	expect_absent(s, 20);
	expect_absent(s, 28);
	expect_absent(s, 1u << 20);
	expect_absent(s, UINT64_MAX);
	expect_absent(s, UINT64_C(1) << 63);
	cr_assert_not(rf_chunk_store_in_window(s, 20));
}

Test(chunk_store, sequence_wraps_past_2_64)
{
	uint64_t first = UINT64_MAX - 5;
	struct rf_chunk_store *s = mk(8, 64, first);
	uint64_t q = first;

	/* Fill the window so it straddles 2^64 -> 0. */
	for (int i = 0; i < 8; i++, q++)
		cr_assert_eq(append_seq(s, q, 0), 0);
	cr_assert_eq(rf_chunk_store_next(s), 2);
	cr_assert_eq(rf_chunk_store_oldest(s), first);
	for (uint64_t p = first; p != 2; p++) {
		expect_held(s, p, 0);
		cr_assert(rf_chunk_store_in_window(s, p));
	}
	expect_absent(s, first - 1);
	expect_absent(s, 2);

	/* Keep going: the window moves entirely past zero. */
	for (int i = 0; i < 12; i++, q++)
		cr_assert_eq(append_seq(s, q, 0), 0);
	cr_assert_eq(rf_chunk_store_next(s), 14);
	cr_assert_eq(rf_chunk_store_oldest(s), 6);
	for (uint64_t p = 6; p < 14; p++)
		expect_held(s, p, 0);
	for (uint64_t p = first; p != 6; p++)
		expect_absent(s, p);
	expect_absent(s, 14);
}

Test(chunk_store, insert_out_of_order_with_holes)
{
	struct rf_chunk_store *s = mk(16, 300, 100);

	cr_assert_eq(insert_seq(s, 103, 0), 0);
	cr_assert_eq(insert_seq(s, 101, 0), 0);
	cr_assert_eq(insert_seq(s, 105, RF_FLAG_DATA_REPAIR), 0);
	cr_assert_eq(rf_chunk_store_next(s), 106);
	cr_assert_eq(rf_chunk_store_oldest(s), 100);
	expect_held(s, 101, 0);
	expect_held(s, 103, 0);
	expect_held(s, 105, RF_FLAG_DATA_REPAIR);
	/* Holes are visible as holes, inside the window. */
	expect_absent(s, 100);
	expect_absent(s, 102);
	expect_absent(s, 104);
	cr_assert(rf_chunk_store_in_window(s, 102));

	/* Fill a hole. */
	cr_assert_eq(insert_seq(s, 102, 0), 0);
	expect_held(s, 102, 0);
	cr_assert_eq(rf_chunk_store_next(s), 106, "filling a hole keeps the edge");

	/* Duplicates, including the newest. */
	cr_assert_eq(insert_seq(s, 103, 0), -EEXIST);
	cr_assert_eq(insert_seq(s, 105, 0), -EEXIST);
	expect_held(s, 105, RF_FLAG_DATA_REPAIR);

	/* Older than the window. */
	cr_assert_eq(insert_seq(s, 99, 0), -ERANGE);
	cr_assert_eq(insert_seq(s, 0, 0), -ERANGE);
	cr_assert_eq(insert_seq(s, 106 - (UINT64_C(1) << 63), 0), -ERANGE);
	/* 2^63 ahead is as far as "behind": refused, window untouched. */
	cr_assert_eq(insert_seq(s, 106 + (UINT64_C(1) << 63), 0), -ERANGE);
	cr_assert_eq(rf_chunk_store_next(s), 106);

	/* Bad length. */
	{
		uint8_t buf[RF_CHUNK_MAX] = { 0 };

		cr_assert_eq(rf_chunk_store_insert(s, 104, buf, 0, 0), -EINVAL);
		cr_assert_eq(rf_chunk_store_insert(s, 104, buf, 301, 0), -EINVAL);
		cr_assert_eq(rf_chunk_store_insert(s, 500, buf, 301, 0), -EINVAL);
		cr_assert_eq(rf_chunk_store_insert(s, 104, NULL, 10, 0), -EINVAL);
		expect_absent(s, 104);
		cr_assert_eq(rf_chunk_store_next(s), 106);
	}

	/* Append continues at the live edge after inserts. */
	cr_assert_eq(append_seq(s, 106, 0), 0);
	expect_held(s, 106, 0);
	cr_assert_eq(insert_seq(s, 106, 0), -EEXIST);
}

Test(chunk_store, insert_far_ahead_advances_window)
{
	struct rf_chunk_store *s = mk(16, 300, 100);

	for (uint64_t q = 100; q < 110; q++)
		cr_assert_eq(insert_seq(s, q, 0), 0);

	/* A jump within the ring: the oldest fall out, the rest stay. */
	cr_assert_eq(insert_seq(s, 120, 0), 0);
	cr_assert_eq(rf_chunk_store_next(s), 121);
	cr_assert_eq(rf_chunk_store_oldest(s), 105);
	for (uint64_t q = 100; q < 105; q++) {
		expect_absent(s, q);
		cr_assert_eq(insert_seq(s, q, 0), -ERANGE);
	}
	for (uint64_t q = 105; q < 110; q++)
		expect_held(s, q, 0);
	for (uint64_t q = 110; q < 120; q++)
		expect_absent(s, q); /* skipped: holes, though the slots of
				      * 116..119 still hold 100..103 */
	expect_held(s, 120, 0);

	/* A jump past the whole ring: nothing old survives, even in slots
	 * that were never rewritten. */
	cr_assert_eq(insert_seq(s, 1000, 0), 0);
	cr_assert_eq(rf_chunk_store_next(s), 1001);
	cr_assert_eq(rf_chunk_store_oldest(s), 985);
	for (uint64_t q = 100; q < 121; q++)
		expect_absent(s, q);
	for (uint64_t q = 985; q < 1000; q++)
		expect_absent(s, q);
	expect_held(s, 1000, 0);
	/* Backfill inside the new window. */
	cr_assert_eq(insert_seq(s, 985, 0), 0);
	cr_assert_eq(insert_seq(s, 990, 0), 0);
	expect_held(s, 985, 0);
	expect_held(s, 990, 0);
	cr_assert_eq(insert_seq(s, 984, 0), -ERANGE);
	cr_assert_eq(insert_seq(s, 120, 0), -ERANGE);
}

Test(chunk_store, insert_across_2_64)
{
	uint64_t first = UINT64_MAX - 2;
	struct rf_chunk_store *s = mk(8, 64, first);

	cr_assert_eq(insert_seq(s, first, 0), 0);
	cr_assert_eq(insert_seq(s, 2, 0), 0); /* ahead, across zero */
	cr_assert_eq(rf_chunk_store_next(s), 3);
	cr_assert_eq(rf_chunk_store_oldest(s), first);
	expect_held(s, first, 0);
	expect_held(s, 2, 0);
	expect_absent(s, UINT64_MAX);
	expect_absent(s, 0);
	cr_assert(rf_chunk_store_in_window(s, UINT64_MAX));
	cr_assert_eq(insert_seq(s, UINT64_MAX, 0), 0);
	cr_assert_eq(insert_seq(s, 0, 0), 0);
	cr_assert_eq(insert_seq(s, UINT64_MAX, 0), -EEXIST);
	cr_assert_eq(insert_seq(s, first - 1, 0), -ERANGE);
	expect_held(s, UINT64_MAX, 0);
	expect_held(s, 0, 0);

	cr_assert_eq(insert_seq(s, 7, 0), 0);
	cr_assert_eq(rf_chunk_store_oldest(s), 0);
	expect_absent(s, UINT64_MAX);
	expect_held(s, 0, 0);
	expect_held(s, 2, 0);
	cr_assert_eq(insert_seq(s, UINT64_MAX, 0), -ERANGE);
}

Test(chunk_store, rap_tracking)
{
	struct rf_chunk_store *s = mk(16, 100, 0);
	uint64_t out[RF_CHUNK_STORE_RAPS], r = 0;

	/* RAPs at 2, 6, 10, ... */
	for (uint64_t q = 0; q < 16; q++)
		cr_assert_eq(append_seq(s, q, q % 4 == 2 ? RF_FLAG_DATA_RAP : 0), 0);

	cr_assert_eq(rf_chunk_store_raps(s, out, 16), 4);
	cr_assert_eq(out[0], 14);
	cr_assert_eq(out[1], 10);
	cr_assert_eq(out[2], 6);
	cr_assert_eq(out[3], 2);
	cr_assert_eq(rf_chunk_store_raps(s, out, 2), 2, "max is honoured");
	cr_assert_eq(out[0], 14);
	cr_assert_eq(out[1], 10);
	cr_assert_eq(rf_chunk_store_raps(s, out, 0), 0);

	cr_assert(rf_chunk_store_rap_at_or_before(s, 9, &r));
	cr_assert_eq(r, 6);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 10, &r));
	cr_assert_eq(r, 10);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 2, &r));
	cr_assert_eq(r, 2);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 1, &r));
	/* Past the live edge: the newest RAP. */
	cr_assert(rf_chunk_store_rap_at_or_before(s, 16, &r));
	cr_assert_eq(r, 14);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 5000, &r));
	cr_assert_eq(r, 14);

	/* Six more chunks: oldest becomes 6, RAP 2 falls out. */
	for (uint64_t q = 16; q < 22; q++)
		cr_assert_eq(append_seq(s, q, q % 4 == 2 ? RF_FLAG_DATA_RAP : 0), 0);
	cr_assert_eq(rf_chunk_store_oldest(s), 6);
	cr_assert_eq(rf_chunk_store_raps(s, out, 16), 4);
	cr_assert_eq(out[0], 18);
	cr_assert_eq(out[3], 6);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 7, &r));
	cr_assert_eq(r, 6);
	/* Older than the window: no answer, not a stale RAP. */
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 5, &r));
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 2, &r));

	/* One more: RAP 6 falls out; 7..9 have none. */
	cr_assert_eq(append_seq(s, 22, 0), 0);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 9, &r));
	cr_assert(rf_chunk_store_rap_at_or_before(s, 21, &r));
	cr_assert_eq(r, 18);
	cr_assert_eq(rf_chunk_store_raps(s, out, 16), 3);

	/* Enough chunks without RAPs and none are left. */
	for (uint64_t q = 23; q < 40; q++)
		cr_assert_eq(append_seq(s, q, 0), 0);
	cr_assert_eq(rf_chunk_store_raps(s, out, 16), 0);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 39, &r));
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 100, &r));
}

Test(chunk_store, rap_ring_keeps_newest)
{
	struct rf_chunk_store *s = mk(256, 16, 0);
	uint64_t out[RF_CHUNK_STORE_RAPS + 8], r = 0;

	/* 200 RAPs, all in the window: only the newest 64 are remembered. */
	for (uint64_t q = 0; q < 200; q++)
		cr_assert_eq(append_seq(s, q, RF_FLAG_DATA_RAP), 0);
	cr_assert_eq(rf_chunk_store_raps(s, out, RF_CHUNK_STORE_RAPS + 8),
		     RF_CHUNK_STORE_RAPS);
	for (size_t i = 0; i < RF_CHUNK_STORE_RAPS; i++)
		cr_assert_eq(out[i], 199 - i);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 150, &r));
	cr_assert_eq(r, 150);
	/* Older RAPs are still held but no longer indexed. */
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 100, &r));
}

Test(chunk_store, raps_from_out_of_order_inserts)
{
	uint64_t first = UINT64_MAX - 9;
	struct rf_chunk_store *s = mk(32, 64, first);
	uint64_t out[8], r = 0;

	/* Arrive out of order, across 2^64; 3 is a plain chunk. */
	cr_assert_eq(insert_seq(s, 4, RF_FLAG_DATA_RAP), 0);
	cr_assert_eq(insert_seq(s, first + 2, RF_FLAG_DATA_RAP), 0);
	cr_assert_eq(insert_seq(s, 12, RF_FLAG_DATA_RAP), 0);
	cr_assert_eq(insert_seq(s, UINT64_MAX, RF_FLAG_DATA_RAP), 0);
	cr_assert_eq(insert_seq(s, 3, 0), 0);
	cr_assert_eq(insert_seq(s, 4, RF_FLAG_DATA_RAP), -EEXIST);

	cr_assert_eq(rf_chunk_store_raps(s, out, 8), 4);
	cr_assert_eq(out[0], 12);
	cr_assert_eq(out[1], 4);
	cr_assert_eq(out[2], UINT64_MAX);
	cr_assert_eq(out[3], first + 2);

	cr_assert(rf_chunk_store_rap_at_or_before(s, 3, &r));
	cr_assert_eq(r, UINT64_MAX);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 0, &r));
	cr_assert_eq(r, UINT64_MAX);
	cr_assert(rf_chunk_store_rap_at_or_before(s, UINT64_MAX - 1, &r));
	cr_assert_eq(r, first + 2);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, first + 1, &r));
	cr_assert(rf_chunk_store_rap_at_or_before(s, 11, &r));
	cr_assert_eq(r, 4);

	/* Jump ahead: window [9, 41): only 12 survives... */
	cr_assert_eq(insert_seq(s, 40, 0), 0);
	cr_assert_eq(rf_chunk_store_oldest(s), 9);
	cr_assert_eq(rf_chunk_store_raps(s, out, 8), 1);
	cr_assert_eq(out[0], 12);
	cr_assert_not(rf_chunk_store_rap_at_or_before(s, 11, &r));
	/* ...and a RAP backfilled into the window is found. */
	cr_assert_eq(insert_seq(s, 10, RF_FLAG_DATA_RAP), 0);
	cr_assert(rf_chunk_store_rap_at_or_before(s, 11, &r));
	cr_assert_eq(r, 10);
	cr_assert_eq(rf_chunk_store_raps(s, out, 8), 2);
	cr_assert_eq(out[0], 12);
	cr_assert_eq(out[1], 10);
}

Test(chunk_store, still_valid_after_overwrite)
{
	struct rf_chunk_store *s = mk(4, 100, 50);
	const struct rf_chunk *c, *c2;

	for (uint64_t q = 50; q < 54; q++)
		cr_assert_eq(append_seq(s, q, 0), 0);
	c = rf_chunk_store_get(s, 51);
	cr_assert_not_null(c);
	cr_assert(rf_chunk_store_still_valid(s, c, 51));
	cr_assert_not(rf_chunk_store_still_valid(s, c, 55), "wrong seq");

	/* 54 goes to 50's slot: 51 is untouched and stays valid. */
	cr_assert_eq(append_seq(s, 54, 0), 0);
	cr_assert(rf_chunk_store_still_valid(s, c, 51));
	/* 55 reuses 51's slot: a zero-copy reader of 51 must notice. */
	cr_assert_eq(append_seq(s, 55, 0), 0);
	cr_assert_not(rf_chunk_store_still_valid(s, c, 51));
	expect_absent(s, 51);
	c2 = rf_chunk_store_get(s, 55);
	cr_assert_eq(c2, c, "same slot, new chunk");
	cr_assert(rf_chunk_store_still_valid(s, c2, 55));
	expect_held(s, 55, 0);
}

Test(chunk_store, still_valid_after_insert_overwrite)
{
	struct rf_chunk_store *s = mk(4, 100, 0);
	const struct rf_chunk *c;

	cr_assert_eq(insert_seq(s, 1, 0), 0);
	c = rf_chunk_store_get(s, 1);
	cr_assert_not_null(c);
	/* Jump so that 1 falls out without its slot being rewritten: the data
	 * is intact, so still_valid holds, but get() no longer returns it. */
	cr_assert_eq(insert_seq(s, 8, 0), 0);
	expect_absent(s, 1);
	cr_assert(rf_chunk_store_still_valid(s, c, 1));
	/* Now 9 lands in 1's slot. */
	cr_assert_eq(insert_seq(s, 9, 0), 0);
	cr_assert_not(rf_chunk_store_still_valid(s, c, 1));
}

/*
 * One writer, one reader on another thread: every read that passes the
 * recheck must be exactly the chunk asked for. A small ring makes the
 * writer lap the reader constantly.
 */
struct race {
	struct rf_chunk_store *s;
	uint64_t first;
	uint64_t count;
	int done;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;

	for (uint64_t i = 0; i < r->count; i++) {
		uint64_t q = r->first + i;

		if (append_seq(r->s, q, (uint8_t)(q & 7)) != 0)
			abort();
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(chunk_store, concurrent_reader_never_sees_torn_chunk)
{
	struct race r = { .first = UINT64_MAX - 1000, .count = 200000 };
	uint8_t copy[RF_CHUNK_MAX], want[RF_CHUNK_MAX];
	uint64_t good = 0, bad = 0, raced = 0, iter = 0;
	pthread_t th;

	r.s = mk(8, 256, r.first);
	cr_assert_eq(pthread_create(&th, NULL, race_writer, &r), 0);
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) || iter < 1000) {
		uint64_t next = rf_chunk_store_next(r.s);
		uint64_t q = next - 1 - (iter++ % 10);
		const struct rf_chunk *c = rf_chunk_store_get(r.s, q);
		uint16_t len;
		uint8_t flags;

		if (c == NULL)
			continue;
		len = c->len;
		flags = c->flags;
		if (len > sizeof(copy))
			len = sizeof(copy); /* torn: the recheck must fail */
		memcpy(copy, c->payload, len);
		if (!rf_chunk_store_still_valid(r.s, c, q)) {
			raced++;
			continue;
		}
		fill(want, q, pat_len(q, 256));
		if (len != pat_len(q, 256) || flags != (q & 7) ||
		    memcmp(copy, want, len) != 0)
			bad++;
		else
			good++;
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(bad, 0, "%llu torn reads passed the recheck (%llu good)",
		     (unsigned long long)bad, (unsigned long long)good);
	cr_assert_gt(good, 0);
	cr_assert_eq(rf_chunk_store_next(r.s), r.first + r.count);
	cr_log_info("good %llu raced %llu", (unsigned long long)good,
		    (unsigned long long)raced);
}

Test(chunk_store, huge_jumps_keep_window_consistent)
{
	struct rf_chunk_store *s = mk(8, 64, 0);
	uint64_t step = (UINT64_C(1) << 62) + 1, q = 0;

	/* Jumps adding up to more than 2^64: the window must still be the
	 * `slots` numbers below the edge, not an empty or bogus range. */
	for (int i = 0; i < 6; i++) {
		q += step; /* the fourth lands on 4, just past where we began */
		cr_assert_eq(insert_seq(s, q, 0), 0);
		cr_assert_eq(rf_chunk_store_next(s), q + 1);
		cr_assert_eq(rf_chunk_store_oldest(s), q + 1 - 8);
		expect_held(s, q, 0);
		cr_assert(rf_chunk_store_in_window(s, q - 7));
		cr_assert_not(rf_chunk_store_in_window(s, q - 8));
		cr_assert_eq(insert_seq(s, q - 3, 0), 0);
		expect_held(s, q - 3, 0);
		cr_assert_eq(insert_seq(s, q - 8, 0), -ERANGE);
	}
}
