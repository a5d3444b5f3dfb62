/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed side of the protocol (docs/PROTOCOL.md), without I/O: sessions,
 * the cookie handshake and anti-amplification, join tokens, WELCOME and
 * CANDIDATES, SUBSCRIBE/UNSUBSCRIBE, fan-out of new chunks to subscribers,
 * REPAIR from the store, QUALITY reports, keepalive and timeouts, REDIRECT
 * at capacity, drain.
 *
 * Drivers (DPDK lcores, the kernel-socket backend, the simulator) own the
 * I/O and the clock:
 *
 *   rf_seed_input(seed, now, src, datagram, len, &out)  per received datagram
 *   rf_seed_pump(seed, now, store, sigs, tx, max)       fan-out, repairs, signatures
 *   rf_seed_timers(seed, now, &out)                     timeouts, compaction
 *
 * Control replies are small encoded datagrams (struct rf_seed_out); stream
 * data comes out as descriptors (struct rf_seed_tx) that point into the
 * chunk store, so a driver sends the payload by reference: it writes the
 * RF_DATA_HDR_LEN-byte header with rf_data_hdr_write() and chains the
 * chunk's payload after it.
 *
 * One rf_seed is driven by one thread (one lcore); a node with several
 * worker lcores shards peers across several rf_seed instances by address
 * hash, each with its own memory. Nothing here allocates: the caller
 * supplies rf_seed_mem_size() bytes.
 */
#ifndef RF_SEED_H
#define RF_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "chunk_store.h"
#include "crypto.h"
#include "msg.h"
#include "sig_ring.h"
#include "wire.h"

#define RF_SEED_SESSIONS_MAX 100000
#define RF_SEED_DIR_MAX (2 * RF_CANDIDATES_MAX) /* directory entries kept */

struct rf_seed_params {
	uint64_t stream_id;
	uint8_t pubkey[RF_PUBKEY_LEN];
	uint8_t cookie_secret[RF_SECRET_LEN];
	uint32_t cookie_lifetime_s;     /* default 30 */
	const struct rf_token_keys *tokens; /* NULL: no token required */
	uint32_t max_sessions;          /* <= RF_SEED_SESSIONS_MAX */
	uint64_t max_egress_bps;        /* 0: no cap */
	uint64_t stream_bps;            /* measured stream rate, for admission */
	uint16_t chunk_size;
	uint8_t substreams;             /* K */
	uint8_t group_size;             /* chunks per SIGNATURE */
	uint32_t chunk_rate_milli;      /* chunks per 1000 s */
	uint32_t keepalive_ms;          /* announced in WELCOME; default 1000 */
	uint32_t timeout_ms;            /* silence that ends a session; default 3 x keepalive */
	uint32_t catchup_per_pump;      /* backlog chunks per session per pump; default 8 */
	uint8_t join_substreams;        /* a JOIN is admitted while this many more
					 * substreams fit under max_egress_bps
					 * (default K: the whole stream; a relaying
					 * peer, whose children take a few, uses 1) */
					/* A SUBSCRIBE gets what fits; the rest is
					 * refused with UNSUBSCRIBE SHED. */
	/* A relaying peer: the substreams it takes from a itself, which a
	 * SUBSCRIBE from a is refused (SHED): it would be a loop. NULL: none. */
	uint64_t (*fed_by)(const void *ctx, const struct rf_addr *a);
	const void *fed_by_ctx;
};

/* A control datagram to send. */
struct rf_seed_out {
	struct rf_addr dst;
	uint16_t len;
	uint8_t buf[RF_MAX_DATAGRAM];
};

/* Up to this many replies come out of one rf_seed_input() or
 * rf_seed_timers() call (timers are batched: call again while it fills). */
#define RF_SEED_OUT_MAX 8

struct rf_seed_outbox {
	unsigned count;
	struct rf_seed_out out[RF_SEED_OUT_MAX];
};

enum rf_seed_tx_kind {
	RF_SEED_TX_DATA,       /* chunk by reference */
	RF_SEED_TX_SIGNATURE,  /* the encoded SIGNATURE at sig_msg[0..sig_len) */
};

/* A datagram of stream data to send. Fields marked DATA or SIGNATURE are
 * set for that kind only: one is written per frame, so nothing more. */
struct rf_seed_tx {
	enum rf_seed_tx_kind kind;
	const struct rf_addr *dst;      /* valid until the next rf_seed_* call */
	uint64_t seq;                   /* DATA */
	uint8_t flags;                  /* RF_FLAG_DATA_*; REPAIR for repair answers */
	uint8_t substream;              /* DATA */
	uint32_t session;               /* the session's slot, < max_sessions: where a
					 * backend keeps its per-peer state (the slot
					 * holds another peer once this one leaves) */
	const struct rf_chunk *chunk;   /* DATA: payload by reference */
	const uint8_t *sig_msg;         /* SIGNATURE: a whole datagram */
	uint16_t sig_len;
};

