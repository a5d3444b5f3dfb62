/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hex vectors printed in docs/PROTOCOL.md are the ones checked here:
 * each block decodes to its canonical message, and the canonical message
 * encodes to exactly the block's bytes.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "msg_equal.h"
#include "vectors.h"

static char *doc;

static void load_doc(void)
{
	const char *path = RF_SOURCE_ROOT "/docs/PROTOCOL.md";
	FILE *f = fopen(path, "r");
	long size;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	doc = calloc(1, (size_t)size + 1);
	cr_assert_eq(fread(doc, 1, (size_t)size, f), (size_t)size);
	fclose(f);
}

static void free_doc(void)
{
	free(doc);
}

TestSuite(vectors, .init = load_doc, .fini = free_doc);

/* Parse the ```hex block after "vector NAME (" into out; returns bytes. */
static size_t doc_vector(const char *name, uint8_t *out, size_t cap)
{
	char key[64];
	const char *p, *end;
	size_t n = 0;

	snprintf(key, sizeof(key), "vector %s (", name);
	p = strstr(doc, key);
	cr_assert_not_null(p, "PROTOCOL.md has no %s", key);
	p = strstr(p, "```hex\n");
	cr_assert_not_null(p);
	p += 7;
	end = strstr(p, "```");
	cr_assert_not_null(end);
	while (p < end) {
		unsigned byte;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		cr_assert_eq(sscanf(p, "%2x", &byte), 1, "bad hex in %s", name);
		cr_assert_lt(n, cap);
		out[n++] = (uint8_t)byte;
		p += 2;
	}
	return n;
}

Test(vectors, document_matches_code)
{
	struct rf_vector v[32];
	size_t nvec = rf_vectors(v, 32);
	uint8_t want[RF_MAX_DATAGRAM], got[RF_MAX_DATAGRAM];
	const char *field = NULL;
	struct rf_msg out;

	for (size_t i = 0; i < nvec; i++) {
		size_t len = doc_vector(v[i].name, want, sizeof(want));
		int enc = rf_msg_encode(&v[i].msg, got, sizeof(got));

		cr_assert_eq(rf_msg_decode(want, len, &out), RF_DROP_NONE,
			     "%s does not decode", v[i].name);
		cr_assert(rf_msg_equal(&v[i].msg, &out, &field),
			  "%s decodes with a different %s", v[i].name, field);
		cr_assert_eq(enc, (int)len, "%s: %d bytes, doc has %zu",
			     v[i].name, enc, len);
		cr_assert_arr_eq(got, want, len, "%s bytes differ", v[i].name);
	}
}

Test(vectors, data_vector_fields)
{
	uint8_t b[RF_MAX_DATAGRAM];
	struct rf_msg m;
	size_t len = doc_vector("data", b, sizeof(b));

	/* the values the document's table states, checked by hand */
	cr_assert_eq(rf_msg_decode(b, len, &m), RF_DROP_NONE);
	cr_assert_eq(m.stream_id, 0x0123456789abcdefULL);
	cr_assert_eq(m.data.seq, 99950);
	cr_assert_eq(m.data.substream, 6);
	cr_assert(m.flags & RF_FLAG_DATA_RAP);
	cr_assert_eq(m.data.len, 8);
	cr_assert_eq(m.data.payload[0], 0x47); /* TS sync byte */
}
