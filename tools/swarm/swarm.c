/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-swarm: N peers (the same node code rawflow-peer runs) in one
 * process, each on its own loopback address, with upload limits drawn
 * from a distribution, and loss, delay and churn injected. Shows progress
 * every second and ends with a report (and JSON): offload, continuity,
 * start-up times, delay behind live, parent switches, repairs, skips.
 *
 * Peers are sharded over --threads threads (peer i on thread i % T), each
 * with its own epoll and timers; a thread alone touches its peers, and
 * the main thread reads only the figures each publishes once a second.
 *
 *   rawflow-swarm rawflow://HOST:PORT/STREAM-ID --peers N [options]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "node.h"
#include "sockaddr.h"

#define RF_SWARM_MAX 4096
#define RF_SWARM_TICK_MS 10
#define RF_SWARM_THREADS_MAX 8

struct rf_swarm_peer {
	struct rf_node *node;
	uint64_t joined_ms;
	uint64_t played_bytes;
	uint64_t newest_played;
	bool forger;
};

/* Figures summed over peers: those that left (when they leave), the
 * ones still there (in progress lines and the report). */
struct rf_swarm_totals {
	uint64_t played, skipped, late, switches, repairs, repaired, bad_chunks;
	uint64_t from_seed, from_seed_repair, relay_late, played_bytes, joins, leaves;
	unsigned playing, children;     /* progress only: of the peers now */
	unsigned on_seed;               /* progress only: substreams from the seed */
	uint64_t sec_bytes, sec_seed, sec_repair; /* progress only: last second */
};

/* Start-up times (s) of peers that played, for the percentiles. */
struct rf_swarm_startups {
	unsigned n;
	double t[RF_SWARM_MAX * 8];
};

struct rf_swarm;

/* One thread's peers: i % threads == t. */
struct rf_swarm_shard {
	struct rf_swarm *s;
	unsigned t;
	pthread_t thread;
	int ep;
	uint32_t rnd;
	unsigned joins;                 /* its k-th join binds address t + T k */
	struct rf_swarm_totals left;
	struct rf_swarm_startups left_startups;
	pthread_mutex_t lock;           /* guards snap */
	struct rf_swarm_totals snap;    /* left + peers now, each second */
};

struct rf_swarm {
	/* options */
	struct rf_addr seed;
	uint64_t stream_id;
	unsigned peers;
	double seconds, loss, churn_per_min, join_spread_s;
	uint32_t delay_ms, upload_mean_kbps, playback_delay_ms;
	const char *dist, *json;
	uint32_t first_addr;            /* host order; joins take the ones after it */
	unsigned forgers, threads;

	uint64_t start_ms;
	struct rf_swarm_peer p[RF_SWARM_MAX];
	struct rf_swarm_shard shard[RF_SWARM_THREADS_MAX];
};

static volatile sig_atomic_t rf_quit;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_quit = 1;
}

static double rf_rand01(struct rf_swarm_shard *sh)
{
	sh->rnd = sh->rnd * 1664525u + 1013904223u;
	return (sh->rnd >> 8) / (double)(1u << 24);
}

/* An upload limit from the distribution, in kbit/s. */
static uint32_t rf_swarm_upload(struct rf_swarm_shard *sh)
{
	double m = sh->s->upload_mean_kbps;

	if (!strcmp(sh->s->dist, "fixed"))
		return (uint32_t)m;
	if (!strcmp(sh->s->dist, "exp"))
		return (uint32_t)(-m * log(1 - rf_rand01(sh) * 0.999));
	return (uint32_t)(m * (0.5 + rf_rand01(sh))); /* uniform in [m/2, 3m/2] */
}

/* The next peer's local address: --addr, then the ones after it, shared
 * out between the threads so no two peers ever bind the same. */
