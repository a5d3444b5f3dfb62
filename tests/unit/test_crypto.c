/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cookies, join tokens, stream ids, chunk hashes and group signatures.
 * The "layout" tests rebuild each format by hand from PROTOCOL.md, so a
 * change to the bytes on the wire cannot slip through as a refactor.
 * Keys come from fixed seeds: every run signs and checks the same bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "crypto.h"

/* T (*)[N] to const T (*)[N] needs a cast in ISO C before C23. */
#define HASHES(h) ((const uint8_t(*)[RF_HASH_LEN])(h))

static void rf_test_setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void addr_v4(struct rf_addr *a, const char *ip, uint16_t port)
{
	uint8_t b[4];

	cr_assert_eq(inet_pton(AF_INET, ip, b), 1);
	rf_addr_v4(a, b, port);
}

static void addr_v6(struct rf_addr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = RF_AF_INET6;
	a->port = port;
	cr_assert_eq(inet_pton(AF_INET6, ip, a->ip), 1);
}

/* ---- Cookies ---- */

#define C_PEER 0x1122334455667788ull
#define C_STREAM 0xabcdef0123456789ull
#define C_NOW 1700000000ull
#define C_LIFE 10u

static uint8_t c_secret[RF_SECRET_LEN];
static struct rf_addr c_src;
static uint8_t c_cookie[RF_COOKIE_LEN];

static void cookie_setup(void)
{
	rf_test_setup();
	fill(c_secret, sizeof(c_secret), 1);
	addr_v4(&c_src, "192.0.2.10", 5000);
	rf_cookie_make(c_cookie, c_secret, &c_src, C_PEER, C_STREAM, C_NOW);
}

static enum rf_drop cookie_check_at(uint64_t now)
{
	return rf_cookie_check(c_cookie, c_secret, &c_src, C_PEER, C_STREAM,
			       now, C_LIFE);
}

TestSuite(cookie, .init = cookie_setup);

Test(cookie, layout)
{
	/* "RFc1" | family | port | ip[16] | peer_id | stream_id | t */
	const uint8_t m[43] = {
		'R', 'F', 'c', '1', 4, 0x13, 0x88,
		192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
		0x65, 0x53, 0xf1, 0x00, /* 1700000000 */
	};
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(mac, m, sizeof(m), c_secret);
	cr_assert_arr_eq(c_cookie, m + 39, 4);
	cr_assert_arr_eq(c_cookie + 4, mac, 16);
}

Test(cookie, accepted_within_lifetime)
{
	cr_assert_eq(cookie_check_at(C_NOW), RF_DROP_NONE);
	cr_assert_eq(cookie_check_at(C_NOW + 1), RF_DROP_NONE);
	cr_assert_eq(cookie_check_at(C_NOW + C_LIFE), RF_DROP_NONE);
}

Test(cookie, expired_after_lifetime)
{
	cr_assert_eq(cookie_check_at(C_NOW + C_LIFE + 1),
		     RF_DROP_COOKIE_EXPIRED);
	cr_assert_eq(cookie_check_at(C_NOW + 86400), RF_DROP_COOKIE_EXPIRED);
}

Test(cookie, from_the_future)
{
	cr_assert_eq(cookie_check_at(C_NOW - 1), RF_DROP_COOKIE_EXPIRED);
	cr_assert_eq(cookie_check_at(C_NOW - 3600), RF_DROP_COOKIE_EXPIRED);
}

Test(cookie, zero_lifetime_only_at_issue)
{
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &c_src, C_PEER,
				     C_STREAM, C_NOW, 0), RF_DROP_NONE);
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &c_src, C_PEER,
				     C_STREAM, C_NOW + 1, 0),
		     RF_DROP_COOKIE_EXPIRED);
}

Test(cookie, u32_time_wraps)
{
	const uint64_t t = 0x1fffffff0ull; /* u32 part 0xfffffff0 */
	uint8_t c[RF_COOKIE_LEN];

	rf_cookie_make(c, c_secret, &c_src, C_PEER, C_STREAM, t);
	cr_assert_eq(rf_get32(c), 0xfffffff0u);
	cr_assert_eq(rf_cookie_check(c, c_secret, &c_src, C_PEER, C_STREAM,
				     t + 0x15, 30), RF_DROP_NONE);
	cr_assert_eq(rf_cookie_check(c, c_secret, &c_src, C_PEER, C_STREAM,
				     t + 31, 30), RF_DROP_COOKIE_EXPIRED);
}

