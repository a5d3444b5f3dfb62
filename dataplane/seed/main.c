/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-seed: the ICD server. One ingest thread per stream fills its
 * hugepage chunk store; a serving backend (DPDK lcores, or kernel UDP
 * sockets) runs the seed core over them; a monitor thread prints
 * statistics and ends the run (--duration, every source finished).
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef RF_HAVE_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#endif

#include "chunker.h"
#include "clock.h"
#include "ingest.h"
#include "keyfile.h"
#include "log.h"
#include "options.h"
#include "recorder.h"
#include "serve.h"
#include "store_mem.h"

static volatile sig_atomic_t rf_quit;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_quit = 1;
}

struct rf_seed_run {
	struct rf_seed_opts o;
	struct rf_stream_key keys[RF_MAX_STREAMS];
	struct rf_ingest *ingests[RF_MAX_STREAMS];
	const char *names[RF_MAX_STREAMS];
	unsigned failed;
};

/* Start the DPDK EAL so stores live in memzones and ports can serve; false
 * (with a message) where it cannot start. */
static bool rf_start_eal(const struct rf_seed_opts *o, int argc, char **argv)
{
#ifdef RF_HAVE_DPDK
	char *defaults[] = { argv[0], "--in-memory", "--no-pci", "-l", "0",
			     "--log-level", "lib.eal:error", NULL };
	char *eal_argv[64];
	int eal_argc = 0;

	if (strcmp(o->backend, "kernel") == 0)
		return false;
	if (o->eal_at < argc) {
		eal_argv[eal_argc++] = argv[0];
		for (int i = o->eal_at; i < argc && eal_argc < 63; i++)
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
	(void)o, (void)argc, (void)argv;
	rf_info("built without DPDK: stores go in plain memory, kernel backend");
	return false;
#endif
}

/* DPDK serves when its EAL runs with at least one port. */
static bool rf_dpdk_can_serve(bool eal)
{
#ifdef RF_HAVE_DPDK
	return eal && rte_eth_dev_count_avail() > 0;
#else
	(void)eal;
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

/* A JSON string body: the error text quotes what a source sent. */
static void rf_json_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
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
		fprintf(f, "%s\n {\"stream_id\": \"%s\", \"source\": \"", i ? "," : "",
			keys[i].id_hex);
		rf_json_str(f, o->sources[i]);
		fprintf(f, "\", \"finished\": %s, \"error\": \"", s.finished ? "true" : "false");
		rf_json_str(f, s.finished ? rf_ingest_error(ingests[i]) : "");
		fprintf(f, "\", "
			"\"bytes_in\": %llu, \"chunks\": %llu, \"raps\": %llu, \"garbage_bytes\": %llu, "
			"\"resyncs\": %llu, \"discontinuities\": %llu, \"connects\": %llu, \"failures\": %llu, "
			"\"stalls\": %llu, \"bitrate_bps\": %llu, \"last_reconnect_ms\": %llu, "
			"\"store_slots\": %llu, \"store_bytes\": %llu}",
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


/* Print statistics; set rf_quit at --duration or when every source has
 * finished. */
static void *rf_monitor(void *arg)
{
	struct rf_seed_run *r = arg;
	uint64_t start = rf_now_ms(), next = start + (uint64_t)(r->o.stats_interval_s * 1000);

	while (!rf_quit) {
		struct timespec ts = { 0, 50 * 1000000 };
		uint64_t now = rf_now_ms();

		if (rf_count_finished(r->ingests, r->o.nsources, &r->failed) == r->o.nsources ||
		    (r->o.duration_s > 0 && now - start >= r->o.duration_s * 1000)) {
			rf_quit = 1;
			break;
		}
		if (r->o.stats_interval_s > 0 && now >= next) {
			rf_print_stats(r->ingests, r->keys, r->o.nsources);
			next = now + (uint64_t)(r->o.stats_interval_s * 1000);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int rf_load_keys(struct rf_seed_run *r)
{
	char err[512];

	for (unsigned i = 0; i < r->o.nsources; i++) {
		if (i < r->o.nkeys) {
			if (rf_keyfile_load(r->o.keys[i], true, &r->keys[i], err, sizeof(err)) != 0) {
				fprintf(stderr, "rawflow-seed: %s\n", err);
				return -EINVAL;
			}
		} else {
			rf_stream_key_ephemeral(&r->keys[i]);
			rf_warn("%s has no --key: stream %s lives only as long as this process",
				r->o.sources[i], r->keys[i].id_hex);
		}
		r->names[i] = r->keys[i].id_hex;
	}
	return 0;
}

static int rf_start_ingests(struct rf_seed_run *r)
{
	char err[512];

	for (unsigned i = 0; i < r->o.nsources; i++) {
		struct rf_ingest_config cfg = {
			.url = r->o.sources[i], .name = r->keys[i].id_hex,
			.stream_id = r->keys[i].stream_id, .seckey = r->keys[i].sk,
			.group_size = (uint8_t)r->o.group_size, .window_s = r->o.window_s,
			.store_max_bytes = (size_t)r->o.store_max_mb << 20,
			.packets_per_chunk = r->o.packets_per_chunk,
			.chunk_bytes = r->o.chunk_bytes, .loop = r->o.loop,
			.stall_ms = r->o.stall_ms, .alloc = rf_store_mem_alloc,
			.free = rf_store_mem_free,
		};

		if (rf_ingest_start(&r->ingests[i], &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "rawflow-seed: %s\n", err);
			return -EINVAL;
		}
		rf_info("stream %s: ingesting %s", r->keys[i].id_hex, r->o.sources[i]);
	}
	return 0;
}

/* Serve until rf_quit (or just wait, with --no-serve). */
static int rf_serve(struct rf_seed_run *r, bool eal, struct rf_token_keys *tokens)
{
	struct rf_serve_config cfg = {
		.nstreams = r->o.nsources, .bind_addr = r->o.bind_addr,
		.port = (uint16_t)r->o.port, .max_sessions = r->o.max_sessions,
		.max_egress_bps = r->o.max_egress_bps, .substreams = (uint8_t)r->o.substreams,
		.group_size = (uint8_t)r->o.group_size, .port_ip4 = r->o.port_ip4,
		.port_ip6 = r->o.port_ip6, .workers = r->o.workers, .quit = &rf_quit,
		.control_path = r->o.control,
		.stats_interval_s = r->o.stats_interval_s,
	};
	char err[512];

	if (!r->o.serve) {
		while (!rf_quit)
			nanosleep(&(struct timespec){ 0, 50 * 1000000 }, NULL);
		return 0;
	}
	if (r->o.token_keys) {
		if (rf_token_keys_load(r->o.token_keys, tokens, err, sizeof(err)) != 0) {
			rf_err("%s", err);
			return -EINVAL;
		}
		cfg.tokens = tokens;
	}
	randombytes_buf(cfg.cookie_secret, sizeof(cfg.cookie_secret));
	for (unsigned i = 0; i < r->o.nsources; i++)
		cfg.streams[i] = (struct rf_serve_stream){ r->ingests[i], &r->keys[i] };
	if (rf_dpdk_can_serve(eal))
		return rf_serve_dpdk(&cfg);
	if (strcmp(r->o.backend, "dpdk") == 0) {
		rf_err("--backend dpdk: DPDK has no port to serve on (give one with -- --vdev ...)");
		return -ENODEV;
	}
	if (strcmp(r->o.backend, "auto") == 0)
		rf_info("no DPDK port: serving through kernel UDP sockets (--backend kernel)");
	return rf_serve_kernel(&cfg);
}

int main(int argc, char **argv)
{
	static struct rf_seed_run r;
	static struct rf_token_keys tokens;
	struct rf_recorder *rec = NULL;
	pthread_t monitor;
	uint64_t missed;
	char err[512];
	int rc;
	bool eal;

	rc = rf_seed_parse_args(argc, argv, &r.o);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "rawflow-seed: cannot initialise libsodium or libcurl\n");
		return 1;
	}
	if (rf_load_keys(&r) != 0)
		return 2;
	eal = rf_start_eal(&r.o, argc, argv);
	if (strcmp(r.o.backend, "dpdk") == 0 && !eal) {
		fprintf(stderr, "rawflow-seed: --backend dpdk, but DPDK could not start\n");
		return 1;
	}
	rf_store_mem_use_eal(eal);
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = 2;
	if (rf_start_ingests(&r) != 0)
		goto stop;
	if (r.o.record_dir && rf_recorder_start(&rec, r.o.record_dir, r.ingests, r.names,
						r.o.nsources, err, sizeof(err)) != 0) {
		fprintf(stderr, "rawflow-seed: %s\n", err);
		goto stop;
	}
	if (pthread_create(&monitor, NULL, rf_monitor, &r) != 0) {
		fprintf(stderr, "rawflow-seed: cannot start the monitor thread\n");
		goto stop;
	}
	rc = rf_serve(&r, eal, &tokens) ? 1 : 0;
	rf_quit = 1;
	pthread_join(monitor, NULL);
	rf_count_finished(r.ingests, r.o.nsources, &r.failed);
	if (r.failed)
		rc = 1;
	rf_print_stats(r.ingests, r.keys, r.o.nsources);

stop:
	/* ingest stops first, so the recorder's last pass gets every chunk */
	for (unsigned i = 0; i < r.o.nsources; i++)
		rf_ingest_stop(r.ingests[i]);
	missed = rf_recorder_stop(rec);
	if (missed)
		rf_warn("recorder: %llu chunks fell out of the window before they were written",
			(unsigned long long)missed);
	if (r.o.stats_json && r.ingests[r.o.nsources - 1] &&
	    rf_write_stats_json(r.o.stats_json, r.ingests, r.keys, &r.o, missed) != 0)
		rc = 1;
	for (unsigned i = 0; i < r.o.nsources; i++)
		rf_ingest_free(r.ingests[i]);
	curl_global_cleanup();
#ifdef RF_HAVE_DPDK
	if (eal)
		rte_eal_cleanup();
#endif
	sodium_memzero(&tokens, sizeof(tokens));
	return rc;
}