static void rf_swarm_addr(struct rf_swarm_shard *sh, struct rf_addr *a)
{
	uint32_t v = sh->s->first_addr + sh->t + sh->s->threads * sh->joins;
	uint8_t ip[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	rf_addr_v4(a, ip, 0);
}

static void rf_swarm_play(void *ctx, uint64_t seq, const uint8_t *payload, uint16_t len,
			  uint8_t flags)
{
	struct rf_swarm_peer *sp = ctx;

	(void)payload, (void)flags;
	sp->played_bytes += len;
	sp->newest_played = seq;
}

static int rf_swarm_join(struct rf_swarm_shard *sh, unsigned i, uint64_t now)
{
	struct rf_swarm *s = sh->s;
	struct rf_node_config cfg = { 0 };
	struct rf_swarm_peer *sp = &s->p[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

	rf_swarm_addr(sh, &cfg.bind);
	cfg.peer.seed = s->seed;
	cfg.peer.stream_id = s->stream_id;
	randombytes_buf(&cfg.peer.peer_id, sizeof(cfg.peer.peer_id));
	cfg.peer.upload_kbps = rf_swarm_upload(sh);
	cfg.peer.delay_ms = s->playback_delay_ms;
	cfg.loss = s->loss;
	cfg.delay_ms = s->delay_ms;
	cfg.rnd_seed = sh->rnd ^ i;
	cfg.forge = sp->forger;
	if (rf_node_open(&sp->node, &cfg) != 0)
		return -EIO;
	if (epoll_ctl(sh->ep, EPOLL_CTL_ADD, rf_node_fd(sp->node), &ev) != 0)
		return -errno;
	sp->joined_ms = now;
	sp->played_bytes = 0;
	rf_node_start(sp->node, now);
	sh->joins++;
	sh->left.joins++;
	return 0;
}

/* Fold a peer's figures into tot (when it leaves, and at the end). */
static void rf_swarm_account(struct rf_swarm_totals *tot, const struct rf_swarm_peer *sp)
{
	const struct rf_peer_stats *st = rf_peer_stats(rf_node_peer(sp->node));
	const struct rf_seed_stats *r = rf_node_relay_stats(sp->node);

	tot->played += st->played;
	tot->skipped += st->skipped;
	tot->late += st->late;
	tot->switches += st->parent_switches;
	tot->repairs += st->repairs_asked;
	tot->repaired += st->repaired;
	tot->bad_chunks += st->bad_chunks;
	tot->from_seed += st->bytes_from_seed;
	tot->from_seed_repair += st->repair_bytes_from_seed;
	tot->relay_late += r ? r->late_sent : 0;
	tot->played_bytes += sp->played_bytes;
}

static void rf_startup_add(struct rf_swarm_startups *u, const struct rf_swarm_peer *sp)
{
	const struct rf_peer_stats *st = rf_peer_stats(rf_node_peer(sp->node));

	if (st->first_play_ms && u->n < sizeof(u->t) / sizeof(u->t[0]))
		u->t[u->n++] = (st->first_play_ms - sp->joined_ms) / 1e3;
}

/* a += b */
static void rf_totals_add(struct rf_swarm_totals *a, const struct rf_swarm_totals *b)
{
	a->played += b->played;
	a->skipped += b->skipped;
	a->late += b->late;
	a->switches += b->switches;
	a->repairs += b->repairs;
	a->repaired += b->repaired;
	a->bad_chunks += b->bad_chunks;
	a->from_seed += b->from_seed;
	a->from_seed_repair += b->from_seed_repair;
	a->relay_late += b->relay_late;
	a->played_bytes += b->played_bytes;
	a->joins += b->joins;
	a->leaves += b->leaves;
	a->playing += b->playing;
	a->children += b->children;
	a->on_seed += b->on_seed;
	a->sec_bytes += b->sec_bytes;
	a->sec_seed += b->sec_seed;
	a->sec_repair += b->sec_repair;
}

static void rf_swarm_leave(struct rf_swarm_shard *sh, unsigned i)
{
	struct rf_swarm *s = sh->s;

	rf_swarm_account(&sh->left, &s->p[i]);
	rf_startup_add(&sh->left_startups, &s->p[i]);
	rf_node_close(s->p[i].node);
	s->p[i].node = NULL;
	sh->left.leaves++;
}

/* Substreams a peer takes from the seed now. */
static unsigned rf_swarm_on_seed(const struct rf_node *n)
{
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX + 1];
	unsigned count = rf_peer_parents(rf_node_peer(n), v, RF_PEER_PARENTS_MAX + 1);

	for (unsigned i = 0; i < count; i++)
		if (v[i].is_seed)
			return (unsigned)__builtin_popcountll(v[i].substreams);
	return 0;
}

/* A thread's figures for the progress line: those that left and its
 * peers now (the counters only, not their start-up times). */
static void rf_shard_publish(struct rf_swarm_shard *sh)
{
	struct rf_swarm *s = sh->s;
	struct rf_swarm_totals now = sh->left;

	for (unsigned i = sh->t; i < s->peers; i += s->threads) {
		const struct rf_seed_stats *r;

		if (!s->p[i].node)
			continue;
		rf_swarm_account(&now, &s->p[i]);
		r = rf_node_relay_stats(s->p[i].node);
		now.playing += rf_peer_stats(rf_node_peer(s->p[i].node))->played > 0;
		now.children += r ? (unsigned)r->sessions : 0;
		now.on_seed += rf_swarm_on_seed(s->p[i].node);
	}
	pthread_mutex_lock(&sh->lock);
	now.sec_bytes = now.played_bytes - sh->snap.played_bytes;
	now.sec_seed = now.from_seed - sh->snap.from_seed;
	now.sec_repair = now.from_seed_repair - sh->snap.from_seed_repair;
	sh->snap = now;
	pthread_mutex_unlock(&sh->lock);
}

/* Live figures over every thread's last snapshot; offload also over the
 * last second alone. */
static void rf_swarm_progress(struct rf_swarm *s, uint64_t now)
{
	struct rf_swarm_totals t;

	memset(&t, 0, sizeof(t));
	for (unsigned k = 0; k < s->threads; k++) {
		struct rf_swarm_shard *sh = &s->shard[k];

		pthread_mutex_lock(&sh->lock);
		rf_totals_add(&t, &sh->snap);
		pthread_mutex_unlock(&sh->lock);
	}
	fprintf(stderr,
		"t=%5.1fs peers %u playing %u children %u on-seed %u continuity %.5f offload %5.1f%% "
		"(last second %5.1f%%, seed repairs %4.1f%%) played %llu skipped %llu joins %llu leaves %llu\n",
		(now - s->start_ms) / 1e3, s->peers, t.playing, t.children, t.on_seed,
		t.played + t.skipped ? (double)t.played / (double)(t.played + t.skipped) : 1.0,
		t.played_bytes ? 100.0 * (1.0 - (double)t.from_seed / (double)t.played_bytes) : 0.0,
		t.sec_bytes ? 100.0 * (1.0 - (double)t.sec_seed / (double)t.sec_bytes) : 0.0,
		t.sec_bytes ? 100.0 * (double)t.sec_repair / (double)t.sec_bytes : 0.0,
		(unsigned long long)t.played, (unsigned long long)t.skipped,
		(unsigned long long)t.joins, (unsigned long long)t.leaves);
}

static int rf_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double rf_pct(const double *v, unsigned n, double q)
{
	if (n == 0)
		return -1;
	return v[(unsigned)((n - 1) * q + 0.5)];
}

/* The delay behind live: how far each peer's playback is behind the
 * newest chunk any peer has, in seconds, averaged. */
static double rf_swarm_delay(const struct rf_swarm *s)
{
	uint64_t newest = 0;
	double sum = 0, rate;
	unsigned n = 0;
	const struct rf_welcome *w = NULL;

	for (unsigned i = 0; i < s->peers; i++) {
		if (!s->p[i].node)
			continue;
		if (rf_peer_state(rf_node_peer(s->p[i].node)) == RF_PEER_RECEIVING)
			w = rf_peer_welcome(rf_node_peer(s->p[i].node));
		if (rf_node_peer(s->p[i].node) && rf_peer_store(rf_node_peer(s->p[i].node)) &&
		    rf_chunk_store_next(rf_peer_store(rf_node_peer(s->p[i].node))) > newest)
			newest = rf_chunk_store_next(rf_peer_store(rf_node_peer(s->p[i].node)));
	}
	if (!w || !w->chunk_rate_milli)
		return -1;
	rate = w->chunk_rate_milli / 1000.0;
	for (unsigned i = 0; i < s->peers; i++) {
		if (!s->p[i].node || !s->p[i].newest_played)
			continue;
		sum += (double)(newest - s->p[i].newest_played) / rate;
		n++;
	}
	return n ? sum / n : -1;
}

static void rf_swarm_report(struct rf_swarm *s)
{
	static struct rf_swarm_startups up;
	struct rf_swarm_totals all = { 0 }, *t = &all;
	double delay = rf_swarm_delay(s), continuity, offload;
	FILE *f;

	for (unsigned k = 0; k < s->threads; k++) {
		const struct rf_swarm_startups *l = &s->shard[k].left_startups;
		unsigned room = (unsigned)(sizeof(up.t) / sizeof(up.t[0])) - up.n;
		unsigned n = l->n < room ? l->n : room;

		rf_totals_add(t, &s->shard[k].left);
		memcpy(up.t + up.n, l->t, n * sizeof(l->t[0]));
		up.n += n;
	}
	for (unsigned i = 0; i < s->peers; i++) {
		if (!s->p[i].node)
			continue;
		rf_swarm_account(t, &s->p[i]);
		rf_startup_add(&up, &s->p[i]);
	}
	qsort(up.t, up.n, sizeof(double), rf_cmp_double);
	continuity = t->played + t->skipped ? (double)t->played / (double)(t->played + t->skipped) : 0;
	offload = t->played_bytes ? 1.0 - (double)t->from_seed / (double)t->played_bytes : 0;
	fprintf(stderr,
		"\nswarm: %u peers, %llu joins, %llu leaves\n"
		"  offload      %.4f  (seed sent %.1f MB of %.1f MB played, %.1f MB of it repairs)\n"
		"  continuity   %.6f  (%llu played, %llu skipped, %llu late)\n"
		"  start-up     p50 %.3f s  p95 %.3f s  max %.3f s\n"
		"  delay        %.2f s behind the newest chunk in the swarm\n"
		"  healing      %llu parent switches, %llu repairs asked, %llu repaired, %llu forged chunks caught\n"
		"  relays       %llu chunks forwarded after filling a hole late\n",
		s->peers, (unsigned long long)t->joins, (unsigned long long)t->leaves, offload,
		t->from_seed / 1e6, t->played_bytes / 1e6, t->from_seed_repair / 1e6, continuity,
		(unsigned long long)t->played, (unsigned long long)t->skipped,
		(unsigned long long)t->late, rf_pct(up.t, up.n, 0.5),
		rf_pct(up.t, up.n, 0.95),
		up.n ? up.t[up.n - 1] : -1, delay,
		(unsigned long long)t->switches, (unsigned long long)t->repairs,
		(unsigned long long)t->repaired, (unsigned long long)t->bad_chunks,
		(unsigned long long)t->relay_late);
	f = s->json ? fopen(s->json, "w") : NULL;
	for (int k = 0; k < 2; k++) {
		FILE *o = k ? f : stdout;

		if (!o)
			continue;
		fprintf(o,
			"{\"peers\": %u, \"offload\": %.4f, \"seed_repair_share\": %.4f, \"relay_late\": %llu, \"continuity\": %.6f, \"startup_p50_s\": %.3f, "
			"\"startup_p95_s\": %.3f, \"startup_max_s\": %.3f, \"delay_s\": %.2f, "
			"\"parent_switches\": %llu, \"repairs\": %llu, \"repaired\": %llu, \"skips\": %llu, "
			"\"played\": %llu, \"joins\": %llu, \"leaves\": %llu, \"forged_caught\": %llu}\n",
			s->peers, offload,
			t->from_seed ? (double)t->from_seed_repair / (double)t->from_seed : 0,
			(unsigned long long)t->relay_late, continuity, rf_pct(up.t, up.n, 0.5),
			rf_pct(up.t, up.n, 0.95),
			up.n ? up.t[up.n - 1] : -1, delay,
			(unsigned long long)t->switches, (unsigned long long)t->repairs,
			(unsigned long long)t->repaired, (unsigned long long)t->skipped,
			(unsigned long long)t->played, (unsigned long long)t->joins,
			(unsigned long long)t->leaves, (unsigned long long)t->bad_chunks);
	}
	if (f)
		fclose(f);
}

/* Churn: each second, each of the thread's peers leaves with probability
 * churn/60 and a newcomer takes its place. */
static void rf_swarm_churn(struct rf_swarm_shard *sh, uint64_t now)
{
	struct rf_swarm *s = sh->s;
	double p = s->churn_per_min / 100.0 / 60.0;

	for (unsigned i = sh->t; i < s->peers; i += s->threads) {
		if (!s->p[i].node || s->p[i].forger || rf_rand01(sh) >= p)
			continue;
		rf_swarm_leave(sh, i);
		if (rf_swarm_join(sh, i, now) != 0)
			rf_warn("churn: a newcomer could not join (slot %u stays empty)", i);
	}
}

/* One thread: its peers join on schedule (peer i at i / peers of the
 * spread), then receive, tick and play; churn and a snapshot each second. */
static void *rf_shard_run(void *arg)
{
	struct rf_swarm_shard *sh = arg;
	struct rf_swarm *s = sh->s;
	uint64_t start = s->start_ms, next_tick = 0, next_second = start + 1000;
	unsigned joined = sh->t;        /* next of its peers to join */
	struct epoll_event ev[64];

	while (!rf_quit && rf_unix_ms() - start < s->seconds * 1000) {
		uint64_t now = rf_unix_ms();
		int n;

		while (joined < s->peers &&
		       (s->join_spread_s <= 0 ||
			now - start >= joined * s->join_spread_s * 1000 / s->peers)) {
			if (rf_swarm_join(sh, joined, now) != 0) {
				rf_err("peer %u cannot join: stopping (raise ulimit -n?)", joined);
				rf_quit = 1;
				break;
			}
			joined += s->threads;
		}
		n = epoll_wait(sh->ep, ev, 64, 2);
		now = rf_unix_ms();
		for (int i = 0; i < n; i++)
			if (s->p[ev[i].data.u32].node)
				rf_node_readable(s->p[ev[i].data.u32].node, now);
		if (now >= next_tick) {
			for (unsigned i = sh->t; i < joined && i < s->peers; i += s->threads) {
				if (!s->p[i].node)
					continue;
				rf_node_tick(s->p[i].node, now);
				rf_node_play(s->p[i].node, now, rf_swarm_play, &s->p[i]);
			}
			next_tick = now + RF_SWARM_TICK_MS;
		}
		if (now >= next_second) {
			if (s->churn_per_min > 0)
				rf_swarm_churn(sh, now);
			rf_shard_publish(sh);
			next_second = now + 1000; /* no bursts after a lag: each figure spans a second */
		}
	}
	return NULL;
}

/* Start the threads, print progress each second, wait for them. */
static int rf_swarm_run(struct rf_swarm *s)
{
	unsigned started = 0;
	int rc = 0;

	s->start_ms = rf_unix_ms();
	for (; started < s->threads; started++) {
		struct rf_swarm_shard *sh = &s->shard[started];

		sh->s = s;
		sh->t = started;
		sh->rnd = (uint32_t)getpid() * (started + 1);
		pthread_mutex_init(&sh->lock, NULL);
		sh->ep = epoll_create1(EPOLL_CLOEXEC);
		if (sh->ep < 0 || pthread_create(&sh->thread, NULL, rf_shard_run, sh) != 0) {
			rf_err("cannot start thread %u", started);
			rf_quit = 1;
			rc = -EAGAIN;
			break;
		}
	}
	while (!rf_quit && rf_unix_ms() - s->start_ms < s->seconds * 1000) {
		usleep(1000 * 1000);
		rf_swarm_progress(s, rf_unix_ms());
	}
	for (unsigned k = 0; k < started; k++)
		pthread_join(s->shard[k].thread, NULL);
	return rc;
}

static void rf_swarm_usage(FILE *f)
{
	fprintf(f,
		"usage: rawflow-swarm rawflow://HOST:PORT/STREAM-ID --peers N [options]\n"
		"\n"
		"Run N RawFlow peers in one process on loopback addresses and report how\n"
		"the swarm does.\n"
		"\n"
		"  -n, --peers N          peers (default 20, at most %d)\n"
		"  -t, --seconds S        how long (default 30)\n"
		"      --upload-kbps K    mean upload limit (default 3000: 1.5 x 2 Mbit/s)\n"
		"      --upload-dist D    uniform (K/2..3K/2, default) | fixed | exp\n"
		"      --loss P           share of received datagrams each peer loses (0..1)\n"
		"      --delay-ms D       added to every received datagram\n"
		"      --churn PCT        peers leaving and joining per minute, in %% (default 0)\n"
		"      --join-spread S    spread the joins over S seconds (default 2)\n"
		"      --playback-delay-ms D  each peer's playback delay (default %u)\n"
		"      --forgers N        that many peers relay forged chunks (tests)\n"
		"      --threads T        threads to run the peers on (default: the CPUs, at most %d)\n"
		"      --addr A.B.C.D     first local address; peers take the ones after it\n"
		"                         (default 127.10.0.1; they must exist on this host)\n"
		"      --json FILE        also write the final report as JSON\n"
		"  -h, --help             this text\n"
		"\n"
		"The last line on stdout is the report as one JSON object.\n", RF_SWARM_MAX,
		RF_PEER_DELAY_MS, RF_SWARM_THREADS_MAX);
}

static int rf_swarm_args(struct rf_swarm *s, int argc, char **argv)
{
	enum { O_UPLOAD = 256, O_DIST, O_LOSS, O_DELAY, O_CHURN, O_SPREAD, O_PDELAY, O_FORGERS,
	       O_JSON, O_ADDR, O_THREADS };
	static const struct option opts[] = {
		{ "peers", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "upload-kbps", required_argument, NULL, O_UPLOAD },
		{ "upload-dist", required_argument, NULL, O_DIST },
		{ "loss", required_argument, NULL, O_LOSS },
		{ "delay-ms", required_argument, NULL, O_DELAY },
		{ "churn", required_argument, NULL, O_CHURN },
		{ "join-spread", required_argument, NULL, O_SPREAD },
		{ "playback-delay-ms", required_argument, NULL, O_PDELAY },
		{ "forgers", required_argument, NULL, O_FORGERS },
		{ "json", required_argument, NULL, O_JSON },
		{ "addr", required_argument, NULL, O_ADDR },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *P = "rawflow-swarm";
	struct in_addr addr;
	int c;

	s->peers = 20;
	s->seconds = 30;
	s->upload_mean_kbps = 3000;
	s->dist = "uniform";
	s->join_spread_s = 2;
	s->playback_delay_ms = RF_PEER_DELAY_MS;
	s->first_addr = 127u << 24 | 10u << 16 | 1; /* 127.10.0.1 */
	s->threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (s->threads > RF_SWARM_THREADS_MAX)
		s->threads = RF_SWARM_THREADS_MAX;
	while ((c = getopt_long(argc, argv, "n:t:h", opts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case 'n': rc = rf_cli_uint(P, "--peers", optarg, 1, RF_SWARM_MAX, &s->peers); break;
		case 't': rc = rf_cli_real(P, "--seconds", optarg, 0.1, 1e6, &s->seconds); break;
		case O_UPLOAD: rc = rf_cli_uint(P, "--upload-kbps", optarg, 0, 10000000, &s->upload_mean_kbps); break;
		case O_DIST: s->dist = optarg; break;
		case O_LOSS: rc = rf_cli_real(P, "--loss", optarg, 0, 0.99, &s->loss); break;
		case O_DELAY: rc = rf_cli_uint(P, "--delay-ms", optarg, 0, 10000, &s->delay_ms); break;
		case O_CHURN: rc = rf_cli_real(P, "--churn", optarg, 0, 6000, &s->churn_per_min); break;
		case O_SPREAD: rc = rf_cli_seconds(P, "--join-spread", optarg, &s->join_spread_s); break;
		case O_PDELAY: rc = rf_cli_uint(P, "--playback-delay-ms", optarg, 100, 60000, &s->playback_delay_ms); break;
		case O_FORGERS: rc = rf_cli_uint(P, "--forgers", optarg, 0, RF_SWARM_MAX, &s->forgers); break;
		case O_JSON: s->json = optarg; break;
		case O_THREADS: rc = rf_cli_uint(P, "--threads", optarg, 1, RF_SWARM_THREADS_MAX, &s->threads); break;
		case O_ADDR:
			if (inet_pton(AF_INET, optarg, &addr) != 1) {
				fprintf(stderr, "rawflow-swarm: --addr wants an IPv4 address\n");
				return -EINVAL;
			}
			s->first_addr = ntohl(addr.s_addr);
			break;
		case 'h': rf_swarm_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (optind != argc - 1 || rf_stream_url_parse(argv[optind], &s->seed, &s->stream_id) != 0) {
		fprintf(stderr, "rawflow-swarm: give one URL rawflow://HOST[:PORT]/STREAM-ID (see --help)\n");
		return -EINVAL;
	}
	if (s->forgers > s->peers) {
		fprintf(stderr, "rawflow-swarm: --forgers is at most --peers\n");
		return -EINVAL;
	}
	if (strcmp(s->dist, "uniform") && strcmp(s->dist, "fixed") && strcmp(s->dist, "exp")) {
		fprintf(stderr, "rawflow-swarm: --upload-dist is uniform, fixed or exp, got '%s'\n",
			s->dist);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct rf_swarm s;
	struct rlimit rl = { 65536, 65536 };

	if (sodium_init() < 0 || rf_swarm_args(&s, argc, argv) != 0)
		return 2;
	setrlimit(RLIMIT_NOFILE, &rl); /* one socket per peer */
	for (unsigned i = 0; i < s.forgers; i++)
		s.p[i * (s.peers / s.forgers)].forger = true;
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	if (rf_swarm_run(&s) != 0)
		return 1;
	rf_swarm_report(&s);
	for (unsigned i = 0; i < s.peers; i++)
		rf_node_close(s.p[i].node);
	for (unsigned k = 0; k < s.threads; k++)
		close(s.shard[k].ep);
	return 0;
}
