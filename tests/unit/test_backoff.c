/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for reconnect backoff (dataplane/core/backoff.c). */
#include <criterion/criterion.h>

#include <stdint.h>

#include "backoff.h"

/* The upper bound the n-th delay (from 0) must respect. */
static uint32_t hi_of(uint32_t base, uint32_t max, unsigned n)
{
	uint64_t hi = n < 40 ? (uint64_t)base << n : UINT64_MAX;

	return hi < max ? (uint32_t)hi : max;
}

Test(backoff, grows_then_caps)
{
	static const uint32_t want_hi[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
	struct rf_backoff b;
	unsigned i;

	rf_backoff_init(&b, 100, 1000);
	for (i = 0; i < sizeof(want_hi) / sizeof(want_hi[0]); i++) {
		struct rf_backoff probe = b;

		/* rnd 0 gives lo, rnd = hi - lo gives hi */
		cr_assert_eq(rf_backoff_next(&probe, 0), want_hi[i] / 2);
		probe = b;
		cr_assert_eq(rf_backoff_next(&probe, want_hi[i] - want_hi[i] / 2),
			     want_hi[i], "attempt %u", i);
		rf_backoff_next(&b, 12345);
		cr_assert_eq(b.attempt, i + 1);
	}
}

Test(backoff, jitter_stays_in_range)
{
	struct rf_backoff b;
	uint32_t rnd = 1;
	unsigned n, k;

	rf_backoff_init(&b, 100, 1000);
	for (n = 0; n < 12; n++) {
		uint32_t hi = hi_of(100, 1000, n), lo = hi / 2;
		bool seen_lo = false, seen_hi = false;

		for (k = 0; k < 20000; k++) {
			struct rf_backoff probe = b;
			uint32_t d;

			rnd = rnd * 1103515245u + 12345u; /* any spread will do */
			d = rf_backoff_next(&probe, rnd);
			cr_assert(d >= lo && d <= hi, "n %u: %u not in [%u, %u]",
				  n, d, lo, hi);
			seen_lo |= d == lo;
			seen_hi |= d == hi;
		}
		/* both ends are reachable, so the range is really [lo, hi] */
		cr_assert(seen_lo && seen_hi, "n %u", n);
		rf_backoff_next(&b, 0);
	}
}

Test(backoff, extreme_rnd_values)
{
	static const uint32_t rnds[] = { 0, 1, 50, 51, 0x7fffffff, 0x80000000u,
					 UINT32_MAX - 1, UINT32_MAX };
	struct rf_backoff b;
	unsigned i, n;

	for (n = 0; n < 40; n++) {
		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			uint32_t hi = hi_of(100, 1000, n), d;

			rf_backoff_init(&b, 100, 1000);
			b.attempt = n;
			d = rf_backoff_next(&b, rnds[i]);
			cr_assert(d >= hi / 2 && d <= hi);
			/* the seed relies on this to pick a restart up in 2 s */
			cr_assert_leq(d, 1000);
		}
	}
}

Test(backoff, reset_starts_over)
{
	struct rf_backoff b;
	unsigned i;

	rf_backoff_init(&b, 100, 1000);
	for (i = 0; i < 10; i++)
		rf_backoff_next(&b, 7);
	rf_backoff_reset(&b);
	cr_assert_eq(b.attempt, 0);
	cr_assert_eq(rf_backoff_next(&b, 0), 50);
	cr_assert_eq(rf_backoff_next(&b, 1000), 100 + 1000 % 101);
}

Test(backoff, huge_attempts_saturate)
{
	static const uint32_t attempts[] = { 31, 32, 33, 63, 64, 1000,
					     UINT32_MAX - 1, UINT32_MAX };
	struct rf_backoff b;
	unsigned i;

	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		rf_backoff_init(&b, 100, 1000);
		b.attempt = attempts[i];
		cr_assert_eq(rf_backoff_next(&b, 0), 500);
		cr_assert_eq(rf_backoff_next(&b, 500), 1000);
	}
	cr_assert_eq(b.attempt, UINT32_MAX);

	/* a large base and the whole 32-bit range as cap */
	rf_backoff_init(&b, 0x80000000u, UINT32_MAX);
	cr_assert_eq(rf_backoff_next(&b, 0), 0x40000000u);
	cr_assert_eq(rf_backoff_next(&b, 0), UINT32_MAX / 2);
	/* hi - lo + 1 = 2^31 + 1: no overflow in the range arithmetic */
	cr_assert_eq(rf_backoff_next(&b, 0x80000000u), UINT32_MAX);
	cr_assert_eq(rf_backoff_next(&b, UINT32_MAX), 0xfffffffdu);
}

Test(backoff, base_above_max_is_capped)
{
	struct rf_backoff b;

	rf_backoff_init(&b, 5000, 1000);
	cr_assert_eq(rf_backoff_next(&b, 0), 500);
	cr_assert_eq(rf_backoff_next(&b, 500), 1000);
}
