/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer (ICD client) side of the protocol, without I/O: join through a
 * seed, pick a parent per substream among the candidates (the seed last),
 * verify every chunk before it is played or relayed, watch each parent's
 * arrival rate and lateness, replace a parent that is lost or degrades,
 * repair holes from neighbours then the seed, skip what is still missing
 * at its playback deadline, and report quality to the seed.
 *
 * Relaying to children is the seed core itself (seed.h) run over this
 * peer's own chunk store and signatures: the driver feeds it the datagrams
 * that are not for the child side (rf_peer_input says which).
 *
 * Drivers own sockets and the clock:
 *
 *   rf_peer_start(peer, now, out)                 HELLO to the seed
 *   rf_peer_input(peer, now, src, pkt, len, out)  every datagram received
 *   rf_peer_tick(peer, now, out)                  every ~10 ms
 *   rf_peer_play(peer, now, cb, ctx)              chunks due for the player
 *
 * Outputs are appended to the outbox (the caller empties it: out->count =
 * 0); a full outbox drops the datagram and counts stats.out_overflow, and
 * every timer retries what matters (handshakes, subscriptions, repairs).
 *
 * Decisions (the why is in peer.c and peer_parents.c):
 *  - Deadlines follow arrivals, not a fixed sequence-to-time map: seq s is
 *    "seen" when s or any later seq first arrives (trusted: verified, or
 *    at most two groups past what is verified), and is due at
 *    seen(s) + delay_ms. Chunks are cut by bytes, so the chunk rate
 *    follows the bitrate; a fixed map drifts with VBR, while arrivals track
 *    the source's real pace. Nothing is due before anything arrived.
 *  - Unverified chunks wait in a small pending area inside the peer; only
 *    verified chunks enter the chunk store, so everything rf_peer_store()
 *    shows the relay side is safe to relay. A SIGNATURE enters the ring
 *    (rf_peer_sigs()) before the chunks it verifies enter the store.
 *  - A verified chunk enters the store at once, in any order: substreams
 *    come from parents at different latencies, and one slow substream
 *    must not hold up the relaying of the others. The relay side (rf_seed)
 *    passes holes and sends a chunk that fills one later on its own.
 *  - Parents per substream: peers with spare capacity that offer it, the
 *    least loaded first (spreading over up to RF_PEER_PARENTS_MAX), the
 *    seed last. Make-before-break: the old parent stays subscribed until
 *    the new one has taken the SUBSCRIBE.
 */
#ifndef RF_PEER_H
#define RF_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "chunk_store.h"
#include "msg.h"
#include "sig_ring.h"
#include "verify.h"
#include "wire.h"

#define RF_PEER_PARENTS_MAX 16   /* distinct peer parents at once (and the seed) */
#define RF_PEER_KNOWN_MAX 64     /* candidates remembered */
#define RF_PEER_OUT_MAX 32       /* datagrams one call may emit */

/* Defaults for parameters left 0. */
/* The smallest playback delay that met every swarm target in
 * tools/bench/swarm (docs/BENCHMARKS.md: 500, 750 and 1000 ms fell short
 * of 95 % offload). */
#define RF_PEER_DELAY_MS 1250
#define RF_PEER_PARENT_TIMEOUT_MS 500
#define RF_PEER_REPAIR_AFTER_MS 150
#define RF_PEER_STORE_SLOTS 2048

struct rf_peer_params {
	struct rf_addr seed;            /* where to join */
	uint64_t stream_id;
	uint64_t peer_id;               /* random, from the driver */
	uint32_t upload_kbps;           /* offered to the grid */
	const uint8_t *token;           /* RF_TOKEN_LEN bytes, or NULL (copied) */
	uint32_t delay_ms;              /* playback delay behind arrival (default
					 * RF_PEER_DELAY_MS) */
	uint32_t parent_timeout_ms;     /* no chunk from a parent this long: lost (default 500;
					 * at least 3 chunk intervals of one substream
					 * and 2 signature groups) */
	uint32_t repair_after_ms;       /* a hole this old is asked for (default 150) */
	uint32_t store_slots;           /* power of two >= 64; the buffer (default 2048);
					 * should hold delay_ms of stream and more */
	/* The substreams our relay side serves to a: never taken from a,
	 * which would be a loop with no source. NULL: we relay nothing. */
	uint64_t (*relayed_to)(const void *ctx, const struct rf_addr *a);
	const void *relay_ctx;
};

struct rf_peer_out {
	struct rf_addr dst;
	uint16_t len;
	uint8_t buf[RF_MAX_DATAGRAM];
};

struct rf_peer_outbox {
	unsigned count;
	struct rf_peer_out out[RF_PEER_OUT_MAX];
};

enum rf_peer_state {
	RF_PEER_JOINING,     /* HELLO / JOIN sent to the seed */
	RF_PEER_RECEIVING,   /* welcomed, parents subscribed */
	RF_PEER_REFUSED,     /* the seed said BYE denied: give up */
};

