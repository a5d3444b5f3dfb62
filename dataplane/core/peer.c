/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer (ICD client) without I/O: joining, stream data and its
 * verification, playback, repairs, keepalives and QUALITY reports.
 * Parent choice and health live in peer_parents.c.
 *
 * Memory (one caller block, rf_peer_mem_size()): the struct itself (with
 * the verifier and the pending area), the per-sequence meta ring, the
 * chunk store and the signature ring. Store and ring are laid out at
 * WELCOME, when the first sequence and the group size are known.
 *
 * Verification: a chunk whose group is signed already is checked at
 * once; otherwise it waits in pend[] (direct-mapped by seq, a newer chunk
 * evicts an older one) until its SIGNATURE arrives. Only verified chunks
 * reach the store, which is what the relay side serves and the player
 * reads; they go in the moment they verify, in whatever order they come
 * (the relay side forwards a chunk that fills a hole late on its own).
 */
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "peer_int.h"

#define RF_PEER_ALIGN 64

static size_t rf_align(size_t n)
{
	return (n + RF_PEER_ALIGN - 1) & ~(size_t)(RF_PEER_ALIGN - 1);
}

static const char *rf_peer_params_fix(const struct rf_peer_params *in,
				      struct rf_peer_params *p)
{
	*p = *in;
	if (!p->delay_ms)
		p->delay_ms = RF_PEER_DELAY_MS;
	if (!p->parent_timeout_ms)
		p->parent_timeout_ms = RF_PEER_PARENT_TIMEOUT_MS;
	if (!p->repair_after_ms)
		p->repair_after_ms = RF_PEER_REPAIR_AFTER_MS;
	if (!p->store_slots)
		p->store_slots = RF_PEER_STORE_SLOTS;
	if (p->store_slots < 64 || p->store_slots > (1u << 20) ||
	    (p->store_slots & (p->store_slots - 1)))
		return "store_slots must be a power of two in 64 .. 2^20";
	if ((p->seed.family != RF_AF_INET && p->seed.family != RF_AF_INET6) ||
	    p->seed.port == 0)
		return "seed address must be IPv4 or IPv6 with a port";
	return NULL;
}

/* Layout after the struct: meta ring, chunk store, signature ring (sized
 * for groups of one, the worst case, since G is learnt at WELCOME). */
static size_t rf_peer_layout(uint32_t slots, size_t *meta_off, size_t *store_off,
			     size_t *store_len, size_t *sig_off, size_t *sig_len)
{
	size_t n = rf_align(sizeof(struct rf_peer));

	*meta_off = n;
	n += rf_align((size_t)slots * sizeof(struct rf_peer_meta));
	*store_off = n;
	*store_len = rf_chunk_store_size(slots, RF_CHUNK_MAX);
	n += rf_align(*store_len);
	*sig_off = n;
	*sig_len = rf_sig_ring_size(slots, 1);
	n += rf_align(*sig_len);
	return n;
}

size_t rf_peer_mem_size(const struct rf_peer_params *in)
{
	struct rf_peer_params p;
	size_t a, b, c, d, e;

	if (!in || rf_peer_params_fix(in, &p))
		return 0;
	return rf_peer_layout(p.store_slots, &a, &b, &c, &d, &e) + RF_PEER_ALIGN;
}

struct rf_peer *rf_peer_init(void *mem, size_t mem_len,
			     const struct rf_peer_params *in, const char **err)
{
	struct rf_peer_params p;
	size_t meta_off, store_off, store_len, sig_off, sig_len;
	const char *why;
	struct rf_peer *pe;
	uint8_t *base;

	if (!mem || !in) {
		if (err)
			*err = "no memory or parameters";
		return NULL;
	}
	why = rf_peer_params_fix(in, &p);
	if (!why && mem_len < rf_peer_mem_size(in))
		why = "memory smaller than rf_peer_mem_size()";
	if (why) {
		if (err)
			*err = why;
		return NULL;
	}
	rf_peer_layout(p.store_slots, &meta_off, &store_off, &store_len, &sig_off, &sig_len);
	base = (uint8_t *)(((uintptr_t)mem + RF_PEER_ALIGN - 1) &
			   ~(uintptr_t)(RF_PEER_ALIGN - 1));
	pe = (struct rf_peer *)base;
	memset(pe, 0, sizeof(*pe));
	pe->p = p;
	if (p.token) {
		memcpy(pe->token, p.token, RF_TOKEN_LEN);
		pe->has_token = true;
	}
	pe->p.token = NULL; /* copied: the caller's buffer need not live on */
	pe->slots = p.store_slots;
	pe->meta = (struct rf_peer_meta *)(base + meta_off);
	for (uint32_t i = 0; i < pe->slots; i++) {
		memset(&pe->meta[i], 0, sizeof(pe->meta[i]));
		pe->meta[i].seq = i ^ 1; /* maps elsewhere: never matches */
	}
	pe->store_mem = base + store_off;
	pe->store_len = store_len;
	pe->sig_mem = base + sig_off;
	pe->sig_len = sig_len;
	for (unsigned s = 0; s < RF_SUBSTREAMS_MAX; s++)
		pe->sub[s].want = pe->sub[s].sub = RF_PEER_NONE;
	pe->state = RF_PEER_JOINING;
	pe->level = RF_LEVEL_UNKNOWN;
	pe->home_origin = true;
	pe->slot[RF_PEER_HOME].known = RF_PEER_NONE;
	pe->slot[RF_PEER_HOME].addr = p.seed;
	return pe;
}

