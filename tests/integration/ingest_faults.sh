#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Ingest under faults: a source killed and restarted, garbage, a truncated
# stream, a trickle, HTTP errors, an unsupported format, bad URLs, and
# Icecast audio with ICY metadata. Nothing crashes or hangs, what was
# buffered stays intact, gaps are marked, events are counted.
. "$(dirname "$0")/lib.sh"

# seed_run NAME URL [options...]: start a seed recording into $WORK/NAME
seed_run() {
	local name=$1 url=$2; shift 2
	mkdir -p "$WORK/$name"
	"$SEED" --source "$url" --record "$WORK/$name" --stats-json "$WORK/$name/stats.json" \
		--stats-interval 0 --no-serve --duration 60 "$@" 2>"$WORK/$name/seed.log" &
	SEED_PID=$!
	at_exit "kill -9 $SEED_PID"
}

# seed_stop: SIGINT, and the seed must be gone within 3 s (no hang)
seed_stop() {
	kill -INT $SEED_PID 2>/dev/null
	for _ in $(seq 30); do
		kill -0 $SEED_PID 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $SEED_PID 2>/dev/null; then
		kill -9 $SEED_PID
		return 1
	fi
	wait $SEED_PID
}

stat_of() { json_field "$WORK/$1/stats.json" "$2"; }
record_of() { echo "$WORK/$1/$(stat_of "$1" stream_id)"; }

# ---- the source is killed mid-stream and comes back ----
# listening: ffmpeg -listen serves one client, so look without connecting
listening() { ss -ltn "sport = :$1" | grep -q LISTEN; }

PORT=$(free_port)
ffmpeg_live 30 -f tee "[f=mpegts]$WORK/sent1.ts|[f=mpegts:listen=1]http://127.0.0.1:$PORT/live.ts" \
	2>/dev/null &
FF=$!
wait_for 10 listening $PORT
seed_run restart "http://127.0.0.1:$PORT/live.ts"
sleep 5
kill_tree 9 $FF; wait $FF 2>/dev/null
sleep 2
RETURN_AT=$(date +%s.%N)
ffmpeg_live 5 -f tee "[f=mpegts]$WORK/sent2.ts|[f=mpegts:listen=1]http://127.0.0.1:$PORT/live.ts" \
	2>/dev/null &
FF=$!
# When the source returned: the seed, retrying all along, may connect
# within one look, and then ffmpeg listens no more (one client), so look
# for its connection too. RETURN_AT is the last look that saw neither:
# the source came back after it.
served() { ss -tan "sport = :$1" | grep -qE '^(LISTEN|ESTAB)'; }
for ((i = 0; i < 100; i++)); do
	now=$(date +%s.%N)
	served $PORT && break
	RETURN_AT=$now
	sleep 0.1
done
wait $FF
sleep 1
check "restart: seed stops cleanly" seed_stop
REC=$(record_of restart)
check "restart: buffered data intact, then the new stream byte for byte" python3 - "$REC.ts" "$WORK/sent1.ts" "$WORK/sent2.ts" <<'PY'
import sys
rec, s1, s2 = (open(f, 'rb').read() for f in sys.argv[1:4])
head = rec[:len(rec) - len(s2)]
print(f'# {len(head)} bytes before the restart, {len(s2)} after')
# ffmpeg died by SIGKILL with up to 32 KiB unwritten to sent1.ts: compare
# what both have
n = min(len(head), len(s1))
sys.exit(0 if rec.endswith(s2) and n > 500000 and head[:n] == s1[:n] else 1)
PY
check "restart: the gap is marked as a discontinuity" python3 - "$REC.idx" "$(stat -c %s "$WORK/sent2.ts")" <<'PY'
import sys
rows = [tuple(int(x) for x in l.split()) for l in open(sys.argv[1])]
total = sum(r[1] for r in rows); off = 0
for seq, ln, fl in rows:
    if off == total - int(sys.argv[2]):
        sys.exit(0 if fl & 2 else 1)
    off += ln
sys.exit(1)
PY
BACK=$(grep -m1 'source back' "$WORK/restart/seed.log" | cut -d' ' -f1)
check "restart: reconnected within 2 s of the source's return" python3 - "$RETURN_AT" "$BACK" <<'PY'
import sys, datetime
ret = float(sys.argv[1]); h, m, s = sys.argv[2].split(':')
now = datetime.datetime.fromtimestamp(ret)
back = now.replace(hour=int(h), minute=int(m), second=0, microsecond=0).timestamp() + float(s)
print(f'# back {back - ret:.2f} s after the source returned')
sys.exit(0 if 0 <= back - ret <= 2.0 else 1)
PY
check "restart: the outage is logged once" test "$(awk '/source back/ { exit } /serving what is buffered/ { n++ } END { print n + 0 }' "$WORK/restart/seed.log")" -eq 1

