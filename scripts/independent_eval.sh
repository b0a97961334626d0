#!/usr/bin/env bash
# Checks retune's SciFact figures with an evaluation written apart from its
# Go code (scripts/independent_eval.py): the base encoder's and a freshly
# trained default head's test nDCG@10, Recall@100 and MRR@10, each printed
# beside what retune itself reports. Needs `make setup` and the shared
# SciFact; python3 standard library only.
set -euo pipefail
cd "$(dirname "$0")/.."
BEIR=${BEIR:-../shared/data/scifact}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
python3 scripts/independent_eval.py texts "$BEIR" test "$OUT"
bin/retune train --beir "$BEIR" --model glove-100d --out "$OUT/head" --cache "$OUT/cache" 2>/dev/null > "$OUT/train.json"
for which in base tuned; do
  head=()
  [ "$which" = tuned ] && head=(--head "$OUT/head")
  for part in corpus queries; do
    bin/retune embed --model glove-100d "${head[@]}" < "$OUT/$part.txt" > "$OUT/$which-$part.jsonl" 2>/dev/null
  done
  echo "$which, independent: $(python3 scripts/independent_eval.py score "$BEIR" test "$OUT" "$OUT/$which-corpus.jsonl" "$OUT/$which-queries.jsonl")"
  echo "$which, retune train: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps({k: d[k] for k in ("ndcg@10", "recall@100", "mrr@10")}))' "$OUT/train.json" "$which")"
done
