/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>

#include "dpdk_l2.h"

#define RF_ICMP6_ECHO_REQUEST 128
#define RF_ICMP6_ECHO_REPLY 129
#define RF_ICMP6_NS 135
#define RF_ICMP6_NA 136
#define RF_ND_OPT_TARGET_LLADDR 2
#define RF_NA_FLAG_SOLICITED 0x40
#define RF_NA_FLAG_OVERRIDE 0x20
#define RF_NS_LEN 24                       /* type .. target address */
#define RF_NA_LEN 32                       /* + target link-layer option */

/* The reply leaves for the MAC address the request came from. */
static void rf_eth_answer(struct rte_ether_hdr *eth, const struct rf_dpdk_self *self)
{
	eth->dst_addr = eth->src_addr;
	eth->src_addr = self->mac;
}

int rf_dpdk_answer_arp(struct rte_mbuf *m, const struct rf_dpdk_self *self)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_arp_ipv4 *a = &arp->arp_data;

	if (m->data_len < sizeof(*eth) + sizeof(*arp))
		return -EINVAL;
	if (arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return -EINVAL;
	if (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) || !self->has_ip4 ||
	    memcmp(&a->arp_tip, self->ip4, 4) != 0)
		return -ENOENT;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	a->arp_tha = a->arp_sha;
	a->arp_tip = a->arp_sip;
	a->arp_sha = self->mac;
	memcpy(&a->arp_sip, self->ip4, 4);
	rf_eth_answer(eth, self);
	return 0;
}

static uint16_t rf_cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int rf_dpdk_answer_icmp4(struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			 const struct rf_dpdk_self *self)
{
	unsigned hl = rte_ipv4_hdr_len(ip);
	unsigned len = rte_be_to_cpu_16(ip->total_length) - hl;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + hl);

	(void)m; /* the caller checked total_length against the frame */
	if (len < sizeof(*icmp) || rte_raw_cksum(icmp, len) != 0xffff)
		return -EINVAL;
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return -ENOENT;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, len);
	ip->dst_addr = ip->src_addr;
	memcpy(&ip->src_addr, self->ip4, 4);
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	rf_eth_answer(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), self);
	return 0;
}

static bool rf_ip6_solicited_node(const uint8_t *ip6, const uint8_t *own)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	return memcmp(ip6, prefix, sizeof(prefix)) == 0 && memcmp(ip6 + 13, own + 13, 3) == 0;
}

static void rf_icmp6_cksum(struct rte_ipv6_hdr *ip, uint8_t *icmp, unsigned len)
{
	uint16_t sum;

	icmp[2] = icmp[3] = 0;
	sum = (uint16_t)~rf_cksum_fold((uint32_t)rte_ipv6_phdr_cksum(ip, 0) +
				       rte_raw_cksum(icmp, len));
	memcpy(icmp + 2, &sum, 2);
}

/* Turn the neighbour solicitation in m into our advertisement. */
static int rf_answer_ns(struct rte_mbuf *m, struct rte_ipv6_hdr *ip, uint8_t *icmp,
			unsigned len, const struct rf_dpdk_self *self)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t unspecified[16];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	bool dad = memcmp(ip->src_addr, unspecified, 16) == 0;
	unsigned frame = (unsigned)((uint8_t *)icmp - (uint8_t *)eth) + RF_NA_LEN;

	if (ip->hop_limits != 255 || icmp[1] != 0 || len < RF_NS_LEN)
		return -EINVAL;
	if (memcmp(icmp + 8, self->ip6, 16) != 0)
		return -ENOENT;
	if (frame > m->data_len && frame - m->data_len > rte_pktmbuf_tailroom(m))
		return -EINVAL;
	rf_eth_answer(eth, self);
	/* a duplicate address check (from ::) is answered to all nodes */
	if (dad) {
		memcpy(ip->dst_addr, all_nodes, 16);
		eth->dst_addr = (struct rte_ether_addr){ { 0x33, 0x33, 0, 0, 0, 1 } };
	} else {
		memcpy(ip->dst_addr, ip->src_addr, 16);
	}
	memcpy(ip->src_addr, self->ip6, 16);
	ip->payload_len = RTE_BE16(RF_NA_LEN);
	icmp[0] = RF_ICMP6_NA;
	icmp[4] = (uint8_t)((dad ? 0 : RF_NA_FLAG_SOLICITED) | RF_NA_FLAG_OVERRIDE);
	icmp[5] = icmp[6] = icmp[7] = 0;
	/* the target stays at icmp + 8; then our MAC as its link-layer option */
	icmp[24] = RF_ND_OPT_TARGET_LLADDR;
	icmp[25] = 1;
	memcpy(icmp + 26, self->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	rf_icmp6_cksum(ip, icmp, RF_NA_LEN);
	m->data_len = (uint16_t)frame;
	m->pkt_len = frame;
	return 0;
}

int rf_dpdk_answer_icmp6(struct rte_mbuf *m, struct rte_ipv6_hdr *ip,
			 const struct rf_dpdk_self *self)
{
	uint8_t *icmp = (uint8_t *)(ip + 1);
	unsigned len = rte_be_to_cpu_16(ip->payload_len);
	bool to_us;

	if (!self->has_ip6)
		return -ENOENT;
	to_us = memcmp(ip->dst_addr, self->ip6, 16) == 0;
	if (!to_us && !rf_ip6_solicited_node(ip->dst_addr, self->ip6))
		return -ENOENT;
	if (len < 8 || rf_cksum_fold((uint32_t)rte_ipv6_phdr_cksum(ip, 0) +
				     rte_raw_cksum(icmp, len)) != 0xffff)
		return -EINVAL;
	if (icmp[0] == RF_ICMP6_NS)
		return rf_answer_ns(m, ip, icmp, len, self);
	if (icmp[0] != RF_ICMP6_ECHO_REQUEST || icmp[1] != 0 || !to_us)
		return -ENOENT;
	icmp[0] = RF_ICMP6_ECHO_REPLY;
	memcpy(ip->dst_addr, ip->src_addr, 16);
	memcpy(ip->src_addr, self->ip6, 16);
	ip->hop_limits = 64;
	rf_icmp6_cksum(ip, icmp, len);
	rf_eth_answer(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), self);
	return 0;
}
