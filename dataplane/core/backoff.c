/* SPDX-License-Identifier: BSD-3-Clause */
/* Exponential backoff with equal jitter (see backoff.h). */
#include "backoff.h"

void rf_backoff_init(struct rf_backoff *b, uint32_t base_ms, uint32_t max_ms)
{
	*b = (struct rf_backoff){ .base_ms = base_ms, .max_ms = max_ms };
}

uint32_t rf_backoff_next(struct rf_backoff *b, uint32_t rnd)
{
	uint32_t hi = b->max_ms, lo;

	/* base << attempt <= max, asked without shifting bits out */
	if (b->attempt < 32 && b->base_ms <= b->max_ms >> b->attempt)
		hi = b->base_ms << b->attempt;
	lo = hi / 2;
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	return lo + rnd % (hi - lo + 1);
}

void rf_backoff_reset(struct rf_backoff *b)
{
	b->attempt = 0;
}
