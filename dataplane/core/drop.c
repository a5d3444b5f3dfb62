/* SPDX-License-Identifier: BSD-3-Clause */
#include "drop.h"

static const char *const rf_drop_names[RF_DROP_MAX] = {
#define RF_X_NAME(name, str) [RF_DROP_##name] = str,
	RF_DROP_LIST(RF_X_NAME)
#undef RF_X_NAME
};

const char *rf_drop_name(enum rf_drop reason)
{
	if ((unsigned)reason >= RF_DROP_MAX)
		return "invalid";
	return rf_drop_names[reason];
}
