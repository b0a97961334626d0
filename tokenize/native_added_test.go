package tokenize

import (
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// foldedAddedBERT is the BERT file with three added tokens outside its
// vocabulary whose text accent folding changes: a normalized one, matched
// by its folded form, and two raw ones, matched as written.
func foldedAddedBERT(t *testing.T) string {
	return editedBERT(t, func(doc map[string]any) {
		added := func(id int, content string, normalized bool) map[string]any {
			return map[string]any{"id": id, "content": content, "special": false, "single_word": false,
				"lstrip": false, "rstrip": false, "normalized": normalized}
		}
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			added(30522, "한국어", true), added(30523, "café", false), added(30524, "ক্ষ", false))
	})
}

// wordCJKBERT is the BERT file with a single_word token and a normalized
// rstrip one whose normalised form starts with a space (a CJK ideograph
// under handle_chinese_chars).
func wordCJKBERT(t *testing.T) string {
	return editedBERT(t, func(doc map[string]any) {
		doc["added_tokens"] = append(doc["added_tokens"].([]any),
			addedToken(30522, "<w>", false, false, false, true, false),
			addedToken(30523, "中zzq", false, false, true, false, true))
	})
}

// TestAddedTokensAsHuggingFace pins how added tokens are found to the ids
// Hugging Face tokenizers 0.23.2 gives (its node binding, on the same
// files as retune exports them): several kinds glued, a literal beside a
// character normalisation deletes, normalized, single_word and lstrip
// tokens, tokens matched by their folded form or as written, and ids
// given in file order. sugarme gets most of these wrong (see
// native_added.go), so these files must stay on the native encoder.
func TestAddedTokensAsHuggingFace(t *testing.T) {
	bert := func(t *testing.T) string { return bertPath(t) }
	tests := []struct {
		file func(t *testing.T) string
		text string
		want []int64
	}{
		{bert, "[MASK][SEP]", []int64{101, 103, 102, 102}},
		{bert, "[SEP]a[CLS] a[SEP][SEP] [PAD][PAD]", []int64{101, 102, 1037, 101, 1037, 102, 102, 0, 0, 102}},
		{bert, "[SEP]\u200bab", []int64{101, 102, 11113, 102}},
		{bert, "[SEP]\u200b\u0432\u0430", []int64{101, 102, 1182, 10260, 102}},
		{bert, "x[UNK]\ue000y", []int64{101, 1060, 100, 1061, 102}},
		{bert, "[[SEP]]", []int64{101, 1031, 102, 1033, 102}},
		{addedFlagsBERT, "Covid covid-19 COVID FooBar Foo foo Foo. <mask> x<mask>y",
			[]int64{101, 30522, 30522, 1011, 16147, 30522, 29379, 8237, 30523, 29379, 30523, 1012, 30524, 1060, 30524, 1061, 102}},
		{addedFlagsBERT, "x Foo_ y \u00e9Foo Foo\u0301 _Foo",
			[]int64{101, 1060, 29379, 29638, 1061, 1041, 14876, 2080, 29379, 1035, 14876, 2080, 102}},
		{addedFlagsBERT, "a\t<mask>b a\u00a0<mask>", []int64{101, 1037, 30524, 1038, 1037, 30524, 102}},
		{addedFlagsBERT, "C\u00f6vid co\u200bvid COV\u0130D", []int64{101, 30522, 30522, 30522, 102}},
		{addedFlagsBERT, "[CLS]Foo<mask>covid[SEP]", []int64{101, 101, 30523, 30524, 30522, 102, 102}},
		{wordCJKBERT, "\u24b6<w>", []int64{101, 100, 1026, 1059, 1028, 102}}, // Ⓐ is a word character (Other_Alphabetic)
		{wordCJKBERT, "<w>\u24b6", []int64{101, 1026, 1059, 1028, 100, 102}},
		{wordCJKBERT, "x <w> y", []int64{101, 1060, 30522, 1061, 102}},
		{wordCJKBERT, "中zzq中zzq", []int64{101, 30523, 30523, 102}}, // " 中 zzq": the next match starts in what rstrip took
		{wordCJKBERT, "a 中zzq  中zzq b", []int64{101, 1037, 30523, 30523, 1038, 102}},
		{wordCJKBERT, "中zzqx", []int64{101, 30523, 1060, 102}},
		{foldedAddedBERT, "x 한국어 y", []int64{101, 1060, 30522, 1061, 102}},
		{foldedAddedBERT, "x café y", []int64{101, 1060, 30523, 1061, 102}},
		{foldedAddedBERT, "x CAFÉ y", []int64{101, 1060, 7668, 1061, 102}},
		{foldedAddedBERT, "ক্ষমা", []int64{101, 30524, 1370, 29914, 102}},
	}
	for _, tt := range tests {
		wantNativeIDs(t, tt.file(t), tt.text, tt.want)
	}
}