/* ---- output ---- */

bool rf_peer_send(struct rf_peer *pe, struct rf_peer_outbox *out,
		  const struct rf_addr *dst, struct rf_msg *m)
{
	struct rf_peer_out *o;
	int n;

	if (!out || out->count >= RF_PEER_OUT_MAX) {
		pe->stats.out_overflow++;
		return false;
	}
	o = &out->out[out->count];
	m->stream_id = pe->p.stream_id;
	/* we speak as a child here: a node that is both our parent and our
	 * child must not take these for its parent's */
	if (m->type == RF_MSG_KEEPALIVE || m->type == RF_MSG_BYE)
		m->flags |= RF_FLAG_FROM_CHILD;
	n = rf_msg_encode(m, o->buf, sizeof(o->buf));
	if (n < 0)
		return false;
	o->dst = *dst;
	o->len = (uint16_t)n;
	out->count++;
	return true;
}

/* HELLO or JOIN, whichever the slot's handshake is at. The token goes to
 * the seed we join (it is a credential, not for peers); RELAY marks a JOIN
 * to anyone but the configured seed. */
void rf_peer_send_handshake(struct rf_peer *pe, int sl, uint64_t now,
			    struct rf_peer_outbox *out)
{
	struct rf_peer_slot *st = &pe->slot[sl];
	struct rf_msg m;

	memset(&m, 0, sizeof(m));
	if (st->state == RF_SLOT_HELLO) {
		m.type = RF_MSG_HELLO;
		m.hello.peer_id = pe->p.peer_id;
	} else {
		m.type = RF_MSG_JOIN;
		m.join.peer_id = pe->p.peer_id;
		memcpy(m.join.cookie, st->cookie, RF_COOKIE_LEN);
		m.join.upload_kbps = pe->p.upload_kbps;
		if (sl == RF_PEER_HOME && pe->has_token) {
			m.flags |= RF_FLAG_JOIN_TOKEN;
			m.join.token = pe->token;
		}
		if (!(sl == RF_PEER_HOME && pe->home_origin))
			m.flags |= RF_FLAG_JOIN_RELAY;
	}
	if (rf_peer_send(pe, out, &st->addr, &m)) {
		st->hs_tx_ms = now;
		st->hs_due = false;
	}
}

void rf_peer_start(struct rf_peer *pe, uint64_t now_ms, struct rf_peer_outbox *out)
{
	struct rf_peer_slot *st = &pe->slot[RF_PEER_HOME];

	if (pe->state != RF_PEER_JOINING || st->state != RF_SLOT_FREE)
		return;
	st->state = RF_SLOT_HELLO;
	st->hs_start_ms = now_ms;
	rf_peer_send_handshake(pe, RF_PEER_HOME, now_ms, out);
}

/* ---- the buffer ---- */

uint32_t rf_peer_rate(const struct rf_peer *pe)
{
	return pe->w.chunk_rate_milli ? pe->w.chunk_rate_milli : RF_PEER_RATE_FALLBACK;
}

static struct rf_peer_meta *rf_meta(const struct rf_peer *pe, uint64_t seq)
{
	return &pe->meta[seq & (pe->slots - 1)];
}

static struct rf_peer_pend *rf_pend(const struct rf_peer *pe, uint64_t seq)
{
	return (struct rf_peer_pend *)&pe->pend[seq % RF_PEER_PENDING];
}

static bool rf_peer_pending(const struct rf_peer *pe, uint64_t seq)
{
	const struct rf_peer_pend *e = rf_pend(pe, seq);

	return e->used && e->seq == seq;
}

/* Held: verified (in the store), or waiting for its signature. */
bool rf_peer_held(const struct rf_peer *pe, uint64_t seq)
{
	return (pe->store && rf_chunk_store_get(pe->store, seq)) ||
	       rf_peer_pending(pe, seq);
}

/* seq (and every unseen one before it) is seen now: that fixes its
 * deadline and starts its repair clock. */
static void rf_peer_note_seen(struct rf_peer *pe, uint64_t seq, uint64_t now)
{
	uint64_t x = pe->seen_next;

	if (!rf_seq_ge(seq, x))
		return;
	if (seq - x >= pe->slots)
		x = seq - pe->slots + 1;
	for (;; x++) {
		struct rf_peer_meta *mt = rf_meta(pe, x);

		mt->seq = x;
		mt->seen_ms = now;
		mt->asked_ms = 0;
		mt->asks = mt->seed_asks = 0;
		if (x == seq)
			break;
	}
	pe->seen_next = seq + 1;
}

