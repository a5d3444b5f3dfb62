/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-seed: the ICD server. This build ingests live streams into
 * hugepage chunk stores (one ingest thread per stream); the DPDK fast path
 * that serves peers from those stores is not built yet.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef RF_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#endif

#include "chunker.h"
#include "clock.h"
#include "ingest.h"
#include "keyfile.h"
#include "log.h"
#include "recorder.h"
#include "store_mem.h"

#define RF_MAX_STREAMS 16

struct rf_seed_opts {
	const char *sources[RF_MAX_STREAMS];
	const char *keys[RF_MAX_STREAMS];
	unsigned nsources, nkeys;
	unsigned window_s;
	unsigned store_max_mb;
	unsigned packets_per_chunk;
	unsigned chunk_bytes;
	unsigned stall_ms;
	bool loop;
	const char *record_dir;
	const char *stats_json;
	double stats_interval_s;
	double duration_s;
	const char *backend;
};

static volatile sig_atomic_t rf_quit;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_quit = 1;
}

static void rf_usage(FILE *out)
{
	fprintf(out,
		"usage: rawflow-seed --source URL [--key FILE] [options] [-- EAL options]\n"
		"\n"
		"Ingest live streams into hugepage chunk stores.\n"
		"\n"
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
		"      --record DIR          write each stream's chunks to DIR/<id>.ts/.idx\n"
		"      --stats-interval S    print statistics every S seconds (default 1, 0: off)\n"
		"      --stats-json FILE     write final statistics as JSON\n"
		"      --duration S          stop after S seconds (default: run until signalled)\n"
		"      --backend B           auto | dpdk | kernel: where stores live (default auto)\n"
		"  -v, --verbose             debug logging\n"
		"  -h, --help                this text\n"
		"\n"
		"EAL options after -- go to DPDK (default: --in-memory --no-pci -l 0).\n");
}

static int rf_parse_uint(const char *opt, const char *v, unsigned min,
			 unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || !*v || n < min || n > max) {
		fprintf(stderr, "rawflow-seed: %s wants a whole number from %u to %u, got '%s'\n",
			opt, min, max, v);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int rf_parse_seconds(const char *opt, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno || *end || !*v || *out < 0) {
		fprintf(stderr, "rawflow-seed: %s wants seconds (>= 0), got '%s'\n", opt, v);
		return -EINVAL;
	}
	return 0;
}

