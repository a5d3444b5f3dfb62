/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer core (dataplane/core/peer.c) against a scripted network: the
 * test plays the seed and the peer parents itself (fake nodes answering
 * the peer's datagrams), produces a signed stream in virtual time, and
 * drives rf_peer_tick / rf_peer_play every 10 ms.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "msg.h"
#include "peer.h"
#include "sig_ring.h"

#define K 4
#define G 8
#define RATE 100000           /* chunks per 1000 s: one per 10 ms */
#define STEP 10               /* ms per produced chunk and per tick */
#define SRC0 1000005ULL       /* the stream's first seq (mid-group) */
#define HISTORY 100           /* chunks produced before the peer joins */
#define NCHUNKS 1200
#define RAP_EVERY 32
#define T0 5000000ULL
#define PEER_ID 0x1122334455667788ULL

enum { SEED, A, B, C, NNODES };

enum node_mode {
	M_OK,
	M_SILENT,          /* answers nothing (keeps counting) */
	M_JOIN_SILENT,     /* COOKIE for HELLO, nothing for JOIN */
	M_REDIRECT,        /* REDIRECT capacity for JOIN */
	M_REDIRECT_TO_B,   /* REDIRECT for HELLO, naming B */
	M_DENY,            /* BYE denied for JOIN */
};

struct node {
	struct rf_addr addr;
	enum node_mode mode;
	bool session, dead, answer_repair, forge_sig;
	bool lossy;                    /* loses 3 of 5 live chunks */
	unsigned lag;                  /* pushes live chunks this many steps late */
	uint64_t subs, offer;
	uint32_t spare;
	uint8_t level;                 /* what the seed's CANDIDATES say of it */
	uint64_t forge_seq;            /* send this one corrupted (0: none) */
	unsigned n[16];                /* datagrams received, per type */
	uint8_t join_flags;
	bool join_token_ok;
	uint64_t last_sub_mask, last_sub_start, last_sub_ms, last_unsub_mask;
	uint64_t last_repair_base, last_repair_mask, first_repair_ms;
	uint8_t last_bye;
	struct rf_quality q[16];
	uint64_t q_ms[16];
	unsigned nq;
};

static uint8_t pk[RF_PUBKEY_LEN], sk[RF_SECKEY_LEN];
static uint64_t sid;
static void *ring_mem, *peer_mem;
static struct rf_sig_ring *ring;
static struct rf_peer *pe;
static struct node nodes[NNODES];
static uint64_t now, edge;
static uint64_t drop_seq[8];
static unsigned ndrop;
static int cand_nodes[NNODES], ncand;     /* what the seed's CANDIDATES name */
static uint64_t played_seq[NCHUNKS];
static unsigned nplayed;
static uint8_t token[RF_TOKEN_LEN];

/* ---- the stream ---- */

static uint16_t chunk(uint64_t seq, uint8_t *p)
{
	uint16_t len = (uint16_t)(100 + seq % 50);

	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
	p[0] = 0x47;
	return len;
}

static uint8_t chunk_flags(uint64_t seq)
{
	return seq % RAP_EVERY == 0 ? RF_FLAG_DATA_RAP : 0;
}

static void setup(void)
{
	uint8_t seed[32] = { 42 };
	uint8_t p[RF_CHUNK_MAX];
	size_t n = rf_sig_ring_size(256, G);

	cr_assert(sodium_init() >= 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	sid = rf_stream_id(pk);
	ring_mem = malloc(n);
	ring = rf_sig_ring_init(ring_mem, n, 256, G, sid, sk);
	cr_assert_not_null(ring);
	for (uint64_t s = SRC0; s < SRC0 + NCHUNKS; s++)
		rf_sig_ring_add(ring, s, chunk_flags(s), p, chunk(s, p));
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < NNODES; i++) {
		uint8_t ip[4] = { 198, 18, 0, (uint8_t)(1 + i) };

		rf_addr_v4(&nodes[i].addr, ip, 4433);
		nodes[i].offer = (1u << K) - 1;
		nodes[i].spare = 3000;
		nodes[i].answer_repair = true;
	}
	for (unsigned i = 0; i < sizeof(token); i++)
		token[i] = (uint8_t)i;
	now = T0;
	edge = SRC0 + HISTORY;
	ndrop = 0;
	ncand = 0;
	nplayed = 0;
	pe = NULL;
	peer_mem = NULL;
}

static void teardown(void)
{
	free(ring_mem);
	free(peer_mem);
}

TestSuite(peer, .init = setup, .fini = teardown);

static struct rf_peer_params params(void)
{
	struct rf_peer_params p = {
		.seed = nodes[SEED].addr,
		.stream_id = sid,
		.peer_id = PEER_ID,
		.upload_kbps = 2000,
		.delay_ms = 1000,
		.parent_timeout_ms = 500,
		.repair_after_ms = 150,
		.store_slots = 1024,
	};

	return p;
}

static void mkpeer(const struct rf_peer_params *p)
{
	size_t n = rf_peer_mem_size(p);
	const char *err = NULL;

	cr_assert_gt(n, 0);
	peer_mem = malloc(n + 3);
	memset(peer_mem, 0xa5, n + 3);
	/* deliberately misaligned: init aligns itself */
	pe = rf_peer_init((uint8_t *)peer_mem + 3, n, p, &err);
	cr_assert_not_null(pe, "init: %s", err ? err : "?");
}

/* ---- the network: datagrams from the peer go to fake nodes ---- */

#define QMAX 8192
static struct rf_peer_out queue[QMAX];
static unsigned qhead, qtail;
static uint64_t unknown_dst;

static void enqueue(const struct rf_peer_outbox *ob)
{
	for (unsigned i = 0; i < ob->count; i++) {
		cr_assert_lt(qtail, QMAX);
		queue[qtail++] = ob->out[i];
	}
}

/* A datagram from node i to the peer; what the peer sends back is queued. */
static bool feed_raw(int i, const uint8_t *buf, size_t len)
{
	struct rf_peer_outbox ob = { 0 };
	bool mine = rf_peer_input(pe, now, &nodes[i].addr, buf, len, &ob);

	enqueue(&ob);
	return mine;
}

static bool feed(int i, struct rf_msg *m)
{
	uint8_t buf[RF_MAX_DATAGRAM];
	int len;

	m->stream_id = sid;
	len = rf_msg_encode(m, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	return feed_raw(i, buf, (size_t)len);
}

static void send_data(int i, uint64_t seq, uint8_t extra)
{
	uint8_t p[RF_CHUNK_MAX];
	struct rf_msg m = { .type = RF_MSG_DATA };

	m.flags = chunk_flags(seq) | extra;
	m.data.seq = seq;
	m.data.substream = (uint8_t)(seq % K);
	m.data.len = chunk(seq, p);
	m.data.payload = p;
	if (nodes[i].forge_seq == seq)
		p[50] ^= 0x01;
	feed(i, &m);
}

static void send_sig(int i, uint64_t seq)
{
	uint16_t len;
	const uint8_t *msg = rf_sig_ring_get(ring, seq, &len);
	uint8_t copy[RF_SIG_MSG_MAX];

	cr_assert_not_null(msg, "no signature for %llu", (unsigned long long)seq);
	memcpy(copy, msg, len);
	if (nodes[i].forge_sig)
		copy[RF_HDR_LEN + 12 + 5] ^= 0x40; /* a bit of the Ed25519 signature */
	feed_raw(i, copy, len);
}

static bool dropped(uint64_t seq)
{
	for (unsigned i = 0; i < ndrop; i++)
		if (drop_seq[i] == seq)
			return true;
	return false;
}

static void welcome(int i)
{
	struct rf_msg m = { .type = RF_MSG_WELCOME };
	struct rf_welcome *w = &m.welcome;
	uint64_t rap = (edge - 1) / RAP_EVERY * RAP_EVERY;

	w->chunk_size = 1316;
	w->substreams = K;
	w->group_size = G;
	w->chunk_rate_milli = RATE;
	w->live_edge = edge;
	w->window_first = SRC0;
	memcpy(w->pubkey, pk, RF_PUBKEY_LEN);
	w->keepalive_ms = 1000;
	w->rap_count = 2;
	w->raps[0] = rap;
	w->raps[1] = rap - RAP_EVERY;
	feed(i, &m);
}

static void candidates(int i, uint8_t type, uint8_t reason, const int *which, int n)
{
	struct rf_msg m = { .type = type };

	m.candidates.reason = reason;
	m.candidates.count = (uint8_t)n;
	for (int j = 0; j < n; j++) {
		m.candidates.entry[j].addr = nodes[which[j]].addr;
		m.candidates.entry[j].substreams = nodes[which[j]].offer;
		m.candidates.entry[j].spare_kbps = nodes[which[j]].spare;
		m.candidates.entry[j].level = nodes[which[j]].level;
	}
	feed(i, &m);
}

static void bye(int i, uint8_t reason)
{
	struct rf_msg m = { .type = RF_MSG_BYE };

	m.bye.reason = reason;
	feed(i, &m);
}

/* Stream catch-up after a SUBSCRIBE: what the node holds from start on. */
static void catch_up(int i, uint64_t start, uint64_t mask)
{
	if (start < SRC0)
		start = SRC0;
	for (uint64_t s = start; s < edge; s++) {
		if ((mask >> (s % K)) & 1)
			send_data(i, s, 0);
		if (rf_sig_group_last(s, G))
			send_sig(i, s);
	}
}

static void node_rx(const struct rf_peer_out *o)
{
	struct node *nd = NULL;
	struct rf_msg m, r;
	int i;

	for (i = 0; i < NNODES; i++)
		if (rf_addr_equal(&nodes[i].addr, &o->dst))
			nd = &nodes[i];
	if (!nd) {
		unknown_dst++;
		return;
	}
	for (i = 0; &nodes[i] != nd; i++)
		;
	cr_assert_eq(rf_msg_decode(o->buf, o->len, &m), RF_DROP_NONE,
		     "the peer sent an undecodable datagram");
	cr_assert_eq(m.stream_id, sid);
	if (m.type == RF_MSG_KEEPALIVE || m.type == RF_MSG_BYE)
		cr_assert(m.flags & RF_FLAG_FROM_CHILD, "we speak as a child");
	nd->n[m.type]++;
	memset(&r, 0, sizeof(r));
	switch (m.type) {
	case RF_MSG_JOIN:
		nd->join_flags = m.flags;
		nd->join_token_ok = m.join.token &&
				    memcmp(m.join.token, token, RF_TOKEN_LEN) == 0;
		break;
	case RF_MSG_SUBSCRIBE:
		nd->last_sub_mask = m.subscribe.substreams;
		nd->last_sub_start = m.subscribe.start_seq;
		nd->last_sub_ms = now;
		break;
	case RF_MSG_UNSUBSCRIBE:
		nd->last_unsub_mask = m.subscribe.substreams;
		nd->subs &= ~m.subscribe.substreams;
		break;
	case RF_MSG_REPAIR:
		if (!nd->first_repair_ms)
			nd->first_repair_ms = now;
		nd->last_repair_base = m.repair.base_seq;
		nd->last_repair_mask = m.repair.mask;
		break;
	case RF_MSG_QUALITY:
		if (nd->nq < 16) {
			nd->q[nd->nq] = m.quality;
			nd->q_ms[nd->nq++] = now;
		}
		break;
	case RF_MSG_BYE:
		nd->last_bye = m.bye.reason;
		nd->session = false;
		nd->subs = 0;
		break;
	}
	if (nd->dead || nd->mode == M_SILENT)
		return;
	switch (m.type) {
	case RF_MSG_HELLO:
		cr_assert_geq(o->len, RF_HELLO_MIN);
		if (nd->mode == M_REDIRECT_TO_B) {
			int b = B;

			candidates(i, RF_MSG_REDIRECT, RF_REASON_DRAINING, &b, 1);
			return;
		}
		r.type = RF_MSG_COOKIE;
		r.cookie.peer_id = m.hello.peer_id;
		memset(r.cookie.cookie, 0xc0 + i, RF_COOKIE_LEN);
		feed(i, &r);
		break;
	case RF_MSG_JOIN:
		cr_assert_eq(m.join.cookie[0], 0xc0 + i, "JOIN carries our cookie");
		if (nd->mode == M_JOIN_SILENT)
			return;
		if (nd->mode == M_REDIRECT) {
			candidates(i, RF_MSG_REDIRECT, RF_REASON_CAPACITY, NULL, 0);
			return;
		}
		if (nd->mode == M_DENY) {
			bye(i, RF_REASON_DENIED);
			return;
		}
		nd->session = true;
		welcome(i);
		if (i == SEED)
			candidates(i, RF_MSG_CANDIDATES, 0, cand_nodes, ncand);
		break;
	case RF_MSG_SUBSCRIBE:
		if (!nd->session)
			return;
		nd->subs |= m.subscribe.substreams;
		catch_up(i, m.subscribe.start_seq, m.subscribe.substreams);
		break;
	case RF_MSG_REPAIR:
		if (!nd->session || !nd->answer_repair)
			return;
		for (unsigned b = 0; b < 64; b++)
			if (((m.repair.mask >> b) & 1) && m.repair.base_seq + b < edge)
				send_data(i, m.repair.base_seq + b, RF_FLAG_DATA_REPAIR);
		break;
	case RF_MSG_KEEPALIVE:
		if (i == SEED && m.keepalive.stamp != 0x1234) { /* the seed echoes */
			r.type = RF_MSG_KEEPALIVE;
			r.keepalive.stamp = m.keepalive.stamp;
			feed(i, &r);
		}
		break;
	}
}

static void pump(void)
{
	while (qhead != qtail) {
		struct rf_peer_out o = queue[qhead++];

		node_rx(&o);
	}
	qhead = qtail = 0;
}

/* ---- virtual time ---- */

static void on_play(void *ctx, uint64_t seq, const uint8_t *payload, uint16_t len,
		    uint8_t flags)
{
	uint8_t p[RF_CHUNK_MAX];
	uint16_t want = chunk(seq, p);

	(void)ctx;
	cr_assert_eq(len, want, "played %llu with a wrong length", (unsigned long long)seq);
	cr_assert_eq(memcmp(payload, p, len), 0, "played a forged %llu",
		     (unsigned long long)seq);
	cr_assert_eq(flags & RF_FLAG_DATA_RAP, chunk_flags(seq));
	if (nplayed)
		cr_assert_gt(seq, played_seq[nplayed - 1], "out of order");
	cr_assert_lt(nplayed, NCHUNKS);
	played_seq[nplayed++] = seq;
}

static void start(void)
{
	struct rf_peer_outbox ob = { 0 };

	rf_peer_start(pe, now, &ob);
	enqueue(&ob);
	pump();
}

/* One step: the source produces a chunk, every node pushes it on the
 * substreams subscribed from it (and a group's SIGNATURE at its end);
 * then the peer's timers run and the player takes what is due. */
static void step(void)
{
	struct rf_peer_outbox ob = { 0 };
	uint64_t seq;

	now += STEP;
	cr_assert_lt(edge, SRC0 + NCHUNKS, "test ran past the prepared stream");
	seq = edge++;
	for (int i = 0; i < NNODES; i++) {
		struct node *nd = &nodes[i];
		uint64_t s = seq - nd->lag;

		if (!nd->session || nd->dead || !nd->subs)
			continue;
		if (((nd->subs >> (s % K)) & 1) && !dropped(s) &&
		    !(nd->lossy && (s / K) % 5 < 3))
			send_data(i, s, 0);
		if (rf_sig_group_last(s, G))
			send_sig(i, s);
	}
	pump();
	rf_peer_tick(pe, now, &ob);
	enqueue(&ob);
	pump();
	rf_peer_play(pe, now, on_play, NULL);
}

static void run_ms(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += STEP)
		step();
}

/* Tick only: time passes, the source produces nothing new. */
static void idle_ms(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += STEP) {
		struct rf_peer_outbox ob = { 0 };

		now += STEP;
		rf_peer_tick(pe, now, &ob);
		enqueue(&ob);
		pump();
	}
}

