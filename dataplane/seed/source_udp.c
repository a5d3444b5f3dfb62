/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udp:// source: MPEG-TS over UDP, raw or RTP-wrapped (detected per
 * datagram), unicast or multicast. The socket stays open through silences:
 * a quiet source is marked down and picked up again when data returns.
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "source.h"

#define RF_UDP_BURST 32
#define RF_UDP_POLL_MS 100
#define RF_UDP_RCVBUF (8 << 20)
#define RF_UDP_DGRAM_MAX 9216 /* jumbo frames */

/* The index of the interface that has address addr (IPv6 joins need it). */
static unsigned rf_ifindex_of(const struct sockaddr_in6 *addr)
{
	struct ifaddrs *list, *ifa;
	unsigned index = 0;

	if (getifaddrs(&list) != 0)
		return 0;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in6 *a = (const void *)ifa->ifa_addr;

		if (a && a->sin6_family == AF_INET6 &&
		    memcmp(&a->sin6_addr, &addr->sin6_addr, 16) == 0) {
			index = if_nametoindex(ifa->ifa_name);
			break;
		}
	}
	freeifaddrs(list);
	return index;
}

static int rf_udp_resolve(const char *host, uint16_t port,
			  struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE,
				  .ai_socktype = SOCK_DGRAM }, *res;
	char service[8];

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static bool rf_is_multicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return IN_MULTICAST(ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr));
	return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Join group on the interface that has address ifaddr (NULL: default). */
static int rf_udp_join(int fd, const struct sockaddr_storage *group,
		       const struct sockaddr_storage *ifaddr)
{
	if (group->ss_family == AF_INET) {
		struct ip_mreq mreq = {
			.imr_multiaddr = ((const struct sockaddr_in *)group)->sin_addr,
			.imr_interface.s_addr = ifaddr
				? ((const struct sockaddr_in *)ifaddr)->sin_addr.s_addr
				: htonl(INADDR_ANY),
		};

		return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
	}
	struct ipv6_mreq mreq6 = {
		.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)group)->sin6_addr,
		.ipv6mr_interface = ifaddr ? rf_ifindex_of((const void *)ifaddr) : 0,
	};

	return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq6, sizeof(mreq6));
}

/* Open the socket: bind the group (or address) and port, join if
 * multicast. The fd, or -1 with the reason set and *fatal telling whether
 * retrying could help. */
static int rf_udp_open(struct rf_ingest *in, bool *fatal)
{
	const struct rf_source_url *u = rf_ingest_url(in);
	struct sockaddr_storage bind_ss, ifaddr_ss;
	bool has_group = u->group[0] != '\0';
	int fd, one = 1, rcvbuf = RF_UDP_RCVBUF;

	if (rf_udp_resolve(has_group ? u->group : u->addr, u->port, &bind_ss) ||
	    (has_group && rf_udp_resolve(u->addr, u->port, &ifaddr_ss))) {
		rf_ingest_why(in, "not a numeric IPv4/IPv6 address");
		*fatal = true;
		return -1;
	}
	if (has_group && (!rf_is_multicast(&bind_ss) ||
			  bind_ss.ss_family != ifaddr_ss.ss_family)) {
		rf_ingest_why(in, "GROUP@ADDR needs a multicast group and an interface address of the same family");
		*fatal = true;
		return -1;
	}
	fd = socket(bind_ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* several seeds (or a restarted one) may listen to one group */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&bind_ss, sizeof(bind_ss)) != 0)
		goto fail_close;
	if (rf_is_multicast(&bind_ss) &&
	    rf_udp_join(fd, &bind_ss, has_group ? &ifaddr_ss : NULL) != 0)
		goto fail_close;
	return fd;

fail_close:
	close(fd);
fail:
	rf_ingest_why(in, "%s", strerror(errno));
	*fatal = false;
	return -1;
}

/* Pass one datagram on: strip RTP, and mark a gap where RTP says
 * datagrams were lost. */
static void rf_udp_datagram(struct rf_ingest *in, const uint8_t *d, size_t len,
			    bool *rtp_seen, uint16_t *rtp_next)
{
	size_t off, plen;
	uint16_t seq;

	if (rf_rtp_ts_payload(d, len, &off, &plen, &seq)) {
		if (*rtp_seen && seq != *rtp_next)
			rf_ingest_gap(in);
		*rtp_seen = true;
		*rtp_next = (uint16_t)(seq + 1);
		d += off;
		len = plen;
	}
	rf_ingest_feed(in, d, len);
}

enum rf_source_end rf_source_udp_run(struct rf_ingest *in)
{
	struct mmsghdr msgs[RF_UDP_BURST];
	struct iovec iov[RF_UDP_BURST];
	uint64_t last_data = rf_now_ms();
	bool quiet = false, rtp_seen = false, fatal;
	uint16_t rtp_next = 0;
	uint8_t *bufs;
	int fd, n;

	fd = rf_udp_open(in, &fatal);
	if (fd < 0)
		return fatal ? RF_SOURCE_FATAL : RF_SOURCE_RETRY;
	bufs = malloc(RF_UDP_BURST * RF_UDP_DGRAM_MAX);
	if (!bufs) {
		close(fd);
		rf_ingest_why(in, "out of memory");
		return RF_SOURCE_RETRY;
	}
	for (int i = 0; i < RF_UDP_BURST; i++) {
		iov[i] = (struct iovec){ bufs + i * RF_UDP_DGRAM_MAX, RF_UDP_DGRAM_MAX };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while (!rf_ingest_stopping(in)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, RF_UDP_POLL_MS) <= 0) {
			if (!quiet && rf_now_ms() - last_data >= rf_ingest_config(in)->stall_ms) {
				rf_ingest_why(in, "no datagram for %u ms",
					      rf_ingest_config(in)->stall_ms);
				rf_ingest_down(in);
				quiet = true;
				rtp_seen = false; /* the gap is marked already */
			}
			continue;
		}
		n = recvmmsg(fd, msgs, RF_UDP_BURST, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			rf_udp_datagram(in, iov[i].iov_base, msgs[i].msg_len,
					&rtp_seen, &rtp_next);
		if (n > 0) {
			last_data = rf_now_ms();
			quiet = false;
		}
	}
	free(bufs);
	close(fd);
	return RF_SOURCE_RETRY;
}
