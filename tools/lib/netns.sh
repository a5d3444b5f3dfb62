# SPDX-License-Identifier: BSD-3-Clause
# The test network of the scripts that need one (sourced by
# tests/integration/lib.sh and the benchmarks).

# veth_pair NAME: namespaces NAME-a and NAME-b joined by a veth pair,
# 198.18.0.1/24 in a (dev va) and 198.18.0.2/24 in b (dev vb), both up
# with their loopbacks, no default route. The caller removes the
# namespaces. Needs root.
veth_pair() {
	local n=$1
	ip netns add "$n-a" && ip netns add "$n-b" || return 1
	ip link add va netns "$n-a" type veth peer name vb netns "$n-b" || return 1
	ip -n "$n-a" addr add 198.18.0.1/24 dev va
	ip -n "$n-b" addr add 198.18.0.2/24 dev vb
	ip -n "$n-a" link set va up
	ip -n "$n-b" link set vb up
	ip -n "$n-a" link set lo up
	ip -n "$n-b" link set lo up
}
