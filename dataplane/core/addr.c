/* SPDX-License-Identifier: BSD-3-Clause */
#include "addr.h"

bool rf_addr_prefix_match(const struct rf_addr *a, const uint8_t *prefix_ip,
			  uint8_t family, uint8_t prefix_len)
{
	unsigned full = prefix_len / 8, rest = prefix_len % 8;
	unsigned max = family == RF_AF_INET ? 32 : 128;

	if (a->family != family || prefix_len > max)
		return false;
	if (memcmp(a->ip, prefix_ip, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->ip[full] ^ prefix_ip[full]) & (0xff00 >> rest) & 0xff) == 0;
}
