/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed state machine (dataplane/core/seed.c) driven by scripted
 * datagrams in virtual time, against a real chunk store and signature ring
 * signed with a fixed Ed25519 key. Every delivery check rebuilds what a
 * peer must receive from first principles (its mask, its start, the
 * store) and compares it with the pump's descriptors, signatures verified.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunk_store.h"
#include "crypto.h"
#include "msg.h"
#include "seed.h"
#include "sig_ring.h"
#include "wire.h"

#define HASHES(h) ((const uint8_t(*)[RF_HASH_LEN])(h))

#define K 4
#define G 8
#define SLOTS 256
#define FIRST_SEQ 1003ULL /* mid-group: the stream's first group is short */
#define T0 1700000000000ULL
#define SECRET_BYTE 0x5a

/* ---- fixture ---- */

struct rec {
	enum rf_seed_tx_kind kind;
	struct rf_addr dst;
	uint64_t seq;
	uint8_t flags, substream;
	uint32_t session;
	const struct rf_chunk *chunk;
	const uint8_t *sig_msg;
	uint16_t sig_len;
};

static struct {
	uint8_t pk[RF_PUBKEY_LEN], sk[RF_SECKEY_LEN];
	uint64_t stream;
	void *store_mem, *sig_mem, *seed_mem;
	struct rf_chunk_store *store;
	struct rf_sig_ring *sigs;
	struct rf_seed *seed;
	struct rf_seed_params p;
	uint64_t now;
	struct rf_seed_outbox out;
	struct rec *recs;
	size_t nrecs, caprecs;
	struct rf_seed_tx tx[4096];
} fx;

static struct rf_token_keys ring;

static void setup(void)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	size_t len;

	cr_assert_geq(sodium_init(), 0);
	memset(&fx, 0, sizeof(fx));
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i * 3 + 1);
	crypto_sign_seed_keypair(fx.pk, fx.sk, seed);
	fx.stream = rf_stream_id(fx.pk);
	len = rf_chunk_store_size(SLOTS, RF_CHUNK_DEFAULT);
	fx.store_mem = malloc(len);
	fx.store = rf_chunk_store_init(fx.store_mem, len, SLOTS,
				       RF_CHUNK_DEFAULT, FIRST_SEQ);
	cr_assert_not_null(fx.store);
	len = rf_sig_ring_size(64, G);
	fx.sig_mem = malloc(len);
	fx.sigs = rf_sig_ring_init(fx.sig_mem, len, 64, G, fx.stream, fx.sk);
	cr_assert_not_null(fx.sigs);
	fx.now = T0;
	fx.caprecs = 1 << 16;
	fx.recs = malloc(fx.caprecs * sizeof(*fx.recs));
}

static void teardown(void)
{
	free(fx.store_mem);
	free(fx.sig_mem);
	free(fx.seed_mem);
	free(fx.recs);
}

TestSuite(seed, .init = setup, .fini = teardown);

static struct rf_seed_params defparams(void)
{
	struct rf_seed_params p = {
		.stream_id = fx.stream,
		.cookie_lifetime_s = 30,
		.max_sessions = 64,
		.stream_bps = 1000000,
		.chunk_size = RF_CHUNK_DEFAULT,
		.substreams = K,
		.group_size = G,
		.chunk_rate_milli = 140000,
		.keepalive_ms = 1000,
		.timeout_ms = 3000,
		.catchup_per_pump = 8,
	};

	memcpy(p.pubkey, fx.pk, RF_PUBKEY_LEN);
	memset(p.cookie_secret, SECRET_BYTE, RF_SECRET_LEN);
	return p;
}

static struct rf_addr peer_addr(unsigned i)
{
	uint8_t ip[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
	struct rf_addr a;

	rf_addr_v4(&a, ip, (uint16_t)(40000 + i % 1000));
	return a;
}

/* The directory: two other seeds/peers and, to check the filter, peer 0. */
static struct rf_candidate dir[3];

static void start_seed(const struct rf_seed_params *p)
{
	size_t len = rf_seed_mem_size(p->max_sessions, p->substreams);
	const char *err = "unset";
	uint8_t ip1[4] = { 198, 51, 100, 1 }, ip2[4] = { 198, 51, 100, 2 };

	cr_assert_gt(len, 0);
	fx.p = *p;
	fx.seed_mem = malloc(len + 1);
	memset(fx.seed_mem, 0xa5, len + 1); /* init must not rely on zeroes */
	fx.seed = rf_seed_init((uint8_t *)fx.seed_mem + 1, len, p, &err);
	cr_assert_not_null(fx.seed, "%s", err);
	rf_seed_set_store(fx.seed, fx.store);
	rf_addr_v4(&dir[0].addr, ip1, 4433);
	dir[0].substreams = 0xf;
	dir[0].spare_kbps = 5000;
	dir[1].addr = peer_addr(0);
	dir[1].substreams = 0x3;
	dir[1].spare_kbps = 100;
	rf_addr_v4(&dir[2].addr, ip2, 4433);
	dir[2].substreams = 0xf;
	dir[2].spare_kbps = 7000;
	rf_seed_set_directory(fx.seed, dir, 3);
}

static const struct rf_seed_stats *st(void)
{
	return rf_seed_stats(fx.seed);
}

/* ---- stream ---- */

static uint8_t chunk_flags(uint64_t seq)
{
	uint8_t f = 0;

	if (seq % 16 == 5)
		f |= RF_FLAG_DATA_RAP;
	if (seq % 37 == 0)
		f |= RF_FLAG_DATA_DISCONT;
	return f;
}

/* The payload of seq: its length is returned. */
static uint16_t chunk_bytes(uint64_t seq, uint8_t buf[RF_CHUNK_DEFAULT])
{
	uint16_t len = (uint16_t)(100 + seq % 200);

	for (uint16_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i);
	return len;
}

static void publish_one(bool sign)
{
	uint64_t seq = rf_chunk_store_next(fx.store);
	uint8_t buf[RF_CHUNK_DEFAULT];
	uint16_t len = chunk_bytes(seq, buf);

	cr_assert_eq(rf_chunk_store_append(fx.store, buf, len, chunk_flags(seq)), 0);
	if (sign)
		rf_sig_ring_add(fx.sigs, seq, chunk_flags(seq), buf, len);
}

static void publish(unsigned n)
{
	while (n--)
		publish_one(true);
}

/* A relay's store filling out of order: [from, to) signed, all but hole
 * stored. */
static void publish_but(uint64_t from, uint64_t to, uint64_t hole)
{
	uint8_t buf[RF_CHUNK_DEFAULT];

	for (uint64_t q = from; q < to; q++) {
		uint16_t len = chunk_bytes(q, buf);

		rf_sig_ring_add(fx.sigs, q, chunk_flags(q), buf, len);
		if (q != hole)
			cr_assert_eq(rf_chunk_store_insert(fx.store, q, buf, len, chunk_flags(q)), 0);
	}
}

/* The chunk seq arrives late; its length. */
static uint16_t store_insert(uint64_t seq)
{
	uint8_t buf[RF_CHUNK_DEFAULT];
	uint16_t len = chunk_bytes(seq, buf);

	cr_assert_eq(rf_chunk_store_insert(fx.store, seq, buf, len, chunk_flags(seq)), 0);
	return len;
}

static uint64_t live_edge(void)
{
	return rf_chunk_store_next(fx.store);
}

/* ---- datagrams ---- */

static enum rf_drop feed(const struct rf_addr *src, const uint8_t *buf,
			 size_t len)
{
	fx.out.count = 0;
	return rf_seed_input(fx.seed, fx.now, src, buf, len, &fx.out);
}

static size_t enc(struct rf_msg *m, uint8_t *buf)
{
	int n;

	if (m->stream_id == 0)
		m->stream_id = fx.stream;
	n = rf_msg_encode(m, buf, RF_MAX_DATAGRAM);
	cr_assert_gt(n, 0, "encode type %u: %d", m->type, n);
	return (size_t)n;
}

static enum rf_drop send_msg(const struct rf_addr *src, struct rf_msg m)
{
	uint8_t buf[RF_MAX_DATAGRAM];
	size_t n = enc(&m, buf);

	return feed(src, buf, n);
}

static void out_msg(unsigned i, struct rf_msg *m, const struct rf_addr *dst)
{
	cr_assert_lt(i, fx.out.count);
	cr_assert_eq(rf_msg_decode(fx.out.out[i].buf, fx.out.out[i].len, m),
		     RF_DROP_NONE);
	cr_assert_eq(m->stream_id, fx.stream);
	if (dst)
		cr_assert(rf_addr_equal(&fx.out.out[i].dst, dst));
}

static void make_cookie(uint8_t c[RF_COOKIE_LEN], const struct rf_addr *a,
			uint64_t peer, uint64_t at_ms)
{
	rf_cookie_make(c, fx.p.cookie_secret, a, peer, fx.stream, at_ms / 1000);
}

static enum rf_drop join_with(const struct rf_addr *a, uint64_t peer,
			      const uint8_t cookie[RF_COOKIE_LEN],
			      const uint8_t *token)
{
	struct rf_msg m = { .type = RF_MSG_JOIN };

	m.join.peer_id = peer;
	memcpy(m.join.cookie, cookie, RF_COOKIE_LEN);
	m.join.upload_kbps = 3000;
	m.join.token = token;
	m.flags = token ? RF_FLAG_JOIN_TOKEN : 0;
	return send_msg(a, m);
}

/* JOIN with a fresh cookie (the seed's secret is known here). */
static enum rf_drop join_fast(const struct rf_addr *a, uint64_t peer)
{
	uint8_t c[RF_COOKIE_LEN];

	make_cookie(c, a, peer, fx.now);
	return join_with(a, peer, c, NULL);
}

/* The whole handshake as a peer does it; checks WELCOME and CANDIDATES. */
static void connect_peer(const struct rf_addr *a, uint64_t peer)
{
	struct rf_msg m = { .type = RF_MSG_HELLO, .hello.peer_id = peer };
	uint8_t cookie[RF_COOKIE_LEN];

	cr_assert_eq(send_msg(a, m), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, a);
	cr_assert_eq(m.type, RF_MSG_COOKIE);
	cr_assert_eq(m.cookie.peer_id, peer);
	memcpy(cookie, m.cookie.cookie, RF_COOKIE_LEN);
	cr_assert_eq(join_with(a, peer, cookie, NULL), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 2);
	out_msg(0, &m, a);
	cr_assert_eq(m.type, RF_MSG_WELCOME);
	out_msg(1, &m, a);
	cr_assert_eq(m.type, RF_MSG_CANDIDATES);
}

static enum rf_drop subscribe(const struct rf_addr *a, uint64_t mask,
			      uint64_t start)
{
	struct rf_msg m = { .type = RF_MSG_SUBSCRIBE };

	m.subscribe.substreams = mask;
	m.subscribe.start_seq = start;
	return send_msg(a, m);
}

static enum rf_drop unsubscribe(const struct rf_addr *a, uint64_t mask)
{
	struct rf_msg m = { .type = RF_MSG_UNSUBSCRIBE };

