#!/usr/bin/env bash
# 200,000 zero-byte objects (200 prefixes x 1,000) on rclone: s3pump sync and s5cmd sync, a
# first mirror and an unchanged re-run each (wall, CPU, peak RSS).
# The dataset and the peers come from: scripts/bench listing-parallel
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$REPO/.bench/s3root
PORT=${PORT:-58999}
"$REPO/.venv/bin/rclone" serve s3 --auth-key BENCHKEY,BENCHSECRET0123456789 \
    --addr 127.0.0.1:$PORT --config /dev/null --dir-cache-time 1h "$ROOT" >/tmp/rclone200k.log 2>&1 &
RC=$!
trap 'kill $RC' EXIT
sleep 2
export AWS_ACCESS_KEY_ID=BENCHKEY AWS_SECRET_ACCESS_KEY=BENCHSECRET0123456789 AWS_DEFAULT_REGION=us-east-1
EP=http://127.0.0.1:$PORT
SRC=s3://bench/tree200x1000-200000x0/
S5=$REPO/.bench/venv-peers/bin/s5cmd
rm -rf /tmp/m200k /tmp/m200k-s5
run() { echo "== $*"; /usr/bin/time -f "wall %e s, user %U s, sys %S s, maxrss %M KiB" "$@" 2>&1 | tail -3; }
run "$REPO/.venv/bin/s3pump" sync $SRC /tmp/m200k --endpoint-url $EP --json -q
run "$REPO/.venv/bin/s3pump" sync $SRC /tmp/m200k --endpoint-url $EP --json -q
run "$S5" --endpoint-url $EP sync "${SRC}*" /tmp/m200k-s5/
run "$S5" --endpoint-url $EP sync "${SRC}*" /tmp/m200k-s5/
