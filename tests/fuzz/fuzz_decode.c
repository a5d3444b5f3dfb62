/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: any datagram through header validation and decode.
 * Checks that validation and decode agree, that every accepted message
 * re-encodes to a datagram that decodes again, and that decode never
 * reads outside the datagram (ASan).
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1), again[RF_MAX_DATAGRAM];
	struct rf_msg m, m2;
	enum rf_drop why;
	int len;

	/* an exact-size heap copy so ASan sees any read past the end */
	memcpy(copy, data, size);
	why = rf_msg_decode(copy, size, &m);
	if (size <= RF_MAX_DATAGRAM && rf_wire_check(copy, copy + size) != RF_DROP_NONE &&
	    why == RF_DROP_NONE)
		abort(); /* decode accepted what the XDP check drops */
	if (why == RF_DROP_NONE) {
		len = rf_msg_encode(&m, again, sizeof(again));
		if (len < 0 || rf_msg_decode(again, (size_t)len, &m2) != RF_DROP_NONE)
			abort();
	}
	free(copy);
	return 0;
}
