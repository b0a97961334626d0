package tokenize

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"retune/dataset"
)

// scifactDocs is the SciFact corpus as the benchmark embeds it (title and
// text); nil with a reason when the shared data folder is absent.
var scifactDocs = sync.OnceValues(func() ([]string, error) {
	dir, ok := dataset.FindSharedDataset("scifact")
	if !ok {
		return nil, os.ErrNotExist
	}
	f, err := os.Open(filepath.Join(dir, "corpus.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	docs, err := dataset.ReadCorpus(f)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Content()
	}
	return texts, nil
})

func scifact(tb testing.TB) []string {
	tb.Helper()
	docs, err := scifactDocs()
	if err != nil {
		tb.Skipf("skipping: no SciFact corpus in the shared data folder (%s): %v", dataset.SharedDataEnv, err)
	}
	return docs
}

// gloveFile is the project's GloVe tokenizer.json (WordLevel, 341k words,
// Lowercase, BertPreTokenizer), built by the models step and not always
// present.
func gloveFile(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join("..", "models", "glove-100d", "tokenizer.json")
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("skipping: no GloVe tokenizer.json: %v", err)
	}
	return path
}

// edgeTexts are hand-written cases for the places where a re-implementation
// of sugarme's pipeline could drift from it: every branch of normalisation,
// pre-tokenisation and WordPiece, added-token literals, and the inputs
// sugarme itself gets wrong or panics on (the native encoder hands those
// chunks back to it).
var edgeTexts = []string{
	// Accents, decomposed marks, letters without decomposition.
	"Café naïve RÉSUMÉ Ångström Sjögren Øre Łódź façade",
	"e\u0301 decomposed, \u0301 leading mark, a\u0308\u0301 stacked marks",
	"ﬁ ligature, ǅemal titlecase, ß eszett, Ǆ",
	// CJK ideographs (with and without spaces), kana, Hangul, extension B.
	"日本語のテキスト and 中文mixed漢字 with 𠀀 and 豈 compatibility",
	"한국어 텍스트 입니다 ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
	// Emoji, skin tones, ZWJ sequences, flags, variation selectors.
	"emoji 🙂👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷 heart ❤\ufe0f",
	// Control and format characters, NUL, replacement character, BOM.
	"control \x00chars\x01 next\x02 to \x7f spaces and \x1b[0m escape",
	"zero\u200bwidth soft\u00adhyphen bom\ufeffhere x\ufffdy rtl\u200fmark",
	"\x00\x01 only controls before a word",
	// Whitespace beyond the space: tab, newline, CR, FF, VT, NBSP, em
	// space, ideographic space, NEL, line separator.
	"tabs\tand\nnewlines\r\nmixed\fform\vfeed",
	"nbsp\u00a0joined em\u2003space ideo\u3000space nel\u0085char line\u2028sep",
	// Contractions, abbreviations, numbers, hyphens, dashes.
	"don't won't it's rock'n'roll O'Neill",
	"U.S. e.g. i.e. Ph.D. a.m. No. 5",
	"1,000.5 3.14159 1e-5 10^6 2,500,000 -42 +7 ½ ²³",
	"state-of-the-art well—known 1990–2000 x‐y non‑breaking",
	// ASCII and Unicode punctuation and symbols.
	"punctuation: (e.g., p<0.05), [1-3]; x/y 'quoted' \"text\"... ?!",
	"«quoted» „low“ ¿qué? ¡sí! … § 5 ¶ • · † ‡ ※",
	"$100 + 50% = ^~`| a_b snake_case __init__ #tag @user",
	"https://example.com/a?b=c&d=e user@mail.org C:\\path\\file.txt",
	"β-catenin TNF-α IL-1β ±0.5 ×10³ µm °C ≥ ≤ ∑ ∞ √ Ω",
	// Scripts with combining marks (folded away or kept), RTL scripts.
	"नमस्ते दुनिया สวัสดีครับ مرحبا بالعالم שָׁלוֹם",
	// Private use, unassigned, and other non-characters.
	"private \ue000 use \U000F0000 unassigned \u0378 nonchar \ufdd0",
	// Mixed case, Greek sigma, Kelvin sign, Turkish dotted I, and runes
	// whose lowercase has another UTF-8 length (sugarme errors on Ⱥ).
	"HeLLo WoRLD MiXeD CaSe ΣΑΣ ΟΔΟΣ \u212Aelvin",
	"İstanbul IŞIK",
	"ȺBC lowercases to a longer rune",
	// Long words around max_input_chars_per_word (100 runes).
	strings.Repeat("a", 100) + " " + strings.Repeat("b", 101),
	strings.Repeat("ab", 60) + " " + strings.Repeat("é", 100) + " " + strings.Repeat("ж", 101),
	"unaffable supercalifragilistic antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
	"xyzzyqqq zzzzzz qxqxqx ##ing ## #",
	// Added-token literals: alone, glued, repeated, lowercased, broken
	// (TestAddedTokensAsHuggingFace has several kinds glued, where
	// sugarme is wrong).
	"[MASK] [CLS]x y[SEP] [UNK]",
	"[SEP]a[SEP] a[SEP][SEP] [PAD][PAD]",
	"[sep] [Cls] [CLS [MASK x[MASK]y [[SEP]]",
	// Chunks that normalise to nothing next to ones that do not.
	"\u200b \x00 real words \ufeff",
	// The added tokens of addedFlagsBERT, where sugarme matches them as
	// Hugging Face does (TestAddedTokensAsHuggingFace has the rest).
	"Covid covid-19 COVID FooBar <mask> x<mask>y",
}

// edgeOnly is a text that normalises to nothing with a cleaning normalizer.
const edgeOnly = "\u200b\x00\x01"