/* How far an unverified chunk may move the seen edge: two groups past
 * what is verified, within the buffer. Beyond that a forged sequence
 * could pull every deadline forward, so it counts once verified. */
static bool rf_peer_trusted_edge(const struct rf_peer *pe, uint64_t seq)
{
	uint64_t base = pe->ver_next;
	uint64_t lim;

	if (!rf_seq_ge(base, pe->play_seq))
		base = pe->play_seq;
	lim = base + 2u * pe->w.group_size;
	if (lim - pe->play_seq > pe->slots)
		lim = pe->play_seq + pe->slots;
	return !rf_seq_ge(seq, lim);
}

/*
 * A verified chunk: into the store. e is its pending entry when it waited
 * for its signature (NULL when it comes straight from a datagram). A
 * chunk a whole buffer ahead of the playback point drags the point with
 * it (what it passes could not be held anyway).
 */
static void rf_peer_accept(struct rf_peer *pe, uint64_t seq, uint8_t flags,
			   const uint8_t *payload, uint16_t len, uint64_t now,
			   struct rf_peer_pend *e)
{
	if (rf_seq_ge(seq, pe->play_seq) && seq - pe->play_seq >= pe->slots) {
		uint64_t n = seq - pe->slots + 1 - pe->play_seq;

		pe->stats.skipped += n;
		pe->play_seq += n;
		if (!rf_seq_ge(pe->seen_next, pe->play_seq))
			pe->seen_next = pe->play_seq;
	}
	rf_peer_note_seen(pe, seq, now);
	if (rf_seq_ge(seq, pe->ver_next))
		pe->ver_next = seq + 1;
	pe->stats.verified++;
	if (flags & RF_FLAG_DATA_REPAIR)
		pe->stats.repaired++;
	if (!rf_seq_ge(seq, pe->play_seq))
		pe->stats.late++; /* skipped already; kept for relaying */
	rf_chunk_store_insert(pe->store, seq, payload, len,
			      flags & (RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT));
	if (e)
		e->used = false;
}

/* A parent or the seed sent something forged; the seed is never dropped
 * (there is no one else), the chunk or signature just goes. */
static void rf_peer_blame(struct rf_peer *pe, const struct rf_addr *src, uint64_t now,
			  struct rf_peer_outbox *out)
{
	int sl = rf_peer_slot_find(pe, src), k;

	if (sl >= 0) {
		rf_peer_drop_bad(pe, sl, now, out);
		return;
	}
	k = rf_peer_known_find(pe, src);
	if (k >= 0)
		pe->known[k].bad = true;
}

static void rf_peer_on_data(struct rf_peer *pe, int sl, const struct rf_msg *m,
			    uint64_t now, struct rf_peer_outbox *out)
{
	const struct rf_data *d = &m->data;
	struct rf_peer_sub *u;
	struct rf_peer_meta *mt;
	struct rf_peer_pend *e;

	if (d->substream >= pe->k || d->seq % pe->k != d->substream) {
		pe->stats.drops[RF_DROP_BAD_FIELD]++;
		return;
	}
	pe->stats.received++;
	pe->slot[sl].last_data_ms = now;
	if (sl == RF_PEER_HOME) {
		pe->stats.bytes_from_seed += d->len;
		if (m->flags & RF_FLAG_DATA_REPAIR)
			pe->stats.repair_bytes_from_seed += d->len;
	} else {
		pe->stats.bytes_from_peers += d->len;
	}
	u = &pe->sub[d->substream];
	if (u->sub == sl && !(m->flags & RF_FLAG_DATA_REPAIR)) {
		u->last_rx_ms = now;
		u->win_count++;
		/* lateness: behind the first sight of the same seq (another
		 * substream's later chunk), on live chunks, not catch-up */
		mt = rf_meta(pe, d->seq);
		if (mt->seq == d->seq && rf_seq_ge(d->seq, u->live_from))
			u->late_ms = (uint32_t)((7ull * u->late_ms + (now - mt->seen_ms)) / 8);
	}
	if (!rf_chunk_store_in_window(pe->store, d->seq) &&
	    !rf_seq_ge(d->seq, rf_chunk_store_oldest(pe->store))) {
		pe->stats.late++; /* behind everything we hold */
		return;
	}
	if (rf_peer_held(pe, d->seq)) {
		pe->stats.duplicates++;
		return;
	}
	switch (rf_verifier_check(&pe->ver, d->seq, m->flags, d->payload, d->len)) {
	case RF_VERIFY_OK:
		rf_peer_accept(pe, d->seq, m->flags, d->payload, d->len, now, NULL);
		break;
	case RF_VERIFY_BAD:
		pe->stats.bad_chunks++;
		pe->stats.drops[RF_DROP_BAD_HASH]++;
		rf_peer_blame(pe, &pe->slot[sl].addr, now, out);
		break;
	case RF_VERIFY_PENDING:
		if (rf_peer_trusted_edge(pe, d->seq))
			rf_peer_note_seen(pe, d->seq, now);
		e = rf_pend(pe, d->seq);
		e->used = true;
		e->seq = d->seq;
		e->flags = m->flags;
		e->len = d->len;
		e->src = pe->slot[sl].addr;
		memcpy(e->payload, d->payload, d->len);
		break;
	}
}

