/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Batched UDP sending for the kernel-socket drivers (the seed's kernel
 * backend, the peer node, the TX benchmark): datagrams queue up and leave
 * in one sendmmsg; stream data leaves by reference, two iovecs per
 * datagram (the 28-byte DATA header, then the chunk's payload in the
 * store), so the kernel's copy is the only one.
 */
#ifndef RF_UDP_BATCH_H
#define RF_UDP_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "msg.h"
#include "seed.h"

#define RF_UDP_BATCH 64

struct rf_udp_batch {
	int fd;
	bool v6_socket;          /* a dual-stack socket: IPv4 goes v4-mapped */
	unsigned n;
	uint64_t sent, bytes;
	uint64_t dropped;        /* the socket would not take them (counted, never waited on long) */
	uint64_t blocked;        /* times the socket was full: the uplink is the limit */
	struct mmsghdr msg[RF_UDP_BATCH];
	struct iovec iov[RF_UDP_BATCH][2];
	struct sockaddr_storage to[RF_UDP_BATCH];
	uint8_t hdr[RF_UDP_BATCH][RF_DATA_HDR_LEN];
};

void rf_udp_batch_init(struct rf_udp_batch *b, int fd, bool v6_socket);

/* Queue a whole datagram (a reply, a SIGNATURE). The bytes must stay put
 * until the next flush. */
void rf_udp_batch_datagram(struct rf_udp_batch *b, const struct rf_addr *dst,
			   const void *buf, uint16_t len);

/* Queue what rf_seed_pump() handed out: DATA by reference (its header is
 * written here) or a SIGNATURE. Returns the payload iovec of a DATA, so a
 * caller may point it elsewhere, NULL for a SIGNATURE. */
struct iovec *rf_udp_batch_seed_tx(struct rf_udp_batch *b, uint64_t stream_id,
				   const struct rf_seed_tx *t);

/* Send what is queued. A full socket buffer gets three short waits, then
 * the rest is dropped and counted: the protocol repairs, the loop never
 * stalls. A datagram the kernel refuses (unreachable) is skipped. */
void rf_udp_batch_flush(struct rf_udp_batch *b);

#endif
