/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rawflow-flood: a handshake flood against a seed over a real interface,
 * for load tests of seed appliances. It sends HELLOs (and every Nth a JOIN
 * with a forged cookie) from spoofed IPv4 sources in a prefix, as
 * Ethernet frames through an AF_PACKET socket, and counts what the seed
 * sends back to those sources on the same interface: the seed's
 * anti-amplification rule says that is never more bytes than it got.
 *
 * The replies must reach this interface: the seed answers the MAC a frame
 * came from, so on one segment they do. Progress on stderr each second;
 * the last line on stdout is one JSON object.
 */
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "msg.h"
#include "sockaddr.h"

#define RF_FL_BATCH 64
#define RF_FL_FRAME 128          /* room for a HELLO or JOIN frame */
#define RF_FL_L2L3 (sizeof(struct ether_header) + sizeof(struct iphdr) + sizeof(struct udphdr))

struct rf_flood_opts {
	const char *iface;
	struct rf_addr seed;
	uint8_t seed_mac[ETH_ALEN];
	uint64_t stream_id;
	uint32_t src_net, src_mask;  /* host order */
	uint64_t count;
	uint64_t rate;               /* frames per second; 0: as fast as it goes */
	unsigned join_every;         /* every Nth is a forged JOIN; 0: none */
	double wait_s;               /* listening for replies after the last */
};

/* What came back to the spoofed sources, counted by the receive thread. */
struct rf_flood_rx {
	int fd;
	const struct rf_flood_opts *o;
	atomic_bool stop;
	atomic_uint_fast64_t frames, udp_bytes, frame_bytes;
	atomic_uint_fast64_t by_type[256];
};

static volatile sig_atomic_t rf_stopping;

static void rf_on_signal(int sig)
{
	(void)sig;
	rf_stopping = 1;
}

static void rf_sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

static void rf_usage(FILE *f)
{
	fprintf(f,
		"usage: rawflow-flood --iface IF --seed IPV4:PORT --seed-mac MAC --stream ID [options]\n"
		"\n"
		"Handshake flood from spoofed IPv4 sources through an AF_PACKET socket on IF\n"
		"(needs CAP_NET_RAW); counts the seed's replies to those sources on IF.\n"
		"\n"
		"  --iface IF          interface to send on and listen to\n"
		"  --seed IPV4:PORT    the seed (port 4433 if left out)\n"
		"  --seed-mac MAC      the seed's MAC (or the router's toward it)\n"
		"  --stream ID         16 hex digits: the stream the handshakes name\n"
		"  --src PREFIX        spoofed sources (default 198.19.0.0/16)\n"
		"  --count N           handshakes to send (default 1000000)\n"
		"  --rate PPS          frames per second (default 0: as fast as it goes)\n"
		"  --join-every N      every Nth is a JOIN with a forged cookie (default 4; 0: none)\n"
		"  --wait S            seconds to listen for replies after the last (default 1)\n"
		"  -h, --help          this text\n"
		"\n"
		"Last stdout line: {\"sent\", \"sent_udp_bytes\", \"replies\", \"reply_udp_bytes\",\n"
		"\"amplification\" (reply / sent UDP bytes), \"capture_drops\", ...}\n");
}

/* The spoofed sources: an IPv4 prefix of /8 to /30, into host order. */
static int rf_src_prefix(const char *s, uint32_t *net, uint32_t *mask)
{
	struct rf_prefix p;
	uint32_t ip;

	if (rf_prefix_parse(s, &p) != 0 || p.family != RF_AF_INET || p.len < 8 || p.len > 30)
		return -EINVAL;
	memcpy(&ip, p.ip, 4);
	*mask = ~0u << (32 - p.len);
	*net = ntohl(ip) & *mask;
	return 0;
}

