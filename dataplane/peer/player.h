/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Player output: an HTTP endpoint on localhost that VLC, mpv, ffplay and
 * ffmpeg open (GET /STREAM.ts), and/or a file descriptor (--output -).
 * Every new player starts at the latest random access point already played
 * (a short history is kept), so the picture appears at once; then it gets
 * every chunk as it is played. A player that cannot keep up (its backlog
 * exceeds a limit) is disconnected, never waited for.
 */
#ifndef RF_PLAYER_H
#define RF_PLAYER_H

#include <stdbool.h>
#include <stdint.h>

#define RF_PLAYER_CLIENTS_MAX 16

struct rf_player;

/* Listen on addr:port (port 0: none) for path ("/<stream>.ts"); out_fd >= 0
 * also receives the stream (stdout for pipes). NULL with a logged reason. */
struct rf_player *rf_player_open(const char *addr, uint16_t port, const char *path,
				 int out_fd);
void rf_player_close(struct rf_player *pl);

/* The listening socket (for epoll), -1 when none. */
int rf_player_listen_fd(const struct rf_player *pl);

/* Accept new players, read their requests, answer. Call when the listen
 * socket or any client is readable, and periodically. */
void rf_player_poll(struct rf_player *pl);

/* A chunk was played: keep it in the history and send it to every player. */
void rf_player_chunk(struct rf_player *pl, const uint8_t *payload, uint16_t len,
		     bool rap);

unsigned rf_player_clients(const struct rf_player *pl);
uint64_t rf_player_bytes_out(const struct rf_player *pl);

#endif