Test(cookie, bound_to_inputs)
{
	struct rf_addr a = c_src;
	uint8_t other[RF_SECRET_LEN];

	a.ip[3] ^= 1;
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &a, C_PEER, C_STREAM,
				     C_NOW, C_LIFE), RF_DROP_BAD_COOKIE);
	a = c_src;
	a.port++;
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &a, C_PEER, C_STREAM,
				     C_NOW, C_LIFE), RF_DROP_BAD_COOKIE);
	/* Same 16 bytes, other family: v4 192.0.2.10 is not ::c000:20a. */
	a = c_src;
	a.family = RF_AF_INET6;
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &a, C_PEER, C_STREAM,
				     C_NOW, C_LIFE), RF_DROP_BAD_COOKIE);
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &c_src, C_PEER + 1,
				     C_STREAM, C_NOW, C_LIFE),
		     RF_DROP_BAD_COOKIE);
	cr_assert_eq(rf_cookie_check(c_cookie, c_secret, &c_src, C_PEER,
				     C_STREAM ^ 1, C_NOW, C_LIFE),
		     RF_DROP_BAD_COOKIE);
	fill(other, sizeof(other), 2);
	cr_assert_eq(rf_cookie_check(c_cookie, other, &c_src, C_PEER,
				     C_STREAM, C_NOW, C_LIFE),
		     RF_DROP_BAD_COOKIE);
}

Test(cookie, v6_source)
{
	struct rf_addr a, b;
	uint8_t c[RF_COOKIE_LEN];

	addr_v6(&a, "2001:db8::1", 443);
	addr_v6(&b, "2001:db8::2", 443);
	rf_cookie_make(c, c_secret, &a, C_PEER, C_STREAM, C_NOW);
	cr_assert_eq(rf_cookie_check(c, c_secret, &a, C_PEER, C_STREAM,
				     C_NOW + 5, C_LIFE), RF_DROP_NONE);
	cr_assert_eq(rf_cookie_check(c, c_secret, &b, C_PEER, C_STREAM,
				     C_NOW + 5, C_LIFE), RF_DROP_BAD_COOKIE);
}

Test(cookie, every_bit_flip_refused)
{
	/* The MAC covers t too, so even a flipped time bit is a forgery. */
	for (unsigned bit = 0; bit < RF_COOKIE_LEN * 8; bit++) {
		uint8_t c[RF_COOKIE_LEN];

		memcpy(c, c_cookie, sizeof(c));
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(rf_cookie_check(c, c_secret, &c_src, C_PEER,
					     C_STREAM, C_NOW, C_LIFE),
			     RF_DROP_BAD_COOKIE, "bit %u accepted", bit);
	}
}

/* ---- Join tokens ---- */

#define T_STREAM 0x0102030405060708ull
#define T_EXPIRY 1700003600ull
#define T_NOW 1700000000ull

static struct rf_token_keys t_ring;

static void token_setup(void)
{
	rf_test_setup();
	memset(&t_ring, 0, sizeof(t_ring));
	fill(t_ring.key[1], RF_SECRET_LEN, 10);
	t_ring.present[1] = 1;
	fill(t_ring.key[2], RF_SECRET_LEN, 20);
	t_ring.present[2] = 1;
}

TestSuite(token, .init = token_setup);

static struct rf_token_fields any_fields(uint8_t key_id)
{
	struct rf_token_fields f = {
		.key_id = key_id,
		.family = 0,
		.prefix_len = 0,
		.stream_id = T_STREAM,
		.expiry_s = T_EXPIRY,
	};
	return f;
}

static void make_ok(uint8_t tok[RF_TOKEN_LEN], const struct rf_token_fields *f)
{
	cr_assert_eq(rf_token_make(tok, f, t_ring.key[f->key_id]), 0);
}

static enum rf_drop check_from(const uint8_t tok[RF_TOKEN_LEN],
			       const struct rf_addr *src, uint64_t now)
{
	return rf_token_check(tok, &t_ring, T_STREAM, src, now);
}