static int rf_parse_opts(int argc, char **argv, struct rf_flood_opts *o)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "seed", required_argument, NULL, 's' },
		{ "seed-mac", required_argument, NULL, 'm' },
		{ "stream", required_argument, NULL, 'S' },
		{ "src", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "join-every", required_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *P = "rawflow-flood";
	bool have_mac = false, have_seed = false, have_stream = false;
	int c, end = 0;

	*o = (struct rf_flood_opts){ .count = 1000000, .join_every = 4, .wait_s = 1 };
	rf_src_prefix("198.19.0.0/16", &o->src_net, &o->src_mask);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case 'i': o->iface = optarg; break;
		case 's':
			rc = rf_addr_parse(optarg, 4433, &o->seed);
			if (rc || o->seed.family != RF_AF_INET) {
				fprintf(stderr, "%s: --seed wants IPV4:PORT, got '%s'\n", P, optarg);
				rc = -EINVAL;
			}
			have_seed = true;
			break;
		case 'm':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx%n", &o->seed_mac[0],
				   &o->seed_mac[1], &o->seed_mac[2], &o->seed_mac[3],
				   &o->seed_mac[4], &o->seed_mac[5], &end) != 6 || optarg[end]) {
				fprintf(stderr, "%s: --seed-mac wants aa:bb:cc:dd:ee:ff, got '%s'\n",
					P, optarg);
				rc = -EINVAL;
			}
			have_mac = true;
			break;
		case 'S':
			rc = rf_cli_hex64(P, "--stream", optarg, &o->stream_id);
			have_stream = true;
			break;
		case 'p':
			if (rf_src_prefix(optarg, &o->src_net, &o->src_mask)) {
				fprintf(stderr, "%s: --src wants an IPv4 prefix of /8 to /30 such as 198.19.0.0/16, got '%s'\n",
					P, optarg);
				rc = -EINVAL;
			}
			break;
		case 'n': rc = rf_cli_u64(P, "--count", optarg, 1, UINT64_MAX, &o->count); break;
		case 'r': rc = rf_cli_u64(P, "--rate", optarg, 0, 100000000, &o->rate); break;
		case 'j': rc = rf_cli_uint(P, "--join-every", optarg, 0, 1000000, &o->join_every); break;
		case 'w': rc = rf_cli_real(P, "--wait", optarg, 0, 3600, &o->wait_s); break;
		case 'h': rf_usage(stdout); exit(0);
		default: rf_usage(stderr); return -EINVAL;
		}
		if (rc)
			return rc;
	}
	if (optind < argc || !o->iface || !have_seed || !have_mac || !have_stream) {
		fprintf(stderr, "%s: --iface, --seed, --seed-mac and --stream are needed (see --help)\n",
			P);
		return -EINVAL;
	}
	return 0;
}

static uint16_t rf_csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Frame i of the flood into f: a HELLO, or a JOIN with a random cookie.
 * Returns its length; the UDP payload's length in *udp_len. Headers are
 * built in aligned locals and copied: in the frame, IP sits at offset 14. */
static size_t rf_build_frame(const struct rf_flood_opts *o, const uint8_t *src_mac,
			     uint64_t i, uint8_t *f, size_t *udp_len)
{
	struct ether_header eth;
	struct iphdr ip;
	struct udphdr udp;
	uint8_t *payload = f + RF_FL_L2L3;
	struct rf_msg m = { .stream_id = o->stream_id };
	uint32_t hosts = ~o->src_mask - 1, src = o->src_net + 1 + (uint32_t)(i % hosts);
	uint32_t pseudo;
	uint16_t sum;
	int len;

	if (o->join_every && i % o->join_every == o->join_every - 1) {
		m.type = RF_MSG_JOIN;
		m.join.peer_id = i;
		randombytes_buf(m.join.cookie, sizeof(m.join.cookie));
	} else {
		m.type = RF_MSG_HELLO;
		m.hello.peer_id = i;
	}
	len = rf_msg_encode(&m, payload, RF_FL_FRAME - RF_FL_L2L3);
	if (len < 0)
		return 0;
	memcpy(eth.ether_dhost, o->seed_mac, ETH_ALEN);
	memcpy(eth.ether_shost, src_mac, ETH_ALEN);
	eth.ether_type = htons(ETHERTYPE_IP);
	ip = (struct iphdr){ .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
			     .tot_len = htons((uint16_t)(sizeof(ip) + sizeof(udp) + (size_t)len)),
			     .frag_off = htons(IP_DF), .saddr = htonl(src) };
	memcpy(&ip.daddr, o->seed.ip, 4);
	ip.check = htons(rf_csum(&ip, sizeof(ip), 0));
	udp = (struct udphdr){ .source = htons((uint16_t)(1024 + i % 60000)),
			       .dest = htons(o->seed.port),
			       .len = htons((uint16_t)(sizeof(udp) + (size_t)len)) };
	pseudo = (src >> 16) + (src & 0xffff) + (uint32_t)(o->seed.ip[0] << 8 | o->seed.ip[1]) +
		 (uint32_t)(o->seed.ip[2] << 8 | o->seed.ip[3]) + IPPROTO_UDP + ntohs(udp.len);
	sum = rf_csum(&udp, sizeof(udp), 0);
	sum = rf_csum(payload, (size_t)len, pseudo + (uint16_t)~sum);
	udp.check = htons(sum ? sum : 0xffff);
	memcpy(f, &eth, sizeof(eth));
	memcpy(f + sizeof(eth), &ip, sizeof(ip));
	memcpy(f + sizeof(eth) + sizeof(ip), &udp, sizeof(udp));
	*udp_len = (size_t)len;
	return RF_FL_L2L3 + (size_t)len;
}

