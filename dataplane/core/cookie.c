/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stateless cookies (PROTOCOL.md, "Cookie"). A responder hands one out to
 * prove that a source really receives at its address before sending it
 * more than it sent, and keeps no state per source to do so.
 *
 * Layout: t u32 | HMAC-SHA256(secret, M)[0..16), with
 * M = "RFc1" | family u8 | port u16 | ip[16] | peer_id u64 | stream_id u64 |
 *     t u32, all big-endian.
 */
#include <sodium.h>
#include <string.h>

#include "crypto.h"

#define RF_COOKIE_MAC_LEN (RF_COOKIE_LEN - 4)
#define RF_COOKIE_MSG_LEN (4 + 1 + 2 + 16 + 8 + 8 + 4)

_Static_assert(RF_SECRET_LEN == crypto_auth_hmacsha256_KEYBYTES,
	       "cookie secret is an HMAC-SHA256 key");

/* The truncated MAC binding a cookie to its inputs and issue time t;
 * shared by make and check so the two cannot drift apart. */
static void rf_cookie_mac(uint8_t mac[RF_COOKIE_MAC_LEN],
			  const uint8_t secret[RF_SECRET_LEN],
			  const struct rf_addr *src, uint64_t peer_id,
			  uint64_t stream_id, uint32_t t)
{
	uint8_t m[RF_COOKIE_MSG_LEN];
	uint8_t full[crypto_auth_hmacsha256_BYTES];

	memcpy(m, "RFc1", 4);
	m[4] = src->family;
	rf_put16(m + 5, src->port);
	memcpy(m + 7, src->ip, 16);
	rf_put64(m + 23, peer_id);
	rf_put64(m + 31, stream_id);
	rf_put32(m + 39, t);
	crypto_auth_hmacsha256(full, m, sizeof(m), secret);
	memcpy(mac, full, RF_COOKIE_MAC_LEN);
}

void rf_cookie_make(uint8_t cookie[RF_COOKIE_LEN],
		    const uint8_t secret[RF_SECRET_LEN],
		    const struct rf_addr *src, uint64_t peer_id,
		    uint64_t stream_id, uint64_t now_s)
{
	uint32_t t = (uint32_t)now_s;

	rf_put32(cookie, t);
	rf_cookie_mac(cookie + 4, secret, src, peer_id, stream_id, t);
}

enum rf_drop rf_cookie_check(const uint8_t cookie[RF_COOKIE_LEN],
			     const uint8_t secret[RF_SECRET_LEN],
			     const struct rf_addr *src, uint64_t peer_id,
			     uint64_t stream_id, uint64_t now_s,
			     uint32_t lifetime_s)
{
	uint8_t mac[RF_COOKIE_MAC_LEN];
	uint32_t t = rf_get32(cookie);

	rf_cookie_mac(mac, secret, src, peer_id, stream_id, t);
	/* Constant time: a timing leak would let a forger guess byte by byte. */
	if (sodium_memcmp(mac, cookie + 4, sizeof(mac)) != 0)
		return RF_DROP_BAD_COOKIE;
	/* Age mod 2^32, so the u32 clock may wrap; a cookie from the future
	 * shows up as a huge age and is refused with the stale ones. */
	if ((uint32_t)((uint32_t)now_s - t) > lifetime_s)
		return RF_DROP_COOKIE_EXPIRED;
	return RF_DROP_NONE;
}