// TestCleanAndChineseAsHuggingFace pins BertNormalizer's clean_text and
// handle_chinese_chars to Hugging Face's ids (tokenizers 0.23.2) with the
// BERT file, natively and through sugarme: private-use characters are
// deleted (sugarme kept them, making the word [UNK]), CJK Extension A
// ideographs are split off (sugarme's table misses them), and
// U+2B820-U+2B91F, which BERT's ranges skip, is not (sugarme splits it:
// natively only).
func TestCleanAndChineseAsHuggingFace(t *testing.T) {
	tests := []struct {
		text       string
		want       []int64
		nativeOnly bool
	}{
		{"x\ue000y", []int64{101, 1060, 2100, 102}, false},
		{"a \ue000 b", []int64{101, 1037, 1038, 102}, false},
		{"\ue000\u0432\u0430", []int64{101, 1182, 10260, 102}, false},
		{"x\u3400y", []int64{101, 1060, 100, 1061, 102}, false},
		{"caf\u00e9\u3400", []int64{101, 7668, 100, 102}, false},
		{"x\U0002b820y", []int64{101, 100, 102}, true},
		// Hugging Face looks for "[SEP]" before clean_text deletes the
		// private-use character, so there is none; the sugarme path keeps
		// the character where a literal may start rather than make one.
		{"x [SE\ue000P] y", []int64{101, 1060, 1031, 19802, 1033, 1061, 102}, true},
		{"x\U0002b81fy", []int64{101, 1060, 100, 1061, 102}, false},
	}
	sugarme := loadBERT(t, withoutNative())
	if ids, _, err := sugarme.content("x [SE\ue000P] y", -1, false); err != nil || slices.Contains(ids, bertSEP) {
		t.Errorf("sugarme path: %v %v, a [SEP] made by deleting a private-use character", ids, err)
	}
	// Out of a literal's reach it is deleted all the same: "bc" (HF's
	// ids end 1033 4647).
	if ids, _, err := sugarme.content("[SE\ue000P]b\ue000c", -1, false); err != nil || len(ids) < 2 || ids[len(ids)-1] != 4647 {
		t.Errorf("sugarme path: %v %v, want \"bc\" (4647) last", ids, err)
	}
	for name, opts := range map[string][]Option{"native": nil, "sugarme": {withoutNative()}} {
		tok := loadBERT(t, opts...)
		for _, tt := range tests {
			if tt.nativeOnly && tok.native == nil {
				continue
			}
			b, err := tok.EncodeBatch([]string{tt.text})
			if err != nil {
				t.Errorf("%s %q: %v", name, tt.text, err)
				continue
			}
			if got := rowIDs(b, 0); !slices.Equal(got, tt.want) {
				t.Errorf("%s %q: %v, want %v", name, tt.text, got, tt.want)
			}
		}
	}
}

