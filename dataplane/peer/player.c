/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "player.h"

#define RF_HISTORY_BYTES (4u << 20)    /* a few GOPs at broadcast rates */
#define RF_CLIENT_BACKLOG (8u << 20)   /* a player this far behind is dropped */
#define RF_REQUEST_MAX 2048

struct rf_player_client {
	int fd;
	bool answered;          /* the response header went out */
	bool streaming;         /* it gets chunks */
	bool wait_rap;          /* ... from the next random access point */
	char req[RF_REQUEST_MAX];
	size_t req_len;
	uint8_t *pending;       /* bytes not yet taken by the socket */
	size_t pending_len, pending_cap;
};

struct rf_player {
	int listen_fd;
	int out_fd;
	char path[256];
	struct rf_player_client client[RF_PLAYER_CLIENTS_MAX];
	/* history: the chunks since the last random access point */
	uint8_t *history;
	size_t history_len;
	bool history_ok;        /* it starts at a random access point */
	uint64_t bytes_out;
	uint64_t out_dropped;   /* chunks the output fd did not take whole */
};

static int rf_player_listen(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		rf_err("player: '%s' is not an IPv4 address to listen on", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
		rf_err("player: cannot listen on %s:%u: %s", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct rf_player *rf_player_open(const char *addr, uint16_t port, const char *path,
				 int out_fd)
{
	struct rf_player *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->out_fd = out_fd;
	if (out_fd >= 0)
		fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
	pl->listen_fd = -1;
	snprintf(pl->path, sizeof(pl->path), "%s", path);
	for (int i = 0; i < RF_PLAYER_CLIENTS_MAX; i++)
		pl->client[i].fd = -1;
	pl->history = malloc(RF_HISTORY_BYTES);
	if (!pl->history || (port && (pl->listen_fd = rf_player_listen(addr, port)) < 0)) {
		free(pl->history);
		free(pl);
		return NULL;
	}
	return pl;
}

static void rf_client_drop(struct rf_player_client *c)
{
	close(c->fd);
	free(c->pending);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void rf_player_close(struct rf_player *pl)
{
	if (!pl)
		return;
	for (int i = 0; i < RF_PLAYER_CLIENTS_MAX; i++)
		if (pl->client[i].fd >= 0)
			rf_client_drop(&pl->client[i]);
	if (pl->listen_fd >= 0)
		close(pl->listen_fd);
	if (pl->out_dropped)
		rf_warn("player output: %llu chunks dropped (the reader fell behind)",
			(unsigned long long)pl->out_dropped);
	if (pl->out_fd > STDERR_FILENO)
		close(pl->out_fd);
	free(pl->history);
	free(pl);
}

int rf_player_listen_fd(const struct rf_player *pl)
{
	return pl->listen_fd;
}

/* Queue bytes for a client, sending what the socket takes now. False
 * when the client is gone or too far behind. */
static bool rf_client_send(struct rf_player_client *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (c->pending_len == 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	if (len == 0)
		return true;
	if (c->pending_len + len > RF_CLIENT_BACKLOG)
		return false;
	if (c->pending_len + len > c->pending_cap) {
		size_t cap = c->pending_cap ? c->pending_cap * 2 : 65536;
		uint8_t *np;

		while (cap < c->pending_len + len)
			cap *= 2;
		np = realloc(c->pending, cap);
		if (!np)
			return false;
		c->pending = np;
		c->pending_cap = cap;
	}
	memcpy(c->pending + c->pending_len, p, len);
	c->pending_len += len;
	return true;
}

/* Push out a client's backlog. */
static bool rf_client_flush(struct rf_player_client *c)
{
	ssize_t n;

	if (c->pending_len == 0)
		return true;
	n = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
	c->pending_len -= (size_t)n;
	return true;
}

/* Answer a complete request: the stream from the last random access
 * point on, or 404. */
static bool rf_client_answer(struct rf_player *pl, struct rf_player_client *c)
{
	static const char ok[] = "HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n"
				 "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
	static const char missing[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	char method[8], path[300];

	c->answered = true;
	if (sscanf(c->req, "%7s %299s", method, path) != 2 || strcmp(method, "GET") != 0 ||
	    strcmp(path, pl->path) != 0) {
		rf_client_send(c, (const uint8_t *)missing, sizeof(missing) - 1);
		return false;
	}
	c->streaming = true;
	c->wait_rap = !pl->history_ok;
	rf_info("player connected (%s)", pl->path);
	return rf_client_send(c, (const uint8_t *)ok, sizeof(ok) - 1) &&
	       (c->wait_rap || rf_client_send(c, pl->history, pl->history_len));
}

static void rf_player_accept(struct rf_player *pl)
{
	int fd;

	while ((fd = accept4(pl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int i;

		for (i = 0; i < RF_PLAYER_CLIENTS_MAX && pl->client[i].fd >= 0; i++)
			;
		if (i == RF_PLAYER_CLIENTS_MAX) {
			close(fd); /* full: the player will retry */
			continue;
		}
		pl->client[i].fd = fd;
	}
}

void rf_player_poll(struct rf_player *pl)
{
	if (pl->listen_fd >= 0)
		rf_player_accept(pl);
	for (int i = 0; i < RF_PLAYER_CLIENTS_MAX; i++) {
		struct rf_player_client *c = &pl->client[i];
		ssize_t n;

		if (c->fd < 0)
			continue;
		if (!c->answered) {
			n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len,
				 MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN) ||
			    (n > 0 && c->req_len + (size_t)n >= sizeof(c->req) - 1)) {
				rf_client_drop(c);
				continue;
			}
			if (n > 0)
				c->req_len += (size_t)n;
			c->req[c->req_len] = '\0';
			if (strstr(c->req, "\r\n\r\n") && !rf_client_answer(pl, c) &&
			    !c->streaming && !rf_client_flush(c))
				rf_client_drop(c);
			continue;
		}
		if (!rf_client_flush(c) || (!c->streaming && c->pending_len == 0)) {
			if (c->streaming)
				rf_info("player disconnected");
			rf_client_drop(c);
		}
	}
}

void rf_player_chunk(struct rf_player *pl, const uint8_t *payload, uint16_t len, bool rap)
{
	/* the history restarts at every random access point; a GOP too long
	 * for it leaves new players waiting for the next one */
	if (rap) {
		pl->history_len = 0;
		pl->history_ok = true;
	}
	if (pl->history_ok && pl->history_len + len > RF_HISTORY_BYTES)
		pl->history_ok = false;
	if (pl->history_ok) {
		memcpy(pl->history + pl->history_len, payload, len);
		pl->history_len += len;
	}
	if (pl->out_fd >= 0) {
		/* never wait on a pipe: a reader that falls behind loses chunks */
		ssize_t n = write(pl->out_fd, payload, len);

		if (n == len)
			pl->bytes_out += len;
		else
			pl->out_dropped++;
	}
	for (int i = 0; i < RF_PLAYER_CLIENTS_MAX; i++) {
		struct rf_player_client *c = &pl->client[i];

		if (c->fd < 0 || !c->streaming || (c->wait_rap && !rap))
			continue;
		c->wait_rap = false;
		if (!rf_client_send(c, payload, len)) {
			rf_warn("player too slow or gone: disconnected");
			rf_client_drop(c);
			continue;
		}
		pl->bytes_out += len;
	}
}

unsigned rf_player_clients(const struct rf_player *pl)
{
	unsigned n = 0;

	for (int i = 0; i < RF_PLAYER_CLIENTS_MAX; i++)
		n += pl->client[i].fd >= 0 && pl->client[i].streaming;
	return n;
}

uint64_t rf_player_bytes_out(const struct rf_player *pl)
{
	return pl->bytes_out;
}