/*
 * received: DATA accepted from a parent or the seed (duplicates included);
 * repairs_asked: sequences asked for in REPAIRs; repaired: holes filled by
 * DATA flagged REPAIR; late: chunks verified after their deadline (kept
 * for relaying, not played); parent_switches: substreams moved because a
 * parent failed (silence, slow rate, bad data, REDIRECT, BYE), one per
 * failing parent and event -- moving substreams off the seed when peers
 * turn up is not a switch; parents_dropped: dropped for bad data, for good.
 */
struct rf_peer_stats {
	uint64_t received, duplicates, verified, bad_chunks, bad_signatures;
	uint64_t played, skipped, late, repairs_asked, repaired;
	uint64_t parent_switches, parents_dropped;
	uint64_t bytes_from_seed, bytes_from_peers;
	uint64_t repair_bytes_from_seed;       /* of bytes_from_seed: REPAIR answers */
	uint64_t joined_ms, first_play_ms;     /* when (driver clock) */
	uint64_t out_overflow;                 /* datagrams the outbox had no room for */
	uint64_t drops[RF_DROP_MAX];
};

/* A parent as the peer sees it, for status lines and tests. */
struct rf_peer_parent_view {
	struct rf_addr addr;
	uint64_t substreams;                   /* subscribed from it */
	bool is_seed;
	bool ready;                            /* welcomed; false while handshaking */
	uint32_t rate_milli;                   /* chunks per 1000 s, measured */
	uint32_t late_ms;                      /* recent lateness behind the first
						* sight of the same seq (EWMA) */
};

struct rf_peer;

/* Bytes the caller supplies: the peer, its chunk store (store_slots x
 * RF_CHUNK_MAX), its signature ring and verifier. 0 for bad params. */
size_t rf_peer_mem_size(const struct rf_peer_params *p);

/* Lay out a peer in mem (any alignment). NULL with *err set on bad params
 * or too little memory. Nothing is allocated afterwards. */
struct rf_peer *rf_peer_init(void *mem, size_t mem_len,
			     const struct rf_peer_params *p, const char **err);

/* Send HELLO to the seed (resent by rf_peer_tick until answered). */
void rf_peer_start(struct rf_peer *pe, uint64_t now_ms, struct rf_peer_outbox *out);

/* One datagram. Returns true when it was the peer's (a reply from the
 * seed or a parent, data, signatures, candidates) or was dropped (counted
 * in stats.drops); false when it is for the relay side: HELLO, JOIN,
 * SUBSCRIBE, UNSUBSCRIBE (but a parent's SHED), REPAIR, QUALITY and
 * BUFFERMAP from anyone, BYE
 * and KEEPALIVE from a source that is neither a parent nor the seed. The
 * driver passes those to its rf_seed. */
bool rf_peer_input(struct rf_peer *pe, uint64_t now_ms, const struct rf_addr *src,
		   const uint8_t *pkt, size_t len, struct rf_peer_outbox *out);

/* Timers: handshake retries, keepalives, parent health, healing, repairs,
 * QUALITY reports to the seed. */
void rf_peer_tick(struct rf_peer *pe, uint64_t now_ms, struct rf_peer_outbox *out);

/* Hand the player, in order, every chunk whose deadline has come (held
 * and verified: played; missing: skipped and counted). Playback starts at
 * the newest random access point WELCOME named (the live edge if none).
 * Returns chunks handed out. The callback must not call into the peer. */
typedef void (*rf_peer_play_fn)(void *ctx, uint64_t seq, const uint8_t *payload,
				uint16_t len, uint8_t flags);
unsigned rf_peer_play(struct rf_peer *pe, uint64_t now_ms, rf_peer_play_fn play, void *ctx);

/* The peer's own store and signatures, for its relay side (rf_seed);
 * NULL until WELCOME. The store holds verified chunks only. */
const struct rf_chunk_store *rf_peer_store(const struct rf_peer *pe);
const struct rf_sig_ring *rf_peer_sigs(const struct rf_peer *pe);

/* The substreams we take, or are moving to take, from a: our relay side
 * refuses a for them (rf_seed_params.fed_by), which would be a loop. */
uint64_t rf_peer_fed_by(const struct rf_peer *pe, const struct rf_addr *a);

/* The relay side's load, for QUALITY: upload not on offer (promised to
 * children, and held back below upload_kbps when the uplink measured
 * less) and the children. The seed offers the rest to other peers. */
void rf_peer_set_relay(struct rf_peer *pe, uint32_t upload_kbps, unsigned children);

/* What WELCOME said (valid once receiving). */
const struct rf_welcome *rf_peer_welcome(const struct rf_peer *pe);

enum rf_peer_state rf_peer_state(const struct rf_peer *pe);
const struct rf_peer_stats *rf_peer_stats(const struct rf_peer *pe);

/* Verified contiguous chunks ahead of the playback point, in ms of
 * stream (at WELCOME's chunk rate). */
uint32_t rf_peer_buffer_ms(const struct rf_peer *pe, uint64_t now_ms);

/* Parents (the seed included, while it has a session), up to max. */
unsigned rf_peer_parents(const struct rf_peer *pe, struct rf_peer_parent_view *v,
			 unsigned max);

/* Chunks played on time per million due (played / (played + skipped));
 * 10^6 before anything was due. QUALITY carries it. */
uint32_t rf_peer_continuity_ppm(const struct rf_peer *pe);

#endif
