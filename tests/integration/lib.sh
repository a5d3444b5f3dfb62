# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers of the integration tests (sourced). Each test prints TAP:
# "ok N - what" / "not ok N - what", then the plan "1..N".
#
# Environment: RF_BUILD_DIR (the build whose binaries are tested, set by
# meson), RF_SOURCE_ROOT. Every test makes its own temporary directory,
# servers and namespaces, and removes them on exit.

set -u
RF_BUILD_DIR=${RF_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
RF_SOURCE_ROOT=${RF_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SEED=$RF_BUILD_DIR/dataplane/seed/rawflow-seed
TAP_N=0
TAP_FAILED=0
WORK=$(mktemp -d /tmp/rf-it.XXXXXX)
CLEANUP=()

rf_cleanup() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$WORK"
}
trap rf_cleanup EXIT
[ -z "${RF_KEEP:-}" ] || trap - EXIT

# at_exit CMD: run CMD when the test ends (last registered runs first)
at_exit() { CLEANUP+=("$1"); }

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=1; echo "not ok $TAP_N - $*"; }
diag() { echo "# $*"; }

# check "what" CMD...: one TAP line from CMD's exit status
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

finish() {
	echo "1..$TAP_N"
	exit $TAP_FAILED
}

# skip_all "why": the whole test cannot run here
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# kill_tree SIGNAL PID: PID and its children (a function run with & is a
# subshell whose child is the real process)
kill_tree() {
	pkill "-$1" -P "$2" 2>/dev/null
	kill "-$1" "$2" 2>/dev/null
}

# A free TCP/UDP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

# ffmpeg_pattern, ffmpeg_live, make_ts: the test source
. "$RF_SOURCE_ROOT/tools/lib/media.sh"

# Byte offsets of the video keyframes in a TS file, one per line.
keyframe_offsets() {
	ffprobe -v error -select_streams v:0 -show_entries packet=pos,flags \
		-of csv=p=0 "$1" | awk -F, '$2 ~ /K/ { print $1 }'
}

# Check an ingest record (DIR/ID.ts + DIR/ID.idx) against the keyframes of
# the TS it came from: every keyframe lies in a chunk marked RAP (flag 1)
# that starts with a PAT, and every RAP chunk holds a keyframe.
# rap_marks_match RECORD_TS RECORD_IDX [SKIP_BYTES]
rap_marks_match() {
	local ts=$1 idx=$2
	keyframe_offsets "$ts" > "$WORK/kf.txt"
	python3 - "$ts" "$idx" "$WORK/kf.txt" <<'PY'
import sys
ts, idx, kf = sys.argv[1:4]
data = open(ts, 'rb').read()
keys = [int(x) for x in open(kf) if x.strip()]
chunks, off = [], 0
for line in open(idx):
    seq, ln, fl = (int(x) for x in line.split())
    chunks.append((off, ln, fl)); off += ln
bad = 0
def pid(o): return ((data[o+1] & 0x1f) << 8) | data[o+2]
for k in keys:
    c = [c for c in chunks if c[0] <= k < c[0] + c[1]]
    if not c or not c[0][2] & 1:
        print(f'# keyframe at {k} is not in a RAP chunk'); bad += 1
    elif pid(c[0][0]) != 0:
        print(f'# RAP chunk at {c[0][0]} does not start with a PAT'); bad += 1
raps = [c for c in chunks if c[2] & 1]
for c in raps:
    if not any(c[0] <= k < c[0] + c[1] for k in keys):
        print(f'# RAP chunk at {c[0]} holds no keyframe'); bad += 1
print(f'# {len(keys)} keyframes, {len(raps)} RAP chunks, {len(chunks)} chunks')
sys.exit(1 if bad or not keys else 0)
PY
}

# JSON field of the seed's --stats-json for stream 0: json_field FILE KEY
json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["streams"][0][sys.argv[2]])' "$1" "$2"
}

[ -x "$SEED" ] || { echo "1..0 # SKIP $SEED not built"; exit 0; }

# veth_pair: the test network
. "$RF_SOURCE_ROOT/tools/lib/netns.sh"

# make_netns_pair NAME: veth_pair NAME, removed when the test ends (NAME
# carries the test's pid: nobody else's namespaces). Needs root.
make_netns_pair() {
	at_exit "ip netns del $1-a"
	at_exit "ip netns del $1-b"
	veth_pair "$1"
}