/* A SIGNATURE: verified once (the copies every substream carries are
 * recognised by their hashes), kept in the ring for our children, then
 * the chunks of its group that waited are checked. */
static void rf_peer_on_signature(struct rf_peer *pe, int sl, const struct rf_msg *m,
				 const uint8_t *pkt, uint64_t now,
				 struct rf_peer_outbox *out)
{
	const struct rf_signature *s = &m->signature;
	const struct rf_verify_group *g =
		&pe->ver.group[(s->first_seq / pe->w.group_size) % RF_VERIFY_GROUPS];
	enum rf_drop why;

	if (g->valid && g->first == s->first_seq && g->count == s->count &&
	    memcmp(g->hashes, s->hashes, (size_t)s->count * RF_HASH_LEN) == 0)
		return;
	why = rf_verifier_add(&pe->ver, s);
	if (why == RF_DROP_BAD_SIGNATURE) {
		pe->stats.bad_signatures++;
		pe->stats.drops[why]++;
		rf_peer_blame(pe, &pe->slot[sl].addr, now, out);
		return;
	}
	if (why != RF_DROP_NONE) {
		pe->stats.drops[why]++;
		return;
	}
	rf_sig_ring_put(pe->sigs, s->first_seq, pkt,
			(uint16_t)(RF_HDR_LEN + rf_get16(pkt + RF_OFF_LENGTH)));
	for (unsigned i = 0; i < s->count; i++) {
		uint64_t seq = s->first_seq + i;
		struct rf_peer_pend *e = rf_pend(pe, seq);

		if (!e->used || e->seq != seq)
			continue;
		switch (rf_verifier_check(&pe->ver, seq, e->flags, e->payload, e->len)) {
		case RF_VERIFY_OK:
			rf_peer_accept(pe, seq, e->flags, e->payload, e->len, now, e);
			break;
		case RF_VERIFY_BAD:
			e->used = false;
			pe->stats.bad_chunks++;
			pe->stats.drops[RF_DROP_BAD_HASH]++;
			rf_peer_blame(pe, &e->src, now, out);
			break;
		case RF_VERIFY_PENDING:
			break; /* outside a short first group: never signed */
		}
	}
}

/* ---- session messages ---- */

static void rf_peer_on_cookie(struct rf_peer *pe, int sl, const struct rf_msg *m)
{
	struct rf_peer_slot *st = &pe->slot[sl];

	if (m->cookie.peer_id != pe->p.peer_id) {
		pe->stats.drops[RF_DROP_BAD_FIELD]++;
		return;
	}
	if (st->state != RF_SLOT_HELLO && st->state != RF_SLOT_JOIN)
		return; /* a late copy */
	memcpy(st->cookie, m->cookie.cookie, RF_COOKIE_LEN);
	if (st->state == RF_SLOT_HELLO) {
		st->state = RF_SLOT_JOIN;
		st->hs_due = true;
	}
}

/* The stream as the seed describes it. The playback point starts at the
 * newest RAP (the player starts clean) or, without one, the live edge. */
static void rf_peer_welcomed(struct rf_peer *pe, const struct rf_welcome *w, uint64_t now)
{
	uint64_t start = w->live_edge;
	uint32_t groups = 2;

	if (w->rap_count && rf_seq_ge(w->live_edge, w->raps[0]))
		start = w->raps[0];
	pe->w = *w;
	pe->k = w->substreams;
	rf_verifier_init(&pe->ver, pe->p.stream_id, w->pubkey, w->group_size);
	while (groups < pe->slots / w->group_size)
		groups <<= 1;
	pe->sigs = rf_sig_ring_init(pe->sig_mem, pe->sig_len, groups, w->group_size,
				    pe->p.stream_id, NULL);
	pe->store = rf_chunk_store_init(pe->store_mem, pe->store_len, pe->slots,
					RF_CHUNK_MAX, start);
	pe->play_seq = pe->seen_next = pe->ver_next = start;
	pe->welcomed = true;
	pe->state = RF_PEER_RECEIVING;
	pe->stats.joined_ms = now;
	pe->welcome_ms = pe->quality_ms = pe->rebalance_ms = pe->window_ms = now;
	pe->window_seen = start;
}

static bool rf_welcome_same_stream(const struct rf_peer *pe, const struct rf_welcome *w)
{
	return memcmp(w->pubkey, pe->w.pubkey, RF_PUBKEY_LEN) == 0 &&
	       w->substreams == pe->w.substreams && w->group_size == pe->w.group_size;
}