	m.subscribe.substreams = mask;
	return send_msg(a, m);
}

/* ---- pump and records ---- */

static void rec_add(const struct rf_seed_tx *t)
{
	struct rec *r;

	if (fx.nrecs == fx.caprecs) {
		fx.caprecs *= 2;
		fx.recs = realloc(fx.recs, fx.caprecs * sizeof(*fx.recs));
		cr_assert_not_null(fx.recs);
	}
	r = &fx.recs[fx.nrecs++];
	r->kind = t->kind;
	r->dst = *t->dst; /* copied now: valid until the next call */
	r->seq = t->seq;
	r->flags = t->flags;
	r->substream = t->substream;
	r->session = t->session;
	r->chunk = t->chunk;
	r->sig_msg = t->sig_msg;
	r->sig_len = t->sig_len;
}

static unsigned pump_once(unsigned max)
{
	unsigned n = rf_seed_pump(fx.seed, fx.now, fx.store, fx.sigs, fx.tx, max);

	cr_assert_leq(n, max);
	for (unsigned i = 0; i < n; i++)
		rec_add(&fx.tx[i]);
	return n;
}

/* Records of one kind so far. */
static size_t count_kind(enum rf_seed_tx_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < fx.nrecs; i++)
		n += fx.recs[i].kind == kind;
	return n;
}

/* Pump until the seed has nothing more to send right now. */
static size_t pump_all(unsigned max)
{
	size_t total = 0;
	unsigned n;

	do {
		n = pump_once(max);
		total += n;
	} while (n == max);
	return total;
}

/* Pump until nothing is left, backlogs included (those go per pump). */
static size_t pump_idle(unsigned max)
{
	size_t total = 0, n;

	while ((n = pump_all(max)) > 0)
		total += n;
	return total;
}

static uint64_t group_last(uint64_t seq)
{
	return seq - seq % G + G - 1;
}

static uint64_t next_in(uint64_t seq, uint64_t mask)
{
	while (!((mask >> (seq % K)) & 1))
		seq++;
	return seq;
}

/* Check one signature datagram: it verifies, covers the group ending at
 * last, and its hashes are those of the chunks in the store. */
static void check_sig(const uint8_t *msg, uint16_t len, uint64_t last)
{
	uint64_t first = last - (G - 1);
	struct rf_msg m;

	if (first < FIRST_SEQ)
		first = FIRST_SEQ;
	cr_assert_eq(rf_msg_decode(msg, len, &m), RF_DROP_NONE);
	cr_assert_eq(m.type, RF_MSG_SIGNATURE);
	cr_assert_eq(m.signature.first_seq, first);
	cr_assert_eq(m.signature.count, last - first + 1);
	cr_assert_eq(rf_group_verify(m.signature.sig, fx.pk, fx.stream, first,
				     m.signature.count, HASHES(m.signature.hashes)),
		     RF_DROP_NONE);
	for (uint64_t q = first; q <= last; q++) {
		const struct rf_chunk *c = rf_chunk_store_get(fx.store, q);
		uint8_t h[RF_HASH_LEN];

		if (!c) /* fell out of the window since */
			continue;
		rf_chunk_hash(h, fx.stream, q, c->flags & 3, c->payload, c->len);
		cr_assert_eq(memcmp(h, m.signature.hashes + (q - first) * RF_HASH_LEN,
				    RF_HASH_LEN), 0);
	}
}

/*
 * What dst received in fx.recs[from..] (repairs aside) is exactly: every
 * chunk of its substreams in [start, end), in order, with the store's
 * flags, and after each group's last chunk that group's SIGNATURE, once,
 * for every group that ends in [start, end). Returns the DATA count.
 */
static size_t check_stream(size_t from, const struct rf_addr *dst,
			   uint64_t start, uint64_t end, uint64_t mask)
{
	uint64_t want = next_in(start, mask), want_sig = group_last(start);
	size_t data = 0;

	for (size_t i = from; i < fx.nrecs; i++) {
		const struct rec *r = &fx.recs[i];

		if (!rf_addr_equal(&r->dst, dst))
			continue;
		if (r->flags & RF_FLAG_DATA_REPAIR)
			continue; /* repair answers, data or signatures */
		if (r->kind == RF_SEED_TX_DATA) {
			cr_assert_eq(r->seq, want, "rec %zu: seq %lu, want %lu",
				     i, (unsigned long)r->seq, (unsigned long)want);
			cr_assert_lt(r->seq, end);
			cr_assert_eq(r->chunk, rf_chunk_store_get(fx.store, r->seq));
			cr_assert_eq(r->flags, chunk_flags(r->seq));
			cr_assert_eq(r->substream, r->seq % K);
			/* the signature of an earlier group is not owed */
			cr_assert_geq(want_sig, group_last(r->seq));
			want = next_in(r->seq + 1, mask);
			data++;
		} else {
			cr_assert_eq(r->kind, RF_SEED_TX_SIGNATURE);
			cr_assert_lt(want_sig, end, "signature past the end");
			/* all of the group's data came first */
			cr_assert_gt(want, want_sig);
			check_sig(r->sig_msg, r->sig_len, want_sig);
			want_sig += G;
		}
	}
	cr_assert_geq(want, end, "missing seq %lu", (unsigned long)want);
	cr_assert_geq(want_sig, end, "missing signature of group ending %lu",
		      (unsigned long)want_sig);
	return data;
}

static size_t count_to(size_t from, const struct rf_addr *dst,
		       enum rf_seed_tx_kind kind)
{
	size_t n = 0;

	for (size_t i = from; i < fx.nrecs; i++)
		if (fx.recs[i].kind == kind && rf_addr_equal(&fx.recs[i].dst, dst))
			n++;
	return n;
}

static struct rf_seed_peer_view view_of(const struct rf_addr *a)
{
	struct rf_seed_peer_view v[16];
	uint32_t cur = 0;
	unsigned n;

	while ((n = rf_seed_sessions(fx.seed, &cur, v, 16)) > 0)
		for (unsigned i = 0; i < n; i++)
			if (rf_addr_equal(&v[i].addr, a))
				return v[i];
	cr_assert_fail("no session for the address");
	return v[0];
}

/* ---- handshake and delivery ---- */

Test(seed, handshake_delivers_subscribed_substreams_with_signatures)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(0);
	struct rf_msg m = { .type = RF_MSG_HELLO, .hello.peer_id = 77 };
	uint64_t raps[RF_RAPS_MAX], start;
	size_t nraps;

	start_seed(&p);
	publish(40); /* a backlog before anyone joins */

	cr_assert_eq(send_msg(&a, m), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
	cr_assert_eq(fx.out.out[0].len, RF_HDR_LEN + 28);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_COOKIE);
	cr_assert_eq(m.cookie.peer_id, 77);
	cr_assert_eq(st()->sessions, 0, "a HELLO keeps no state");

	cr_assert_eq(join_with(&a, 77, m.cookie.cookie, NULL), RF_DROP_NONE);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(st()->joins, 1);
	cr_assert_eq(fx.out.count, 2);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_WELCOME);
	cr_assert_eq(m.welcome.chunk_size, RF_CHUNK_DEFAULT);
	cr_assert_eq(m.welcome.substreams, K);
	cr_assert_eq(m.welcome.group_size, G);
	cr_assert_eq(m.welcome.chunk_rate_milli, 140000);
	cr_assert_eq(m.welcome.live_edge, live_edge());
	cr_assert_eq(m.welcome.window_first, FIRST_SEQ);
	cr_assert_eq(memcmp(m.welcome.pubkey, fx.pk, RF_PUBKEY_LEN), 0);
	cr_assert_eq(m.welcome.keepalive_ms, 1000);
	nraps = rf_chunk_store_raps(fx.store, raps, RF_RAPS_MAX);
	cr_assert_gt(nraps, 1);
	cr_assert_eq(m.welcome.rap_count, nraps);
	for (size_t i = 0; i < nraps; i++)
		cr_assert_eq(m.welcome.raps[i], raps[i]);
	cr_assert_gt(m.welcome.raps[0], m.welcome.raps[1], "newest first");
	out_msg(1, &m, &a);
	cr_assert_eq(m.type, RF_MSG_CANDIDATES);
	cr_assert_eq(m.candidates.reason, 0);
	cr_assert_eq(m.candidates.count, 2, "the joining peer is filtered out");
	for (unsigned i = 0; i < m.candidates.count; i++)
		cr_assert_not(rf_addr_equal(&m.candidates.entry[i].addr, &a));
	cr_assert_eq(view_of(&a).upload_kbps, 3000);
	cr_assert_eq(view_of(&a).peer_id, 77);

	start = live_edge();
	cr_assert_eq(subscribe(&a, 0x5, start), RF_DROP_NONE);
	cr_assert_eq(st()->subscribes, 1);
	cr_assert_eq(st()->committed_bps, 500000);
	publish(45);
	pump_all(64);
	/* substreams 0 and 2 only, in order, flags right, a verified
	 * SIGNATURE after each group */
	/* evens of [1043, 1088), groups ending 1047 ... 1087 */
	cr_assert_eq(check_stream(0, &a, start, live_edge(), 0x5), 22);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_SIGNATURE), 6);
	cr_assert_eq(st()->unvalidated_tx_bytes, RF_HDR_LEN + 28);
}

Test(seed, dst_points_at_stable_session_address)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(3);
	unsigned n;

	start_seed(&p);
	connect_peer(&a, 1);
	subscribe(&a, 0xf, live_edge());
	publish(3);
	n = rf_seed_pump(fx.seed, fx.now, fx.store, fx.sigs, fx.tx, 16);
	cr_assert_eq(n, 3);
	cr_assert_eq(fx.tx[0].dst, fx.tx[1].dst, "one address per session");
	cr_assert(rf_addr_equal(fx.tx[0].dst, &a));
	cr_assert_eq(fx.tx[0].chunk, rf_chunk_store_get(fx.store, fx.tx[0].seq));
}

Test(seed, session_index_names_one_slot_per_peer)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	uint32_t slot[2] = { UINT32_MAX, UINT32_MAX };

	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	subscribe(&a, 0xf, live_edge());
	subscribe(&b, 0xf, live_edge());
	publish(2 * p.group_size);
	pump_all(16);
	cr_assert(count_kind(RF_SEED_TX_SIGNATURE) > 0);
	for (size_t i = 0; i < fx.nrecs; i++) {
		unsigned who = rf_addr_equal(&fx.recs[i].dst, &a) ? 0 : 1;

		cr_assert_lt(fx.recs[i].session, p.max_sessions);
		if (slot[who] == UINT32_MAX)
			slot[who] = fx.recs[i].session;
		cr_assert_eq(fx.recs[i].session, slot[who], "DATA and SIGNATURE: one slot per peer");
	}
	cr_assert_neq(slot[0], UINT32_MAX);
	cr_assert_neq(slot[1], UINT32_MAX);
	cr_assert_neq(slot[0], slot[1]);
}

