/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to peer.c (join, data, verification, playback, repair, reports)
 * and peer_parents.c (candidates, parent choice, health, subscriptions).
 */
#ifndef RF_PEER_INT_H
#define RF_PEER_INT_H

#include "peer.h"

#define RF_PEER_SLOTS (RF_PEER_PARENTS_MAX + 1) /* slot 0: the seed */
#define RF_PEER_HOME 0
#define RF_PEER_NONE (-1)

#define RF_PEER_PENDING 256          /* chunks waiting for their signature */
#define RF_PEER_RETRY_MS 500         /* handshake retransmit */
#define RF_PEER_HANDSHAKE_MS 1000    /* a peer parent must welcome us by then */
#define RF_PEER_TARGET_MS 2000       /* a redirected join target, likewise */
#define RF_PEER_HEAL_MS 300          /* a parent for a substream with no source,
					likewise: after the 500 ms parent timeout,
					a lost parent is replaced within 1 s */
#define RF_PEER_UNUSABLE_MS 10000    /* a failed candidate rests this long */
#define RF_PEER_LEVEL_HOLD_MS 3000   /* with children, we take a parent level with us
					at most once per this after our own choice
					raised our level: longer than the directory
					takes to hear of it */
#define RF_PEER_REJOIN_MS 1000       /* seed session over: rejoin after */
#define RF_PEER_SETTLE_MS 100        /* WELCOME without CANDIDATES: wait this */
#define RF_PEER_QUALITY_MS 1000
#define RF_PEER_REBALANCE_MS 1000
#define RF_PEER_WINDOW_MS 1000       /* health rate window */
#define RF_PEER_RATE_FALLBACK 100000 /* chunks/1000 s when WELCOME says 0 */
#define RF_PEER_SEED_ASKS 2          /* REPAIRs to the seed for one hole */

#define RF_SEQ_HALF (UINT64_C(1) << 63)

/* a is at or after b in serial-number order */
static inline bool rf_seq_ge(uint64_t a, uint64_t b)
{
	return a - b < RF_SEQ_HALF;
}

enum rf_slot_state {
	RF_SLOT_FREE,
	RF_SLOT_HELLO,   /* HELLO sent, waiting for COOKIE */
	RF_SLOT_JOIN,    /* JOIN sent, waiting for WELCOME */
	RF_SLOT_READY,   /* welcomed: SUBSCRIBE goes here */
	RF_SLOT_WAIT,    /* the seed's session ended: rejoin at retry_ms */
};

/* A candidate parent as last advertised. */
struct rf_peer_known {
	bool used, bad;              /* bad: sent forged data; never again */
	struct rf_addr addr;
	uint64_t substreams;
	uint32_t spare_kbps;
	uint8_t level;               /* hops below the seed, as the seed last said */
	uint64_t unusable_until;     /* failed: rest until then */
	uint64_t updated_ms;
};

/* A session with the seed (slot 0) or a peer parent. */
struct rf_peer_slot {
	uint8_t state;               /* enum rf_slot_state */
	bool hs_due;                 /* send the handshake message now */
	int16_t known;               /* index in known[]; -1 for the seed */
	struct rf_addr addr;
	uint8_t cookie[RF_COOKIE_LEN];
	uint64_t hs_start_ms, hs_tx_ms, retry_ms;
	uint64_t ka_tx_ms;
	uint64_t last_data_ms;       /* last DATA from it, any substream */
	uint32_t keepalive_ms;
};

/* One substream: who should serve it and who does, and how well. */
struct rf_peer_sub {
	int8_t want, sub;            /* slots, or RF_PEER_NONE */
	uint64_t sub_ms;             /* SUBSCRIBE sent to sub */
	uint64_t last_rx_ms;         /* last chunk from sub */
	uint64_t live_from;          /* seen edge at SUBSCRIBE: older is catch-up */
	uint64_t heal_by_ms;         /* no source: want must welcome us by then (0: none) */
	uint32_t win_count;          /* chunks from sub in this window */
	uint32_t rate_milli, late_ms;
};

