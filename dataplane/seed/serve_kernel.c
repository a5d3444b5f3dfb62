/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel-socket backend: the same seed core over one dual-stack UDP
 * socket, recvmmsg in, sendmmsg out. Needs neither root nor hugepages.
 * Stream data leaves by reference (udp_batch.c): each datagram is two
 * iovecs, the 28-byte DATA header and the chunk's payload in the store;
 * the kernel copies once, as it must.
 *
 * UDP GSO (UDP_SEGMENT) only batches datagrams to one destination; the
 * fan-out sends each chunk to many, so it does not apply here.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "drop.h"
#include "control.h"
#include "log.h"
#include "serve.h"
#include "sockaddr.h"
#include "udp_batch.h"

#define RF_K_BURST 64
#define RF_K_RX_BUF 2048
#define RF_K_POLL_MS 1
#define RF_K_TIMER_MS 100
#define RF_K_SOCKBUF (16 << 20)
#define RF_K_DRAIN_MS 2000

struct rf_kstream {
	struct rf_seed *seed;
	void *mem;
	const struct rf_chunk_store *store;
	const struct rf_sig_ring *sigs;
};

struct rf_kernel {
	const struct rf_serve_config *cfg;
	int fd;
	unsigned nstreams;
	struct rf_kstream st[RF_SERVE_STREAMS_MAX];
	uint64_t next_directory;
	uint64_t stale;        /* chunks at the window's tail, not sent */
	int control_fd;
	struct rf_candidate seeds[RF_CONTROL_SEEDS]; /* other seeds: the last resort */
	unsigned nseeds;

	struct mmsghdr rx_msg[RF_K_BURST];
	struct iovec rx_iov[RF_K_BURST];
	struct sockaddr_storage rx_addr[RF_K_BURST];
	uint8_t rx_buf[RF_K_BURST][RF_K_RX_BUF];

	struct rf_udp_batch out;
	struct rf_seed_tx desc[RF_K_BURST];
	struct rf_seed_outbox outbox;
};

