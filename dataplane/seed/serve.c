/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "chunker.h"
#include "serve.h"

void rf_serve_seed_params(const struct rf_serve_config *cfg, unsigned stream,
			  uint64_t stream_bps, struct rf_seed_params *p)
{
	const struct rf_stream_key *key = cfg->streams[stream].key;
	uint16_t chunk = (uint16_t)(rf_ingest_config(cfg->streams[stream].ingest)->packets_per_chunk *
				    RF_TS_PACKET);

	memset(p, 0, sizeof(*p));
	p->stream_id = key->stream_id;
	memcpy(p->pubkey, key->pk, RF_PUBKEY_LEN);
	memcpy(p->cookie_secret, cfg->cookie_secret, RF_SECRET_LEN);
	p->cookie_lifetime_s = 30;
	p->tokens = cfg->tokens;
	p->max_sessions = cfg->max_sessions;
	/* the node-wide cap, shared evenly by the streams */
	p->max_egress_bps = cfg->max_egress_bps / cfg->nstreams;
	p->stream_bps = stream_bps;
	p->chunk_size = chunk;
	p->substreams = cfg->substreams;
	p->group_size = cfg->group_size;
	p->chunk_rate_milli = (uint32_t)(stream_bps * 1000 / 8 / chunk);
	p->keepalive_ms = 1000;
	p->timeout_ms = 3000;
	p->catchup_per_pump = 8;
}

int rf_serve_route(const struct rf_serve_config *cfg, const uint8_t *pkt,
		   size_t len)
{
	uint64_t id;

	if (len < RF_HDR_LEN)
		return -1;
	id = rf_get64(pkt + RF_OFF_STREAM);
	for (unsigned i = 0; i < cfg->nstreams; i++)
		if (cfg->streams[i].key->stream_id == id)
			return (int)i;
	return -1;
}