static uint64_t sub_of(const struct rf_peer_parent_view *v, unsigned n, int node)
{
	for (unsigned i = 0; i < n; i++)
		if (rf_addr_equal(&v[i].addr, &nodes[node].addr))
			return v[i].substreams;
	return 0;
}

static const struct rf_peer_stats *st(void)
{
	return rf_peer_stats(pe);
}

/* every chunk from the starting RAP to a little before the edge played */
static void assert_all_played(void)
{
	uint64_t first = played_seq[0];

	cr_assert_gt(nplayed, 50);
	cr_assert_eq(first % RAP_EVERY, 0, "playback starts at a RAP");
	for (unsigned i = 0; i < nplayed; i++)
		cr_assert_eq(played_seq[i], first + i, "seq %llu missing",
			     (unsigned long long)(first + i));
	cr_assert_eq(st()->skipped, 0);
	cr_assert_eq(rf_peer_continuity_ppm(pe), 1000000);
}

/* Two parents in use: A takes substreams 0 and 1, which are all it
 * offers, and B the rest; B could take everything. */
static void split_a_b(void)
{
	nodes[A].offer = 0x3;
	nodes[A].spare = 6000;
}

/* ---- tests ---- */

Test(peer, params_checked)
{
	struct rf_peer_params p = params();
	const char *err = NULL;
	uint8_t small[64];

	p.store_slots = 1000;
	cr_assert_eq(rf_peer_mem_size(&p), 0);
	p.store_slots = 1024;
	p.seed.port = 0;
	cr_assert_eq(rf_peer_mem_size(&p), 0);
	p = params();
	cr_assert_null(rf_peer_init(small, sizeof(small), &p, &err));
	cr_assert_not_null(err);
	p.store_slots = 0; /* defaults */
	cr_assert_gt(rf_peer_mem_size(&p), 0);
}