/* Parse argv up to "--"; *eal_at is the index after it (argc when none). */
static int rf_parse_args(int argc, char **argv, struct rf_seed_opts *o, int *eal_at)
{
	enum { O_STORE_MAX = 256, O_PPC, O_CHUNK_BYTES, O_STALL, O_LOOP, O_RECORD,
	       O_INTERVAL, O_JSON, O_DURATION, O_BACKEND };
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "window-seconds", required_argument, NULL, 'w' },
		{ "store-max-mb", required_argument, NULL, O_STORE_MAX },
		{ "packets-per-chunk", required_argument, NULL, O_PPC },
		{ "chunk-bytes", required_argument, NULL, O_CHUNK_BYTES },
		{ "stall-ms", required_argument, NULL, O_STALL },
		{ "loop", no_argument, NULL, O_LOOP },
		{ "record", required_argument, NULL, O_RECORD },
		{ "stats-interval", required_argument, NULL, O_INTERVAL },
		{ "stats-json", required_argument, NULL, O_JSON },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, rc = 0;

	*eal_at = argc;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			*eal_at = i + 1;
			argc = i;
			break;
		}
	while (rc == 0 && (c = getopt_long(argc, argv, "s:k:w:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (o->nsources == RF_MAX_STREAMS) {
				fprintf(stderr, "rawflow-seed: at most %d streams\n", RF_MAX_STREAMS);
				return -EINVAL;
			}
			o->sources[o->nsources++] = optarg;
			break;
		case 'k':
			if (o->nkeys == RF_MAX_STREAMS)
				return -EINVAL;
			o->keys[o->nkeys++] = optarg;
			break;
		case 'w': rc = rf_parse_uint("--window-seconds", optarg, 1, 3600, &o->window_s); break;
		case O_STORE_MAX: rc = rf_parse_uint("--store-max-mb", optarg, 1, 1 << 20, &o->store_max_mb); break;
		case O_PPC: rc = rf_parse_uint("--packets-per-chunk", optarg, 1, RF_CHUNK_MAX / RF_TS_PACKET, &o->packets_per_chunk); break;
		case O_CHUNK_BYTES: rc = rf_parse_uint("--chunk-bytes", optarg, 1, RF_CHUNK_MAX, &o->chunk_bytes); break;
		case O_STALL: rc = rf_parse_uint("--stall-ms", optarg, 100, 600000, &o->stall_ms); break;
		case O_LOOP: o->loop = true; break;
		case O_RECORD: o->record_dir = optarg; break;
		case O_INTERVAL: rc = rf_parse_seconds("--stats-interval", optarg, &o->stats_interval_s); break;
		case O_JSON: o->stats_json = optarg; break;
		case O_DURATION: rc = rf_parse_seconds("--duration", optarg, &o->duration_s); break;
		case O_BACKEND:
			o->backend = optarg;
			if (strcmp(optarg, "auto") && strcmp(optarg, "dpdk") && strcmp(optarg, "kernel")) {
				fprintf(stderr, "rawflow-seed: --backend is auto, dpdk or kernel, not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'v': rf_log_set_level(RF_LOG_DEBUG); break;
		case 'h': rf_usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "rawflow-seed: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (o->nsources == 0) {
		fprintf(stderr, "rawflow-seed: no --source given (see --help)\n");
		return -EINVAL;
	}
	if (o->nkeys > o->nsources) {
		fprintf(stderr, "rawflow-seed: more --key than --source options\n");
		return -EINVAL;
	}
	return 0;
}

/* Start the DPDK EAL so stores live in memzones; false (with a message)
 * where it cannot start. */
static bool rf_start_eal(const struct rf_seed_opts *o, int argc, char **argv, int eal_at)
{
#ifdef RF_HAVE_DPDK
	char *defaults[] = { argv[0], "--in-memory", "--no-pci", "-l", "0",
			     "--log-level", "lib.eal:error", NULL };
	char *eal_argv[64];
	int eal_argc = 0;

	if (strcmp(o->backend, "kernel") == 0)
		return false;
	if (eal_at < argc) {
		eal_argv[eal_argc++] = argv[0];
		for (int i = eal_at; i < argc && eal_argc < 63; i++)
			eal_argv[eal_argc++] = argv[i];
	} else {
		for (; defaults[eal_argc]; eal_argc++)
			eal_argv[eal_argc] = defaults[eal_argc];
	}
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		rf_warn("DPDK EAL could not start (%s): stores go in plain memory, kernel backend",
			rte_strerror(rte_errno));
		return false;
	}
	rf_info("DPDK EAL up: stores go in hugepage memzones");
	return true;
#else
	(void)o, (void)argc, (void)argv, (void)eal_at;
	rf_info("built without DPDK: stores go in plain memory, kernel backend");
	return false;
#endif
}

static void rf_print_stats(struct rf_ingest *const *ingests,
			   const struct rf_stream_key *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct rf_ingest_stats s;

		rf_ingest_stats(ingests[i], &s);
		fprintf(stderr,
			"  %s %-4s %6.2f Mbit/s  chunks %-8llu raps %-5llu disc %-3llu garbage %-7llu B  resyncs %-3llu  reconnects %-3llu stalls %-3llu store %s\n",
			keys[i].id_hex, s.finished ? "END" : s.up ? "up" : "DOWN",
			s.bitrate_bps / 1e6, (unsigned long long)s.chunks,
			(unsigned long long)s.raps, (unsigned long long)s.discontinuities,
			(unsigned long long)s.garbage_bytes, (unsigned long long)s.resyncs,
			(unsigned long long)(s.connects ? s.connects - 1 : 0),
			(unsigned long long)s.stalls, s.sized ? "sized" : "probing");
	}
}

static int rf_write_stats_json(const char *path, struct rf_ingest *const *ingests,
			       const struct rf_stream_key *keys,
			       const struct rf_seed_opts *o, uint64_t missed)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		rf_err("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\"recorder_missed\": %llu, \"streams\": [", (unsigned long long)missed);
	for (unsigned i = 0; i < o->nsources; i++) {
		struct rf_ingest_stats s;

		rf_ingest_stats(ingests[i], &s);
		fprintf(f,
			"%s\n {\"stream_id\": \"%s\", \"source\": \"%s\", \"finished\": %s, \"error\": \"%s\", "
			"\"bytes_in\": %llu, \"chunks\": %llu, \"raps\": %llu, \"garbage_bytes\": %llu, "
			"\"resyncs\": %llu, \"discontinuities\": %llu, \"connects\": %llu, \"failures\": %llu, "
			"\"stalls\": %llu, \"bitrate_bps\": %llu, \"last_reconnect_ms\": %llu, "
			"\"store_slots\": %llu, \"store_bytes\": %llu}",
			i ? "," : "", keys[i].id_hex, o->sources[i], s.finished ? "true" : "false",
			s.finished ? rf_ingest_error(ingests[i]) : "",
			(unsigned long long)s.bytes_in, (unsigned long long)s.chunks,
			(unsigned long long)s.raps, (unsigned long long)s.garbage_bytes,
			(unsigned long long)s.resyncs, (unsigned long long)s.discontinuities,
			(unsigned long long)s.connects, (unsigned long long)s.failures,
			(unsigned long long)s.stalls, (unsigned long long)s.bitrate_bps,
			(unsigned long long)s.last_reconnect_ms,
			(unsigned long long)s.store_slots, (unsigned long long)s.store_bytes);
	}
	fprintf(f, "\n]}\n");
	return fclose(f) ? -EIO : 0;
}

