/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The peer's parents: the candidates it knows, which parent serves each
 * substream, their health, and the SUBSCRIBE / UNSUBSCRIBE that follow.
 *
 * Each substream has a wanted parent (want) and the one it is subscribed
 * to (sub). Choices only change want; rf_peer_reconcile() turns the
 * difference into messages once the wanted parent has welcomed us, and
 * only then unsubscribes the old one (make-before-break: the old parent,
 * even a failing one, may still deliver meanwhile). A peer parent that
 * fails rests for RF_PEER_UNUSABLE_MS; one that sent forged data is never
 * used again. The seed (slot 0) is the last resort and is never rested.
 *
 * Levels keep the grid free of loops (a loop has no source: every peer in
 * it stalls). The seed is level 0, a peer one below its deepest parent,
 * and it reports its level in QUALITY; the seed's directory passes it on
 * in CANDIDATES. A peer with children takes substreams only from
 * candidates above it, which cannot be its descendants, so its level
 * never rises by its own choice; only once per RF_PEER_LEVEL_HOLD_MS may
 * it take one level with it (without that, peers all on the seed could
 * never move off it). A peer with no children (joining, or a leaf) has no
 * descendants and takes from anyone with a level. A relay also refuses a
 * child for what it takes from that child (two peers moving onto each
 * other at once), and never takes from its own child.
 */
#include <string.h>

#include "peer_int.h"

int rf_peer_slot_find(const struct rf_peer *pe, const struct rf_addr *a)
{
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++)
		if (pe->slot[sl].state != RF_SLOT_FREE &&
		    rf_addr_equal(&pe->slot[sl].addr, a))
			return sl;
	return RF_PEER_NONE;
}

int rf_peer_known_find(const struct rf_peer *pe, const struct rf_addr *a)
{
	for (int i = 0; i < RF_PEER_KNOWN_MAX; i++)
		if (pe->known[i].used && rf_addr_equal(&pe->known[i].addr, a))
			return i;
	return RF_PEER_NONE;
}

static bool rf_known_in_use(const struct rf_peer *pe, int i)
{
	for (int sl = 1; sl < RF_PEER_SLOTS; sl++)
		if (pe->slot[sl].state != RF_SLOT_FREE && pe->slot[sl].known == i)
			return true;
	return false;
}

/* Remember or refresh a candidate. A full table forgets the stalest entry
 * that is not a parent; bad entries stay so they are not re-learnt. */
int rf_peer_known_add(struct rf_peer *pe, const struct rf_candidate *c, uint64_t now)
{
	struct rf_peer_known *k;
	int i = rf_peer_known_find(pe, &c->addr), victim = RF_PEER_NONE;

	if (rf_addr_equal(&c->addr, &pe->p.seed))
		return RF_PEER_NONE; /* the seed is the last resort, not a candidate */
	if (i < 0) {
		for (i = 0; i < RF_PEER_KNOWN_MAX && pe->known[i].used; i++)
			;
		if (i == RF_PEER_KNOWN_MAX) {
			for (int j = 0; j < RF_PEER_KNOWN_MAX; j++) {
				if (pe->known[j].bad || rf_known_in_use(pe, j))
					continue;
				if (victim < 0 ||
				    pe->known[j].updated_ms < pe->known[victim].updated_ms)
					victim = j;
			}
			if (victim < 0)
				return RF_PEER_NONE;
			i = victim;
		}
		k = &pe->known[i];
		memset(k, 0, sizeof(*k));
		k->used = true;
		k->addr = c->addr;
	}
	k = &pe->known[i];
	k->substreams = c->substreams;
	k->spare_kbps = c->spare_kbps;
	k->level = c->level;
	k->updated_ms = now;
	return i;
}

void rf_peer_known_rest(struct rf_peer *pe, const struct rf_addr *a, uint64_t now)
{
	int i = rf_peer_known_find(pe, a);

	if (i >= 0)
		pe->known[i].unusable_until = now + RF_PEER_UNUSABLE_MS;
}

uint64_t rf_peer_slot_subs(const struct rf_peer *pe, int sl)
{
	uint64_t m = 0;

	for (unsigned s = 0; s < pe->k; s++)
		if (pe->sub[s].sub == sl)
			m |= UINT64_C(1) << s;
	return m;
}

static unsigned rf_slot_load(const struct rf_peer *pe, int sl)
{
	unsigned n = 0;

	for (unsigned s = 0; s < pe->k; s++)
		n += pe->sub[s].want == sl;
	return n;
}