Test(peer, handshake_then_everything_from_the_seed)
{
	struct rf_peer_params p = params();
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX + 1];
	unsigned n;

	p.token = token;
	mkpeer(&p);
	nodes[SEED].mode = M_SILENT;
	start();
	cr_assert_eq(nodes[SEED].n[RF_MSG_HELLO], 1);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_JOINING);
	cr_assert_null(rf_peer_store(pe));
	idle_ms(490);
	cr_assert_eq(nodes[SEED].n[RF_MSG_HELLO], 1);
	idle_ms(10);
	cr_assert_eq(nodes[SEED].n[RF_MSG_HELLO], 2, "HELLO again after 500 ms");
	/* COOKIE but no WELCOME: JOIN is retransmitted too */
	nodes[SEED].mode = M_JOIN_SILENT;
	idle_ms(500);
	cr_assert_eq(nodes[SEED].n[RF_MSG_JOIN], 1);
	cr_assert_eq(nodes[SEED].join_flags, RF_FLAG_JOIN_TOKEN, "token, not RELAY");
	cr_assert(nodes[SEED].join_token_ok);
	idle_ms(500);
	cr_assert_eq(nodes[SEED].n[RF_MSG_JOIN], 2);
	nodes[SEED].mode = M_OK;
	idle_ms(500);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_RECEIVING);
	cr_assert_not_null(rf_peer_store(pe));
	cr_assert_not_null(rf_peer_sigs(pe));
	cr_assert_eq(rf_peer_welcome(pe)->substreams, K);
	/* CANDIDATES with nobody: every substream from the seed, from the RAP */
	cr_assert_eq(nodes[SEED].n[RF_MSG_SUBSCRIBE], 1);
	cr_assert_eq(nodes[SEED].last_sub_mask, (1u << K) - 1);
	cr_assert_eq(nodes[SEED].last_sub_start, (edge - 1) / RAP_EVERY * RAP_EVERY);
	run_ms(2000);
	assert_all_played();
	cr_assert_eq(st()->bad_chunks, 0);
	cr_assert_gt(st()->bytes_from_seed, 0);
	cr_assert_eq(st()->bytes_from_peers, 0);
	n = rf_peer_parents(pe, v, RF_PEER_PARENTS_MAX + 1);
	cr_assert_eq(n, 1);
	cr_assert(v[0].is_seed && v[0].ready);
	cr_assert_eq(v[0].substreams, (1u << K) - 1);
	cr_assert_gt(v[0].rate_milli, RATE / 2, "measured rate %u", v[0].rate_milli);
	/* buffered: about delay_ms of stream */
	cr_assert_geq(rf_peer_buffer_ms(pe, now), 800);
	cr_assert_leq(rf_peer_buffer_ms(pe, now), 1300);
	/* the relay side sees verified chunks and their signatures */
	cr_assert_not_null(rf_chunk_store_get(rf_peer_store(pe), played_seq[0]));
	cr_assert_not_null(rf_sig_ring_get(rf_peer_sigs(pe), played_seq[0], &(uint16_t){ 0 }));
	cr_assert_eq(st()->out_overflow, 0);
	cr_assert_eq(unknown_dst, 0);
}

Test(peer, without_candidates_message_the_seed_serves_after_settling)
{
	struct rf_peer_params p = params();
	struct rf_peer_outbox ob = { 0 };
	struct rf_msg m = { .type = RF_MSG_COOKIE };

	mkpeer(&p);
	rf_peer_start(pe, now, &ob);
	cr_assert_eq(ob.count, 1);
	cr_assert_eq(ob.out[0].len, RF_HELLO_MIN);
	m.cookie.peer_id = PEER_ID;
	memset(m.cookie.cookie, 0xc0, RF_COOKIE_LEN);
	feed(SEED, &m);
	cr_assert_eq(qtail, 1);
	qhead = qtail = 0;
	welcome(SEED); /* no CANDIDATES follow */
	qhead = qtail = 0;
	nodes[SEED].session = true;
	idle_ms(90);
	cr_assert_eq(nodes[SEED].n[RF_MSG_SUBSCRIBE], 0);
	idle_ms(20);
	cr_assert_eq(nodes[SEED].n[RF_MSG_SUBSCRIBE], 1);
	cr_assert_eq(nodes[SEED].last_sub_mask, (1u << K) - 1);
}

static void join_with(const int *cands, int n)
{
	struct rf_peer_params p = params();

	mkpeer(&p);
	for (int i = 0; i < n; i++)
		cand_nodes[i] = cands[i];
	ncand = n;
	start();
}

Test(peer, substreams_spread_over_peer_parents)
{
	int cands[] = { A, B, C };
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX + 1];
	uint64_t all = 0;
	unsigned n;

	nodes[B].offer = 0x3;
	nodes[C].offer = 0xc;
	join_with(cands, 3);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_RECEIVING);
	for (int i = A; i <= C; i++) {
		cr_assert_eq(nodes[i].n[RF_MSG_HELLO], 1);
		cr_assert_eq(nodes[i].join_flags, RF_FLAG_JOIN_RELAY, "RELAY, no token");
		cr_assert_eq(nodes[i].n[RF_MSG_SUBSCRIBE], 1);
		cr_assert_eq(nodes[i].subs & ~nodes[i].offer, 0, "only what it offers");
		cr_assert_neq(nodes[i].subs, 0);
		cr_assert_eq(all & nodes[i].subs, 0, "one parent per substream");
		all |= nodes[i].subs;
	}
	cr_assert_eq(all, (1u << K) - 1);
	cr_assert_eq(nodes[SEED].n[RF_MSG_SUBSCRIBE], 0, "the seed is the last resort");
	run_ms(2000);
	assert_all_played();
	cr_assert_eq(st()->bytes_from_seed, 0);
	cr_assert_gt(st()->bytes_from_peers, 0);
	n = rf_peer_parents(pe, v, RF_PEER_PARENTS_MAX + 1);
	cr_assert_eq(n, 4); /* the seed's session stays (QUALITY, repairs) */
	cr_assert_eq(sub_of(v, n, SEED), 0);
	cr_assert_eq(sub_of(v, n, A) | sub_of(v, n, B) | sub_of(v, n, C), (1u << K) - 1);
	for (unsigned i = 0; i < n; i++)
		cr_assert_lt(v[i].late_ms, 50, "parent %u late %u ms", i, v[i].late_ms);
	/* keepalives to parents and the seed, once a second */
	for (int i = SEED; i <= C; i++)
		cr_assert(nodes[i].n[RF_MSG_KEEPALIVE] >= 1 && nodes[i].n[RF_MSG_KEEPALIVE] <= 3,
			  "node %d: %u keepalives", i, nodes[i].n[RF_MSG_KEEPALIVE]);
	cr_assert_eq(st()->parent_switches, 0);
}