/* ---- anti-amplification and cookies ---- */

Test(seed, unpadded_hello_dropped_without_answer)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg m = { .type = RF_MSG_HELLO, .hello.peer_id = 5 };
	uint8_t buf[RF_MAX_DATAGRAM];
	size_t n;

	start_seed(&p);
	n = enc(&m, buf);
	cr_assert_eq(n, RF_HELLO_MIN);
	for (size_t len = RF_HDR_LEN + 8; len < RF_HELLO_MIN; len++) {
		cr_assert_eq(feed(&a, buf, len), RF_DROP_SHORT);
		cr_assert_eq(fx.out.count, 0);
	}
	cr_assert_eq(st()->drops[RF_DROP_SHORT], RF_HELLO_MIN - RF_HDR_LEN - 8);
	cr_assert_eq(st()->unvalidated_tx_bytes, 0);
	cr_assert_eq(feed(&a, buf, n), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
}

Test(seed, join_with_bad_cookie_creates_nothing)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	uint8_t c[RF_COOKIE_LEN];

	start_seed(&p);
	/* forged MAC */
	make_cookie(c, &a, 9, fx.now);
	c[10] ^= 1;
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_BAD_COOKIE);
	cr_assert_eq(fx.out.count, 0);
	/* issued to another address, or another peer id */
	make_cookie(c, &b, 9, fx.now);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_BAD_COOKIE);
	make_cookie(c, &a, 10, fx.now);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_BAD_COOKIE);
	/* another port of the same host */
	b = a;
	b.port++;
	make_cookie(c, &b, 9, fx.now);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_BAD_COOKIE);
	/* expired: older than the lifetime */
	make_cookie(c, &a, 9, fx.now - 31000);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_COOKIE_EXPIRED);
	/* from the future */
	make_cookie(c, &a, 9, fx.now + 5000);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_COOKIE_EXPIRED);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(st()->sessions, 0);
	cr_assert_eq(st()->drops[RF_DROP_BAD_COOKIE], 4);
	cr_assert_eq(st()->drops[RF_DROP_COOKIE_EXPIRED], 2);
	cr_assert_eq(st()->unvalidated_tx_bytes, 0);
	/* at the edge of the lifetime it is still good */
	make_cookie(c, &a, 9, fx.now - 30000);
	cr_assert_eq(join_with(&a, 9, c, NULL), RF_DROP_NONE);
	cr_assert_eq(st()->sessions, 1);
}

Test(seed, spoofed_hello_flood_never_amplifies)
{
	struct rf_seed_params p = defparams();
	struct rf_msg m = { .type = RF_MSG_HELLO };
	uint8_t buf[RF_MAX_DATAGRAM];
	unsigned cookies = 0;

	start_seed(&p);
	for (unsigned i = 0; i < 20000; i++) {
		struct rf_addr a = peer_addr(i);
		size_t n;

		m.hello.peer_id = i;
		m.stream_id = 0;
		n = enc(&m, buf);
		cr_assert_eq(n, RF_HELLO_MIN);
		feed(&a, buf, n);
		cookies += fx.out.count;
		/* and junk of every kind from the same sources */
		feed(&a, buf, i % RF_HELLO_MIN);
		buf[3] = (uint8_t)(i % 20);
		feed(&a, buf, n);
		cr_assert_leq(st()->unvalidated_tx_bytes, st()->unvalidated_rx_bytes);
	}
	cr_assert_geq(cookies, 20000);
	cr_assert_eq(st()->sessions, 0);
	cr_assert_leq(st()->unvalidated_tx_bytes * 64,
		      st()->unvalidated_rx_bytes * 44);
}

Test(seed, unknown_sources_get_nothing)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg msgs[6] = {
		{ .type = RF_MSG_SUBSCRIBE, .subscribe = { 0xf, FIRST_SEQ } },
		{ .type = RF_MSG_UNSUBSCRIBE, .subscribe = { 0x1, 0 } },
		{ .type = RF_MSG_REPAIR, .repair = { FIRST_SEQ, 0xff } },
		{ .type = RF_MSG_KEEPALIVE, .keepalive.stamp = 1 },
		{ .type = RF_MSG_QUALITY },
		{ .type = RF_MSG_BYE },
	};
	static const uint8_t payload[8] = { 0x47 };
	struct rf_msg data = { .type = RF_MSG_DATA,
			       .data = { .seq = 5, .len = 8, .payload = payload } };

	start_seed(&p);
	publish(10);
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(send_msg(&a, msgs[i]), RF_DROP_NO_SESSION);
		cr_assert_eq(fx.out.count, 0);
	}
	cr_assert_eq(send_msg(&a, data), RF_DROP_NO_SESSION);
	cr_assert_eq(st()->drops[RF_DROP_NO_SESSION], 7);
	cr_assert_eq(pump_all(64), 0, "no repair for the unvalidated");
	cr_assert_eq(st()->unvalidated_tx_bytes, 0);
}

Test(seed, wrong_stream_dropped)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg m = { .type = RF_MSG_HELLO, .hello.peer_id = 1,
			    .stream_id = 0x1234 };

	start_seed(&p);
	cr_assert_eq(send_msg(&a, m), RF_DROP_UNKNOWN_STREAM);
	cr_assert_eq(fx.out.count, 0);
	connect_peer(&a, 1);
	m.type = RF_MSG_KEEPALIVE;
	m.stream_id = 0x1234;
	cr_assert_eq(send_msg(&a, m), RF_DROP_UNKNOWN_STREAM);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(st()->drops[RF_DROP_UNKNOWN_STREAM], 2);
}

Test(seed, bad_params_refused)
{
	struct rf_seed_params p = defparams();
	static uint8_t mem[1 << 16];
	const char *err = NULL;

	cr_assert_eq(rf_seed_mem_size(0, K), 0);
	cr_assert_eq(rf_seed_mem_size(RF_SEED_SESSIONS_MAX + 1, K), 0);
	cr_assert_eq(rf_seed_mem_size(10, 0), 0);
	cr_assert_eq(rf_seed_mem_size(10, 65), 0);
	p.max_sessions = 4;
	p.stream_id ^= 1;
	cr_assert_null(rf_seed_init(mem, sizeof(mem), &p, &err));
	cr_assert_not_null(err);
	p = defparams();
	p.max_sessions = 4;
	p.group_size = 33;
	cr_assert_null(rf_seed_init(mem, sizeof(mem), &p, &err));
	p.group_size = G;
	cr_assert_null(rf_seed_init(mem, 100, &p, &err));
	cr_assert_not_null(rf_seed_init(mem, sizeof(mem), &p, &err));
}

/* ---- sessions ---- */

Test(seed, duplicate_join_keeps_one_session)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg m;

	start_seed(&p);
	connect_peer(&a, 1);
	subscribe(&a, 0x3, live_edge());
	cr_assert_eq(join_fast(&a, 1), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 2);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_WELCOME);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(st()->joins, 1);
	cr_assert_eq(st()->rejoins, 1);
	cr_assert_eq(view_of(&a).substreams, 0x3, "a lost WELCOME keeps state");
	/* a restarted peer (new id) on the same port starts over */
	cr_assert_eq(join_fast(&a, 2), RF_DROP_NONE);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(view_of(&a).peer_id, 2);
	cr_assert_eq(view_of(&a).substreams, 0);
	cr_assert_eq(st()->committed_bps, 0);
}

Test(seed, session_table_full_redirects)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2), c = peer_addr(3);
	struct rf_msg m;

	p.max_sessions = 2;
	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	cr_assert_eq(join_fast(&c, 3), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, &c);
	cr_assert_eq(m.type, RF_MSG_REDIRECT);
	cr_assert_eq(m.candidates.reason, RF_REASON_CAPACITY);
	cr_assert_eq(m.candidates.count, 3);
	cr_assert_eq(st()->sessions, 2);
	cr_assert_eq(st()->redirects, 1);
	/* not a session: it still gets nothing but COOKIEs */
	cr_assert_eq(subscribe(&c, 1, live_edge()), RF_DROP_NO_SESSION);
	/* a slot frees up: it gets in */
	cr_assert_eq(send_msg(&a, (struct rf_msg){ .type = RF_MSG_BYE }),
		     RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 0, "no answer to BYE");
	cr_assert_eq(st()->byes, 1);
	cr_assert_eq(join_fast(&c, 3), RF_DROP_NONE);
	cr_assert_eq(st()->sessions, 2);
	out_msg(0, &m, &c);
	cr_assert_eq(m.type, RF_MSG_WELCOME);
}

/* The one UNSUBSCRIBE SHED in the outbox, to dst: its mask. */
static uint64_t shed_of(const struct rf_addr *dst)
{
	struct rf_msg m;

	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, dst);
	cr_assert_eq(m.type, RF_MSG_UNSUBSCRIBE);
	cr_assert_eq(m.flags, RF_FLAG_UNSUB_SHED);
	return m.subscribe.substreams;
}

