#!/usr/bin/env bash
# Runs a fused export outside Go: ONNX Runtime's Node binding and Hugging
# Face's tokenizers (onnxruntime-node 1.24.1 and tokenizers 0.23.2, from
# npm) embed SciFact texts with the export's own model.onnx and
# tokenizer.json, at batch sizes 1, 7 and 64, and the vectors are compared
# with `retune embed --head`'s. Usage: scripts/export_check.sh [HEAD_DIR]
# (default: a freshly trained default glove-100d head). Needs `make setup`,
# node and npm; exits 1 if any value differs by more than 1e-4.
set -euo pipefail
cd "$(dirname "$0")/.."
BEIR=${BEIR:-../shared/data/scifact}
W=${TMPDIR:-/tmp}/retune-export-check
mkdir -p "$W"
HEAD=${1:-$W/head}
if [ -z "${1:-}" ]; then
  bin/retune train --beir "$BEIR" --model glove-100d --out "$HEAD" --force --cache "$W/cache" > /dev/null 2>&1
fi
rm -rf "$W/fused"
bin/retune export --head "$HEAD" --format fused-onnx --out "$W/fused" > /dev/null
# 200 queries, 200 abstracts (truncation included) and texts that test the
# tokenizer: accents, Hangul, Unicode spaces, a byte-order mark.
python3 - "$BEIR" > "$W/texts.txt" <<'PY'
import json, sys
d = sys.argv[1]
def lines(name, n):
    with open(f"{d}/{name}") as f:
        return [" ".join(json.loads(l)["text"].split()) for l, _ in zip(f, range(n))]
for t in lines("queries.jsonl", 200) + lines("corpus.jsonl", 200) + [
        "Café au lait, naïve résumé", "한국어 텍스트 cells", "dog\u00a0runs\u2003fast", "\ufeffhello world",
        "ÅNGSTRÖM units of the CELL cycle"]:
    print(t)
PY
bin/retune embed --head "$HEAD" < "$W/texts.txt" > "$W/want.jsonl"
[ -d "$W/js/node_modules/tokenizers" ] ||
  npm install --silent --ignore-scripts --prefix "$W/js" onnxruntime-node@1.24.1 tokenizers@0.23.2 > /dev/null
NODE_PATH="$W/js/node_modules" node scripts/export_check.js "$W/fused" "$W/want.jsonl"
