/* SPDX-License-Identifier: BSD-3-Clause */
/* Header validation (wire.h): every malformed class gets its own reason. */
#include <criterion/criterion.h>
#include <string.h>

#include "drop.h"
#include "msg.h"
#include "wire.h"

static uint8_t pkt[RF_MAX_DATAGRAM + 64];

/* A valid KEEPALIVE: the smallest fixed-size message. */
static size_t rf_make_keepalive(void)
{
	struct rf_msg m = { .type = RF_MSG_KEEPALIVE, .stream_id = 42 };
	int len = rf_msg_encode(&m, pkt, sizeof(pkt));

	cr_assert_eq(len, RF_HDR_LEN + 8);
	return (size_t)len;
}

static enum rf_drop check(size_t len)
{
	return rf_wire_check(pkt, pkt + len);
}

Test(wire, valid_header_accepted)
{
	cr_assert_eq(check(rf_make_keepalive()), RF_DROP_NONE);
}

Test(wire, short_datagram)
{
	size_t len = rf_make_keepalive();

	for (size_t n = 0; n < RF_HDR_LEN; n++)
		cr_assert_eq(check(n), RF_DROP_SHORT, "len %zu", n);
	/* a header that promises more body than the datagram holds */
	cr_assert_eq(check(len - 1), RF_DROP_BAD_LENGTH);
}

Test(wire, bad_magic)
{
	size_t len = rf_make_keepalive();

	pkt[0] ^= 0x01;
	cr_assert_eq(check(len), RF_DROP_BAD_MAGIC);
}

Test(wire, bad_version)
{
	size_t len = rf_make_keepalive();

	pkt[RF_OFF_VERSION] = 0;
	cr_assert_eq(check(len), RF_DROP_BAD_VERSION);
	pkt[RF_OFF_VERSION] = 2;
	cr_assert_eq(check(len), RF_DROP_BAD_VERSION);
}

Test(wire, unknown_type)
{
	size_t len = rf_make_keepalive();
	const uint8_t unknown[] = { 0, RF_MSG_TYPE_MAX + 1, 0x7f, 0xff };

	for (size_t i = 0; i < sizeof(unknown); i++) {
		pkt[RF_OFF_TYPE] = unknown[i];
		cr_assert_eq(check(len), RF_DROP_UNKNOWN_TYPE, "type %u",
			     unknown[i]);
	}
}

Test(wire, length_beyond_datagram)
{
	size_t len = rf_make_keepalive();

	rf_put16(pkt + RF_OFF_LENGTH, 0xffff);
	cr_assert_eq(check(len), RF_DROP_BAD_LENGTH);
}

Test(wire, body_larger_than_type_allows)
{
	size_t len = rf_make_keepalive();

	/* KEEPALIVE is exactly 8 bytes: 9 is oversized even when the
	 * datagram has room for them. */
	rf_put16(pkt + RF_OFF_LENGTH, 9);
	cr_assert_eq(check(len + 1), RF_DROP_OVERSIZE);
	rf_put16(pkt + RF_OFF_LENGTH, 7);
	cr_assert_eq(check(len), RF_DROP_SHORT);
}

Test(wire, datagram_larger_than_limit)
{
	rf_make_keepalive();
	cr_assert_eq(check(RF_MAX_DATAGRAM), RF_DROP_NONE); /* padding */
	cr_assert_eq(check(RF_MAX_DATAGRAM + 1), RF_DROP_OVERSIZE);
}

Test(wire, trailing_padding_ignored)
{
	size_t len = rf_make_keepalive();

	memset(pkt + len, 0xee, 100);
	cr_assert_eq(check(len + 100), RF_DROP_NONE);
}

Test(wire, hello_must_be_padded)
{
	struct rf_msg m = { .type = RF_MSG_HELLO, .stream_id = 42 };
	int len = rf_msg_encode(&m, pkt, sizeof(pkt));

	cr_assert_eq(len, RF_HELLO_MIN);
	cr_assert_eq(check((size_t)len), RF_DROP_NONE);
	cr_assert_eq(check((size_t)len - 1), RF_DROP_SHORT);
	cr_assert_eq(check(RF_HDR_LEN + 8), RF_DROP_SHORT);
}

Test(wire, every_type_has_bounds)
{
	uint16_t min, max;

	for (unsigned t = 1; t <= RF_MSG_TYPE_MAX; t++) {
		cr_assert_eq(rf_body_bounds((uint8_t)t, &min, &max), 0,
			     "type %u", t);
		cr_assert_leq(min, max);
		cr_assert_leq(max, RF_MAX_BODY, "type %u", t);
		cr_assert_str_neq(rf_msg_name((uint8_t)t), "unknown");
	}
	cr_assert_str_eq(rf_msg_name(0), "unknown");
}

Test(wire, drop_names_unique)
{
	for (int i = 0; i < RF_DROP_MAX; i++) {
		cr_assert_not_null(rf_drop_name(i));
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(rf_drop_name(i), rf_drop_name(j));
	}
	cr_assert_str_eq(rf_drop_name(RF_DROP_BAD_MAGIC), "bad_magic");
	cr_assert_str_eq(rf_drop_name(RF_DROP_MAX), "invalid");
}

Test(wire, byte_order_is_big_endian)
{
	uint8_t b[8];

	rf_put64(b, 0x0102030405060708ULL);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(b[i], i + 1);
	cr_assert_eq(rf_get16(b), 0x0102);
	cr_assert_eq(rf_get32(b + 4), 0x05060708u);
	cr_assert_eq(rf_get64(b), 0x0102030405060708ULL);
}
