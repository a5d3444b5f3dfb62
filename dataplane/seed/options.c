/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "cli.h"
#include "log.h"
#include "options.h"
#include "seed.h"
#include "serve.h"

static void rf_usage(FILE *out)
{
	fprintf(out,
		"usage: rawflow-seed --source URL [--key FILE] [options] [-- EAL options]\n"
		"\n"
		"The seed appliance: ingests live streams into hugepage chunk stores and\n"
		"serves them to peers (DPDK fast path, or kernel UDP sockets).\n"
		"\n"
		"Streams:\n"
		"  -s, --source URL          a stream to ingest; repeat for several streams:\n"
		"                              udp://[GROUP@]ADDR:PORT   MPEG-TS, raw or RTP\n"
		"                              http(s)://HOST/PATH       TS or Icecast audio\n"
		"                              http(s)://HOST/PATH.m3u8  live HLS\n"
		"                              file://PATH               TS paced by its PCR\n"
		"  -k, --key FILE            signing key of the matching --source (created if\n"
		"                            missing); without one the stream gets a key that\n"
		"                            lives only as long as the process\n"
		"  -w, --window-seconds N    seconds of stream kept in memory (default 30)\n"
		"      --store-max-mb N      cap on one stream's store (default 512)\n"
		"      --packets-per-chunk N TS packets per chunk (default 7: 1316 bytes)\n"
		"      --chunk-bytes N       chunk size for non-TS input (default 1316)\n"
		"      --stall-ms N          no data this long: the source is down (default 3000)\n"
		"      --loop                file:// sources start over at the end\n"
		"\n"
		"Serving:\n"
		"      --backend B           auto | dpdk | kernel (default auto: DPDK when the\n"
		"                            EAL starts with a port, else kernel sockets)\n"
		"      --no-serve            ingest only\n"
		"  -p, --port N              UDP port (default %d)\n"
		"      --bind ADDR           kernel backend: address to bind (default ::)\n"
		"      --port-ip ADDR        DPDK backend: the seed's IPv4 address on its ports\n"
		"      --port-ip6 ADDR       DPDK backend: its IPv6 address\n"
		"      --workers N           DPDK backend: worker lcores (default: all but main)\n"
		"      --max-sessions N      sessions per stream (default 100000)\n"
		"      --max-egress RATE     node-wide egress cap in bit/s, k/M/G suffixes;\n"
		"                            peers beyond it are redirected (default: none)\n"
		"      --substreams K        substreams per stream (default 8, at most 64)\n"
		"      --group-size G        chunks per signature (default 16, at most 32)\n"
		"      --token-keys FILE     require join tokens; FILE has lines \"KEYID HEX\"\n"
		"      --control PATH        local control socket: stats,\n"
		"                            sessions, deny list, drain (rawflowctl control)\n"
		"\n"
		"Output:\n"
		"      --record DIR          write each stream's chunks to DIR/<id>.ts/.idx\n"
		"      --stats-interval S    print statistics every S seconds (default 1, 0: off)\n"
		"      --stats-json FILE     write final statistics as JSON\n"
		"      --duration S          stop after S seconds (default: run until signalled)\n"
		"  -v, --verbose             debug logging\n"
		"  -h, --help                this text\n"
		"\n"
		"EAL options after -- go to DPDK (default: --in-memory --no-pci -l 0).\n"
		"SIGTERM or SIGINT drains: peers are redirected elsewhere, then it exits.\n",
		RF_SEED_PORT);
}

#define P "rawflow-seed"

static int rf_opt_check(const struct rf_seed_opts *o)
{
	if (o->nsources == 0) {
		fprintf(stderr, "rawflow-seed: no --source given (see --help)\n");
		return -EINVAL;
	}
	if (o->nkeys > o->nsources) {
		fprintf(stderr, "rawflow-seed: more --key than --source options\n");
		return -EINVAL;
	}
	if (strcmp(o->backend, "auto") && strcmp(o->backend, "dpdk") &&
	    strcmp(o->backend, "kernel")) {
		fprintf(stderr, "rawflow-seed: --backend is auto, dpdk or kernel, not '%s'\n",
			o->backend);
		return -EINVAL;
	}
	return 0;
}

