package tokenize

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// precompiled is a Precompiled normalizer (a sentencepiece model's
// normalisation rules, XLM-R's and T5's) run as Hugging Face's tokenizers
// runs it. sugarme's garbles any text it changes ("a\u00a0b" kept an extra
// "▁" token, "ẋy" panicked) and writes nonspacing marks as "U+0301".
//
// The charsmap is [u32 trie size][double-array trie][normalised strings,
// each ended by a NUL]; a trie key is the UTF-8 of what is replaced, its
// value the offset of the replacement. sugarme's spm package reads it too,
// but its Transform returns "" both for no match and for a deletion
// (nmt_nfkc deletes control characters), and its search indexes past the
// trie on unexpected bytes and collects every match where the first is
// used: hence this reader.
type precompiled struct {
	trie       []uint32
	normalized string
	// ascii is the replacement of each ASCII byte (ok: it has one), so
	// that ASCII text costs a table lookup a byte.
	ascii [utf8.RuneSelf]struct {
		to string
		ok bool
	}
	crlf string // the replacement of the cluster "\r\n"
	// crlfOK: "\r\n" has one (its key or "\r"'s); changesASCII: some
	// ASCII text changes.
	crlfOK, changesASCII bool
}

func newPrecompiled(charsmap string) (*precompiled, error) {
	b, err := base64.StdEncoding.DecodeString(charsmap)
	if err != nil {
		return nil, fmt.Errorf("precompiled_charsmap: %w", err)
	}
	if len(b) < 4 {
		return nil, errors.New("precompiled_charsmap: too short")
	}
	size := int(binary.LittleEndian.Uint32(b))
	if size%4 != 0 || size == 0 || size > len(b)-4 {
		return nil, fmt.Errorf("precompiled_charsmap: trie of %d bytes in %d", size, len(b))
	}
	p := &precompiled{trie: make([]uint32, size/4), normalized: string(b[4+size:])}
	for i := range p.trie {
		p.trie[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if !utf8.ValidString(p.normalized) {
		return nil, errors.New("precompiled_charsmap: replacements are not UTF-8")
	}
	for c := range utf8.RuneSelf {
		to, ok := p.transform(string(rune(c)))
		p.ascii[c].to, p.ascii[c].ok = to, ok
		p.changesASCII = p.changesASCII || ok
	}
	p.crlf, p.crlfOK = p.transform("\r\n")
	p.changesASCII = p.changesASCII || p.crlfOK
	return p, nil
}

// transform is spm_precompiled's: the replacement of the shortest key that
// starts s, if any. That is the first match of a common-prefix search, so
// a cluster "xy" whose "x" alone is a key becomes x's replacement, y
// dropped; Hugging Face's comment there says it is weird and Google's
// behaviour. A lookup past the trie is no match (Hugging Face would panic).
func (p *precompiled) transform(s string) (string, bool) {
	unit := func(pos uint32) (uint32, bool) {
		if int(pos) >= len(p.trie) {
			return 0, false
		}
		return p.trie[pos], true
	}
	offset := func(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
	u, ok := unit(0)
	if !ok {
		return "", false
	}
	pos := offset(u)
	for i := 0; i < len(s) && s[i] != 0; i++ {
		c := uint32(s[i])
		pos ^= c
		if u, ok = unit(pos); !ok || u&(1<<31|0xff) != c {
			return "", false
		}
		pos ^= offset(u)
		if u>>8&1 == 1 { // a leaf: the key ends here
			leaf, ok := unit(pos)
			start := int(leaf & (1<<31 - 1))
			if !ok || start > len(p.normalized) {
				return "", false
			}
			end := strings.IndexByte(p.normalized[start:], 0)
			if end < 0 {
				end = len(p.normalized) - start
			}
			return p.normalized[start : start+end], true
		}
	}
	return "", false
}

// normalize is Hugging Face's Precompiled.normalize: each extended
// grapheme cluster under 6 bytes that has a replacement becomes it;
// otherwise each of its characters that has one does.
func (p *precompiled) normalize(s string) string {
	if isASCII(s) {
		return p.normalizeASCII(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	state := -1
	for rest := s; rest != ""; {
		var g string
		g, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if len(g) < 6 {
			if to, ok := p.transform(g); ok {
				b.WriteString(to)
				continue
			}
		}
		for i, r := range g {
			if to, ok := p.transform(g[i : i+utf8.RuneLen(r)]); ok {
				b.WriteString(to)
			} else {
				b.WriteString(g[i : i+utf8.RuneLen(r)])
			}
		}
	}
	return b.String()
}

// normalizeASCII is normalize for ASCII s, whose clusters are its bytes
// but "\r\n".
func (p *precompiled) normalizeASCII(s string) string {
	if !p.changesASCII {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' && p.crlfOK && i+1 < len(s) && s[i+1] == '\n':
			// Else "\r" has no replacement and the cluster's characters
			// are looked up one by one, as below.
			b.WriteString(p.crlf)
			i++
		case p.ascii[c].ok:
			b.WriteString(p.ascii[c].to)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
