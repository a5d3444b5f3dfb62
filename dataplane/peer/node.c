/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "node.h"
#include "sockaddr.h"
#include "udp_batch.h"

#define RF_NODE_BURST 32
#define RF_NODE_DELAY_SLOTS 512
#define RF_NODE_SOCKBUF (4 << 20)
#define RF_NODE_SNDBUF_AUTO (64 << 10) /* small: a slow uplink pushes back soon */
#define RF_NODE_METER_MS 1000
#define RF_NODE_CALM_S 10     /* seconds without pushback before the budget grows */

struct rf_delayed {
	uint64_t due_ms;
	struct rf_addr src;
	uint16_t len;
	uint8_t buf[RF_MAX_DATAGRAM];
};

struct rf_node {
	struct rf_node_config cfg;
	int fd;
	struct rf_addr local;
	struct rf_peer *peer;
	void *peer_mem;
	struct rf_seed *relay;          /* NULL until welcomed; never with no upload */
	bool relay_tried;
	void *relay_mem;
	struct rf_node_stats st;
	uint64_t meter_ms, meter_bytes, meter_blocked; /* upload_auto */
	unsigned calm_s;                 /* seconds since the uplink was last full */
	uint32_t rnd;

	/* the receive model's delay line: a FIFO (one delay for all) */
	struct rf_delayed *delayed;
	unsigned dl_head, dl_tail;

	struct rf_peer_outbox pout;
	struct rf_seed_outbox sout;
	struct rf_seed_tx tx[RF_NODE_BURST];
	struct rf_udp_batch out;
	uint8_t (*forged)[RF_CHUNK_MAX]; /* cfg.forge: what it relays instead */

	struct mmsghdr rmsg[RF_NODE_BURST];
	struct iovec riov[RF_NODE_BURST];
	struct sockaddr_storage from[RF_NODE_BURST];
	uint8_t rbuf[RF_NODE_BURST][RF_MAX_DATAGRAM + 64];
};

/* ---- sending ---- */

/* Both outboxes go out now: their buffers are reused by the next call. */
static void rf_node_send_outboxes(struct rf_node *n)
{
	for (unsigned i = 0; i < n->pout.count; i++)
		rf_udp_batch_datagram(&n->out, &n->pout.out[i].dst, n->pout.out[i].buf,
				      n->pout.out[i].len);
	for (unsigned i = 0; i < n->sout.count; i++)
		rf_udp_batch_datagram(&n->out, &n->sout.out[i].dst, n->sout.out[i].buf,
				      n->sout.out[i].len);
	rf_udp_batch_flush(&n->out);
	n->pout.count = 0;
	n->sout.count = 0;
}

/* The relay's fan-out to children, payloads by reference. */
static void rf_node_send_tx(struct rf_node *n, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const struct rf_seed_tx *t = &n->tx[i];
		struct iovec *payload = rf_udp_batch_seed_tx(&n->out, n->cfg.peer.stream_id, t);

		if (!payload)
			continue;
		n->st.relay_bytes += RF_DATA_HDR_LEN + t->chunk->len;
		if (n->forged) { /* a malicious relay, for tests: one byte changed */
			uint8_t *f = n->forged[n->out.n - 1];

			memcpy(f, t->chunk->payload, t->chunk->len);
			f[t->chunk->len / 2] ^= 0xff;
			payload->iov_base = f;
		}
	}
	rf_udp_batch_flush(&n->out);
}

/* ---- the relay ---- */

/* What the peer side takes from a: the relay never serves it back. */
static uint64_t rf_node_fed_by(const void *ctx, const struct rf_addr *a)
{
	const struct rf_node *n = ctx;

	return rf_peer_fed_by(n->peer, a);
}

/* Welcomed: start serving children from our own store, within the
 * upload limit; the seed is where children go when we are full. */