/* A packet socket on iface that receives protocol proto (0: none, for
 * sending only). */
static int rf_packet_socket(const char *iface, uint16_t proto, int *ifindex, uint8_t *mac)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(proto)), one = 1;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	*ifindex = if_nametoindex(iface);
	sll.sll_ifindex = *ifindex;
	/* our own frames are not replies; the qdisc only slows a flood */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* A frame from the seed's address and port to a spoofed source? Fields
 * are copied out: IP sits at offset 14 of the frame. */
static void rf_count_reply(struct rf_flood_rx *rx, const uint8_t *f, size_t len)
{
	const uint8_t *l3 = f + sizeof(struct ether_header);
	struct udphdr udp;
	struct iphdr ip;
	size_t ihl, ulen;

	if (len < RF_FL_L2L3)
		return;
	memcpy(&ip, l3, sizeof(ip));
	ihl = (size_t)ip.ihl * 4;
	if (ip.version != 4 || ip.protocol != IPPROTO_UDP || ihl < sizeof(ip) ||
	    len < sizeof(struct ether_header) + ihl + sizeof(udp))
		return;
	memcpy(&udp, l3 + ihl, sizeof(udp));
	ulen = ntohs(udp.len);
	if (memcmp(&ip.saddr, rx->o->seed.ip, 4) != 0 || ntohs(udp.source) != rx->o->seed.port ||
	    (ntohl(ip.daddr) & rx->o->src_mask) != rx->o->src_net || ulen < sizeof(udp))
		return;
	atomic_fetch_add(&rx->frames, 1);
	atomic_fetch_add(&rx->frame_bytes, len);
	atomic_fetch_add(&rx->udp_bytes, ulen - sizeof(udp));
	if (sizeof(struct ether_header) + ihl + sizeof(udp) + RF_OFF_TYPE < len)
		atomic_fetch_add(&rx->by_type[l3[ihl + sizeof(udp) + RF_OFF_TYPE]], 1);
}

static void *rf_rx_main(void *arg)
{
	struct rf_flood_rx *rx = arg;
	static uint8_t bufs[RF_FL_BATCH][2048];
	struct mmsghdr msgs[RF_FL_BATCH];
	struct iovec iov[RF_FL_BATCH];
	struct timeval tv = { .tv_usec = 100000 };

	setsockopt(rx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&rx->stop)) {
		int n;

		for (unsigned i = 0; i < RF_FL_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(rx->fd, msgs, RF_FL_BATCH, MSG_WAITFORONE, NULL);
		for (int i = 0; i < n; i++)
			rf_count_reply(rx, bufs[i], msgs[i].msg_len);
	}
	return NULL;
}

/* Send o->count frames at o->rate; progress each second. What went out
 * in *sent (frames) and *sent_udp (UDP payload bytes); -1 when the
 * interface refused a send for good. */
static int rf_flood(int fd, const struct rf_flood_opts *o, const uint8_t *mac,
		    struct rf_flood_rx *rx, uint64_t *sent, uint64_t *sent_udp)
{
	static uint8_t frames[RF_FL_BATCH][RF_FL_FRAME];
	struct mmsghdr msgs[RF_FL_BATCH];
	struct iovec iov[RF_FL_BATCH];
	uint64_t t0 = rf_now_ns(), next_report = t0 + 1000000000ull, last = 0;

