#!/usr/bin/env bash
# A server's resident memory while an encoder it serves is replaced again and
# again (`retune models add --force`): the MiniLM-shape fixture is imported,
# served, then re-imported ROUNDS times, each followed by three embeddings
# requests (which make the server open the new files). Prints the server's
# RSS after each round. Needs `make fixtures`. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-12}
PORT=${PORT:-18931}
R=${RETUNE:-$PWD/bin/retune} # RETUNE: another build to compare
TMP=$(mktemp -d)
mkdir "$TMP/models" "$TMP/snap"
ln -s "$PWD/models/onnxruntime" "$TMP/models/onnxruntime"
cp models/bert-minilm-fixture/{model.onnx,tokenizer.json} "$TMP/snap/"
add() { "$R" models add --name minilm --from "$TMP/snap" --models "$TMP/models" --max-length 256 "$@" >/dev/null; }
add
"$R" serve --addr 127.0.0.1:$PORT --data "$TMP/data" --models "$TMP/models" >"$TMP/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
body='{"model":"minilm","input":["a dog runs in the park and the weather is fine today"]}'
for i in $(seq 0 "$ROUNDS"); do
  if [ "$i" -gt 0 ]; then
    add --force
    sleep 1.2 # a server looks at an open encoder's files at most once a second
  fi
  for _ in 1 2 3; do
    curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:$PORT/v1/embeddings
  done
  sleep 0.5
  echo "replacements $i: server RSS $(awk '/VmRSS/ {print int($2/1024)}' /proc/$PID/status) MB"
done