static void rf_node_relay_up(struct rf_node *n)
{
	const struct rf_welcome *w = rf_peer_welcome(n->peer);
	struct rf_seed_params p = { 0 };
	struct rf_candidate seed = { .addr = n->cfg.peer.seed, .substreams = ~0ull };
	const char *err = NULL;
	size_t bytes;

	p.stream_id = n->cfg.peer.stream_id;
	memcpy(p.pubkey, w->pubkey, RF_PUBKEY_LEN);
	randombytes_buf(p.cookie_secret, sizeof(p.cookie_secret));
	p.cookie_lifetime_s = 30;
	p.max_sessions = n->cfg.max_children;
	p.max_egress_bps = (uint64_t)n->cfg.peer.upload_kbps * 1000;
	p.stream_bps = (uint64_t)w->chunk_rate_milli * w->chunk_size * 8 / 1000;
	p.chunk_size = w->chunk_size;
	p.substreams = w->substreams;
	p.group_size = w->group_size;
	p.chunk_rate_milli = w->chunk_rate_milli;
	p.keepalive_ms = w->keepalive_ms ? w->keepalive_ms : 1000;
	p.timeout_ms = 3 * p.keepalive_ms;
	p.catchup_per_pump = 8;
	p.join_substreams = 1; /* a child may take a single substream */
	p.fed_by = rf_node_fed_by;
	p.fed_by_ctx = n;
	bytes = rf_seed_mem_size(p.max_sessions, p.substreams);
	n->relay_mem = calloc(1, bytes);
	if (!n->relay_mem)
		return;
	n->relay = rf_seed_init(n->relay_mem, bytes, &p, &err);
	if (!n->relay) {
		rf_warn("relay not started: %s", err ? err : "?");
		free(n->relay_mem);
		n->relay_mem = NULL;
		return;
	}
	rf_seed_set_store(n->relay, rf_peer_store(n->peer));
	rf_seed_set_directory(n->relay, &seed, 1);
}

/* What the relay serves to a: the peer side never takes it from a. */
static uint64_t rf_node_relayed_to(const void *ctx, const struct rf_addr *a)
{
	const struct rf_node *n = ctx;

	return n->relay ? rf_seed_session_substreams(n->relay, a) : 0;
}

/* Once a second with upload_auto: the budget follows the uplink. */
static void rf_node_meter(struct rf_node *n, uint64_t now, uint64_t committed_kbps)
{
	uint32_t ceiling = n->cfg.peer.upload_kbps;
	uint64_t ms = now - n->meter_ms;

	if (!n->meter_ms)
		ms = 0; /* the first call starts the meter */
	if (ms && ms < RF_NODE_METER_MS)
		return;
	if (ms && n->out.blocked != n->meter_blocked) {
		uint64_t took = (n->out.bytes - n->meter_bytes) * 8 / ms; /* kbit/s */

		n->st.uplink_kbps = (uint32_t)(took < ceiling ? took : ceiling);
		n->st.budget_kbps = n->st.uplink_kbps * 9 / 10;
		n->calm_s = 0;
		rf_info("uplink full at %u kbit/s: relay budget %u kbit/s", n->st.uplink_kbps,
			n->st.budget_kbps);
	} else if (ms && ++n->calm_s >= RF_NODE_CALM_S && n->st.budget_kbps < ceiling &&
		   committed_kbps * 5 >= n->st.budget_kbps * 4) {
		uint32_t more = n->st.budget_kbps / 8 + 1;

		n->st.budget_kbps = ceiling - n->st.budget_kbps > more ? n->st.budget_kbps + more
									: ceiling;
	}
	rf_seed_set_max_egress(n->relay, (uint64_t)n->st.budget_kbps * 1000);
	n->meter_ms = now;
	n->meter_bytes = n->out.bytes;
	n->meter_blocked = n->out.blocked;
}

/* ---- receiving ---- */