static bool rf_slot_referenced(const struct rf_peer *pe, int sl)
{
	for (unsigned s = 0; s < pe->k; s++)
		if (pe->sub[s].want == sl || pe->sub[s].sub == sl)
			return true;
	return false;
}

/* Substreams a candidate can take: its spare upload over one substream's
 * bitrate (WELCOME's chunk size and rate over K). */
static uint32_t rf_known_capacity(const struct rf_peer *pe, const struct rf_peer_known *k)
{
	uint64_t per_sub = (uint64_t)rf_peer_rate(pe) * pe->w.chunk_size * 8 /
			   1000000 / (pe->k ? pe->k : 1);

	if (per_sub == 0)
		per_sub = 1;
	return (uint32_t)(k->spare_kbps / per_sub);
}

static int rf_known_slot(const struct rf_peer *pe, int i)
{
	for (int sl = 1; sl < RF_PEER_SLOTS; sl++)
		if (pe->slot[sl].state != RF_SLOT_FREE && pe->slot[sl].known == i)
			return sl;
	return RF_PEER_NONE;
}

static int rf_free_slot(const struct rf_peer *pe)
{
	for (int sl = 1; sl < RF_PEER_SLOTS; sl++)
		if (pe->slot[sl].state == RF_SLOT_FREE)
			return sl;
	return RF_PEER_NONE;
}

/* Whether a candidate at level may be our parent without a loop: any
 * while we have no children (nothing below us), else one above us, or
 * one level with us once per hold. */
static bool rf_level_allows(const struct rf_peer *pe, uint8_t level, uint64_t now)
{
	if (level == RF_LEVEL_UNKNOWN)
		return false;
	if (pe->level == RF_LEVEL_UNKNOWN || level < pe->level || !pe->relay_children)
		return true;
	return level == pe->level &&
	       (now - pe->level_rise_ms >= RF_PEER_LEVEL_HOLD_MS || pe->level_rise_ms == now);
}

/*
 * The parent for substream s: among candidates that offer s, are not
 * resting, bad or our own children for s, sit above us (rf_level_allows),
 * have capacity left and a slot (existing or free; with
 * serving_only, one that has welcomed us), the least loaded, then the one
 * with most room; exclude is never chosen. Spreading by load puts each
 * substream on a different parent until RF_PEER_PARENTS_MAX are in use.
 * Opens the handshake with a new one. The seed when nothing fits.
 */
static int rf_peer_pick(struct rf_peer *pe, unsigned s, uint64_t now, int exclude,
			bool serving_only)
{
	int best = RF_PEER_NONE, best_sl = RF_PEER_NONE, free_sl = rf_free_slot(pe);
	unsigned best_load = 0, best_room = 0;

	for (int i = 0; i < RF_PEER_KNOWN_MAX; i++) {
		const struct rf_peer_known *k = &pe->known[i];
		unsigned load, cap;
		int sl;

		if (!k->used || k->bad || now < k->unusable_until ||
		    !((k->substreams >> s) & 1) || !rf_level_allows(pe, k->level, now) ||
		    rf_addr_equal(&k->addr, &pe->slot[RF_PEER_HOME].addr))
			continue;
		if (pe->p.relayed_to && ((pe->p.relayed_to(pe->p.relay_ctx, &k->addr) >> s) & 1))
			continue; /* our child for s */
		sl = rf_known_slot(pe, i);
		if (sl == exclude && sl != RF_PEER_NONE)
			continue;
		if (sl < 0 ? free_sl < 0 || serving_only : serving_only &&
							 pe->slot[sl].state != RF_SLOT_READY)
			continue;
		load = sl >= 0 ? rf_slot_load(pe, sl) : 0;
		cap = rf_known_capacity(pe, k);
		if (load >= cap)
			continue;
		if (best < 0 || load < best_load ||
		    (load == best_load && cap - load > best_room)) {
			best = i;
			best_sl = sl;
			best_load = load;
			best_room = cap - load;
		}
	}
	if (best < 0)
		return RF_PEER_HOME;
	if (pe->known[best].level >= pe->level)
		pe->level_rise_ms = now; /* our level will rise */
	if (best_sl < 0) {
		struct rf_peer_slot *st = &pe->slot[free_sl];

		memset(st, 0, sizeof(*st));
		st->state = RF_SLOT_HELLO;
		st->hs_due = true;
		st->hs_start_ms = now;
		st->known = (int16_t)best;
		st->addr = pe->known[best].addr;
		best_sl = free_sl;
	}
	return best_sl;
}

