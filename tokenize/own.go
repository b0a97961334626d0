package tokenize

import "unicode"

// For a file whose normalizer is run here (ownNormalizer), the text is
// taken apart here as Hugging Face's AddedVocabulary takes it apart, and
// sugarme, loaded without the file's normalizer and added tokens (see
// fileSections.pipeline), sees only what is left: added tokens that are
// not `normalized` are found in the raw text, each stretch between them is
// folded (where Load folds) and normalised, the `normalized` ones are found
// in it by their normalised content, and each piece left is pre-tokenised
// here under a lone Metaspace (metaspace.go), the model then called on each
// split, or else goes to sugarme's pre-tokenizer and model on its own.
// Hugging Face drops empty pieces; sugarme gave the empty split before a
// "<mask>" starting a text a "▁".
type ownPipeline struct {
	normalize hfNormalizer
	raw, norm literalSet
	// meta: the file's pre-tokenizer is a Metaspace run here, and the
	// model is called on its splits (sugarme's pipeline is not used).
	meta *metaspace
}

func newOwnPipeline(cfg *pipelineConfig, ids map[string]int, fold *unicode.RangeTable) *ownPipeline {
	o := &ownPipeline{normalize: cfg.normalize, meta: newMetaspace(cfg.PreTokenizer)}
	o.raw, o.norm = addedSets(cfg.AddedTokens, ids, fold, cfg.normalize.normalize)
	return o
}

// addedSets reads the added tokens as Hugging Face's AddedVocabulary
// matches them: every one, special or not, in the vocabulary or not, with
// Hugging Face's id (ids, from addedIDs); `normalized` ones in norm, by
// their content folded (if fold) and normalised as a text's stretch is,
// the others in raw.
func addedSets(added []addedTokenConfig, ids map[string]int, fold *unicode.RangeTable,
	normalize func(string) string) (raw, norm literalSet) {
	for _, at := range added {
		l := literal{s: at.Content, content: at.Content, id: int32(ids[at.Content]),
			lstrip: at.Lstrip, rstrip: at.Rstrip, singleWord: at.SingleWord}
		set := &raw
		if at.Normalized {
			c := at.Content
			if fold != nil {
				c = foldAccents(c, fold)
			}
			l.s, set = normalize(c), &norm
		}
		if l.s == "" {
			// A normalized token that normalises to nothing ("\u200b"
			// under clean_text): Hugging Face's trie matches it at every
			// byte, splitting text into characters or failing
			// ("AddedVocabulary bad split"); here it matches nowhere.
			continue
		}
		set.add(l, true)
	}
	raw.index()
	norm.index()
	return raw, norm
}

// ownContent is content for a file whose normalizer is run here.
func (t *Tokenizer) ownContent(ids []int, toks []string, text string, limit int, wantToks bool) ([]int, []string, error) {
	o := t.own
	emit := func(l *literal) {
		ids = append(ids, int(l.id))
		if wantToks {
			toks = append(toks, l.content)
		}
	}
	var err error
	for _, sp := range o.raw.find(nil, text) {
		if sp.tok != nil {
			emit(sp.tok)
			continue
		}
		s := text[sp.start:sp.end]
		if t.fold != nil {
			s = foldAccents(s, t.fold)
		}
		s = o.normalize.normalize(s)
		for _, np := range o.norm.find(nil, s) {
			if np.tok != nil {
				emit(np.tok)
			} else if ids, toks, err = t.ownPiece(ids, toks, s[np.start:np.end], limit, wantToks); err != nil {
				return nil, nil, err
			}
		}
		if limit >= 0 && len(ids) > limit {
			break
		}
	}
	return ids, toks, nil
}

// ownPiece appends the encoding of normalised text holding no added token:
// split by the Metaspace run here if there is one, else through sugarme,
// in chunks between spaces through the chunk cache where the pipeline is
// chunkable, else whole, or cut before spaces under a Metaspace beside
// other pre-tokenizers (see spaceCut). The pre-tokenizer splits on the Unicode whitespace the
// normalizer left, as Hugging Face's does.
func (t *Tokenizer) ownPiece(ids []int, toks []string, s string, limit int, wantToks bool) ([]int, []string, error) {
	if t.own.meta != nil {
		return t.own.meta.encode(t.tk.GetModel(), ids, toks, s, limit, wantToks)
	}
	s = t.spacesToASCII(s)
	if t.cache != nil {
		return t.chunked(ids, toks, s, nil, limit, wantToks)
	}
	return t.viaSugarme(ids, toks, s, limit, wantToks, t.encodeChunk)
}
