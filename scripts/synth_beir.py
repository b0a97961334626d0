#!/usr/bin/env python3
"""A large synthetic BEIR folder for speed runs (not for quality figures).

Documents are three random SciFact sentences; each query is eight consecutive
words of one document, judged relevant to it. Seeded, so the same arguments
write the same files.

usage: scripts/synth_beir.py OUT DOCS TRAIN_QUERIES TEST_QUERIES [SCIFACT]
e.g.   scripts/synth_beir.py /tmp/big 300000 20000 2000
"""
import json, os, random, re, sys

out, n, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
src = sys.argv[5] if len(sys.argv) > 5 else os.environ.get("BEIR", "../shared/data/scifact")
random.seed(7)
sents = []
with open(os.path.join(src, "corpus.jsonl")) as f:
    for line in f:
        for s in re.split(r"(?<=[.!?]) ", json.loads(line)["text"]):
            if len(s.split()) >= 6:
                sents.append(s)
docs = [" ".join(random.sample(sents, 3)) for _ in range(n)]
os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
with open(os.path.join(out, "corpus.jsonl"), "w") as f:
    for i, t in enumerate(docs):
        f.write(json.dumps({"_id": "d%d" % i, "title": "", "text": t}) + "\n")
with open(os.path.join(out, "queries.jsonl"), "w") as fq, \
        open(os.path.join(out, "qrels", "train.tsv"), "w") as ftr, \
        open(os.path.join(out, "qrels", "test.tsv"), "w") as fte:
    for f in (ftr, fte):
        f.write("query-id\tcorpus-id\tscore\n")
    for j in range(n_train + n_test):
        i = random.randrange(n)
        w = docs[i].split()
        start = random.randrange(max(1, len(w) - 8))
        fq.write(json.dumps({"_id": "q%d" % j, "text": " ".join(w[start:start + 8])}) + "\n")
        (ftr if j < n_train else fte).write("q%d\td%d\t1\n" % (j, i))