Test(token, layout)
{
	struct rf_token_fields f = any_fields(1);
	uint8_t tok[RF_TOKEN_LEN], mac[crypto_auth_hmacsha256_BYTES];
	const uint8_t head[36] = {
		1, 1, RF_AF_INET, 24,
		198, 51, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xff, 0x10, /* 1700003600 */
	};

	f.family = RF_AF_INET;
	f.prefix_len = 24;
	cr_assert_eq(inet_pton(AF_INET, "198.51.100.0", f.prefix_ip), 1);
	make_ok(tok, &f);
	crypto_auth_hmacsha256(mac, head, sizeof(head), t_ring.key[1]);
	cr_assert_arr_eq(tok, head, sizeof(head));
	cr_assert_arr_eq(tok + 36, mac, sizeof(mac));
}

Test(token, valid_any_address)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr v4, v6;
	uint8_t tok[RF_TOKEN_LEN];

	addr_v4(&v4, "203.0.113.9", 1234);
	addr_v6(&v6, "2001:db8::9", 1234);
	make_ok(tok, &f);
	cr_assert_eq(check_from(tok, &v4, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok, &v6, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok, &v4, T_EXPIRY - 1), RF_DROP_NONE);
}

Test(token, expired)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr a;
	uint8_t tok[RF_TOKEN_LEN];

	addr_v4(&a, "203.0.113.9", 1234);
	make_ok(tok, &f);
	cr_assert_eq(check_from(tok, &a, T_EXPIRY), RF_DROP_TOKEN_EXPIRED);
	cr_assert_eq(check_from(tok, &a, T_EXPIRY + 1), RF_DROP_TOKEN_EXPIRED);
}

Test(token, prefix_v4)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr in, edge, out, v6;
	uint8_t tok[RF_TOKEN_LEN];

	f.family = RF_AF_INET;
	f.prefix_len = 24;
	cr_assert_eq(inet_pton(AF_INET, "198.51.100.0", f.prefix_ip), 1);
	make_ok(tok, &f);
	addr_v4(&in, "198.51.100.77", 9000);
	addr_v4(&edge, "198.51.100.255", 9000);
	addr_v4(&out, "198.51.101.77", 9000);
	addr_v6(&v6, "::ffff:198.51.100.77", 9000);
	cr_assert_eq(check_from(tok, &in, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok, &edge, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok, &out, T_NOW), RF_DROP_TOKEN_PREFIX);
	cr_assert_eq(check_from(tok, &v6, T_NOW), RF_DROP_TOKEN_PREFIX);
}

Test(token, prefix_v6)
{
	struct rf_token_fields f = any_fields(2);
	struct rf_addr in, out, v4;
	uint8_t tok[RF_TOKEN_LEN];

	f.family = RF_AF_INET6;
	f.prefix_len = 48;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8:1234::", f.prefix_ip), 1);
	make_ok(tok, &f);
	addr_v6(&in, "2001:db8:1234:ffff::1", 9000);
	addr_v6(&out, "2001:db8:1235::1", 9000);
	addr_v4(&v4, "32.1.13.184", 9000); /* 2001:0db8 read as v4 */
	cr_assert_eq(check_from(tok, &in, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok, &out, T_NOW), RF_DROP_TOKEN_PREFIX);
	cr_assert_eq(check_from(tok, &v4, T_NOW), RF_DROP_TOKEN_PREFIX);
}

Test(token, key_id_absent)
{
	struct rf_token_fields f = any_fields(7);
	struct rf_addr a;
	uint8_t key[RF_SECRET_LEN], tok[RF_TOKEN_LEN];

	addr_v4(&a, "203.0.113.9", 1234);
	fill(key, sizeof(key), 70);
	cr_assert_eq(rf_token_make(tok, &f, key), 0);
	cr_assert_eq(check_from(tok, &a, T_NOW), RF_DROP_TOKEN_KEY);
}

