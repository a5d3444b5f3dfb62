/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * file:// source: a TS file played in real time, paced by its PCR, for
 * tests and demos. With --loop it starts over at the end, marking the
 * restart as a discontinuity (the timestamps jump back).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "source.h"

#define RF_FILE_BLOCK (RF_TS_PACKET * 348)   /* ~64 KiB of whole packets */
#define RF_FILE_NO_PCR_LIMIT (4u << 20)      /* give up pacing after this */
#define RF_PCR_WRAP ((1ull << 33) * 300)

struct rf_file_pacer {
	bool based;
	uint64_t pcr0;          /* the PCR that maps to t0 */
	uint64_t t0_ns;
	uint64_t bytes_no_pcr;  /* read since the last PCR */
};

static uint16_t rf_ts_pid(const uint8_t *pkt)
{
	return (uint16_t)((pkt[1] & 0x1f) << 8 | pkt[2]);
}

/* Nanoseconds from now until the packet with this PCR is due; re-bases on
 * the first PCR and after a jump (a loop, an edit in the file). */
static int64_t rf_file_due_ns(struct rf_file_pacer *p, uint64_t pcr)
{
	uint64_t elapsed = (pcr + RF_PCR_WRAP - p->pcr0) % RF_PCR_WRAP;
	uint64_t now = rf_now_ns();
	int64_t due;

	if (!p->based || elapsed > 60 * RF_PCR_HZ) {
		p->based = true;
		p->pcr0 = pcr;
		p->t0_ns = now;
		return 0;
	}
	due = (int64_t)(p->t0_ns + elapsed * 1000 / 27) - (int64_t)now;
	/* far behind (we were descheduled): catch up without a burst */
	if (due < -500000000) {
		p->pcr0 = pcr;
		p->t0_ns = now;
	}
	return due;
}

/* Feed buf[0..len), sleeping before each PCR-bearing packet until it is
 * due. Returns false to stop (no PCR to pace by). */
static bool rf_file_paced_feed(struct rf_ingest *in, struct rf_file_pacer *p,
			       uint16_t *pcr_pid, const uint8_t *buf, size_t len)
{
	size_t done = 0, off = 0;
	uint64_t pcr;

	while (off + RF_TS_PACKET <= len) {
		const uint8_t *pkt = buf + off;
		int64_t due;

		if (pkt[0] != RF_TS_SYNC) { /* garbage: the chunker counts it */
			off++;
			continue;
		}
		if (rf_ts_pcr(pkt, &pcr) &&
		    (*pcr_pid == 0x1fff || rf_ts_pid(pkt) == *pcr_pid)) {
			*pcr_pid = rf_ts_pid(pkt);
			p->bytes_no_pcr = 0;
			due = rf_file_due_ns(p, pcr);
			if (due > 1000000) {
				rf_ingest_feed(in, buf + done, off - done);
				done = off;
				rf_ingest_sleep(in, (uint32_t)(due / 1000000));
				if (rf_ingest_stopping(in))
					return false;
			}
		}
		off += RF_TS_PACKET;
	}
	rf_ingest_feed(in, buf + done, len - done);
	p->bytes_no_pcr += len;
	return p->bytes_no_pcr < RF_FILE_NO_PCR_LIMIT;
}

enum rf_source_end rf_source_file_run(struct rf_ingest *in)
{
	const char *path = rf_ingest_url(in)->path;
	struct rf_file_pacer pacer = { 0 };
	uint16_t pcr_pid = 0x1fff;
	enum rf_source_end end = RF_SOURCE_RETRY;
	uint8_t *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rf_ingest_why(in, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT || errno == EACCES ? RF_SOURCE_FATAL
							  : RF_SOURCE_RETRY;
	}
	buf = malloc(RF_FILE_BLOCK);
	if (!buf) {
		close(fd);
		rf_ingest_why(in, "out of memory");
		return RF_SOURCE_RETRY;
	}
	rf_ingest_set_mode(in, RF_CHUNKER_TS);
	while (!rf_ingest_stopping(in)) {
		n = read(fd, buf, RF_FILE_BLOCK);
		if (n < 0) {
			rf_ingest_why(in, "reading %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			if (!rf_ingest_config(in)->loop) {
				rf_ingest_why(in, "end of %s", path);
				end = RF_SOURCE_DONE;
				break;
			}
			lseek(fd, 0, SEEK_SET);
			rf_ingest_gap(in);
			pacer.based = false;
			continue;
		}
		if (!rf_file_paced_feed(in, &pacer, &pcr_pid, buf, (size_t)n) &&
		    !rf_ingest_stopping(in)) {
			rf_ingest_why(in, "%s has no PCR in its first %u MiB: cannot pace it",
				      path, RF_FILE_NO_PCR_LIMIT >> 20);
			end = RF_SOURCE_FATAL;
			break;
		}
	}
	free(buf);
	close(fd);
	return end;
}