static void rf_peer_on_welcome(struct rf_peer *pe, int sl, const struct rf_msg *m,
			       uint64_t now, struct rf_peer_outbox *out)
{
	struct rf_peer_slot *st = &pe->slot[sl];
	const struct rf_welcome *w = &m->welcome;

	if (st->state != RF_SLOT_HELLO && st->state != RF_SLOT_JOIN)
		return; /* a late copy, or not asked for */
	if (rf_stream_id(w->pubkey) != pe->p.stream_id ||
	    (pe->welcomed && !rf_welcome_same_stream(pe, w))) {
		pe->stats.drops[RF_DROP_BAD_FIELD]++;
		if (sl != RF_PEER_HOME)
			rf_peer_drop_bad(pe, sl, now, out);
		return;
	}
	if (!pe->welcomed) {
		if (sl != RF_PEER_HOME) {
			pe->stats.drops[RF_DROP_NO_SESSION]++;
			return;
		}
		rf_peer_welcomed(pe, w, now);
	}
	st->state = RF_SLOT_READY;
	st->keepalive_ms = w->keepalive_ms ? w->keepalive_ms : 1000;
	st->ka_tx_ms = now;
	st->last_data_ms = now;
}

static void rf_peer_on_candidates(struct rf_peer *pe, int sl, const struct rf_msg *m,
				  uint64_t now)
{
	for (unsigned i = 0; i < m->candidates.count; i++)
		rf_peer_known_add(pe, &m->candidates.entry[i], now);
	if (!pe->welcomed)
		return;
	if (!pe->assigned && sl == RF_PEER_HOME)
		rf_peer_assign_all(pe, now);
	else
		rf_peer_rebalance(pe, now);
}

/* REDIRECT ends the session with its sender and names other sources. */
static void rf_peer_on_redirect(struct rf_peer *pe, int sl, const struct rf_msg *m,
				uint64_t now)
{
	for (unsigned i = 0; i < m->candidates.count; i++)
		if (!rf_addr_equal(&m->candidates.entry[i].addr, &pe->slot[sl].addr))
			rf_peer_known_add(pe, &m->candidates.entry[i], now);
	if (sl == RF_PEER_HOME && !pe->welcomed) {
		rf_peer_home_next(pe, &m->candidates, now);
		return;
	}
	if (rf_peer_slot_subs(pe, sl))
		pe->stats.parent_switches++;
	rf_peer_slot_lost(pe, sl, now);
}

static void rf_peer_on_bye(struct rf_peer *pe, int sl, const struct rf_msg *m, uint64_t now)
{
	struct rf_peer_slot *st = &pe->slot[sl];

	if (sl == RF_PEER_HOME && m->bye.reason == RF_REASON_DENIED) {
		/* not allowed on this stream: stop asking */
		pe->state = RF_PEER_REFUSED;
		for (int i = 0; i < RF_PEER_SLOTS; i++)
			pe->slot[i].state = RF_SLOT_FREE;
		return;
	}
	if (sl == RF_PEER_HOME && !pe->welcomed) {
		if (!pe->home_origin) {
			rf_peer_home_next(pe, NULL, now);
		} else {
			st->state = RF_SLOT_HELLO;
			st->hs_start_ms = st->hs_tx_ms = now; /* retry in RF_PEER_RETRY_MS */
		}
		return;
	}
	if (rf_peer_slot_subs(pe, sl))
		pe->stats.parent_switches++;
	rf_peer_slot_lost(pe, sl, now);
}