Test(seed, egress_cap_redirects_joins_and_sheds_subscribes)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2), c = peer_addr(3), d = peer_addr(4);
	struct rf_msg m;
	uint64_t subs;
	size_t mark;

	p.stream_bps = 1000000;
	p.max_egress_bps = 2500000;
	start_seed(&p);
	connect_peer(&a, 1);
	cr_assert_eq(subscribe(&a, 0xf, live_edge()), RF_DROP_NONE);
	connect_peer(&b, 2);
	cr_assert_eq(subscribe(&b, 0x3, live_edge()), RF_DROP_NONE);
	cr_assert_eq(st()->committed_bps, 1500000);
	/* 1.5 + 1 <= 2.5: admitted */
	connect_peer(&c, 3);
	cr_assert_eq(subscribe(&c, 0x3, live_edge()), RF_DROP_NONE);
	cr_assert_eq(st()->committed_bps, 2000000);
	/* b wants 2 more substreams: 2.5 fits exactly */
	cr_assert_eq(subscribe(&b, 0xc, live_edge()), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(st()->committed_bps, 2500000);
	/* c wants one more: 2.75 > 2.5, refused; c keeps what it has */
	cr_assert_eq(subscribe(&c, 0x4, live_edge()), RF_DROP_NONE);
	cr_assert_eq(shed_of(&c), 0x4);
	cr_assert_eq(st()->sessions, 3);
	cr_assert_eq(view_of(&c).substreams, 0x3);
	cr_assert_eq(st()->committed_bps, 2500000);
	/* room for one: of two asked, the lower is taken */
	cr_assert_eq(unsubscribe(&a, 0x1), RF_DROP_NONE);
	cr_assert_eq(subscribe(&c, 0xc, live_edge()), RF_DROP_NONE);
	cr_assert_eq(shed_of(&c), 0x8);
	cr_assert_eq(view_of(&c).substreams, 0x7);
	cr_assert_eq(st()->committed_bps, 2500000);
	cr_assert_eq(st()->shed, 2);
	/* a new JOIN: 2.5 + 1 > 2.5 */
	cr_assert_eq(join_fast(&d, 4), RF_DROP_NONE);
	out_msg(0, &m, NULL);
	cr_assert_eq(m.type, RF_MSG_REDIRECT);
	cr_assert_eq(m.candidates.reason, RF_REASON_CAPACITY);
	cr_assert_eq(st()->redirects, 1);
	/* the cap shrinks: the timers shed a substream per session visited
	 * until the share fits, and what is shed is no longer sent */
	rf_seed_set_max_egress(fx.seed, 1500000);
	for (int i = 0; i < 4 && st()->committed_bps > 1500000; i++) {
		fx.out.count = 0;
		rf_seed_timers(fx.seed, fx.now, &fx.out);
		for (unsigned j = 0; j < fx.out.count; j++) {
			out_msg(j, &m, NULL);
			cr_assert_eq(m.type, RF_MSG_UNSUBSCRIBE);
			cr_assert_eq(m.flags, RF_FLAG_UNSUB_SHED);
		}
	}
	cr_assert_leq(st()->committed_bps, 1500000);
	cr_assert_geq(st()->committed_bps, 1250000, "shed no more than needed");
	cr_assert_eq(st()->sessions, 3);
	mark = fx.nrecs;
	publish(2 * G);
	pump_all(64);
	cr_assert_gt(fx.nrecs, mark);
	for (size_t i = mark; i < fx.nrecs; i++)
		if (fx.recs[i].kind == RF_SEED_TX_DATA)
			cr_assert((view_of(&fx.recs[i].dst).substreams >> fx.recs[i].substream) & 1,
				  "a shed substream was sent");
	/* the rate can change under us */
	subs = (uint64_t)__builtin_popcountll(view_of(&a).substreams) +
	       (uint64_t)__builtin_popcountll(view_of(&b).substreams) +
	       (uint64_t)__builtin_popcountll(view_of(&c).substreams);
	rf_seed_set_stream_bps(fx.seed, 2000000);
	cr_assert_eq(st()->committed_bps, subs * 500000);
}

/* ---- tokens ---- */

static void token_ring(void)
{
	memset(&ring, 0, sizeof(ring));
	memset(ring.key[1], 0x11, RF_SECRET_LEN);
	ring.present[1] = 1;
}

static enum rf_drop join_token(const struct rf_addr *a,
			       const struct rf_token_fields *f,
			       const uint8_t *key)
{
	uint8_t c[RF_COOKIE_LEN], tok[RF_TOKEN_LEN];

	cr_assert_eq(rf_token_make(tok, f, key), 0);
	make_cookie(c, a, 1, fx.now);
	return join_with(a, 1, c, tok);
}

static void assert_denied(const struct rf_addr *a)
{
	struct rf_msg m;

	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, a);
	cr_assert_eq(m.type, RF_MSG_BYE);
	cr_assert_eq(m.bye.reason, RF_REASON_DENIED);
	cr_assert_eq(st()->sessions, 0);
}

Test(seed, tokens_required)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint8_t c[RF_COOKIE_LEN];
	struct rf_token_fields f = {
		.key_id = 1, .family = RF_AF_INET, .prefix_len = 8,
		.prefix_ip = { 10 }, .stream_id = fx.stream,
		.expiry_s = T0 / 1000 + 60,
	};
	uint8_t other_key[RF_SECRET_LEN];

	token_ring();
	p.tokens = &ring;
	start_seed(&p);

	make_cookie(c, &a, 1, fx.now);
	cr_assert_eq(join_with(&a, 1, c, NULL), RF_DROP_DENIED);
	assert_denied(&a);

	f.expiry_s = T0 / 1000; /* valid while now < expiry */
	cr_assert_eq(join_token(&a, &f, ring.key[1]), RF_DROP_TOKEN_EXPIRED);
	assert_denied(&a);
	f.expiry_s = T0 / 1000 + 60;

	f.prefix_ip[0] = 192;
	cr_assert_eq(join_token(&a, &f, ring.key[1]), RF_DROP_TOKEN_PREFIX);
	assert_denied(&a);
	f.prefix_ip[0] = 10;

	f.stream_id ^= 1;
	cr_assert_eq(join_token(&a, &f, ring.key[1]), RF_DROP_UNKNOWN_STREAM);
	assert_denied(&a);
	f.stream_id ^= 1;

	memset(other_key, 0x22, sizeof(other_key));
	cr_assert_eq(join_token(&a, &f, other_key), RF_DROP_BAD_TOKEN);
	assert_denied(&a);
	f.key_id = 2;
	cr_assert_eq(join_token(&a, &f, other_key), RF_DROP_TOKEN_KEY);
	assert_denied(&a);
	f.key_id = 1;

	/* a bad cookie is refused silently, before the token is looked at */
	c[5] ^= 1;
	cr_assert_eq(join_with(&a, 1, c, NULL), RF_DROP_BAD_COOKIE);
	cr_assert_eq(fx.out.count, 0);

	cr_assert_eq(join_token(&a, &f, ring.key[1]), RF_DROP_NONE);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(st()->drops[RF_DROP_DENIED], 1);
	cr_assert_eq(st()->drops[RF_DROP_TOKEN_EXPIRED], 1);
	cr_assert_eq(st()->drops[RF_DROP_TOKEN_PREFIX], 1);
	cr_assert_eq(st()->drops[RF_DROP_TOKEN_KEY], 1);
	cr_assert_eq(st()->drops[RF_DROP_BAD_TOKEN], 1);
}

/* ---- subscriptions ---- */

Test(seed, subscribe_beyond_k_ignored)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint64_t start;

	start_seed(&p);
	connect_peer(&a, 1);
	cr_assert_eq(subscribe(&a, 1u << K, live_edge()), RF_DROP_BAD_FIELD);
	cr_assert_eq(subscribe(&a, 0xff00ULL << 48, live_edge()), RF_DROP_BAD_FIELD);
	cr_assert_eq(view_of(&a).substreams, 0);
	cr_assert_eq(unsubscribe(&a, 1u << K), RF_DROP_BAD_FIELD);
	cr_assert_eq(st()->drops[RF_DROP_BAD_FIELD], 3);
	start = live_edge();
	cr_assert_eq(subscribe(&a, (1u << K) | 0x2, start), RF_DROP_NONE);
	cr_assert_eq(view_of(&a).substreams, 0x2);
	publish(24);
	pump_all(64);
	check_stream(0, &a, start, live_edge(), 0x2);
}

Test(seed, unsubscribe_stops_delivery)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	uint64_t start, mid, end;
	size_t mark;

	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	start = live_edge();
	subscribe(&a, 0xf, start);
	subscribe(&b, 0xf, start);
	publish(16);
	pump_all(64);
	check_stream(0, &a, start, live_edge(), 0xf);

	mark = fx.nrecs;
	mid = live_edge();
	cr_assert_eq(unsubscribe(&a, 0x2), RF_DROP_NONE);
	cr_assert_eq(st()->unsubscribes, 1);
	cr_assert_eq(st()->committed_bps, 1750000);
	publish(16);
	pump_all(64);
	for (size_t i = mark; i < fx.nrecs; i++)
		if (rf_addr_equal(&fx.recs[i].dst, &a) &&
		    fx.recs[i].kind == RF_SEED_TX_DATA)
			cr_assert_neq(fx.recs[i].substream, 1);
	check_stream(mark, &a, mid, live_edge(), 0xd);
	check_stream(0, &b, start, live_edge(), 0xf);

	/* nothing left: no data and no signatures */
	mark = fx.nrecs;
	cr_assert_eq(unsubscribe(&a, 0xf), RF_DROP_NONE);
	publish(16);
	rf_seed_timers(fx.seed, fx.now, &fx.out); /* compacts the lists */
	pump_all(3);
	cr_assert_eq(count_to(mark, &a, RF_SEED_TX_DATA), 0);
	cr_assert_eq(count_to(mark, &a, RF_SEED_TX_SIGNATURE), 0);
	end = live_edge();
	check_stream(0, &b, start, end, 0xf);
	/* subscribing again after the lists were compacted */
	mark = fx.nrecs;
	mid = live_edge();
	subscribe(&a, 0x1, mid);
	publish(16);
	pump_all(5);
	check_stream(mark, &a, mid, live_edge(), 0x1);
}

/* A relay's store fills out of order: the fan-out passes a hole at once
 * (the other substreams go on) and sends the chunk when it turns up, to
 * the live sessions of its substream only, once. */
Test(seed, late_chunk_follows_when_its_hole_fills)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	uint64_t start, hole;
	uint16_t len;
	size_t mark;

	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	start = live_edge();
	for (hole = start + K; hole % K != 1; hole++)
		; /* in substream 1 */
	subscribe(&a, 0x2, start);
	subscribe(&b, 0xd, start);
	publish_but(start, start + 2 * G, hole);
	pump_all(64);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_DATA), 2 * G / K - 1, "all but the hole");
	cr_assert_geq(st()->fanout_skipped, 1);
	cr_assert_eq(st()->late_sent, 0);

	mark = fx.nrecs;
	len = store_insert(hole);
	pump_all(64);
	cr_assert_eq(count_to(mark, &a, RF_SEED_TX_DATA), 1);
	cr_assert_eq(count_to(mark, &b, RF_SEED_TX_DATA), 0, "not b's substream");
	for (size_t i = mark; i < fx.nrecs; i++) {
		if (fx.recs[i].kind != RF_SEED_TX_DATA)
			continue;
		cr_assert_eq(fx.recs[i].seq, hole);
		cr_assert_eq(fx.recs[i].flags & RF_FLAG_DATA_REPAIR, 0, "live data, not a repair");
		cr_assert_eq(fx.recs[i].chunk->len, len);
	}
	cr_assert_eq(st()->late_sent, 1);
	mark = fx.nrecs;
	pump_all(64);
	cr_assert_eq(fx.nrecs, mark, "sent once");
}

/* Adding a substream catches up only that one: the session's others stay
 * live meanwhile and keep their start, so a late chunk of theirs older
 * than the new start still comes. */
