/* SPDX-License-Identifier: BSD-3-Clause */
/* Field-by-field comparison of two decoded messages, for the tests. */
#ifndef RF_TEST_MSG_EQUAL_H
#define RF_TEST_MSG_EQUAL_H

#include <stdbool.h>

#include "msg.h"

/* True when a and b carry the same values, including the bytes behind
 * their pointers; writes the first differing field's name to *field. */
bool rf_msg_equal(const struct rf_msg *a, const struct rf_msg *b,
		  const char **field);

#endif
