# SPDX-License-Identifier: BSD-3-Clause
# The test source every script streams (sourced by tests/integration/lib.sh,
# tools/demo and the benchmarks): ffmpeg's test pattern and a 440 Hz tone,
# H.264 + AAC at about 2 Mbit/s, a keyframe every 2 s.
#   RF_PATTERN_SIZE   the picture (default 640x360)

# ffmpeg_pattern RE SECONDS OUTPUT-OPTIONS...: RE is -re for real time, or ""
ffmpeg_pattern() {
	local re=$1 seconds=$2; shift 2
	ffmpeg -hide_banner -nostdin -loglevel error $re \
		-f lavfi -i testsrc2=size=${RF_PATTERN_SIZE:-640x360}:rate=25 \
		-f lavfi -i sine=frequency=440:sample_rate=48000 \
		-t "$seconds" -map 0:v -map 1:a \
		-c:v libx264 -preset ultrafast -tune zerolatency -g 50 -threads 1 \
		-b:v 1800k -maxrate 1800k -bufsize 1800k -pix_fmt yuv420p \
		-c:a aac -b:a 128k "$@"
}

# In real time: ffmpeg_live SECONDS OUTPUT-OPTIONS...
ffmpeg_live() {
	ffmpeg_pattern -re "$@"
}

# As fast as it encodes, into a TS file: make_ts SECONDS FILE
make_ts() {
	ffmpeg_pattern "" "$1" -f mpegts "$2"
}
