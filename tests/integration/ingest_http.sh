#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Ingest from a live TS that ffmpeg serves over HTTP (-listen 1): the chunk
# store holds exactly what ffmpeg sent, and the random access marks fall on
# the keyframes that ffprobe reports.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
REC=$WORK/rec
mkdir -p "$REC"

"$SEED" --source "http://127.0.0.1:$PORT/live.ts" --key "$WORK/stream.key" \
	--record "$REC" --stats-json "$WORK/stats.json" --stats-interval 0 \
	--no-serve --duration 30 2>"$WORK/seed.log" &
SEED_PID=$!
at_exit "kill $SEED_PID"

# ffmpeg writes what it sends to sent.ts too (tee: one muxer output, two sinks)
ffmpeg_live 10 -f tee "[f=mpegts]$WORK/sent.ts|[f=mpegts:listen=1]http://127.0.0.1:$PORT/live.ts" \
	2>"$WORK/ffmpeg.log"
check "ffmpeg served the stream" test -s "$WORK/sent.ts"
sleep 1.5
kill -INT $SEED_PID
wait $SEED_PID
check "rawflow-seed exits cleanly" test $? -eq 0

ID=$(cut -c1-16 <<<"$(json_field "$WORK/stats.json" stream_id)")
diag "sent $(stat -c %s "$WORK/sent.ts") bytes, recorded $(stat -c %s "$REC/$ID.ts")"
check "chunk store payload is byte-identical to what ffmpeg sent" cmp "$WORK/sent.ts" "$REC/$ID.ts"
check "random access marks fall on ffprobe's keyframes" rap_marks_match "$REC/$ID.ts" "$REC/$ID.idx"
check "no garbage counted on a clean source" test "$(json_field "$WORK/stats.json" garbage_bytes)" -eq 0
check "bitrate measured near 2 Mbit/s" python3 -c "import sys; b=$(json_field "$WORK/stats.json" bitrate_bps); sys.exit(not 1.2e6 < b < 3.5e6)"
check "stream id is derived from the key file" grep -q "$ID" "$WORK/seed.log"
[ $TAP_FAILED -eq 0 ] || sed 's/^/# seed: /' "$WORK/seed.log" | tail -20
finish
