#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The relay's upload budget, measured: a peer in namespace b whose uplink
# (a tbf qdisc on its veth) carries 3 Mbit/s relays a ~2 Mbit/s stream to
# two children in namespace a, where the seed is. --upload-limit auto (the
# default) offers up to 20 Mbit/s; the uplink pushes back, the relay
# measures what it took, cuts its budget below 3 Mbit/s and sheds
# substreams, which the children take from the seed and play on.
. "$(dirname "$0")/lib.sh"

PEER=$RF_BUILD_DIR/dataplane/peer/rawflow-peer
NS=rfup$$
make_netns_pair $NS || skip_all "cannot create network namespaces"
ip netns exec $NS-b tc qdisc add dev vb root tbf rate 3mbit burst 16kb limit 1mb ||
	skip_all "no tbf qdisc"

make_ts 12 "$WORK/src.ts"
ip netns exec $NS-a "$SEED" --source "file://$WORK/src.ts" --loop --backend kernel \
	--bind 198.18.0.1 --port 4433 --stats-interval 0 --duration 60 2>"$WORK/seed.log" &
at_exit "kill -9 $!"
wait_for 10 grep -q "store of" "$WORK/seed.log" || { not_ok "the seed sized its store"; finish; }
ID=$(grep -o 'stream [0-9a-f]\{16\}' "$WORK/seed.log" | head -1 | cut -d' ' -f2)
URL=rawflow://198.18.0.1:4433/$ID

ip netns exec $NS-b "$PEER" "$URL" --bind 198.18.0.2 --http none --seconds 34 \
	--stats-json "$WORK/relay.json" 2>"$WORK/relay.log" &
RELAY=$!
at_exit "kill -9 $RELAY"
sleep 3
for i in 1 2; do
	ip netns exec $NS-a "$PEER" "$URL" --bind 198.18.0.1 --http none --upload-limit 0 \
		--seconds 30 --stats-json "$WORK/child$i.json" 2>"$WORK/child$i.log" &
	at_exit "kill -9 $!"
done
wait $RELAY
check "the relay ran to its end" test $? -eq 0
sleep 1
check "the uplink pushed back and the relay measured it (about 3 Mbit/s)" python3 - "$WORK/relay.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"# uplink {r['uplink_kbps']} kbit/s, budget {r['upload_budget_kbps']} kbit/s, shed {r['shed']}")
sys.exit(0 if 1500 <= r['uplink_kbps'] <= 3300 else 1)
PY
# the budget grows back after calm seconds, so it may end above the cut
check "the relay cut its budget below the uplink's 3 Mbit/s" python3 - "$WORK/relay.log" <<'PY'
import re, sys
cuts = [int(x) for x in re.findall(r'relay budget (\d+) kbit/s', open(sys.argv[1]).read())]
print(f"# budgets set: {cuts}")
sys.exit(0 if cuts and min(cuts) < 3000 else 1)
PY
check "the relay shed what its budget could not carry" python3 -c "import json,sys; sys.exit(json.load(open('$WORK/relay.json'))['shed'] < 1)"
check "the children played on (the seed took the shed substreams)" python3 - "$WORK"/child1.json "$WORK"/child2.json <<'PY'
import json, sys
for f in sys.argv[1:]:
    c = json.load(open(f))
    print(f"# {f.split('/')[-1]}: played {c['played']} skipped {c['skipped']} from seed {c['bytes_from_seed']} from peers {c['bytes_from_peers']}")
    if c['played'] < 1500 or c['skipped'] > c['played'] // 100 or c['bytes_from_peers'] == 0:
        sys.exit(1)
PY
[ $TAP_FAILED -eq 0 ] || tail -n 20 "$WORK"/relay.log "$WORK"/child1.log | sed 's/^/# /'
finish