static void rf_node_input(struct rf_node *n, uint64_t now, const struct rf_addr *src,
			  const uint8_t *pkt, size_t len)
{
	if (!rf_peer_input(n->peer, now, src, pkt, len, &n->pout) && n->relay)
		rf_seed_input(n->relay, now, src, pkt, len, &n->sout);
	if (n->pout.count || n->sout.count)
		rf_node_send_outboxes(n);
}

/* The receive model: lose some, delay the rest. True when the datagram
 * is handled now. */
static bool rf_node_model(struct rf_node *n, uint64_t now, const struct rf_addr *src,
			  const uint8_t *pkt, size_t len)
{
	struct rf_delayed *d;

	if (n->cfg.loss > 0) {
		n->rnd = n->rnd * 1103515245u + 12345u;
		if ((n->rnd >> 8) % 1000000 < n->cfg.loss * 1e6) {
			n->st.rx_dropped_by_model++;
			return false;
		}
	}
	if (!n->delayed)
		return true;
	if (n->dl_tail - n->dl_head == RF_NODE_DELAY_SLOTS || len > RF_MAX_DATAGRAM) {
		n->st.rx_dropped_by_model++; /* the line is full: a queue drop */
		return false;
	}
	d = &n->delayed[n->dl_tail++ % RF_NODE_DELAY_SLOTS];
	d->due_ms = now + n->cfg.delay_ms;
	d->src = *src;
	d->len = (uint16_t)len;
	memcpy(d->buf, pkt, len);
	return false;
}

void rf_node_readable(struct rf_node *n, uint64_t now)
{
	int got;

	while ((got = recvmmsg(n->fd, n->rmsg, RF_NODE_BURST, MSG_DONTWAIT, NULL)) > 0) {
		for (int i = 0; i < got; i++) {
			struct rf_addr src;

			n->st.rx_datagrams++;
			rf_addr_from_sockaddr(&src, &n->from[i]);
			if (rf_node_model(n, now, &src, n->rbuf[i], n->rmsg[i].msg_len))
				rf_node_input(n, now, &src, n->rbuf[i], n->rmsg[i].msg_len);
			n->rmsg[i].msg_hdr.msg_namelen = sizeof(n->from[i]);
		}
		if (got < RF_NODE_BURST)
			break;
	}
}

void rf_node_tick(struct rf_node *n, uint64_t now)
{
	unsigned count;

	while (n->delayed && n->dl_head != n->dl_tail &&
	       n->delayed[n->dl_head % RF_NODE_DELAY_SLOTS].due_ms <= now) {
		struct rf_delayed *d = &n->delayed[n->dl_head++ % RF_NODE_DELAY_SLOTS];

		rf_node_input(n, now, &d->src, d->buf, d->len);
	}
	rf_peer_tick(n->peer, now, &n->pout);
	if (!n->relay && !n->relay_tried && n->cfg.peer.upload_kbps &&
	    rf_peer_state(n->peer) == RF_PEER_RECEIVING && rf_peer_store(n->peer)) {
		n->relay_tried = true; /* once: a relay that cannot start stays off */
		rf_node_relay_up(n);
	}
	if (n->relay) {
		const struct rf_seed_stats *rs = rf_seed_stats(n->relay);
		uint32_t committed = (uint32_t)(rs->committed_bps / 1000);

		if (n->cfg.upload_auto)
			rf_node_meter(n, now, committed);
		/* what is not on offer: promised to children, or beyond the budget */
		rf_peer_set_relay(n->peer, committed + (n->cfg.peer.upload_kbps - n->st.budget_kbps),
				  (unsigned)rs->sessions);
		rf_seed_timers(n->relay, now, &n->sout);
		do {
			count = rf_seed_pump(n->relay, now, rf_peer_store(n->peer),
					     rf_peer_sigs(n->peer), n->tx, RF_NODE_BURST);
			rf_node_send_tx(n, count);
		} while (count == RF_NODE_BURST);
	}
	rf_node_send_outboxes(n);
}

