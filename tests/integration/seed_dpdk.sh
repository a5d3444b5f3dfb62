#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The seed's DPDK backend end to end: rawflow-seed drives net_af_xdp on one
# end of a veth pair (namespace a, 198.18.0.1 and 2001:db8::1) and owns it:
# the default XDP program hands every frame to DPDK, so ARP, neighbour
# discovery and ping are answered by the seed itself. In namespace b,
# rawflow-probe joins over IPv4 and over IPv6, verifies every chunk against
# the group signatures and writes the stream: byte-identical to the
# source. Then garbage is counted by reason, DPDK telemetry and the control
# socket show it, a deny list ends a session, a spoofed handshake flood
# gets fewer bytes back than it sent while a session plays on, and SIGTERM
# drains (the probe
# is redirected) before the seed exits 0. Last, the zero-copy TX path on
# net_af_packet, which takes chained mbufs, with two queue pairs sharded by
# the kernel's flow hash over two worker lcores.
. "$(dirname "$0")/lib.sh"

PROBE=$RF_BUILD_DIR/tools/probe/rawflow-probe
NS=rfd$$
PREFIX=rf$$

[ "$(id -u)" -eq 0 ] || skip_all "needs root for namespaces and AF_XDP"
ldd "$SEED" | grep -q librte_eal || skip_all "rawflow-seed was built without DPDK"
[ "$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)" -ge 128 ] ||
	skip_all "needs 128 free 2 MB hugepages"
make_netns_pair $NS || skip_all "cannot create network namespaces"
ip -n $NS-b addr add 2001:db8::2/64 dev vb nodad
# veth leaves the UDP checksum to "hardware" that is not there; a real
# sender's NIC fills it in, so make the kernel do it
ip netns exec $NS-b ethtool -K vb tx off >/dev/null

# DPDK 22.11's af_xdp PMD never calls xsk_umem__delete() when it closes a
# port, so libxdp's 80-byte UMEM handle leaks: not ours, not reported
printf 'leak:xsk_umem__create\n' > "$WORK/lsan.supp"
export LSAN_OPTIONS="suppressions=$WORK/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

make_ts 12 "$WORK/src.ts"
ip netns exec $NS-a "$SEED" --source "file://$WORK/src.ts" --loop --key "$WORK/stream.key" \
	--backend dpdk --port-ip 198.18.0.1 --port-ip6 2001:db8::1 --max-sessions 1000 \
	--stats-interval 0 --control "$WORK/seed.sock" -- --vdev net_af_xdp0,iface=va,start_queue=0,queue_count=1 \
	-l 0,1 --in-memory --no-pci --file-prefix $PREFIX 2>"$WORK/seed.log" &
SEED_PID=$!
at_exit "kill -9 $SEED_PID"
wait_for 15 grep -q "serving on" "$WORK/seed.log"
check "the DPDK backend serves the stream once its store is sized" grep -q "serving on" "$WORK/seed.log"
[ $TAP_FAILED -eq 0 ] || { sed 's/^/# /' "$WORK/seed.log"; finish; }
ID=$(grep -o 'stream [0-9a-f]\{16\}' "$WORK/seed.log" | head -1 | cut -d' ' -f2)
MAC=$(grep -o 'MAC [0-9A-F:]\{17\}' "$WORK/seed.log" | head -1 | cut -d' ' -f2 | tr 'A-F' 'a-f')

# ICMP echo from namespace b, over a raw socket: ping HOST
ping_seed() {
	ip netns exec $NS-b python3 - "$1" <<'PY'
import os, socket, struct, sys, time
host = sys.argv[1]; v6 = ':' in host
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
s.settimeout(1)
ident, body = os.getpid() & 0xffff, b'rawflow-ping' * 4
req = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, ident, 1) + body
if not v6:  # the kernel fills in the ICMPv6 checksum, not ICMP's
    req = req[:2] + struct.pack('!H', csum(req)) + req[4:]
