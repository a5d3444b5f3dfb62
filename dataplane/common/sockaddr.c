/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sockaddr.h"

static const uint8_t rf_v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void rf_addr_from_sockaddr(struct rf_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		a->family = RF_AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->ip, &in->sin_addr, 4);
		return;
	}
	const struct sockaddr_in6 *in6 = (const void *)ss;

	a->port = ntohs(in6->sin6_port);
	if (memcmp(&in6->sin6_addr, rf_v4_mapped, 12) == 0) {
		a->family = RF_AF_INET;
		memcpy(a->ip, (const uint8_t *)&in6->sin6_addr + 12, 4);
	} else {
		a->family = RF_AF_INET6;
		memcpy(a->ip, &in6->sin6_addr, 16);
	}
}

socklen_t rf_addr_to_sockaddr(const struct rf_addr *a, struct sockaddr_storage *ss,
			      bool v6_socket)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == RF_AF_INET && !v6_socket) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (void *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(a->port);
	if (a->family == RF_AF_INET) {
		memcpy(&in6->sin6_addr, rf_v4_mapped, 12);
		memcpy((uint8_t *)&in6->sin6_addr + 12, a->ip, 4);
	} else {
		memcpy(&in6->sin6_addr, a->ip, 16);
	}
	return sizeof(*in6);
}

void rf_addr_format(const struct rf_addr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family == RF_AF_INET ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
	snprintf(out, cap, a->family == RF_AF_INET ? "%s:%u" : "[%s]:%u", ip, a->port);
}

int rf_addr_parse(const char *s, uint16_t default_port, struct rf_addr *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
	char host[256], port[8];
	const char *colon;
	size_t n;

	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return -EINVAL;
		n = (size_t)(end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	snprintf(port, sizeof(port), "%u", default_port);
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (*end || p <= 0 || p > 65535)
			return -EINVAL;
		snprintf(port, sizeof(port), "%ld", p);
	}
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	rf_addr_from_sockaddr(a, (const struct sockaddr_storage *)(void *)res->ai_addr);
	freeaddrinfo(res);
	return 0;
}

int rf_stream_url_parse(const char *url, struct rf_addr *seed, uint64_t *stream_id)
{
	char host[300], *end;
	const char *rest, *slash;

	if (strncmp(url, "rawflow://", 10) != 0)
		return -EINVAL;
	rest = url + 10;
	slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof(host) || strlen(slash + 1) != 16)
		return -EINVAL;
	memcpy(host, rest, (size_t)(slash - rest));
	host[slash - rest] = '\0';
	errno = 0;
	*stream_id = strtoull(slash + 1, &end, 16);
	if (errno || *end)
		return -EINVAL;
	return rf_addr_parse(host, 4433, seed);
}

int rf_prefix_parse(const char *s, struct rf_prefix *p)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char ip[INET6_ADDRSTRLEN];
	uint64_t len;

	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, ip, p->ip) == 1)
		p->family = RF_AF_INET;
	else if (inet_pton(AF_INET6, ip, p->ip) == 1)
		p->family = RF_AF_INET6;
	else
		return -EINVAL;
	len = p->family == RF_AF_INET ? 32 : 128;
	if (slash && !rf_cli_parse_u64(slash + 1, 0, len, &len))
		return -EINVAL;
	p->len = (uint8_t)len;
	return 0;
}
