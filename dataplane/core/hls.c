/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HLS playlist parsing (RFC 8216, the subset a live pull needs), URL
 * resolution and the segment tracker. The text comes from the network:
 * every length is checked, nothing relies on a NUL terminator.
 */
#include <errno.h>
#include <string.h>

#include "hls.h"

/* One playlist line: where it starts and its length without the line
 * terminator and trailing whitespace. */
struct rf_hls_line {
	const char *s;
	size_t n;
};

/* Cut the next line off [*p, end); false at the end of the text. */
static bool rf_hls_next_line(const char **p, const char *end,
			     struct rf_hls_line *l)
{
	const char *nl;

	if (*p == end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	l->s = *p;
	l->n = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	/* \r of \r\n, and whitespace writers leave before it */
	while (l->n && (l->s[l->n - 1] == '\r' || l->s[l->n - 1] == ' ' ||
			l->s[l->n - 1] == '\t'))
		l->n--;
	return true;
}

static bool rf_hls_is(const struct rf_hls_line *l, const char *word)
{
	size_t n = strlen(word);

	return l->n == n && memcmp(l->s, word, n) == 0;
}

/* Decimal digits only (no sign, no space), at most max. */
static int rf_hls_uint(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9 || x > (max - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* "<digits>[.<digits>]" seconds to ms, truncated; must fit in 32 bits. */
static int rf_hls_seconds(const char *s, size_t n, uint32_t *ms)
{
	const char *dot = memchr(s, '.', n);
	size_t whole = dot ? (size_t)(dot - s) : n, i;
	uint64_t sec, frac = 0, scale = 100;

	if (rf_hls_uint(s, whole, UINT32_MAX / 1000, &sec))
		return -EINVAL;
	for (i = whole + 1; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d > 9)
			return -EINVAL;
		frac += d * scale;
		scale /= 10;
	}
	if (sec * 1000 + frac > UINT32_MAX)
		return -EINVAL;
	*ms = (uint32_t)(sec * 1000 + frac);
	return 0;
}

/* BANDWIDTH=<n> out of an #EXT-X-STREAM-INF attribute list, where quoted
 * values (CODECS="a,b") may hold commas; 0 when absent. */
static int rf_hls_bandwidth(const char *s, size_t n, uint64_t *bw)
{
	size_t i = 0;

	*bw = 0;
	while (i < n) {
		size_t name, name_len, val;
		const char *q;

		while (i < n && s[i] == ' ')
			i++;
		name = i;
		while (i < n && s[i] != '=')
			i++;
		if (i == n)
			return -EINVAL;
		name_len = i - name;
		val = ++i;
		if (i < n && s[i] == '"') {
			q = memchr(s + i + 1, '"', n - i - 1);
			if (!q)
				return -EINVAL;
			i = (size_t)(q - s) + 1;
		} else {
			while (i < n && s[i] != ',')
				i++;
		}
		if (i < n && s[i] != ',')
			return -EINVAL;
		if (name_len == 9 && memcmp(s + name, "BANDWIDTH", 9) == 0 &&
		    rf_hls_uint(s + val, i - val, UINT64_MAX, bw))
			return -EINVAL;
		i++;
	}
	return 0;
}

/* Check a URI line and copy it to dst (NULL: check only). */
static int rf_hls_uri(const struct rf_hls_line *l, char *dst)
{
	size_t i;

	if (l->n >= RF_HLS_URI_MAX)
		return -E2BIG;
	for (i = 0; i < l->n; i++) {
		unsigned char c = (unsigned char)l->s[i];

		/* would split or smuggle into the HTTP request line */
		if (c <= ' ' || c == 0x7f)
			return -EINVAL;
	}
	if (dst) {
		memcpy(dst, l->s, l->n);
		dst[l->n] = '\0';
	}
	return 0;
}

/*
 * One pass over the text, storing segments skip .. skip + SEGMENTS_MAX - 1
 * and counting all of them in *total, so that a second pass with the right
 * skip keeps the newest.
 */
static int rf_hls_scan(const char *text, size_t len,
		       struct rf_hls_playlist *pl, uint64_t skip,
		       uint64_t *total)
{
	const char *p = text, *end = text + len;
	struct rf_hls_line l;
	uint64_t seq = 0, v, n = 0, bw = 0, best_bw = 0, k;
	uint32_t inf_ms = 0, longest = 0, target = 0;
	bool inf = false, disc = false, stream_inf = false;
	int err;

	pl->master = false;
	pl->variant_uri[0] = '\0';
	pl->endlist = false;
	pl->count = 0;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if (!rf_hls_next_line(&p, end, &l) || !rf_hls_is(&l, "#EXTM3U"))
		return -EINVAL;

	while (rf_hls_next_line(&p, end, &l)) {
		if (l.n == 0)
			continue;
		if (l.s[0] == '#') {
			const char *colon = memchr(l.s, ':', l.n);
			struct rf_hls_line tag = { l.s, colon ? (size_t)(colon - l.s) : l.n };
			const char *val = colon ? colon + 1 : l.s + l.n;
			size_t val_n = (size_t)(l.s + l.n - val);

			if (rf_hls_is(&tag, "#EXT-X-TARGETDURATION")) {
				if (rf_hls_uint(val, val_n, UINT32_MAX / 1000, &v))
					return -EINVAL;
				target = (uint32_t)v * 1000;
			} else if (rf_hls_is(&tag, "#EXT-X-MEDIA-SEQUENCE")) {
				if (rf_hls_uint(val, val_n, UINT64_MAX, &seq))
					return -EINVAL;
			} else if (rf_hls_is(&tag, "#EXTINF")) {
				const char *comma = memchr(val, ',', val_n);

				if (rf_hls_seconds(val, comma ? (size_t)(comma - val) : val_n,
						   &inf_ms))
					return -EINVAL;
				inf = true;
			} else if (rf_hls_is(&tag, "#EXT-X-DISCONTINUITY")) {
				disc = true;
			} else if (rf_hls_is(&tag, "#EXT-X-ENDLIST")) {
				pl->endlist = true;
			} else if (rf_hls_is(&tag, "#EXT-X-STREAM-INF")) {
				if (rf_hls_bandwidth(val, val_n, &bw))
					return -EINVAL;
				stream_inf = true;
			}
			continue;
		}
		if (stream_inf) {
			/* ties keep the first listed */
			bool better = !pl->master || bw > best_bw;

			err = rf_hls_uri(&l, better ? pl->variant_uri : NULL);
			if (err)
				return err;
			if (better)
				best_bw = bw;
			pl->master = true;
			stream_inf = false;
		} else if (inf) {
			bool keep = n >= skip && n - skip < RF_HLS_SEGMENTS_MAX;
			struct rf_hls_segment *s = keep ? &pl->seg[n - skip] : NULL;

			err = rf_hls_uri(&l, s ? s->uri : NULL);
			if (err)
				return err;
			if (s) {
				s->duration_ms = inf_ms;
				s->discontinuity = disc;
			}
			if (inf_ms > longest)
				longest = inf_ms;
			n++;
			inf = disc = false;
		}
		/* a URI line without #EXTINF is no segment: ignored */
	}
	if (inf || stream_inf || (pl->master && n))
		return -EINVAL;
	/* the tracker works with msn + 1: keep it representable */
	if (seq > UINT64_MAX - n)
		return -EINVAL;

	*total = n;
	pl->first_msn = seq + skip;
	pl->count = (unsigned)(n - skip < RF_HLS_SEGMENTS_MAX ? n - skip
							      : RF_HLS_SEGMENTS_MAX);
	for (k = 0; k < pl->count; k++)
		pl->seg[k].msn = pl->first_msn + k;
	pl->target_duration_ms = target ? target : longest;
	return 0;
}

int rf_hls_parse(const char *text, size_t len, struct rf_hls_playlist *pl)
{
	uint64_t total;
	int err = rf_hls_scan(text, len, pl, 0, &total);

	/* too many: a second pass skipping the oldest keeps the newest */
	if (err == 0 && total > RF_HLS_SEGMENTS_MAX)
		err = rf_hls_scan(text, len, pl, total - RF_HLS_SEGMENTS_MAX,
				  &total);
	return err;
}

static bool rf_hls_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of a leading "scheme:" (RFC 3986 3.1) followed by "//", else 0. */
static size_t rf_hls_scheme(const char *s)
{
	size_t i;

	if (!rf_hls_alpha(s[0]))
		return 0;
	for (i = 1; rf_hls_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '+' || s[i] == '-' || s[i] == '.'; i++)
		;
	return s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/' ? i + 1 : 0;
}

/* out = head[0..head_n) sep ref */
static int rf_hls_join(char *out, size_t cap, const char *head,
		       size_t head_n, const char *sep, const char *ref)
{
	size_t sep_n = strlen(sep), ref_n = strlen(ref);

	if (cap == 0 || head_n + sep_n + ref_n > cap - 1)
		return -ENAMETOOLONG;
	memcpy(out, head, head_n);
	memcpy(out + head_n, sep, sep_n);
	memcpy(out + head_n + sep_n, ref, ref_n + 1);
	return 0;
}

int rf_hls_resolve(const char *base, const char *ref, char *out, size_t cap)
{
	size_t scheme = rf_hls_scheme(base), auth = 0, path_end, dir;

	if (rf_hls_scheme(ref))
		return rf_hls_join(out, cap, "", 0, "", ref);
	if (ref[0] == '/' && ref[1] == '/')
		return rf_hls_join(out, cap, base, scheme, "", ref);
	if (scheme)
		auth = scheme + 2 + strcspn(base + scheme + 2, "/?#");
	if (ref[0] == '/')
		return rf_hls_join(out, cap, base, auth, "", ref);

	path_end = auth + strcspn(base + auth, "?#");
	dir = path_end;
	while (dir > auth && base[dir - 1] != '/')
		dir--;
	for (;;) {
		if (strncmp(ref, "./", 2) == 0) {
			ref += 2;
		} else if (strncmp(ref, "../", 3) == 0) {
			size_t up = dir > auth ? dir - 1 : dir;

			ref += 3;
			/* drop the last directory, never the leading '/' */
			while (up > auth && base[up - 1] != '/')
				up--;
			if (up > auth)
				dir = up;
		} else {
			break;
		}
	}
	/* "http://host" has an empty path: its directory is "/" */
	return rf_hls_join(out, cap, base, dir, dir == auth && scheme ? "/" : "",
			   ref);
}

void rf_hls_tracker_init(struct rf_hls_tracker *t, unsigned start_back)
{
	*t = (struct rf_hls_tracker){ .start_back = start_back };
}

enum rf_hls_verdict rf_hls_next(struct rf_hls_tracker *t,
				const struct rf_hls_playlist *pl,
				uint64_t now_ms,
				const struct rf_hls_segment **seg,
				bool *discont)
{
	uint64_t first = pl->first_msn, end = first + pl->count;
	uint64_t stale_ms = 3ull * pl->target_duration_ms;

	*seg = NULL;
	*discont = false;
	if (!t->started || end < t->next_msn) {
		/* first playlist, or a packager restart: go to the live edge */
		if (t->started) {
			t->resets++;
			t->discont = true;
		}
		t->started = true;
		t->next_msn = end - (t->start_back < pl->count ? t->start_back
							       : pl->count);
		t->end_msn = end;
		t->last_change_ms = now_ms;
	} else if (first > t->next_msn) {
		t->gaps += first - t->next_msn;
		t->next_msn = first;
		t->discont = true;
	}
	if (end > t->end_msn) {
		t->end_msn = end;
		t->last_change_ms = now_ms;
	}

	if (t->next_msn < end) {
		*seg = &pl->seg[t->next_msn - first];
		*discont = t->discont || (*seg)->discontinuity;
		return RF_HLS_FETCH;
	}
	if (pl->endlist)
		return RF_HLS_ENDED;
	if (now_ms >= t->last_change_ms && now_ms - t->last_change_ms >= stale_ms)
		return RF_HLS_STALE;
	return RF_HLS_WAIT;
}

/* Past seg; one at or before an earlier one changes nothing, so a late
 * call can never make a segment be fetched twice. */
static void rf_hls_advance(struct rf_hls_tracker *t,
			   const struct rf_hls_segment *seg, bool gap)
{
	if (seg->msn < t->next_msn)
		return;
	t->next_msn = seg->msn + 1;
	t->gaps += gap;
	t->discont = gap;
}

void rf_hls_tracker_done(struct rf_hls_tracker *t,
			 const struct rf_hls_segment *seg)
{
	rf_hls_advance(t, seg, false);
}

void rf_hls_tracker_skip(struct rf_hls_tracker *t,
			 const struct rf_hls_segment *seg)
{
	rf_hls_advance(t, seg, true);
}
