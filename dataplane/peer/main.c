/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-peer: what a viewer runs. Joins a stream through a seed,
 * receives and verifies it, heals around failing parents, relays to
 * children within its upload limit, and plays it through a local HTTP
 * endpoint that VLC, mpv, ffplay and ffmpeg open (or to stdout).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "node.h"
#include "player.h"
#include "sockaddr.h"

#define RF_TICK_MS 10

struct rf_peer_opts {
	struct rf_addr seed;
	uint64_t stream_id;
	char stream_hex[17];
	uint8_t token[RF_TOKEN_LEN];
	bool has_token;
	const char *http;             /* ADDR:PORT or "none" */
	const char *output;           /* FILE, "-" */
	const char *bind;
	const char *stats_json;
	uint32_t upload_kbps;
	bool upload_auto;
	uint32_t delay_ms;
	uint32_t max_children;
	bool forge_relay;
	double seconds;
	int status;                   /* -1: when stderr is a terminal */
};

static volatile sig_atomic_t rf_quit;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_quit = 1;
}

static void rf_usage(FILE *f)
{
	fprintf(f,
		"usage: rawflow-peer rawflow://HOST[:PORT]/STREAM-ID [options]\n"
		"\n"
		"Join a RawFlow stream, play it through a local HTTP endpoint, relay it.\n"
		"\n"
		"  --token HEX          join token (136 hex digits), when the seed requires one\n"
		"  --http ADDR:PORT     player endpoint (default 127.0.0.1:8080; 'none' for no\n"
		"                       endpoint); players open http://ADDR:PORT/STREAM-ID.ts\n"
		"  -o, --output FILE    also write the stream to FILE ('-': stdout, for pipes)\n"
		"  --upload-limit KBPS|auto  upload offered to other viewers (default auto:\n"
		"                       up to %u kbit/s, less as the uplink is measured full;\n"
		"                       0 relays nothing)\n"
		"  --max-children N     children at most (default 64)\n"
		"  --delay-ms MS        playback delay behind arrival (default %u)\n"
		"  --bind ADDR[:PORT]   local UDP address (default :: = IPv4 and IPv6, any port)\n"
		"  --seconds S          leave after S seconds (default: until signalled)\n"
		"  --status / --no-status  live status line (default: on a terminal)\n"
		"  --stats-json FILE    write final statistics as JSON\n"
		"  --forge-relay        TESTING ONLY: relay chunks with a byte flipped, to\n"
		"                       check that receivers reject and drop such a parent\n"
		"  -v, --verbose        debug logging\n"
		"  -h, --help           this text\n", RF_PEER_UPLOAD_AUTO_KBPS, RF_PEER_DELAY_MS);
}