bool rf_peer_input(struct rf_peer *pe, uint64_t now_ms, const struct rf_addr *src,
		   const uint8_t *pkt, size_t len, struct rf_peer_outbox *out)
{
	struct rf_msg m;
	enum rf_drop why;
	uint64_t dropped;
	int sl;

	if (!pkt || !src) {
		pe->stats.drops[RF_DROP_SHORT]++;
		return true;
	}
	why = rf_msg_decode(pkt, len, &m);
	if (why != RF_DROP_NONE) {
		pe->stats.drops[why]++;
		return true;
	}
	if (m.stream_id != pe->p.stream_id) {
		pe->stats.drops[RF_DROP_UNKNOWN_STREAM]++;
		return true;
	}
	switch (m.type) {
	case RF_MSG_HELLO:
	case RF_MSG_JOIN:
	case RF_MSG_SUBSCRIBE:
	case RF_MSG_REPAIR:
	case RF_MSG_QUALITY:
	case RF_MSG_BUFFERMAP:
		return false; /* for the relay side, even from a parent */
	case RF_MSG_UNSUBSCRIBE:
		if (!(m.flags & RF_FLAG_UNSUB_SHED))
			return false; /* a child's */
		break;
	case RF_MSG_KEEPALIVE:
	case RF_MSG_BYE:
		if (m.flags & RF_FLAG_FROM_CHILD)
			return false; /* a child's, even from a parent */
		break;
	}
	sl = rf_peer_slot_find(pe, src);
	if (sl < 0) {
		if (m.type == RF_MSG_BYE || m.type == RF_MSG_KEEPALIVE)
			return false; /* a child's that did not say so */
		pe->stats.drops[RF_DROP_NO_SESSION]++;
		return true;
	}
	if (pe->state == RF_PEER_REFUSED)
		return true;
	if (!pe->welcomed && (m.type == RF_MSG_DATA || m.type == RF_MSG_SIGNATURE)) {
		pe->stats.drops[RF_DROP_NO_SESSION]++;
		return true;
	}
	dropped = pe->stats.parents_dropped;
	switch (m.type) {
	case RF_MSG_COOKIE:
		rf_peer_on_cookie(pe, sl, &m);
		break;
	case RF_MSG_WELCOME:
		rf_peer_on_welcome(pe, sl, &m, now_ms, out);
		break;
	case RF_MSG_CANDIDATES:
		rf_peer_on_candidates(pe, sl, &m, now_ms);
		break;
	case RF_MSG_REDIRECT:
		rf_peer_on_redirect(pe, sl, &m, now_ms);
		break;
	case RF_MSG_DATA:
		rf_peer_on_data(pe, sl, &m, now_ms, out);
		break;
	case RF_MSG_SIGNATURE:
		rf_peer_on_signature(pe, sl, &m, pkt, now_ms, out);
		break;
	case RF_MSG_KEEPALIVE:
		/* the echo of one of ours: a parent never sends its own, so
		 * answering would only bounce a late echo back and forth */
		break;
	case RF_MSG_BYE:
		rf_peer_on_bye(pe, sl, &m, now_ms);
		break;
	case RF_MSG_UNSUBSCRIBE: /* SHED: a parent over its budget */
		if (pe->assigned)
			rf_peer_shed(pe, sl, m.subscribe.substreams, now_ms);
		break;
	}
	/* the data path changes parents only by dropping a bad one */
	if (pe->state != RF_PEER_REFUSED &&
	    ((m.type != RF_MSG_DATA && m.type != RF_MSG_SIGNATURE) ||
	     pe->stats.parents_dropped != dropped))
		rf_peer_reconcile(pe, now_ms, out);
	return true;
}

/* ---- timers ---- */

static void rf_peer_keepalives(struct rf_peer *pe, uint64_t now, struct rf_peer_outbox *out)
{
	struct rf_msg m;

	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		struct rf_peer_slot *st = &pe->slot[sl];

		if (st->state != RF_SLOT_READY || now - st->ka_tx_ms < st->keepalive_ms)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = RF_MSG_KEEPALIVE;
		m.keepalive.stamp = (now << 5 | (uint64_t)sl) ^ pe->p.peer_id;
		if (!rf_peer_send(pe, out, &st->addr, &m))
			continue;
		st->ka_tx_ms = now;
	}
}

struct rf_repair_batch {
	bool open;
	uint64_t base, mask;
};

static void rf_repair_flush(struct rf_peer *pe, int sl, struct rf_repair_batch *b,
			    struct rf_peer_outbox *out)
{
	struct rf_msg m;

	if (!b->open)
		return;
	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_REPAIR;
	m.repair.base_seq = b->base;
	m.repair.mask = b->mask;
	if (rf_peer_send(pe, out, &pe->slot[sl].addr, &m))
		pe->stats.repairs_asked += (uint64_t)__builtin_popcountll(b->mask);
	b->open = false;
}

/* A neighbour likely to hold seq: a welcomed peer parent serving other
 * substreams (it receives the whole stream's recent chunks in its own
 * buffer). Spread over them by 64-seq block, so one REPAIR covers many;
 * each new ask for the same hole goes to the next one. */
static int rf_repair_neighbour(const struct rf_peer *pe, const uint64_t *subs,
			       unsigned s, uint64_t seq, unsigned asks)
{
	int cand[RF_PEER_SLOTS], n = 0;

	for (int sl = 1; sl < RF_PEER_SLOTS; sl++)
		if (pe->slot[sl].state == RF_SLOT_READY && subs[sl] &&
		    !((subs[sl] >> s) & 1))
			cand[n++] = sl;
	return n ? cand[(seq / 64 + asks) % (uint64_t)n] : RF_PEER_NONE;
}

/* How long a hole waits before it is asked for: repair_after_ms, but at
 * least two signature groups, since relays forward a group only once it is
 * signed and so deliver in bursts a group apart. */
static uint64_t rf_peer_repair_wait(const struct rf_peer *pe)
{
	uint64_t groups = 2ull * pe->w.group_size * 1000000 / rf_peer_rate(pe);

	return groups > pe->p.repair_after_ms ? groups : pe->p.repair_after_ms;
}

/* When a hole of u's substream may go to the seed: from seed_from on,
 * later by the substream's usual lateness. A peer deep in the tree is
 * late by its depth, and the repair its ancestors get from the seed comes
 * down to it anyway; this keeps a whole subtree from asking at once. The
 * last RF_PEER_SEED_ASKS asks still fit before the deadline. */
