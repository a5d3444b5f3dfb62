#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Live HLS pull: ffmpeg's hls muxer writes a rotating playlist (3 entries)
# that a local HTTP server serves; the seed ingests across more than five
# rotations with no gap and no duplicate: what it holds is exactly the
# concatenation of consecutive segments.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
HLS=$WORK/hls
REC=$WORK/rec
mkdir -p "$HLS" "$REC"

python3 -m http.server --bind 127.0.0.1 --directory "$HLS" "$PORT" \
	>"$WORK/http.log" 2>&1 &
at_exit "kill $!"

ffmpeg_live 18 -f hls -hls_time 1 -hls_list_size 3 \
	-hls_segment_filename "$HLS/seg%03d.ts" "$HLS/live.m3u8" 2>"$WORK/ffmpeg.log" &
FF=$!
at_exit "kill_tree TERM $FF"
wait_for 10 test -s "$HLS/live.m3u8" || { not_ok "ffmpeg wrote a playlist"; finish; }

"$SEED" --source "http://127.0.0.1:$PORT/live.m3u8" --record "$REC" \
	--stats-json "$WORK/stats.json" --stats-interval 0 --no-serve \
	--duration 60 2>"$WORK/seed.log" &
SEED_PID=$!
at_exit "kill $SEED_PID"
wait $FF
sleep 4 # the seed polls the last playlist state
kill -INT $SEED_PID 2>/dev/null
wait $SEED_PID
check "rawflow-seed exits cleanly" test $? -eq 0

ID=$(json_field "$WORK/stats.json" stream_id)
check "store holds consecutive whole segments, no gap, no duplicate, >= 5 rotations" \
	python3 - "$REC/$ID.ts" "$HLS" <<'PY'
import os, sys
rec = open(sys.argv[1], 'rb').read()
segs = sorted(f for f in os.listdir(sys.argv[2]) if f.endswith('.ts'))
data = [open(os.path.join(sys.argv[2], f), 'rb').read() for f in segs]
start = next((i for i, d in enumerate(data) if rec.startswith(d)), None)
if start is None:
    print('# the record does not start with a segment'); sys.exit(1)
off, i = 0, start
while i < len(data) and rec.startswith(data[i], off):
    off += len(data[i]); i += 1
print(f'# segments {segs[start]}..{segs[i-1]} ({i-start}) of {len(segs)}; {off} of {len(rec)} bytes matched')
sys.exit(0 if off == len(rec) and i - start >= 6 else 1)
PY
check "no discontinuity marked on a clean playlist" test "$(json_field "$WORK/stats.json" discontinuities)" -eq 0
check "random access marks on ffprobe's keyframes" rap_marks_match "$REC/$ID.ts" "$REC/$ID.idx"
[ $TAP_FAILED -eq 0 ] || tail -20 "$WORK/seed.log" | sed 's/^/# seed: /'
finish