/* Our relay serves substreams 0 and 1 to A: A is never our parent for
 * them, even when it is the only candidate left. */
static uint64_t a_is_our_child(const void *ctx, const struct rf_addr *a)
{
	(void)ctx;
	return rf_addr_equal(a, &nodes[A].addr) ? 0x3 : 0;
}

Test(peer, never_takes_a_substream_from_its_own_child)
{
	struct rf_peer_params p = params();

	p.relayed_to = a_is_our_child;
	mkpeer(&p);
	cand_nodes[0] = A;
	cand_nodes[1] = B;
	ncand = 2;
	start();
	run_ms(300);
	cr_assert_eq(nodes[A].subs & 0x3, 0);
	cr_assert_neq(nodes[A].subs, 0, "A serves what it may");
	nodes[B].dead = true;
	run_ms(1000);
	cr_assert_eq(nodes[A].subs & 0x3, 0, "not even when B is gone");
	cr_assert_eq(((nodes[A].subs | nodes[SEED].subs) & 0xf), 0xf);
	run_ms(1500);
	assert_all_played();
}

/* Levels: B (level 1) serves us, so we are at level 2 and say so. We
 * relay to a child: when B vanishes, A at level 5 (it may be below us) is
 * not taken, the seed is. Without children, A is. */
static void deeper_candidate_after_b(bool children)
{
	int cands[] = { B }, deep[] = { A };

	nodes[A].level = 5;
	nodes[B].level = 1;
	join_with(cands, 1);
	rf_peer_set_relay(pe, 0, children);
	run_ms(1100);
	cr_assert_eq(nodes[B].subs, 0xf);
	cr_assert_geq(nodes[SEED].nq, 1);
	cr_assert_eq(nodes[SEED].q[nodes[SEED].nq - 1].level, 2, "QUALITY carries our level");
	candidates(SEED, RF_MSG_CANDIDATES, 0, deep, 1);
	pump();
	nodes[B].dead = true;
	run_ms(1500);
	if (children) {
		cr_assert_eq(nodes[A].n[RF_MSG_HELLO], 0, "A was never asked");
		cr_assert_eq(nodes[SEED].subs, 0xf);
	} else {
		cr_assert_eq(nodes[A].subs, 0xf, "nothing below us: A is fine");
	}
	run_ms(1000);
	assert_all_played();
}

Test(peer, never_takes_from_a_deeper_candidate)
{
	deeper_candidate_after_b(true);
}

Test(peer, without_children_takes_from_any_level)
{
	deeper_candidate_after_b(false);
}

/* All on the seed (level 1), a relaying peer moves off it onto one level
 * with it, then no further down for RF_PEER_LEVEL_HOLD_MS: A (level 1) takes
 * substream 0 at once; C (level 2) the others only 3 s later. */
Test(peer, level_rises_at_most_once_per_hold)
{
	int cands[] = { A, C };
	uint64_t t0;

	join_with(NULL, 0);
	rf_peer_set_relay(pe, 0, 1);
	run_ms(500);
	cr_assert_eq(nodes[SEED].subs, 0xf);
	nodes[A].level = 1;
	nodes[A].offer = 0x1;
	nodes[C].level = 2;
	candidates(SEED, RF_MSG_CANDIDATES, 0, cands, 2);
	pump();
	t0 = now;
	run_ms(200);
	cr_assert_eq(nodes[A].subs, 0x1);
	cr_assert_eq(nodes[C].subs, 0);
	run_ms(2000);
	cr_assert_eq(nodes[C].subs, 0, "a second rise within the hold");
	while (nodes[C].subs != 0xe && now < t0 + 5000)
		step();
	cr_assert_eq(nodes[C].subs, 0xe);
	cr_assert_geq(now - t0, 3000);
	cr_assert_eq(nodes[SEED].subs, 0);
	run_ms(1500);
	assert_all_played();
}

/* Our level also rises when the seed says a parent went deeper: B (level
 * 1) becomes level 2, so we are at 3 and say so. */
Test(peer, a_deeper_parent_raises_our_level)
{
	int cands[] = { B };

	nodes[B].level = 1;
	join_with(cands, 1);
	run_ms(1100);
	cr_assert_eq(nodes[SEED].q[nodes[SEED].nq - 1].level, 2);
	nodes[B].level = 2;
	candidates(SEED, RF_MSG_CANDIDATES, 0, cands, 1);
	pump();
	run_ms(1100);
	cr_assert_eq(nodes[SEED].q[nodes[SEED].nq - 1].level, 3);
	assert_all_played();
}

Test(peer, reordering_and_duplicates)
{
	struct rf_peer_params p = params();
	uint64_t first, s;
	uint64_t order[2 * G];

	mkpeer(&p);
	nodes[SEED].mode = M_OK;
	start();
	idle_ms(200);
	/* the SUBSCRIBE's catch-up came in order; take it over by hand now */
	cr_assert_eq(nodes[SEED].n[RF_MSG_SUBSCRIBE], 1);
	nodes[SEED].subs = 0;
	first = rf_sig_group_first(edge, G) + G; /* two fresh whole groups ahead */
	while (edge < first)
		edge++; /* the source moved on; nobody delivered these yet */
	edge = first + 2 * G;
	for (unsigned i = 0; i < 2 * G; i++)
		order[i] = first + (i * 5) % (2 * G); /* a permutation */
	/* second group's signature first, then chunks shuffled, some twice */
	send_sig(SEED, first + 2 * G - 1);
	for (unsigned i = 0; i < 2 * G; i++) {
		send_data(SEED, order[i], 0);
		if (i % 3 == 0)
			send_data(SEED, order[i], 0);
	}
	send_data(SEED, first + 3, 0); /* a duplicate while still pending */
	send_sig(SEED, first + G - 1);
	send_sig(SEED, first + G - 1); /* the same signature again */
	pump();
	cr_assert_eq(st()->bad_signatures, 0);
	/* verified, so in the store at once, in spite of the hole before them */
	for (s = first; s < first + 2 * G; s++)
		cr_assert_not_null(rf_chunk_store_get(rf_peer_store(pe), s), "%llu",
				   (unsigned long long)s);
	cr_assert_geq(st()->duplicates, 2 * G / 3 + 1);
	/* a forged chunk for an already-signed group is rejected at once */
	edge++;
	nodes[SEED].forge_seq = first + 2 * G;
	send_sig(SEED, first + 3 * G - 1);
	send_data(SEED, first + 2 * G, 0);
	cr_assert_eq(st()->bad_chunks, 1);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_RECEIVING, "the seed is never dropped");
	nodes[SEED].forge_seq = 0; /* its repair brings the real one */
	idle_ms(1500);
	rf_peer_play(pe, now, on_play, NULL);
	for (unsigned i = 1; i < nplayed; i++)
		cr_assert_gt(played_seq[i], played_seq[i - 1]);
	for (s = first; s < first + 2 * G; s++) {
		bool found = false;

		for (unsigned i = 0; i < nplayed; i++)
			found |= played_seq[i] == s;
		cr_assert(found, "seq %llu not played", (unsigned long long)s);
	}
}

