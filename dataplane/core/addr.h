/* SPDX-License-Identifier: BSD-3-Clause */
/* A transport address as the protocol sees it: IPv4 or IPv6 plus a port. */
#ifndef RF_ADDR_H
#define RF_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RF_AF_INET 4
#define RF_AF_INET6 6

struct rf_addr {
	uint8_t family;   /* RF_AF_INET or RF_AF_INET6 */
	uint16_t port;    /* host byte order */
	uint8_t ip[16];   /* IPv4 uses the first 4 bytes, the rest are zero */
};

static inline bool rf_addr_equal(const struct rf_addr *a,
				 const struct rf_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

static inline void rf_addr_v4(struct rf_addr *a, const uint8_t ip[4],
			      uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = RF_AF_INET;
	a->port = port;
	memcpy(a->ip, ip, 4);
}

/* True when the first prefix_len bits of a and b's addresses match. */
bool rf_addr_prefix_match(const struct rf_addr *a, const uint8_t *prefix_ip,
			  uint8_t family, uint8_t prefix_len);

#endif