static uint64_t rf_seed_ask_from(const struct rf_peer *pe, const struct rf_peer_sub *u,
				 uint64_t seed_from)
{
	uint64_t t = seed_from + (u->sub >= 0 ? u->late_ms : 0);
	uint64_t last = (uint64_t)RF_PEER_SEED_ASKS * pe->p.repair_after_ms;
	uint64_t cap = pe->p.delay_ms > last ? pe->p.delay_ms - last : 0;

	return t < cap ? t : cap > seed_from ? cap : seed_from;
}

/*
 * Holes: sequences between the playback point and the seen edge that are
 * not held. After the repair wait ask a neighbour, then every
 * repair_after_ms the next one; the seed only once the hole is 3/5 of the
 * playback delay old (and at least repair_after_ms after the first ask),
 * since a substream that comes through a deeper tree is late, not lost,
 * and the seed is the last resort. The seed is asked every
 * repair_after_ms, RF_PEER_SEED_ASKS times in all, while the hole is
 * still ahead of playback (a lost answer is not the end). A
 * substream whose parent was subscribed less than the wait ago gets that
 * long for its catch-up first.
 */
static void rf_peer_repairs(struct rf_peer *pe, uint64_t now, struct rf_peer_outbox *out)
{
	uint64_t wait = rf_peer_repair_wait(pe);
	uint64_t seed_from = pe->p.delay_ms * 3 / 5;
	struct rf_repair_batch batch[RF_PEER_SLOTS];
	uint64_t subs[RF_PEER_SLOTS];
	uint64_t lo = pe->play_seq, hi = pe->seen_next;
	bool home_ready = pe->slot[RF_PEER_HOME].state == RF_SLOT_READY;

	if (seed_from < wait + pe->p.repair_after_ms)
		seed_from = wait + pe->p.repair_after_ms;
	memset(batch, 0, sizeof(batch));
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++)
		subs[sl] = rf_peer_slot_subs(pe, sl);
	if (hi - lo > pe->slots)
		lo = hi - pe->slots;
	for (uint64_t seq = lo; seq != hi; seq++) {
		struct rf_peer_meta *mt = rf_meta(pe, seq);
		unsigned s = (unsigned)(seq % pe->k);
		const struct rf_peer_sub *u = &pe->sub[s];
		struct rf_repair_batch *b;
		int dst;

		if (mt->seq != seq || mt->seed_asks >= RF_PEER_SEED_ASKS ||
		    rf_peer_held(pe, seq))
			continue;
		if (!mt->asks && !mt->seed_asks) {
			if (now - mt->seen_ms < wait)
				continue;
			if (u->sub >= 0 && u->sub == u->want &&
			    now - u->sub_ms < wait)
				continue;
		} else if (now - mt->asked_ms < pe->p.repair_after_ms) {
			continue;
		}
		if (home_ready && now - mt->seen_ms >= rf_seed_ask_from(pe, u, seed_from)) {
			dst = RF_PEER_HOME;
			mt->seed_asks++;
		} else {
			dst = rf_repair_neighbour(pe, subs, s, seq, mt->asks);
			if (dst < 0)
				continue; /* the seed's turn comes */
			if (mt->asks < UINT8_MAX)
				mt->asks++;
		}
		b = &batch[dst];
		if (b->open && seq - b->base >= 64)
			rf_repair_flush(pe, dst, b, out);
		if (!b->open) {
			b->open = true;
			b->base = seq;
			b->mask = 0;
		}
		b->mask |= UINT64_C(1) << (seq - b->base);
		mt->asked_ms = now;
	}
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++)
		rf_repair_flush(pe, sl, &batch[sl], out);
}

uint32_t rf_peer_continuity_ppm(const struct rf_peer *pe)
{
	uint64_t due = pe->stats.played + pe->stats.skipped;

	return due ? (uint32_t)(pe->stats.played * 1000000 / due) : 1000000;
}

static uint32_t rf_clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void rf_peer_set_relay(struct rf_peer *pe, uint32_t upload_kbps, unsigned children)
{
	pe->relay_kbps = upload_kbps;
	pe->relay_children = (uint8_t)(children > 255 ? 255 : children);
}

/* QUALITY: continuity since playback began; counts since the last report;
 * switches in total; the relay side's upload and children as the driver
 * last set them (the seed offers our spare upload to others from them). */
