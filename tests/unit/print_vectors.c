/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Print the hex vectors for docs/PROTOCOL.md, one fenced block each; with
 * --seeds DIR, write each vector as a binary file there instead (the
 * fuzzer's starting corpus).
 */
#include <stdio.h>
#include <string.h>

#include "vectors.h"

static int rf_print_hex(const char *name, const uint8_t *buf, int len)
{
	printf("vector %s (%d bytes):\n\n```hex\n", name, len);
	for (int j = 0; j < len; j++)
		printf("%02x%s", buf[j], j % 16 == 15 || j == len - 1 ? "\n" : " ");
	printf("```\n\n");
	return 0;
}

static int rf_write_seed(const char *dir, const char *name,
			 const uint8_t *buf, int len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	struct rf_vector v[32];
	size_t n = rf_vectors(v, 32);
	uint8_t buf[RF_MAX_DATAGRAM];
	const char *seeds = NULL;

	if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
		seeds = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: print_vectors [--seeds DIR]\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		int len = rf_msg_encode(&v[i].msg, buf, sizeof(buf));

		if (len < 0) {
			fprintf(stderr, "vector %s does not encode: %d\n",
				v[i].name, len);
			return 1;
		}
		if (seeds ? rf_write_seed(seeds, v[i].name, buf, len)
			  : rf_print_hex(v[i].name, buf, len))
			return 1;
	}
	return 0;
}
