// Embeds the texts of WANT (retune embed's JSONL) with the fused export in
// DIR, tokenized by Hugging Face's tokenizers from DIR/tokenizer.json and
// run by onnxruntime-node, and prints, per batch size, the largest
// difference from retune's vectors and the smallest cosine. See
// export_check.sh.
const fs = require('fs');
const ort = require('onnxruntime-node');
const { Tokenizer } = require('tokenizers');

const [dir, wantFile] = process.argv.slice(2);
const rows = fs.readFileSync(wantFile, 'utf8').trim().split('\n').map(l => JSON.parse(l));
const texts = rows.map(r => r.text);

async function embed(session, tok, batch) {
  const encs = await tok.encodeBatch(batch); // the file pads to the batch's longest
  const len = encs[0].getIds().length;
  const tensor = get => {
    const a = new BigInt64Array(batch.length * len);
    encs.forEach((e, i) => get(e).forEach((x, j) => { a[i * len + j] = BigInt(x); }));
    return new ort.Tensor('int64', a, [batch.length, len]);
  };
  const feeds = {};
  for (const name of session.inputNames) {
    feeds[name] = tensor({ input_ids: e => e.getIds(), attention_mask: e => e.getAttentionMask(),
      token_type_ids: e => e.getTypeIds() }[name]);
  }
  const out = (await session.run(feeds)).sentence_embedding;
  const d = out.dims[1];
  return batch.map((_, i) => Array.from(out.data.slice(i * d, (i + 1) * d)));
}

(async () => {
  const session = await ort.InferenceSession.create(`${dir}/model.onnx`);
  const tok = Tokenizer.fromFile(`${dir}/tokenizer.json`);
  let worst = 0;
  for (const bs of [1, 7, 64]) {
    let maxAbs = 0, minCos = 1;
    for (let s = 0; s < texts.length; s += bs) {
      const got = await embed(session, tok, texts.slice(s, s + bs));
      got.forEach((g, i) => {
        const w = rows[s + i].embedding;
        let dot = 0, ng = 0, nw = 0;
        g.forEach((x, k) => {
          maxAbs = Math.max(maxAbs, Math.abs(x - w[k]));
          dot += x * w[k]; ng += x * x; nw += w[k] * w[k];
        });
        if (ng > 0 || nw > 0) minCos = Math.min(minCos, ng > 0 && nw > 0 ? dot / Math.sqrt(ng * nw) : 0);
      });
    }
    worst = Math.max(worst, maxAbs);
    console.log(JSON.stringify({ batch: bs, texts: texts.length, max_abs_diff: +maxAbs.toExponential(2), min_cosine: +minCos.toFixed(7) }));
  }
  if (worst > 1e-4) process.exit(1);
})().catch(e => { console.error(e); process.exit(1); });