Test(seed, added_substream_catches_up_alone)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint64_t start, hole, mid;
	size_t mark;

	start_seed(&p);
	connect_peer(&a, 1);
	start = live_edge();
	for (hole = start + K; hole % K != 0; hole++)
		; /* in substream 0 */
	subscribe(&a, 0x1, start);
	publish_but(start, start + 2 * G, hole);
	pump_all(64);
	/* substream 1 from a start past the hole: its backlog comes by
	 * catch-up, while substream 0 goes on live */
	mid = hole + 2;
	subscribe(&a, 0x2, mid);
	mark = fx.nrecs;
	publish(G);
	store_insert(hole);
	pump_idle(64);
	cr_assert_eq(st()->late_sent, 1);
	for (uint64_t q = start; q < live_edge(); q++) {
		size_t got = 0, got_after = 0;

		for (size_t i = 0; i < fx.nrecs; i++)
			if (fx.recs[i].kind == RF_SEED_TX_DATA && fx.recs[i].seq == q &&
			    rf_addr_equal(&fx.recs[i].dst, &a)) {
				got++;
				got_after += i >= mark;
			}
		if (q % K == 0)
			cr_assert_eq(got, 1, "substream 0, %llu sent %zu times",
				     (unsigned long long)q, got);
		else if (q % K == 1 && q >= mid)
			cr_assert_eq(got_after, 1, "substream 1, %llu", (unsigned long long)q);
		else
			cr_assert_eq(got, 0, "%llu not asked for", (unsigned long long)q);
	}
}

Test(seed, slot_reuse_and_resubscribe_deliver_once)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2), c = peer_addr(3);
	uint64_t start;
	size_t mark;

	p.max_sessions = 2;
	start_seed(&p);
	connect_peer(&a, 1);
	subscribe(&a, 0x1, live_edge());
	publish(8);
	pump_all(64);
	/* a leaves; b takes its slot while a's list entries are still there */
	send_msg(&a, (struct rf_msg){ .type = RF_MSG_BYE });
	connect_peer(&b, 2);
	connect_peer(&c, 3);
	mark = fx.nrecs;
	start = live_edge();
	subscribe(&b, 0x1, start);
	/* c flips its subscription around without a pump in between */
	subscribe(&c, 0x3, start);
	unsubscribe(&c, 0x3);
	subscribe(&c, 0x3, start);
	publish(24);
	pump_all(2);
	check_stream(mark, &b, start, live_edge(), 0x1);
	check_stream(mark, &c, start, live_edge(), 0x3);
	cr_assert_eq(count_to(mark, &a, RF_SEED_TX_DATA), 0);
}

/* ---- catch-up ---- */

Test(seed, catchup_is_bounded_per_pump_and_complete)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	uint64_t start;
	unsigned pumps = 0;

	start_seed(&p);
	connect_peer(&b, 2);
	subscribe(&b, 0xf, live_edge());
	publish(100);
	pump_all(4096); /* the live fan-out is at the edge */
	connect_peer(&a, 1);
	start = live_edge() - 61; /* mid-group, 61 chunks back */
	cr_assert_eq(subscribe(&a, 0xb, start), RF_DROP_NONE);
	for (;;) {
		size_t mark = fx.nrecs;
		size_t data;

		pump_once(4096);
		pumps++;
		data = count_to(mark, &a, RF_SEED_TX_DATA);
		cr_assert_leq(data, 8, "catch-up sends %zu chunks in one pump", data);
		if (data == 0)
			break;
		if (pumps % 3 == 0)
			publish(2); /* the stream moves on meanwhile */
	}
	/* 3 of 4 substreams: 46 chunks at most 8 a pump, plus what came */
	cr_assert_geq(pumps, 6);
	publish(20);
	pump_all(4096);
	check_stream(0, &a, start, live_edge(), 0xb);
	check_stream(0, &b, FIRST_SEQ + 0, live_edge(), 0xf);
}

Test(seed, start_older_than_window_clamps_to_oldest_rap)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint64_t raps[RF_CHUNK_STORE_RAPS], oldest_rap;
	size_t n;

	p.catchup_per_pump = 64;
	start_seed(&p);
	publish(SLOTS + 40); /* the window has moved on */
	pump_all(64);
	n = rf_chunk_store_raps(fx.store, raps, RF_CHUNK_STORE_RAPS);
	cr_assert_gt(n, 0);
	oldest_rap = raps[n - 1];
	cr_assert_gt(oldest_rap, rf_chunk_store_oldest(fx.store));
	connect_peer(&a, 1);
	cr_assert_eq(subscribe(&a, 0xf, FIRST_SEQ), RF_DROP_NONE);
	pump_all(4096);
	pump_all(4096);
	for (int i = 0; i < 40; i++)
		pump_all(4096);
	check_stream(0, &a, oldest_rap, live_edge(), 0xf);
	/* far in the future: the live edge */
	cr_assert_eq(subscribe(&a, 0xf, live_edge() + 1000000), RF_DROP_NONE);
	publish(8);
	cr_assert_gt(pump_all(64), 0);
}

Test(seed, fanout_behind_window_skips_and_counts)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);

	start_seed(&p);
	connect_peer(&a, 1);
	subscribe(&a, 0xf, live_edge());
	publish(SLOTS + 50); /* never pumped: the oldest are overwritten */
	pump_all(4096);
	cr_assert_eq(st()->fanout_skipped, 50);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_DATA), SLOTS);
}

Test(seed, signature_waits_for_the_signer)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint64_t start;
	uint8_t buf[RF_CHUNK_DEFAULT];

	start_seed(&p);
	connect_peer(&a, 1);
	start = live_edge();
	subscribe(&a, 0xf, start);
	/* up to the last chunk of a group, whose signing is late */
	while (!rf_sig_group_last(live_edge(), G))
		publish(1);
	publish_one(false);
	pump_all(64);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_SIGNATURE), 0);
	/* the signer catches up */
	{
		uint64_t seq = live_edge() - 1;
		uint16_t len = (uint16_t)(100 + seq % 200);

		for (uint16_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(seq * 7 + i);
		rf_sig_ring_add(fx.sigs, seq, chunk_flags(seq), buf, len);
	}
	pump_all(64);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_SIGNATURE), 1);
	publish(G);
	pump_all(64);
	check_stream(0, &a, start, live_edge(), 0xf);
	cr_assert_eq(st()->sigs_missed, 0);
}

/* ---- repairs, keepalive, quality ---- */

Test(seed, repairs_inside_window_answered_outside_missed)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg m = { .type = RF_MSG_REPAIR };
	uint64_t base;

	start_seed(&p);
	publish(SLOTS + 100);
	connect_peer(&a, 1);
	pump_all(64);
	base = live_edge() - 10;
	m.repair.base_seq = base;
	m.repair.mask = 0x5 | (1ULL << 12); /* base+12 is past the live edge */
	cr_assert_eq(send_msg(&a, m), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(st()->repairs_asked, 3);
	cr_assert_eq(st()->repairs_missed, 1);
	pump_all(64);
	/* the two chunks, each followed by its group's SIGNATURE when it ends
	 * the request's part of the group */
	cr_assert_eq(count_kind(RF_SEED_TX_DATA), 2);
	for (size_t i = 0, d = 0; i < fx.nrecs; i++) {
		const struct rec *r = &fx.recs[i];
		uint64_t seq = base + 2 * d;

		cr_assert(r->flags & RF_FLAG_DATA_REPAIR);
		if (r->kind == RF_SEED_TX_SIGNATURE) {
			check_sig(r->sig_msg, r->sig_len, group_last(fx.recs[i - 1].seq));
			continue;
		}
		d++;
		cr_assert(rf_addr_equal(&r->dst, &a));
		cr_assert_eq(r->kind, RF_SEED_TX_DATA);
		cr_assert_eq(r->seq, seq);
		cr_assert_eq(r->flags, chunk_flags(seq) | RF_FLAG_DATA_REPAIR);
		cr_assert_eq(r->chunk, rf_chunk_store_get(fx.store, seq));
	}
	cr_assert_eq(st()->repairs_sent, 2);
	/* overwritten long ago */
	m.repair.base_seq = FIRST_SEQ;
	m.repair.mask = ~0ULL;
	cr_assert_eq(send_msg(&a, m), RF_DROP_NONE);
	cr_assert_eq(st()->repairs_missed, 65);
	cr_assert_eq(pump_all(64), 0);
	/* queued, then the asker leaves: nothing goes out */
	m.repair.base_seq = live_edge() - 4;
	m.repair.mask = 0xf;
	send_msg(&a, m);
	send_msg(&a, (struct rf_msg){ .type = RF_MSG_BYE });
	/* ... and a newcomer takes its slot: not its repairs */
	connect_peer(&(struct rf_addr[]){ peer_addr(2) }[0], 2);
	cr_assert_eq(pump_all(64), 0);
	cr_assert_eq(st()->repairs_missed, 69);
}

Test(seed, repair_queue_is_bounded)
{
	struct rf_seed_params p = defparams();
	struct rf_msg m = { .type = RF_MSG_REPAIR };
	unsigned peers = 20;

	start_seed(&p);
	publish(128);
	for (unsigned i = 0; i < peers; i++) {
		struct rf_addr a = peer_addr(i);

		connect_peer(&a, i);
		for (unsigned k = 0; k < 2; k++) {
			m.repair.base_seq = live_edge() - 128 + 64 * k;
			m.repair.mask = ~0ULL;
			send_msg(&a, m);
		}
	}
	cr_assert_eq(st()->repairs_asked, peers * 128);
	cr_assert_eq(st()->repairs_missed, peers * 128 - 1024);
	pump_all(100);
	cr_assert_eq(count_kind(RF_SEED_TX_DATA), 1024);
	cr_assert_eq(st()->repairs_sent, 1024);
}

/* A worker at its limit: the live fan-out alone would fill every pump.
 * A queued repair still goes out in the next pump, and live keeps most
 * of the room. */
Test(seed, repairs_are_not_starved_by_a_full_live_fan_out)
{
	struct rf_seed_params p = defparams();
	struct rf_msg m = { .type = RF_MSG_REPAIR };
	unsigned peers = 8, live = 0, repairs = 0, n;
	struct rf_addr a[8];

	start_seed(&p);
	publish(64);
	for (unsigned i = 0; i < peers; i++) {
		a[i] = peer_addr(i);
		connect_peer(&a[i], i);
		subscribe(&a[i], 0xf, live_edge());
	}
	pump_idle(64);
	publish(32); /* 256 live frames waiting */
	m.repair.base_seq = live_edge() - 40;
	m.repair.mask = 1;
	cr_assert_eq(send_msg(&a[3], m), RF_DROP_NONE);
	fx.nrecs = 0;
	n = pump_once(8);
	cr_assert_eq(n, 8);
	for (size_t i = 0; i < fx.nrecs; i++) {
		if (!(fx.recs[i].flags & RF_FLAG_DATA_REPAIR)) {
			live++;
			continue;
		}
		if (fx.recs[i].kind == RF_SEED_TX_DATA) {
			repairs++;
			cr_assert_eq(fx.recs[i].seq, m.repair.base_seq);
			cr_assert(rf_addr_equal(&fx.recs[i].dst, &a[3]));
		}
	}
	cr_assert_eq(repairs, 1, "the repair went out in the first pump");
	cr_assert_geq(live, 6, "live kept three quarters of the pump");
	cr_assert_eq(st()->repairs_sent, 1);
}

