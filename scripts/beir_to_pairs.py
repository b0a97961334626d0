#!/usr/bin/env python3
"""Write a BEIR folder's train and test splits as FlagEmbedding JSONL pairs
(one {"query", "pos"} line per query), to try `retune train --pairs` on data
at hand: python3 scripts/beir_to_pairs.py ../shared/data/scifact pairs/

Test queries whose text is also a training query are left out (retune
refuses a held-out query that is trained on); the count goes to stderr."""
import json
import os
import sys


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            q, d, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(q, []).append(d)
    return qrels


def main(beir, out):
    docs = {d["_id"]: (d.get("title", "") + " " + d["text"]).strip() for d in read_jsonl(os.path.join(beir, "corpus.jsonl"))}
    queries = {q["_id"]: q["text"] for q in read_jsonl(os.path.join(beir, "queries.jsonl"))}
    os.makedirs(out, exist_ok=True)
    train_texts = set()
    for split in ("train", "test"):
        qrels = read_qrels(os.path.join(beir, "qrels", split + ".tsv"))
        written = skipped = 0
        with open(os.path.join(out, split + ".jsonl"), "w", encoding="utf-8") as f:
            for q, ds in qrels.items():
                text = queries[q]
                if split == "test" and text in train_texts:
                    skipped += 1
                    continue
                if split == "train":
                    train_texts.add(text)
                f.write(json.dumps({"query": text, "pos": [docs[d] for d in ds]}, ensure_ascii=False) + "\n")
                written += 1
        print(f"{os.path.join(out, split + '.jsonl')}: {written} queries" + (f" ({skipped} also in train left out)" if skipped else ""), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: beir_to_pairs.py BEIR_DIR OUT_DIR")
    main(sys.argv[1], sys.argv[2])