	*sent = *sent_udp = 0;
	while (*sent < o->count && !rf_stopping) {
		unsigned n = (unsigned)(o->count - *sent < RF_FL_BATCH ? o->count - *sent : RF_FL_BATCH);
		size_t udp_len[RF_FL_BATCH];
		uint64_t now = rf_now_ns();
		int k;

		if (o->rate && *sent * 1000000000.0 / o->rate > (double)(now - t0)) {
			rf_sleep_s(50e-6);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			iov[i] = (struct iovec){ frames[i],
						 rf_build_frame(o, mac, *sent + i, frames[i], &udp_len[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		k = sendmmsg(fd, msgs, n, 0);
		if (k < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "rawflow-flood: send on %s: %s\n", o->iface, strerror(errno));
				return -1;
			}
			continue; /* the device queue is full: try again */
		}
		for (int i = 0; i < k; i++)
			*sent_udp += udp_len[i];
		*sent += (uint64_t)k;
		if (now >= next_report) {
			fprintf(stderr, "rawflow-flood: %llu sent (%llu/s), %llu replies, %llu reply bytes\n",
				(unsigned long long)*sent, (unsigned long long)(*sent - last),
				(unsigned long long)atomic_load(&rx->frames),
				(unsigned long long)atomic_load(&rx->udp_bytes));
			last = *sent;
			next_report += 1000000000ull;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rf_flood_opts o;
	struct rf_flood_rx rx = { 0 };
	struct tpacket_stats ps = { 0 };
	socklen_t pslen = sizeof(ps);
	uint8_t mac[ETH_ALEN];
	uint64_t sent, sent_udp, t0, t1;
	int ifindex, tx_fd, rcvbuf = 32 << 20;
	bool failed;
	pthread_t th;
	double secs;

	if (rf_parse_opts(argc, argv, &o))
		return 2;
	if (sodium_init() < 0)
		return 1;
	tx_fd = rf_packet_socket(o.iface, 0, &ifindex, mac);
	rx.fd = rf_packet_socket(o.iface, ETH_P_IP, &ifindex, mac);
	if (tx_fd < 0 || rx.fd < 0) {
		fprintf(stderr, "rawflow-flood: packet socket on %s: %s\n", o.iface,
			strerror(-(tx_fd < 0 ? tx_fd : rx.fd)));
		return 1;
	}
	setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	rx.o = &o;
	signal(SIGINT, rf_on_signal);
	signal(SIGTERM, rf_on_signal);
	if (pthread_create(&th, NULL, rf_rx_main, &rx) != 0)
		return 1;
	t0 = rf_now_ns();
	failed = rf_flood(tx_fd, &o, mac, &rx, &sent, &sent_udp) != 0;
	t1 = rf_now_ns();
	rf_sleep_s(o.wait_s);
	atomic_store(&rx.stop, true);
	pthread_join(th, NULL);
	getsockopt(rx.fd, SOL_PACKET, PACKET_STATISTICS, &ps, &pslen);
	secs = (double)(t1 - t0) / 1e9;
	printf("{\"sent\": %llu, \"sent_udp_bytes\": %llu, \"seconds\": %.3f, \"pps\": %.0f, "
	       "\"replies\": %llu, \"reply_udp_bytes\": %llu, \"reply_frame_bytes\": %llu, "
	       "\"cookies\": %llu, \"amplification\": %.4f, \"capture_drops\": %u}\n",
	       (unsigned long long)sent, (unsigned long long)sent_udp, secs,
	       secs > 0 ? (double)sent / secs : 0.0, (unsigned long long)atomic_load(&rx.frames),
	       (unsigned long long)atomic_load(&rx.udp_bytes),
	       (unsigned long long)atomic_load(&rx.frame_bytes),
	       (unsigned long long)atomic_load(&rx.by_type[RF_MSG_COOKIE]),
	       sent_udp ? (double)atomic_load(&rx.udp_bytes) / (double)sent_udp : 0.0,
	       ps.tp_drops);
	close(tx_fd);
	close(rx.fd);
	return rf_stopping || failed ? 1 : 0;
}