Test(peer, forged_chunk_drops_its_parent)
{
	int cands[] = { A, B };
	uint64_t a_subs, forged;

	join_with(cands, 2);
	run_ms(300);
	a_subs = nodes[A].subs;
	cr_assert_neq(a_subs, 0);
	/* A corrupts a chunk of its substreams a little ahead */
	for (forged = edge + 3; !((a_subs >> (forged % K)) & 1); forged++)
		;
	nodes[A].forge_seq = forged;
	run_ms(600);
	cr_assert_eq(st()->bad_chunks, 1);
	cr_assert_eq(st()->drops[RF_DROP_BAD_HASH], 1);
	cr_assert_eq(st()->parents_dropped, 1);
	cr_assert_geq(st()->parent_switches, 1);
	cr_assert_eq(nodes[A].n[RF_MSG_UNSUBSCRIBE], 1);
	cr_assert_eq(nodes[A].last_unsub_mask, a_subs);
	cr_assert_eq(nodes[A].last_bye, RF_REASON_BAD_DATA);
	cr_assert_eq(nodes[A].subs, 0);
	/* A's substreams went to B (the seed stays the last resort) */
	cr_assert_eq(nodes[B].subs, (1u << K) - 1);
	cr_assert_eq(nodes[SEED].subs, 0);
	run_ms(1500);
	/* the real chunk came by repair or B's catch-up; nothing forged played */
	assert_all_played();
	/* A is never taken back, even when it is offered again */
	candidates(SEED, RF_MSG_CANDIDATES, 0, cands, 2);
	pump();
	run_ms(1200);
	cr_assert_eq(nodes[A].n[RF_MSG_HELLO], 1);
}

Test(peer, forged_signature_drops_its_parent)
{
	int cands[] = { A, B };

	split_a_b();
	join_with(cands, 2);
	run_ms(300);
	nodes[A].forge_sig = true;
	run_ms(200);
	cr_assert_eq(st()->bad_signatures, 1);
	cr_assert_eq(st()->drops[RF_DROP_BAD_SIGNATURE], 1);
	cr_assert_eq(st()->parents_dropped, 1);
	cr_assert_eq(nodes[A].last_bye, RF_REASON_BAD_DATA);
	cr_assert_eq(nodes[B].subs, (1u << K) - 1);
	run_ms(1500);
	assert_all_played(); /* B's copy of the signature verified the group */
}

Test(peer, vanished_parent_is_replaced_in_time_without_skips)
{
	int cands[] = { A, B };
	uint64_t a_subs, dead_at, dead_edge;

	join_with(cands, 2);
	run_ms(500);
	a_subs = nodes[A].subs;
	cr_assert_neq(a_subs, 0);
	nodes[A].dead = true;
	dead_at = now;
	dead_edge = edge;
	nodes[B].last_sub_ms = 0;
	while (!nodes[B].last_sub_ms && now < dead_at + 2000)
		step();
	cr_assert_neq(nodes[B].last_sub_ms, 0, "no move");
	cr_assert_leq(nodes[B].last_sub_ms - dead_at, 500 + STEP,
		      "moved after %llu ms", (unsigned long long)(nodes[B].last_sub_ms - dead_at));
	cr_assert_eq(nodes[B].last_sub_mask, a_subs);
	cr_assert_eq(st()->parent_switches, 1);
	/* the new parent starts at the first chunk of A's still missing
	 * (repairs from B and the seed filled the older holes meanwhile) */
	cr_assert_geq(nodes[B].last_sub_start, dead_edge);
	cr_assert_leq(nodes[B].last_sub_start, edge);
	run_ms(2000);
	assert_all_played();
	cr_assert_eq(nodes[SEED].subs, 0);
}

/* The candidate first chosen for a vanished parent's substreams never
 * answers: they still have a parent that sends within 1 s, one already
 * serving us, instead of waiting out that candidate's handshake. */
Test(peer, vanished_parent_replaced_in_time_when_the_first_choice_is_silent)
{
	int cands[] = { A, B }, late[] = { C };
	uint64_t a_subs, dead_at;
	unsigned hellos;

	join_with(cands, 2);
	run_ms(500);
	nodes[C].mode = M_SILENT;     /* named later, with the most room */
	candidates(SEED, RF_MSG_CANDIDATES, 0, late, 1);
	pump();
	a_subs = nodes[A].subs;
	cr_assert_neq(a_subs, 0);
	nodes[A].dead = true;
	dead_at = now;
	while (((nodes[B].subs | nodes[SEED].subs) & a_subs) != a_subs && now < dead_at + 3000)
		step();
	cr_assert_eq((nodes[B].subs | nodes[SEED].subs) & a_subs, a_subs, "never moved");
	cr_assert_leq(now - dead_at, 1000, "moved after %llu ms",
		      (unsigned long long)(now - dead_at));
	cr_assert_geq(nodes[C].n[RF_MSG_HELLO], 1, "the silent candidate was tried first");
	hellos = nodes[C].n[RF_MSG_HELLO];
	/* B vanishes too: the candidate too slow the first time rests */
	nodes[B].dead = true;
	dead_at = now;
	while ((nodes[SEED].subs & a_subs) != a_subs && now < dead_at + 3000)
		step();
	cr_assert_leq(now - dead_at, 1000);
	cr_assert_eq(nodes[C].n[RF_MSG_HELLO], hellos, "asked again");
	run_ms(2000);
	assert_all_played();
}

Test(peer, vanished_parent_gap_filled_by_repair)
{
	int cands[] = { A, B, C };
	uint64_t a_subs;

	split_a_b();
	join_with(cands, 3);
	run_ms(500);
	a_subs = nodes[A].subs;
	nodes[A].dead = true;
	/* C answers repairs, B does not (the seed does, later) */
	nodes[B].answer_repair = false;
	run_ms(400);
	cr_assert_gt(st()->repairs_asked, 0, "holes asked for before the switch");
	cr_assert_gt(st()->repaired, 0);
	run_ms(2000);
	assert_all_played();
	cr_assert(nodes[B].subs & a_subs || nodes[C].subs & a_subs);
}

Test(peer, repair_from_neighbour_then_seed)
{
	int cands[] = { A, B };
	uint64_t x, y;

	split_a_b();
	join_with(cands, 2);
	run_ms(500);
	/* x: a chunk A should push, lost on the way; B answers its REPAIR */
	for (x = edge + 5; !((nodes[A].subs >> (x % K)) & 1); x++)
		;
	drop_seq[ndrop++] = x;
	run_ms(400);
	cr_assert_geq(nodes[B].n[RF_MSG_REPAIR], 1);
	cr_assert_eq(nodes[B].last_repair_base, x);
	cr_assert_eq(nodes[B].last_repair_mask, 1);
	cr_assert_eq(nodes[SEED].n[RF_MSG_REPAIR], 0);
	cr_assert_eq(st()->repaired, 1);
	/* y: B ignores the REPAIRs (asked again every 150 ms), so the seed is
	 * asked once the hole is half the playback delay old */
	nodes[B].answer_repair = false;
	for (y = edge + 5; !((nodes[A].subs >> (y % K)) & 1); y++)
		;
	drop_seq[ndrop++] = y;
	nodes[B].first_repair_ms = 0;
	x = nodes[B].n[RF_MSG_REPAIR];
	run_ms(800);
	cr_assert_geq(nodes[B].n[RF_MSG_REPAIR] - x, 2, "the neighbour asked again");
	cr_assert_eq(nodes[SEED].n[RF_MSG_REPAIR], 1);
	cr_assert_eq(nodes[SEED].last_repair_base, y);
	cr_assert_geq(nodes[SEED].first_repair_ms - nodes[B].first_repair_ms, 300);
	cr_assert_eq(st()->repaired, 2);
	cr_assert_geq(st()->repairs_asked, 3);
	run_ms(1500);
	assert_all_played(); /* both repaired before their deadlines */
	cr_assert_eq(st()->parent_switches, 0, "a lost chunk is not a lost parent");
}

