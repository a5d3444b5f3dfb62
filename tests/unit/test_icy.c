/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for ICY metadata stripping (dataplane/core/icy.c). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "icy.h"

#define METAINT 16

static struct rf_icy icy;
static uint8_t stream[8192], audio[8192], work[8192];
static size_t stream_len, audio_len;

/* Append metaint audio bytes (a counting pattern) and one metadata block
 * holding text, padded with NULs to a multiple of 16 (NULL: L = 0). */
static void add_block(uint32_t metaint, const char *text)
{
	size_t n = text ? (strlen(text) + 15) / 16 * 16 : 0;
	uint32_t i;

	for (i = 0; i < metaint; i++) {
		uint8_t b = (uint8_t)(audio_len * 7 + 3);

		audio[audio_len++] = b;
		stream[stream_len++] = b;
	}
	stream[stream_len++] = (uint8_t)(n / 16);
	memset(stream + stream_len, 0, n);
	if (text)
		memcpy(stream + stream_len, text, strlen(text));
	stream_len += n;
}

/* A stream with titles, L = 0 blocks, a block whose title holds a quote,
 * and a tail of audio that stops before the next length byte. */
static void build(void)
{
	stream_len = audio_len = 0;
	add_block(METAINT, "StreamTitle='First';StreamUrl='';");
	add_block(METAINT, NULL);
	add_block(METAINT, NULL);
	add_block(METAINT, "StreamTitle='Guns N' Roses - Patience';");
	add_block(METAINT, NULL);
	add_block(METAINT, "StreamUrl='http://x/';");
	add_block(METAINT, "StreamTitle='Last';");
	memcpy(stream + stream_len, "tail", 4);
	memcpy(audio + audio_len, "tail", 4);
	stream_len += 4;
	audio_len += 4;
}

/* Strip the stream cut into pieces of the given sizes (cycled); check the
 * audio that comes out against the audio that went in. */
static void strip_in_pieces(const size_t *sizes, size_t nsizes)
{
	size_t off = 0, out = 0, k = 0;

	memcpy(work, stream, stream_len);
	rf_icy_init(&icy, METAINT);
	while (off < stream_len) {
		size_t n = sizes[k++ % nsizes], got;

		if (n > stream_len - off)
			n = stream_len - off;
		got = rf_icy_strip(&icy, work + off, n);
		cr_assert_leq(got, n);
		memmove(work + out, work + off, got);
		out += got;
		off += n;
	}
	cr_assert_eq(out, audio_len);
	cr_assert_arr_eq(work, audio, audio_len);
	cr_assert_str_eq(icy.title, "Last");
	cr_assert_eq(icy.blocks, 7);
}

Test(icy, whole_stream_in_one_call)
{
	size_t all = sizeof(stream);

	build();
	strip_in_pieces(&all, 1);
}

Test(icy, split_at_every_byte_position)
{
	size_t cut, sizes[2];

	build();
	for (cut = 0; cut <= stream_len; cut++) {
		sizes[0] = cut;
		sizes[1] = sizeof(stream);
		strip_in_pieces(sizes, 2);
	}
}

Test(icy, byte_by_byte_and_odd_pieces)
{
	static const size_t one = 1, odd[] = { 3, 17, 1, 5, 33, 2 };

	build();
	strip_in_pieces(&one, 1);
	strip_in_pieces(odd, sizeof(odd) / sizeof(odd[0]));
}

Test(icy, titles_as_they_come)
{
	size_t off = 0;

	build();
	memcpy(work, stream, stream_len);
	rf_icy_init(&icy, METAINT);
	cr_assert_str_eq(icy.title, "");
	/* audio + length byte + 3 * 16 bytes of the first block */
	rf_icy_strip(&icy, work, METAINT + 1 + 48);
	off += METAINT + 1 + 48;
	cr_assert_str_eq(icy.title, "First");
	/* two L = 0 blocks keep the title */
	rf_icy_strip(&icy, work + off, 2 * (METAINT + 1));
	off += 2 * (METAINT + 1);
	cr_assert_str_eq(icy.title, "First");
	cr_assert_eq(icy.blocks, 3);
	/* a lone quote inside the title does not end it */
	rf_icy_strip(&icy, work + off, METAINT + 1 + 48);
	off += METAINT + 1 + 48;
	cr_assert_str_eq(icy.title, "Guns N' Roses - Patience");
	/* an empty block and one without StreamTitle keep it too */
	rf_icy_strip(&icy, work + off, 2 * (METAINT + 1) + 32);
	cr_assert_str_eq(icy.title, "Guns N' Roses - Patience");
}

