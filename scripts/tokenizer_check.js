// Prints Hugging Face tokenizers' ids for texts, as tokenizer_ids prints
// retune's: node tokenizer_check.js tokenizer.json texts.jsonl > ids.jsonl
// (NODE_PATH must hold tokenizers 0.23.2).
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

(async () => {
  const [tokPath, textsPath] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  const out = [];
  for (const line of fs.readFileSync(textsPath, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.stringify((await tok.encode(JSON.parse(line))).getIds()));
    } catch (e) {
      out.push(JSON.stringify('error: ' + e));
    }
  }
  process.stdout.write(out.join('\n') + '\n');
})();
