/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK backend's counters as the main lcore and DPDK telemetry read
 * them: summed over worker lcores, drops by reason name.
 *
 *   dpdk-telemetry.py -f <file-prefix>
 *   --> /rawflow/stats      everything summed, drops per reason
 *   --> /rawflow/lcores     per worker lcore
 *   --> /rawflow/sessions   sessions per stream
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "dpdk_stats.h"
#include "drop.h"

struct rf_lcore_stats rf_lcore_stats[RTE_MAX_LCORE];

/* What telemetry names streams by; static, so it outlives the backend. */
static char rf_tel_ids[RF_SERVE_STREAMS_MAX][17];
static unsigned rf_tel_nstreams;

const char *rf_dpdk_drop_name(enum rf_dpdk_drop d)
{
	static const char *const names[] = {
#define RF_X_NAME(name, str) str,
		RF_DPDK_DROP_LIST(RF_X_NAME)
#undef RF_X_NAME
	};

	return d < RF_DPDK_DROP_MAX ? names[d] : "invalid";
}

static void rf_seed_stats_add(struct rf_seed_stats *sum, const struct rf_seed_stats *s)
{
#define RF_X_ADD(f) sum->f += s->f;
	RF_SEED_STAT_LIST(RF_X_ADD)
#undef RF_X_ADD
	sum->rx_packets += s->rx_packets;
	sum->rx_bytes += s->rx_bytes;
	sum->tx_packets += s->tx_packets;
	sum->tx_bytes += s->tx_bytes;
	for (int d = 0; d < RF_DROP_MAX; d++)
		sum->drops[d] += s->drops[d];
}

void rf_dpdk_stream_sum(unsigned stream, struct rf_seed_stats *s)
{
	unsigned lc;

	memset(s, 0, sizeof(*s));
	RTE_LCORE_FOREACH(lc)
		if (rf_lcore_stats[lc].active)
			rf_seed_stats_add(s, &rf_lcore_stats[lc].seed[stream]);
}

void rf_dpdk_stats_sum(struct rf_lcore_stats *l, struct rf_seed_stats *s,
		       uint64_t sessions[RF_SERVE_STREAMS_MAX])
{
	unsigned lc;

	memset(l, 0, sizeof(*l));
	memset(s, 0, sizeof(*s));
	memset(sessions, 0, sizeof(uint64_t) * RF_SERVE_STREAMS_MAX);
	RTE_LCORE_FOREACH(lc) {
		const struct rf_lcore_stats *c = &rf_lcore_stats[lc];

		if (!c->active)
			continue;
		l->queues += c->queues;
		l->rx_packets += c->rx_packets;
		l->rx_bytes += c->rx_bytes;
		l->tx_packets += c->tx_packets;
		l->tx_bytes += c->tx_bytes;
		l->arp += c->arp;
		l->nd += c->nd;
		l->echo += c->echo;
		for (int d = 0; d < RF_DROP_MAX; d++)
			l->drops[d] += c->drops[d];
		for (int d = 0; d < RF_DPDK_DROP_MAX; d++)
			l->dpdk_drops[d] += c->dpdk_drops[d];
		for (unsigned i = 0; i < RF_SERVE_STREAMS_MAX; i++) {
			rf_seed_stats_add(s, &c->seed[i]);
			sessions[i] += c->seed[i].sessions;
		}
	}
}

static int rf_tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *drops = rte_tel_data_alloc();
	uint64_t sessions[RF_SERVE_STREAMS_MAX];
	struct rf_lcore_stats l;
	struct rf_seed_stats s;

	(void)cmd, (void)params;
	if (!drops)
		return -ENOMEM;
	rf_dpdk_stats_sum(&l, &s, sessions);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", l.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", l.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", l.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", l.tx_bytes);
	rte_tel_data_add_dict_u64(d, "arp_answered", l.arp);
	rte_tel_data_add_dict_u64(d, "nd_answered", l.nd);
	rte_tel_data_add_dict_u64(d, "echo_answered", l.echo);
	rte_tel_data_add_dict_u64(d, "core_rx_packets", s.rx_packets);
	rte_tel_data_add_dict_u64(d, "core_tx_packets", s.tx_packets);
#define RF_X_TEL(f) rte_tel_data_add_dict_u64(d, #f, s.f);
	RF_SEED_STAT_LIST(RF_X_TEL)