Test(icy, long_title_truncated_on_utf8_boundary)
{
	char text[RF_ICY_META_MAX];
	size_t n;

	/* 'A' then "€" (3 bytes) repeated: a cut at 255 would split one */
	strcpy(text, "StreamTitle='A");
	for (n = 0; n < 300; n++)
		strcat(text, "\xe2\x82\xac");
	strcat(text, "';");
	stream_len = audio_len = 0;
	add_block(METAINT, text);
	memcpy(work, stream, stream_len);
	rf_icy_init(&icy, METAINT);
	cr_assert_eq(rf_icy_strip(&icy, work, stream_len), METAINT);
	n = strlen(icy.title);
	cr_assert_eq(n, 253);
	cr_assert_eq(icy.title[0], 'A');
	cr_assert_eq((unsigned char)icy.title[n - 3], 0xe2);
	cr_assert_eq((unsigned char)icy.title[n - 1], 0xac);
}

Test(icy, largest_block_and_hostile_titles)
{
	char text[RF_ICY_META_MAX + 1];

	/* L = 255 filled with title text and no terminator at all */
	memset(text, 'x', RF_ICY_META_MAX);
	memcpy(text, "StreamTitle='", 13);
	text[RF_ICY_META_MAX] = '\0';
	stream_len = audio_len = 0;
	add_block(METAINT, text);
	/* control characters (log injection) become spaces; an unterminated
	 * title ends at the padding, its closing quote dropped */
	add_block(METAINT, "StreamTitle='a\r\nb\x1b[31m'");
	memcpy(work, stream, stream_len);
	rf_icy_init(&icy, METAINT);
	cr_assert_eq(stream[METAINT], 255);
	cr_assert_eq(rf_icy_strip(&icy, work, METAINT + 1 + RF_ICY_META_MAX),
		     METAINT);
	cr_assert_eq(strlen(icy.title), sizeof(icy.title) - 1);
	rf_icy_strip(&icy, work + METAINT + 1 + RF_ICY_META_MAX,
		     stream_len - METAINT - 1 - RF_ICY_META_MAX);
	cr_assert_str_eq(icy.title, "a  b [31m");
}

Test(icy, empty_title_clears)
{
	stream_len = audio_len = 0;
	add_block(METAINT, "StreamTitle='Song';");
	add_block(METAINT, "StreamTitle='';");
	memcpy(work, stream, stream_len);
	rf_icy_init(&icy, METAINT);
	rf_icy_strip(&icy, work, METAINT + 1 + 32);
	cr_assert_str_eq(icy.title, "Song");
	rf_icy_strip(&icy, work + METAINT + 1 + 32,
		     stream_len - (METAINT + 1 + 32));
	cr_assert_str_eq(icy.title, "");
}

Test(icy, metaint_zero_passes_through)
{
	uint8_t buf[300];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	rf_icy_init(&icy, 0);
	cr_assert_eq(rf_icy_strip(&icy, buf, sizeof(buf)), sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], (uint8_t)i);
	cr_assert_eq(rf_icy_strip(&icy, buf, 0), 0);
	cr_assert_eq(icy.blocks, 0);
	cr_assert_str_eq(icy.title, "");
}

Test(icy, metaint_one)
{
	/* every other byte a length byte of 0 */
	uint8_t buf[] = { 'a', 0, 'b', 0, 'c', 0, 'd' };

	rf_icy_init(&icy, 1);
	cr_assert_eq(rf_icy_strip(&icy, buf, sizeof(buf)), 4);
	cr_assert_arr_eq(buf, "abcd", 4);
	cr_assert_eq(icy.blocks, 3);
}
