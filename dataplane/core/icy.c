/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICY metadata stripping. State survives between calls, so a length byte
 * or a metadata block may arrive split across reads at any byte.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "icy.h"

void rf_icy_init(struct rf_icy *icy, uint32_t metaint)
{
	memset(icy, 0, sizeof(*icy));
	icy->metaint = metaint;
	icy->audio_left = metaint;
}

/* StreamTitle='...'; of the block into title, if it has one. The title
 * ends at "';" as it may hold a lone quote ("Guns N' Roses"), else at the
 * NUL padding. */
static void rf_icy_title(struct rf_icy *icy)
{
	static const char key[] = "StreamTitle='";
	const char *s = memmem(icy->meta, icy->meta_len, key, sizeof(key) - 1);
	const char *end, *q;
	size_t n, i;

	if (!s)
		return;
	s += sizeof(key) - 1;
	end = memchr(s, '\0', (size_t)(icy->meta + icy->meta_len - s));
	n = (size_t)((end ? end : icy->meta + icy->meta_len) - s);
	q = memmem(s, n, "';", 2);
	if (q)
		n = (size_t)(q - s);
	else if (n && s[n - 1] == '\'')
		n--;
	if (n > sizeof(icy->title) - 1) {
		n = sizeof(icy->title) - 1;
		/* never keep half a UTF-8 character */
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		icy->title[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? ' ' : s[i];
	icy->title[n] = '\0';
}

/* A metadata block (maybe empty) is complete: audio follows. */
static void rf_icy_block_end(struct rf_icy *icy)
{
	rf_icy_title(icy);
	icy->audio_left = icy->metaint;
}

size_t rf_icy_strip(struct rf_icy *icy, uint8_t *buf, size_t len)
{
	size_t r = 0, w = 0, n;

	if (icy->metaint == 0)
		return len;
	while (r < len) {
		if (icy->meta_left) {
			n = icy->meta_left < len - r ? icy->meta_left : len - r;
			memcpy(icy->meta + icy->meta_len, buf + r, n);
			icy->meta_len = (uint16_t)(icy->meta_len + n);
			icy->meta_left = (uint16_t)(icy->meta_left - n);
			r += n;
			if (!icy->meta_left)
				rf_icy_block_end(icy);
		} else if (icy->audio_left) {
			n = icy->audio_left < len - r ? icy->audio_left : len - r;
			memmove(buf + w, buf + r, n);
			icy->audio_left -= (uint32_t)n;
			w += n;
			r += n;
		} else {
			/* the length byte, in units of 16 bytes */
			icy->blocks++;
			icy->meta_len = 0;
			icy->meta_left = (uint16_t)(buf[r++] * 16);
			if (!icy->meta_left)
				rf_icy_block_end(icy);
		}
	}
	return w;
}
