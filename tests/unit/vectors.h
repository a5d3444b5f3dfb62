/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The canonical messages behind the hex vectors of docs/PROTOCOL.md.
 * print_vectors writes the document's blocks from them; test_vectors
 * checks that the document's blocks decode to them and that they encode
 * to the document's bytes.
 */
#ifndef RF_TEST_VECTORS_H
#define RF_TEST_VECTORS_H

#include "msg.h"

#define RF_VECTOR_STREAM 0x0123456789abcdefULL

struct rf_vector {
	const char *name;
	struct rf_msg msg;
};

/* Fill out[] (room for max) and return how many vectors there are. */
size_t rf_vectors(struct rf_vector *out, size_t max);

#endif