s.sendto(req, (host, 0))
end = time.time() + 2
while time.time() < end:
    try:
        r = s.recv(2048)
    except socket.timeout:
        continue
    r = r if v6 else r[(r[0] & 15) * 4:]
    if r[0] == (129 if v6 else 0) and r[4:6] == struct.pack('!H', ident) and r[8:] == body:
        sys.exit(0)
sys.exit(1)
PY
}

ip -n $NS-b neigh flush all
check "ping 198.18.0.1 is answered by the seed" ping_seed 198.18.0.1
check "ARP: the seed answered for 198.18.0.1 with its port's MAC" \
	bash -c "ip -n $NS-b neigh show 198.18.0.1 | grep -qi '$MAC'"
check "ping 2001:db8::1 is answered by the seed" ping_seed 2001:db8::1
check "neighbour discovery: the seed advertised 2001:db8::1 with its port's MAC" \
	bash -c "ip -n $NS-b -6 neigh show 2001:db8::1 | grep -qi '$MAC'"

# the whole window from its oldest chunk over IPv4, a player's join over IPv6
ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from oldest --seconds 8 \
	--out "$WORK/v4.ts" --json "$WORK/v4.json" 2>"$WORK/probe4.log"
check "IPv4 probe from the oldest chunk: every chunk verified" test $? -eq 0
ip netns exec $NS-b "$PROBE" "rawflow://[2001:db8::1]:4433/$ID" --from rap --seconds 5 \
	--out "$WORK/v6.ts" --json "$WORK/v6.json" 2>"$WORK/probe6.log"
check "IPv6 probe from a random access point: every chunk verified" test $? -eq 0
# the file loops: what a probe wrote is a contiguous run of it
contiguous() { # SRC GOT MIN_BYTES [OFFSET]
	python3 - "$@" <<'PY'
import sys
src, got = (open(f, 'rb').read() for f in sys.argv[1:3])
need, want_at = int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None
loop = src * (len(got) // len(src) + 2)
at = loop.find(got[:4096])
ok = len(got) >= need and at >= 0 and loop[at:at + len(got)] == got
ok = ok and (want_at is None or at == int(want_at))
print(f'# {len(got)} bytes from offset {at}')
sys.exit(0 if ok else 1)
PY
}
check "IPv4: byte-identical to the source from its first byte" \
	contiguous "$WORK/src.ts" "$WORK/v4.ts" 1000000 0
starts_pat() { # a TS file that starts with a PAT (PID 0, payload start)
	python3 -c 'import sys; d = open(sys.argv[1], "rb").read(4)
sys.exit(not (d[0] == 0x47 and d[1] & 0x5f == 0x40 and d[2] == 0))' "$1"
}
check "IPv6: a contiguous part of the source" contiguous "$WORK/src.ts" "$WORK/v6.ts" 500000
check "IPv6: it starts with a PAT" starts_pat "$WORK/v6.ts"

# garbage to the seed's port: counted by reason, never answered
ip netns exec $NS-b python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5): s.sendto(b"XX" + bytes(62), ("198.18.0.1", 4433))
s.sendto(b"RF\x02\x01" + bytes(60), ("198.18.0.1", 4433))'
sleep 0.5
tel() { echo "$1" | dpdk-telemetry.py -f $PREFIX 2>/dev/null | tail -n 1; }
if command -v dpdk-telemetry.py >/dev/null; then
	tel /rawflow/stats > "$WORK/stats.json"
	tel /rawflow/sessions > "$WORK/sessions.json"
	tel /rawflow/lcores > "$WORK/lcores.json"
	diag "$(cat "$WORK/stats.json")"
	check "telemetry: joins, answers and drops by reason" python3 - "$WORK/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))['/rawflow/stats']
