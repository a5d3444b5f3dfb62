/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: any text as an HLS playlist, then through the tracker
 * over a few refreshes with shifted numbering and increasing time; the
 * same bytes through the ICY stripper, whole and in pieces. abort() on a
 * broken invariant; ASan/UBSan catch the rest.
 *
 *   clang -std=gnu11 -g -fsanitize=fuzzer,address,undefined -I dataplane/core \
 *     dataplane/core/{hls,icy}.c tests/fuzz/fuzz_hls.c -o /tmp/fh
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hls.h"
#include "icy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rf_hls_playlist pl;
static struct rf_icy whole, pieces;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_uri(const char *uri, bool empty_ok)
{
	const char *nul = memchr(uri, '\0', RF_HLS_URI_MAX);
	char out[RF_HLS_URI_MAX + 64];
	size_t i;
	int err;

	check(nul && (empty_ok || nul != uri));
	for (i = 0; uri + i < nul; i++)
		check((unsigned char)uri[i] > ' ' && uri[i] != 0x7f);
	err = rf_hls_resolve("http://h:1/a/b/index.m3u8?q=/x", uri, out, sizeof(out));
	check(err == 0 || err == -ENAMETOOLONG);
	check(err || memchr(out, '\0', sizeof(out)));
}

static void check_playlist(void)
{
	unsigned i;

	check(pl.count <= RF_HLS_SEGMENTS_MAX);
	check(pl.first_msn <= UINT64_MAX - pl.count);
	check(!pl.master || pl.count == 0);
	check_uri(pl.variant_uri, !pl.master);
	for (i = 0; i < pl.count; i++) {
		check(pl.seg[i].msn == pl.first_msn + i);
		/* an absent target is the longest segment */
		check(pl.target_duration_ms || pl.seg[i].duration_ms == 0);
		check_uri(pl.seg[i].uri, false);
	}
}

/* Refreshes of the playlist with its numbering moved by the input's last
 * bytes (restarts, jumps, lag), time going forward. Between resets the
 * tracker never hands out a segment twice or out of order. */
static void run_tracker(const uint8_t *data, size_t size)
{
	uint64_t last = 0, last_resets = 0, now = 0;
	struct rf_hls_tracker t;
	bool any = false;
	unsigned r, i, fetches;

	rf_hls_tracker_init(&t, (unsigned)(size % 5));
	for (r = 0; r < 4; r++) {
		int8_t shift = size > r ? (int8_t)data[size - 1 - r] : 0;
		uint64_t resets = t.resets, gaps = t.gaps;
		const struct rf_hls_segment *seg;
		enum rf_hls_verdict v;
		bool discont;

		if (r && (shift >= 0 ? pl.first_msn <= UINT64_MAX - pl.count - (uint64_t)shift
				     : pl.first_msn >= (uint64_t)-shift)) {
			pl.first_msn += (uint64_t)(int64_t)shift;
			for (i = 0; i < pl.count; i++)
				pl.seg[i].msn = pl.first_msn + i;
		}
		now += (uint64_t)(size > r ? data[r] : 1) * 1000;
		for (fetches = 0;; fetches++) {
			v = rf_hls_next(&t, &pl, now, &seg, &discont);
			if (v != RF_HLS_FETCH)
				break;
			check(fetches < pl.count);
			check(seg >= pl.seg && seg < pl.seg + pl.count);
			check(!any || t.resets != last_resets || seg->msn > last);
			any = true;
			last = seg->msn;
			last_resets = t.resets;
			if (seg->msn & 1)
				rf_hls_tracker_skip(&t, seg);
			else
				rf_hls_tracker_done(&t, seg);
		}
		check(!seg);
		check(v != RF_HLS_ENDED || pl.endlist);
		check(t.resets >= resets && t.gaps >= gaps);
		check(t.next_msn <= pl.first_msn + pl.count);
	}
}

/* The same bytes as an ICY stream, all at once and in pieces: the audio
 * and the title must not depend on how the stream was cut. */
static void run_icy(const uint8_t *data, size_t size)
{
	uint32_t metaint = size >= 2 ? (uint32_t)data[0] | (uint32_t)data[1] << 8 : 0;
	uint8_t *a = malloc(size ? size : 1), *b = malloc(size ? size : 1);
	size_t na, nb = 0, off = 0, k = 0;

	memcpy(a, data, size);
	memcpy(b, data, size);
	rf_icy_init(&whole, metaint);
	rf_icy_init(&pieces, metaint);
	na = rf_icy_strip(&whole, a, size);
	check(na <= size);
	if (metaint == 0 || metaint >= size)
		check(na == size && memcmp(a, data, size) == 0);
	while (off < size) {
		size_t n = 1 + data[k++ % size] % 64, got;

		if (n > size - off)
			n = size - off;
		got = rf_icy_strip(&pieces, b + off, n);
		check(got <= n);
		memmove(b + nb, b + off, got);
		nb += got;
		off += n;
	}
	check(na == nb && memcmp(a, b, na) == 0);
	check(memchr(whole.title, '\0', sizeof(whole.title)) &&
	      memchr(pieces.title, '\0', sizeof(pieces.title)));
	check(strcmp(whole.title, pieces.title) == 0);
	check(whole.blocks == pieces.blocks);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past len */
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	if (rf_hls_parse(text, size, &pl) == 0) {
		check_playlist();
		run_tracker(data, size);
	}
	free(text);
	run_icy(data, size);
	return 0;
}
