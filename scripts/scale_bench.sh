#!/usr/bin/env bash
# The README's large-collection search figures: builds the synthetic BEIR
# folder (scripts/synth_beir.py; DOCS documents, default 300000), uploads it
# to a fresh server, indexes it as a glove-100d collection, then measures
# top-10 dense search with `retune bench search` at concurrency 1, 8 and 50
# (one query per request) and with 64 queries per request, and finally how
# long a restarted server takes to preload the collection (three restarts). Speed only: the
# synthetic set's relevance means nothing. Needs `make setup` and the
# shared SciFact (its sentences make the documents).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS=${DOCS:-300000}
PORT=${PORT:-18081}
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
trap 'stop; rm -rf "$WORK"' EXIT
serve() {
  bin/retune serve --addr 127.0.0.1:$PORT --data "$WORK/data" >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf $URL/healthz >/dev/null && return; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

python3 scripts/synth_beir.py "$WORK/beir" "$DOCS" 2000 200
serve
B=$WORK/beir
DS=$(curl -sf -F corpus=@$B/corpus.jsonl -F queries=@$B/queries.jsonl -F qrels_train=@$B/qrels/train.tsv \
  -F qrels_test=@$B/qrels/test.tsv -F name=synthetic $URL/v1/datasets | field '["id"]')
t0=$(date +%s.%N)
COL=$(curl -sf -H 'Content-Type: application/json' -d "{\"model\":\"glove-100d\",\"dataset\":\"$DS\"}" \
  $URL/v1/collections | field '["id"]')
for _ in $(seq 3000); do
  st=$(curl -sf $URL/v1/collections/$COL | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
  [ "$st" = ready ] && break; [ "$st" = failed ] && { echo "indexing failed" >&2; exit 1; }; sleep 0.2
done
echo "collection of $DOCS documents indexed in $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s"
bench() { # concurrency, queries per request
  bin/retune bench search --url $URL --collection $COL --concurrency "$1" --per-request "$2" --requests 2000 \
    --warmup 5 --k 10 --beir "$B" | python3 -c "
import json,sys; d=json.load(sys.stdin); l=d['latency_ms']
print('concurrency %s, %s queries/request: %d ok, %.0f req/s (%.0f queries/s), p50 %.1f ms, p99 %.1f ms' % (
  sys.argv[1], sys.argv[2], d['ok'], d['requests_per_s'], d['requests_per_s']*d['queries_per_request'], l['p50'], l['p99']))" "$1" "$2"
}
bench 1 1
bench 8 1
bench 50 1
bench 1 64
echo "server peak RSS MB: $(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$PID/status)"
stop
for round in 1 2 3; do
  : >"$WORK/server.log"
  serve
  for _ in $(seq 600); do grep -q '"msg":"collection loaded"' "$WORK/server.log" && break; sleep 0.1; done
  echo "preload after restart $round: $(grep -o '"msg":"collection loaded".*"seconds":[0-9.]*' "$WORK/server.log" | sed 's/.*"seconds":\([0-9.]*\)/\1/') s"
  stop
done
