/* SPDX-License-Identifier: BSD-3-Clause */
/* Lifecycle logging for the daemons and tools: one line per event, to
 * stderr, with a wall-clock stamp. Never called per packet. */
#ifndef RF_LOG_H
#define RF_LOG_H

enum rf_log_level { RF_LOG_ERR, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG };

/* Messages above this level are dropped (default RF_LOG_INFO). */
void rf_log_set_level(enum rf_log_level level);

void rf_log(enum rf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define rf_err(...) rf_log(RF_LOG_ERR, __VA_ARGS__)
#define rf_warn(...) rf_log(RF_LOG_WARN, __VA_ARGS__)
#define rf_info(...) rf_log(RF_LOG_INFO, __VA_ARGS__)
#define rf_debug(...) rf_log(RF_LOG_DEBUG, __VA_ARGS__)

#endif
