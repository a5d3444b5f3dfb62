/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stream's signing key on disk: one line of 64 hex digits, the Ed25519
 * seed. The stream is named by the public key it gives (its stream id is
 * derived from it), so the key file is the stream's identity.
 */
#ifndef RF_KEYFILE_H
#define RF_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct rf_stream_key {
	uint8_t pk[RF_PUBKEY_LEN];
	uint8_t sk[RF_SECKEY_LEN];
	uint64_t stream_id;
	char id_hex[17];          /* the stream id, for names and logs */
};

/* Load the key in path; create it (mode 0600) when create is set and the
 * file does not exist. 0 or -errno with err set. */
int rf_keyfile_load(const char *path, bool create, struct rf_stream_key *key,
		    char *err, size_t errlen);

/* Join-token keys: one "KEYID HEX" line per key (KEYID 0..255, HEX 64 hex
 * digits); '#' starts a comment. 0 or -errno with err set. */
int rf_token_keys_load(const char *path, struct rf_token_keys *keys, char *err,
		       size_t errlen);

/* A fresh key that lives only in memory. */
void rf_stream_key_ephemeral(struct rf_stream_key *key);

#endif
