/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reconnect delays: exponential backoff with "equal jitter", so seeds that
 * lost the same source do not all come back at the same instant, yet the
 * delay never collapses to 0. The random value comes in as an argument.
 */
#ifndef RF_BACKOFF_H
#define RF_BACKOFF_H

#include <stdint.h>

struct rf_backoff {
	uint32_t base_ms;        /* first delay's upper bound */
	uint32_t max_ms;         /* cap */
	uint32_t attempt;        /* failures since the last success (saturates) */
};

void rf_backoff_init(struct rf_backoff *b, uint32_t base_ms, uint32_t max_ms);

/* Delay before the next attempt: with hi = min(max, base * 2^attempt),
 * lo + rnd % (hi - lo + 1) where lo = hi / 2, so never above max. Counts
 * the attempt. */
uint32_t rf_backoff_next(struct rf_backoff *b, uint32_t rnd);

/* The source works again: start over from base. */
void rf_backoff_reset(struct rf_backoff *b);

#endif