Test(peer, chunk_missing_at_deadline_is_skipped)
{
	uint64_t x;
	unsigned before;

	join_with(NULL, 0);
	run_ms(300);
	nodes[SEED].answer_repair = false;
	x = edge + 10;
	drop_seq[ndrop++] = x;
	run_ms(2500);
	cr_assert_eq(st()->skipped, 1);
	cr_assert_geq(nodes[SEED].n[RF_MSG_REPAIR], 1);
	cr_assert_eq(st()->repaired, 0);
	for (unsigned i = 0; i < nplayed; i++)
		cr_assert_neq(played_seq[i], x);
	cr_assert_gt(played_seq[nplayed - 1], x + 50, "playback went on");
	cr_assert_lt(rf_peer_continuity_ppm(pe), 1000000);
	cr_assert_gt(rf_peer_continuity_ppm(pe), 990000);
	/* a stall of the whole stream: nothing is due, nothing skipped */
	before = nplayed;
	nodes[SEED].dead = true;
	for (int i = 0; i < 50; i++) { /* less than delay_ms: the last group is unsigned */
		now += STEP;
		rf_peer_play(pe, now, on_play, NULL);
	}
	cr_assert_eq(st()->skipped, 1);
	cr_assert_gt(nplayed, before, "the buffer plays out");
}

Test(peer, seed_is_the_last_resort_when_candidates_refuse)
{
	int cands[] = { A, B };

	nodes[A].mode = M_REDIRECT;   /* REDIRECT capacity */
	nodes[B].mode = M_REDIRECT;
	join_with(cands, 2);
	cr_assert_eq(nodes[A].n[RF_MSG_JOIN], 1);
	cr_assert_eq(nodes[B].n[RF_MSG_JOIN], 1);
	cr_assert_eq(nodes[SEED].subs, (1u << K) - 1, "on the seed at once");
	run_ms(2000);
	assert_all_played();
	/* they rest: no second try within RF_PEER_UNUSABLE_MS */
	cr_assert_eq(nodes[A].n[RF_MSG_HELLO], 1);
	cr_assert_eq(nodes[B].n[RF_MSG_HELLO], 1);
	cr_assert_eq(st()->parent_switches, 0, "they never served anything");
}

Test(peer, candidate_that_never_answers_is_given_up_after_1s)
{
	int cands[] = { C };

	nodes[C].mode = M_SILENT;
	join_with(cands, 1);
	cr_assert_eq(nodes[SEED].subs, 0);
	run_ms(1000 - STEP);
	cr_assert_eq(nodes[SEED].subs, 0);
	cr_assert_eq(nodes[C].n[RF_MSG_HELLO], 2, "HELLO resent after 500 ms");
	run_ms(2 * STEP);
	cr_assert_eq(nodes[SEED].subs, (1u << K) - 1);
	run_ms(2000);
	assert_all_played(); /* nothing was due before anything arrived */
	cr_assert_eq(nodes[C].n[RF_MSG_HELLO], 2);
}

Test(peer, candidates_later_take_load_off_the_seed)
{
	int cands[] = { A };

	join_with(NULL, 0);
	run_ms(500);
	cr_assert_eq(nodes[SEED].subs, (1u << K) - 1);
	candidates(SEED, RF_MSG_CANDIDATES, 0, cands, 1);
	pump();
	run_ms(200);
	cr_assert_eq(nodes[A].subs, (1u << K) - 1);
	cr_assert_eq(nodes[SEED].subs, 0);
	cr_assert_eq(nodes[SEED].last_unsub_mask, (1u << K) - 1);
	cr_assert_eq(st()->parent_switches, 0, "offload is not a switch");
	run_ms(1500);
	assert_all_played();
}

Test(peer, redirect_before_welcome_joins_the_named_source)
{
	struct rf_peer_params p = params();

	p.token = token;
	mkpeer(&p);
	nodes[SEED].mode = M_REDIRECT_TO_B;
	start();
	cr_assert_eq(nodes[B].n[RF_MSG_HELLO], 1);
	cr_assert_eq(nodes[B].n[RF_MSG_JOIN], 1);
	cr_assert_eq(nodes[B].join_flags, RF_FLAG_JOIN_RELAY | RF_FLAG_JOIN_TOKEN);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_RECEIVING);
	idle_ms(200);
	cr_assert_eq(nodes[B].subs, (1u << K) - 1);
	run_ms(1500);
	assert_all_played();
	cr_assert_eq(nodes[B].nq, 1, "QUALITY goes where we joined");
}

Test(peer, bye_denied_refuses)
{
	struct rf_peer_outbox ob = { 0 };

	nodes[SEED].mode = M_DENY;
	join_with(NULL, 0);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_REFUSED);
	rf_peer_tick(pe, now + 5000, &ob);
	cr_assert_eq(ob.count, 0, "a refused peer stays quiet");
}

Test(peer, quality_every_second)
{
	int cands[] = { A };

	join_with(cands, 1);
	run_ms(3500);
	cr_assert_eq(nodes[SEED].nq, 3);
	for (unsigned i = 0; i < nodes[SEED].nq; i++) {
		const struct rf_quality *q = &nodes[SEED].q[i];

		if (i)
			cr_assert_eq(nodes[SEED].q_ms[i] - nodes[SEED].q_ms[i - 1], 1000);
		cr_assert_eq(q->continuity_ppm, 1000000);
		cr_assert_eq(q->parents, 1);
		cr_assert_eq(q->children, 0);
		cr_assert_eq(q->skipped, 0);
		cr_assert_eq(q->switches, 0);
		if (i) { /* steady state: a second of stream, a second of buffer */
			cr_assert(q->received >= 90 && q->received <= 110, "received %u",
				  q->received);
			cr_assert(q->buffer_ms >= 800 && q->buffer_ms <= 1300, "buffer %u",
				  q->buffer_ms);
		}
	}
}

/* A parent only echoes: a KEEPALIVE from one is never answered, or a late
 * echo (older than the last stamps) would bounce back and forth for good. */
Test(peer, a_parents_keepalive_is_never_answered)
{
	struct rf_msg m = { .type = RF_MSG_KEEPALIVE };
	unsigned before;

	join_with(NULL, 0);
	run_ms(1100);
	/* the seed echoed our keepalive; we did not answer the echo */
	cr_assert_eq(nodes[SEED].n[RF_MSG_KEEPALIVE], 1);
	before = nodes[SEED].n[RF_MSG_KEEPALIVE];
	/* a stamp we do not remember, as a late echo has (the harness's
	 * seed does not echo this one, so an answer is counted once) */
	m.keepalive.stamp = 0x1234;
	cr_assert(feed(SEED, &m));
	pump();
	cr_assert_eq(nodes[SEED].n[RF_MSG_KEEPALIVE], before, "a parent's keepalive answered");
	/* a child's (CHILD flag) is the relay side's, even from a parent */
	m.flags = RF_FLAG_FROM_CHILD;
	cr_assert_not(feed(SEED, &m));
	cr_assert_not(feed(C, &m));
	cr_assert_eq(nodes[SEED].n[RF_MSG_KEEPALIVE], before, "not echoed");
	/* from a stranger, flag or not, it is the relay side's */
	m.flags = 0;
	cr_assert_not(feed(C, &m));
}

/* A node can be our parent and our child at once: the BYE it sends as a
 * child (leaving our relay) is not its parent session ending. */
Test(peer, a_parents_bye_as_our_child_is_for_the_relay_side)
{
	int cands[] = { A, B };
	struct rf_msg m = { .type = RF_MSG_BYE, .flags = RF_FLAG_FROM_CHILD };
	uint64_t a_subs;

	join_with(cands, 2);
	run_ms(300);
	a_subs = nodes[A].subs;
	cr_assert_neq(a_subs, 0);
	m.bye.reason = RF_REASON_NORMAL;
	cr_assert_not(feed(A, &m));
	pump();
	run_ms(300);
	cr_assert_eq(nodes[A].subs, a_subs, "A still serves what it did");
	cr_assert_eq(st()->parent_switches, 0);
	bye(A, RF_REASON_DRAINING);   /* as our parent: its substreams move */
	pump();
	cr_assert_eq(nodes[B].subs & a_subs, a_subs);
	run_ms(1500);
	assert_all_played();
}