/* u lost its source (its parent failed, left or shed it): a new parent
 * has until heal_by_ms to welcome us, then one already serving us takes
 * it over (rf_peer_handshake_timers). */
static void rf_sub_orphaned(struct rf_peer_sub *u, uint64_t now)
{
	if (!u->heal_by_ms)
		u->heal_by_ms = now + RF_PEER_HEAL_MS;
}

/* A parent's level: the configured seed's is RF_LEVEL_SEED; any other's
 * is what the seed last said of it (a seed that redirected us: 0). */
static uint8_t rf_slot_level(const struct rf_peer *pe, int sl)
{
	const struct rf_peer_slot *st = &pe->slot[sl];
	int k = st->known;

	if (sl == RF_PEER_HOME && pe->home_origin)
		return RF_LEVEL_SEED;
	if (k < 0)
		k = rf_peer_known_find(pe, &st->addr);
	return k >= 0 ? pe->known[k].level : RF_LEVEL_SEED;
}

/* One below our deepest parent that serves us; kept while none does, so
 * losing parents never raises it. (A rise because the seed says a parent
 * went deeper does not start the hold: that kept peers on the seed, 200-peer
 * offload 0.971 -> 0.946.) */
void rf_peer_level_update(struct rf_peer *pe)
{
	int deepest = -1;

	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		if (pe->slot[sl].state == RF_SLOT_READY && rf_peer_slot_subs(pe, sl)) {
			int l = rf_slot_level(pe, sl);

			if (l > deepest)
				deepest = l;
		}
	}
	if (deepest >= 0)
		pe->level = (uint8_t)(deepest + 1 < RF_LEVEL_UNKNOWN ? deepest + 1
								   : RF_LEVEL_UNKNOWN - 1);
}

uint64_t rf_peer_fed_by(const struct rf_peer *pe, const struct rf_addr *a)
{
	int sl = rf_peer_slot_find(pe, a);
	uint64_t m = 0;

	for (unsigned s = 0; sl >= 0 && s < pe->k; s++)
		if (pe->sub[s].want == sl || pe->sub[s].sub == sl)
			m |= UINT64_C(1) << s;
	return m;
}

void rf_peer_assign_all(struct rf_peer *pe, uint64_t now)
{
	for (unsigned s = 0; s < pe->k; s++)
		pe->sub[s].want = (int8_t)rf_peer_pick(pe, s, now, RF_PEER_NONE, false);
	pe->assigned = true;
}

/* Move substreams off the seed where a peer can take them (offload; not
 * a switch: nothing failed). */
void rf_peer_rebalance(struct rf_peer *pe, uint64_t now)
{
	if (!pe->assigned)
		return;
	for (unsigned s = 0; s < pe->k; s++)
		if (pe->sub[s].want == RF_PEER_HOME)
			pe->sub[s].want = (int8_t)rf_peer_pick(pe, s, now, RF_PEER_HOME, false);
}

/* The session with sl is over (failed handshake, REDIRECT, BYE, bad
 * data): its substreams need another parent. */
void rf_peer_slot_lost(struct rf_peer *pe, int sl, uint64_t now)
{
	struct rf_peer_slot *st = &pe->slot[sl];

	for (unsigned s = 0; s < pe->k; s++) {
		if (pe->sub[s].sub != sl)
			continue;
		pe->sub[s].sub = RF_PEER_NONE;
		rf_sub_orphaned(&pe->sub[s], now);
	}
	if (sl == RF_PEER_HOME) {
		/* rejoin later; what only the seed could serve waits for it */
		st->state = RF_SLOT_WAIT;
		st->retry_ms = now + RF_PEER_REJOIN_MS;
		rf_peer_rebalance(pe, now);
		return;
	}
	rf_peer_known_rest(pe, &st->addr, now);
	for (unsigned s = 0; s < pe->k; s++)
		if (pe->sub[s].want == sl)
			pe->sub[s].want = (int8_t)rf_peer_pick(pe, s, now, sl, false);
	st->state = RF_SLOT_FREE;
}

/* sl no longer serves the substreams in mask (UNSUBSCRIBE SHED: they do
 * not fit its budget). Not a failure: it stays a parent for the rest but
 * is offered nothing more until the seed reports room on it again; the
 * seed shedding is asked again after a rebalance period. */
