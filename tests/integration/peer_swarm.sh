#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The ICD client end to end on 127.0.0.0/8: ffmpeg source -> rawflow-seed
# -> 20 rawflow-peer processes with upload limits. Three players (ffmpeg)
# decode peers' HTTP output for 30 s with no error, three peers' output
# equals the source byte for byte, a relaying peer is killed with -9 and
# its children heal within 1 s without skipping a chunk, and a parent that
# injects forged chunks is caught: nothing forged is played, it is dropped.
. "$(dirname "$0")/lib.sh"

PEER=$RF_BUILD_DIR/dataplane/peer/rawflow-peer
HPORT=$(free_port)
UPORT=$(free_port)
N=20

ffmpeg_live 60 -f tee "[f=mpegts]$WORK/sent.ts|[f=mpegts:listen=1]http://127.0.0.1:$HPORT/live.ts" \
	2>"$WORK/ffmpeg.log" &
at_exit "kill_tree TERM $!"
sleep 0.3
"$SEED" --source "http://127.0.0.1:$HPORT/live.ts" --backend kernel --bind 127.0.0.1 \
	--port "$UPORT" --stats-interval 5 --duration 90 2>"$WORK/seed.log" &
SEED_PID=$!
at_exit "kill -9 $SEED_PID"
wait_for 10 grep -q "store of" "$WORK/seed.log" || { not_ok "the seed sized its store"; finish; }
ID=$(grep -o 'stream [0-9a-f]\{16\}' "$WORK/seed.log" | head -1 | cut -d' ' -f2)
URL=rawflow://127.0.0.1:$UPORT/$ID

declare -A PID HTTP
for i in $(seq 1 $N); do
	extra=()
	[ "$i" -gt 3 ] || extra=(--output "$WORK/out$i.ts")
	HTTP[$i]=$(free_port)
	"$PEER" "$URL" --bind "127.0.2.$i" --http "127.0.0.1:${HTTP[$i]}" --upload-limit 3000 \
		--status --seconds 52 --stats-json "$WORK/peer$i.json" "${extra[@]}" \
		2>"$WORK/peer$i.log" &
	PID[$i]=$!
	at_exit "kill -9 ${PID[$i]}"
	sleep 0.2
done

# three players on three peers, 30 s each
sleep 3
for i in 4 5 6; do
	timeout 40 ffmpeg -hide_banner -nostdin -v error -i "http://127.0.0.1:${HTTP[$i]}/$ID.ts" \
		-t 30 -f null - 2>"$WORK/player$i.log" &
	PLAYER[$i]=$!
done

# kill -9 a relaying peer (not one of the checked ones) with children
sleep 8
VICTIM=
for i in $(seq $N -1 7); do
	kids=$(grep -o 'children [0-9]*' "$WORK/peer$i.log" | tail -1 | cut -d' ' -f2)
	if [ "${kids:-0}" -gt 0 ]; then VICTIM=$i; break; fi
done
if [ -n "$VICTIM" ]; then
	KILLED_AT=$(date +%s.%N)
	kill -9 "${PID[$VICTIM]}"
	diag "killed peer $VICTIM, which had children"
	ok "a relaying peer with children was killed"
else
	not_ok "a relaying peer with children was found to kill"
fi

for i in 4 5 6; do
	wait "${PLAYER[$i]}"
	rc=$?
	check "player on peer $i decoded 30 s with no error" test $rc -eq 0 -a ! -s "$WORK/player$i.log"
done
for i in $(seq 1 $N); do
	[ "$i" = "$VICTIM" ] || wait "${PID[$i]}"
done
wait_for 5 test -s "$WORK/peer1.json"

for i in 1 2 3; do
	check "peer $i's output equals the source byte for byte" python3 - "$WORK/sent.ts" "$WORK/out$i.ts" <<'PY'
import sys
sent, got = (open(f, 'rb').read() for f in sys.argv[1:3])
at = sent.find(got[:4096])
print(f'# {len(got)} bytes from offset {at}')
sys.exit(0 if len(got) > 5_000_000 and at >= 0 and sent[at:at + len(got)] == got else 1)
PY
done
check "no peer skipped a chunk" python3 - "$WORK" "$N" "${VICTIM:-0}" <<'PY'
import json, sys
work, n, victim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = 0
for i in range(1, n + 1):
    if i == victim:
        continue
    s = json.load(open(f'{work}/peer{i}.json'))
    if s['skipped'] or s['played'] < 8000:
        print(f"# peer {i}: played {s['played']} skipped {s['skipped']}"); bad += 1
