/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

bool rf_cli_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	/* strtoull takes "-1" as a huge number: refuse any sign */
	if (errno || *end || !isdigit((unsigned char)*v) || n < min || n > max)
		return false;
	*out = n;
	return true;
}

int rf_cli_u64(const char *prog, const char *opt, const char *v, uint64_t min,
	       uint64_t max, uint64_t *out)
{
	if (!rf_cli_parse_u64(v, min, max, out)) {
		fprintf(stderr, "%s: %s wants a whole number from %llu to %llu, got '%s'\n", prog,
			opt, (unsigned long long)min, (unsigned long long)max, v);
		return -EINVAL;
	}
	return 0;
}

int rf_cli_uint(const char *prog, const char *opt, const char *v, unsigned min,
		unsigned max, unsigned *out)
{
	uint64_t n;
	int rc = rf_cli_u64(prog, opt, v, min, max, &n);

	if (rc == 0)
		*out = (unsigned)n;
	return rc;
}

/* A decimal number in [min, max], or NAN. */
static double rf_cli_parse_real(const char *v, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || end == v || !(d >= min && d <= max))
		return NAN;
	return d;
}

int rf_cli_real(const char *prog, const char *opt, const char *v, double min, double max,
		double *out)
{
	double d = rf_cli_parse_real(v, min, max);

	if (isnan(d)) {
		fprintf(stderr, "%s: %s wants a number from %g to %g, got '%s'\n", prog, opt, min,
			max, v);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

int rf_cli_seconds(const char *prog, const char *opt, const char *v, double *out)
{
	double d = rf_cli_parse_real(v, 0, 1e9);

	if (isnan(d)) {
		fprintf(stderr, "%s: %s wants seconds (>= 0), got '%s'\n", prog, opt, v);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

int rf_cli_rate(const char *prog, const char *opt, const char *v, uint64_t *out)
{
	char *end;
	double n;

	errno = 0;
	n = strtod(v, &end);
	if (*end == 'k' || *end == 'K')
		n *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		n *= 1e6, end++;
	else if (*end == 'G' || *end == 'g')
		n *= 1e9, end++;
	if (errno || *end || end == v || !(n >= 0) || n > 1e13) {
		fprintf(stderr, "%s: %s wants a rate in bit/s such as 800M or 10G, got '%s'\n",
			prog, opt, v);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

int rf_cli_hex64(const char *prog, const char *opt, const char *v, uint64_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 16);
	if (errno || *end || !isxdigit((unsigned char)*v) || end - v > 16) {
		fprintf(stderr, "%s: %s wants 1 to 16 hex digits, got '%s'\n", prog, opt, v);
		return -EINVAL;
	}
	*out = n;
	return 0;
}