static int rf_parse_args(struct rf_peer_opts *o, int argc, char **argv)
{
	enum { O_TOKEN = 256, O_HTTP, O_UPLOAD, O_CHILDREN, O_DELAY, O_BIND, O_SECONDS,
	       O_STATUS, O_NO_STATUS, O_JSON, O_FORGE };
	static const struct option opts[] = {
		{ "token", required_argument, NULL, O_TOKEN },
		{ "http", required_argument, NULL, O_HTTP },
		{ "output", required_argument, NULL, 'o' },
		{ "upload-limit", required_argument, NULL, O_UPLOAD },
		{ "max-children", required_argument, NULL, O_CHILDREN },
		{ "delay-ms", required_argument, NULL, O_DELAY },
		{ "bind", required_argument, NULL, O_BIND },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "status", no_argument, NULL, O_STATUS },
		{ "no-status", no_argument, NULL, O_NO_STATUS },
		{ "stats-json", required_argument, NULL, O_JSON },
		{ "forge-relay", no_argument, NULL, O_FORGE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *P = "rawflow-peer";
	size_t n;
	int c;

	*o = (struct rf_peer_opts){ .http = "127.0.0.1:8080", .bind = "::",
				    .upload_kbps = RF_PEER_UPLOAD_AUTO_KBPS, .upload_auto = true,
				    .delay_ms = RF_PEER_DELAY_MS, .max_children = 64, .status = -1 };
	while ((c = getopt_long(argc, argv, "o:vh", opts, NULL)) != -1) {
		unsigned u = 0;
		int rc = 0;

		switch (c) {
		case O_TOKEN:
			if (sodium_hex2bin(o->token, sizeof(o->token), optarg, strlen(optarg), NULL,
					   &n, NULL) || n != RF_TOKEN_LEN) {
				fprintf(stderr, "rawflow-peer: --token wants %d hex digits\n",
					2 * RF_TOKEN_LEN);
				return -EINVAL;
			}
			o->has_token = true;
			break;
		case O_HTTP: o->http = optarg; break;
		case 'o': o->output = optarg; break;
		case O_UPLOAD:
			o->upload_auto = strcmp(optarg, "auto") == 0;
			if (!o->upload_auto && !(rc = rf_cli_uint(P, "--upload-limit (kbit/s, or auto)",
								   optarg, 0, 100000000, &u)))
				o->upload_kbps = u;
			break;
		case O_CHILDREN:
			if (!(rc = rf_cli_uint(P, "--max-children", optarg, 0, 4096, &u)))
				o->max_children = u;
			break;
		case O_DELAY:
			if (!(rc = rf_cli_uint(P, "--delay-ms", optarg, 100, 60000, &u)))
				o->delay_ms = u;
			break;
		case O_BIND: o->bind = optarg; break;
		case O_SECONDS: rc = rf_cli_seconds(P, "--seconds", optarg, &o->seconds); break;
		case O_STATUS: o->status = 1; break;
		case O_NO_STATUS: o->status = 0; break;
		case O_JSON: o->stats_json = optarg; break;
		case O_FORGE: o->forge_relay = true; break;
		case 'v': rf_log_set_level(RF_LOG_DEBUG); break;
		case 'h': rf_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (optind != argc - 1 || rf_stream_url_parse(argv[optind], &o->seed, &o->stream_id) != 0) {
		fprintf(stderr, "rawflow-peer: give one URL rawflow://HOST[:PORT]/STREAM-ID, the 16-hex-digit stream id the seed prints (see --help)\n");
		return -EINVAL;
	}
	snprintf(o->stream_hex, sizeof(o->stream_hex), "%016llx", (unsigned long long)o->stream_id);
	return 0;
}

/* The player endpoint from "ADDR:PORT" (or none). */
static struct rf_player *rf_open_player(const struct rf_peer_opts *o)
{
	char addr[64] = "", path[64];
	unsigned port = 0;
	int out_fd = -1;

	if (strcmp(o->http, "none") != 0 &&
	    (sscanf(o->http, "%63[^:]:%u", addr, &port) != 2 || port == 0 || port > 65535)) {
		rf_err("--http wants ADDR:PORT, got '%s'", o->http);
		return NULL;
	}
	if (o->output)
		out_fd = strcmp(o->output, "-") == 0 ? STDOUT_FILENO
						    : open(o->output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (o->output && out_fd < 0) {
		rf_err("cannot write %s: %s", o->output, strerror(errno));
		return NULL;
	}
	snprintf(path, sizeof(path), "/%s.ts", o->stream_hex);
	return rf_player_open(addr, (uint16_t)port, path, out_fd);
}

static void rf_play_cb(void *ctx, uint64_t seq, const uint8_t *payload, uint16_t len,
		       uint8_t flags)
{
	(void)seq;
	rf_player_chunk(ctx, payload, len, flags & RF_FLAG_DATA_RAP);
}

/* Healing is a lifecycle event: log each parent the peer stops using and
 * each forged chunk rejected. */
struct rf_healing_log {
	struct rf_peer_parent_view parents[RF_PEER_PARENTS_MAX + 1];
	unsigned nparents;
	uint64_t bad;
};

static const struct rf_peer_parent_view *rf_parent_in(const struct rf_peer_parent_view *v,
							unsigned n, const struct rf_addr *a)
{
	for (unsigned i = 0; i < n; i++)
		if (rf_addr_equal(&v[i].addr, a))
			return &v[i];
	return NULL;
}

static void rf_log_healing(const struct rf_peer *pe, struct rf_healing_log *h)
{
	const struct rf_peer_stats *s = rf_peer_stats(pe);
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX + 1];
	unsigned n = rf_peer_parents(pe, v, RF_PEER_PARENTS_MAX + 1);
	char where[80];

	for (unsigned i = 0; i < h->nparents; i++) {
		if (rf_parent_in(v, n, &h->parents[i].addr))
			continue;
		rf_addr_format(&h->parents[i].addr, where, sizeof(where));
		rf_info("parent %s dropped (%llu switches so far)", where,
			(unsigned long long)s->parent_switches);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct rf_peer_parent_view *was = rf_parent_in(h->parents, h->nparents, &v[i].addr);

		if (!v[i].ready || (was && was->ready))
			continue;
		rf_addr_format(&v[i].addr, where, sizeof(where));
		rf_info("parent %s serving%s", where, v[i].is_seed ? " (the seed)" : "");
	}
	if (s->bad_chunks != h->bad)
		rf_warn("%llu forged chunk(s) rejected; their sender is dropped as a parent",
			(unsigned long long)(s->bad_chunks - h->bad));
	h->nparents = n;
	memcpy(h->parents, v, n * sizeof(v[0]));
	h->bad = s->bad_chunks;
}

static void rf_status_line(const struct rf_node *n, const struct rf_player *pl, uint64_t now,
			   uint64_t *last_bytes, bool tty)
{
	const struct rf_peer *pe = rf_node_peer(n);
	const struct rf_peer_stats *s = rf_peer_stats(pe);
	const struct rf_seed_stats *r = rf_node_relay_stats(n);
	struct rf_peer_parent_view v[RF_PEER_PARENTS_MAX];
	unsigned parents = rf_peer_parents(pe, v, RF_PEER_PARENTS_MAX);
	uint64_t bytes = s->bytes_from_seed + s->bytes_from_peers;

	fprintf(stderr,
		"%s%6.2f Mbit/s  buffer %5.2f s  parents %u  children %llu  continuity %.4f  played %llu skipped %llu  players %u%s",
		tty ? "\r" : "", (bytes - *last_bytes) * 8 / 1e6, rf_peer_buffer_ms(pe, now) / 1e3,
		parents, (unsigned long long)(r ? r->sessions : 0),
		rf_peer_continuity_ppm(pe) / 1e6, (unsigned long long)s->played,
		(unsigned long long)s->skipped, rf_player_clients(pl), tty ? "   " : "\n");
	*last_bytes = bytes;
}

static void rf_write_json(const char *path, const struct rf_node *n, const struct rf_player *pl)
{
	const struct rf_peer_stats *s = rf_peer_stats(rf_node_peer(n));
	const struct rf_seed_stats *r = rf_node_relay_stats(n);
	FILE *f = fopen(path, "w");

	if (!f) {
		rf_err("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f,
		"{\"received\": %llu, \"verified\": %llu, \"bad_chunks\": %llu, \"played\": %llu, "
		"\"skipped\": %llu, \"late\": %llu, \"repaired\": %llu, \"parent_switches\": %llu, "
		"\"bytes_from_seed\": %llu, \"bytes_from_peers\": %llu, \"continuity\": %.6f, "
		"\"startup_s\": %.3f, \"children\": %llu, \"relay_bytes\": %llu, \"player_bytes\": %llu, "
		"\"upload_budget_kbps\": %u, \"uplink_kbps\": %u, \"shed\": %llu}\n",
		(unsigned long long)s->received, (unsigned long long)s->verified,
		(unsigned long long)s->bad_chunks, (unsigned long long)s->played,
		(unsigned long long)s->skipped, (unsigned long long)s->late,
		(unsigned long long)s->repaired, (unsigned long long)s->parent_switches,
		(unsigned long long)s->bytes_from_seed, (unsigned long long)s->bytes_from_peers,
		rf_peer_continuity_ppm(rf_node_peer(n)) / 1e6,
		s->first_play_ms ? (s->first_play_ms - s->joined_ms) / 1e3 : -1.0,
		(unsigned long long)(r ? r->sessions : 0),
		(unsigned long long)rf_node_stats(n)->relay_bytes,
		(unsigned long long)rf_player_bytes_out(pl), rf_node_stats(n)->budget_kbps,
		rf_node_stats(n)->uplink_kbps, (unsigned long long)(r ? r->shed : 0));
	fclose(f);
}

int main(int argc, char **argv)
{
	struct rf_peer_opts o;
	struct rf_node_config cfg = { 0 };
	struct rf_player *pl;
	struct rf_node *n;
	uint64_t start, next_tick = 0, next_status, last_bytes = 0;
	struct rf_healing_log healing = { 0 };
	bool tty, show, refused;

	if (sodium_init() < 0 || rf_parse_args(&o, argc, argv) != 0)
		return 2;
	if (rf_addr_parse(o.bind, 0, &cfg.bind) != 0) {
		fprintf(stderr, "rawflow-peer: bad --bind address '%s'\n", o.bind);
		return 2;
	}
	cfg.peer.seed = o.seed;
	cfg.peer.stream_id = o.stream_id;
	randombytes_buf(&cfg.peer.peer_id, sizeof(cfg.peer.peer_id));
	cfg.peer.upload_kbps = o.upload_kbps;
	cfg.upload_auto = o.upload_auto;
	cfg.peer.token = o.has_token ? o.token : NULL;
	cfg.peer.delay_ms = o.delay_ms;
	cfg.max_children = o.max_children;
	cfg.forge = o.forge_relay;
	if (o.forge_relay)
		rf_warn("--forge-relay: relaying FORGED chunks (testing only)");
	pl = rf_open_player(&o);
	if (!pl || rf_node_open(&n, &cfg) != 0)
		return 1;
	if (strcmp(o.http, "none") != 0)
		rf_info("player endpoint: http://%s/%s.ts", o.http, o.stream_hex);
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	signal(SIGPIPE, SIG_IGN);
	tty = isatty(STDERR_FILENO);
	show = o.status < 0 ? tty : o.status;
	start = rf_unix_ms();
	next_status = start + 1000;
	rf_node_start(n, start);
	while (!rf_quit && (o.seconds == 0 || rf_unix_ms() - start < o.seconds * 1000)) {
		struct pollfd pfd = { .fd = rf_node_fd(n), .events = POLLIN };
		uint64_t now;

		if (poll(&pfd, 1, RF_TICK_MS / 2) > 0)
			rf_node_readable(n, rf_unix_ms());
		now = rf_unix_ms();
		if (now >= next_tick) {
			rf_node_tick(n, now);
			rf_node_play(n, now, rf_play_cb, pl);
			rf_player_poll(pl);
			next_tick = now + RF_TICK_MS;
		}
		rf_log_healing(rf_node_peer(n), &healing);
		if (rf_peer_state(rf_node_peer(n)) == RF_PEER_REFUSED) {
			rf_err("the seed refused us (a join token is needed, or ours is not valid)");
			break;
		}
		if (show && now >= next_status) {
			rf_status_line(n, pl, now, &last_bytes, tty);
			next_status = now + 1000;
		}
	}
	if (show && tty)
		fputc('\n', stderr);
	if (o.stats_json)
		rf_write_json(o.stats_json, n, pl);
	rf_info("leaving: %llu chunks played, %llu skipped",
		(unsigned long long)rf_peer_stats(rf_node_peer(n))->played,
		(unsigned long long)rf_peer_stats(rf_node_peer(n))->skipped);
	refused = rf_peer_state(rf_node_peer(n)) == RF_PEER_REFUSED;
	rf_node_close(n);
	rf_player_close(pl);
	return refused ? 3 : 0;
}