Test(token, key_rotation)
{
	struct rf_token_fields f1 = any_fields(1), f2 = any_fields(2);
	struct rf_addr a;
	uint8_t tok1[RF_TOKEN_LEN], tok2[RF_TOKEN_LEN];

	addr_v4(&a, "203.0.113.9", 1234);
	make_ok(tok1, &f1);
	make_ok(tok2, &f2);
	cr_assert_eq(check_from(tok1, &a, T_NOW), RF_DROP_NONE);
	cr_assert_eq(check_from(tok2, &a, T_NOW), RF_DROP_NONE);

	/* Retire key 1: its tokens stop working, key 2's do not. */
	t_ring.present[1] = 0;
	cr_assert_eq(check_from(tok1, &a, T_NOW), RF_DROP_TOKEN_KEY);
	cr_assert_eq(check_from(tok2, &a, T_NOW), RF_DROP_NONE);
}

Test(token, wrong_key_for_id)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr a;
	uint8_t tok[RF_TOKEN_LEN];

	/* Made under id 1 but with key 2's secret. */
	addr_v4(&a, "203.0.113.9", 1234);
	cr_assert_eq(rf_token_make(tok, &f, t_ring.key[2]), 0);
	cr_assert_eq(check_from(tok, &a, T_NOW), RF_DROP_BAD_TOKEN);
}

Test(token, wrong_stream)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr a;
	uint8_t tok[RF_TOKEN_LEN];

	addr_v4(&a, "203.0.113.9", 1234);
	make_ok(tok, &f);
	cr_assert_eq(rf_token_check(tok, &t_ring, T_STREAM + 1, &a, T_NOW),
		     RF_DROP_UNKNOWN_STREAM);
}

Test(token, every_bit_flip_refused)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr a;
	uint8_t tok[RF_TOKEN_LEN];

	f.family = RF_AF_INET;
	f.prefix_len = 24;
	cr_assert_eq(inet_pton(AF_INET, "198.51.100.0", f.prefix_ip), 1);
	addr_v4(&a, "198.51.100.77", 9000);
	/* Every key id present, so a flipped key id reaches the MAC too. */
	for (unsigned id = 0; id < 256; id++) {
		fill(t_ring.key[id], RF_SECRET_LEN, (uint8_t)id);
		t_ring.present[id] = 1;
	}
	make_ok(tok, &f);
	cr_assert_eq(check_from(tok, &a, T_NOW), RF_DROP_NONE);
	for (unsigned bit = 0; bit < RF_TOKEN_LEN * 8; bit++) {
		uint8_t t[RF_TOKEN_LEN];

		memcpy(t, tok, sizeof(t));
		t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN,
			     "bit %u accepted", bit);
	}
}

Test(token, make_rejects_bad_fields)
{
	struct rf_token_fields f = any_fields(1);
	uint8_t tok[RF_TOKEN_LEN];
	const struct {
		uint8_t family, prefix_len;
		int ret;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, 1, -EINVAL },
		{ 0, 8, -EINVAL },
		{ RF_AF_INET, 0, 0 },
		{ RF_AF_INET, 32, 0 },
		{ RF_AF_INET, 33, -EINVAL },
		{ RF_AF_INET6, 0, 0 },
		{ RF_AF_INET6, 128, 0 },
		{ RF_AF_INET6, 129, -EINVAL },
		{ RF_AF_INET6, 255, -EINVAL },
		{ 1, 0, -EINVAL },
		{ 5, 0, -EINVAL },
		{ 255, 0, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.family = cases[i].family;
		f.prefix_len = cases[i].prefix_len;
		cr_assert_eq(rf_token_make(tok, &f, t_ring.key[1]),
			     cases[i].ret, "family %u prefix %u",
			     cases[i].family, cases[i].prefix_len);
	}
}

/* Rewrite a token's head and re-MAC it, as an attacker holding the key
 * (or a buggy issuer) could: check must still refuse malformed fields. */
static void remac(uint8_t tok[RF_TOKEN_LEN], uint8_t key_id)
{
	crypto_auth_hmacsha256(tok + 36, tok, 36, t_ring.key[key_id]);
}

Test(token, check_rejects_malformed_even_with_valid_mac)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr a;
	uint8_t tok[RF_TOKEN_LEN], t[RF_TOKEN_LEN];

	addr_v4(&a, "203.0.113.9", 1234);
	make_ok(tok, &f);

	memcpy(t, tok, sizeof(t));
	t[0] = 2; /* version */
	remac(t, 1);
	cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN);

	memcpy(t, tok, sizeof(t));
	t[2] = 5; /* family */
	remac(t, 1);
	cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN);

	memcpy(t, tok, sizeof(t));
	t[3] = 8; /* a prefix on "any address" */
	remac(t, 1);
	cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN);

	memcpy(t, tok, sizeof(t));
	t[2] = RF_AF_INET;
	t[3] = 33;
	remac(t, 1);
	cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN);

	memcpy(t, tok, sizeof(t));
	t[2] = RF_AF_INET6;
	t[3] = 129;
	remac(t, 1);
	cr_assert_eq(check_from(t, &a, T_NOW), RF_DROP_BAD_TOKEN);
}