static void rf_peer_quality(struct rf_peer *pe, uint64_t now, struct rf_peer_outbox *out)
{
	struct rf_msg m;
	unsigned parents = 0;

	if (pe->slot[RF_PEER_HOME].state != RF_SLOT_READY ||
	    now - pe->quality_ms < RF_PEER_QUALITY_MS)
		return;
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++)
		parents += pe->slot[sl].state == RF_SLOT_READY && rf_peer_slot_subs(pe, sl);
	memset(&m, 0, sizeof(m));
	m.type = RF_MSG_QUALITY;
	m.quality.continuity_ppm = rf_peer_continuity_ppm(pe);
	m.quality.buffer_ms = rf_peer_buffer_ms(pe, now);
	m.quality.received = rf_clamp32(pe->stats.received - pe->reported.received);
	m.quality.skipped = rf_clamp32(pe->stats.skipped - pe->reported.skipped);
	m.quality.repaired = rf_clamp32(pe->stats.repaired - pe->reported.repaired);
	m.quality.parents = (uint8_t)parents;
	m.quality.switches = rf_clamp32(pe->stats.parent_switches);
	m.quality.upload_kbps = pe->relay_kbps;
	m.quality.children = pe->relay_children;
	m.quality.level = pe->level;
	if (!rf_peer_send(pe, out, &pe->slot[RF_PEER_HOME].addr, &m))
		return;
	pe->reported = pe->stats;
	pe->quality_ms = now;
}

void rf_peer_tick(struct rf_peer *pe, uint64_t now_ms, struct rf_peer_outbox *out)
{
	if (pe->state == RF_PEER_REFUSED)
		return;
	rf_peer_handshake_timers(pe, now_ms);
	if (pe->welcomed) {
		if (!pe->assigned && now_ms - pe->welcome_ms >= RF_PEER_SETTLE_MS)
			rf_peer_assign_all(pe, now_ms);
		if (pe->assigned) {
			rf_peer_health(pe, now_ms);
			if (now_ms - pe->rebalance_ms >= RF_PEER_REBALANCE_MS) {
				rf_peer_rebalance(pe, now_ms);
				pe->rebalance_ms = now_ms;
			}
		}
	}
	rf_peer_reconcile(pe, now_ms, out);
	rf_peer_level_update(pe);
	if (!pe->welcomed)
		return;
	rf_peer_keepalives(pe, now_ms, out);
	rf_peer_repairs(pe, now_ms, out);
	rf_peer_quality(pe, now_ms, out);
}

/* ---- playback ---- */

unsigned rf_peer_play(struct rf_peer *pe, uint64_t now_ms, rf_peer_play_fn play, void *ctx)
{
	unsigned n = 0;

	if (!pe->welcomed)
		return 0;
	while (pe->play_seq != pe->seen_next) {
		const struct rf_peer_meta *mt = rf_meta(pe, pe->play_seq);
		const struct rf_chunk *c;

		/* a meta slot reused by a newer seq means this one is long due */
		if (mt->seq == pe->play_seq && now_ms < mt->seen_ms + pe->p.delay_ms)
			break;
		c = rf_chunk_store_get(pe->store, pe->play_seq);
		if (c) {
			if (play)
				play(ctx, pe->play_seq, c->payload, c->len, c->flags);
			if (pe->stats.played++ == 0)
				pe->stats.first_play_ms = now_ms;
			n++;
		} else {
			pe->stats.skipped++;
		}
		pe->play_seq++;
	}
	return n;
}

uint32_t rf_peer_buffer_ms(const struct rf_peer *pe, uint64_t now_ms)
{
	uint64_t n = 0;

	(void)now_ms;
	if (!pe->welcomed)
		return 0;
	while (n < pe->slots && rf_chunk_store_get(pe->store, pe->play_seq + n))
		n++;
	return rf_clamp32(n * 1000000 / rf_peer_rate(pe));
}

/* ---- views ---- */

const struct rf_chunk_store *rf_peer_store(const struct rf_peer *pe)
{
	return pe->store;
}

const struct rf_sig_ring *rf_peer_sigs(const struct rf_peer *pe)
{
	return pe->sigs;
}

const struct rf_welcome *rf_peer_welcome(const struct rf_peer *pe)
{
	return pe->welcomed ? &pe->w : NULL;
}

enum rf_peer_state rf_peer_state(const struct rf_peer *pe)
{
	return pe->state;
}

const struct rf_peer_stats *rf_peer_stats(const struct rf_peer *pe)
{
	return &pe->stats;
}

unsigned rf_peer_parents(const struct rf_peer *pe, struct rf_peer_parent_view *v,
			 unsigned max)
{
	unsigned n = 0;

	for (int sl = 0; sl < RF_PEER_SLOTS && n < max; sl++) {
		const struct rf_peer_slot *st = &pe->slot[sl];
		struct rf_peer_parent_view *o = &v[n];

		if (st->state == RF_SLOT_FREE || st->state == RF_SLOT_WAIT)
			continue;
		memset(o, 0, sizeof(*o));
		o->addr = st->addr;
		o->is_seed = sl == RF_PEER_HOME;
		o->ready = st->state == RF_SLOT_READY;
		o->substreams = rf_peer_slot_subs(pe, sl);
		for (unsigned s = 0; s < pe->k; s++) {
			if (pe->sub[s].sub != sl)
				continue;
			o->rate_milli += pe->sub[s].rate_milli;
			if (pe->sub[s].late_ms > o->late_ms)
				o->late_ms = pe->sub[s].late_ms;
		}
		n++;
	}
	return n;
}
