/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "sockaddr.h"
#include "udp_batch.h"

#define RF_UDP_FULL_TRIES 3

void rf_udp_batch_init(struct rf_udp_batch *b, int fd, bool v6_socket)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->v6_socket = v6_socket;
}

void rf_udp_batch_flush(struct rf_udp_batch *b)
{
	unsigned done = 0;
	int tries = 0;

	while (done < b->n) {
		int k = sendmmsg(b->fd, b->msg + done, b->n - done, MSG_DONTWAIT);

		if (k > 0) {
			for (int i = 0; i < k; i++)
				b->bytes += b->msg[done + (unsigned)i].msg_len;
			b->sent += (unsigned)k;
			done += (unsigned)k;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			done++; /* this one cannot go (unreachable): the next may */
			b->dropped++;
			continue;
		}
		b->blocked++;
		if (++tries > RF_UDP_FULL_TRIES) {
			b->dropped += b->n - done;
			break;
		}
		poll(&(struct pollfd){ .fd = b->fd, .events = POLLOUT }, 1, 1);
	}
	b->n = 0;
}

/* The next free message, flushing when the batch is full. */
static struct msghdr *rf_udp_batch_slot(struct rf_udp_batch *b, const struct rf_addr *dst)
{
	struct msghdr *h;

	if (b->n == RF_UDP_BATCH)
		rf_udp_batch_flush(b);
	h = &b->msg[b->n].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = &b->to[b->n];
	h->msg_namelen = rf_addr_to_sockaddr(dst, &b->to[b->n], b->v6_socket);
	h->msg_iov = b->iov[b->n];
	h->msg_iovlen = 1;
	b->n++;
	return h;
}

void rf_udp_batch_datagram(struct rf_udp_batch *b, const struct rf_addr *dst,
			   const void *buf, uint16_t len)
{
	struct msghdr *h = rf_udp_batch_slot(b, dst);

	h->msg_iov[0] = (struct iovec){ (void *)buf, len };
}

struct iovec *rf_udp_batch_seed_tx(struct rf_udp_batch *b, uint64_t stream_id,
				   const struct rf_seed_tx *t)
{
	struct msghdr *h;
	uint8_t *hdr;

	if (t->kind == RF_SEED_TX_SIGNATURE) {
		rf_udp_batch_datagram(b, t->dst, t->sig_msg, t->sig_len);
		return NULL;
	}
	h = rf_udp_batch_slot(b, t->dst);
	hdr = b->hdr[b->n - 1];
	rf_data_hdr_write(hdr, stream_id, t->flags, t->seq, t->substream, t->chunk->len);
	h->msg_iov[0] = (struct iovec){ hdr, RF_DATA_HDR_LEN };
	h->msg_iov[1] = (struct iovec){ (void *)t->chunk->payload, t->chunk->len };
	h->msg_iovlen = 2;
	return &h->msg_iov[1];
}
