#!/usr/bin/env python3
"""An evaluation written apart from retune's Go code, to check its figures.

  independent_eval.py texts BEIR_DIR SPLIT OUT_DIR
      writes OUT_DIR/corpus.txt and OUT_DIR/queries.txt (one text per line,
      for `retune embed`), and the ids in the same order;
  independent_eval.py score BEIR_DIR SPLIT OUT_DIR CORPUS_EMB QUERY_EMB
      ranks the corpus by cosine for each query of SPLIT (retune embed's
      JSONL output) and prints nDCG@10, Recall@100 and MRR@10 as BEIR and
      pytrec_eval define them: linear gain, log2 discount, ideal DCG over
      every relevant document, queries judging none relevant left out, a
      document with the query's own id ignored.

A document's text is BEIR's title + " " + text; line breaks inside a text
become spaces (retune's tokenizers split on both alike). Standard library
only.
"""
import json
import math
import os
import sys


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(beir, split):
    qrels = {}
    with open(os.path.join(beir, "qrels", split + ".tsv"), encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            q, d, score = line.rstrip("\n").split("\t")
            qrels.setdefault(q, {})[d] = int(score)
    return qrels


def one_line(text):
    return " ".join(text.split())


def texts(beir, split, out):
    corpus = read_jsonl(os.path.join(beir, "corpus.jsonl"))
    queries = {q["_id"]: q["text"] for q in read_jsonl(os.path.join(beir, "queries.jsonl"))}
    qids = sorted(read_qrels(beir, split))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "corpus.txt"), "w", encoding="utf-8") as t, \
            open(os.path.join(out, "corpus.ids"), "w", encoding="utf-8") as i:
        for d in corpus:
            t.write(one_line((d.get("title", "") + " " + d["text"]).strip()) + "\n")
            i.write(d["_id"] + "\n")
    with open(os.path.join(out, "queries.txt"), "w", encoding="utf-8") as t, \
            open(os.path.join(out, "queries.ids"), "w", encoding="utf-8") as i:
        for q in qids:
            t.write(one_line(queries[q]) + "\n")
            i.write(q + "\n")


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v] if n > 0 else None


def score(beir, split, out, corpus_emb, query_emb):
    ids = lambda name: [l.rstrip("\n") for l in open(os.path.join(out, name), encoding="utf-8")]
    cids, qids = ids("corpus.ids"), ids("queries.ids")
    cvec = [unit(r["embedding"]) for r in read_jsonl(corpus_emb)]
    qvec = [unit(r["embedding"]) for r in read_jsonl(query_emb)]
    assert len(cvec) == len(cids) and len(qvec) == len(qids), "embeddings and ids differ in number"
    docs = [(d, v) for d, v in zip(cids, cvec) if v is not None]
    qrels = read_qrels(beir, split)
    ndcg, recall, mrr = [], [], []
    for q, qv in zip(qids, qvec):
        rel = {d: g for d, g in qrels[q].items() if g > 0}
        if not rel:
            continue
        if qv is None:  # no vector: ranks nothing
            ndcg.append(0), recall.append(0), mrr.append(0)
            continue
        ranked = [d for _, d in sorted(((-sum(a * b for a, b in zip(qv, v)), d) for d, v in docs if d != q))]
        dcg = sum(rel.get(d, 0) / math.log2(r + 2) for r, d in enumerate(ranked[:10]))
        idcg = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(rel.values(), reverse=True)[:10]))
        ndcg.append(dcg / idcg)
        recall.append(sum(d in rel for d in ranked[:100]) / len(rel))
        mrr.append(next((1 / (r + 1) for r, d in enumerate(ranked[:10]) if d in rel), 0))
    mean = lambda xs: sum(xs) / len(xs)
    print(json.dumps({"queries": len(ndcg), "ndcg@10": mean(ndcg), "recall@100": mean(recall), "mrr@10": mean(mrr)}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "texts":
        texts(*sys.argv[2:])
    elif len(sys.argv) == 7 and sys.argv[1] == "score":
        score(*sys.argv[2:])
    else:
        sys.exit(__doc__)
