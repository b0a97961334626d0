#!/usr/bin/env python3
"""usage: synth_pairs.py OUT.jsonl N [TEST_N] [SEED]

Writes N FlagEmbedding training pairs ({"query","pos"[,"neg"]}) built from
SciFact's sentences, for scale measurements: passages are 2-4 consecutive
sentences of an abstract plus a random one (30% with the title), queries a
window of the passage's words (shuffled, lowercased or with a claim's
words in front, for some), 30% of lines with one random passage as "neg".
With TEST_N, OUT.test.jsonl gets TEST_N held-out pairs whose queries are
not among the training ones. SciFact is read from $RETUNE_DATA/scifact
(default ../shared/data/scifact). Not retrieval-quality data: its figures
measure time and memory only.
"""
import json, os, random, re, sys
out, n = sys.argv[1], int(sys.argv[2])
test_n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 11)
src = os.path.join(os.environ.get("RETUNE_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")), "scifact")
docs = []
for line in open(src + "/corpus.jsonl"):
    d = json.loads(line)
    ss = [s for s in re.split(r"(?<=[.!?]) ", d["text"]) if len(s.split()) >= 4]
    if ss:
        docs.append((d["title"], ss))
claims = [json.loads(l)["text"] for l in open(src + "/queries.jsonl")]
allsent = [s for _, ss in docs for s in ss]
def passage():
    t, ss = rnd.choice(docs)
    k = rnd.randint(2, 4)
    i = rnd.randrange(max(1, len(ss) - k + 1))
    body = ss[i:i + k] + [rnd.choice(allsent)]
    if rnd.random() < 0.3:
        body = [t] + body
    return " ".join(body)
def query(p):
    w = p.split()
    r = rnd.random()
    if r < 0.15:
        c = rnd.choice(claims).split()
        return " ".join(c[:rnd.randint(min(4, len(c)), len(c))] + w[:3])
    L = rnd.randint(6, 14)
    s = rnd.randrange(max(1, len(w) - L))
    q = w[s:s + L]
    if r < 0.5:
        q = [x.lower().strip(".,;:()") for x in q]
        rnd.shuffle(q)
    if rnd.random() < 0.5:
        q = ["what", "is", "known", "about"] + q if rnd.random() < 0.5 else q + ["?"]
    return " ".join(q)
def write(path, m, avoid=frozenset()):
    used = set()
    with open(path, "w") as f:
        while len(used) < m:
            p = passage()
            rec = {"query": query(p), "pos": [p]}
            if rnd.random() < 0.3:
                rec["neg"] = [passage()]
            if rec["query"] in avoid or rec["query"] in used:
                continue
            used.add(rec["query"])
            f.write(json.dumps(rec) + "\n")
    return used
train = write(out, n)
if test_n:
    write(out.replace(".jsonl", ".test.jsonl"), test_n, train)