Test(peer, malformed_and_foreign_input_counted)
{
	uint8_t buf[RF_MAX_DATAGRAM + 8];
	struct rf_msg m;
	int len;

	join_with(NULL, 0);
	run_ms(200);
	memset(buf, 0, sizeof(buf));
	cr_assert(rf_peer_input(pe, now, &nodes[SEED].addr, buf, 3, NULL));
	cr_assert_eq(st()->drops[RF_DROP_SHORT], 1);
	cr_assert(rf_peer_input(pe, now, &nodes[SEED].addr, NULL, 0, NULL));
	cr_assert(rf_peer_input(pe, now, &nodes[SEED].addr, buf, sizeof(buf), NULL));
	cr_assert_eq(st()->drops[RF_DROP_OVERSIZE], 1);
	cr_assert(rf_peer_input(pe, now, &nodes[SEED].addr, buf, 40, NULL));
	cr_assert_eq(st()->drops[RF_DROP_BAD_MAGIC], 1);

	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_KEEPALIVE;
	m.stream_id = sid;
	len = rf_msg_encode(&m, buf, sizeof(buf));
	buf[RF_OFF_VERSION] = 2;
	cr_assert(feed_raw(SEED, buf, (size_t)len));
	cr_assert_eq(st()->drops[RF_DROP_BAD_VERSION], 1);
	buf[RF_OFF_VERSION] = 1;
	buf[RF_OFF_TYPE] = 99;
	cr_assert(feed_raw(SEED, buf, (size_t)len));
	cr_assert_eq(st()->drops[RF_DROP_UNKNOWN_TYPE], 1);
	buf[RF_OFF_TYPE] = RF_MSG_KEEPALIVE;
	cr_assert(feed_raw(SEED, buf, (size_t)len - 1));
	cr_assert_eq(st()->drops[RF_DROP_BAD_LENGTH], 1);
	rf_put64(buf + RF_OFF_STREAM, sid + 1);
	cr_assert(feed_raw(SEED, buf, (size_t)len));
	cr_assert_eq(st()->drops[RF_DROP_UNKNOWN_STREAM], 1);

	/* DATA: substream out of range, not seq mod K, from a stranger */
	{
		uint8_t p[RF_CHUNK_MAX];
		struct rf_msg d = { .type = RF_MSG_DATA };

		d.data.seq = edge;
		d.data.substream = (uint8_t)((edge + 1) % K);
		d.data.len = chunk(edge, p);
		d.data.payload = p;
		cr_assert(feed(SEED, &d));
		cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 1);
		d.data.substream = (uint8_t)(edge % K);
		cr_assert(feed(C, &d));
		cr_assert_eq(st()->drops[RF_DROP_NO_SESSION], 1);
		len = rf_msg_encode(&d, buf, sizeof(buf));
		buf[RF_HDR_LEN + 8] = 64; /* decoder: substream >= 64 */
		cr_assert(feed_raw(SEED, buf, (size_t)len));
		cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 2);
	}
	/* COOKIE for another peer id; WELCOME for another key */
	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_COOKIE;
	m.cookie.peer_id = PEER_ID + 1;
	cr_assert(feed(SEED, &m));
	cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 3);
	/* a SIGNATURE that does not fit the grouping */
	{
		uint8_t sig[RF_SIG_LEN] = { 0 }, h[2][RF_HASH_LEN] = { { 0 } };
		struct rf_msg s = { .type = RF_MSG_SIGNATURE };

		s.signature.first_seq = edge / G * G + G - 1;
		s.signature.count = 2;
		s.signature.sig = sig;
		s.signature.hashes = h[0];
		cr_assert(feed(SEED, &s));
		cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 4);
		s.signature.first_seq = edge / G * G;
		cr_assert(feed(SEED, &s));
		cr_assert_eq(st()->bad_signatures, 1, "a forged signature from the seed");
	}
	/* the relay side's messages, even from a parent */
	{
		static const uint8_t types[] = { RF_MSG_HELLO, RF_MSG_JOIN, RF_MSG_SUBSCRIBE,
						 RF_MSG_UNSUBSCRIBE, RF_MSG_REPAIR,
						 RF_MSG_QUALITY };

		for (unsigned i = 0; i < sizeof(types); i++) {
			struct rf_msg r;

			memset(&r, 0, sizeof(r));
			r.type = types[i];
			r.subscribe.substreams = 1; /* SUBSCRIBE / UNSUBSCRIBE */
			if (types[i] == RF_MSG_REPAIR)
				r.repair.mask = 1;
			cr_assert_not(feed(SEED, &r), "type %u", types[i]);
			cr_assert_not(feed(C, &r), "type %u", types[i]);
		}
		memset(&m, 0, sizeof(m));
		m.type = RF_MSG_BYE;
		m.flags = RF_FLAG_FROM_CHILD;
		cr_assert_not(feed(SEED, &m), "a child's BYE, even from a parent");
		m.flags = 0;
		cr_assert_not(feed(C, &m), "BYE from a stranger");
	}
	/* forged WELCOME: a key that does not hash to the stream id */
	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_WELCOME;
	m.welcome.chunk_size = 1316;
	m.welcome.substreams = K;
	m.welcome.group_size = G;
	cr_assert(feed(C, &m));
	cr_assert_eq(st()->drops[RF_DROP_NO_SESSION], 2);
	/* the stream kept flowing through all of it */
	pump();
	run_ms(1500);
	assert_all_played();
}

Test(peer, welcome_with_wrong_key_is_dropped)
{
	struct rf_peer_params p = params();
	struct rf_msg m = { .type = RF_MSG_COOKIE };
	uint8_t other[RF_PUBKEY_LEN];

	mkpeer(&p);
	nodes[SEED].mode = M_SILENT;
	start();
	m.cookie.peer_id = PEER_ID;
	memset(m.cookie.cookie, 0xc0, RF_COOKIE_LEN);
	feed(SEED, &m);
	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_WELCOME;
	m.welcome.chunk_size = 1316;
	m.welcome.substreams = K;
	m.welcome.group_size = G;
	m.welcome.chunk_rate_milli = RATE;
	memset(other, 0x55, sizeof(other));
	memcpy(m.welcome.pubkey, other, RF_PUBKEY_LEN);
	feed(SEED, &m);
	cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 1);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_JOINING);
	memcpy(m.welcome.pubkey, pk, RF_PUBKEY_LEN);
	m.welcome.live_edge = edge;
	feed(SEED, &m);
	cr_assert_eq(rf_peer_state(pe), RF_PEER_RECEIVING);
}

Test(peer, slow_parent_is_replaced)
{
	int cands[] = { A, B };
	uint64_t a_subs;

	join_with(cands, 2);
	run_ms(500);
	a_subs = nodes[A].subs;
	nodes[A].lossy = true;        /* 40 % of its chunks: below half */
	run_ms(2500);
	cr_assert_eq(st()->parent_switches, 1);
	cr_assert_eq(nodes[A].subs, 0);
	cr_assert_eq(nodes[B].subs & a_subs, a_subs);
	cr_assert_gt(st()->repaired, 0, "repairs covered the losses meanwhile");
	run_ms(1500);
	assert_all_played();
}

Test(peer, bye_from_a_parent_moves_its_substreams)
{
	int cands[] = { A, B };
	uint64_t a_subs;

	join_with(cands, 2);
	run_ms(300);
	a_subs = nodes[A].subs;
	nodes[A].session = false;
	nodes[A].subs = 0;
	bye(A, RF_REASON_DRAINING);
	pump();
	cr_assert_eq(nodes[B].subs & a_subs, a_subs, "moved at once");
	cr_assert_eq(st()->parent_switches, 1);
	cr_assert_eq(nodes[A].n[RF_MSG_UNSUBSCRIBE], 0, "its session is over already");
	run_ms(1500);
	assert_all_played();
}

/* A parent over its budget sheds a substream (UNSUBSCRIBE SHED): it moves
 * to another parent at once, with no chunk lost, and the shedding parent
 * keeps the rest but is offered nothing more. A plain UNSUBSCRIBE from
 * the same node is a child's, for the relay side. */
