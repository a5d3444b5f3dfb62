/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Source URLs of the seed's ingest, parsed without I/O so a bad URL is
 * refused at start with a message saying what is wrong.
 *
 *   udp://ADDR:PORT         bind ADDR:PORT; join ADDR if it is multicast
 *   udp://GROUP@IFADDR:PORT join GROUP on the interface that has IFADDR
 *   http(s)://HOST[:PORT]/PATH        a continuous stream (TS or audio)
 *   http(s)://HOST[:PORT]/PATH.m3u8   live HLS (query strings allowed)
 *   file://PATH             a TS file paced by its PCR
 *
 * IPv6 addresses go in brackets: udp://[ff15::1]@[2001:db8::1]:5000.
 */
#ifndef RF_SOURCE_URL_H
#define RF_SOURCE_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_URL_MAX 1024
#define RF_HOST_MAX 64

enum rf_source_kind {
	RF_SOURCE_UDP,
	RF_SOURCE_HTTP,
	RF_SOURCE_HLS,
	RF_SOURCE_FILE,
};

struct rf_source_url {
	enum rf_source_kind kind;
	char url[RF_URL_MAX];       /* as given (http, hls) */
	char addr[RF_HOST_MAX];     /* udp: address to bind (no brackets) */
	char group[RF_HOST_MAX];    /* udp: group to join, "" for none */
	uint16_t port;              /* udp */
	char path[RF_URL_MAX];      /* file */
};

/* 0, or -EINVAL with a message in err (what is wrong and what is
 * expected). Addresses are checked for form, not resolved. */
int rf_source_url_parse(const char *s, struct rf_source_url *u, char *err,
			size_t errlen);

/* Name of a kind for logs: "udp", "http", "hls", "file". */
const char *rf_source_kind_name(enum rf_source_kind kind);

#endif