ok = (s['joins'] >= 2 and s['arp_answered'] >= 1 and s['nd_answered'] >= 1 and
      s['echo_answered'] >= 2 and s['drops']['bad_magic'] == 5 and
      s['drops']['bad_version'] == 1 and s['tx_packets'] > 1000)
sys.exit(0 if ok else 1)
PY
	check "telemetry: sessions per stream and counters per lcore" python3 - "$WORK/sessions.json" "$WORK/lcores.json" "$ID" <<'PY'
import json, sys
sess = json.load(open(sys.argv[1]))['/rawflow/sessions']
lcores = json.load(open(sys.argv[2]))['/rawflow/lcores']
sys.exit(0 if sys.argv[3] in sess and lcores['1']['tx_packets'] > 1000 else 1)
PY
else
	ok "telemetry # SKIP dpdk-telemetry.py not installed (package dpdk-dev)"
fi

# the control socket, answered by the main lcore: stats and sessions while
# a probe is connected, then a deny list every worker applies
CTL=$RF_BUILD_DIR/tools/ctl/rawflowctl
ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from live --seconds 6 \
	2>"$WORK/probe-ctl.log" &
PC=$!
sleep 1.5
"$CTL" control "$WORK/seed.sock" stats > "$WORK/ctl-stats.json"
check "control: stats from the DPDK backend, with the stream's sessions" python3 - "$WORK/ctl-stats.json" "$ID" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d['streams'][0]
sys.exit(0 if d['backend'] == 'dpdk' and s['stream_id'] == sys.argv[2] and s['sessions'] >= 1
         and d['drops']['bad_magic'] == 5 and d['arp_answered'] >= 1 else 1)
PY
"$CTL" control "$WORK/seed.sock" sessions > "$WORK/ctl-sessions.json"
check "control: sessions lists the probe, with its level" python3 -c "import json,sys; d=json.load(open('$WORK/ctl-sessions.json')); sys.exit(d['truncated'] or not any(x['addr'].startswith('198.18.0.2:') and x['level'] == 0 for x in d['sessions']))"
"$CTL" control "$WORK/seed.sock" deny 198.18.0.0/15 > "$WORK/ctl-deny.json"
check "control: the deny list is applied" grep -q '"denied_prefixes": 1' "$WORK/ctl-deny.json"
wait $PC
check "control: deny ends the session (the probe is told: denied)" grep -q "denied" "$WORK/probe-ctl.log"
"$CTL" control "$WORK/seed.sock" deny > /dev/null
check "control: other seeds for the directory" bash -c "'$CTL' control '$WORK/seed.sock' seeds 198.18.0.9:4433 | grep -q '\"seeds\": 1'"

# a handshake flood from spoofed sources on the wire, while a session plays
FLOOD=$RF_BUILD_DIR/tools/flood/rawflow-flood
ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from live --seconds 5 \
	--json "$WORK/probe-flood.json" 2>"$WORK/probe-flood.log" &
PF=$!
sleep 1
ip netns exec $NS-b "$FLOOD" --iface vb --seed 198.18.0.1 --seed-mac "$MAC" --stream "$ID" \
	--count 100000 --rate 100000 > "$WORK/flood.json" 2>"$WORK/flood.log"
check "flood: rawflow-flood sent 100000 handshakes" grep -q '"sent": 100000' "$WORK/flood.json"
diag "$(cat "$WORK/flood.json")"
check "flood: the seed answered HELLOs, with fewer bytes than it got (on the wire)" python3 -c "
import json, sys
f = json.load(open('$WORK/flood.json'))
sys.exit(not (f['cookies'] > 0 and f['reply_udp_bytes'] <= f['sent_udp_bytes'] and f['capture_drops'] == 0))"
"$CTL" control "$WORK/seed.sock" stats > "$WORK/ctl-flood.json"
check "flood: the seed's own count: unvalidated bytes out <= in" python3 -c "
import json, sys
s = json.load(open('$WORK/ctl-flood.json'))['streams'][0]
sys.exit(not (0 < s['unvalidated_tx_bytes'] <= s['unvalidated_rx_bytes']))"
wait $PF
check "flood: the playing session verified every chunk, none skipped" python3 -c "
import json, sys
p = json.load(open('$WORK/probe-flood.json'))
sys.exit(not (p['skipped'] == 0 and p['bad_chunks'] == 0 and p['received'] > 500))"