Test(peer, shed_substream_moves_and_the_parent_takes_no_more)
{
	int cands[] = { A, B };
	struct rf_msg m = { .type = RF_MSG_UNSUBSCRIBE };
	uint64_t a_subs, shed, switches;

	join_with(cands, 2);
	run_ms(300);
	a_subs = nodes[A].subs;
	cr_assert_neq(a_subs, 0);
	shed = a_subs & -a_subs;
	switches = st()->parent_switches;
	m.subscribe.substreams = shed;
	cr_assert_not(feed(A, &m), "a child's UNSUBSCRIBE is the relay side's");
	cr_assert_eq(nodes[B].subs & shed, 0);
	m.flags = RF_FLAG_UNSUB_SHED;
	nodes[A].subs &= ~shed;
	cr_assert(feed(A, &m));
	pump();
	cr_assert_eq(nodes[B].subs & shed, shed, "moved at once");
	cr_assert_eq(st()->parent_switches, switches, "not a failure");
	run_ms(3000);
	cr_assert_eq(nodes[A].subs, a_subs & ~shed, "A keeps the rest, gets no more");
	cr_assert_eq(nodes[A].n[RF_MSG_BYE], 0);
	assert_all_played();
}

Test(peer, seed_redirect_after_welcome_moves_to_candidates_and_rejoins)
{
	int cands[] = { A };

	join_with(NULL, 0);
	run_ms(300);
	cr_assert_eq(nodes[SEED].subs, (1u << K) - 1);
	nodes[SEED].session = false;
	nodes[SEED].subs = 0;
	candidates(SEED, RF_MSG_REDIRECT, RF_REASON_DRAINING, cands, 1);
	pump();
	cr_assert_eq(nodes[A].subs, (1u << K) - 1);
	cr_assert_eq(st()->parent_switches, 1);
	cr_assert_eq(nodes[SEED].n[RF_MSG_HELLO], 1);
	run_ms(1100);
	cr_assert_eq(nodes[SEED].n[RF_MSG_HELLO], 2, "the seed is rejoined");
	cr_assert_eq(nodes[SEED].subs, 0, "and stays the last resort");
	run_ms(1000);
	assert_all_played();
	cr_assert_geq(nodes[SEED].nq, 1, "QUALITY goes on after the rejoin");
}

Test(peer, far_ahead_chunk_drags_the_playback_point)
{
	struct rf_peer_params p = params();
	uint64_t far, skipped;

	p.store_slots = 64;           /* smaller than delay_ms of stream */
	mkpeer(&p);
	start();
	idle_ms(200);
	nodes[SEED].subs = 0;         /* the test delivers by hand now */
	now += 2000;                  /* play out the catch-up; its last group */
	rf_peer_play(pe, now, on_play, NULL); /* never got a signature */
	skipped = st()->skipped;
	far = rf_sig_group_first(edge + 200, G);
	/* unverified, it moves nothing: not even the deadlines */
	edge = far + G;
	send_data(SEED, far, 0);
	rf_peer_play(pe, now + 1100, on_play, NULL);
	cr_assert_eq(st()->skipped, skipped);
	/* signed, the buffer must follow it: what it passes is skipped */
	send_sig(SEED, far + G - 1);
	cr_assert_gt(st()->skipped, skipped);
	rf_peer_play(pe, now + 1100, on_play, NULL);
	cr_assert_eq(played_seq[nplayed - 1], far);
	cr_assert_not_null(rf_chunk_store_get(rf_peer_store(pe), far), "the relay has it");
}

/* Random bytes and mutated valid datagrams from the seed and a parent:
 * counted, never a crash (ASan/UBSan watch). */
Test(peer, mutations_never_crash)
{
	int cands[] = { A };
	uint8_t buf[RF_MAX_DATAGRAM + 1];
	uint32_t x = 12345;

	join_with(cands, 1);
	run_ms(300);
	for (int it = 0; it < 20000; it++) {
		size_t len;
		int who = (it & 1) ? SEED : A;

		x = x * 1103515245 + 12345;
		if (it % 3 == 0) {
			len = x % sizeof(buf);
			for (size_t i = 0; i < len; i++) {
				x = x * 1103515245 + 12345;
				buf[i] = (uint8_t)(x >> 16);
			}
		} else {
			struct rf_msg m;
			uint8_t p[RF_CHUNK_MAX];
			int n;

			memset(&m, 0, sizeof(m));
			m.type = (uint8_t)(1 + x % 15);
			m.stream_id = sid;
			m.subscribe.substreams = 1;
			m.repair.mask = 1;
			switch (m.type) {
			case RF_MSG_DATA:
				m.data.seq = edge - (x >> 8) % 64;
				m.data.substream = (uint8_t)(m.data.seq % K);
				m.data.len = chunk(m.data.seq, p);
				m.data.payload = p;
				break;
			case RF_MSG_WELCOME:
				m.welcome.chunk_size = 1316;
				m.welcome.substreams = K;
				m.welcome.group_size = G;
				memcpy(m.welcome.pubkey, pk, RF_PUBKEY_LEN);
				break;
			case RF_MSG_SIGNATURE:
				m.signature.count = 1;
				m.signature.sig = p;
				m.signature.hashes = p;
				break;
			case RF_MSG_BUFFERMAP:
				m.buffermap.nbits = 8;
				m.buffermap.bits = p;
				break;
			case RF_MSG_COOKIE:
				m.cookie.peer_id = PEER_ID;
				break;
			}
			n = rf_msg_encode(&m, buf, sizeof(buf));
			if (n <= 0)
				continue;
			len = (size_t)n;
			for (int f = 0; f < 1 + (int)(x >> 28); f++) {
				x = x * 1103515245 + 12345;
				buf[(x >> 8) % len] ^= (uint8_t)(1u << (x % 8));
			}
		}
		feed_raw(who, buf, len);
		qhead = qtail = 0; /* replies to garbage are not followed */
		if (it % 1000 == 0) {
			struct rf_peer_outbox ob = { 0 };

			now += STEP;
			rf_peer_tick(pe, now, &ob);
			rf_peer_play(pe, now, NULL, NULL);
		}
	}
	cr_assert_gt(st()->drops[RF_DROP_BAD_MAGIC], 0);
	cr_assert_gt(st()->drops[RF_DROP_SHORT] + st()->drops[RF_DROP_BAD_LENGTH], 0);
	cr_assert_neq(rf_peer_state(pe), RF_PEER_REFUSED);
}

/* Substreams from parents at different latencies arrive out of order, and
 * so does the store fill: a chunk from the faster parent is there for the
 * relay side before the slower parent's older ones. Nothing is lost. */
Test(peer, store_takes_verified_chunks_as_they_come)
{
	int cands[] = { A, B };
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX + 1];
	const struct rf_chunk_store *cs;
	uint64_t first = 0;
	unsigned n, ahead = 0;

	split_a_b();
	join_with(cands, 2);
	nodes[B].lag = 5;             /* B is 50 ms behind A */
	cs = rf_peer_store(pe);
	for (int i = 0; i < 150; i++) {
		uint64_t next;

		step();
		next = rf_chunk_store_next(cs);
		if (!first && next != rf_chunk_store_oldest(cs))
			first = rf_chunk_store_oldest(cs);
		for (uint64_t q = first ? first : next; q != next; q++)
			if (!rf_chunk_store_get(cs, q)) {
				ahead++; /* a newer chunk went in first */
				break;
			}
	}
	cr_assert_neq(first, 0);
	cr_assert_gt(ahead, 0, "the store did not wait for the slow parent");
	cr_assert_gt(rf_chunk_store_next(cs), first + 100);
	cr_assert_eq(st()->repairs_asked, 0, "50 ms late is not lost");
	n = rf_peer_parents(pe, v, RF_PEER_PARENTS_MAX + 1);
	for (unsigned i = 0; i < n; i++)
		if (rf_addr_equal(&v[i].addr, &nodes[B].addr))
			cr_assert(v[i].late_ms >= 30 && v[i].late_ms <= 60, "B late %u", v[i].late_ms);
	run_ms(1000);
	for (uint64_t q = first; q != rf_chunk_store_next(cs) - 2 * G; q++)
		cr_assert_not_null(rf_chunk_store_get(cs, q), "%llu lost", (unsigned long long)q);
	assert_all_played();
}