unsigned rf_node_play(struct rf_node *n, uint64_t now, rf_peer_play_fn play, void *ctx)
{
	return rf_peer_play(n->peer, now, play, ctx);
}

/* ---- lifecycle ---- */

static int rf_node_socket(struct rf_node *n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int buf = RF_NODE_SOCKBUF, sndbuf = n->cfg.upload_auto ? RF_NODE_SNDBUF_AUTO : buf;
	int zero = 0;

	n->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	setsockopt(n->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (bind(n->fd, (struct sockaddr *)&ss, rf_addr_to_sockaddr(&n->cfg.bind, &ss, true)) != 0 ||
	    getsockname(n->fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	rf_addr_from_sockaddr(&n->local, &ss);
	rf_udp_batch_init(&n->out, n->fd, true);
	return 0;
}

int rf_node_open(struct rf_node **out, const struct rf_node_config *cfg)
{
	struct rf_node *n = calloc(1, sizeof(*n));
	const char *err = NULL;
	size_t bytes;
	int rc;

	if (!n)
		return -ENOMEM;
	n->cfg = *cfg;
	if (!n->cfg.max_children)
		n->cfg.max_children = 64;
	n->st.budget_kbps = cfg->peer.upload_kbps;
	n->rnd = cfg->rnd_seed ? cfg->rnd_seed : 1;
	rc = rf_node_socket(n);
	if (rc) {
		char where[80];

		rf_addr_format(&cfg->bind, where, sizeof(where));
		rf_err("cannot open a UDP socket on %s: %s", where, strerror(-rc));
		goto fail;
	}
	n->cfg.peer.relayed_to = rf_node_relayed_to;
	n->cfg.peer.relay_ctx = n;
	bytes = rf_peer_mem_size(&n->cfg.peer);
	n->peer_mem = bytes ? malloc(bytes) : NULL;
	n->peer = n->peer_mem ? rf_peer_init(n->peer_mem, bytes, &n->cfg.peer, &err) : NULL;
	if (!n->peer) {
		rf_err("cannot start the peer: %s", err ? err : "out of memory");
		rc = -EINVAL;
		goto fail;
	}
	if ((cfg->delay_ms && !(n->delayed = calloc(RF_NODE_DELAY_SLOTS, sizeof(*n->delayed)))) ||
	    (cfg->forge && !(n->forged = calloc(RF_NODE_BURST, sizeof(*n->forged))))) {
		rc = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < RF_NODE_BURST; i++) {
		n->riov[i] = (struct iovec){ n->rbuf[i], sizeof(n->rbuf[i]) };
		n->rmsg[i].msg_hdr = (struct msghdr){
			.msg_name = &n->from[i], .msg_namelen = sizeof(n->from[i]),
			.msg_iov = &n->riov[i], .msg_iovlen = 1,
		};
	}
	*out = n;
	return 0;

fail:
	if (n->fd > 0)
		close(n->fd);
	free(n->delayed);
	free(n->peer_mem);
	free(n);
	return rc;
}

void rf_node_start(struct rf_node *n, uint64_t now)
{
	rf_peer_start(n->peer, now, &n->pout);
	rf_node_send_outboxes(n);
}

void rf_node_close(struct rf_node *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n->delayed);
	free(n->forged);
	free(n->relay_mem);
	free(n->peer_mem);
	free(n);
}

int rf_node_fd(const struct rf_node *n)
{
	return n->fd;
}

const struct rf_addr *rf_node_addr(const struct rf_node *n)
{
	return &n->local;
}

const struct rf_peer *rf_node_peer(const struct rf_node *n)
{
	return n->peer;
}

const struct rf_node_stats *rf_node_stats(const struct rf_node *n)
{
	return &n->st;
}

const struct rf_seed_stats *rf_node_relay_stats(const struct rf_node *n)
{
	return n->relay ? rf_seed_stats(n->relay) : NULL;
}
