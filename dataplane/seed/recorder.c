/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "recorder.h"

#define RF_RECORD_MAX_STREAMS 16
#define RF_RECORD_POLL_NS (20 * 1000000)

struct rf_record_stream {
	struct rf_ingest *in;
	FILE *ts, *idx;
	bool started;
	uint64_t next;
};

struct rf_recorder {
	pthread_t thread;
	bool stop;
	unsigned count;
	uint64_t missed;
	uint64_t write_errors;
	struct rf_record_stream s[RF_RECORD_MAX_STREAMS];
};

/* Write every chunk published since the last call. */
static void rf_record_drain(struct rf_recorder *r, struct rf_record_stream *rs)
{
	const struct rf_chunk_store *store = rf_ingest_store(rs->in);
	uint8_t copy[RF_CHUNK_MAX];

	if (!store)
		return;
	if (!rs->started) {
		rs->next = rf_chunk_store_oldest(store);
		rs->started = true;
	}
	while (rs->next != rf_chunk_store_next(store)) {
		const struct rf_chunk *c = rf_chunk_store_get(store, rs->next);
		uint16_t len;
		uint8_t flags;

		if (!c) { /* fell out of the window before we got to it */
			uint64_t oldest = rf_chunk_store_oldest(store);

			r->missed += oldest - rs->next;
			rs->next = oldest;
			continue;
		}
		len = c->len;
		flags = c->flags;
		memcpy(copy, c->payload, len);
		if (!rf_chunk_store_still_valid(store, c, rs->next))
			continue; /* rewritten under us: the next pass skips it */
		if (fwrite(copy, 1, len, rs->ts) != len ||
		    fprintf(rs->idx, "%llu %u %u\n", (unsigned long long)rs->next, len, flags) < 0)
			r->write_errors++; /* a full disk: the record has a hole */
		rs->next++;
	}
}

static void *rf_record_main(void *arg)
{
	struct rf_recorder *r = arg;
	bool last = false;

	while (!last) {
		struct timespec ts = { 0, RF_RECORD_POLL_NS };

		last = __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
		for (unsigned i = 0; i < r->count; i++)
			rf_record_drain(r, &r->s[i]);
		if (!last)
			nanosleep(&ts, NULL);
	}
	return NULL;
}

static FILE *rf_record_open(const char *dir, const char *name, const char *ext,
			    char *err, size_t errlen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	f = fopen(path, "wb");
	if (!f)
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return f;
}

static void rf_record_close(struct rf_recorder *r)
{
	for (unsigned i = 0; i < r->count; i++) {
		if (r->s[i].ts && fclose(r->s[i].ts) != 0)
			r->write_errors++;
		if (r->s[i].idx && fclose(r->s[i].idx) != 0)
			r->write_errors++;
	}
	if (r->write_errors)
		rf_err("recorder: %llu writes failed: the records are incomplete",
		       (unsigned long long)r->write_errors);
	free(r);
}

int rf_recorder_start(struct rf_recorder **out, const char *dir,
		      struct rf_ingest *const *ingests, const char *const *names,
		      unsigned count, char *err, size_t errlen)
{
	struct rf_recorder *r;
	int rc;

	if (count > RF_RECORD_MAX_STREAMS) {
		snprintf(err, errlen, "--record handles at most %d streams",
			 RF_RECORD_MAX_STREAMS);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++, r->count++) {
		r->s[i].in = ingests[i];
		r->s[i].ts = rf_record_open(dir, names[i], "ts", err, errlen);
		r->s[i].idx = r->s[i].ts ? rf_record_open(dir, names[i], "idx", err, errlen)
					 : NULL;
		if (!r->s[i].idx) {
			r->count++;
			rf_record_close(r);
			return -EIO;
		}
	}
	rc = -pthread_create(&r->thread, NULL, rf_record_main, r);
	if (rc) {
		snprintf(err, errlen, "cannot start the recorder: %s", strerror(-rc));
		rf_record_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

uint64_t rf_recorder_stop(struct rf_recorder *r)
{
	uint64_t missed;

	if (!r)
		return 0;
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	pthread_join(r->thread, NULL);
	missed = r->missed;
	rf_record_close(r);
	return missed;
}