static int rf_kernel_socket(const struct rf_serve_config *cfg)
{
	struct sockaddr_storage ss;
	struct rf_addr bind_addr;
	int fd, zero = 0, buf = RF_K_SOCKBUF;

	if (rf_addr_parse(cfg->bind_addr, cfg->port, &bind_addr) != 0) {
		rf_err("kernel backend: bad bind address '%s'", cfg->bind_addr);
		return -EINVAL;
	}
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* one socket for IPv4 and IPv6 peers */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&ss, rf_addr_to_sockaddr(&bind_addr, &ss, true)) != 0) {
		int rc = -errno;

		rf_err("kernel backend: cannot bind %s port %u: %s", cfg->bind_addr,
		       cfg->port, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

static void rf_kernel_send_outbox(struct rf_kernel *k)
{
	for (unsigned i = 0; i < k->outbox.count; i++)
		rf_udp_batch_datagram(&k->out, &k->outbox.out[i].dst, k->outbox.out[i].buf,
				      k->outbox.out[i].len);
	/* the outbox is reused by the next call: its bytes must go now */
	rf_udp_batch_flush(&k->out);
	k->outbox.count = 0;
}

/* A chunk this close to the window's tail may be rewritten by the ingest
 * while the kernel copies it: not sent (the peer repairs or skips it). */
#define RF_K_TAIL_GUARD 64

static void rf_kernel_send_tx(struct rf_kernel *k, const struct rf_kstream *st,
			      uint64_t stream_id, const struct rf_seed_tx *tx, unsigned n)
{
	uint64_t next = rf_chunk_store_next(st->store);
	uint64_t room = rf_chunk_store_slots(st->store) - RF_K_TAIL_GUARD;

	for (unsigned i = 0; i < n; i++) {
		/* the next RF_K_TAIL_GUARD appends reuse these slots */
		if (tx[i].kind == RF_SEED_TX_DATA && next - tx[i].seq > room) {
			k->stale++;
			continue;
		}
		rf_udp_batch_seed_tx(&k->out, stream_id, &tx[i]);
	}
	/* descriptors point at session addresses: send before the next call */
	rf_udp_batch_flush(&k->out);
}

static void rf_kernel_receive(struct rf_kernel *k, uint64_t now)
{
	int n = recvmmsg(k->fd, k->rx_msg, RF_K_BURST, MSG_DONTWAIT, NULL);

	for (int i = 0; i < n; i++) {
		struct rf_addr src;
		int stream;

		rf_addr_from_sockaddr(&src, &k->rx_addr[i]);
		stream = rf_serve_route(k->cfg, k->rx_buf[i], k->rx_msg[i].msg_len);
		/* unknown streams go to the first seed, which counts the drop */
		rf_seed_input(k->st[stream < 0 ? 0 : stream].seed, now, &src,
			      k->rx_buf[i], k->rx_msg[i].msg_len, &k->outbox);
		if (k->outbox.count)
			rf_kernel_send_outbox(k);
		k->rx_msg[i].msg_hdr.msg_namelen = sizeof(k->rx_addr[i]);
	}
}

static void rf_kernel_pump(struct rf_kernel *k, uint64_t now)
{
	for (unsigned i = 0; i < k->nstreams; i++) {
		struct rf_kstream *st = &k->st[i];
		unsigned n;

		if (!st->store) {
			st->store = rf_ingest_store(k->cfg->streams[i].ingest);
			st->sigs = rf_ingest_sigs(k->cfg->streams[i].ingest);
			if (!st->store)
				continue;
			rf_seed_set_store(st->seed, st->store);
		}
		do {
			n = rf_seed_pump(st->seed, now, st->store, st->sigs, k->desc, RF_K_BURST);
			rf_kernel_send_tx(k, st, k->cfg->streams[i].key->stream_id, k->desc, n);
		} while (n == RF_K_BURST);
	}
}

static void rf_kernel_timers(struct rf_kernel *k, uint64_t now)
{
	bool second = now >= k->next_directory;

	if (second)
		k->next_directory = now + 1000;
	for (unsigned i = 0; i < k->nstreams; i++) {
		struct rf_ingest_stats is;

		rf_ingest_stats(k->cfg->streams[i].ingest, &is);
		if (is.bitrate_bps)
			rf_seed_set_stream_bps(k->st[i].seed, is.bitrate_bps);
		if (second && is.bitrate_bps)
			rf_seed_directory_refresh(k->st[i].seed, is.bitrate_bps,
						  k->cfg->substreams, k->seeds, k->nseeds);
		for (bool full = true; full;) {
			k->outbox.count = 0;
			rf_seed_timers(k->st[i].seed, now, &k->outbox);
			full = k->outbox.count == RF_SEED_OUT_MAX; /* batched: more to do */
			rf_kernel_send_outbox(k);
		}
	}
}

static void rf_kernel_print_stats(const struct rf_kernel *k)
{
	for (unsigned i = 0; i < k->nstreams; i++) {
		const struct rf_seed_stats *s = rf_seed_stats(k->st[i].seed);
		uint64_t drops = 0;

		for (int d = RF_DROP_NONE + 1; d < RF_DROP_MAX; d++)
			drops += s->drops[d];
		fprintf(stderr,
			"  %s serve: sessions %-6llu joins %-6llu tx %-10llu pkts %8.2f MB  rx %-8llu drops %-6llu repairs %-5llu redirects %-4llu\n",
			k->cfg->streams[i].key->id_hex, (unsigned long long)s->sessions,
			(unsigned long long)s->joins, (unsigned long long)s->tx_packets,
			s->tx_bytes / 1e6, (unsigned long long)s->rx_packets,
			(unsigned long long)drops, (unsigned long long)s->repairs_sent,
			(unsigned long long)s->redirects);
	}
}

/* ---- the control socket ---- */

static void rf_kernel_ctl_stats(void *ctx, FILE *out)
{
	const struct rf_kernel *k = ctx;

	fprintf(out, "{\"backend\": \"kernel\", \"stale\": %llu, \"dropped\": %llu, \"streams\": [",
		(unsigned long long)k->stale, (unsigned long long)k->out.dropped);
	for (unsigned i = 0; i < k->nstreams; i++)
		rf_control_stream_json(out, i == 0, k->cfg->streams[i].key->id_hex,
				       rf_seed_stats(k->st[i].seed));
	fprintf(out, "]}\n");
}

static void rf_kernel_ctl_sessions(void *ctx, FILE *out)
{
	const struct rf_kernel *k = ctx;
	struct rf_seed_peer_view v[64];
	bool first = true;

	fprintf(out, "{\"sessions\": [");
	for (unsigned i = 0; i < k->nstreams; i++) {
		uint32_t cursor = 0;
		unsigned n;

		while ((n = rf_seed_sessions(k->st[i].seed, &cursor, v, 64)) > 0)
			for (unsigned j = 0; j < n; j++, first = false)
				rf_control_session_json(out, first, k->cfg->streams[i].key->id_hex,
							&v[j]);
	}
	fprintf(out, "\n]}\n");
}

static int rf_kernel_ctl_deny(void *ctx, const struct rf_seed_deny *list, unsigned n)
{
	struct rf_kernel *k = ctx;

	for (unsigned i = 0; i < k->nstreams; i++)
		if (rf_seed_set_deny(k->st[i].seed, list, n) != 0)
			return -EINVAL;
	return 0;
}

static void rf_kernel_ctl_seeds(void *ctx, const struct rf_candidate *list, unsigned n)
{
	struct rf_kernel *k = ctx;

	memcpy(k->seeds, list, n * sizeof(*list));
	k->nseeds = n;
	k->next_directory = 0; /* offered from the next timer on */
}

static void rf_kernel_ctl_drain(void *ctx)
{
	struct rf_kernel *k = ctx;

	*k->cfg->quit = 1; /* the loop drains on its way out */
}

/* SIGTERM: redirect every peer elsewhere, then stop. The seed core runs
 * on unix time (cookies carry it), so does this loop. */
static void rf_kernel_drain(struct rf_kernel *k)
{
	uint64_t until = rf_now_ms() + RF_K_DRAIN_MS;
	unsigned left;

	rf_info("draining: redirecting peers to other sources");
	do {
		left = 0;
		for (unsigned i = 0; i < k->nstreams; i++) {
			k->outbox.count = 0;
			left += rf_seed_drain(k->st[i].seed, rf_unix_ms(), &k->outbox);
			rf_kernel_send_outbox(k);
		}
	} while (left && rf_now_ms() < until);
	rf_info("drained%s", left ? " (time limit: some sessions were not told)" : "");
}

static int rf_kernel_init_streams(struct rf_kernel *k)
{
	for (unsigned i = 0; i < k->nstreams; i++) {
		struct rf_seed_params p;
		const char *err = NULL;
		size_t bytes;

		rf_serve_seed_params(k->cfg, i, 2000000, &p);
		bytes = rf_seed_mem_size(p.max_sessions, p.substreams);
		k->st[i].mem = calloc(1, bytes);
		if (!k->st[i].mem)
			return -ENOMEM;
		k->st[i].seed = rf_seed_init(k->st[i].mem, bytes, &p, &err);
		if (!k->st[i].seed) {
			rf_err("stream %s: %s", k->cfg->streams[i].key->id_hex, err);
			return -EINVAL;
		}
	}
	return 0;
}

int rf_serve_kernel(const struct rf_serve_config *cfg)
{
	struct rf_kernel *k = calloc(1, sizeof(*k));
	struct rf_control_ops ctl = { .ctx = k, .stats = rf_kernel_ctl_stats,
				      .sessions = rf_kernel_ctl_sessions,
				      .deny = rf_kernel_ctl_deny, .seeds = rf_kernel_ctl_seeds,
				      .drain = rf_kernel_ctl_drain };
	uint64_t next_timer = 0, next_stats;
	int rc;

	if (!k)
		return -ENOMEM;
	k->cfg = cfg;
	k->nstreams = cfg->nstreams;
	rc = rf_kernel_init_streams(k);
	if (rc)
		goto free_streams;
	k->fd = rf_kernel_socket(cfg);
	if (k->fd < 0) {
		rc = k->fd;
		goto free_streams;
	}
	rf_udp_batch_init(&k->out, k->fd, true);
	for (unsigned i = 0; i < RF_K_BURST; i++) {
		k->rx_iov[i] = (struct iovec){ k->rx_buf[i], RF_K_RX_BUF };
		k->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &k->rx_addr[i], .msg_namelen = sizeof(k->rx_addr[i]),
			.msg_iov = &k->rx_iov[i], .msg_iovlen = 1,
		};
	}
	k->control_fd = cfg->control_path ? rf_control_open(cfg->control_path) : -1;
	rf_info("kernel backend: serving %u stream(s) on UDP port %u", k->nstreams, cfg->port);
	next_stats = rf_unix_ms() + (uint64_t)(cfg->stats_interval_s * 1000);
	while (!*cfg->quit) {
		struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
		uint64_t now;

		if (poll(&pfd, 1, RF_K_POLL_MS) > 0)
			for (int burst = 0; burst < 4; burst++)
				rf_kernel_receive(k, rf_unix_ms());
		now = rf_unix_ms();
		rf_kernel_pump(k, now);
		if (now >= next_timer) {
			rf_kernel_timers(k, now);
			rf_control_poll(k->control_fd, &ctl);
			next_timer = now + RF_K_TIMER_MS;
		}
		if (cfg->stats_interval_s > 0 && now >= next_stats) {
			rf_kernel_print_stats(k);
			next_stats = now + (uint64_t)(cfg->stats_interval_s * 1000);
		}
	}
	rf_control_close(k->control_fd, cfg->control_path);
	rf_kernel_drain(k);
	rf_kernel_print_stats(k);
	if (k->stale)
		rf_info("kernel backend: %llu chunks at the window's tail were not sent",
			(unsigned long long)k->stale);
	if (k->out.dropped)
		rf_warn("kernel backend: %llu datagrams dropped at a full socket buffer",
			(unsigned long long)k->out.dropped);
	close(k->fd);
	rc = 0;
free_streams:
	for (unsigned i = 0; i < k->nstreams; i++)
		free(k->st[i].mem);
	free(k);
	return rc;
}
