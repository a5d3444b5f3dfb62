/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICY (Icecast/SHOUTcast) metadata stripping. A server asked for metadata
 * ("Icy-MetaData: 1") inserts, every metaint bytes of audio, one length
 * byte L and L*16 bytes of "StreamTitle='...';" text. The stripper passes
 * the audio on and keeps the last title. Blocks may be split across calls
 * at any byte.
 */
#ifndef RF_ICY_H
#define RF_ICY_H

#include <stddef.h>
#include <stdint.h>

#define RF_ICY_META_MAX (255 * 16)

struct rf_icy {
	uint32_t metaint;        /* 0: no metadata in the stream */
	uint32_t audio_left;     /* audio bytes before the next length byte */
	uint16_t meta_left;      /* metadata bytes still to collect */
	uint16_t meta_len;       /* metadata bytes collected */
	uint64_t blocks;         /* length bytes seen (L = 0 included) */
	char meta[RF_ICY_META_MAX];
	/* last StreamTitle, NUL-terminated, cut on a UTF-8 boundary, control
	 * characters replaced by spaces (it goes to logs and metrics) */
	char title[256];
};

void rf_icy_init(struct rf_icy *icy, uint32_t metaint);

/* Strip metadata from buf[0..len) in place; returns the audio bytes left
 * at the start of buf. */
size_t rf_icy_strip(struct rf_icy *icy, uint8_t *buf, size_t len);

#endif