sys.exit(bad)
PY
check "the grid carried the stream: peers sent more than the seed" python3 - "$WORK" "$N" "${VICTIM:-0}" <<'PY'
import json, sys
work, n, victim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seed = peers = 0
for i in range(1, n + 1):
    if i == victim:
        continue
    s = json.load(open(f'{work}/peer{i}.json'))
    seed += s['bytes_from_seed']; peers += s['bytes_from_peers']
print(f'# {peers / 1e6:.1f} MB from peers, {seed / 1e6:.1f} MB from the seed')
sys.exit(0 if peers > seed else 1)
PY
if [ -n "$VICTIM" ]; then
	check "the killed peer's children had a new parent within 1 s" python3 - "$WORK" "$N" "$VICTIM" "$KILLED_AT" <<'PY'
import datetime, re, sys
work, n, victim, killed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
day = datetime.datetime.fromtimestamp(killed).replace(hour=0, minute=0, second=0, microsecond=0)
late = 0
children = []
for i in range(1, n + 1):
    if i == victim:
        continue
    serving, moved = False, None
    for line in open(f'{work}/peer{i}.log'):
        m = re.match(r'(\d+):(\d+):([\d.]+) info  parent 127\.0\.2\.(\d+):\d+ (serving|dropped)', line)
        if not m or int(m[4]) != victim:
            continue
        t = day.timestamp() + int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        if t < killed:
            serving = m[5] == 'serving'  # its state when the parent died
        elif moved is None and m[5] == 'dropped':
            moved = t - killed
    if serving:
        children.append(f'peer {i} {moved:.2f} s' if moved is not None else f'peer {i} never')
        late += moved is None or moved > 1.0
print('# children of the killed peer moved: ' + ', '.join(children))
sys.exit(0 if children and not late else 1)
PY
fi

# a parent that relays forged chunks, with three honest peers beside it
kill -TERM $SEED_PID 2>/dev/null
wait $SEED_PID
"$SEED" --source "file://$WORK/sent.ts" --backend kernel --bind 127.0.0.1 --port "$UPORT" \
	--key "$WORK/k2" --stats-interval 0 --duration 40 2>"$WORK/seed2.log" &
SEED2=$!
at_exit "kill -9 $SEED2"
wait_for 10 grep -q "store of" "$WORK/seed2.log"
ID2=$(grep -o 'stream [0-9a-f]\{16\}' "$WORK/seed2.log" | head -1 | cut -d' ' -f2)
"$PEER" "rawflow://127.0.0.1:$UPORT/$ID2" --bind 127.0.3.1 --http none --forge-relay \
	--upload-limit 50000 --seconds 20 2>"$WORK/forger.log" &
FORGER=$!
at_exit "kill -9 $FORGER"
sleep 2
for i in 1 2 3; do
	"$PEER" "rawflow://127.0.0.1:$UPORT/$ID2" --bind "127.0.3.$((i + 1))" --http none \
		--upload-limit 0 --seconds 15 --output "$WORK/honest$i.ts" \
		--stats-json "$WORK/honest$i.json" 2>"$WORK/honest$i.log" &
	HONEST[$i]=$!
done
for i in 1 2 3; do wait "${HONEST[$i]}"; done
check "forged chunks were caught by the forger's children" python3 - "$WORK" <<'PY'
import json, sys
bad = [json.load(open(f'{sys.argv[1]}/honest{i}.json'))['bad_chunks'] for i in (1, 2, 3)]
print(f'# forged chunks rejected per peer: {bad}')
sys.exit(0 if sum(bad) > 0 else 1)
PY
for i in 1 2 3; do
	check "nothing forged was played by honest peer $i (output is the source)" python3 - "$WORK/sent.ts" "$WORK/honest$i.ts" <<'PY'
import sys
sent, got = (open(f, 'rb').read() for f in sys.argv[1:3])
at = sent.find(got[:4096])
sys.exit(0 if len(got) > 1_000_000 and at >= 0 and sent[at:at + len(got)] == got else 1)
PY
done
check "the forger is dropped: its children left it" grep -q "forged chunk" "$WORK/honest1.log" "$WORK/honest2.log" "$WORK/honest3.log"
[ $TAP_FAILED -eq 0 ] || { tail -n 5 "$WORK/seed.log"; tail -n 3 "$WORK"/peer1.log; } | sed 's/^/# /'
finish