/* Counters, one writer (the thread driving this seed). */
struct rf_seed_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;  /* everything the seed asked to send */
	uint64_t unvalidated_rx_bytes;  /* from sources without a session */
	uint64_t unvalidated_tx_bytes;  /* sent to them: never more than rx */
	uint64_t drops[RF_DROP_MAX];    /* per reason */
	uint64_t sessions;              /* now */
	uint64_t joins, rejoins, redirects, timeouts, byes;
	uint64_t denied_ended;          /* sessions ended by the deny list */
	uint64_t subscribes, unsubscribes;
	uint64_t repairs_asked, repairs_sent, repairs_missed;
	uint64_t quality_reports;
	uint64_t offers;                /* CANDIDATES re-sent to fed sessions */
	uint64_t committed_bps;         /* egress promised to subscribers */
	uint64_t fanout_skipped;        /* sequences the fan-out or a catch-up
					 * jumped over: left the window, or holes */
	uint64_t late_sent;             /* holes that filled after the fan-out
					 * passed them, then sent to their
					 * substream's live sessions */
	uint64_t late_forgotten;        /* holes no longer watched: too many */
	uint64_t shed;                  /* substreams refused or dropped to fit
					 * max_egress_bps (UNSUBSCRIBE SHED) */
	uint64_t sigs_missed;           /* SIGNATUREs due but not in the ring */
	uint64_t out_overflow;          /* replies dropped: outbox was full */
};

/* The latest QUALITY of one session, for the control plane. */
struct rf_seed_peer_view {
	struct rf_addr addr;
	uint64_t peer_id;
	uint64_t substreams;
	uint32_t upload_kbps;
	struct rf_quality quality;
	uint64_t last_rx_ms;
};

struct rf_seed;

size_t rf_seed_mem_size(uint32_t max_sessions, uint8_t substreams);

/* Lay out a seed in mem. NULL with *err set to a message on bad params. */
struct rf_seed *rf_seed_init(void *mem, size_t mem_len,
			     const struct rf_seed_params *p, const char **err);

/* Update what changes while running: the measured stream rate, the
 * egress cap (0: none). A share that no longer fits is shed by
 * rf_seed_timers(), a substream at a time. */
void rf_seed_set_stream_bps(struct rf_seed *s, uint64_t bps);
void rf_seed_set_max_egress(struct rf_seed *s, uint64_t bps);

/* The chunk store this seed serves. rf_seed_input() needs it for WELCOME
 * (live edge, window, RAPs), SUBSCRIBE (clamping the start) and REPAIR;
 * the live fan-out starts at the store's live edge when it is first set.
 * rf_seed_pump() adopts the store it is given if it differs (same effect
 * as calling this). Readers only: the seed never writes to the store. */
void rf_seed_set_store(struct rf_seed *s, const struct rf_chunk_store *store);

/* The candidate parents offered in WELCOME/CANDIDATES and REDIRECT: peers
 * with spare upload (from JOINs and QUALITY reports, and from the control
 * plane), other seeds. Replaces the list. */
void rf_seed_set_directory(struct rf_seed *s, const struct rf_candidate *c,
			   unsigned count);

/* Address prefixes the seed refuses (the operator's deny list). */
#define RF_SEED_DENY_MAX 256

struct rf_seed_deny {
	uint8_t family;                 /* RF_AF_INET or RF_AF_INET6 */
	uint8_t prefix_len;
	uint8_t ip[16];
};

/* Replace the deny list. HELLO and JOIN from a denied source are dropped
 * (RF_DROP_DENIED, no answer); sessions from one get BYE denied from
 * rf_seed_timers() as it walks the table. -EINVAL when n is too large or a
 * prefix is malformed (nothing changes then). */
int rf_seed_set_deny(struct rf_seed *s, const struct rf_seed_deny *list, unsigned n);

/* Rebuild the directory from this seed's own sessions: peers whose
 * announced upload leaves room for one more substream (stream_bps / K),
 * most spare first, then the other seeds given (last resort). Scans every
 * session: call about once a second. */
void rf_seed_directory_refresh(struct rf_seed *s, uint64_t stream_bps, uint8_t substreams,
			       const struct rf_candidate *seeds, unsigned nseeds);

/* Handle one datagram from src at now_ms (unix time in ms: cookies and
 * tokens carry unix seconds). Replies are appended to out (the caller
 * empties it: out->count = 0).
 * Returns RF_DROP_NONE or why it was dropped (also counted). */
enum rf_drop rf_seed_input(struct rf_seed *s, uint64_t now_ms,
			   const struct rf_addr *src, const uint8_t *pkt,
			   size_t len, struct rf_seed_outbox *out);

/* Fill tx[0..max) with stream data to send now: pending repairs first, in
 * up to a quarter of the room; every chunk published in store since the
 * last pump to each session subscribed to its substream, the SIGNATURE of
 * each completed group; more repairs; and bounded catch-up for sessions
 * that subscribed from an older sequence. Returns the count; call again
 * while it returns max. */
unsigned rf_seed_pump(struct rf_seed *s, uint64_t now_ms,
		      const struct rf_chunk_store *store,
		      const struct rf_sig_ring *sigs, struct rf_seed_tx *tx,
		      unsigned max);

/* Expire silent sessions (BYE timeout goes out), compact subscriber lists.
 * Call every ~100 ms. */
void rf_seed_timers(struct rf_seed *s, uint64_t now_ms,
		    struct rf_seed_outbox *out);

/* Drain: stop accepting joins (REDIRECT draining), and redirect every
 * session, a batch per call. Returns the sessions still open. */
unsigned rf_seed_drain(struct rf_seed *s, uint64_t now_ms,
		       struct rf_seed_outbox *out);

const struct rf_seed_stats *rf_seed_stats(const struct rf_seed *s);

/* The substreams the session at a is subscribed to; 0 with no session. */
uint64_t rf_seed_session_substreams(const struct rf_seed *s, const struct rf_addr *a);

/* Sessions, for the control socket: fills up to max views from index
 * *cursor on, returns the count (0 at the end). */
unsigned rf_seed_sessions(const struct rf_seed *s, uint32_t *cursor,
			  struct rf_seed_peer_view *v, unsigned max);

#endif
