#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Several streams per seed, one ingest each, each named by its signing key:
# two TS files played in real time by their PCR (file://) into two stores;
# each store holds exactly its file, under the id its key names.
. "$(dirname "$0")/lib.sh"

CTL=$RF_BUILD_DIR/tools/ctl/rawflowctl
make_ts 4 "$WORK/a.ts" 2>/dev/null
make_ts 6 "$WORK/b.ts" 2>/dev/null
IDA=$("$CTL" keygen "$WORK/a.key")
IDB=$("$CTL" keygen "$WORK/b.key")
mkdir -p "$WORK/rec"
"$SEED" --source "file://$WORK/a.ts" --key "$WORK/a.key" --source "file://$WORK/b.ts" \
	--key "$WORK/b.key" --record "$WORK/rec" --no-serve --stats-interval 0 --duration 30 \
	2>"$WORK/seed.log"
check "the seed ends by itself when both files are played" test $? -eq 0
check "two stream ids from two keys" test "$IDA" != "$IDB"
check "stream A's store holds exactly file A" cmp "$WORK/a.ts" "$WORK/rec/$IDA.ts"
check "stream B's store holds exactly file B" cmp "$WORK/b.ts" "$WORK/rec/$IDB.ts"
check "file sources are paced by their PCR (6 s file, >= 5 s run)" python3 - "$WORK/seed.log" <<'PY'
import re, sys
t = [sum(float(x) * m for x, m in zip(re.match(r'(\d+):(\d+):([\d.]+)', l).groups(), (3600, 60, 1)))
     for l in open(sys.argv[1]) if re.match(r'\d+:\d+:[\d.]+ ', l)]
sys.exit(0 if t and t[-1] - t[0] >= 5 else 1)
PY
[ $TAP_FAILED -eq 0 ] || sed 's/^/# /' "$WORK/seed.log"
finish