void rf_peer_shed(struct rf_peer *pe, int sl, uint64_t mask, uint64_t now)
{
	struct rf_peer_slot *st = &pe->slot[sl];

	if (sl == RF_PEER_HOME)
		pe->home_full_until = now + RF_PEER_REBALANCE_MS;
	else if (st->known >= 0)
		pe->known[st->known].spare_kbps = 0;
	for (unsigned s = 0; s < pe->k; s++) {
		struct rf_peer_sub *u = &pe->sub[s];

		if (!((mask >> s) & 1) || (u->sub != sl && u->want != sl))
			continue;
		if (u->sub == sl) {
			u->sub = RF_PEER_NONE;
			rf_sub_orphaned(u, now);
		}
		u->want = (int8_t)rf_peer_pick(pe, s, now, sl, false);
	}
}

/* sl sent a forged chunk or signature: unsubscribe, never again. */
void rf_peer_drop_bad(struct rf_peer *pe, int sl, uint64_t now,
		      struct rf_peer_outbox *out)
{
	struct rf_peer_slot *st = &pe->slot[sl];
	uint64_t subs = rf_peer_slot_subs(pe, sl);
	struct rf_msg m;

	if (sl == RF_PEER_HOME)
		return; /* the seed cannot be replaced; the chunk is dropped */
	if (st->state == RF_SLOT_READY) {
		memset(&m, 0, sizeof(m));
		if (subs) {
			m.type = RF_MSG_UNSUBSCRIBE;
			m.subscribe.substreams = subs;
			rf_peer_send(pe, out, &st->addr, &m);
		}
		memset(&m, 0, sizeof(m));
		m.type = RF_MSG_BYE;
		m.bye.reason = RF_REASON_BAD_DATA;
		rf_peer_send(pe, out, &st->addr, &m);
	}
	if (st->known >= 0)
		pe->known[st->known].bad = true;
	pe->stats.parents_dropped++;
	if (rf_slot_referenced(pe, sl))
		pe->stats.parent_switches++;
	rf_peer_slot_lost(pe, sl, now);
}

/* Substreams in mask failed on sl: choose again, elsewhere if possible;
 * the seed failing with nowhere else to go is subscribed afresh. */
static void rf_peer_switch(struct rf_peer *pe, int sl, uint64_t mask, uint64_t now)
{
	if (sl != RF_PEER_HOME)
		rf_peer_known_rest(pe, &pe->slot[sl].addr, now);
	for (unsigned s = 0; s < pe->k; s++) {
		if (!((mask >> s) & 1))
			continue;
		pe->sub[s].want = (int8_t)rf_peer_pick(pe, s, now, sl, false);
		if (pe->sub[s].want == sl)
			pe->sub[s].sub = RF_PEER_NONE;
		rf_sub_orphaned(&pe->sub[s], now);
	}
	pe->stats.parent_switches++;
}

/*
 * Per substream, on its current parent: silent longer than the timeout
 * (at least three of the substream's chunk intervals, so sparse
 * substreams are not mistaken for lost ones, and two signature groups: a
 * relaying parent forwards a group at once, when its signature has
 * verified it), or, over a window, fewer
 * than half the chunks the stream as a whole advanced by per substream.
 * Comparing with the stream's own advance rather than WELCOME's nominal
 * rate keeps VBR lulls from looking like failing parents.
 */
void rf_peer_health(struct rf_peer *pe, uint64_t now)
{
	uint64_t fail[RF_PEER_SLOTS] = { 0 };
	uint64_t timeout = pe->p.parent_timeout_ms;
	uint64_t spaced = 3ull * pe->k * 1000000 / rf_peer_rate(pe);
	uint64_t grouped = 2ull * pe->w.group_size * 1000000 / rf_peer_rate(pe);
	bool window_end = now - pe->window_ms >= RF_PEER_WINDOW_MS;
	uint64_t adv = pe->seen_next - pe->window_seen;
	uint64_t elapsed = now - pe->window_ms;

	if (spaced > timeout)
		timeout = spaced;
	if (grouped > timeout)
		timeout = grouped;
	for (unsigned s = 0; s < pe->k; s++) {
		struct rf_peer_sub *u = &pe->sub[s];
		uint64_t last;
		bool healthy;

		if (u->sub < 0) {
			if (window_end)
				u->win_count = 0;
			continue;
		}
		healthy = u->want == u->sub &&
			  pe->slot[(int)u->sub].state == RF_SLOT_READY;
		last = u->last_rx_ms > u->sub_ms ? u->last_rx_ms : u->sub_ms;
		/* a parent still sending other substreams is stalled upstream on
		 * this one, not gone: twice the patience */
		if (healthy && now - last > timeout &&
		    (now - pe->slot[(int)u->sub].last_data_ms >= timeout / 2 ||
		     now - last > 2 * timeout))
			fail[(int)u->sub] |= UINT64_C(1) << s;
		if (!window_end)
			continue;
		if (elapsed) {
			uint64_t r = (uint64_t)u->win_count * 1000000 / elapsed;

			u->rate_milli = u->rate_milli ? (uint32_t)((3ull * u->rate_milli + r) / 4)
						      : (uint32_t)r;
		}
		if (healthy && u->sub_ms <= pe->window_ms && adv >= 2ull * pe->k &&
		    (uint64_t)u->win_count * 2 * pe->k < adv)
			fail[(int)u->sub] |= UINT64_C(1) << s;
		u->win_count = 0;
	}
	if (window_end) {
		pe->window_ms = now;
		pe->window_seen = pe->seen_next;
	}
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		if (!fail[sl])
			continue;
		/* nothing from it at all for half the timeout: the parent is
		 * gone, not one substream; move all it serves at once */
		if (now - pe->slot[sl].last_data_ms >= timeout / 2)
			for (unsigned s = 0; s < pe->k; s++)
				if (pe->sub[s].sub == sl && pe->sub[s].want == sl)
					fail[sl] |= UINT64_C(1) << s;
		rf_peer_switch(pe, sl, fail[sl], now);
	}
}