/* Streams whose source finished (all done: stop) or failed. */
static unsigned rf_count_finished(struct rf_ingest *const *ingests, unsigned n,
				  unsigned *failed)
{
	unsigned finished = 0;

	*failed = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rf_ingest_stats s;

		rf_ingest_stats(ingests[i], &s);
		finished += s.finished;
		*failed += s.failed;
	}
	return finished;
}

int main(int argc, char **argv)
{
	struct rf_seed_opts o = {
		.window_s = 30, .store_max_mb = 512, .packets_per_chunk = RF_TS_PACKETS_DEFAULT,
		.chunk_bytes = RF_CHUNK_DEFAULT, .stall_ms = 3000, .stats_interval_s = 1,
		.backend = "auto",
	};
	static struct rf_stream_key keys[RF_MAX_STREAMS];
	struct rf_ingest *ingests[RF_MAX_STREAMS] = { NULL };
	const char *names[RF_MAX_STREAMS];
	struct rf_recorder *rec = NULL;
	uint64_t start, next_stats, missed = 0;
	char err[512];
	int eal_at, rc = 1;
	unsigned failed = 0;
	bool eal;

	if (rf_parse_args(argc, argv, &o, &eal_at) != 0)
		return 2;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "rawflow-seed: cannot initialise libsodium or libcurl\n");
		return 1;
	}
	for (unsigned i = 0; i < o.nsources; i++) {
		if (i < o.nkeys) {
			if (rf_keyfile_load(o.keys[i], true, &keys[i], err, sizeof(err)) != 0) {
				fprintf(stderr, "rawflow-seed: %s\n", err);
				return 2;
			}
		} else {
			rf_stream_key_ephemeral(&keys[i]);
			rf_warn("%s has no --key: stream %s lives only as long as this process",
				o.sources[i], keys[i].id_hex);
		}
		names[i] = keys[i].id_hex;
	}
	eal = rf_start_eal(&o, argc, argv, eal_at);
	if (strcmp(o.backend, "dpdk") == 0 && !eal) {
		fprintf(stderr, "rawflow-seed: --backend dpdk, but DPDK could not start\n");
		return 1;
	}
	rf_store_mem_use_eal(eal);
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	signal(SIGPIPE, SIG_IGN);

	for (unsigned i = 0; i < o.nsources; i++) {
		struct rf_ingest_config cfg = {
			.url = o.sources[i], .name = keys[i].id_hex,
			.stream_id = keys[i].stream_id, .window_s = o.window_s,
			.store_max_bytes = (size_t)o.store_max_mb << 20,
			.packets_per_chunk = o.packets_per_chunk,
			.chunk_bytes = o.chunk_bytes, .loop = o.loop,
			.stall_ms = o.stall_ms, .alloc = rf_store_mem_alloc,
			.free = rf_store_mem_free,
		};

		if (rf_ingest_start(&ingests[i], &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "rawflow-seed: %s\n", err);
			rc = 2;
			goto stop;
		}
		rf_info("stream %s: ingesting %s", keys[i].id_hex, o.sources[i]);
	}
	if (o.record_dir &&
	    rf_recorder_start(&rec, o.record_dir, ingests, names, o.nsources, err, sizeof(err)) != 0) {
		fprintf(stderr, "rawflow-seed: %s\n", err);
		goto stop;
	}

	start = rf_now_ms();
	next_stats = start + (uint64_t)(o.stats_interval_s * 1000);
	while (!rf_quit && rf_count_finished(ingests, o.nsources, &failed) < o.nsources) {
		struct timespec ts = { 0, 50 * 1000000 };
		uint64_t now = rf_now_ms();

		if (o.duration_s > 0 && now - start >= o.duration_s * 1000)
			break;
		if (o.stats_interval_s > 0 && now >= next_stats) {
			rf_print_stats(ingests, keys, o.nsources);
			next_stats = now + (uint64_t)(o.stats_interval_s * 1000);
		}
		nanosleep(&ts, NULL);
	}
	rf_count_finished(ingests, o.nsources, &failed);
	rc = failed ? 1 : 0;
	rf_print_stats(ingests, keys, o.nsources);

stop:
	/* ingest stops first, so the recorder's last pass gets every chunk */
	for (unsigned i = 0; i < o.nsources; i++)
		rf_ingest_stop(ingests[i]);
	missed = rf_recorder_stop(rec);
	if (missed)
		rf_warn("recorder: %llu chunks fell out of the window before they were written",
			(unsigned long long)missed);
	if (o.stats_json && ingests[o.nsources - 1] &&
	    rf_write_stats_json(o.stats_json, ingests, keys, &o, missed) != 0)
		rc = 1;
	for (unsigned i = 0; i < o.nsources; i++)
		rf_ingest_free(ingests[i]);
	curl_global_cleanup();
#ifdef RF_HAVE_DPDK
	if (eal)
		rte_eal_cleanup();
#endif
	return rc;
}