int rf_seed_parse_args(int argc, char **argv, struct rf_seed_opts *o)
{
	enum { O_STORE_MAX = 256, O_PPC, O_CHUNK_BYTES, O_STALL, O_LOOP, O_RECORD,
	       O_INTERVAL, O_JSON, O_DURATION, O_BACKEND, O_NO_SERVE, O_BIND,
	       O_PORT_IP, O_PORT_IP6, O_WORKERS, O_MAX_SESSIONS, O_MAX_EGRESS,
	       O_SUBSTREAMS, O_GROUP, O_TOKENS, O_CONTROL };
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "window-seconds", required_argument, NULL, 'w' },
		{ "store-max-mb", required_argument, NULL, O_STORE_MAX },
		{ "packets-per-chunk", required_argument, NULL, O_PPC },
		{ "chunk-bytes", required_argument, NULL, O_CHUNK_BYTES },
		{ "stall-ms", required_argument, NULL, O_STALL },
		{ "loop", no_argument, NULL, O_LOOP },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "no-serve", no_argument, NULL, O_NO_SERVE },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, O_BIND },
		{ "port-ip", required_argument, NULL, O_PORT_IP },
		{ "port-ip6", required_argument, NULL, O_PORT_IP6 },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "max-sessions", required_argument, NULL, O_MAX_SESSIONS },
		{ "max-egress", required_argument, NULL, O_MAX_EGRESS },
		{ "substreams", required_argument, NULL, O_SUBSTREAMS },
		{ "group-size", required_argument, NULL, O_GROUP },
		{ "token-keys", required_argument, NULL, O_TOKENS },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "record", required_argument, NULL, O_RECORD },
		{ "stats-interval", required_argument, NULL, O_INTERVAL },
		{ "stats-json", required_argument, NULL, O_JSON },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, rc = 0;

	*o = (struct rf_seed_opts){
		.window_s = 30, .store_max_mb = 512,
		.packets_per_chunk = RF_TS_PACKETS_DEFAULT, .chunk_bytes = RF_CHUNK_DEFAULT,
		.stall_ms = 3000, .stats_interval_s = 1, .backend = "auto", .serve = true,
		.bind_addr = "::", .port = RF_SEED_PORT, .max_sessions = RF_SEED_SESSIONS_MAX,
		.substreams = 8, .group_size = 16, .eal_at = argc,
	};
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			o->eal_at = i + 1;
			argc = i;
			break;
		}
	while (rc == 0 && (c = getopt_long(argc, argv, "s:k:w:p:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'k':
			if ((c == 's' ? o->nsources : o->nkeys) == RF_MAX_STREAMS) {
				fprintf(stderr, "rawflow-seed: at most %d streams\n", RF_MAX_STREAMS);
				return -EINVAL;
			}
			if (c == 's')
				o->sources[o->nsources++] = optarg;
			else
				o->keys[o->nkeys++] = optarg;
			break;
		case 'w': rc = rf_cli_uint(P, "--window-seconds", optarg, 1, 3600, &o->window_s); break;
		case O_STORE_MAX: rc = rf_cli_uint(P, "--store-max-mb", optarg, 1, 1 << 20, &o->store_max_mb); break;
		case O_PPC: rc = rf_cli_uint(P, "--packets-per-chunk", optarg, 1, RF_CHUNK_MAX / RF_TS_PACKET, &o->packets_per_chunk); break;
		case O_CHUNK_BYTES: rc = rf_cli_uint(P, "--chunk-bytes", optarg, 1, RF_CHUNK_MAX, &o->chunk_bytes); break;
		case O_STALL: rc = rf_cli_uint(P, "--stall-ms", optarg, 100, 600000, &o->stall_ms); break;
		case O_LOOP: o->loop = true; break;
		case O_BACKEND: o->backend = optarg; break;
		case O_NO_SERVE: o->serve = false; break;
		case 'p': rc = rf_cli_uint(P, "--port", optarg, 1, 65535, &o->port); break;
		case O_BIND: o->bind_addr = optarg; break;
		case O_PORT_IP: o->port_ip4 = optarg; break;
		case O_PORT_IP6: o->port_ip6 = optarg; break;
		case O_WORKERS: rc = rf_cli_uint(P, "--workers", optarg, 1, 128, &o->workers); break;
		case O_MAX_SESSIONS: rc = rf_cli_uint(P, "--max-sessions", optarg, 1, RF_SEED_SESSIONS_MAX, &o->max_sessions); break;
		case O_MAX_EGRESS: rc = rf_cli_rate(P, "--max-egress", optarg, &o->max_egress_bps); break;
		case O_SUBSTREAMS: rc = rf_cli_uint(P, "--substreams", optarg, 1, RF_SUBSTREAMS_MAX, &o->substreams); break;
		case O_GROUP: rc = rf_cli_uint(P, "--group-size", optarg, 1, RF_GROUP_MAX, &o->group_size); break;
		case O_TOKENS: o->token_keys = optarg; break;
		case O_CONTROL: o->control = optarg; break;
		case O_RECORD: o->record_dir = optarg; break;
		case O_INTERVAL: rc = rf_cli_seconds(P, "--stats-interval", optarg, &o->stats_interval_s); break;
		case O_JSON: o->stats_json = optarg; break;
		case O_DURATION: rc = rf_cli_seconds(P, "--duration", optarg, &o->duration_s); break;
		case 'v': rf_log_set_level(RF_LOG_DEBUG); break;
		case 'h': rf_usage(stdout); return 1;
		default: return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "rawflow-seed: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return rf_opt_check(o);
}
