/* SPDX-License-Identifier: BSD-3-Clause */
/* rf_serve_dpdk() in a build without DPDK: say so, clearly. */
#include <errno.h>

#include "log.h"
#include "serve.h"

int rf_serve_dpdk(const struct rf_serve_config *cfg)
{
	(void)cfg;
	rf_err("this rawflow-seed was built without DPDK (libdpdk-dev): "
	       "serve with --backend kernel, or rebuild with DPDK");
	return -ENOTSUP;
}
