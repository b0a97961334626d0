package tokenize

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
)

// vocabTable maps tokens to ids like a map[string]int32, built once and then
// only read. It exists for speed: vocabulary lookups are half the native
// encoder's work, and on GloVe's 341k words a Go map costs about three cache
// misses per lookup (control word, slot, key bytes) and adds 341k pointers
// for every GC cycle to scan. Here a lookup is a linear probe over 16-byte
// slots; keys of up to 8 bytes, most words, sit in the slot itself, longer
// ones in a blob; and nothing in the table is a pointer.
type vocabTable struct {
	seed  maphash.Seed
	slots []vocabSlot // a power of two long, at most 2/3 full
	long  []byte      // keys longer than 8 bytes, back to back
	mask  uint64
}

type vocabSlot struct {
	// key is a short key's bytes (little-endian, zero-padded), or a long
	// key's offset in long << 16 | its length.
	key uint64
	// tag is 0 for an empty slot, else the high bits of the key's hash
	// with, in the low 4 bits, 1 + the length of a short key or 15 for a
	// long one: equal tags mean equal lengths for short keys.
	tag uint32
	id  int32
}

const (
	shortKey   = 8
	longKeyTag = 15
	maxLongKey = 1<<16 - 1
)

func newVocabTable(vocab map[string]int) (*vocabTable, error) {
	size := 1 << bits.Len(uint(len(vocab)*3/2))
	t := &vocabTable{seed: maphash.MakeSeed(), slots: make([]vocabSlot, size), mask: uint64(size - 1)}
	for k, id := range vocab {
		if id < 0 || id > math.MaxInt32 {
			return nil, errors.New("token id out of int32 range")
		}
		key := []byte(k)
		if len(key) > maxLongKey {
			return nil, errors.New("token longer than 64 KB")
		}
		word, tag, h := t.hash(key)
		if len(key) > shortKey {
			word = uint64(len(t.long))<<16 | uint64(len(key))
			t.long = append(t.long, key...)
		}
		i := h & t.mask
		for t.slots[i].tag != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = vocabSlot{key: word, tag: tag, id: int32(id)}
	}
	return t, nil
}

// hash returns a short key's slot word (0 for a long key), its tag and its
// hash.
func (t *vocabTable) hash(key []byte) (word uint64, tag uint32, h uint64) {
	h = maphash.Bytes(t.seed, key)
	tag = uint32(h>>32) &^ 0xf
	if len(key) > shortKey {
		return 0, tag | longKeyTag, h
	}
	var buf [shortKey]byte
	copy(buf[:], key)
	return binary.LittleEndian.Uint64(buf[:]), tag | uint32(len(key)+1), h
}

func (t *vocabTable) get(key []byte) (int32, bool) {
	word, tag, h := t.hash(key)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.tag == tag {
			if len(key) <= shortKey {
				if s.key == word {
					return s.id, true
				}
			} else if off, n := s.key>>16, s.key&maxLongKey; int(n) == len(key) && string(t.long[off:off+n]) == string(key) {
				return s.id, true
			}
		}
		if s.tag == 0 {
			return 0, false
		}
	}
}
