#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The seed's kernel backend end to end: ffmpeg serves a live TS over HTTP,
# rawflow-seed ingests it and serves it on loopback UDP, rawflow-probe
# joins (cookie handshake), subscribes, verifies every chunk against the
# group signatures and writes the stream: byte-identical to what ffmpeg
# sent. Then a drain: SIGTERM redirects the probe elsewhere.
. "$(dirname "$0")/lib.sh"

PROBE=$RF_BUILD_DIR/tools/probe/rawflow-probe
HPORT=$(free_port)
UPORT=$(free_port)
REC=$WORK/rec
mkdir -p "$REC"

ffmpeg_live 12 -f tee "[f=mpegts]$WORK/sent.ts|[f=mpegts:listen=1]http://127.0.0.1:$HPORT/live.ts" \
	2>"$WORK/ffmpeg.log" &
FF=$!
at_exit "kill_tree TERM $FF"
sleep 0.3
"$SEED" --source "http://127.0.0.1:$HPORT/live.ts" --key "$WORK/stream.key" \
	--backend kernel --bind 127.0.0.1 --port "$UPORT" --stats-interval 0 \
	--control "$WORK/seed.sock" --stats-json "$WORK/stats.json" --duration 60 2>"$WORK/seed.log" &
SEED_PID=$!
at_exit "kill -9 $SEED_PID"
wait_for 10 grep -q "store of" "$WORK/seed.log" || { not_ok "the seed sized its store"; finish; }
ID=$(grep -o 'stream [0-9a-f]\{16\}' "$WORK/seed.log" | head -1 | cut -d' ' -f2)
URL=rawflow://127.0.0.1:$UPORT/$ID

# from the oldest chunk held: the whole stream, caught up, then live
"$PROBE" "$URL" --from oldest --seconds 14 --out "$WORK/oldest.ts" --json "$WORK/oldest.json" \
	2>"$WORK/probe1.log" &
P1=$!
# from the newest random access point, as a player would
sleep 2
"$PROBE" "$URL" --from rap --seconds 8 --out "$WORK/rap.ts" --json "$WORK/rap.json" \
	2>"$WORK/probe2.log"
check "probe from a RAP: every chunk verified" test $? -eq 0
wait $P1
check "probe from the oldest chunk: every chunk verified" test $? -eq 0
wait $FF 2>/dev/null
diag "sent $(stat -c %s "$WORK/sent.ts") bytes; probe wrote $(stat -c %s "$WORK/oldest.ts")"
check "what the probe received is byte-identical to what ffmpeg sent" cmp "$WORK/sent.ts" "$WORK/oldest.ts"
check "a probe joining at a RAP gets a contiguous part of the stream starting with a PAT" \
	python3 - "$WORK/sent.ts" "$WORK/rap.ts" <<'PY'
import sys
sent, got = (open(f, 'rb').read() for f in sys.argv[1:3])
at = sent.find(got[:4096])
ok = len(got) > 100000 and at >= 0 and sent[at:at + len(got)] == got and got[1] & 0x1f == 0 and got[2] == 0
print(f'# {len(got)} bytes from offset {at}')
sys.exit(0 if ok else 1)
PY
check "start-up under 1.5 s" python3 -c "import json,sys; sys.exit(not json.load(open('$WORK/rap.json'))['startup_s'] < 1.5)"

# the control socket: stats and sessions while a probe is connected, then
# a deny list that ends its session and refuses a new one
CTL=$RF_BUILD_DIR/tools/ctl/rawflowctl
"$PROBE" "$URL" --from live --seconds 6 2>"$WORK/probe6.log" &
P6=$!
sleep 1.5
"$CTL" control "$WORK/seed.sock" stats > "$WORK/ctl-stats.json"
check "control: stats is JSON with the stream's session and drop counters" python3 - "$WORK/ctl-stats.json" "$ID" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))['streams'][0]
sys.exit(0 if s['stream_id'] == sys.argv[2] and s['sessions'] >= 1 and 'bad_magic' in s['drops'] else 1)
PY
"$CTL" control "$WORK/seed.sock" sessions > "$WORK/ctl-sessions.json"
check "control: sessions lists the probe" python3 -c "import json,sys; sys.exit(not any(x['addr'].startswith('127.0.0.1:') for x in json.load(open('$WORK/ctl-sessions.json'))['sessions']))"
"$CTL" control "$WORK/seed.sock" deny 127.0.0.0/8 > "$WORK/ctl-deny.json"
wait $P6
check "control: deny ends the session (the probe is told: denied)" grep -q "denied" "$WORK/probe6.log"
"$PROBE" "$URL" --seconds 2 2>/dev/null
check "control: a denied source gets no answer" test $? -eq 1
"$CTL" control "$WORK/seed.sock" deny > /dev/null
check "control: other seeds for the directory" bash -c "'$CTL' control '$WORK/seed.sock' seeds 198.18.0.9:4433 '[2001:db8::9]:4433' | grep -q '\"seeds\": 2'"
check "control: bad input gets a clear error" bash -c "'$CTL' control '$WORK/seed.sock' deny 300.1.1.1/8 | grep -q error"

# drain: a probe connected while the seed gets SIGTERM is redirected
"$PROBE" "$URL" --from live --seconds 20 2>"$WORK/probe3.log" &
P3=$!
sleep 1.5
kill -TERM $SEED_PID
wait $SEED_PID
check "SIGTERM: the seed drains and exits" test $? -eq 0
wait $P3
check "the probe was told to go elsewhere (draining)" grep -q "draining" "$WORK/probe3.log"

# join tokens: a seed that requires them refuses a probe without one and
# serves one with a token from rawflowctl
CTL=$RF_BUILD_DIR/tools/ctl/rawflowctl
"$CTL" token-key 7 > "$WORK/token.keys"
"$SEED" --source "file://$WORK/sent.ts" --loop --key "$WORK/stream.key" \
	--token-keys "$WORK/token.keys" --backend kernel --bind 127.0.0.1 --port "$UPORT" \
	--stats-interval 0 --duration 30 2>"$WORK/seed2.log" &
SEED2=$!
at_exit "kill -9 $SEED2"
wait_for 10 grep -q "store of" "$WORK/seed2.log"
"$PROBE" "$URL" --seconds 2 2>"$WORK/probe4.log"
check "tokens required: a probe without one is refused" test $? -eq 3
check "tokens required: the refusal says denied" grep -q "denied" "$WORK/probe4.log"
TOKEN=$("$CTL" token --keys "$WORK/token.keys" --key-id 7 --stream "$ID" --ttl 60 --prefix 127.0.0.0/8)
"$PROBE" "$URL" --token "$TOKEN" --seconds 3 --json "$WORK/token.json" 2>"$WORK/probe5.log"
check "tokens required: a probe with a valid token is served and verifies" test $? -eq 0
OTHER=$("$CTL" token --keys "$WORK/token.keys" --key-id 7 --stream "$ID" --ttl 60 --prefix 198.18.0.0/15)
"$PROBE" "$URL" --token "$OTHER" --seconds 2 2>/dev/null
check "tokens required: a token for another address prefix is refused" test $? -eq 3
kill -TERM $SEED2
wait $SEED2

[ $TAP_FAILED -eq 0 ] || { tail -n 20 "$WORK/seed.log"; tail -n 5 "$WORK"/probe*.log; } | sed 's/^/# /'
finish
