/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "drop.h"
#include "log.h"
#include "sockaddr.h"

#define RF_CONTROL_LINE 4096
#define RF_CONTROL_WAIT_MS 200

int rf_control_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		rf_err("control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a socket left by a crash */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 4) != 0) {
		rc = -errno;
		rf_err("cannot listen on the control socket %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rf_info("control socket: %s", path);
	return fd;
}

void rf_control_stream_json(FILE *out, bool first, const char *stream_id,
			    const struct rf_seed_stats *s)
{
	fprintf(out, "%s{\"stream_id\": \"%s\", \"sessions\": %llu, \"joins\": %llu, "
		"\"tx_packets\": %llu, \"tx_bytes\": %llu, \"rx_packets\": %llu, "
		"\"redirects\": %llu, \"timeouts\": %llu, \"repairs_sent\": %llu, "
		"\"committed_bps\": %llu, \"denied\": %llu, \"unvalidated_rx_bytes\": %llu, "
		"\"unvalidated_tx_bytes\": %llu, \"drops\": {",
		first ? "" : ", ", stream_id, (unsigned long long)s->sessions,
		(unsigned long long)s->joins, (unsigned long long)s->tx_packets,
		(unsigned long long)s->tx_bytes, (unsigned long long)s->rx_packets,
		(unsigned long long)s->redirects, (unsigned long long)s->timeouts,
		(unsigned long long)s->repairs_sent, (unsigned long long)s->committed_bps,
		(unsigned long long)s->drops[RF_DROP_DENIED],
		(unsigned long long)s->unvalidated_rx_bytes,
		(unsigned long long)s->unvalidated_tx_bytes);
	for (int d = RF_DROP_NONE + 1; d < RF_DROP_MAX; d++)
		fprintf(out, "%s\"%s\": %llu", d > 1 ? ", " : "", rf_drop_name(d),
			(unsigned long long)s->drops[d]);
	fprintf(out, "}}");
}

void rf_control_session_json(FILE *out, bool first, const char *stream_id,
			     const struct rf_seed_peer_view *v)
{
	char where[80];

	rf_addr_format(&v->addr, where, sizeof(where));
	fprintf(out, "%s\n {\"stream_id\": \"%s\", \"addr\": \"%s\", \"peer_id\": \"%016llx\", "
		"\"substreams\": \"%llx\", \"upload_kbps\": %u, \"continuity_ppm\": %u, "
		"\"buffer_ms\": %u, \"level\": %u}",
		first ? "" : ",", stream_id, where, (unsigned long long)v->peer_id,
		(unsigned long long)v->substreams, v->upload_kbps, v->quality.continuity_ppm,
		v->quality.buffer_ms, v->quality.level);
}

void rf_control_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	close(fd);
	unlink(path);
}

static void rf_control_deny(const struct rf_control_ops *ops, char *args, FILE *out)
{
	static struct rf_seed_deny list[RF_SEED_DENY_MAX];
	unsigned n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		struct rf_prefix p;

		if (n == RF_SEED_DENY_MAX || rf_prefix_parse(tok, &p) != 0) {
			fprintf(out, "{\"error\": \"bad prefix or more than %d\"}\n", RF_SEED_DENY_MAX);
			return;
		}
		list[n].family = p.family;
		list[n].prefix_len = p.len;
		memcpy(list[n].ip, p.ip, sizeof(list[n].ip));
		n++;
	}
	if (ops->deny(ops->ctx, list, n) != 0) {
		fprintf(out, "{\"error\": \"deny list refused\"}\n");
		return;
	}
	rf_info("control: deny list set (%u prefixes)", n);
	fprintf(out, "{\"denied_prefixes\": %u}\n", n);
}

static void rf_control_seeds(const struct rf_control_ops *ops, char *args, FILE *out)
{
	struct rf_candidate list[RF_CONTROL_SEEDS];
	unsigned n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == RF_CONTROL_SEEDS || rf_addr_parse(tok, 4433, &list[n].addr) != 0) {
			fprintf(out, "{\"error\": \"bad ADDR:PORT or more than %d seeds\"}\n",
				RF_CONTROL_SEEDS);
			return;
		}
		list[n].substreams = ~0ull;
		list[n].spare_kbps = 0;
		list[n].level = RF_LEVEL_SEED;
		n++;
	}
	ops->seeds(ops->ctx, list, n);
	rf_info("control: %u other seed(s) offered as the last resort", n);
	fprintf(out, "{\"seeds\": %u}\n", n);
}

/* Read one line within RF_CONTROL_WAIT_MS, answer, close. */
static void rf_control_serve(int c, const struct rf_control_ops *ops)
{
	char line[RF_CONTROL_LINE];
	size_t len = 0;
	FILE *out;

	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		ssize_t n;

		if (poll(&(struct pollfd){ .fd = c, .events = POLLIN }, 1, RF_CONTROL_WAIT_MS) <= 0)
			break;
		n = recv(c, line + len, sizeof(line) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	out = fdopen(c, "w");
	if (!out) {
		close(c);
		return;
	}
	if (strcmp(line, "stats") == 0)
		ops->stats(ops->ctx, out);
	else if (strcmp(line, "sessions") == 0)
		ops->sessions(ops->ctx, out);
	else if (strncmp(line, "deny", 4) == 0 && (line[4] == '\0' || line[4] == ' '))
		rf_control_deny(ops, line + 4, out);
	else if (strncmp(line, "seeds", 5) == 0 && (line[5] == '\0' || line[5] == ' '))
		rf_control_seeds(ops, line + 5, out);
	else if (strcmp(line, "drain") == 0) {
		rf_info("control: drain asked");
		fprintf(out, "{\"draining\": true}\n");
		ops->drain(ops->ctx);
	} else
		fprintf(out, "{\"error\": \"unknown command; stats, sessions, deny [PREFIX ...], seeds [ADDR:PORT ...], drain\"}\n");
	fclose(out);
}

void rf_control_poll(int fd, const struct rf_control_ops *ops)
{
	int c;

	if (fd < 0)
		return;
	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		rf_control_serve(c, ops);
}