Test(token, check_order)
{
	struct rf_token_fields f = any_fields(1);
	struct rf_addr out;
	uint8_t tok[RF_TOKEN_LEN];

	/* Malformed before unknown key. */
	make_ok(tok, &f);
	tok[0] = 2;
	tok[1] = 9;
	addr_v4(&out, "203.0.113.9", 1234);
	cr_assert_eq(check_from(tok, &out, T_NOW), RF_DROP_BAD_TOKEN);

	/* Wrong stream before expired, expired before outside the prefix. */
	f.family = RF_AF_INET;
	f.prefix_len = 24;
	cr_assert_eq(inet_pton(AF_INET, "198.51.100.0", f.prefix_ip), 1);
	make_ok(tok, &f);
	cr_assert_eq(rf_token_check(tok, &t_ring, T_STREAM + 1, &out,
				    T_EXPIRY), RF_DROP_UNKNOWN_STREAM);
	cr_assert_eq(check_from(tok, &out, T_EXPIRY), RF_DROP_TOKEN_EXPIRED);
	cr_assert_eq(check_from(tok, &out, T_NOW), RF_DROP_TOKEN_PREFIX);
}

/* ---- Stream id, chunk hashes, group signatures ---- */

#define G_CHUNKS 4
#define G_CHUNK_LEN 188
#define G_FIRST 1000ull

static uint8_t g_pk[RF_PUBKEY_LEN], g_sk[RF_SECKEY_LEN];
static uint64_t g_stream;
static uint8_t g_payload[G_CHUNKS][G_CHUNK_LEN];
static uint8_t g_flags[G_CHUNKS] = { RF_FLAG_DATA_RAP, 0, 0, 0 };
static uint8_t g_hashes[G_CHUNKS][RF_HASH_LEN];
static uint8_t g_sig[RF_SIG_LEN];

static void keypair(uint8_t pk[RF_PUBKEY_LEN], uint8_t sk[RF_SECKEY_LEN],
		    uint8_t seed_byte)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	memset(seed, seed_byte, sizeof(seed));
	cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static void sign_setup(void)
{
	rf_test_setup();
	keypair(g_pk, g_sk, 0x42);
	g_stream = rf_stream_id(g_pk);
	for (unsigned c = 0; c < G_CHUNKS; c++) {
		fill(g_payload[c], G_CHUNK_LEN, (uint8_t)(0x47 + c));
		rf_chunk_hash(g_hashes[c], g_stream, G_FIRST + c, g_flags[c],
			      g_payload[c], G_CHUNK_LEN);
	}
	cr_assert_eq(rf_group_sign(g_sig, g_sk, g_stream, G_FIRST, G_CHUNKS,
				   HASHES(g_hashes)),
		     0);
}

static enum rf_drop verify(const uint8_t sig[RF_SIG_LEN],
			   const uint8_t pk[RF_PUBKEY_LEN], uint64_t stream,
			   uint64_t first, uint8_t count,
			   uint8_t (*hashes)[RF_HASH_LEN])
{
	return rf_group_verify(sig, pk, stream, first, count,
			       HASHES(hashes));
}

TestSuite(sign, .init = sign_setup);

Test(sign, stream_id_layout)
{
	uint8_t m[4 + RF_PUBKEY_LEN], h[32], pk2[RF_PUBKEY_LEN];
	uint8_t sk2[RF_SECKEY_LEN];
	uint64_t want = 0;

	memcpy(m, "RFid", 4);
	memcpy(m + 4, g_pk, RF_PUBKEY_LEN);
	crypto_generichash(h, sizeof(h), m, sizeof(m), NULL, 0);
	for (int i = 0; i < 8; i++)
		want = want << 8 | h[i];
	cr_assert_eq(g_stream, want);
	cr_assert_eq(rf_stream_id(g_pk), g_stream);
	keypair(pk2, sk2, 0x43);
	cr_assert_neq(rf_stream_id(pk2), g_stream);
}

