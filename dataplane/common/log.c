/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static enum rf_log_level rf_log_max = RF_LOG_INFO;

void rf_log_set_level(enum rf_log_level level)
{
	rf_log_max = level;
}

void rf_log(enum rf_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[1024], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > rf_log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one call per line: stdio locks per call, so threads do not interleave */
	fprintf(stderr, "%s.%03ld %-5s %s\n", stamp, ts.tv_nsec / 1000000,
		names[level], line);
}
