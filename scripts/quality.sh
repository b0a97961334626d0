#!/usr/bin/env bash
# Quality tables for the README: base vs tuned nDCG@10 on SciFact test with
# glove-100d. "core": negatives none/mined x head shared/query (training
# core issue); "default-seeds": the default run over five seeds; "ablation": the negatives ablation with and without the
# entropy term (negatives issue); "seeds": that comparison over five seeds;
# "rewrite": over three seeds with counterfactuals of mined candidates;
# "settings": over five seeds without the near-identity filter and without
# in-batch negatives.
# Needs `make setup` and the shared SciFact.
set -euo pipefail
cd "$(dirname "$0")/.."
BEIR=${BEIR:-../shared/data/scifact}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() {
  local label=$1; shift
  bin/retune train --beir "$BEIR" --model glove-100d --out "$OUT/head" --force "$@" 2>/dev/null |
    python3 -c '
import json, sys
d = json.load(sys.stdin); g = d.get("generation") or {}; dg = g.get("diagnostics") or {}
diag = ""
if dg:
    diag = "kept %d; cos q-mined %.3f, q-gen %.3f, gen-mined %.3f" % (g["kept"], dg["mean_cos_query_mined"], dg["mean_cos_query_generated"], dg["mean_cos_generated_mined"])
print("| %s | %.4f | %.4f | %.4f | %d | %.1f | %s | `%s` |" % (sys.argv[1], d["base"]["ndcg@10"], d["tuned"]["ndcg@10"], d["dev_best"]["ndcg@10"], d["best_epoch"], d["timings_s"]["total"], diag, " ".join(sys.argv[2:])))
' "$label" "$@"
}
echo "| variant | base nDCG@10 | tuned nDCG@10 | dev nDCG@10 | best epoch | pipeline s | generated negatives | flags |"
echo "|---|---|---|---|---|---|---|---|"
case "${1:-core}" in
core)
  run "none, shared"  --negatives none  --apply shared
  run "none, query"   --negatives none  --apply query
  run "mined, shared" --negatives mined --apply shared
  run "mined, query"  --negatives mined --apply query
  ;;
default-seeds)
  # the default run (mined, shared) over five seeds (each also redraws the dev split)
  for seed in 1 2 3 4 5; do
    run "mined, shared, seed $seed" --negatives mined --apply shared --seed $seed
  done
  ;;
ablation)
  # the entropy term acts on generated negatives alone (train refuses
  # --entropy-weight without them): none and mined run once
  run "none"  --negatives none
  run "mined" --negatives mined
  for lam in 0 0.05; do
    run "generated, λ=$lam"       --negatives generated       --entropy-weight $lam --generator offline --gen-max-cos 0.999
    run "mined+generated, λ=$lam" --negatives mined+generated --entropy-weight $lam --generator offline --gen-max-cos 0.999
  done
  ;;
seeds)
  # the entropy-term comparison over five seeds (each also redraws the dev split)
  for seed in 1 2 3 4 5; do
    for lam in 0 0.05; do
      run "mined+generated, λ=$lam, seed $seed" --negatives mined+generated --entropy-weight $lam \
        --generator offline --gen-max-cos 0.999 --seed $seed
    done
  done
  ;;
rewrite)
  # the same comparison with counterfactuals written from mined candidates
  for seed in 1 2 3; do
    for lam in 0 0.05; do
      run "mined+generated (rewrite), λ=$lam, seed $seed" --negatives mined+generated --entropy-weight $lam \
        --generator offline --gen-rewrite-candidates --seed $seed
    done
  done
  ;;
settings)
  # the same comparison in two more settings over five seeds: no near-identity
  # filter (about 3.3 counterfactuals per query, so H_gen is active), and the
  # CausalNeg reference code's setting without in-batch negatives
  for setting in "--gen-max-cos 1" "--gen-max-cos 0.999 --in-batch=false"; do
    for seed in 1 2 3 4 5; do
      for lam in 0 0.05; do
        # shellcheck disable=SC2086
        run "mined+generated ($setting), λ=$lam, seed $seed" --negatives mined+generated --entropy-weight $lam \
          --generator offline $setting --seed $seed
      done
    done
  done
  ;;
*) echo "usage: scripts/quality.sh core|default-seeds|ablation|seeds|rewrite|settings" >&2; exit 2 ;;
esac