# ---- a scriptable HTTP source for the rest ----
make_ts 6 "$WORK/media.ts" 2>/dev/null
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i sine=frequency=330:sample_rate=44100 \
	-t 4 -c:a libmp3lame -b:a 128k -f mp3 "$WORK/audio.mp3"
HPORT=$(free_port)
python3 "$(dirname "$0")/http_source.py" "$HPORT" "$WORK/media.ts" 2>"$WORK/http.log" &
HS_PID=$!
at_exit "kill $HS_PID"
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HPORT" 2>/dev/null
URL=http://127.0.0.1:$HPORT

seed_run garbage "$URL/garbage"
sleep 6
check "garbage: seed stops cleanly" seed_stop
check "garbage: bytes counted" test "$(stat_of garbage garbage_bytes)" -gt 0
check "garbage: resyncs counted" test "$(stat_of garbage resyncs)" -gt 0
check "garbage: logged once" test "$(grep -c 'not MPEG-TS' "$WORK/garbage/seed.log")" -eq 1
check "garbage: only whole TS packets reach the store" python3 - "$(record_of garbage).ts" "$WORK/media.ts" <<'PY'
import sys
rec, src = (open(f, 'rb').read() for f in sys.argv[1:3])
pk = set(src[i:i + 188] for i in range(0, len(src), 188))
ok = len(rec) % 188 == 0 and all(rec[i:i + 188] in pk for i in range(0, len(rec), 188))
sys.exit(0 if ok and rec else 1)
PY

seed_run truncated "$URL/truncated"
sleep 3
check "truncated: seed stops cleanly" seed_stop
check "truncated: the whole packets before the cut are intact" python3 - "$(record_of truncated).ts" "$WORK/media.ts" <<'PY'
import sys
rec, src = (open(f, 'rb').read() for f in sys.argv[1:3])
sys.exit(0 if rec[:188 * 700] == src[:188 * 700] else 1)
PY

seed_run trickle "$URL/trickle" --stall-ms 1000
sleep 6
check "trickle: seed stops cleanly, no hang" seed_stop
check "trickle: the stalled source is counted as failed attempts" test "$(stat_of trickle failures)" -ge 1

for code in 404 500; do
	seed_run http$code "$URL/$code"
	sleep 2.5
	check "HTTP $code: seed keeps retrying and stops cleanly" seed_stop
	check "HTTP $code: counted" test "$(stat_of http$code failures)" -ge 2
	check "HTTP $code: logged once" test "$(grep -c "HTTP $code" "$WORK/http$code/seed.log")" -eq 1
done

seed_run html "$URL/html"
wait $SEED_PID
check "unsupported format: the seed gives up with an error" test $? -ne 0
check "unsupported format: the message says so" grep -q 'unsupported format' "$WORK/html/seed.log"

"$SEED" --source ftp://127.0.0.1/x --duration 1 2>"$WORK/bad.log"
check "bad URL: refused at start" test $? -eq 2
check "bad URL: clear message" grep -q "unsupported source 'ftp://" "$WORK/bad.log"
"$SEED" --source udp://198.18.0.1 --duration 1 2>"$WORK/bad2.log"
check "udp URL without a port: refused at start" test $? -eq 2

# Icecast audio with metadata every 8192 bytes: stripped, the rest intact
kill $HS_PID
HPORT=$(free_port)
URL=http://127.0.0.1:$HPORT
python3 "$(dirname "$0")/http_source.py" "$HPORT" "$WORK/audio.mp3" 2>/dev/null &
at_exit "kill $!"
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HPORT" 2>/dev/null
seed_run icy "$URL/icy"
sleep 4
check "icy: seed stops cleanly" seed_stop
check "icy: metadata stripped, audio byte-identical" python3 - "$(record_of icy).ts" "$WORK/audio.mp3" <<'PY'
import sys
rec, src = (open(f, 'rb').read() for f in sys.argv[1:3])
print(f'# {len(rec)} bytes recorded, {len(src)} in the file')
sys.exit(0 if rec.startswith(src) else 1)
PY
check "icy: the stream title was read" grep -q "Song" "$WORK/icy/seed.log"
finish