/* After a REDIRECT or a silent target before WELCOME: the next place to
 * join. Candidates from the REDIRECT in order, then any usable known one,
 * then the configured seed (not at once: it may be the one redirecting). */
void rf_peer_home_next(struct rf_peer *pe, const struct rf_candidates *list,
		       uint64_t now)
{
	struct rf_peer_slot *st = &pe->slot[RF_PEER_HOME];
	const struct rf_addr *next = NULL;

	if (!pe->home_origin)
		rf_peer_known_rest(pe, &st->addr, now);
	for (unsigned i = 0; list && i < list->count && !next; i++) {
		int k = rf_peer_known_find(pe, &list->entry[i].addr);

		if (rf_addr_equal(&list->entry[i].addr, &st->addr))
			continue;
		if (rf_addr_equal(&list->entry[i].addr, &pe->p.seed) ||
		    (k >= 0 && !pe->known[k].bad && now >= pe->known[k].unusable_until))
			next = &list->entry[i].addr;
	}
	for (int k = 0; k < RF_PEER_KNOWN_MAX && !next; k++)
		if (pe->known[k].used && !pe->known[k].bad &&
		    now >= pe->known[k].unusable_until &&
		    !rf_addr_equal(&pe->known[k].addr, &st->addr))
			next = &pe->known[k].addr;
	st->state = RF_SLOT_HELLO;
	st->hs_start_ms = now;
	st->hs_tx_ms = now;
	st->hs_due = next != NULL;
	st->addr = next ? *next : pe->p.seed;
	pe->home_origin = rf_addr_equal(&st->addr, &pe->p.seed);
}

/* Handshake deadlines: a peer parent that has not welcomed us within
 * RF_PEER_HANDSHAKE_MS is given up; a redirected join target within
 * RF_PEER_TARGET_MS; the configured seed is tried for ever, starting over
 * from HELLO when a JOIN goes unanswered (its cookie may have expired).
 * A substream with no source waits on a new parent only until its
 * heal_by_ms, then goes to one that serves us already, or the seed. */
void rf_peer_handshake_timers(struct rf_peer *pe, uint64_t now)
{
	struct rf_peer_slot *home = &pe->slot[RF_PEER_HOME];

	if (home->state == RF_SLOT_WAIT && now >= home->retry_ms) {
		home->state = RF_SLOT_HELLO;
		home->hs_due = true;
		home->hs_start_ms = now;
	} else if ((home->state == RF_SLOT_HELLO || home->state == RF_SLOT_JOIN) &&
		   now - home->hs_start_ms >= RF_PEER_TARGET_MS) {
		if (!pe->welcomed && !pe->home_origin) {
			rf_peer_home_next(pe, NULL, now);
		} else if (home->state == RF_SLOT_JOIN) {
			home->state = RF_SLOT_HELLO;
			home->hs_due = true;
			home->hs_start_ms = now;
		}
	}
	for (int sl = 1; sl < RF_PEER_SLOTS; sl++) {
		struct rf_peer_slot *st = &pe->slot[sl];

		if ((st->state == RF_SLOT_HELLO || st->state == RF_SLOT_JOIN) &&
		    now - st->hs_start_ms >= RF_PEER_HANDSHAKE_MS)
			rf_peer_slot_lost(pe, sl, now);
	}
	for (unsigned s = 0; s < pe->k; s++) {
		struct rf_peer_sub *u = &pe->sub[s];

		if (!u->heal_by_ms || now < u->heal_by_ms)
			continue;
		u->heal_by_ms = 0;
		if (u->want <= RF_PEER_HOME || pe->slot[(int)u->want].state == RF_SLOT_READY)
			continue;
		/* silent when it mattered: not chosen again for a while (one
		 * that answered is only slower than our deadline) */
		if (pe->slot[(int)u->want].state == RF_SLOT_HELLO)
			rf_peer_known_rest(pe, &pe->slot[(int)u->want].addr, now);
		u->want = (int8_t)rf_peer_pick(pe, s, now, u->want, true);
	}
}

