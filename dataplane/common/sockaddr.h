/* SPDX-License-Identifier: BSD-3-Clause */
/* struct rf_addr <-> the socket API's addresses. An IPv4-mapped IPv6
 * address (from a dual-stack socket) becomes plain IPv4. */
#ifndef RF_SOCKADDR_H
#define RF_SOCKADDR_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"

void rf_addr_from_sockaddr(struct rf_addr *a, const struct sockaddr_storage *ss);

/* For a dual-stack (AF_INET6) socket when v6_socket, else the address's
 * own family. Returns the sockaddr length. */
socklen_t rf_addr_to_sockaddr(const struct rf_addr *a, struct sockaddr_storage *ss,
			      bool v6_socket);

/* "198.18.0.2:4433" or "[2001:db8::2]:4433" into out (at least 64 bytes). */
void rf_addr_format(const struct rf_addr *a, char *out, size_t cap);

/* Parse a numeric "HOST:PORT" / "[V6]:PORT" (port default if absent) and
 * resolve names too (getaddrinfo). 0 or -EINVAL. */
int rf_addr_parse(const char *s, uint16_t default_port, struct rf_addr *a);

/* An address prefix: ip (network order) and its first len bits. */
struct rf_prefix {
	uint8_t family;                    /* RF_AF_INET or RF_AF_INET6 */
	uint8_t len;
	uint8_t ip[16];
};

/* "198.18.0.0/15" or "2001:db8::/32"; a bare address is its own /32 or
 * /128. Numeric only. 0 or -EINVAL. */
int rf_prefix_parse(const char *s, struct rf_prefix *p);

/* "rawflow://HOST[:PORT]/STREAM-ID": the seed to join (port 4433 by
 * default) and the stream's 16-hex-digit id. 0 or -EINVAL. */
int rf_stream_url_parse(const char *url, struct rf_addr *seed, uint64_t *stream_id);

#endif
