/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflowctl: operator commands that need no running daemon.
 *
 *   rawflowctl keygen FILE                     a stream key (prints its id)
 *   rawflowctl stream-id FILE                  the stream id of a key file
 *   rawflowctl token-key                       a fresh join-token key line
 *   rawflowctl token --keys FILE --key-id N --stream ID --ttl S [--prefix CIDR]
 *                                              a join token, in hex
 *   rawflowctl control PATH COMMAND...         ask a running seed (stats,
 *                                              sessions, deny PREFIX..., drain)
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "keyfile.h"
#include "sockaddr.h"

static void rf_ctl_usage(FILE *f)
{
	fprintf(f,
		"usage: rawflowctl COMMAND ...\n"
		"\n"
		"  keygen FILE          create a stream signing key (0600) and print its stream id\n"
		"  stream-id FILE       print the stream id of a key file\n"
		"  token-key [ID]       print a fresh join-token key line \"ID HEX\" (ID default 1)\n"
		"  token --keys FILE --key-id N --stream ID --ttl SECONDS [--prefix ADDR/LEN]\n"
		"                       print a join token (hex) signed with key N of FILE,\n"
		"                       valid for SECONDS, optionally only from ADDR/LEN\n"
		"  control PATH CMD...  ask a seed through its --control socket: stats,\n"
		"                       sessions, deny [PREFIX ...], seeds [ADDR:PORT ...], drain\n"
		"  help                 this text\n");
}

static int rf_ctl_keygen(int argc, char **argv, bool create)
{
	struct rf_stream_key key;
	char err[512];

	if (argc != 2) {
		rf_ctl_usage(stderr);
		return 2;
	}
	if (create && access(argv[1], F_OK) == 0) {
		fprintf(stderr, "rawflowctl: %s exists; not overwriting a stream's identity\n", argv[1]);
		return 1;
	}
	if (rf_keyfile_load(argv[1], create, &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "rawflowctl: %s\n", err);
		return 1;
	}
	printf("%s\n", key.id_hex);
	return 0;
}

static int rf_ctl_token_key(int argc, char **argv)
{
	uint8_t key[RF_SECRET_LEN];
	char hex[2 * RF_SECRET_LEN + 1];
	unsigned id = 1;

	if (argc > 1 && rf_cli_uint("rawflowctl", "token-key ID", argv[1], 0, 255, &id))
		return 2;
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	printf("%u %s\n", id, hex);
	return 0;
}

static int rf_ctl_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "stream", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "prefix", required_argument, NULL, 'p' },
		{ 0 }
	};
	static struct rf_token_keys keys;
	struct rf_token_fields f = { 0 };
	struct rf_prefix prefix;
	const char *keys_path = NULL;
	uint8_t token[RF_TOKEN_LEN];
	char hex[2 * RF_TOKEN_LEN + 1], err[512];
	bool have_stream = false, have_key_id = false;
	unsigned key_id = 0;
	uint64_t ttl = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keys_path = optarg; break;
		case 'i':
			if (rf_cli_uint("rawflowctl", "--key-id", optarg, 0, 255, &key_id))
				return 2;
			have_key_id = true;
			break;
		case 's':
			if (rf_cli_hex64("rawflowctl", "--stream", optarg, &f.stream_id))
				return 2;
			have_stream = true;
			break;
		case 't':
			if (rf_cli_u64("rawflowctl", "--ttl", optarg, 1, 10u * 365 * 86400, &ttl))
				return 2;
			break;
		case 'p':
			if (rf_prefix_parse(optarg, &prefix) != 0) {
				fprintf(stderr, "rawflowctl: --prefix wants ADDR/LEN, got '%s'\n", optarg);
				return 2;
			}
			f.family = prefix.family;
			f.prefix_len = prefix.len;
			memcpy(f.prefix_ip, prefix.ip, sizeof(f.prefix_ip));
			break;
		default: rf_ctl_usage(stderr); return 2;
		}
	}
	if (!keys_path || !have_key_id || !have_stream || ttl == 0) {
		fprintf(stderr, "rawflowctl token: --keys, --key-id (0..255), --stream and --ttl (> 0) are needed\n");
		return 2;
	}
	if (rf_token_keys_load(keys_path, &keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "rawflowctl: %s\n", err);
		return 1;
	}
	if (!keys.present[key_id]) {
		fprintf(stderr, "rawflowctl: %s has no key %u\n", keys_path, key_id);
		return 1;
	}
	f.key_id = (uint8_t)key_id;
	f.expiry_s = (uint64_t)time(NULL) + ttl;
	if (rf_token_make(token, &f, keys.key[key_id]) != 0) {
		fprintf(stderr, "rawflowctl: inconsistent token fields\n");
		return 2;
	}
	sodium_bin2hex(hex, sizeof(hex), token, sizeof(token));
	printf("%s\n", hex);
	sodium_memzero(&keys, sizeof(keys));
	return 0;
}

/* One request line to a seed's control socket; print the answer. */
static int rf_ctl_control(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[4096] = "", buf[4096];
	ssize_t n;
	int fd;

	if (argc < 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		rf_ctl_usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s",
			     i > 2 ? " " : "", argv[i]) < 0)
			return 2;
	strcat(line, "\n");
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "rawflowctl: cannot reach %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "rawflowctl: cannot send to %s\n", argv[1]);
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		rf_ctl_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* "rawflowctl keygen --help" must not make a key file named --help */
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			rf_ctl_usage(stdout);
			return 0;
		}
	if (!strcmp(argv[1], "keygen"))
		return rf_ctl_keygen(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "stream-id"))
		return rf_ctl_keygen(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "token-key"))
		return rf_ctl_token_key(argc - 1, argv + 1);
	if (!strcmp(argv[1], "token"))
		return rf_ctl_token(argc - 1, argv + 1);
	if (!strcmp(argv[1], "control"))
		return rf_ctl_control(argc - 1, argv + 1);
	fprintf(stderr, "rawflowctl: unknown command '%s' (see rawflowctl help)\n", argv[1]);
	return 2;
}