// TestNFDAsHuggingFace pins chunks that NFD changes, or whose NFD
// segments are several runes (Hangul jamo), to Hugging Face's ids
// (tokenizers 0.23.2) under its quicktour normalizer (NFD, Lowercase,
// StripAccents) and under NFD alone, with a Whitespace pre-tokenizer and
// the BERT vocabulary. The native encoder decomposes them itself; they
// went to sugarme, which splits Hangul words at the digits or letters
// beside them and garbles some ("한\t##\u00ad\x00" gave two [UNK]).
func TestNFDAsHuggingFace(t *testing.T) {
	quicktour := editedBERT(t, func(doc map[string]any) {
		doc["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "NFD"}, map[string]any{"type": "Lowercase"}, map[string]any{"type": "StripAccents"}}}
		doc["pre_tokenizer"] = map[string]any{"type": "Whitespace"}
	})
	nfdOnly := editedBERT(t, func(doc map[string]any) {
		doc["normalizer"] = map[string]any{"type": "NFD"}
		doc["pre_tokenizer"] = map[string]any{"type": "Whitespace"}
	})
	tests := []struct {
		path, text string
		want       []int64
	}{
		{quicktour, "2023\ub144", []int64{101, 16798, 2509, 29992, 30010, 30021, 102}},
		{quicktour, "\uc11c\uc6b8a", []int64{101, 1461, 30008, 29999, 30014, 30022, 2050, 102}},
		{quicktour, "\ud55c\uad6d\uc5b4a", []int64{101, 1469, 30006, 30021, 29991, 30014, 30020, 29999, 30008, 2050, 102}},
		{quicktour, "na\u00efve", []int64{101, 15743, 102}},
		{quicktour, "\u0130a", []int64{101, 24264, 102}},
		{quicktour, "\ud55c\t##\u00ad\x00", []int64{101, 1469, 30006, 30021, 100, 102}},
		{quicktour, "Caf\u00e9 \u00c5ngstr\u00f6m", []int64{101, 7668, 17076, 15687, 102}},
		{nfdOnly, "2023\ub144", []int64{101, 16798, 2509, 29992, 30010, 30021, 102}},
		{nfdOnly, "na\u00efve", []int64{101, 100, 102}},
		{nfdOnly, "x\u0301y", []int64{101, 100, 102}},
		{nfdOnly, "\u0130a", []int64{101, 100, 102}},
		{nfdOnly, "Caf\u00e9 \u00c5ngstr\u00f6m", []int64{101, 100, 100, 102}},
	}
	for _, tt := range tests {
		wantNativeIDs(t, tt.path, tt.text, tt.want)
	}
}

// wantNativeIDs checks that the file at path, on the native encoder,
// gives text the ids want (special tokens included).
func wantNativeIDs(t *testing.T, path, text string, want []int64) {
	t.Helper()
	tok := mustLoad(t, path)
	if tok.native == nil {
		t.Fatal("native encoder off")
	}
	b, err := tok.EncodeBatch([]string{text})
	if err != nil {
		t.Errorf("%q: %v", text, err)
		return
	}
	if got := rowIDs(b, 0); !slices.Equal(got, want) {
		t.Errorf("%q:\n got  %v\n want %v", text, got, want)
	}
}

// TestLiteralIndexFindsWhatTheScanFinds: where many literals share a first
// byte, longestRef searches them sorted; it finds the literal the scan of
// each finds (the longest, the first added of equal ones, none that
// Hugging Face does not match) at every place of random texts, and a text
// full of that byte costs no more than the literals' length per place.
func TestLiteralIndexFindsWhatTheScanFinds(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	var indexed, scanned literalSet
	for k := range 300 {
		s := "<" + strconv.Itoa(r.Intn(150)) + []string{">", "", "|", ">>"}[r.Intn(4)]
		l := literal{s: s, content: s, id: int32(k)}
		match := r.Intn(8) != 0
		indexed.add(l, match)
		scanned.add(l, match)
	}
	indexed.index()
	if indexed.many['<'] == nil {
		t.Fatal("no index")
	}
	for range 2000 {
		var b strings.Builder
		for range 12 {
			b.WriteString([]string{"<", ">", "|", "1", "2", "7", "x"}[r.Intn(7)])
		}
		s := b.String()
		for i := range len(s) {
			if s[i] != '<' {
				continue
			}
			got, want := indexed.longestRef(s, i), scanned.longestRef(s, i)
			if (got == nil) != (want == nil) || got != nil && got.id != want.id {
				t.Fatalf("%q at %d: index %v, scan %v", s, i, got, want)
			}
		}
	}
	var many literalSet
	for k := range 5000 {
		many.add(literal{s: fmt.Sprintf("<tok_%d>", k)}, true)
	}
	text := strings.Repeat("<tok_x ", 8000)
	start := time.Now()
	scanSpans := many.find(nil, text) // one by one: not indexed yet
	scan := time.Since(start)
	many.index()
	start = time.Now()
	spans := many.find(nil, text)
	took := time.Since(start)
	t.Logf("5,000 literals over 56 KB: %v sorted, %v one by one", took, scan)
	if !slices.Equal(spans, scanSpans) {
		t.Errorf("spans %v, one by one %v", spans, scanSpans)
	}
	if len(spans) != 1 || !raceEnabled && took > 100*time.Millisecond {
		t.Errorf("5,000 literals over 56 KB of \"<tok_x \": %d spans in %v", len(spans), took)
	}
}