#undef RF_X_TEL
	rte_tel_data_start_dict(drops);
	for (int r = RF_DROP_NONE + 1; r < RF_DROP_MAX; r++)
		rte_tel_data_add_dict_u64(drops, rf_drop_name(r), l.drops[r] + s.drops[r]);
	for (int r = 0; r < RF_DPDK_DROP_MAX; r++)
		rte_tel_data_add_dict_u64(drops, rf_dpdk_drop_name(r), l.dpdk_drops[r]);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	return 0;
}

static uint64_t rf_drops_total(const struct rf_lcore_stats *c)
{
	uint64_t n = 0;

	for (int r = RF_DROP_NONE + 1; r < RF_DROP_MAX; r++) {
		n += c->drops[r];
		for (unsigned i = 0; i < RF_SERVE_STREAMS_MAX; i++)
			n += c->seed[i].drops[r];
	}
	for (int r = 0; r < RF_DPDK_DROP_MAX; r++)
		n += c->dpdk_drops[r];
	return n;
}

static uint64_t rf_lcore_sessions(const struct rf_lcore_stats *c)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < RF_SERVE_STREAMS_MAX; i++)
		n += c->seed[i].sessions;
	return n;
}

void rf_dpdk_lcores_json(FILE *out)
{
	bool first = true;
	unsigned lc;

	fprintf(out, "[");
	RTE_LCORE_FOREACH(lc) {
		const struct rf_lcore_stats *c = &rf_lcore_stats[lc];

		if (!c->active)
			continue;
		fprintf(out, "%s{\"lcore\": %u, \"queues\": %u, \"sessions\": %llu, "
			"\"rx_packets\": %llu, \"tx_packets\": %llu, \"drops\": %llu}",
			first ? "" : ", ", lc, c->queues,
			(unsigned long long)rf_lcore_sessions(c),
			(unsigned long long)c->rx_packets, (unsigned long long)c->tx_packets,
			(unsigned long long)rf_drops_total(c));
		first = false;
	}
	fprintf(out, "]");
}

static int rf_tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned lc;

	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	RTE_LCORE_FOREACH(lc) {
		const struct rf_lcore_stats *c = &rf_lcore_stats[lc];
		struct rte_tel_data *e;
		uint64_t sessions = rf_lcore_sessions(c);
		char name[16];

		if (!c->active)
			continue;
		e = rte_tel_data_alloc();
		if (!e)
			return -ENOMEM;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_u64(e, "queues", c->queues);
		rte_tel_data_add_dict_u64(e, "rx_packets", c->rx_packets);
		rte_tel_data_add_dict_u64(e, "rx_bytes", c->rx_bytes);
		rte_tel_data_add_dict_u64(e, "tx_packets", c->tx_packets);
		rte_tel_data_add_dict_u64(e, "tx_bytes", c->tx_bytes);
		rte_tel_data_add_dict_u64(e, "drops", rf_drops_total(c));
		rte_tel_data_add_dict_u64(e, "sessions", sessions);
		snprintf(name, sizeof(name), "%u", lc);
		rte_tel_data_add_dict_container(d, name, e, 0);
	}
	return 0;
}

static int rf_tel_sessions(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t sessions[RF_SERVE_STREAMS_MAX];
	struct rf_lcore_stats l;
	struct rf_seed_stats s;

	(void)cmd, (void)params;
	rf_dpdk_stats_sum(&l, &s, sessions);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < rf_tel_nstreams; i++)
		rte_tel_data_add_dict_u64(d, rf_tel_ids[i], sessions[i]);
	return 0;
}

void rf_dpdk_telemetry_register(const char (*ids)[17], unsigned nstreams)
{
	static bool registered;

	rf_tel_nstreams = RTE_MIN(nstreams, (unsigned)RF_SERVE_STREAMS_MAX);
	for (unsigned i = 0; i < rf_tel_nstreams; i++)
		memcpy(rf_tel_ids[i], ids[i], sizeof(rf_tel_ids[i]));
	if (registered)
		return;
	registered = true;
	rte_telemetry_register_cmd("/rawflow/stats", rf_tel_stats,
		"RawFlow seed counters summed over worker lcores, drops by reason. No parameters");
	rte_telemetry_register_cmd("/rawflow/lcores", rf_tel_lcores,
		"RawFlow seed counters per worker lcore. No parameters");
	rte_telemetry_register_cmd("/rawflow/sessions", rf_tel_sessions,
		"RawFlow seed sessions per stream (by stream id). No parameters");
}
