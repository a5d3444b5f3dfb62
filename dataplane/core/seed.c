/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed side of the protocol (seed.h, docs/PROTOCOL.md), without I/O.
 *
 * Memory (all inside the caller's block, laid out by rf_seed_init()):
 *
 *   struct rf_seed        parameters, counters, cursors, directory, repairs
 *   sessions[max]         256 bytes at most each; a free list links the idle
 *   index[2^k >= 2 max]   open addressing, linear probing, u32 session
 *                         indexes; keyed by SipHash of the source address
 *                         under a key derived from the cookie secret, so a
 *                         source cannot aim collisions; deletion by
 *                         backward shift (no tombstones to clean up)
 *   lists[K + 2][max]     u32 session indexes: one subscriber list per
 *                         substream, the "any" list (sessions with a
 *                         non-empty mask: who gets SIGNATUREs) and the
 *                         catch-up list
 *
 * List membership belongs to the slot, not to the session in it: bit i of
 * slot->listed (and RF_SL_* in slot->lflags) says "this slot index is on
 * list i", and survives the slot being freed and reused. So an index is on
 * each list at most once (lists never overflow their max entries), adding
 * is O(1), and removal is lazy: an entry whose slot no longer wants the
 * list is dropped by the next pass over the list (live fan-out, signature
 * fan-out, catch-up, or the bounded compaction in rf_seed_timers()).
 *
 * A pass over a list reads at r and writes kept entries at w (w <= r), so
 * it compacts while it fans out and keeps the order; it can pause when tx
 * is full and resume at r. Appends during a pass go to the end, where the
 * pass still reaches them. Only one pass runs on a list at a time: an
 * iterator about to start on a list that the timers' compaction is half
 * way through first closes the gap (memmove of the unscanned tail).
 *
 * Live fan-out keeps fan_seq, the next chunk to send: every session that
 * is live (not catching up) and subscribed to fan_seq's substream with
 * start <= fan_seq gets it when the pass over list[fan_seq % K] reaches
 * its entry. After a group's last chunk, a SIGNATURE pass over the any
 * list follows. The pump serves, in this order: live data (timeliness),
 * repairs (a peer's hole near its playback point), catch-up (backlog).
 *
 * Catch-up: a SUBSCRIBE whose start is before fan_seq puts the substreams
 * it names (cu_mask) on the catch-up list; each pump sends the session at
 * most catchup_per_pump chunks of those from [catchup_next, fan_seq), each
 * group's SIGNATURE right after the group's last chunk, and when it
 * reaches fan_seq while the live fan-out is between chunks (no pass half
 * done) they turn live. That boundary rule is what makes the hand-over
 * exact: no chunk twice, none missed. The session's other substreams stay
 * live meanwhile, and keep their start (the oldest of the two): a child
 * adding a substream must not cut off the late chunks of the ones it has.
 *
 * Late chunks: a relaying peer's store fills out of order (its substreams
 * come from different parents at different latencies), so the live
 * fan-out meets holes that fill a moment later. It passes them at once,
 * so one slow substream never holds up the others, and watches them
 * (late[]): a chunk that turns up there later gets a pass of its own over
 * its substream's list, between two live chunks. The seed's own store,
 * filled in order by the ingest, has no such holes.
 *
 * Decisions the protocol text leaves open:
 *  - The store comes in through rf_seed_set_store() (input needs it for
 *    WELCOME, SUBSCRIBE and REPAIR); rf_seed_pump() adopts the one it is
 *    passed if it differs.
 *  - SUBSCRIBE adds substreams; a session has one start, which every
 *    SUBSCRIBE moves ("subscribing again moves the start"). A start older
 *    than the window becomes the oldest RAP held (else the oldest chunk);
 *    one more than a window past the live edge becomes the live edge.
 *  - Admission counts the committed share stream_bps * substreams / K
 *    (kept as a substream total, so a new stream rate applies at once);
 *    a JOIN is admitted if join_substreams more still fit. A SUBSCRIBE
 *    gets the new substreams that fit, lowest first, and the rest are
 *    refused with UNSUBSCRIBE SHED (the session stays). Over the cap
 *    (a lower cap, a faster stream), rf_seed_timers() sheds one
 *    substream per session it visits until the share fits.
 *  - A JOIN from an existing session (lost WELCOME) needs a valid cookie
 *    and token too; same peer id keeps the state, a new peer id (a restart
 *    on the same port) drops the subscriptions. A failing token or a
 *    draining seed ends the existing session.
 *  - Every well-formed datagram of our stream from a session refreshes it,
 *    including types a seed does not take (those are dropped BAD_FIELD).
 *  - A group's SIGNATURE is awaited while its last chunk is the newest in
 *    the store (ingest appends, then signs); after that it is counted in
 *    sigs_missed and skipped. Repairs: RF_SEED_REPAIR_QUEUE per seed,
 *    RF_SEED_REPAIR_PER_SESSION per session, the rest repairs_missed; a
 *    pump gives queued repairs a quarter of its room before live data.
 *  - Replies that do not fit the outbox are dropped and counted
 *    (out_overflow); rf_seed_timers() and rf_seed_drain() stop instead and
 *    resume on the next call.
 */
#include <errno.h>
#include <stddef.h>
#include <sodium.h>
#include <string.h>

#include "seed.h"

#define RF_SEED_ALIGN 64
#define RF_SEED_NONE UINT32_MAX
/* Directory entries kept: enough that filtering out the asking peer still
 * leaves a full CANDIDATES list. */
/* Repairs waiting to be sent, per seed, and per session (so one session
 * cannot fill the queue for everyone). */
#define RF_SEED_OFFER_MS 1000 /* CANDIDATES again to sessions the seed still feeds */
#define RF_SEED_REPAIR_QUEUE 1024
#define RF_SEED_REPAIR_PER_SESSION 128
#define RF_SEED_REPAIR_SHARE_DIV 4 /* queued repairs first get up to 1/4 of a pump */
/* rf_seed_timers() looks at this many session slots per call at least
 * (and at least 1/8 of the table, so a sweep takes <= 8 calls), and moves
 * at most this many list entries in compaction. */
#define RF_SEED_SCAN_MIN 4096
#define RF_SEED_COMPACT_BUDGET 8192
/* Holes the live fan-out passed and still watches for a late chunk. */
#define RF_SEED_LATE_MAX 256

#define RF_SEQ_HALF (UINT64_C(1) << 63)

_Static_assert((RF_SEED_REPAIR_QUEUE & (RF_SEED_REPAIR_QUEUE - 1)) == 0,
	       "repair queue is a power-of-two ring");

/* Serial number arithmetic: a is at or after b. */
static bool rf_seq_ge(uint64_t a, uint64_t b)
{
	return a - b < RF_SEQ_HALF;
}

static bool rf_seq_lt(uint64_t a, uint64_t b)
{
	return !rf_seq_ge(a, b);
}

/* ---- sessions ---- */

enum { RF_SS_FREE, RF_SS_OPEN };

#define RF_SF_CATCHUP 0x01  /* sending backlog of cu_mask, live for the rest */
#define RF_SF_SIG_OWED 0x02 /* catch-up owes the SIGNATURE of catchup_next - 1 */

#define RF_SL_ANY 0x01      /* slot is on the any list */
#define RF_SL_CU 0x02       /* slot is on the catch-up list */

struct rf_seed_session {
	/* line 0: everything the fan-out reads and writes for each frame */
	struct rf_addr addr;      /* the key; tx descriptors point here */
	uint8_t state;            /* RF_SS_* */
	uint8_t flags;            /* RF_SF_* */
	uint8_t lflags;           /* RF_SL_*: the slot's, survives reuse */
	uint8_t nsubs;            /* popcount(mask): the committed share */
	uint64_t mask;            /* subscribed substreams (< K) */
	uint64_t start_seq;       /* first sequence wanted */
	uint64_t cu_mask;         /* the substreams catching up */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	/* the rest: handshake, timers, repairs, reports */
	uint64_t listed;          /* slot is on substream list i: the slot's */
	uint32_t hash;            /* of addr, for probing and backward shift */
	uint32_t gen;             /* bumped when freed: stale repairs see it */
	uint32_t free_next;
	uint32_t upload_kbps;     /* offered in JOIN */
	uint32_t repairs_queued;
	uint32_t quality_reports;
	uint32_t rejoins;
	uint64_t peer_id;
	uint64_t catchup_next;    /* next backlog sequence (RF_SF_CATCHUP) */
	uint64_t joined_ms;
	uint64_t last_rx_ms;
	uint64_t offered_ms;      /* when CANDIDATES last went out to it */
	uint64_t rx_packets;
	struct rf_quality quality;
} __attribute__((aligned(RF_SEED_ALIGN)));

_Static_assert(offsetof(struct rf_seed_session, tx_bytes) + sizeof(uint64_t) <= RF_SEED_ALIGN,
	       "the fan-out's fields share one cache line");
_Static_assert(sizeof(struct rf_seed_session) <= 256,
	       "100 000 sessions must fit in 25.6 MB");

struct rf_seed_repair {
	uint32_t idx;
	uint32_t gen;
	uint64_t seq;
};

struct rf_seed {
	struct rf_seed_params p;
	struct rf_seed_stats st;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	const struct rf_chunk_store *store;

	struct rf_seed_session *sess;
	uint32_t *hidx;
	uint32_t hmask;
	uint32_t *lists;                       /* nlists x max_sessions */
	uint32_t nlists;                       /* K + 2 */
	uint32_t lcount[RF_SUBSTREAMS_MAX + 2];
	uint32_t free_head;
	uint64_t sub_total;                    /* sum of nsubs */
	uint64_t valid_mask;                   /* substreams < K */

	bool draining;
	uint32_t scan_slice;
	uint32_t scan_pos;
	uint32_t drain_pos;

	struct rf_candidate dir[RF_SEED_DIR_MAX];
	unsigned dir_count;
	unsigned dir_rr;                       /* rotates the offers */

	/* Live fan-out. */
	bool fan_init;
	bool fan_sig;                          /* SIGNATURE phase for sig_last */
	bool fan_active;                       /* a pass is half done */
	uint64_t fan_seq;
	uint64_t sig_last;
	uint64_t tail_sig_last;                /* last seq of the partial group sent */
	uint32_t fan_r, fan_w;

	/* Late chunks: holes passed (unordered), the one being sent. */
	bool fan_late;                         /* the pass is for late_seq */
	bool late_scan;                        /* late[] may hold an arrival */
	uint64_t late_seq;
	uint32_t nlate;
	uint64_t late[RF_SEED_LATE_MAX];

	/* Catch-up pass. */
	bool cu_active;
	uint32_t cu_r, cu_w;

	/* Compaction pass of rf_seed_timers(). */
	bool tc_active;
	uint32_t tc_list, tc_r, tc_w, tc_next;

	/* Repairs: a ring, head/tail free-running. */
	uint32_t rq_head, rq_tail;
	struct rf_seed_repair rq[RF_SEED_REPAIR_QUEUE];
	struct rf_seed_deny deny[RF_SEED_DENY_MAX];
	unsigned ndeny;
	struct rf_seed_repair sig_owed;        /* a repair's SIGNATURE with no room yet */
	bool sig_owed_valid;
};

/* ---- layout ---- */

struct rf_seed_layout {
	size_t sess, hidx, lists, total;
	uint32_t hsize;
};

static size_t rf_align(size_t v)
{
	return (v + RF_SEED_ALIGN - 1) & ~(size_t)(RF_SEED_ALIGN - 1);
}

static bool rf_seed_layout(uint32_t max, uint8_t k, struct rf_seed_layout *l)
{
	uint32_t h = 2;

	if (max == 0 || max > RF_SEED_SESSIONS_MAX || k == 0 ||
	    k > RF_SUBSTREAMS_MAX)
		return false;
	while (h < 2 * max) /* load factor <= 1/2: short probes */
		h <<= 1;
	l->hsize = h;
	l->sess = rf_align(sizeof(struct rf_seed));
	l->hidx = rf_align(l->sess + (size_t)max * sizeof(struct rf_seed_session));
	l->lists = rf_align(l->hidx + (size_t)h * sizeof(uint32_t));
	l->total = l->lists + (size_t)(k + 2) * max * sizeof(uint32_t);
	return true;
}

size_t rf_seed_mem_size(uint32_t max_sessions, uint8_t substreams)
{
	struct rf_seed_layout l;

	if (!rf_seed_layout(max_sessions, substreams, &l))
		return 0;
	return l.total + RF_SEED_ALIGN - 1; /* any base address works */
}

static uint32_t *rf_list(const struct rf_seed *s, uint32_t l)
{
	return s->lists + (size_t)l * s->p.max_sessions;
}

static uint32_t rf_list_any(const struct rf_seed *s)
{
	return s->p.substreams;
}

static uint32_t rf_list_cu(const struct rf_seed *s)
{
	return s->p.substreams + 1u;
}

static uint64_t rf_rate(uint64_t bps, uint64_t n, uint8_t k)
{
	uint64_t q = bps / k, r = bps % k;

	/* bps * n / k without overflow for any realistic rate; saturates. */
	if (n != 0 && q > (UINT64_MAX - 64 * n) / n)
		return UINT64_MAX;
	return q * n + r * n / k;
}

static void rf_update_committed(struct rf_seed *s)
{
	s->st.committed_bps = rf_rate(s->p.stream_bps, s->sub_total,
				      s->p.substreams);
}

/* ---- init ---- */

struct rf_seed *rf_seed_init(void *mem, size_t mem_len,
			     const struct rf_seed_params *p, const char **err)
{
	static const char label[] = "RawFlow seed session hash v1";
	struct rf_seed_layout l;
	const char *dummy;
	struct rf_seed *s;
	uint8_t *base;
	uint32_t i;

	if (err == NULL)
		err = &dummy;
	if (p == NULL) {
		*err = "no parameters";
		return NULL;
	}
	if (p->max_sessions == 0 || p->max_sessions > RF_SEED_SESSIONS_MAX) {
		*err = "max_sessions out of 1..100000";
		return NULL;
	}
	if (p->substreams == 0 || p->substreams > RF_SUBSTREAMS_MAX) {
		*err = "substreams out of 1..64";
		return NULL;
	}
	if (p->group_size == 0 || p->group_size > RF_GROUP_MAX) {
		*err = "group_size out of 1..32";
		return NULL;
	}
	if (p->chunk_size == 0 || p->chunk_size > RF_CHUNK_MAX) {
		*err = "chunk_size out of 1..1400";
		return NULL;
	}
	/* Peers check that the key in WELCOME hashes to the id they asked
	 * for: a seed configured otherwise could never serve anyone. */
	if (rf_stream_id(p->pubkey) != p->stream_id) {
		*err = "stream_id is not the id of pubkey";
		return NULL;
	}
	if (!rf_seed_layout(p->max_sessions, p->substreams, &l) ||
	    mem == NULL || mem_len < l.total + RF_SEED_ALIGN - 1) {
		*err = "memory smaller than rf_seed_mem_size()";
		return NULL;
	}
	base = (uint8_t *)(((uintptr_t)mem + RF_SEED_ALIGN - 1) &
			   ~(uintptr_t)(RF_SEED_ALIGN - 1));
	s = (struct rf_seed *)base;
	memset(s, 0, sizeof(*s));
	s->p = *p;
	if (s->p.cookie_lifetime_s == 0)
		s->p.cookie_lifetime_s = 30;
	if (s->p.keepalive_ms == 0)
		s->p.keepalive_ms = 1000;
	if (s->p.timeout_ms == 0)
		s->p.timeout_ms = 3 * s->p.keepalive_ms;
	if (s->p.catchup_per_pump == 0)
		s->p.catchup_per_pump = 8;
	if (s->p.join_substreams == 0 || s->p.join_substreams > s->p.substreams)
		s->p.join_substreams = s->p.substreams;
	/* A key of its own for the table, derived from the cookie secret:
	 * every seed of a node hashes differently from an outsider's view. */
	crypto_generichash(s->hash_key, sizeof(s->hash_key),
			   (const uint8_t *)label, sizeof(label) - 1,
			   p->cookie_secret, RF_SECRET_LEN);

	s->sess = (struct rf_seed_session *)(base + l.sess);
	s->hidx = (uint32_t *)(base + l.hidx);
	s->hmask = l.hsize - 1;
	s->lists = (uint32_t *)(base + l.lists);
	s->nlists = p->substreams + 2u;
	s->valid_mask = p->substreams == 64 ? UINT64_MAX
					    : (UINT64_C(1) << p->substreams) - 1;
	memset(s->sess, 0, (size_t)p->max_sessions * sizeof(*s->sess));
	for (i = 0; i < p->max_sessions; i++)
		s->sess[i].free_next = i + 1 < p->max_sessions ? i + 1 : RF_SEED_NONE;
	s->free_head = 0;
	memset(s->hidx, 0xff, (size_t)l.hsize * sizeof(uint32_t));
	s->scan_slice = p->max_sessions / 8 + 1;
	if (s->scan_slice < RF_SEED_SCAN_MIN)
		s->scan_slice = RF_SEED_SCAN_MIN;
	if (s->scan_slice > p->max_sessions)
		s->scan_slice = p->max_sessions;
	*err = NULL;
	return s;
}

void rf_seed_set_stream_bps(struct rf_seed *s, uint64_t bps)
{
	s->p.stream_bps = bps;
	rf_update_committed(s);
}

void rf_seed_set_max_egress(struct rf_seed *s, uint64_t bps)
{
	s->p.max_egress_bps = bps;
}

static bool rf_candidate_ok(const struct rf_candidate *c)
{
	return (c->addr.family == RF_AF_INET || c->addr.family == RF_AF_INET6) &&
	       c->addr.port != 0;
}

void rf_seed_set_directory(struct rf_seed *s, const struct rf_candidate *c,
			   unsigned count)
{
	unsigned i;

	s->dir_count = 0;
	for (i = 0; i < count && s->dir_count < RF_SEED_DIR_MAX; i++) {
		if (!rf_candidate_ok(&c[i]))
			continue; /* would not encode; never offer it */
		s->dir[s->dir_count] = c[i];
		if (c[i].addr.family == RF_AF_INET)
			memset(s->dir[s->dir_count].addr.ip + 4, 0, 12);
		s->dir_count++;
	}
	s->dir_rr = 0;
}

const struct rf_seed_stats *rf_seed_stats(const struct rf_seed *s)
{
	return &s->st;
}

/* ---- address table ---- */

static uint32_t rf_addr_hash(const struct rf_seed *s, const struct rf_addr *a)
{
	uint8_t key[19], h[crypto_shorthash_BYTES];

	key[0] = a->family;
	rf_put16(key + 1, a->port);
	memcpy(key + 3, a->ip, 16);
	crypto_shorthash(h, key, sizeof(key), s->hash_key);
	return rf_get32(h);
}

/* One spelling per address: the key must not depend on junk. */
static void rf_addr_key(struct rf_addr *key, const struct rf_addr *a)
{
	memset(key, 0, sizeof(*key));
	key->family = a->family;
	key->port = a->port;
	memcpy(key->ip, a->ip, a->family == RF_AF_INET ? 4 : 16);
}

static uint32_t rf_find(const struct rf_seed *s, const struct rf_addr *a,
			uint32_t h)
{
	uint32_t b, i;

	/* Terminates: the load factor is at most 1/2. */
	for (b = h & s->hmask;; b = (b + 1) & s->hmask) {
		i = s->hidx[b];
		if (i == RF_SEED_NONE)
			return RF_SEED_NONE;
		if (s->sess[i].hash == h && rf_addr_equal(&s->sess[i].addr, a))
			return i;
	}
}

static void rf_hash_insert(struct rf_seed *s, uint32_t idx)
{
	uint32_t b = s->sess[idx].hash & s->hmask;

	while (s->hidx[b] != RF_SEED_NONE)
		b = (b + 1) & s->hmask;
	s->hidx[b] = idx;
}

/* Backward-shift deletion: later entries of the probe run move into the
 * hole when the hole lies on their own path from their home bucket. */
static void rf_hash_remove(struct rf_seed *s, uint32_t idx)
{
	uint32_t m = s->hmask, hole = s->sess[idx].hash & m, j, home;

	while (s->hidx[hole] != idx)
		hole = (hole + 1) & m;
	for (j = (hole + 1) & m; s->hidx[j] != RF_SEED_NONE; j = (j + 1) & m) {
		home = s->sess[s->hidx[j]].hash & m;
		if (((j - home) & m) >= ((j - hole) & m)) {
			s->hidx[hole] = s->hidx[j];
			hole = j;
		}
	}
	s->hidx[hole] = RF_SEED_NONE;
}

/* ---- list membership ---- */

static bool rf_member(const struct rf_seed *s, uint32_t l,
		      const struct rf_seed_session *x)
{
	if (x->state != RF_SS_OPEN)
		return false;
	if (l < s->p.substreams)
		return (x->mask >> l) & 1;
	if (l == rf_list_any(s))
		return x->mask != 0;
	return x->flags & RF_SF_CATCHUP;
}

static bool rf_listed(const struct rf_seed *s, uint32_t l,
		      const struct rf_seed_session *x)
{
	if (l < s->p.substreams)
		return (x->listed >> l) & 1;
	return x->lflags & (l == rf_list_any(s) ? RF_SL_ANY : RF_SL_CU);
}

static void rf_set_listed(const struct rf_seed *s, uint32_t l,
			  struct rf_seed_session *x, bool on)
{
	if (l < s->p.substreams) {
		if (on)
			x->listed |= UINT64_C(1) << l;
		else
			x->listed &= ~(UINT64_C(1) << l);
	} else {
		uint8_t bit = l == rf_list_any(s) ? RF_SL_ANY : RF_SL_CU;

		x->lflags = on ? (uint8_t)(x->lflags | bit)
			       : (uint8_t)(x->lflags & ~bit);
	}
}

static void rf_list_add(struct rf_seed *s, uint32_t l, uint32_t idx)
{
	struct rf_seed_session *x = &s->sess[idx];

	if (rf_listed(s, l, x))
		return; /* the slot's old entry serves: at most once per list */
	rf_list(s, l)[s->lcount[l]++] = idx;
	rf_set_listed(s, l, x, true);
}

/* Visit entry r of a pass over list l (its entries at a): keep it
 * (written at *w) if its slot still belongs there, else drop it. Returns
 * the slot, or RF_SEED_NONE. */
static inline uint32_t rf_pass_visit(struct rf_seed *s, uint32_t l, uint32_t *a,
				     uint32_t *r, uint32_t *w)
{
	uint32_t idx = a[(*r)++];
	struct rf_seed_session *x = &s->sess[idx];

	if (!rf_member(s, l, x)) {
		rf_set_listed(s, l, x, false);
		return RF_SEED_NONE;
	}
	a[(*w)++] = idx;
	return idx;
}

/* End a pass paused at (r, w): the unscanned tail moves down to w. */
static void rf_pass_close(struct rf_seed *s, uint32_t l, uint32_t r, uint32_t w)
{
	uint32_t *a = rf_list(s, l), n = s->lcount[l];

	if (r != w)
		memmove(a + w, a + r, (size_t)(n - r) * sizeof(*a));
	s->lcount[l] = n - (r - w);
}

/* An iterator is about to start a pass on l: finish the timers'
 * compaction of l first, so two passes never interleave on one list. */
static void rf_pass_claim(struct rf_seed *s, uint32_t l)
{
	if (s->tc_active && s->tc_list == l) {
		rf_pass_close(s, l, s->tc_r, s->tc_w);
		s->tc_active = false;
	}
}

static uint32_t rf_fan_list(const struct rf_seed *s)
{
	if (s->fan_sig)
		return rf_list_any(s);
	return (uint32_t)((s->fan_late ? s->late_seq : s->fan_seq) % s->p.substreams);
}

static bool rf_list_busy(const struct rf_seed *s, uint32_t l)
{
	return (s->fan_active && rf_fan_list(s) == l) ||
	       (s->cu_active && rf_list_cu(s) == l);
}

/* Between two chunks of the live fan-out: no pass half done, no
 * SIGNATURE phase pending. Catch-up hands over to live only here. */
static bool rf_fan_clean(const struct rf_seed *s)
{
	return !s->fan_active && !s->fan_sig;
}

/* Abandon the live pass (its chunk is gone, or the store changed). */
static void rf_fan_abandon(struct rf_seed *s)
{
	if (s->fan_active)
		rf_pass_close(s, rf_fan_list(s), s->fan_r, s->fan_w);
	s->fan_active = false;
	s->fan_late = false;
}

void rf_seed_set_store(struct rf_seed *s, const struct rf_chunk_store *store)
{
	if (store == s->store)
		return;
	rf_fan_abandon(s);
	s->store = store;
	s->fan_sig = false;
	s->nlate = 0;
	s->fan_init = store != NULL;
	s->fan_seq = store ? rf_chunk_store_next(store) : 0;
}

/* ---- sessions ---- */

static void rf_set_mask(struct rf_seed *s, uint32_t idx, uint64_t mask)
{
	struct rf_seed_session *x = &s->sess[idx];
	uint64_t add = mask & ~x->mask;
	uint8_t n = (uint8_t)__builtin_popcountll(mask);

	s->sub_total = s->sub_total - x->nsubs + n;
	x->nsubs = n;
	x->mask = mask;
	while (add) {
		rf_list_add(s, (uint32_t)__builtin_ctzll(add), idx);
		add &= add - 1;
	}
	if (mask)
		rf_list_add(s, rf_list_any(s), idx);
	x->cu_mask &= mask;
	if (!x->cu_mask)
		x->flags &= (uint8_t)~(RF_SF_CATCHUP | RF_SF_SIG_OWED);
	rf_update_committed(s);
}

static uint32_t rf_session_new(struct rf_seed *s, const struct rf_addr *a,
			       uint32_t h, uint64_t now_ms)
{
	uint32_t idx = s->free_head;
	struct rf_seed_session *x;
	uint64_t listed;
	uint32_t gen;
	uint8_t lflags;

	if (idx == RF_SEED_NONE)
		return RF_SEED_NONE;
	x = &s->sess[idx];
	s->free_head = x->free_next;
	/* The slot's list membership and generation outlive its sessions. */
	listed = x->listed;
	lflags = x->lflags;
	gen = x->gen;
	memset(x, 0, sizeof(*x));
	x->listed = listed;
	x->lflags = lflags;
	x->gen = gen;
	x->addr = *a;
	x->hash = h;
	x->state = RF_SS_OPEN;
	x->joined_ms = now_ms;
	x->last_rx_ms = now_ms;
	x->free_next = RF_SEED_NONE;
	rf_hash_insert(s, idx);
	s->st.sessions++;
	return idx;
}

static void rf_session_end(struct rf_seed *s, uint32_t idx)
{
	struct rf_seed_session *x = &s->sess[idx];

	rf_hash_remove(s, idx);
	rf_set_mask(s, idx, 0);
	x->flags = 0;
	x->state = RF_SS_FREE;
	x->gen++; /* queued repairs for it are now stale */
	x->free_next = s->free_head;
	s->free_head = idx;
	s->st.sessions--;
}

/* ---- replies ---- */

static bool rf_out_full(const struct rf_seed_outbox *out)
{
	return out == NULL || out->count >= RF_SEED_OUT_MAX;
}

static int rf_reply(struct rf_seed *s, struct rf_seed_outbox *out,
		    const struct rf_addr *dst, struct rf_msg *m, bool validated)
{
	struct rf_seed_out *o;
	int len;

	if (rf_out_full(out)) {
		s->st.out_overflow++;
		return -ENOSPC;
	}
	o = &out->out[out->count];
	m->stream_id = s->p.stream_id;
	len = rf_msg_encode(m, o->buf, sizeof(o->buf));
	if (len < 0)
		return len;
	/* The anti-amplification rule, kept even if a caller bends it. */
	if (!validated && s->st.unvalidated_tx_bytes + (uint64_t)len >
			  s->st.unvalidated_rx_bytes)
		return -EPERM;
	o->dst = *dst;
	o->len = (uint16_t)len;
	out->count++;
	s->st.tx_packets++;
	s->st.tx_bytes += (uint64_t)len;
	if (!validated)
		s->st.unvalidated_tx_bytes += (uint64_t)len;
	return 0;
}

static void rf_fill_candidates(struct rf_seed *s, struct rf_candidates *c,
			       const struct rf_addr *exclude, uint8_t reason)
{
	unsigned n = s->dir_count, start = s->dir_rr, i;

	c->reason = reason;
	c->count = 0;
	if (n == 0)
		return;
	s->dir_rr = (s->dir_rr + 1) % n; /* spread the offers over the directory */
	for (i = 0; i < n && c->count < RF_CANDIDATES_MAX; i++) {
		const struct rf_candidate *e = &s->dir[(start + i) % n];

		if (exclude && rf_addr_equal(&e->addr, exclude))
			continue;
		c->entry[c->count++] = *e;
	}
}

static void rf_send_list(struct rf_seed *s, struct rf_seed_outbox *out,
			 const struct rf_addr *dst, uint8_t type, uint8_t reason)
{
	struct rf_msg m = { .type = type };

	rf_fill_candidates(s, &m.candidates, dst, reason);
	rf_reply(s, out, dst, &m, true);
}

/* Tell x we no longer serve it the substreams in mask. */
static void rf_send_shed(struct rf_seed *s, struct rf_seed_outbox *out,
			 const struct rf_seed_session *x, uint64_t mask)
{
	struct rf_msg m = { .type = RF_MSG_UNSUBSCRIBE, .flags = RF_FLAG_UNSUB_SHED };

	m.subscribe.substreams = mask;
	rf_reply(s, out, &x->addr, &m, true);
	s->st.shed += (uint64_t)__builtin_popcountll(mask);
}

static void rf_send_bye(struct rf_seed *s, struct rf_seed_outbox *out,
			const struct rf_addr *dst, uint8_t reason)
{
	struct rf_msg m = { .type = RF_MSG_BYE, .bye.reason = reason };

	rf_reply(s, out, dst, &m, true);
}

static void rf_send_welcome(struct rf_seed *s, struct rf_seed_outbox *out,
			    struct rf_seed_session *x)
{
	const struct rf_addr *dst = &x->addr;
	struct rf_msg m = { .type = RF_MSG_WELCOME };
	struct rf_welcome *w = &m.welcome;

	w->chunk_size = s->p.chunk_size;
	w->substreams = s->p.substreams;
	w->group_size = s->p.group_size;
	w->chunk_rate_milli = s->p.chunk_rate_milli;
	if (s->store) {
		w->live_edge = rf_chunk_store_next(s->store);
		w->window_first = rf_chunk_store_oldest(s->store);
		w->rap_count = (uint8_t)rf_chunk_store_raps(s->store, w->raps,
							    RF_RAPS_MAX);
	}
	memcpy(w->pubkey, s->p.pubkey, RF_PUBKEY_LEN);
	w->keepalive_ms = s->p.keepalive_ms;
	rf_reply(s, out, dst, &m, true);
	rf_send_list(s, out, dst, RF_MSG_CANDIDATES, 0);
	x->offered_ms = x->last_rx_ms;
}

/* ---- input ---- */

static bool rf_over_egress(const struct rf_seed *s, uint64_t sub_total)
{
	return s->p.max_egress_bps != 0 &&
	       rf_rate(s->p.stream_bps, sub_total, s->p.substreams) >
		       s->p.max_egress_bps;
}

/* JOIN: cookie, then token, then admission. idx is the session of src or
 * RF_SEED_NONE. Every reply goes out only once the cookie has shown that
 * src really is there, so none of them amplifies a spoofed source. */
static enum rf_drop rf_seed_join(struct rf_seed *s, uint64_t now_ms,
				 const struct rf_addr *a, uint32_t h,
				 uint32_t idx, const struct rf_msg *m,
				 struct rf_seed_outbox *out)
{
	const struct rf_join *j = &m->join;
	uint64_t now_s = now_ms / 1000;
	struct rf_seed_session *x;
	enum rf_drop why;

	why = rf_cookie_check(j->cookie, s->p.cookie_secret, a, j->peer_id,
			      s->p.stream_id, now_s, s->p.cookie_lifetime_s);
	if (why != RF_DROP_NONE)
		return why;
	if (s->p.tokens) {
		why = j->token ? rf_token_check(j->token, s->p.tokens,
						s->p.stream_id, a, now_s)
			       : RF_DROP_DENIED;
		if (why != RF_DROP_NONE) {
			rf_send_bye(s, out, a, RF_REASON_DENIED);
			if (idx != RF_SEED_NONE) /* its credentials are gone */
				rf_session_end(s, idx);
			return why;
		}
	}
	if (s->draining) {
		rf_send_list(s, out, a, RF_MSG_REDIRECT, RF_REASON_DRAINING);
		s->st.redirects++;
		if (idx != RF_SEED_NONE)
			rf_session_end(s, idx);
		return RF_DROP_NONE;
	}
	if (idx != RF_SEED_NONE) {
		/* A lost WELCOME, or a restarted peer on the same port: a new
		 * peer id starts over without the old subscriptions. */
		x = &s->sess[idx];
		if (x->peer_id != j->peer_id) {
			rf_set_mask(s, idx, 0);
			x->peer_id = j->peer_id;
		}
		x->upload_kbps = j->upload_kbps;
		x->rejoins++;
		s->st.rejoins++;
		rf_send_welcome(s, out, x);
		return RF_DROP_NONE;
	}
	/* Admission: room in the table, and the whole stream for one more
	 * peer on top of what is promised (committed + stream_bps). */
	if (s->free_head == RF_SEED_NONE ||
	    s->st.sessions >= s->p.max_sessions ||
	    rf_over_egress(s, s->sub_total + s->p.join_substreams)) {
		rf_send_list(s, out, a, RF_MSG_REDIRECT, RF_REASON_CAPACITY);
		s->st.redirects++;
		return RF_DROP_NONE;
	}
	idx = rf_session_new(s, a, h, now_ms);
	x = &s->sess[idx];
	x->peer_id = j->peer_id;
	x->upload_kbps = j->upload_kbps;
	x->rx_packets = 1;
	s->st.joins++;
	rf_send_welcome(s, out, x);
	return RF_DROP_NONE;
}

/*
 * Where a SUBSCRIBE's start lands. In the window: as asked. At or past the
 * live edge: as asked, unless further ahead than a window (then the live
 * edge: nobody needs a start we would wait minutes for). Older than the
 * window: the oldest random access point still held -- the most backlog
 * the peer can decode from -- or the oldest chunk when no RAP is held.
 */
static uint64_t rf_clamp_start(const struct rf_seed *s, uint64_t start)
{
	uint64_t raps[RF_CHUNK_STORE_RAPS], next, oldest;
	size_t n;

	if (!s->store)
		return start;
	next = rf_chunk_store_next(s->store);
	oldest = rf_chunk_store_oldest(s->store);
	if (start - oldest < next - oldest)
		return start;
	if (rf_seq_ge(start, next))
		return start - next <= rf_chunk_store_slots(s->store) ? start : next;
	n = rf_chunk_store_raps(s->store, raps, RF_CHUNK_STORE_RAPS);
	return n ? raps[n - 1] : oldest;
}

static enum rf_drop rf_seed_subscribe(struct rf_seed *s, uint32_t idx,
				      const struct rf_msg *m,
				      struct rf_seed_outbox *out)
{
	struct rf_seed_session *x = &s->sess[idx];
	uint64_t mask = m->subscribe.substreams & s->valid_mask;
	uint64_t add = mask & ~x->mask, refused = 0, total = s->sub_total, start;

	if (mask == 0)
		return RF_DROP_BAD_FIELD; /* only substreams >= K */
	s->st.subscribes++;
	if (s->p.fed_by)
		refused = add & s->p.fed_by(s->p.fed_by_ctx, &x->addr);
	for (add &= ~refused; add; add &= add - 1) { /* lowest first, while they fit */
		if (rf_over_egress(s, total + 1))
			refused |= add & -add;
		else
			total++;
	}
	if (refused) {
		rf_send_shed(s, out, x, refused);
		mask &= ~refused;
		if (mask == 0)
			return RF_DROP_NONE; /* nothing taken: nothing moves */
	}
	start = rf_clamp_start(s, m->subscribe.start_seq);
	/* substreams it keeps as they are keep their start too */
	if (!(x->mask & ~mask & ~x->cu_mask) || rf_seq_lt(start, x->start_seq))
		x->start_seq = start;
	rf_set_mask(s, idx, x->mask | mask);
	if (s->fan_init && (rf_seq_lt(start, s->fan_seq) ||
			    (start == s->fan_seq && !rf_fan_clean(s)))) {
		/* Behind the live fan-out (or at a chunk it is half way
		 * through): the backlog comes from catch-up, from the older
		 * start when some substreams were catching up already. */
		if (!x->cu_mask || rf_seq_lt(start, x->catchup_next))
			x->catchup_next = start;
		x->flags = (uint8_t)((x->flags | RF_SF_CATCHUP) & ~RF_SF_SIG_OWED);
		x->cu_mask |= mask;
		rf_list_add(s, rf_list_cu(s), idx);
	} else {
		x->cu_mask &= ~mask; /* live from now on */
		if (!x->cu_mask)
			x->flags &= (uint8_t)~(RF_SF_CATCHUP | RF_SF_SIG_OWED);
	}
	return RF_DROP_NONE;
}

static enum rf_drop rf_seed_unsubscribe(struct rf_seed *s, uint32_t idx,
					const struct rf_msg *m)
{
	struct rf_seed_session *x = &s->sess[idx];
	uint64_t mask = m->subscribe.substreams & s->valid_mask;

	if (mask == 0)
		return RF_DROP_BAD_FIELD;
	s->st.unsubscribes++;
	rf_set_mask(s, idx, x->mask & ~mask); /* list entries go lazily */
	return RF_DROP_NONE;
}

static void rf_seed_repair_in(struct rf_seed *s, uint32_t idx,
			      const struct rf_repair *r)
{
	struct rf_seed_session *x = &s->sess[idx];
	uint64_t mask = r->mask;

	s->st.repairs_asked += (uint64_t)__builtin_popcountll(mask);
	while (mask) {
		uint64_t seq = r->base_seq + (uint64_t)__builtin_ctzll(mask);
		struct rf_seed_repair *e;

		mask &= mask - 1;
		if (!s->store || !rf_chunk_store_get(s->store, seq) ||
		    s->rq_tail - s->rq_head >= RF_SEED_REPAIR_QUEUE ||
		    x->repairs_queued >= RF_SEED_REPAIR_PER_SESSION) {
			s->st.repairs_missed++;
			continue;
		}
		e = &s->rq[s->rq_tail++ & (RF_SEED_REPAIR_QUEUE - 1)];
		e->idx = idx;
		e->gen = x->gen;
		e->seq = seq;
		x->repairs_queued++;
	}
}

static enum rf_drop rf_drop_count(struct rf_seed *s, enum rf_drop why)
{
	if (why != RF_DROP_NONE && why < RF_DROP_MAX)
		s->st.drops[why]++;
	return why;
}

int rf_seed_set_deny(struct rf_seed *s, const struct rf_seed_deny *list, unsigned n)
{
	if (n > RF_SEED_DENY_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if ((list[i].family != RF_AF_INET && list[i].family != RF_AF_INET6) ||
		    list[i].prefix_len > (list[i].family == RF_AF_INET ? 32 : 128))
			return -EINVAL;
	if (n)
		memcpy(s->deny, list, n * sizeof(*list));
	s->ndeny = n;
	return 0;
}

static bool rf_denied(const struct rf_seed *s, const struct rf_addr *a)
{
	for (unsigned i = 0; i < s->ndeny; i++)
		if (rf_addr_prefix_match(a, s->deny[i].ip, s->deny[i].family,
					 s->deny[i].prefix_len))
			return true;
	return false;
}

enum rf_drop rf_seed_input(struct rf_seed *s, uint64_t now_ms,
			   const struct rf_addr *src, const uint8_t *pkt,
			   size_t len, struct rf_seed_outbox *out)
{
	struct rf_seed_session *x = NULL;
	struct rf_msg m, r;
	struct rf_addr a;
	uint32_t h, idx = RF_SEED_NONE;
	enum rf_drop why;

	s->st.rx_packets++;
	s->st.rx_bytes += len;
	if (src == NULL ||
	    (src->family != RF_AF_INET && src->family != RF_AF_INET6)) {
		s->st.unvalidated_rx_bytes += len;
		return rf_drop_count(s, RF_DROP_NOT_IPV4_OR_6);
	}
	rf_addr_key(&a, src);
	h = rf_addr_hash(s, &a);
	idx = rf_find(s, &a, h);
	if (idx != RF_SEED_NONE)
		x = &s->sess[idx];
	else
		s->st.unvalidated_rx_bytes += len;

	why = rf_msg_decode(pkt, len, &m);
	if (why != RF_DROP_NONE)
		return rf_drop_count(s, why);
	if (m.stream_id != s->p.stream_id)
		return rf_drop_count(s, RF_DROP_UNKNOWN_STREAM);
	if (x) {
		/* Any well-formed datagram of our stream keeps it alive. */
		x->last_rx_ms = now_ms;
		x->rx_packets++;
	}

	/* the deny list is checked where sessions begin, not per packet */
	if ((m.type == RF_MSG_HELLO || m.type == RF_MSG_JOIN) && s->ndeny && rf_denied(s, &a))
		return rf_drop_count(s, RF_DROP_DENIED);
	if (m.type == RF_MSG_HELLO) {
		/* Stateless: one COOKIE (44 B) per HELLO (>= 64 B). */
		memset(&r, 0, sizeof(r));
		r.type = RF_MSG_COOKIE;
		r.cookie.peer_id = m.hello.peer_id;
		rf_cookie_make(r.cookie.cookie, s->p.cookie_secret, &a,
			       m.hello.peer_id, s->p.stream_id, now_ms / 1000);
		rf_reply(s, out, &a, &r, x != NULL);
		return RF_DROP_NONE;
	}
	if (m.type == RF_MSG_JOIN)
		return rf_drop_count(s, rf_seed_join(s, now_ms, &a, h, idx, &m, out));
	if (!x)
		return rf_drop_count(s, RF_DROP_NO_SESSION);

	switch (m.type) {
	case RF_MSG_SUBSCRIBE:
		return rf_drop_count(s, rf_seed_subscribe(s, idx, &m, out));
	case RF_MSG_UNSUBSCRIBE:
		return rf_drop_count(s, rf_seed_unsubscribe(s, idx, &m));
	case RF_MSG_REPAIR:
		rf_seed_repair_in(s, idx, &m.repair);
		return RF_DROP_NONE;
	case RF_MSG_QUALITY:
		x->quality = m.quality;
		x->quality_reports++;
		s->st.quality_reports++;
		return RF_DROP_NONE;
	case RF_MSG_KEEPALIVE:
		memset(&r, 0, sizeof(r));
		r.type = RF_MSG_KEEPALIVE;
		r.keepalive.stamp = m.keepalive.stamp;
		rf_reply(s, out, &a, &r, true);
		return RF_DROP_NONE;
	case RF_MSG_BYE:
		s->st.byes++;
		rf_session_end(s, idx);
		return RF_DROP_NONE;
	default:
		/* COOKIE, WELCOME, CANDIDATES, REDIRECT, DATA, SIGNATURE,
		 * BUFFERMAP: well formed, but nothing a seed takes. */
		return rf_drop_count(s, RF_DROP_BAD_FIELD);
	}
}

/* ---- pump ---- */

/* What every frame of one chunk shares: rf_tx_to addresses a copy to a
 * session. sub is seq's substream, which callers know without a division. */
static struct rf_seed_tx rf_desc_data(uint64_t seq, uint32_t sub,
				      const struct rf_chunk *c, uint8_t extra)
{
	return (struct rf_seed_tx){
		.kind = RF_SEED_TX_DATA,
		.seq = seq,
		.flags = (uint8_t)((c->flags & (RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT)) |
				   extra),
		.substream = (uint8_t)sub,
		.chunk = c,
	};
}

static struct rf_seed_tx rf_desc_sig(const uint8_t *msg, uint16_t len)
{
	return (struct rf_seed_tx){
		.kind = RF_SEED_TX_SIGNATURE,
		.sig_msg = msg,
		.sig_len = len,
	};
}

/* The datagram's size, as the counters take it. */
static uint64_t rf_desc_bytes(const struct rf_seed_tx *d)
{
	return d->kind == RF_SEED_TX_DATA ? RF_DATA_HDR_LEN + (uint64_t)d->chunk->len
					  : d->sig_len;
}

/* d to session idx, counted in the session's totals; the seed's are the
 * caller's to count. */
static inline void rf_tx_to(struct rf_seed *s, struct rf_seed_tx *t,
			    const struct rf_seed_tx *d, uint32_t idx, uint64_t bytes)
{
	struct rf_seed_session *x = &s->sess[idx];

	/* field by field, each kind's own (rf_seed_tx): a struct copy goes
	 * through the stack and stalls */
	t->kind = d->kind;
	t->dst = &x->addr;
	t->session = idx;
	t->flags = d->flags;
	if (d->kind == RF_SEED_TX_DATA) {
		t->seq = d->seq;
		t->substream = d->substream;
		t->chunk = d->chunk;
	} else {
		t->sig_msg = d->sig_msg;
		t->sig_len = d->sig_len;
	}
	x->tx_packets++;
	x->tx_bytes += bytes;
}

/* One descriptor d to x, counted everywhere. */
static void rf_tx_one(struct rf_seed *s, struct rf_seed_tx *t,
		      const struct rf_seed_tx *d, struct rf_seed_session *x)
{
	uint64_t bytes = rf_desc_bytes(d);

	rf_tx_to(s, t, d, (uint32_t)(x - s->sess), bytes);
	s->st.tx_packets++;
	s->st.tx_bytes += bytes;
}

static void rf_tx_data(struct rf_seed *s, struct rf_seed_tx *t,
		       struct rf_seed_session *x, uint64_t seq, uint32_t sub,
		       const struct rf_chunk *c, uint8_t extra)
{
	struct rf_seed_tx d = rf_desc_data(seq, sub, c, extra);

	rf_tx_one(s, t, &d, x);
}

static void rf_tx_sig(struct rf_seed *s, struct rf_seed_tx *t,
		      struct rf_seed_session *x, const uint8_t *msg,
		      uint16_t len)
{
	struct rf_seed_tx d = rf_desc_sig(msg, len);

	rf_tx_one(s, t, &d, x);
}

/* The SIGNATURE of the group ending at last is not in the ring. Wait for
 * it while last is the newest chunk (ingest appends a chunk, then signs
 * its group); once a later chunk exists it is not coming. */
static bool rf_sig_wait(const struct rf_chunk_store *store, uint64_t last)
{
	return rf_chunk_store_next(store) - last <= 1;
}

static uint64_t rf_group_last(const struct rf_seed *s, uint64_t seq)
{
	return rf_sig_group_first(seq, s->p.group_size) + s->p.group_size - 1;
}

/* The live chunk fan_seq is done: its group's SIGNATURE phase may follow. */
static void rf_fan_next(struct rf_seed *s, const struct rf_sig_ring *sigs)
{
	if (sigs && rf_sig_group_last(s->fan_seq, s->p.group_size)) {
		s->fan_sig = true;
		s->sig_last = s->fan_seq;
	}
	s->fan_seq++;
}

/* Caught up with a group the ingest signed before it was complete (the
 * source paused or ended): send that signature now, once per version, so
 * peers can verify the tail; the whole group's comes as usual later. */
static bool rf_fan_tail_sig(struct rf_seed *s, const struct rf_sig_ring *sigs,
			    uint64_t next)
{
	uint64_t last = next - 1;
	const uint8_t *msg;
	uint16_t len;

	if (rf_sig_group_last(last, s->p.group_size))
		return false;
	msg = rf_sig_ring_get(sigs, last, &len);
	if (!msg || !rf_sig_msg_covers(msg, last) || s->tail_sig_last == last)
		return false;
	s->tail_sig_last = last;
	s->fan_sig = true;
	s->sig_last = last;
	return true;
}

/* One pass of the live fan-out over list l, resumable: every live session
 * on it whose start is at or before seq gets the SIGNATURE msg (when
 * given) or chunk c. False when tx filled up: the pass goes on next call. */
static bool rf_fan_pass(struct rf_seed *s, uint32_t l, uint64_t seq,
			const struct rf_chunk *c, const uint8_t *msg, uint16_t len,
			struct rf_seed_tx *tx, unsigned *n, unsigned max)
{
	/* The pass runs on locals: a descriptor's byte-wide fields may alias
	 * anything, so state read through s would be reloaded every frame. */
	struct rf_seed_tx d = msg ? rf_desc_sig(msg, len) : rf_desc_data(seq, l, c, 0);
	uint64_t bytes = rf_desc_bytes(&d);
	uint32_t *a = rf_list(s, l), count = s->lcount[l], r, w;
	unsigned k = *n;

	if (!s->fan_active) {
		rf_pass_claim(s, l);
		s->fan_active = true;
		s->fan_r = s->fan_w = 0;
	}
	r = s->fan_r;
	w = s->fan_w;
	while (r < count && k < max) {
		uint32_t idx = rf_pass_visit(s, l, a, &r, &w);
		const struct rf_seed_session *x;

		if (idx == RF_SEED_NONE)
			continue;
		x = &s->sess[idx];
		if (!rf_seq_ge(seq, x->start_seq) ||
		    (msg ? !(x->mask & ~x->cu_mask) /* nothing live: its own SIGNATUREs */
			 : (x->cu_mask >> l) & 1))  /* a data pass's list is its substream */
			continue;
		rf_tx_to(s, &tx[k++], &d, idx, bytes);
	}
	s->st.tx_packets += k - *n;
	s->st.tx_bytes += (k - *n) * bytes;
	*n = k;
	s->fan_r = r;
	s->fan_w = w;
	if (r < count)
		return false;
	s->lcount[l] = w;
	s->fan_active = false;
	return true;
}

/* The live fan-out passes a hole at seq: watch it, even with nobody on
 * its substream yet (a child that subscribes now wants it too). A full
 * watch list forgets its oldest entry. */
static void rf_late_watch(struct rf_seed *s, uint64_t seq)
{
	if (s->nlate == RF_SEED_LATE_MAX) {
		memmove(s->late, s->late + 1, (RF_SEED_LATE_MAX - 1) * sizeof(s->late[0]));
		s->nlate--;
		s->st.late_forgotten++;
	}
	s->late[s->nlate++] = seq;
}

/* A watched hole that has filled: it becomes late_seq and leaves the
 * list, as do holes that left the window. False when none has. */
static bool rf_late_next(struct rf_seed *s, const struct rf_chunk_store *store)
{
	uint32_t i = 0;

	while (i < s->nlate) {
		uint64_t seq = s->late[i];
		bool arrived = rf_chunk_store_get(store, seq) != NULL;

		if (arrived || !rf_chunk_store_in_window(store, seq))
			memmove(&s->late[i], &s->late[i + 1], (--s->nlate - i) * sizeof(s->late[0]));
		else
			i++; /* kept in order: the oldest is forgotten first */
		if (arrived) {
			s->late_seq = seq;
			return true;
		}
	}
	s->late_scan = false; /* until the next pump */
	return false;
}

static unsigned rf_pump_live(struct rf_seed *s,
			     const struct rf_chunk_store *store,
			     const struct rf_sig_ring *sigs,
			     struct rf_seed_tx *tx, unsigned n, unsigned max)
{
	s->late_scan = s->nlate != 0;
	while (n < max) {
		const struct rf_chunk *c;
		const uint8_t *msg;
		uint16_t len = 0;

		if (s->fan_sig) {
			msg = sigs ? rf_sig_ring_get(sigs, s->sig_last, &len) : NULL;
			if (!msg) {
				if (sigs && !s->fan_active &&
				    rf_sig_wait(store, s->sig_last))
					break; /* being signed right now */
				rf_fan_abandon(s);
				s->st.sigs_missed++;
				s->fan_sig = false;
				continue;
			}
			if (!rf_fan_pass(s, rf_list_any(s), s->sig_last, NULL, msg, len,
					 tx, &n, max))
				return n;
			s->fan_sig = false;
			continue;
		}

		if (!s->fan_active && s->late_scan && rf_late_next(s, store))
			s->fan_late = true;
		if (s->fan_late) {
			c = rf_chunk_store_get(store, s->late_seq);
			if (!c) { /* overwritten while we were paused */
				rf_fan_abandon(s);
				continue;
			}
			if (!rf_fan_pass(s, (uint32_t)(s->late_seq % s->p.substreams),
					 s->late_seq, c, NULL, 0, tx, &n, max))
				return n;
			s->fan_late = false;
			s->st.late_sent++;
			continue;
		}
		if (!s->fan_active) {
			uint64_t next = rf_chunk_store_next(store);
			uint64_t oldest = rf_chunk_store_oldest(store);

			if (s->fan_seq == next) {
				if (sigs && rf_fan_tail_sig(s, sigs, next))
					continue;
				break; /* all caught up */
			}
			if (rf_seq_ge(s->fan_seq, next)) {
				s->fan_seq = next; /* store went back: resync */
				break;
			}
			if (s->fan_seq - oldest >= next - oldest) {
				/* We fell behind the window: those are gone. */
				s->st.fanout_skipped += oldest - s->fan_seq;
				s->fan_seq = oldest;
				continue;
			}
		}
		c = rf_chunk_store_get(store, s->fan_seq);
		if (!c) {
			/* A hole, or overwritten while we were paused. */
			rf_fan_abandon(s);
			s->st.fanout_skipped++;
			if (rf_chunk_store_in_window(store, s->fan_seq))
				rf_late_watch(s, s->fan_seq);
			rf_fan_next(s, sigs);
			continue;
		}
		if (!rf_fan_pass(s, (uint32_t)(s->fan_seq % s->p.substreams), s->fan_seq,
				 c, NULL, 0, tx, &n, max))
			return n;
		rf_fan_next(s, sigs);
	}
	return n;
}

/* Whether e is the last queued repair of its group for its session: then
 * the group's SIGNATURE follows the data, since a lost SIGNATURE leaves
 * the requester unable to verify what it holds. The SIGNATURE descriptor
 * carries RF_FLAG_DATA_REPAIR to tell it from the live ones. */
static bool rf_repair_group_done(const struct rf_seed *s, const struct rf_seed_repair *e)
{
	const struct rf_seed_repair *next;

	if (s->rq_head == s->rq_tail)
		return true;
	next = &s->rq[s->rq_head & (RF_SEED_REPAIR_QUEUE - 1)];
	return next->idx != e->idx || next->gen != e->gen ||
	       rf_sig_group_first(next->seq, s->p.group_size) !=
		       rf_sig_group_first(e->seq, s->p.group_size);
}

/* Send the SIGNATURE of e's group to its requester, marked as a repair
 * answer. False when there was no room: it waits in sig_owed. */
static bool rf_repair_sig(struct rf_seed *s, const struct rf_sig_ring *sigs,
			  const struct rf_seed_repair *e, struct rf_seed_tx *tx,
			  unsigned *n, unsigned max)
{
	struct rf_seed_session *x = &s->sess[e->idx];
	const uint8_t *msg;
	uint16_t len;

	if (*n == max) {
		s->sig_owed = *e;
		s->sig_owed_valid = true;
		return false;
	}
	s->sig_owed_valid = false;
	if (x->state != RF_SS_OPEN || x->gen != e->gen ||
	    !(msg = rf_sig_ring_get(sigs, e->seq, &len)))
		return true;
	rf_tx_sig(s, &tx[*n], x, msg, len);
	tx[(*n)++].flags = RF_FLAG_DATA_REPAIR;
	return true;
}

static unsigned rf_pump_repairs(struct rf_seed *s,
				const struct rf_chunk_store *store,
				const struct rf_sig_ring *sigs,
				struct rf_seed_tx *tx, unsigned n, unsigned max)
{
	if (s->sig_owed_valid && sigs && !rf_repair_sig(s, sigs, &s->sig_owed, tx, &n, max))
		return n;
	while (s->rq_head != s->rq_tail && n < max) {
		struct rf_seed_repair *e =
			&s->rq[s->rq_head++ & (RF_SEED_REPAIR_QUEUE - 1)];
		struct rf_seed_session *x = &s->sess[e->idx];
		const struct rf_chunk *c;

		if (x->state != RF_SS_OPEN || x->gen != e->gen) {
			s->st.repairs_missed++; /* it left meanwhile */
			continue;
		}
		x->repairs_queued--;
		c = rf_chunk_store_get(store, e->seq);
		if (!c) {
			s->st.repairs_missed++;
			continue;
		}
		rf_tx_data(s, &tx[n++], x, e->seq, (uint32_t)(e->seq % s->p.substreams), c,
			   RF_FLAG_DATA_REPAIR);
		s->st.repairs_sent++;
		if (sigs && rf_repair_group_done(s, e) &&
		    !rf_repair_sig(s, sigs, e, tx, &n, max))
			break;
	}
	return n;
}

/* Next sequence at or after x in one of the substreams of mask (!= 0). */
static uint64_t rf_next_in_mask(uint64_t x, uint64_t mask, uint8_t k)
{
	uint32_t r = (uint32_t)(x % k);
	uint64_t hi = mask >> r;

	if (hi)
		return x + (uint64_t)__builtin_ctzll(hi);
	return x + (k - r) + (uint64_t)__builtin_ctzll(mask);
}

enum rf_cu { RF_CU_PAUSED, RF_CU_MORE, RF_CU_DONE };

/*
 * Send one session its share of backlog for this pump: at most
 * catchup_per_pump chunks from catchup_next on, and the SIGNATURE of every
 * group it passes right after the group's end. RF_CU_PAUSED: tx is full
 * (come back to this session), RF_CU_MORE: keep it on the list,
 * RF_CU_DONE: it reached the live fan-out and is live now.
 */
static enum rf_cu rf_catchup_one(struct rf_seed *s,
				 const struct rf_chunk_store *store,
				 const struct rf_sig_ring *sigs,
				 struct rf_seed_session *x,
				 struct rf_seed_tx *tx, unsigned *n,
				 unsigned max)
{
	uint64_t at = x->catchup_next, target = s->fan_seq;
	uint64_t oldest = rf_chunk_store_oldest(store);
	enum rf_cu ret;
	uint32_t sent = 0;

	if (rf_seq_lt(at, oldest) && rf_seq_lt(at, target)) {
		uint64_t to = rf_seq_ge(oldest, target) ? target : oldest;

		s->st.fanout_skipped += to - at;
		at = to;
		x->flags &= (uint8_t)~RF_SF_SIG_OWED;
	}
	for (;;) {
		uint64_t b, lim, d;
		bool complete;

		if (*n == max) {
			ret = RF_CU_PAUSED;
			break;
		}
		if (x->flags & RF_SF_SIG_OWED) {
			const uint8_t *msg = NULL;
			uint16_t len = 0;

			if (sigs)
				msg = rf_sig_ring_get(sigs, at - 1, &len);
			if (msg) {
				rf_tx_sig(s, &tx[(*n)++], x, msg, len);
			} else if (sigs) {
				if (rf_sig_wait(store, at - 1)) {
					ret = RF_CU_MORE;
					break;
				}
				s->st.sigs_missed++;
			}
			x->flags &= (uint8_t)~RF_SF_SIG_OWED;
			continue;
		}
		if (at == target) {
			ret = rf_fan_clean(s) ? RF_CU_DONE : RF_CU_MORE;
			break;
		}
		if (sent == s->p.catchup_per_pump) {
			ret = RF_CU_MORE;
			break;
		}
		b = rf_group_last(s, at);
		complete = b + 1 - at <= target - at;
		lim = complete ? b + 1 : target;
		d = rf_next_in_mask(at, x->cu_mask, s->p.substreams);
		if (d - at < lim - at) {
			const struct rf_chunk *c = rf_chunk_store_get(store, d);

			if (c) {
				rf_tx_data(s, &tx[(*n)++], x, d, (uint32_t)(d % s->p.substreams), c, 0);
				sent++;
			} else {
				s->st.fanout_skipped++;
			}
			at = d + 1;
			if (d == b)
				x->flags |= RF_SF_SIG_OWED;
			continue;
		}
		if (complete) {
			at = b + 1;
			x->flags |= RF_SF_SIG_OWED;
			continue;
		}
		at = target;
	}
	x->catchup_next = at;
	if (ret == RF_CU_DONE) {
		x->flags &= (uint8_t)~RF_SF_CATCHUP;
		x->cu_mask = 0;
	}
	return ret;
}

static unsigned rf_pump_catchup(struct rf_seed *s,
				const struct rf_chunk_store *store,
				const struct rf_sig_ring *sigs,
				struct rf_seed_tx *tx, unsigned n, unsigned max)
{
	uint32_t l = rf_list_cu(s), *a = rf_list(s, l);

	if (!s->cu_active) {
		if (s->lcount[l] == 0 || n == max)
			return n;
		rf_pass_claim(s, l);
		s->cu_active = true;
		s->cu_r = s->cu_w = 0;
	}
	/* At most one pass per pump: each session's share is per pump. */
	while (s->cu_r < s->lcount[l]) {
		struct rf_seed_session *x;
		uint32_t idx = a[s->cu_r];

		if (n == max)
			return n;
		x = &s->sess[idx];
		if (!rf_member(s, l, x)) {
			rf_set_listed(s, l, x, false);
			s->cu_r++;
			continue;
		}
		if (x->cu_mask == 0) {
			x->flags &= (uint8_t)~RF_SF_CATCHUP;
			continue; /* not a member now: dropped next turn */
		}
		switch (rf_catchup_one(s, store, sigs, x, tx, &n, max)) {
		case RF_CU_PAUSED:
			return n;
		case RF_CU_DONE:
			rf_set_listed(s, l, x, false);
			s->cu_r++;
			break;
		case RF_CU_MORE:
			a[s->cu_w++] = idx;
			s->cu_r++;
			break;
		}
	}
	s->lcount[l] = s->cu_w;
	s->cu_active = false;
	return n;
}

unsigned rf_seed_pump(struct rf_seed *s, uint64_t now_ms,
		      const struct rf_chunk_store *store,
		      const struct rf_sig_ring *sigs, struct rf_seed_tx *tx,
		      unsigned max)
{
	unsigned n = 0;

	(void)now_ms; /* pacing is the driver's; kept for the simulator */
	if (store == NULL || tx == NULL || max == 0)
		return 0;
	if (store != s->store)
		rf_seed_set_store(s, store);
	/* Repairs first, in up to a quarter of the room: a live fan-out that
	 * fills every pump (a worker at its limit) would otherwise leave them
	 * queued until the queue overflowed and they were missed. Then live,
	 * then repairs again in what is left. */
	n = rf_pump_repairs(s, store, sigs, tx, n,
			    (max + RF_SEED_REPAIR_SHARE_DIV - 1) / RF_SEED_REPAIR_SHARE_DIV);
	n = rf_pump_live(s, store, sigs, tx, n, max);
	n = rf_pump_repairs(s, store, sigs, tx, n, max);
	n = rf_pump_catchup(s, store, sigs, tx, n, max);
	return n;
}

/* ---- timers, drain, views ---- */

/* Compact idle lists, round robin, moving at most budget entries. */
static void rf_compact(struct rf_seed *s, uint32_t budget)
{
	uint32_t started = 0;

	while (budget > 0) {
		uint32_t l;

		if (!s->tc_active) {
			if (started++ == s->nlists)
				break; /* every list had its turn */
			l = s->tc_next;
			s->tc_next = (l + 1) % s->nlists;
			if (s->lcount[l] == 0 || rf_list_busy(s, l))
				continue;
			s->tc_active = true;
			s->tc_list = l;
			s->tc_r = s->tc_w = 0;
		}
		l = s->tc_list;
		while (budget > 0 && s->tc_r < s->lcount[l]) {
			rf_pass_visit(s, l, rf_list(s, l), &s->tc_r, &s->tc_w);
			budget--;
		}
		if (s->tc_r == s->lcount[l]) {
			s->lcount[l] = s->tc_w;
			s->tc_active = false;
		}
	}
}

void rf_seed_timers(struct rf_seed *s, uint64_t now_ms,
		    struct rf_seed_outbox *out)
{
	uint32_t i;

	for (i = 0; i < s->scan_slice && s->st.sessions > 0; i++) {
		uint32_t idx = s->scan_pos;
		struct rf_seed_session *x = &s->sess[idx];

		if (x->state == RF_SS_OPEN && s->ndeny && rf_denied(s, &x->addr)) {
			if (rf_out_full(out))
				break;
			rf_send_bye(s, out, &x->addr, RF_REASON_DENIED);
			s->st.denied_ended++;
			rf_session_end(s, idx);
		} else if (x->state == RF_SS_OPEN && now_ms >= x->last_rx_ms &&
		    now_ms - x->last_rx_ms >= s->p.timeout_ms) {
			if (rf_out_full(out))
				break; /* batched: the rest next call */
			rf_send_bye(s, out, &x->addr, RF_REASON_TIMEOUT);
			s->st.timeouts++;
			rf_session_end(s, idx);
		} else if (x->state == RF_SS_OPEN && x->mask &&
			   rf_over_egress(s, s->sub_total)) {
			uint64_t top = UINT64_C(1) << (63 - __builtin_clzll(x->mask));

			if (rf_out_full(out))
				break;
			rf_send_shed(s, out, x, top);
			rf_set_mask(s, idx, x->mask & ~top);
		} else if (x->state == RF_SS_OPEN && x->mask && s->dir_count &&
			   now_ms - x->offered_ms >= RF_SEED_OFFER_MS) {
			/* still fed by the seed: offer the peers that joined
			 * since, so it can move its substreams to them */
			if (rf_out_full(out))
				break;
			rf_send_list(s, out, &x->addr, RF_MSG_CANDIDATES, 0);
			s->st.offers++;
			x->offered_ms = now_ms;
		}
		s->scan_pos = idx + 1 < s->p.max_sessions ? idx + 1 : 0;
	}
	rf_compact(s, RF_SEED_COMPACT_BUDGET);
}

unsigned rf_seed_drain(struct rf_seed *s, uint64_t now_ms,
		       struct rf_seed_outbox *out)
{
	uint32_t i;

	(void)now_ms;
	s->draining = true;
	for (i = 0; i < s->scan_slice && s->st.sessions > 0; i++) {
		uint32_t idx = s->drain_pos;
		struct rf_seed_session *x = &s->sess[idx];

		if (x->state == RF_SS_OPEN) {
			if (rf_out_full(out))
				break; /* batched: the rest next call */
			rf_send_list(s, out, &x->addr, RF_MSG_REDIRECT,
				     RF_REASON_DRAINING);
			s->st.redirects++;
			rf_session_end(s, idx);
		}
		s->drain_pos = idx + 1 < s->p.max_sessions ? idx + 1 : 0;
	}
	return (unsigned)s->st.sessions;
}

uint64_t rf_seed_session_substreams(const struct rf_seed *s, const struct rf_addr *a)
{
	struct rf_addr key;
	uint32_t idx;

	if (a->family != RF_AF_INET && a->family != RF_AF_INET6)
		return 0;
	rf_addr_key(&key, a);
	idx = rf_find(s, &key, rf_addr_hash(s, &key));
	return idx == RF_SEED_NONE ? 0 : s->sess[idx].mask;
}

unsigned rf_seed_sessions(const struct rf_seed *s, uint32_t *cursor,
			  struct rf_seed_peer_view *v, unsigned max)
{
	unsigned n = 0;
	uint32_t i;

	for (i = *cursor; i < s->p.max_sessions && n < max; i++) {
		const struct rf_seed_session *x = &s->sess[i];

		if (x->state != RF_SS_OPEN)
			continue;
		v[n].addr = x->addr;
		v[n].peer_id = x->peer_id;
		v[n].substreams = x->mask;
		v[n].upload_kbps = x->upload_kbps;
		v[n].quality = x->quality;
		v[n].last_rx_ms = x->last_rx_ms;
		n++;
	}
	*cursor = i;
	return n;
}
