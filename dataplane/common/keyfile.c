/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"

static void rf_key_from_seed(struct rf_stream_key *key,
			     const uint8_t seed[crypto_sign_SEEDBYTES])
{
	crypto_sign_seed_keypair(key->pk, key->sk, seed);
	key->stream_id = rf_stream_id(key->pk);
	snprintf(key->id_hex, sizeof(key->id_hex), "%016llx",
		 (unsigned long long)key->stream_id);
}

void rf_stream_key_ephemeral(struct rf_stream_key *key)
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	randombytes_buf(seed, sizeof(seed));
	rf_key_from_seed(key, seed);
	sodium_memzero(seed, sizeof(seed));
}

static int rf_keyfile_create(const char *path, char *err, size_t errlen)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	char hex[2 * crypto_sign_SEEDBYTES + 2];
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create key file %s: %s", path, strerror(errno));
		return -errno;
	}
	randombytes_buf(seed, sizeof(seed));
	sodium_bin2hex(hex, sizeof(hex) - 1, seed, sizeof(seed));
	strcat(hex, "\n");
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex)) {
		snprintf(err, errlen, "cannot write key file %s", path);
		rc = -EIO;
	}
	close(fd);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

int rf_keyfile_load(const char *path, bool create, struct rf_stream_key *key,
		    char *err, size_t errlen)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	char line[256];
	size_t n = 0;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f && errno == ENOENT && create) {
		rc = rf_keyfile_create(path, err, errlen);
		if (rc)
			return rc;
		f = fopen(path, "r");
	}
	if (!f) {
		snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strlen(line) != 2 * crypto_sign_SEEDBYTES ||
	    sodium_hex2bin(seed, sizeof(seed), line, strlen(line), NULL, &n, NULL) != 0 ||
	    n != sizeof(seed)) {
		snprintf(err, errlen, "key file %s: expected one line of %d hex digits",
			 path, 2 * crypto_sign_SEEDBYTES);
		return -EINVAL;
	}
	rf_key_from_seed(key, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	return 0;
}

int rf_token_keys_load(const char *path, struct rf_token_keys *keys, char *err,
		       size_t errlen)
{
	char line[512], hex[128];
	unsigned id, lineno = 0, count = 0;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot open token keys %s: %s", path, strerror(errno));
		return -errno;
	}
	memset(keys, 0, sizeof(*keys));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		if (strspn(line, " \t") == strlen(line))
			continue;
		if (sscanf(line, "%u %127s", &id, hex) != 2 || id > 255 ||
		    strlen(hex) != 2 * RF_SECRET_LEN ||
		    sodium_hex2bin(keys->key[id], RF_SECRET_LEN, hex, strlen(hex), NULL, &n, NULL) != 0 ||
		    n != RF_SECRET_LEN) {
			snprintf(err, errlen, "%s line %u: expected \"KEYID HEX\" with KEYID 0..255 and %d hex digits",
				 path, lineno, 2 * RF_SECRET_LEN);
			fclose(f);
			sodium_memzero(keys, sizeof(*keys));
			return -EINVAL;
		}
		keys->present[id] = 1;
		count++;
	}
	fclose(f);
	sodium_memzero(hex, sizeof(hex));
	if (count == 0) {
		snprintf(err, errlen, "%s holds no token key", path);
		return -EINVAL;
	}
	return 0;
}
