/* SPDX-License-Identifier: BSD-3-Clause */
/* Names of the drop reasons that wire.h lists. */
#ifndef RF_DROP_H
#define RF_DROP_H

#include "wire.h"

/* The short stable name of a drop reason ("bad_magic"), for logs,
 * telemetry and Redis metrics; "invalid" for a value out of range. */
const char *rf_drop_name(enum rf_drop reason);

#endif
