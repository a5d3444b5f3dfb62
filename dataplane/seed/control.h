/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed's local control socket (--control PATH, both backends), for rawflow-control
 * and operators (rawflowctl control PATH ...): a Unix stream socket, one
 * request per connection, one line in, one JSON object out.
 *
 *   stats                 counters per stream
 *   sessions              the sessions of every stream
 *   deny [PREFIX ...]     replace the deny list (198.18.0.0/15, 2001:db8::/32);
 *                         none clears it
 *   seeds [ADDR:PORT ...] the other seeds, offered as the last resort after
 *                         the peers with spare upload (rawflow-control fills
 *                         it from the grid); none clears it
 *   drain                 redirect every peer elsewhere, then exit
 *
 * Never blocks the serving loop for long: a client has 200 ms to send its
 * line.
 */
#ifndef RF_CONTROL_H
#define RF_CONTROL_H

#include <stdbool.h>
#include <stdio.h>

#include "seed.h"

#define RF_CONTROL_SEEDS (RF_SEED_DIR_MAX / 4) /* other seeds kept */

struct rf_control_ops {
	void *ctx;
	void (*stats)(void *ctx, FILE *out);
	void (*sessions)(void *ctx, FILE *out);
	int (*deny)(void *ctx, const struct rf_seed_deny *list, unsigned n);
	void (*seeds)(void *ctx, const struct rf_candidate *list, unsigned n);
	void (*drain)(void *ctx);
};

/* Listen on path (a stale socket there is replaced). The fd, or -errno
 * (logged). */
int rf_control_open(const char *path);

/* Answer the requests waiting on fd. */
void rf_control_poll(int fd, const struct rf_control_ops *ops);

void rf_control_close(int fd, const char *path);

/* The answers' pieces both backends write: one stream's counters (in the
 * stats answer's "streams" list), one session (in "sessions"). */
void rf_control_stream_json(FILE *out, bool first, const char *stream_id,
			    const struct rf_seed_stats *s);
void rf_control_session_json(FILE *out, bool first, const char *stream_id,
			     const struct rf_seed_peer_view *v);

#endif
