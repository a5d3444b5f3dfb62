/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-probe: one protocol client, for operators and tests. Joins a
 * seed (HELLO, COOKIE, JOIN, WELCOME), subscribes to every substream,
 * verifies every chunk against its group's signature, asks for repairs of
 * holes, and writes the verified payloads in sequence order. Reports what
 * it got as a line and as JSON.
 *
 *   rawflow-probe rawflow://HOST[:PORT]/STREAM-ID [options]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chunk_store.h"
#include "cli.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "msg.h"
#include "sockaddr.h"
#include "verify.h"

#define RF_PROBE_SLOTS 16384
#define RF_PROBE_RETRY_MS 500
#define RF_PROBE_HANDSHAKE_TRIES 10
#define RF_PROBE_REPAIR_MS 300     /* a hole this old is asked for again */
#define RF_PROBE_SKIP_MS 3000      /* a hole this old is given up */

enum rf_probe_from { RF_FROM_OLDEST, RF_FROM_RAP, RF_FROM_LIVE };

struct rf_probe {
	/* options */
	struct rf_addr seed;
	uint64_t stream_id;
	double seconds;
	const char *out_path, *json_path;
	enum rf_probe_from from;
	uint64_t mask;
	uint8_t token[RF_TOKEN_LEN];
	bool has_token;

	int fd;
	FILE *out;
	uint64_t peer_id;
	struct rf_welcome welcome;
	struct rf_verifier verifier;
	struct rf_chunk_store *store;
	void *store_mem;
	uint64_t verified[RF_PROBE_SLOTS]; /* seq verified in that slot */
	uint64_t next_out;                 /* next sequence to write */
	uint64_t hole_since_ms;            /* when next_out became a hole */
	uint64_t last_repair_ms;

	/* results */
	uint64_t t0_ms, first_chunk_ms;
	uint64_t received, duplicates, bad, repaired, skipped, written_bytes;
	uint64_t signatures, bad_signatures, chunks_out, raps;
	uint64_t first_seq, last_seq;
};

static volatile sig_atomic_t rf_stop;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_stop = 1;
}

static int rf_probe_send(struct rf_probe *p, const struct rf_msg *m)
{
	uint8_t buf[RF_MAX_DATAGRAM];
	int len = rf_msg_encode(m, buf, sizeof(buf));

	if (len < 0)
		return len;
	return send(p->fd, buf, (size_t)len, 0) == len ? 0 : -errno;
}

static struct rf_msg rf_probe_msg(const struct rf_probe *p, uint8_t type)
{
	struct rf_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.stream_id = p->stream_id;
	return m;
}

/* Wait up to ms for a datagram; decode it into m. 1 when one came, 0 on
 * time-out, -errno. */
static int rf_probe_recv(struct rf_probe *p, uint8_t *buf, int ms, struct rf_msg *m)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = recv(p->fd, buf, RF_MAX_DATAGRAM, 0);
	if (n < 0)
		return errno == ECONNREFUSED ? -ECONNREFUSED : 0;
	return rf_msg_decode(buf, (size_t)n, m) == RF_DROP_NONE &&
	       m->stream_id == p->stream_id;
}

/* Send req until a reply of type want (or REDIRECT / BYE) comes. */
static int rf_probe_ask(struct rf_probe *p, const struct rf_msg *req, uint8_t want,
			uint8_t *buf, struct rf_msg *reply)
{
	for (int i = 0; i < RF_PROBE_HANDSHAKE_TRIES && !rf_stop; i++) {
		uint64_t until = rf_now_ms() + RF_PROBE_RETRY_MS;

		rf_probe_send(p, req);
		while (rf_now_ms() < until) {
			int rc = rf_probe_recv(p, buf, (int)(until - rf_now_ms()), reply);

			if (rc < 0)
				break; /* refused: try again after the pause */
			if (rc == 1 && (reply->type == want || reply->type == RF_MSG_REDIRECT ||
					reply->type == RF_MSG_BYE))
				return 0;
		}
	}
	return -ETIMEDOUT;
}