Test(sign, chunk_hash_layout)
{
	uint8_t m[21 + G_CHUNK_LEN], h[RF_HASH_LEN];

	memcpy(m, "RFch", 4);
	rf_put64(m + 4, g_stream);
	rf_put64(m + 12, G_FIRST);
	m[20] = RF_FLAG_DATA_RAP;
	memcpy(m + 21, g_payload[0], G_CHUNK_LEN);
	crypto_generichash(h, sizeof(h), m, sizeof(m), NULL, 0);
	cr_assert_arr_eq(g_hashes[0], h, RF_HASH_LEN);

	/* An empty payload is hashed as the header alone. */
	m[20] = 0;
	crypto_generichash(h, sizeof(h), m, 21, NULL, 0);
	rf_chunk_hash(m, g_stream, G_FIRST, 0, NULL, 0);
	cr_assert_arr_eq(m, h, RF_HASH_LEN);
}

Test(sign, group_layout)
{
	uint8_t m[21 + G_CHUNKS * RF_HASH_LEN];

	memcpy(m, "RFsg", 4);
	rf_put64(m + 4, g_stream);
	rf_put64(m + 12, G_FIRST);
	m[20] = G_CHUNKS;
	memcpy(m + 21, g_hashes, sizeof(g_hashes));
	/* Plain Ed25519 (not Ed25519ph): any library verifies it. */
	cr_assert_eq(crypto_sign_verify_detached(g_sig, m, sizeof(m), g_pk),
		     0);
}

Test(sign, verify_ok_and_deterministic)
{
	uint8_t sig2[RF_SIG_LEN];

	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST, G_CHUNKS, g_hashes),
		     RF_DROP_NONE);
	cr_assert_eq(rf_group_sign(sig2, g_sk, g_stream, G_FIRST, G_CHUNKS,
				   HASHES(g_hashes)),
		     0);
	cr_assert_arr_eq(sig2, g_sig, RF_SIG_LEN);
}

Test(sign, any_payload_bit_flip_refused)
{
	for (unsigned c = 0; c < G_CHUNKS; c++) {
		for (unsigned bit = 0; bit < G_CHUNK_LEN * 8; bit++) {
			uint8_t p[G_CHUNK_LEN];
			uint8_t h[G_CHUNKS][RF_HASH_LEN];

			memcpy(p, g_payload[c], sizeof(p));
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			memcpy(h, g_hashes, sizeof(h));
			rf_chunk_hash(h[c], g_stream, G_FIRST + c, g_flags[c],
				      p, sizeof(p));
			cr_assert_arr_neq(h[c], g_hashes[c], RF_HASH_LEN);
			cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST,
					    G_CHUNKS, h),
				     RF_DROP_BAD_SIGNATURE,
				     "chunk %u bit %u accepted", c, bit);
		}
	}
}

Test(sign, any_signature_bit_flip_refused)
{
	for (unsigned bit = 0; bit < RF_SIG_LEN * 8; bit++) {
		uint8_t s[RF_SIG_LEN];

		memcpy(s, g_sig, sizeof(s));
		s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(verify(s, g_pk, g_stream, G_FIRST, G_CHUNKS,
				    g_hashes),
			     RF_DROP_BAD_SIGNATURE, "bit %u accepted", bit);
	}
}

Test(sign, bound_to_key_stream_seq_and_count)
{
	uint8_t pk2[RF_PUBKEY_LEN], sk2[RF_SECKEY_LEN];
	uint8_t h[G_CHUNKS][RF_HASH_LEN];

	keypair(pk2, sk2, 0x43);
	cr_assert_eq(verify(g_sig, pk2, g_stream, G_FIRST, G_CHUNKS, g_hashes),
		     RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(g_sig, g_pk, g_stream ^ 1, G_FIRST, G_CHUNKS,
			    g_hashes), RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST + 1, G_CHUNKS,
			    g_hashes), RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST - 1, G_CHUNKS,
			    g_hashes), RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST, G_CHUNKS - 1,
			    g_hashes), RF_DROP_BAD_SIGNATURE);
	/* Same hashes in another order. */
	memcpy(h[0], g_hashes[1], RF_HASH_LEN);
	memcpy(h[1], g_hashes[0], RF_HASH_LEN);
	memcpy(h[2], g_hashes[2], 2 * RF_HASH_LEN);
	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST, G_CHUNKS, h),
		     RF_DROP_BAD_SIGNATURE);
}

