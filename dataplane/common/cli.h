/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command-line values, checked: each parser takes the program's name and
 * the option's for its message, prints a clear error to stderr when the
 * value is not what the option wants, and returns -EINVAL then (0 when
 * *out was set).
 */
#ifndef RF_CLI_H
#define RF_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* A whole number in [min, max], with no message: for values inside
 * others (a prefix length), whose caller says what was wrong. */
bool rf_cli_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out);

/* A whole number in [min, max]. */
int rf_cli_uint(const char *prog, const char *opt, const char *v, unsigned min,
		unsigned max, unsigned *out);
int rf_cli_u64(const char *prog, const char *opt, const char *v, uint64_t min,
	       uint64_t max, uint64_t *out);

/* A decimal number in [min, max]. */
int rf_cli_real(const char *prog, const char *opt, const char *v, double min, double max,
		double *out);

/* Seconds, >= 0, fractions allowed. */
int rf_cli_seconds(const char *prog, const char *opt, const char *v, double *out);

/* A rate in bit/s: "2500000", "800k", "500M", "10G". */
int rf_cli_rate(const char *prog, const char *opt, const char *v, uint64_t *out);

/* 1 to 16 hex digits (a stream id, a substream mask). */
int rf_cli_hex64(const char *prog, const char *opt, const char *v, uint64_t *out);

#endif