/* A pump of 4 gives the repair one place: its SIGNATURE is owed, and
 * leads the next pump, after its data and before more live frames. */
Test(seed, a_repair_signature_owed_at_the_share_leads_the_next_pump)
{
	struct rf_seed_params p = defparams();
	struct rf_msg m = { .type = RF_MSG_REPAIR };
	struct rf_addr a = peer_addr(1), b = peer_addr(2);

	start_seed(&p);
	publish(64);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	subscribe(&a, 0xf, live_edge());
	subscribe(&b, 0xf, live_edge());
	pump_idle(64);
	publish(32);
	m.repair.base_seq = live_edge() - 40;
	m.repair.mask = 1;
	cr_assert_eq(send_msg(&a, m), RF_DROP_NONE);
	fx.nrecs = 0;
	cr_assert_eq(pump_once(4), 4);
	cr_assert_eq(fx.recs[0].kind, RF_SEED_TX_DATA);
	cr_assert(fx.recs[0].flags & RF_FLAG_DATA_REPAIR);
	for (size_t i = 1; i < 4; i++)
		cr_assert_eq(fx.recs[i].flags & RF_FLAG_DATA_REPAIR, 0, "then live");
	cr_assert_eq(pump_once(4), 4);
	cr_assert_eq(fx.recs[4].kind, RF_SEED_TX_SIGNATURE);
	cr_assert(fx.recs[4].flags & RF_FLAG_DATA_REPAIR);
	cr_assert(rf_addr_equal(&fx.recs[4].dst, &a));
	check_sig(fx.recs[4].sig_msg, fx.recs[4].sig_len, group_last(m.repair.base_seq));
}

Test(seed, keepalive_echoed_quality_stored)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	struct rf_msg m = { .type = RF_MSG_KEEPALIVE,
			    .keepalive.stamp = 0x0000019b5e1a2b3cULL };
	struct rf_msg q = { .type = RF_MSG_QUALITY,
			    .quality = { .continuity_ppm = 999500, .buffer_ms = 2100,
					 .upload_kbps = 2900, .parents = 4 } };

	start_seed(&p);
	connect_peer(&a, 1);
	cr_assert_eq(send_msg(&a, m), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_KEEPALIVE);
	cr_assert_eq(m.keepalive.stamp, 0x0000019b5e1a2b3cULL);
	cr_assert_eq(send_msg(&a, q), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(st()->quality_reports, 1);
	cr_assert_eq(view_of(&a).quality.continuity_ppm, 999500);
	cr_assert_eq(view_of(&a).quality.upload_kbps, 2900);
	cr_assert_eq(view_of(&a).quality.parents, 4);
}

/* The directory offers the sessions with room for a substream more that
 * have reported their level, the most spare first, then the other seeds. */
Test(seed, directory_offers_peers_with_room_and_a_level_then_seeds)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a[5];
	struct rf_msg q = { .type = RF_MSG_QUALITY,
			    .quality = { .upload_kbps = 2900, .level = 1 } };
	struct rf_msg m;
	struct rf_candidate other = { .substreams = 0xf, .spare_kbps = 9000 };
	uint8_t ip[4] = { 198, 51, 100, 9 };

	start_seed(&p);
	rf_addr_v4(&other.addr, ip, 4433);
	for (unsigned i = 1; i <= 4; i++) {
		a[i] = peer_addr(i);
		connect_peer(&a[i], i);
	}
	cr_assert_eq(send_msg(&a[2], q), RF_DROP_NONE);   /* 100 kbit/s left */
	q.quality.upload_kbps = 1000;
	q.quality.level = 3;
	cr_assert_eq(send_msg(&a[3], q), RF_DROP_NONE);
	q.quality.upload_kbps = 0;
	q.quality.level = 1;
	cr_assert_eq(send_msg(&a[1], q), RF_DROP_NONE);
	/* a[4] has not reported a level: not offered */
	rf_seed_directory_refresh(fx.seed, p.stream_bps, K, &other, 1);
	a[0] = peer_addr(5);
	connect_peer(&a[0], 5);
	out_msg(1, &m, &a[0]);
	cr_assert_eq(m.candidates.count, 3);
	cr_assert(rf_addr_equal(&m.candidates.entry[0].addr, &a[1]));
	cr_assert_eq(m.candidates.entry[0].spare_kbps, 3000);
	cr_assert_eq(m.candidates.entry[0].substreams, 0xf);
	cr_assert_eq(m.candidates.entry[0].level, 1);
	cr_assert(rf_addr_equal(&m.candidates.entry[1].addr, &a[3]));
	cr_assert_eq(m.candidates.entry[1].spare_kbps, 2000);
	cr_assert_eq(m.candidates.entry[1].level, 3);
	cr_assert(rf_addr_equal(&m.candidates.entry[2].addr, &other.addr));
	cr_assert_eq(m.candidates.entry[2].level, RF_LEVEL_SEED);
}

/* A relaying peer refuses a child the substreams it takes from that very
 * child (SHED): serving them back would be a loop with no source. */
static uint64_t feeds_us_substream_1(const void *ctx, const struct rf_addr *a)
{
	const struct rf_addr *parent = ctx;

	return rf_addr_equal(a, parent) ? 0x2 : 0;
}

Test(seed, relay_refuses_what_it_takes_from_the_child)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	struct rf_msg m;

	p.fed_by = feeds_us_substream_1;
	p.fed_by_ctx = &a;
	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	cr_assert_eq(subscribe(&a, 0x3, 0), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_UNSUBSCRIBE);
	cr_assert_eq(m.flags, RF_FLAG_UNSUB_SHED);
	cr_assert_eq(m.subscribe.substreams, 0x2);
	cr_assert_eq(view_of(&a).substreams, 0x1);
	cr_assert_eq(subscribe(&b, 0x3, 0), RF_DROP_NONE);
	cr_assert_eq(fx.out.count, 0);
	cr_assert_eq(view_of(&b).substreams, 0x3, "others get it");
}

Test(seed, messages_a_seed_does_not_take_are_dropped)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	static const uint8_t bits[2] = { 0xff, 0x80 }, payload[4] = { 1 };
	static const uint8_t sig[RF_SIG_LEN], hashes[RF_HASH_LEN];
	struct rf_msg msgs[] = {
		{ .type = RF_MSG_COOKIE },
		{ .type = RF_MSG_WELCOME, .welcome = { .chunk_size = 1316,
						       .substreams = 4, .group_size = 8 } },
		{ .type = RF_MSG_CANDIDATES },
		{ .type = RF_MSG_REDIRECT, .candidates.reason = 1 },
		{ .type = RF_MSG_DATA, .data = { .seq = 1, .len = 4, .payload = payload } },
		{ .type = RF_MSG_SIGNATURE, .signature = { .first_seq = 8, .count = 1,
							   .sig = sig, .hashes = hashes } },
		{ .type = RF_MSG_BUFFERMAP, .buffermap = { .base_seq = 1, .nbits = 9,
							   .bits = bits } },
	};

	start_seed(&p);
	connect_peer(&a, 1);
	for (unsigned i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		cr_assert_eq(send_msg(&a, msgs[i]), RF_DROP_BAD_FIELD);
		cr_assert_eq(fx.out.count, 0);
	}
	cr_assert_eq(st()->sessions, 1);
}

/* ---- timers and drain ---- */

Test(seed, silent_session_times_out_with_bye)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	struct rf_msg m;
	uint64_t t0 = fx.now;

	start_seed(&p);
	connect_peer(&a, 1);
	connect_peer(&b, 2);
	rf_seed_set_directory(fx.seed, NULL, 0); /* no offers: timeouts only */
	subscribe(&a, 0xf, live_edge());
	fx.now = t0 + 2000;
	send_msg(&b, (struct rf_msg){ .type = RF_MSG_KEEPALIVE });
	fx.now = t0 + 2999;
	fx.out.count = 0;
	rf_seed_timers(fx.seed, fx.now, &fx.out);
	cr_assert_eq(fx.out.count, 0);
	fx.now = t0 + 3000;
	rf_seed_timers(fx.seed, fx.now, &fx.out);
	cr_assert_eq(fx.out.count, 1);
	out_msg(0, &m, &a);
	cr_assert_eq(m.type, RF_MSG_BYE);
	cr_assert_eq(m.bye.reason, RF_REASON_TIMEOUT);
	cr_assert_eq(st()->timeouts, 1);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(st()->committed_bps, 0);
	cr_assert_eq(send_msg(&a, (struct rf_msg){ .type = RF_MSG_KEEPALIVE }),
		     RF_DROP_NO_SESSION);
	/* b is kept alive by its keepalive, then times out too */
	publish(8);
	pump_all(64);
	cr_assert_eq(count_to(0, &a, RF_SEED_TX_DATA), 0);
	fx.now = t0 + 5000;
	fx.out.count = 0;
	rf_seed_timers(fx.seed, fx.now, &fx.out);
	cr_assert_eq(fx.out.count, 1);
	cr_assert_eq(st()->sessions, 0);
}

Test(seed, timers_batch_their_byes)
{
	struct rf_seed_params p = defparams();
	unsigned calls = 0;

	start_seed(&p);
	for (unsigned i = 0; i < 30; i++) {
		struct rf_addr a = peer_addr(i);

		join_fast(&a, i);
		subscribe(&a, 1u << (i % K), live_edge());
	}
	fx.now += 10000;
	while (st()->sessions > 0) {
		fx.out.count = 0;
		rf_seed_timers(fx.seed, fx.now, &fx.out);
		cr_assert_leq(fx.out.count, RF_SEED_OUT_MAX);
		cr_assert_lt(++calls, 10);
	}
	cr_assert_eq(st()->timeouts, 30);
	cr_assert_eq(calls, 4);
}

