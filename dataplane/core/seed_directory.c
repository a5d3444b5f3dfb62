/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed's local grid directory: which of its own sessions to offer as
 * parents. A peer announces its upload in JOIN and reports what it uses in
 * QUALITY; the ones with room for at least one more substream are offered,
 * the most spare first, ahead of the other seeds (the last resort). Each
 * with the level its QUALITY reported: one that has not reported yet is
 * not offered (peers choose parents by level, to stay free of loops).
 */
#include <string.h>

#include "seed.h"

#define RF_DIR_SCAN 256 /* sessions read per rf_seed_sessions call */

/* Insert c into the top list (sorted by spare, descending) of at most max. */
static void rf_dir_keep(struct rf_candidate *top, unsigned *n, unsigned max,
			const struct rf_candidate *c)
{
	unsigned i = *n < max ? (*n)++ : max;

	if (i == max && c->spare_kbps <= top[max - 1].spare_kbps)
		return;
	if (i == max)
		i = max - 1;
	while (i > 0 && top[i - 1].spare_kbps < c->spare_kbps) {
		top[i] = top[i - 1];
		i--;
	}
	top[i] = *c;
}

void rf_seed_directory_refresh(struct rf_seed *s, uint64_t stream_bps, uint8_t substreams,
			       const struct rf_candidate *seeds, unsigned nseeds)
{
	struct rf_candidate top[RF_SEED_DIR_MAX];
	struct rf_seed_peer_view v[RF_DIR_SCAN];
	uint32_t need_kbps = (uint32_t)(stream_bps / 1000 / (substreams ? substreams : 1)) + 1;
	uint64_t all = substreams >= 64 ? ~0ull : (1ull << substreams) - 1;
	uint32_t cursor = 0;
	unsigned n = 0, got, max = RF_SEED_DIR_MAX;

	if (nseeds > max / 4)
		nseeds = max / 4; /* the seeds come last and leave room for peers */
	while ((got = rf_seed_sessions(s, &cursor, v, RF_DIR_SCAN)) > 0) {
		for (unsigned i = 0; i < got; i++) {
			uint32_t used = v[i].quality.upload_kbps;
			struct rf_candidate c = { .addr = v[i].addr, .substreams = all };

			/* a peer is never level 0: 0 is no QUALITY yet; 255, no parent */
			if (v[i].upload_kbps <= used || v[i].upload_kbps - used < need_kbps ||
			    v[i].quality.level == RF_LEVEL_SEED ||
			    v[i].quality.level == RF_LEVEL_UNKNOWN)
				continue;
			c.spare_kbps = v[i].upload_kbps - used;
			c.level = v[i].quality.level;
			rf_dir_keep(top, &n, max - nseeds, &c);
		}
	}
	if (nseeds)
		memcpy(top + n, seeds, nseeds * sizeof(*seeds));
	rf_seed_set_directory(s, top, n + nseeds);
}
