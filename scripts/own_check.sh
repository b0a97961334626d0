#!/usr/bin/env bash
# Checks the tokenizer files retune runs itself (tokenize/own.go) against
# Hugging Face's tokenizers 0.23.2 (npm), beyond scripts/tokenizer_check.sh's
# fixtures:
#   - an XLM-R-shaped file whose Unigram vocabulary sentencepiece trained on
#     the SciFact corpus (Debian's spm_train, 8,000 pieces: real scores, so
#     real ties), on SciFact's 5,183 abstracts and on tokenizer_check.sh's
#     418,694 texts;
#   - a RoBERTa-shaped file (ByteLevel pre-tokenizer, the 256-character
#     byte alphabet and a few merges, <s> </s> <mask> added) on those texts;
#   - both on 30,000 seeded mixes of their added tokens (<s>, </s>, <mask>…),
#     runs of spaces and characters their normalizers change.
# Usage: scripts/own_check.sh. Needs go, node, npm, python3, spm_train
# (apt-get install sentencepiece) and ../shared/data/scifact.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TMPDIR:-/tmp}/retune-own-check
mkdir -p "$W"
RETUNE_FIXTURES="$W" go test -count=1 -run 'TestOwnAsHuggingFace$' ./tokenize/ > /dev/null
[ -d "$W/js/node_modules/tokenizers" ] ||
  npm install --silent --ignore-scripts --prefix "$W/js" tokenizers@0.23.2 > /dev/null
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
with open(f"{w}/scifact.txt", "w") as f, open(f"{w}/abstracts.jsonl", "w") as a:
    for line in open("../shared/data/scifact/corpus.jsonl"):
        d = json.loads(line)
        f.write((d.get("title", "") + " " + d["text"]).replace("\n", " ") + "\n")
        a.write(json.dumps(d["text"]) + "\n")
PY
spm_train --input="$W/scifact.txt" --model_prefix="$W/scifact" --vocab_size=8000 \
  --model_type=unigram --character_coverage=0.9995 > "$W/spm.log" 2>&1
NODE_PATH="$W/js/node_modules" node -e \
  "console.log(JSON.stringify(require('tokenizers').byteLevelAlphabet()))" > "$W/alphabet.json"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
# The XLM-R-shaped fixture with sentencepiece's pieces: <unk> <s> </s> first.
d = json.load(open(f"{w}/xlm-r.json"))
pieces = [[p, float(s)] for p, s in (l.rstrip("\n").split("\t") for l in open(f"{w}/scifact.vocab"))]
pieces += [["<pad>", 0.0], ["<mask>", 0.0]]
n = len(pieces)
tok = lambda i, c: dict(id=i, content=c, single_word=False, lstrip=c == "<mask>", rstrip=False,
                        normalized=False, special=True)
d["model"] = {"type": "Unigram", "unk_id": 0, "vocab": pieces, "byte_fallback": False}
d["added_tokens"] = [tok(0, "<unk>"), tok(1, "<s>"), tok(2, "</s>"), tok(n - 2, "<pad>"), tok(n - 1, "<mask>")]
d["post_processor"] = {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "</s>", "type_id": 0}}], "pair": [],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                       "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}
json.dump(d, open(f"{w}/sentencepiece.json", "w"), ensure_ascii=False)
# RoBERTa-shaped: byte alphabet, a few merges.
vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
for c in sorted(json.load(open(f"{w}/alphabet.json"))):
    vocab[c] = len(vocab)
merges = []
for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "w")]:
    merges.append(a + " " + b)
    vocab.setdefault(a + b, len(vocab))
vocab["<mask>"] = len(vocab)
r = {"version": "1.0", "truncation": None, "padding": None, "normalizer": None,
     "added_tokens": [tok(vocab[c], c) for c in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]],
     "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
     "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                        "trim_offsets": True, "add_prefix_space": False},
     "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
     "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
               "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
               "vocab": vocab, "merges": merges}}
json.dump(r, open(f"{w}/roberta.json", "w"), ensure_ascii=False)
PY
python3 - > "$W/mixes.jsonl" <<'PY'
import json, random
random.seed(11)
lits = ["<s>", "</s>", "<mask>", "<pad>", "<unk>", " <mask>", "<mask> "]
odd = ["\u00a0", "  ", "\t", "\n", "\u200b", "ﬁ", "Ａ", "é", "e\u0301", "…", "①", "\u3000", "ẋ", "日本"]
words = ["hello", "world", "www", "cell", "x", "naïve", "BBB", "333"]
for _ in range(30000):
    parts = [random.choice(lits) if (r := random.random()) < 0.3 else random.choice(odd) if r < 0.55
             else random.choice(words) for _ in range(random.randint(1, 8))]
    t = random.choice(["", " ", ""]).join(parts)
    if t.strip():
        print(json.dumps(t))
PY
status=0
compare() { # FILE TEXTS
  echo "== $2 under $1"
  go run ./scripts/tokenizer_ids -portable "$W/portable.json" "$1" < "$2" > "$W/retune.jsonl"
  NODE_PATH="$W/js/node_modules" node scripts/tokenizer_check.js "$W/portable.json" "$2" > "$W/hf.jsonl"
  python3 - "$2" "$W/retune.jsonl" "$W/hf.jsonl" <<'PY' || status=1
import json, sys
t, a, b = (open(p).read().splitlines() for p in sys.argv[1:4])
diff = [(x, y, z) for x, y, z in zip(t, a, b) if y != z]
print(f"{len(t)} texts, {len(diff)} with other ids")
for x, y, z in diff[:10]:
    print(f"  {x}: retune {y}, hugging face {z}")
sys.exit(1 if diff or not len(t) == len(a) == len(b) else 0)
PY
}
compare "$W/sentencepiece.json" "$W/abstracts.jsonl"
compare "$W/sentencepiece.json" "$W/mixes.jsonl"
compare "$W/roberta.json" "$W/mixes.jsonl"
scripts/tokenizer_check.sh "$W/sentencepiece.json" "$W/roberta.json" || status=1
exit $status