Test(seed, drain_redirects_everyone)
{
	struct rf_seed_params p = defparams();
	struct rf_addr late = peer_addr(100);
	unsigned left = 20, calls = 0, redirected = 0;
	struct rf_msg m;

	start_seed(&p);
	for (unsigned i = 0; i < 20; i++) {
		struct rf_addr a = peer_addr(i);

		connect_peer(&a, i);
		subscribe(&a, 0xf, live_edge());
	}
	while (left > 0) {
		unsigned now_left;

		fx.out.count = 0;
		now_left = rf_seed_drain(fx.seed, fx.now, &fx.out);
		cr_assert_leq(fx.out.count, RF_SEED_OUT_MAX);
		cr_assert_eq(now_left, left - fx.out.count);
		for (unsigned i = 0; i < fx.out.count; i++) {
			out_msg(i, &m, NULL);
			cr_assert_eq(m.type, RF_MSG_REDIRECT);
			cr_assert_eq(m.candidates.reason, RF_REASON_DRAINING);
			cr_assert_gt(m.candidates.count, 0);
			for (unsigned j = 0; j < m.candidates.count; j++)
				cr_assert_not(rf_addr_equal(&m.candidates.entry[j].addr,
							    &fx.out.out[i].dst));
		}
		redirected += fx.out.count;
		left = now_left;
		cr_assert_lt(++calls, 10);
	}
	cr_assert_eq(redirected, 20);
	cr_assert_eq(st()->sessions, 0);
	cr_assert_eq(st()->committed_bps, 0);
	/* newcomers are sent elsewhere */
	cr_assert_eq(join_fast(&late, 1), RF_DROP_NONE);
	out_msg(0, &m, &late);
	cr_assert_eq(m.type, RF_MSG_REDIRECT);
	cr_assert_eq(m.candidates.reason, RF_REASON_DRAINING);
	cr_assert_eq(st()->sessions, 0);
	publish(8);
	cr_assert_eq(pump_all(64), 0);
}

/* ---- malformed input ---- */

static size_t build_all(uint8_t bufs[15][RF_MAX_DATAGRAM], size_t lens[15])
{
	static const uint8_t payload[8] = { 0x47 }, bits[2] = { 0xf0, 0x80 };
	static const uint8_t sig[RF_SIG_LEN], hashes[2 * RF_HASH_LEN];
	static uint8_t token[RF_TOKEN_LEN];
	struct rf_msg m[15] = {
		{ .type = RF_MSG_HELLO, .hello.peer_id = 1 },
		{ .type = RF_MSG_COOKIE },
		{ .type = RF_MSG_JOIN, .flags = RF_FLAG_JOIN_TOKEN,
		  .join.token = token },
		{ .type = RF_MSG_WELCOME, .welcome = { .chunk_size = 1316,
			.substreams = 4, .group_size = 8, .rap_count = 2 } },
		{ .type = RF_MSG_CANDIDATES, .candidates = { .count = 1 } },
		{ .type = RF_MSG_REDIRECT, .candidates = { .count = 1, .reason = 1 } },
		{ .type = RF_MSG_SUBSCRIBE, .subscribe = { 0xf, FIRST_SEQ } },
		{ .type = RF_MSG_UNSUBSCRIBE, .subscribe = { 0x1, 0 } },
		{ .type = RF_MSG_DATA, .data = { .seq = 1, .len = 8, .payload = payload } },
		{ .type = RF_MSG_SIGNATURE, .signature = { .first_seq = 8, .count = 2,
			.sig = sig, .hashes = hashes } },
		{ .type = RF_MSG_BUFFERMAP, .buffermap = { .base_seq = 1, .nbits = 9,
			.bits = bits } },
		{ .type = RF_MSG_REPAIR, .repair = { FIRST_SEQ, 3 } },
		{ .type = RF_MSG_QUALITY },
		{ .type = RF_MSG_KEEPALIVE },
		{ .type = RF_MSG_BYE },
	};

	m[4].candidates.entry[0].addr = peer_addr(9);
	m[5].candidates.entry[0].addr = peer_addr(9);
	for (unsigned i = 0; i < 15; i++)
		lens[i] = enc(&m[i], bufs[i]);
	return 15;
}

Test(seed, truncated_and_corrupted_headers_counted)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), u = peer_addr(2);
	static uint8_t bufs[15][RF_MAX_DATAGRAM];
	size_t lens[15], n = build_all(bufs, lens), fed = 0, dropped = 0;

	start_seed(&p);
	connect_peer(&a, 1);
	for (size_t t = 0; t < n; t++) {
		uint8_t tmp[RF_MAX_DATAGRAM + 8] = { 0 };

		/* every truncation, from a session and from a stranger */
		for (size_t len = 0; len < lens[t]; len++) {
			cr_assert_neq(feed(&a, bufs[t], len), RF_DROP_NONE,
				      "type %zu len %zu", t + 1, len);
			cr_assert_neq(feed(&u, bufs[t], len), RF_DROP_NONE);
			cr_assert_eq(fx.out.count, 0);
			fed += 2;
		}
		/* every header field class */
		memcpy(tmp, bufs[t], lens[t]);
		tmp[0] ^= 0x01;
		cr_assert_eq(feed(&a, tmp, lens[t]), RF_DROP_BAD_MAGIC);
		tmp[0] ^= 0x01;
		tmp[2] = 2;
		cr_assert_eq(feed(&a, tmp, lens[t]), RF_DROP_BAD_VERSION);
		tmp[2] = 1;
		tmp[3] = 0;
		cr_assert_eq(feed(&a, tmp, lens[t]), RF_DROP_UNKNOWN_TYPE);
		tmp[3] = 16;
		cr_assert_eq(feed(&a, tmp, lens[t]), RF_DROP_UNKNOWN_TYPE);
		tmp[3] = bufs[t][3];
		rf_put16(tmp + 6, (uint16_t)(lens[t] - RF_HDR_LEN + 1));
		cr_assert_eq(feed(&a, tmp, lens[t]), RF_DROP_BAD_LENGTH);
		cr_assert_eq(feed(&a, tmp, RF_MAX_DATAGRAM + 1), RF_DROP_OVERSIZE);
		fed += 6;
	}
	for (unsigned r = 0; r < RF_DROP_MAX; r++)
		dropped += st()->drops[r];
	cr_assert_eq(dropped, fed);
	cr_assert_eq(st()->sessions, 1);
	cr_assert_eq(st()->unvalidated_tx_bytes, RF_HDR_LEN + 28); /* one COOKIE */
}

Test(seed, random_corruption_never_crashes)
{
	struct rf_seed_params p = defparams();
	static uint8_t bufs[15][RF_MAX_DATAGRAM];
	size_t lens[15], n = build_all(bufs, lens);
	uint64_t x = 0x9e3779b97f4a7c15ULL, accepted = 0, dropped = 0;

	start_seed(&p);
	publish(64);
	for (unsigned i = 0; i < 30000; i++) {
		struct rf_addr a = peer_addr(i % 7);
		uint8_t tmp[RF_MAX_DATAGRAM];
		size_t t, len;

		if (i % 500 == 0 && join_fast(&a, i) == RF_DROP_NONE)
			accepted++; /* sessions come and go */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = x % n;
		len = lens[t];
		memcpy(tmp, bufs[t], len);
		rf_put64(tmp + RF_OFF_STREAM, fx.stream);
		for (unsigned k = 0; k < 1 + (x >> 8) % 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			tmp[x % len] ^= (uint8_t)(1u << ((x >> 20) % 8));
		}
		if ((x >> 30) % 4 == 0)
			len = (size_t)((x >> 34) % (len + 1));
		if (feed(&a, tmp, len) == RF_DROP_NONE)
			accepted++;
		cr_assert_leq(fx.out.count, RF_SEED_OUT_MAX);
		cr_assert_leq(st()->unvalidated_tx_bytes, st()->unvalidated_rx_bytes);
		if (i % 64 == 0) {
			publish(1);
			pump_all(256);
			fx.now += 50;
			fx.out.count = 0;
			rf_seed_timers(fx.seed, fx.now, &fx.out);
		}
	}
	for (unsigned r = 0; r < RF_DROP_MAX; r++)
		dropped += st()->drops[r];
	cr_assert_eq(accepted + dropped, st()->rx_packets);
}

/* ---- scale and resumption ---- */

Test(seed, ten_thousand_sessions_one_descriptor_per_subscriber)
{
	struct rf_seed_params p = defparams();
	enum { N = 10000 };
	static unsigned per_seq[64], per_sub[K];
	unsigned sigs = 0, data = 0;
	uint64_t start, end;

	p.max_sessions = N;
	start_seed(&p);
	start = live_edge();
	for (unsigned i = 0; i < N; i++) {
		struct rf_addr a = peer_addr(i);
		uint64_t mask = 1 + i % 15;

		cr_assert_eq(join_fast(&a, i), RF_DROP_NONE);
		cr_assert_eq(subscribe(&a, mask, start), RF_DROP_NONE);
		for (unsigned k = 0; k < K; k++)
			per_sub[k] += (mask >> k) & 1;
	}
	cr_assert_eq(st()->sessions, N);
	publish(16 - (unsigned)(start % 8)); /* to a group boundary, twice */
	end = live_edge();
	pump_all(4096);
	for (size_t i = 0; i < fx.nrecs; i++) {
		if (fx.recs[i].kind == RF_SEED_TX_DATA) {
			per_seq[fx.recs[i].seq - start]++;
			data++;
		} else {
			sigs++;
		}
	}
	for (uint64_t q = start; q < end; q++)
		cr_assert_eq(per_seq[q - start], per_sub[q % K], "seq %lu",
			     (unsigned long)q);
	cr_assert_eq(sigs, 2 * N, "a SIGNATURE per group per session");
	for (unsigned i = 0; i < N; i += 997) {
		struct rf_addr a = peer_addr(i);

		check_stream(0, &a, start, end, 1 + i % 15);
	}
	/* timers with this many sessions stay cheap: a slice per call */
	fx.out.count = 0;
	rf_seed_timers(fx.seed, fx.now, &fx.out);
	cr_assert_eq(fx.out.count, 0);
	(void)data;
}

Test(seed, small_tx_resumes_exactly)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a[6];
	uint64_t mask[6] = { 0xf, 0x1, 0x6, 0x8, 0xf, 0x5 }, start[6];

	p.catchup_per_pump = 3;
	start_seed(&p);
	publish(30);
	for (unsigned i = 0; i < 6; i++) {
		a[i] = peer_addr(i + 1);
		connect_peer(&a[i], i + 1);
	}
	pump_all(64); /* the live fan-out is at the edge now */
	/* live ones, one ahead of the edge, catch-up ones, mid-stream */
	start[0] = live_edge();
	start[1] = live_edge();
	start[2] = live_edge() + 3;
	start[3] = live_edge() - 20;
	for (unsigned i = 0; i < 4; i++)
		subscribe(&a[i], mask[i], start[i]);
	for (unsigned round = 0; round < 40; round++) {
		publish(1 + round % 3);
		pump_once(3); /* never drained in one go */
		if (round == 10) {
			start[4] = live_edge() - 13;
			subscribe(&a[4], mask[4], start[4]);
		}
		if (round == 20) {
			struct rf_msg m = { .type = RF_MSG_REPAIR,
					    .repair = { live_edge() - 5, 0x3 } };

			send_msg(&a[5], m);
			start[5] = live_edge();
			subscribe(&a[5], mask[5], start[5]);
		}
	}
	while (pump_once(3) == 3)
		;
	for (unsigned i = 0; i < 6; i++)
		check_stream(0, &a[i], start[i], live_edge(), mask[i]);
	cr_assert_eq(st()->repairs_sent, 2);
	cr_assert_eq(st()->fanout_skipped, 0);
	cr_assert_eq(st()->sigs_missed, 0);
}

