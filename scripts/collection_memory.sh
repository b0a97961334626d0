#!/usr/bin/env bash
# The README's collection memory table: indexes SciFact (plain, and through
# a trained head) and synthetic corpora of DOCS_LIST documents
# (scripts/synth_beir.py) as glove-100d collections on a fresh server (each
# corpus's first indexing embeds it: a cold embedding cache), and
# prints each indexing run's memory estimate beside the growth of the live
# heap it caused (the server logs both when a collection is ready). The
# server runs with GOMEMLIMIT=${GOMEMLIMIT:-300MiB} so that the collector
# runs often enough to see the peak. Needs `make setup` and the shared SciFact.
set -euo pipefail
cd "$(dirname "$0")/.."
BEIR=${BEIR:-../shared/data/scifact}
DOCS_LIST=${DOCS_LIST:-"50000 300000"}
PORT=${PORT:-18082}
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
trap 'stop; rm -rf "$WORK"' EXIT
GOMEMLIMIT=${GOMEMLIMIT:-300MiB} bin/retune serve --addr 127.0.0.1:$PORT --data "$WORK/data" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf $URL/healthz >/dev/null && break; sleep 0.2; done
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
upload() { # folder name -> dataset id
  curl -sf -F corpus=@$1/corpus.jsonl -F queries=@$1/queries.jsonl -F qrels_train=@$1/qrels/train.tsv \
    -F qrels_test=@$1/qrels/test.tsv -F name=$2 $URL/v1/datasets | field '["id"]'
}
index() { # label, create body
  local col st
  col=$(curl -sf -H 'Content-Type: application/json' -d "$2" $URL/v1/collections | field '["id"]')
  for _ in $(seq 6000); do
    st=$(curl -sf $URL/v1/collections/$col | field '["status"]')
    [ "$st" != indexing ] && break; sleep 0.1
  done
  grep "\"collection indexed\".*$col\|$col.*\"collection indexed\"" "$WORK/server.log" | python3 -c "
import json,sys
d = json.loads(sys.stdin.readline())
print('| %s | %.0f MiB | %.0f MiB |' % (sys.argv[1], d['memory_estimate_bytes']/2**20, d['peak_heap_growth_bytes']/2**20))" "$1"
}
DS=$(upload "$BEIR" scifact)
echo "| collection | estimate | peak live-heap growth |"
echo "|---|---|---|"
index "SciFact (5,183 abstracts; cold embedding cache)" "{\"model\":\"glove-100d\",\"dataset\":\"$DS\"}"
JOB=$(curl -sf -H 'Content-Type: application/json' -d "{\"dataset\":\"$DS\",\"model\":\"glove-100d\"}" \
  $URL/v1/fine_tuning/jobs | field '["id"]')
curl -sfN -H 'Accept: text/event-stream' $URL/v1/fine_tuning/jobs/$JOB/events >/dev/null
HEAD=$(curl -sf $URL/v1/fine_tuning/jobs/$JOB | field '["head"]')
index "SciFact through a trained head (warm cache)" "{\"model\":\"glove-100d\",\"dataset\":\"$DS\",\"head\":\"$HEAD\"}"
for n in $DOCS_LIST; do
  python3 scripts/synth_beir.py "$WORK/synth$n" "$n" 200 20 "$BEIR"
  index "synth_beir.py, $n documents" "{\"model\":\"glove-100d\",\"dataset\":\"$(upload "$WORK/synth$n" synth$n)\"}"
  rm -rf "$WORK/synth$n"
done
