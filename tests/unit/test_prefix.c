/* SPDX-License-Identifier: BSD-3-Clause */
/* Address prefixes as the deny list, join tokens and rawflow-flood take
 * them: both families, a bare address, and clear refusals. */
#include <criterion/criterion.h>
#include <errno.h>

#include "sockaddr.h"

static struct rf_prefix p;

/* A prefix, then the same address with the family's extreme length. */
static void check_family(const char *text, uint8_t family, uint8_t len, const uint8_t *ip,
			 size_t ip_len, const char *extreme, uint8_t extreme_len)
{
	cr_assert_eq(rf_prefix_parse(text, &p), 0);
	cr_assert_eq(p.family, family);
	cr_assert_eq(p.len, len);
	cr_assert_arr_eq(p.ip, ip, ip_len);
	cr_assert_eq(rf_prefix_parse(extreme, &p), 0);
	cr_assert_eq(p.len, extreme_len);
}

Test(prefix, ipv4)
{
	static const uint8_t ip[4] = { 198, 18, 0, 0 };

	check_family("198.18.0.0/15", RF_AF_INET, 15, ip, 4, "198.18.0.1/0", 0);
}

Test(prefix, ipv6)
{
	static const uint8_t ip[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	check_family("2001:db8::/32", RF_AF_INET6, 32, ip, 16, "2001:db8::1/128", 128);
}

Test(prefix, bare_address_is_the_host)
{
	cr_assert_eq(rf_prefix_parse("198.18.0.2", &p), 0);
	cr_assert_eq(p.len, 32);
	cr_assert_eq(rf_prefix_parse("2001:db8::2", &p), 0);
	cr_assert_eq(p.len, 128);
}

Test(prefix, refusals)
{
	static const char *bad[] = {
		"", "/24", "198.18.0.0/", "198.18.0.0/33", "198.18.0.0/-1",
		"198.18.0.0/24x", "198.18.0.0/ 24", "198.18.0/24", "2001:db8::/129",
		"example.com/24", "198.18.0.0/99999999999999999999",
		"2001:0db8:0000:0000:0000:0000:0000:0000:0000/64",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(rf_prefix_parse(bad[i], &p), -EINVAL, "'%s' was taken", bad[i]);
}
