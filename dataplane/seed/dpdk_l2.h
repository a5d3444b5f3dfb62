/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a host on a link must answer, for a seed that owns its NIC (no
 * kernel behind it): ARP for its IPv4 address, IPv6 neighbour
 * solicitations for its IPv6 address, and ICMP/ICMPv6 echo. Each answer
 * is built in the request's own mbuf and goes back to the MAC address the
 * request came from. Cold path: a few frames a second.
 */
#ifndef RF_DPDK_L2_H
#define RF_DPDK_L2_H

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dpdk_tx.h"

/* Each returns 0 when m is now the reply to send on the port it came in
 * on, -ENOENT when the request is not for the seed (or is not a request),
 * -EINVAL when it is malformed. */
int rf_dpdk_answer_arp(struct rte_mbuf *m, const struct rf_dpdk_self *self);

/* ip: the frame's IPv4 header, protocol ICMP, addressed to the seed. */
int rf_dpdk_answer_icmp4(struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
			 const struct rf_dpdk_self *self);

/* ip: the frame's IPv6 header, next header ICMPv6, any destination. */
int rf_dpdk_answer_icmp6(struct rte_mbuf *m, struct rte_ipv6_hdr *ip,
			 const struct rf_dpdk_self *self);

#endif
