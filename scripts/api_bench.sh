#!/usr/bin/env bash
# REST service bars on SciFact with the default encoder: job wall time with a
# cold and a warm embedding cache (mined negatives), then top-10 search
# latency at 50 concurrent requests over the SciFact collection while another
# job trains, then over a collection searched through that job's head, and
# the server's peak RSS. Loopback only; bounded in time.
# Needs `make setup` and the shared SciFact.
set -euo pipefail
cd "$(dirname "$0")/.."
BEIR=${BEIR:-../shared/data/scifact}
PORT=${PORT:-18080}
URL=http://127.0.0.1:$PORT
DATA=$(mktemp -d)
bin/retune serve --addr 127.0.0.1:$PORT --data "$DATA" ${SERVE_ARGS:-} >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf $URL/healthz >/dev/null && break; sleep 0.2; done

field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
now() { date +%s.%N; }

DS=$(curl -sf -F corpus=@$BEIR/corpus.jsonl -F queries=@$BEIR/queries.jsonl \
  -F qrels_train=@$BEIR/qrels/train.tsv -F qrels_test=@$BEIR/qrels/test.tsv -F name=scifact \
  $URL/v1/datasets | field '["id"]')

job() { # prints the job id
  curl -sf -H 'Content-Type: application/json' \
    -d "{\"dataset\":\"$DS\",\"model\":\"glove-100d\",\"negatives\":\"mined\"}" \
    $URL/v1/fine_tuning/jobs | field '["id"]'
}
wait_job() { # follows the job's event stream, which ends with the job: polling
  # (a curl and a sed every 0.1 s) took 10-25% of a 2-core box from the job
  curl -sfN -H 'Accept: text/event-stream' $URL/v1/fine_tuning/jobs/$1/events >/dev/null
  st=$(curl -sf $URL/v1/fine_tuning/jobs/$1 | sed -n 's/.*"status":"\([a-z_]*\)".*/\1/p')
  [ "$st" = succeeded ] || { echo "job $1 $st" >&2; return 1; }
}
run_job() {
  local t0 id
  t0=$(now); id=$(job); wait_job "$id"
  python3 -c "print('%.1f' % ($(now) - $t0))"
  curl -sf $URL/v1/fine_tuning/jobs/$id | python3 -c "
import json,sys; r=json.load(sys.stdin)['result']
print('  base ndcg@10 %.4f  tuned %.4f  cache misses %s  stages %s' % (r['base']['ndcg@10'], r['tuned']['ndcg@10'], r.get('cache_misses'), {k: round(v,1) for k,v in r['timings_s'].items()}))" >&2
}
echo "cold job wall s: $(run_job)"
echo "warm job wall s: $(run_job)"

collection() { # prints the id of a ready collection of the dataset; $1: extra JSON fields
  local col
  col=$(curl -sf -H 'Content-Type: application/json' -d "{\"model\":\"glove-100d\",\"dataset\":\"$DS\"$1}" \
    $URL/v1/collections | field '["id"]')
  for _ in $(seq 600); do
    [ "$(curl -sf $URL/v1/collections/$col | field '["status"]')" = ready ] && break; sleep 0.1
  done
  echo "$col"
}
search() { bin/retune bench search --url $URL --collection $1 --concurrency 50 --requests 3000 --k 10 --beir $BEIR; }

COL=$(collection "")
echo "search, no job running:"
search $COL
BG=$(job)   # a job trains while we search
sleep 1     # past the job's start-up, into its training epochs
echo "search while job $BG runs:"
search $COL
echo "job $BG right after the searches: $(curl -sf $URL/v1/fine_tuning/jobs/$BG | sed -n 's/.*"status":"\([a-z_]*\)".*/\1/p') (must be running for the figure to count)"
wait_job "$BG" || true
# The same searches through a head: the collection embeds queries and
# documents with the finished job's head.
HEAD=$(curl -sf $URL/v1/fine_tuning/jobs/$BG | field '["head"]')
HCOL=$(collection ",\"head\":\"$HEAD\"")
echo "search through head $HEAD, no job running:"
search $HCOL
echo "server peak RSS MB: $(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$PID/status)"