static int rf_probe_join(struct rf_probe *p)
{
	uint8_t buf[RF_MAX_DATAGRAM];
	struct rf_msg req = rf_probe_msg(p, RF_MSG_HELLO), reply;
	char where[80];

	rf_addr_format(&p->seed, where, sizeof(where));
	req.hello.peer_id = p->peer_id;
	if (rf_probe_ask(p, &req, RF_MSG_COOKIE, buf, &reply) != 0) {
		rf_err("no answer from %s", where);
		return -ETIMEDOUT;
	}
	req = rf_probe_msg(p, RF_MSG_JOIN);
	req.join.peer_id = p->peer_id;
	memcpy(req.join.cookie, reply.cookie.cookie, RF_COOKIE_LEN);
	if (p->has_token) {
		req.flags = RF_FLAG_JOIN_TOKEN;
		req.join.token = p->token;
	}
	if (rf_probe_ask(p, &req, RF_MSG_WELCOME, buf, &reply) != 0) {
		rf_err("%s sent a cookie but never welcomed us", where);
		return -ETIMEDOUT;
	}
	if (reply.type == RF_MSG_REDIRECT) {
		rf_err("%s redirects us (%s) to %u other source(s)", where,
		       rf_reason_name(reply.candidates.reason), reply.candidates.count);
		return -EAGAIN;
	}
	if (reply.type == RF_MSG_BYE) {
		rf_err("%s refuses us: %s", where, rf_reason_name(reply.bye.reason));
		return -EACCES;
	}
	if (rf_stream_id(reply.welcome.pubkey) != p->stream_id) {
		rf_err("%s sent a key that does not name stream %016llx", where,
		       (unsigned long long)p->stream_id);
		return -EPROTO;
	}
	p->welcome = reply.welcome;
	rf_info("joined %s: chunks of %u bytes, %u substreams, live edge %llu, %u random access points",
		where, p->welcome.chunk_size, p->welcome.substreams,
		(unsigned long long)p->welcome.live_edge, p->welcome.rap_count);
	return 0;
}

static int rf_probe_subscribe(struct rf_probe *p)
{
	struct rf_msg m = rf_probe_msg(p, RF_MSG_SUBSCRIBE);
	uint64_t all = p->welcome.substreams == 64 ? ~0ull : (1ull << p->welcome.substreams) - 1;

	switch (p->from) {
	case RF_FROM_OLDEST: m.subscribe.start_seq = p->welcome.window_first; break;
	case RF_FROM_RAP:
		m.subscribe.start_seq = p->welcome.rap_count ? p->welcome.raps[0]
							     : p->welcome.live_edge;
		break;
	case RF_FROM_LIVE: m.subscribe.start_seq = p->welcome.live_edge; break;
	}
	m.subscribe.substreams = p->mask & all;
	p->next_out = m.subscribe.start_seq;
	p->first_seq = m.subscribe.start_seq;
	rf_verifier_init(&p->verifier, p->stream_id, p->welcome.pubkey, p->welcome.group_size);
	return rf_probe_send(p, &m);
}

static bool rf_probe_is_verified(const struct rf_probe *p, uint64_t seq)
{
	return p->verified[seq % RF_PROBE_SLOTS] == seq + 1; /* +1: 0 means none */
}

/* Verify what the store holds in [first, first + n). */
static void rf_probe_verify_range(struct rf_probe *p, uint64_t first, unsigned n)
{
	for (uint64_t s = first; s < first + n; s++) {
		const struct rf_chunk *c = rf_chunk_store_get(p->store, s);

		if (!c || rf_probe_is_verified(p, s))
			continue;
		switch (rf_verifier_check(&p->verifier, s, c->flags, c->payload, c->len)) {
		case RF_VERIFY_OK:
			p->verified[s % RF_PROBE_SLOTS] = s + 1;
			break;
		case RF_VERIFY_BAD:
			p->bad++;
			break;
		case RF_VERIFY_PENDING:
			break;
		}
	}
}

/* Write out every verified chunk from next_out on; give up on a hole
 * after RF_PROBE_SKIP_MS. */
static void rf_probe_write(struct rf_probe *p, uint64_t now)
{
	for (;;) {
		const struct rf_chunk *c = rf_chunk_store_get(p->store, p->next_out);

		if (c && rf_probe_is_verified(p, p->next_out)) {
			if (p->out)
				fwrite(c->payload, 1, c->len, p->out);
			p->written_bytes += c->len;
			p->chunks_out++;
			p->raps += !!(c->flags & RF_FLAG_DATA_RAP);
			p->next_out++;
			p->hole_since_ms = 0;
			continue;
		}
		if (!p->received || p->last_seq < p->next_out)
			return; /* nothing after it yet: not a hole */
		if (!p->hole_since_ms)
			p->hole_since_ms = now;
		if (now - p->hole_since_ms < RF_PROBE_SKIP_MS)
			return;
		/* the next hole of a run is just as old: keep the clock */
		p->skipped++;
		p->next_out++;
	}
}

