#!/usr/bin/env bash
# Compares the token ids retune gives with those Hugging Face's tokenizers
# 0.23.2 (from npm) gives under the tokenizer.json retune's exports carry,
# on 418,694 texts: every code point from U+0080 to U+2FFFF alone and
# inside a word, and 30,000 seeded mixes of added-token literals, accents,
# marks, format, private-use and CJK characters. Texts whose ids differ
# are counted by kind: "unicode versions" holds a character that Unicode
# added or recategorised after 3.2 (Go's tables are Unicode 15, Hugging
# Face's partly older: inherent), CJK ideographs excepted; any other
# difference is listed and makes the script exit 1. Usage: scripts/tokenizer_check.sh
# [TOKENIZER_JSON...] (default: glove-100d's and the BERT fixture's, from
# `make fixtures`). Needs go, node, npm and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TMPDIR:-/tmp}/retune-tokenizer-check
mkdir -p "$W"
python3 - > "$W/texts.jsonl" <<'PY'
import json, random
random.seed(7)
texts = []
for cp in range(0x80, 0x30000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    texts += ["x" + chr(cp) + "y", "a " + chr(cp) + " b"]
lits = ["[SEP]", "[CLS]", "[MASK]", "[UNK]", "[PAD]"]
odd = ["\u200b", "\ufeff", "\u00ad", "\ue000", "\u3400", "\u093e", "\u0301", "\u20dd", "é", "한국어", " ", "\t",
       "\u00a0", "\u3300", "ﬁ", "ß", "İ", "Ⱥ"]
words = ["hello", "world", "café", "naïve", "x", "ab", "вa", "日本", "ক্ষমা", "a\u093eb"]
for _ in range(30000):
    parts = []
    for _ in range(random.randint(1, 8)):
        r = random.random()
        parts.append(random.choice(lits) if r < 0.3 else random.choice(odd) if r < 0.6 else random.choice(words))
    texts.append(random.choice(["", " ", ""]).join(parts))
for t in texts:
    if t.strip():
        print(json.dumps(t))
PY
[ -d "$W/js/node_modules/tokenizers" ] ||
  npm install --silent --ignore-scripts --prefix "$W/js" tokenizers@0.23.2 > /dev/null
toks=("$@")
[ ${#toks[@]} -gt 0 ] || toks=(models/glove-100d/tokenizer.json models/bert-minilm-fixture/tokenizer.json)
status=0
for t in "${toks[@]}"; do
  echo "== $t"
  go run ./scripts/tokenizer_ids -portable "$W/portable.json" "$t" < "$W/texts.jsonl" > "$W/retune.jsonl"
  NODE_PATH="$W/js/node_modules" node scripts/tokenizer_check.js "$W/portable.json" "$W/texts.jsonl" > "$W/hf.jsonl"
  python3 - "$W/texts.jsonl" "$W/retune.jsonl" "$W/hf.jsonl" <<'PY' || status=1
import json, sys, unicodedata as ud
old = ud.ucd_3_2_0
texts, ours, theirs = ([json.loads(l) for l in open(p)] for p in sys.argv[1:4])
skew, other = 0, []
for t, a, b in zip(texts, ours, theirs):
    if a == b:
        continue
    # CJK ideographs of later extensions are not table-dependent: BERT's
    # Chinese ranges are written out in code.
    if any((old.category(c) == "Cn" or old.category(c) != ud.category(c))
           and not ud.name(c, "").startswith("CJK UNIFIED IDEOGRAPH") for c in t):
        skew += 1
    else:
        other.append((t, a, b))
print(f"{len(texts)} texts: {len(texts) - skew - len(other)} alike, {skew} differ on unicode versions, {len(other)} otherwise")
for t, a, b in other[:20]:
    print(f"  {t!r}: retune {a}, hugging face {b}")
sys.exit(1 if other else 0)
PY
done
exit $status
