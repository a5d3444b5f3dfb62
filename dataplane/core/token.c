/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Join tokens (PROTOCOL.md, "Join token"): an operator's key vouches that a
 * holder may join one stream until an expiry, optionally only from an
 * address prefix. Checked without state; the key id allows rotation.
 *
 * Layout (RF_TOKEN_LEN bytes, big-endian):
 *   0 version u8 (1)  1 key_id u8  2 family u8 (0 any, 4, 6)  3 prefix_len u8
 *   4 prefix_ip[16]  20 stream_id u64  28 expiry_s u64
 *  36 HMAC-SHA256(key[key_id], bytes 0..35)
 */
#include <errno.h>
#include <stdbool.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"

#define RF_TOKEN_VERSION 1

#define RF_TOK_VERSION 0
#define RF_TOK_KEY_ID 1
#define RF_TOK_FAMILY 2
#define RF_TOK_PREFIX_LEN 3
#define RF_TOK_PREFIX_IP 4
#define RF_TOK_STREAM 20
#define RF_TOK_EXPIRY 28
#define RF_TOK_MAC 36 /* also the number of bytes the MAC covers */

_Static_assert(RF_TOK_MAC + crypto_auth_hmacsha256_BYTES == RF_TOKEN_LEN,
	       "token layout fills RF_TOKEN_LEN");
_Static_assert(RF_SECRET_LEN == crypto_auth_hmacsha256_KEYBYTES,
	       "token keys are HMAC-SHA256 keys");

/* Family and prefix length are consistent: the same rule for make (so we
 * never issue a token we would refuse) and for check. */
static bool rf_token_fields_ok(uint8_t family, uint8_t prefix_len)
{
	switch (family) {
	case 0:
		return prefix_len == 0;
	case RF_AF_INET:
		return prefix_len <= 32;
	case RF_AF_INET6:
		return prefix_len <= 128;
	default:
		return false;
	}
}

static void rf_token_mac(uint8_t mac[crypto_auth_hmacsha256_BYTES],
			 const uint8_t token[RF_TOKEN_LEN],
			 const uint8_t key[RF_SECRET_LEN])
{
	crypto_auth_hmacsha256(mac, token, RF_TOK_MAC, key);
}

int rf_token_make(uint8_t token[RF_TOKEN_LEN],
		  const struct rf_token_fields *f,
		  const uint8_t key[RF_SECRET_LEN])
{
	if (!rf_token_fields_ok(f->family, f->prefix_len))
		return -EINVAL;
	token[RF_TOK_VERSION] = RF_TOKEN_VERSION;
	token[RF_TOK_KEY_ID] = f->key_id;
	token[RF_TOK_FAMILY] = f->family;
	token[RF_TOK_PREFIX_LEN] = f->prefix_len;
	memcpy(token + RF_TOK_PREFIX_IP, f->prefix_ip, 16);
	rf_put64(token + RF_TOK_STREAM, f->stream_id);
	rf_put64(token + RF_TOK_EXPIRY, f->expiry_s);
	rf_token_mac(token + RF_TOK_MAC, token, key);
	return 0;
}

enum rf_drop rf_token_check(const uint8_t token[RF_TOKEN_LEN],
			    const struct rf_token_keys *keys,
			    uint64_t stream_id, const struct rf_addr *src,
			    uint64_t now_s)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	uint8_t key_id = token[RF_TOK_KEY_ID];
	uint8_t family = token[RF_TOK_FAMILY];
	uint8_t prefix_len = token[RF_TOK_PREFIX_LEN];

	if (token[RF_TOK_VERSION] != RF_TOKEN_VERSION ||
	    !rf_token_fields_ok(family, prefix_len))
		return RF_DROP_BAD_TOKEN;
	if (!keys->present[key_id])
		return RF_DROP_TOKEN_KEY;
	rf_token_mac(mac, token, keys->key[key_id]);
	if (sodium_memcmp(mac, token + RF_TOK_MAC, sizeof(mac)) != 0)
		return RF_DROP_BAD_TOKEN;
	/* Only now are the fields the operator's word and worth reading. */
	if (rf_get64(token + RF_TOK_STREAM) != stream_id)
		return RF_DROP_UNKNOWN_STREAM;
	if (now_s >= rf_get64(token + RF_TOK_EXPIRY))
		return RF_DROP_TOKEN_EXPIRED;
	if (family != 0 &&
	    !rf_addr_prefix_match(src, token + RF_TOK_PREFIX_IP, family,
				  prefix_len))
		return RF_DROP_TOKEN_PREFIX;
	return RF_DROP_NONE;
}