Test(sign, chunk_hash_binds_flags_seq_stream)
{
	uint8_t h[RF_HASH_LEN], h2[G_CHUNKS][RF_HASH_LEN];
	const uint8_t *p = g_payload[0];

	/* RAP and DISCONT describe the chunk: they change the hash. */
	rf_chunk_hash(h, g_stream, G_FIRST, 0, p, G_CHUNK_LEN);
	cr_assert_arr_neq(h, g_hashes[0], RF_HASH_LEN);
	rf_chunk_hash(h, g_stream, G_FIRST,
		      RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT, p, G_CHUNK_LEN);
	cr_assert_arr_neq(h, g_hashes[0], RF_HASH_LEN);
	/* REPAIR and unknown bits describe one transmission: they do not. */
	rf_chunk_hash(h, g_stream, G_FIRST,
		      RF_FLAG_DATA_RAP | RF_FLAG_DATA_REPAIR | 0xf8, p,
		      G_CHUNK_LEN);
	cr_assert_arr_eq(h, g_hashes[0], RF_HASH_LEN);
	rf_chunk_hash(h, g_stream, G_FIRST + 1, RF_FLAG_DATA_RAP, p,
		      G_CHUNK_LEN);
	cr_assert_arr_neq(h, g_hashes[0], RF_HASH_LEN);
	rf_chunk_hash(h, g_stream ^ 1, G_FIRST, RF_FLAG_DATA_RAP, p,
		      G_CHUNK_LEN);
	cr_assert_arr_neq(h, g_hashes[0], RF_HASH_LEN);
	rf_chunk_hash(h, g_stream, G_FIRST, RF_FLAG_DATA_RAP, p,
		      G_CHUNK_LEN - 1);
	cr_assert_arr_neq(h, g_hashes[0], RF_HASH_LEN);

	/* A relay that clears the RAP bit is caught by the signature. */
	memcpy(h2, g_hashes, sizeof(h2));
	rf_chunk_hash(h2[0], g_stream, G_FIRST, 0, p, G_CHUNK_LEN);
	cr_assert_eq(verify(g_sig, g_pk, g_stream, G_FIRST, G_CHUNKS, h2),
		     RF_DROP_BAD_SIGNATURE);
}

Test(sign, count_bounds)
{
	uint8_t h[RF_GROUP_MAX + 1][RF_HASH_LEN], sig[RF_SIG_LEN];

	for (unsigned i = 0; i <= RF_GROUP_MAX; i++)
		fill(h[i], RF_HASH_LEN, (uint8_t)i);
	cr_assert_eq(rf_group_sign(sig, g_sk, g_stream, G_FIRST, 0, HASHES(h)),
		     -EINVAL);
	cr_assert_eq(rf_group_sign(sig, g_sk, g_stream, G_FIRST,
				   RF_GROUP_MAX + 1, HASHES(h)),
		     -EINVAL);
	cr_assert_eq(rf_group_sign(sig, g_sk, g_stream, G_FIRST, 1, HASHES(h)),
		     0);
	cr_assert_eq(verify(sig, g_pk, g_stream, G_FIRST, 1, h), RF_DROP_NONE);
	cr_assert_eq(rf_group_sign(sig, g_sk, g_stream, G_FIRST, RF_GROUP_MAX,
				   HASHES(h)),
		     0);
	cr_assert_eq(verify(sig, g_pk, g_stream, G_FIRST, RF_GROUP_MAX, h),
		     RF_DROP_NONE);
	/* Verify refuses out-of-range counts without reading the hashes. */
	cr_assert_eq(verify(sig, g_pk, g_stream, G_FIRST, 0, NULL),
		     RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(sig, g_pk, g_stream, G_FIRST, RF_GROUP_MAX + 1,
			    NULL), RF_DROP_BAD_SIGNATURE);
	cr_assert_eq(verify(sig, g_pk, g_stream, G_FIRST, 255, NULL),
		     RF_DROP_BAD_SIGNATURE);
}