/* A session the live pass went by (its start was ahead) moves its start
 * back to the very chunk that pass is half way through: it must still get
 * that chunk, from catch-up. */
Test(seed, resubscribe_to_the_chunk_being_fanned_out)
{
	struct rf_seed_params p = defparams();
	struct rf_addr f = peer_addr(1), a = peer_addr(2), b = peer_addr(3);
	uint64_t s0;

	start_seed(&p);
	connect_peer(&f, 1);
	connect_peer(&a, 2);
	connect_peer(&b, 3);
	s0 = live_edge();
	subscribe(&f, 0xf, s0 + 5); /* first on every list, start ahead */
	subscribe(&a, 0xf, s0);
	subscribe(&b, 0xf, s0);
	publish(1);
	cr_assert_eq(pump_once(1), 1); /* f passed over, a served, b not yet */
	cr_assert(rf_addr_equal(&fx.recs[0].dst, &a));
	cr_assert_eq(subscribe(&f, 0xf, s0), RF_DROP_NONE);
	publish(20);
	pump_idle(64);
	check_stream(0, &f, s0, live_edge(), 0xf);
	check_stream(0, &a, s0, live_edge(), 0xf);
	check_stream(0, &b, s0, live_edge(), 0xf);
}

/* Sessions come and go by the thousand: the address table (backward-shift
 * deletion) and the lists (lazy removal, compaction) stay exact. */
Test(seed, churn_keeps_table_and_lists_exact)
{
	struct rf_seed_params p = defparams();
	enum { N = 3000 };
	static bool alive[N];
	uint64_t x = 12345, start;
	unsigned n_alive = 0;
	size_t mark;

	p.max_sessions = 1000;
	start_seed(&p);
	for (unsigned round = 0; round < 20000; round++) {
		unsigned i;
		struct rf_addr a;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (unsigned)(x % N);
		a = peer_addr(i);
		if (alive[i]) {
			if (x >> 40 & 1) {
				send_msg(&a, (struct rf_msg){ .type = RF_MSG_BYE });
				alive[i] = false;
				n_alive--;
			} else {
				subscribe(&a, 1 + (x >> 20) % 15, live_edge());
			}
		} else if (n_alive < p.max_sessions) {
			cr_assert_eq(join_fast(&a, i), RF_DROP_NONE);
			cr_assert_eq(fx.out.count, 2);
			alive[i] = true;
			n_alive++;
			subscribe(&a, 1 + (x >> 24) % 15, live_edge());
		}
		cr_assert_eq(st()->sessions, n_alive);
		if (round % 97 == 0) {
			publish(1);
			pump_all(4096);
			fx.out.count = 0;
			rf_seed_timers(fx.seed, fx.now, &fx.out);
		}
	}
	/* every live session is found, every dead one is not */
	for (unsigned i = 0; i < N; i++) {
		struct rf_addr a = peer_addr(i);

		cr_assert_eq(send_msg(&a, (struct rf_msg){ .type = RF_MSG_KEEPALIVE }),
			     alive[i] ? RF_DROP_NONE : RF_DROP_NO_SESSION);
	}
	/* and each gets exactly its substreams from here on */
	pump_all(4096);
	mark = fx.nrecs;
	start = live_edge();
	for (unsigned i = 0; i < N; i++) {
		struct rf_addr a = peer_addr(i);

		if (alive[i])
			subscribe(&a, 1 + i % 15, start);
	}
	publish(16);
	pump_all(100);
	for (unsigned i = 0; i < N; i++) {
		struct rf_addr a = peer_addr(i);

		if (alive[i])
			check_stream(mark, &a, start, live_edge(), view_of(&a).substreams);
		else
			cr_assert_eq(count_to(mark, &a, RF_SEED_TX_DATA), 0);
	}
}

/* A live pass paused with a gap (dropped entries behind it) whose chunk is
 * then overwritten: the pass is abandoned and the gap closed, nobody is
 * lost or doubled. */
Test(seed, abandoned_live_pass_closes_its_gap)
{
	struct rf_seed_params p = defparams();
	struct rf_addr d = peer_addr(1), a = peer_addr(2), b = peer_addr(3),
		       c = peer_addr(4);
	uint64_t from;
	size_t mark;

	start_seed(&p);
	connect_peer(&d, 1);
	connect_peer(&a, 2);
	connect_peer(&b, 3);
	connect_peer(&c, 4);
	subscribe(&d, 0xf, live_edge());
	subscribe(&a, 0xf, live_edge());
	subscribe(&b, 0xf, live_edge());
	subscribe(&c, 0xf, live_edge());
	unsubscribe(&d, 0xf); /* a dead entry at the head of every list */
	publish(1);
	cr_assert_eq(pump_once(1), 1); /* d dropped, a served: paused */
	publish(SLOTS + 10);           /* that chunk is gone now */
	mark = fx.nrecs;
	from = rf_chunk_store_oldest(fx.store);
	pump_idle(4096);
	cr_assert_eq(st()->fanout_skipped, 1 + 10);
	check_stream(mark, &a, from, live_edge(), 0xf);
	check_stream(mark, &b, from, live_edge(), 0xf);
	check_stream(mark, &c, from, live_edge(), 0xf);
	cr_assert_eq(count_to(0, &d, RF_SEED_TX_DATA), 0);
}

/* The timers' compaction stops half way through a long list; the fan-out
 * then needs that list and takes it over. */
Test(seed, fanout_takes_over_a_half_compacted_list)
{
	struct rf_seed_params p = defparams();
	enum { N = 9000 };
	uint64_t start;

	p.max_sessions = N;
	start_seed(&p);
	start = live_edge();
	for (unsigned i = 0; i < N; i++) {
		struct rf_addr a = peer_addr(i);

		cr_assert_eq(join_fast(&a, i), RF_DROP_NONE);
		subscribe(&a, 0x3, start);
	}
	for (unsigned i = 1; i < N; i += 2) {
		struct rf_addr a = peer_addr(i);

		unsubscribe(&a, 0x1); /* odd ones leave substream 0 */
	}
	fx.out.count = 0;
	rf_seed_timers(fx.seed, fx.now, &fx.out); /* > one call's budget */
	while (live_edge() % K != 0)
		publish(1);
	start = live_edge();
	publish(2); /* substreams 0 and 1 */
	pump_idle(4096);
	{
		static unsigned got0[N], got1[N];
		unsigned n0 = 0, n1 = 0;

		for (size_t r = 0; r < fx.nrecs; r++) {
			const struct rec *x = &fx.recs[r];
			unsigned i;

			if (x->kind != RF_SEED_TX_DATA || x->seq < start)
				continue;
			i = (unsigned)(x->dst.ip[2] << 8 | x->dst.ip[3]);
			cr_assert_lt(i, N);
			if (x->seq == start) {
				got0[i]++;
				n0++;
			} else {
				got1[i]++;
				n1++;
			}
		}
		for (unsigned i = 0; i < N; i++) {
			cr_assert_eq(got0[i], i % 2 == 0 ? 1 : 0, "peer %u", i);
			cr_assert_eq(got1[i], 1, "peer %u", i);
		}
		cr_assert_eq(n0, N / 2);
		cr_assert_eq(n1, N);
	}
}

Test(seed, full_outbox_drops_and_counts)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1);
	uint8_t c[RF_COOKIE_LEN], buf[RF_MAX_DATAGRAM];
	struct rf_msg m = { .type = RF_MSG_JOIN };
	size_t n;

	start_seed(&p);
	make_cookie(c, &a, 1, fx.now);
	m.join.peer_id = 1;
	memcpy(m.join.cookie, c, RF_COOKIE_LEN);
	n = enc(&m, buf);
	fx.out.count = RF_SEED_OUT_MAX - 1; /* room for one more */
	cr_assert_eq(rf_seed_input(fx.seed, fx.now, &a, buf, n, &fx.out),
		     RF_DROP_NONE);
	cr_assert_eq(fx.out.count, RF_SEED_OUT_MAX);
	cr_assert_eq(fx.out.out[RF_SEED_OUT_MAX - 1].buf[RF_OFF_TYPE], RF_MSG_WELCOME);
	cr_assert_eq(st()->out_overflow, 1, "the CANDIDATES did not fit");
	cr_assert_eq(st()->sessions, 1);
	/* no outbox at all: same, nothing written */
	m = (struct rf_msg){ .type = RF_MSG_KEEPALIVE };
	n = enc(&m, buf);
	cr_assert_eq(rf_seed_input(fx.seed, fx.now, &a, buf, n, NULL), RF_DROP_NONE);
	cr_assert_eq(st()->out_overflow, 2);
}

/* ---- deny list ---- */

Test(seed, deny_list_refuses_new_and_ends_existing)
{
	struct rf_seed_params p = defparams();
	struct rf_addr a = peer_addr(1), b = peer_addr(2);
	struct rf_seed_deny d = { .family = a.family, .prefix_len = 32 };
	struct rf_msg m = { .type = RF_MSG_HELLO };

	start_seed(&p);
	publish(64);
	connect_peer(&a, 1);
	cr_assert_eq(st()->sessions, 1);
	memcpy(d.ip, a.ip, 16);
	cr_assert_eq(rf_seed_set_deny(fx.seed, &d, 1), 0);
	/* a new HELLO from the prefix gets nothing */
	cr_assert_eq(send_msg(&a, m), RF_DROP_DENIED);
	cr_assert_eq(fx.out.count, 0);
	/* the existing session is told and ended by the timers */
	fx.out.count = 0;
	rf_seed_timers(fx.seed, fx.now, &fx.out);
	cr_assert_eq(st()->sessions, 0);
	cr_assert_eq(st()->denied_ended, 1);
	cr_assert_eq(fx.out.count, 1);
	/* others are untouched */
	connect_peer(&b, 2);
	cr_assert_eq(st()->sessions, 1);
	/* bad lists are refused whole */
	d.prefix_len = 33;
	cr_assert_eq(rf_seed_set_deny(fx.seed, &d, 1), -EINVAL);
	cr_assert_eq(rf_seed_set_deny(fx.seed, &d, RF_SEED_DENY_MAX + 1), -EINVAL);
	/* an empty list lets everyone in again */
	cr_assert_eq(rf_seed_set_deny(fx.seed, NULL, 0), 0);
	connect_peer(&a, 3);
	cr_assert_eq(st()->sessions, 2);
}