# drain: a probe connected while the seed gets SIGTERM is redirected
ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from live --seconds 20 \
	2>"$WORK/probe-drain.log" &
P3=$!
sleep 2
kill -TERM $SEED_PID
wait $SEED_PID
check "SIGTERM: the seed drains and exits 0" test $? -eq 0
wait $P3
check "the probe was told to go elsewhere (draining)" grep -q "draining" "$WORK/probe-drain.log"
check "the drain is logged" grep -q "drained" "$WORK/seed.log"

# zero-copy and two workers: net_af_packet takes chained mbufs, so DATA
# leaves as a header mbuf chained to the chunk in the store; with two queue
# pairs the kernel spreads flows over its two sockets by hash (fanout), one
# per worker lcore (1 and 2, on the machine's two CPUs). af_packet only
# listens beside the kernel, which must not answer for the seed's address:
# take it away.
ip -n $NS-a addr flush dev va
ip netns exec $NS-a "$SEED" --source "file://$WORK/src.ts" --loop --key "$WORK/stream.key" \
	--backend dpdk --port-ip 198.18.0.1 --max-sessions 1000 --stats-interval 0 \
	--control "$WORK/seed-zc.sock" -- --vdev net_af_packet0,iface=va,qpairs=2 \
	--lcores 0@0,1@0,2@1 --in-memory --no-pci --file-prefix $PREFIX 2>"$WORK/seed-zc.log" &
SEED_PID=$!
at_exit "kill -9 $SEED_PID"
wait_for 15 grep -q "serving on" "$WORK/seed-zc.log"
check "net_af_packet: the port sends by reference (zero-copy TX)" \
	grep -q "net_af_packet.*2 queue(s), zero-copy TX" "$WORK/seed-zc.log"
check "two workers, one queue pair each" grep -q "serving on 2 worker(s)" "$WORK/seed-zc.log"
ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from oldest --seconds 5 \
	--out "$WORK/zc.ts" 2>"$WORK/probe-zc.log" &
PIDS=$!
# more peers, each its own flow: with 16, all on one worker is a 1-in-32768 chance
for i in $(seq 15); do
	ip netns exec $NS-b "$PROBE" "rawflow://198.18.0.1:4433/$ID" --from live --seconds 5 \
		2>"$WORK/probe-rss$i.log" &
	PIDS="$PIDS $!"
done
sleep 3
"$CTL" control "$WORK/seed-zc.sock" stats > "$WORK/ctl-zc.json"
diag "$(python3 -c "import json; print(json.load(open('$WORK/ctl-zc.json'))['lcores'])")"
check "RSS: both workers hold sessions, 16 in all" python3 -c "
import json, sys
l = json.load(open('$WORK/ctl-zc.json'))['lcores']
sys.exit(not (len(l) == 2 and all(x['sessions'] > 0 for x in l) and sum(x['sessions'] for x in l) == 16))"
FAILS=0
for p in $PIDS; do wait $p || FAILS=$((FAILS + 1)); done
check "zero-copy, two workers: every probe verified every chunk" test $FAILS -eq 0
check "zero-copy: byte-identical to the source from its first byte" \
	contiguous "$WORK/src.ts" "$WORK/zc.ts" 1000000 0
kill -TERM $SEED_PID
wait $SEED_PID
check "zero-copy: SIGTERM, exit 0" test $? -eq 0

[ $TAP_FAILED -eq 0 ] || { tail -n 30 "$WORK"/seed*.log; tail -n 5 "$WORK"/probe*.log; } | sed 's/^/# /'
finish
