#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Ingest MPEG-TS over UDP multicast inside a pair of test namespaces:
# ffmpeg in one sends to the group, the seed in the other joins it. Then
# RTP-wrapped TS over unicast. The group is administratively scoped
# (239.255.0.0/16) and never leaves the veth pair: the namespaces have no
# other link and no default route.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
NS=rfu$$
make_netns_pair $NS || skip_all "cannot create network namespaces"
# multicast from a leaves through the veth
ip -n $NS-a route add 239.255.0.0/16 dev va

run_case() { # name url ffmpeg-sink [capture-port]
	local name=$1 url=$2 sink=$3 capture=${4:-} rec=$WORK/$1
	mkdir -p "$rec"
	if [ -n "$capture" ]; then
		# a second muxer of the same kind whose datagrams we keep
		ip netns exec $NS-a python3 "$(dirname "$0")/rtp_capture.py" 127.0.0.1 "$capture" "$rec/sent.ts" &
		at_exit "kill $!"
		sink="$sink|[f=rtp_mpegts]rtp://127.0.0.1:$capture?pkt_size=1328"
	else
		sink="[f=mpegts]$rec/sent.ts|$sink"
	fi
	ip netns exec $NS-b "$SEED" --source "$url" --record "$rec" \
		--stats-json "$rec/stats.json" --stats-interval 0 --no-serve \
		--duration 30 2>"$rec/seed.log" &
	local pid=$!
	at_exit "kill $pid"
	sleep 0.5
	ip netns exec $NS-a bash -c "$(declare -f ffmpeg_live ffmpeg_pattern); ffmpeg_live 8 -f tee '$sink'" \
		2>"$rec/ffmpeg.log"
	sleep 1
	[ -z "$capture" ] || wait_for 5 bash -c "! pgrep -f 'rtp_capture.py 127.0.0.1 $capture' >/dev/null"
	kill -INT $pid
	wait $pid
	check "$name: seed exits cleanly" test $? -eq 0
	local id
	id=$(json_field "$rec/stats.json" stream_id)
	diag "$name: sent $(stat -c %s "$rec/sent.ts") bytes, recorded $(stat -c %s "$rec/$id.ts" 2>/dev/null)"
	check "$name: store is byte-identical to what ffmpeg sent" cmp "$rec/sent.ts" "$rec/$id.ts"
	check "$name: random access marks on ffprobe's keyframes" rap_marks_match "$rec/$id.ts" "$rec/$id.idx"
	[ $TAP_FAILED -eq 0 ] || tail -n 5 "$rec/seed.log" "$rec/ffmpeg.log" | sed 's/^/# /'
}

run_case multicast "udp://239.255.0.1@198.18.0.2:5000" \
	"[f=mpegts]udp://239.255.0.1:5000?pkt_size=1316&ttl=1&localaddr=198.18.0.1"
# RTP: the rtp_mpegts muxer's TS differs from a plain mpegts muxer's, so a
# second rtp_mpegts output captured in the sender's namespace is the record
run_case rtp "udp://198.18.0.2:5002" "[f=rtp_mpegts]rtp://198.18.0.2:5002?pkt_size=1328" 6000
finish