/* A chunk waiting for its group's SIGNATURE. */
struct rf_peer_pend {
	bool used;
	uint8_t flags;
	uint16_t len;
	uint64_t seq;
	struct rf_addr src;
	uint8_t payload[RF_CHUNK_MAX];
};

/* Per sequence in the buffer window: when it was first seen (its
 * deadline is seen_ms + delay) and where its repair stands. */
struct rf_peer_meta {
	uint64_t seq;
	uint64_t seen_ms, asked_ms;
	uint8_t asks, seed_asks;     /* REPAIRs for it: to neighbours, to the seed */
};

struct rf_peer {
	struct rf_peer_params p;
	uint32_t relay_kbps;         /* upload promised to children (the driver says) */
	uint8_t relay_children;
	uint8_t token[RF_TOKEN_LEN];
	bool has_token;
	enum rf_peer_state state;
	bool home_origin;            /* slot 0 is the configured seed */
	uint8_t level;               /* 1 + our deepest parent's (rf_peer_level_update) */
	uint64_t level_rise_ms;      /* when a choice last let it rise */

	bool welcomed, assigned;
	struct rf_welcome w;
	uint8_t k;
	uint64_t welcome_ms;
	uint64_t play_seq;           /* next to hand the player */
	uint64_t seen_next;          /* first seq not seen yet */
	uint64_t ver_next;           /* past the newest verified seq */

	uint64_t quality_ms, rebalance_ms, window_ms, window_seen;
	uint64_t home_full_until;    /* the seed shed us: no SUBSCRIBE to it before */

	struct rf_peer_slot slot[RF_PEER_SLOTS];
	struct rf_peer_sub sub[RF_SUBSTREAMS_MAX];
	struct rf_peer_known known[RF_PEER_KNOWN_MAX];

	struct rf_peer_stats stats, reported;

	uint32_t slots;
	struct rf_peer_meta *meta;
	void *store_mem, *sig_mem;
	size_t store_len, sig_len;
	struct rf_chunk_store *store;
	struct rf_sig_ring *sigs;

	struct rf_verifier ver;
	struct rf_peer_pend pend[RF_PEER_PENDING];
};

static inline uint64_t rf_peer_all_subs(const struct rf_peer *pe)
{
	return pe->k >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << pe->k) - 1;
}

/* peer.c */
bool rf_peer_send(struct rf_peer *pe, struct rf_peer_outbox *out,
		  const struct rf_addr *dst, struct rf_msg *m);
void rf_peer_send_handshake(struct rf_peer *pe, int sl, uint64_t now,
			    struct rf_peer_outbox *out);
bool rf_peer_held(const struct rf_peer *pe, uint64_t seq);
uint32_t rf_peer_rate(const struct rf_peer *pe);

/* peer_parents.c */
int rf_peer_slot_find(const struct rf_peer *pe, const struct rf_addr *a);
int rf_peer_known_find(const struct rf_peer *pe, const struct rf_addr *a);
int rf_peer_known_add(struct rf_peer *pe, const struct rf_candidate *c, uint64_t now);
void rf_peer_known_rest(struct rf_peer *pe, const struct rf_addr *a, uint64_t now);
uint64_t rf_peer_slot_subs(const struct rf_peer *pe, int sl);
void rf_peer_assign_all(struct rf_peer *pe, uint64_t now);
void rf_peer_level_update(struct rf_peer *pe);
void rf_peer_rebalance(struct rf_peer *pe, uint64_t now);
void rf_peer_slot_lost(struct rf_peer *pe, int sl, uint64_t now);
void rf_peer_shed(struct rf_peer *pe, int sl, uint64_t mask, uint64_t now);
void rf_peer_drop_bad(struct rf_peer *pe, int sl, uint64_t now,
		      struct rf_peer_outbox *out);
void rf_peer_health(struct rf_peer *pe, uint64_t now);
void rf_peer_home_next(struct rf_peer *pe, const struct rf_candidates *list,
		       uint64_t now);
void rf_peer_handshake_timers(struct rf_peer *pe, uint64_t now);
void rf_peer_reconcile(struct rf_peer *pe, uint64_t now, struct rf_peer_outbox *out);

#endif