/* Ask the seed again for the holes behind the newest chunk. */
static void rf_probe_repair(struct rf_probe *p, uint64_t now)
{
	struct rf_msg m = rf_probe_msg(p, RF_MSG_REPAIR);

	if (!p->hole_since_ms || now - p->hole_since_ms < RF_PROBE_REPAIR_MS ||
	    now - p->last_repair_ms < RF_PROBE_REPAIR_MS)
		return;
	/* missing, or held but unverifiable (its SIGNATURE was lost): the
	 * seed re-sends the chunk and its group's SIGNATURE */
	m.repair.base_seq = p->next_out;
	for (unsigned i = 0; i < 64 && p->next_out + i < p->last_seq; i++)
		if (!rf_probe_is_verified(p, p->next_out + i))
			m.repair.mask |= 1ull << i;
	if (m.repair.mask && rf_probe_send(p, &m) == 0)
		p->last_repair_ms = now;
}

static void rf_probe_data(struct rf_probe *p, const struct rf_msg *m, uint64_t now)
{
	int rc = rf_chunk_store_insert(p->store, m->data.seq, m->data.payload, m->data.len,
				       m->flags & (RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT));

	if (rc == -EEXIST || rc == -ERANGE) {
		p->duplicates++;
		return;
	}
	p->received++;
	p->repaired += !!(m->flags & RF_FLAG_DATA_REPAIR);
	if (!p->first_chunk_ms)
		p->first_chunk_ms = now;
	if (m->data.seq > p->last_seq)
		p->last_seq = m->data.seq;
	rf_probe_verify_range(p, m->data.seq, 1);
}

static void rf_probe_signature(struct rf_probe *p, const struct rf_msg *m)
{
	if (rf_verifier_add(&p->verifier, &m->signature) != RF_DROP_NONE) {
		p->bad_signatures++;
		return;
	}
	p->signatures++;
	rf_probe_verify_range(p, m->signature.first_seq, m->signature.count);
}

static void rf_probe_run(struct rf_probe *p)
{
	uint64_t end = rf_now_ms() + (uint64_t)(p->seconds * 1000), next_keepalive = 0;
	uint8_t buf[RF_MAX_DATAGRAM];

	while (!rf_stop && rf_now_ms() < end) {
		uint64_t now;
		struct rf_msg m;

		if (rf_probe_recv(p, buf, 10, &m) == 1) {
			if (m.type == RF_MSG_DATA)
				rf_probe_data(p, &m, rf_now_ms());
			else if (m.type == RF_MSG_SIGNATURE)
				rf_probe_signature(p, &m);
			else if (m.type == RF_MSG_REDIRECT || m.type == RF_MSG_BYE) {
				rf_warn("the seed ends our session (%s)",
					rf_reason_name(m.type == RF_MSG_BYE ? m.bye.reason
									  : m.candidates.reason));
				break;
			}
		}
		now = rf_now_ms();
		rf_probe_write(p, now);
		rf_probe_repair(p, now);
		if (now >= next_keepalive) {
			struct rf_msg ka = rf_probe_msg(p, RF_MSG_KEEPALIVE);

			ka.keepalive.stamp = now;
			rf_probe_send(p, &ka);
			next_keepalive = now + p->welcome.keepalive_ms;
		}
	}
	/* what is verified and in order goes out before we stop */
	rf_probe_write(p, rf_now_ms());
}

static void rf_probe_report(const struct rf_probe *p)
{
	double startup = p->first_chunk_ms ? (p->first_chunk_ms - p->t0_ms) / 1e3 : -1;
	FILE *f;

	fprintf(stderr,
		"probe: %llu chunks received (%llu written, %llu B), %llu verified groups, %llu bad chunks, %llu bad signatures, %llu repaired, %llu skipped, %llu duplicates, first chunk after %.3f s\n",
		(unsigned long long)p->received, (unsigned long long)p->chunks_out,
		(unsigned long long)p->written_bytes, (unsigned long long)p->signatures,
		(unsigned long long)p->bad, (unsigned long long)p->bad_signatures,
		(unsigned long long)p->repaired, (unsigned long long)p->skipped,
		(unsigned long long)p->duplicates, startup);
	if (!p->json_path || !(f = fopen(p->json_path, "w")))
		return;
	fprintf(f,
		"{\"received\": %llu, \"chunks_out\": %llu, \"bytes_out\": %llu, \"signatures\": %llu, "
		"\"bad_chunks\": %llu, \"bad_signatures\": %llu, \"repaired\": %llu, \"skipped\": %llu, "
		"\"duplicates\": %llu, \"raps\": %llu, \"first_seq\": %llu, \"startup_s\": %.3f}\n",
		(unsigned long long)p->received, (unsigned long long)p->chunks_out,
		(unsigned long long)p->written_bytes, (unsigned long long)p->signatures,
		(unsigned long long)p->bad, (unsigned long long)p->bad_signatures,
		(unsigned long long)p->repaired, (unsigned long long)p->skipped,
		(unsigned long long)p->duplicates, (unsigned long long)p->raps,
		(unsigned long long)p->first_seq, startup);
	fclose(f);
}

