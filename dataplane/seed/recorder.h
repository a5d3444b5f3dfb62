/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --record DIR: writes every chunk of every stream, as a TX lcore would
 * read it from the store (lock-free, rechecked after the copy), to
 * DIR/<stream>.ts (the payloads, in order) and DIR/<stream>.idx (one line
 * per chunk: "seq len flags"). For checking ingest against its source.
 */
#ifndef RF_RECORDER_H
#define RF_RECORDER_H

#include <stdint.h>

#include "ingest.h"

struct rf_recorder;

/* 0 or -errno (with err set): cannot create the files. */
int rf_recorder_start(struct rf_recorder **out, const char *dir,
		      struct rf_ingest *const *ingests, const char *const *names,
		      unsigned count, char *err, size_t errlen);

/* Write what is left, close the files. Returns chunks that fell out of the
 * window before they could be read (0 when the recorder kept up); failed
 * writes are logged as an error. */
uint64_t rf_recorder_stop(struct rf_recorder *r);

#endif