/* First sequence at or after the playback point that substreams in mask
 * still miss: where a new parent starts. The seen edge if none. */
static uint64_t rf_peer_start_for(const struct rf_peer *pe, uint64_t mask)
{
	uint64_t lo = pe->play_seq, hi = pe->seen_next;

	if (hi - lo > pe->slots)
		lo = hi - pe->slots;
	for (uint64_t seq = lo; seq != hi; seq++)
		if (((mask >> (seq % pe->k)) & 1) && !rf_peer_held(pe, seq))
			return seq;
	return hi;
}

/* Send what the state asks for: handshakes due, SUBSCRIBE to welcomed
 * parents for what they should serve, then UNSUBSCRIBE from the parents
 * those substreams leave, and end sessions nobody needs. */
void rf_peer_reconcile(struct rf_peer *pe, uint64_t now, struct rf_peer_outbox *out)
{
	uint64_t unsub[RF_PEER_SLOTS] = { 0 };
	struct rf_msg m;

	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		struct rf_peer_slot *st = &pe->slot[sl];

		if ((st->state == RF_SLOT_HELLO || st->state == RF_SLOT_JOIN) &&
		    (st->hs_due || now - st->hs_tx_ms >= RF_PEER_RETRY_MS))
			rf_peer_send_handshake(pe, sl, now, out);
	}
	if (!pe->assigned)
		return;
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		uint64_t mask = 0;

		if (pe->slot[sl].state != RF_SLOT_READY ||
		    (sl == RF_PEER_HOME && now < pe->home_full_until))
			continue;
		for (unsigned s = 0; s < pe->k; s++)
			if (pe->sub[s].want == sl && pe->sub[s].sub != sl)
				mask |= UINT64_C(1) << s;
		if (!mask)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = RF_MSG_SUBSCRIBE;
		m.subscribe.substreams = mask;
		m.subscribe.start_seq = rf_peer_start_for(pe, mask);
		if (!rf_peer_send(pe, out, &pe->slot[sl].addr, &m))
			continue; /* retried on the next call */
		/* mask has no bit at or past k (<= RF_SUBSTREAMS_MAX) */
		for (unsigned s = 0; s < pe->k && s < RF_SUBSTREAMS_MAX; s++) {
			struct rf_peer_sub *u = &pe->sub[s];

			if (!((mask >> s) & 1))
				continue;
			if (u->sub >= 0)
				unsub[(int)u->sub] |= UINT64_C(1) << s;
			u->sub = (int8_t)sl;
			u->heal_by_ms = 0;
			u->sub_ms = now;
			u->last_rx_ms = now;
			u->live_from = pe->seen_next;
			u->win_count = 0;
			u->late_ms = 0;
		}
	}
	for (int sl = 0; sl < RF_PEER_SLOTS; sl++) {
		if (!unsub[sl] || pe->slot[sl].state != RF_SLOT_READY)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = RF_MSG_UNSUBSCRIBE;
		m.subscribe.substreams = unsub[sl];
		rf_peer_send(pe, out, &pe->slot[sl].addr, &m);
	}
	for (int sl = 1; sl < RF_PEER_SLOTS; sl++) {
		struct rf_peer_slot *st = &pe->slot[sl];

		if (st->state == RF_SLOT_FREE || rf_slot_referenced(pe, sl))
			continue;
		if (st->state == RF_SLOT_READY) {
			memset(&m, 0, sizeof(m));
			m.type = RF_MSG_BYE;
			m.bye.reason = RF_REASON_NORMAL;
			rf_peer_send(pe, out, &st->addr, &m);
		}
		st->state = RF_SLOT_FREE;
	}
}