static void rf_probe_usage(FILE *f)
{
	fprintf(f,
		"usage: rawflow-probe rawflow://HOST[:PORT]/STREAM-ID [options]\n"
		"\n"
		"Join a RawFlow seed, receive and verify the stream, write it in order.\n"
		"\n"
		"  -t, --seconds S     how long to receive (default 10)\n"
		"  -o, --out FILE      write the verified payloads, in order (- for stdout)\n"
		"      --from WHERE    oldest | rap | live: where to start (default rap)\n"
		"      --substreams M  hex mask of substreams (default: all)\n"
		"      --token HEX     a join token (136 hex digits)\n"
		"      --json FILE     write the results as JSON\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit status: 0 when chunks arrived and all verified, 1 otherwise,\n"
		"2 for bad options, 3 when redirected or refused.\n");
}

static int rf_probe_args(struct rf_probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "substreams", required_argument, NULL, 'm' },
		{ "token", required_argument, NULL, 'k' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	size_t n;
	int c;

	p->seconds = 10;
	p->from = RF_FROM_RAP;
	p->mask = ~0ull;
	while ((c = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (rf_cli_real("rawflow-probe", "--seconds", optarg, 0.1, 1e6, &p->seconds))
				return -EINVAL;
			break;
		case 'o': p->out_path = optarg; break;
		case 'f':
			if (!strcmp(optarg, "oldest")) p->from = RF_FROM_OLDEST;
			else if (!strcmp(optarg, "rap")) p->from = RF_FROM_RAP;
			else if (!strcmp(optarg, "live")) p->from = RF_FROM_LIVE;
			else { fprintf(stderr, "rawflow-probe: --from is oldest, rap or live\n"); return -EINVAL; }
			break;
		case 'm':
			if (rf_cli_hex64("rawflow-probe", "--substreams", optarg, &p->mask))
				return -EINVAL;
			break;
		case 'k':
			if (sodium_hex2bin(p->token, sizeof(p->token), optarg, strlen(optarg), NULL, &n, NULL) ||
			    n != RF_TOKEN_LEN) {
				fprintf(stderr, "rawflow-probe: --token wants %d hex digits\n", 2 * RF_TOKEN_LEN);
				return -EINVAL;
			}
			p->has_token = true;
			break;
		case 'j': p->json_path = optarg; break;
		case 'h': rf_probe_usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc - 1 || rf_stream_url_parse(argv[optind], &p->seed, &p->stream_id) != 0) {
		fprintf(stderr, "rawflow-probe: give one URL rawflow://HOST[:PORT]/STREAM-ID (see --help)\n");
		return -EINVAL;
	}
	if (p->seconds <= 0 || p->mask == 0) {
		fprintf(stderr, "rawflow-probe: --seconds and --substreams must be positive\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct rf_probe p;
	struct sockaddr_storage ss;
	size_t store_bytes = rf_chunk_store_size(RF_PROBE_SLOTS, RF_CHUNK_MAX);
	struct rf_msg bye;
	int rc;

	if (sodium_init() < 0 || rf_probe_args(&p, argc, argv) != 0)
		return 2;
	p.store_mem = malloc(store_bytes);
	p.fd = socket(p.seed.family == RF_AF_INET ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!p.store_mem || p.fd < 0 ||
	    connect(p.fd, (struct sockaddr *)&ss, rf_addr_to_sockaddr(&p.seed, &ss, false)) != 0) {
		rf_err("cannot reach the seed: %s", strerror(errno));
		return 1;
	}
	if (p.out_path) {
		p.out = strcmp(p.out_path, "-") ? fopen(p.out_path, "wb") : stdout;
		if (!p.out) {
			rf_err("cannot write %s: %s", p.out_path, strerror(errno));
			return 1;
		}
	}
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	randombytes_buf(&p.peer_id, sizeof(p.peer_id));
	p.t0_ms = rf_now_ms();
	rc = rf_probe_join(&p);
	if (rc)
		return rc == -EAGAIN || rc == -EACCES ? 3 : 1;
	rf_probe_subscribe(&p);
	/* the store's window starts where the subscription does; what the
	 * seed sends meanwhile waits in the socket */
	p.store = rf_chunk_store_init(p.store_mem, store_bytes, RF_PROBE_SLOTS, RF_CHUNK_MAX,
				      p.next_out);
	rf_probe_run(&p);
	bye = rf_probe_msg(&p, RF_MSG_BYE);
	rf_probe_send(&p, &bye);
	rf_probe_report(&p);
	if (p.out && p.out != stdout)
		fclose(p.out);
	free(p.store_mem);
	close(p.fd);
	return p.chunks_out > 0 && p.bad == 0 && p.bad_signatures == 0 ? 0 : 1;
}
