package tokenize

import (
	"errors"
	"math"
	"strconv"
	"sync"
)

// serdeFloat parses a JSON number as serde_json does without its
// float_roundtrip feature, as Hugging Face's tokenizers reads Unigram
// scores: the digits as an unsigned 64-bit integer, converted to a double,
// then multiplied or divided once by a power of ten. From 16 significant
// digits on, that can land a unit in the last place away from the nearest
// double, which Go's parser returns; scores written from float32 often
// have 17 (-13.845972061157227), and a tie between two paths may then go
// the other way.
func serdeFloat(s string) (float64, error) {
	bad := errors.New("not a JSON number: " + s)
	i, positive := 0, true
	if i < len(s) && s[i] == '-' {
		positive = false
		i++
	}
	digit := func() (uint64, bool) {
		if i < len(s) && '0' <= s[i] && s[i] <= '9' {
			return uint64(s[i] - '0'), true
		}
		return 0, false
	}
	overflows := func(sig, d uint64) bool {
		return sig >= math.MaxUint64/10 && (sig > math.MaxUint64/10 || d > math.MaxUint64%10)
	}
	var sig uint64
	exp := 0
	d, ok := digit()
	if !ok {
		return 0, bad
	}
	for ok { // integer part; digits past u64 count as powers of ten
		if overflows(sig, d) {
			exp++
		} else {
			sig = sig*10 + d
		}
		i++
		d, ok = digit()
	}
	if i < len(s) && s[i] == '.' {
		i++
		full := false // digits past u64 are dropped
		if _, ok := digit(); !ok {
			return 0, bad
		}
		for d, ok := digit(); ok; d, ok = digit() {
			if full = full || exp > 0 || overflows(sig, d); !full {
				sig = sig*10 + d
				exp--
			}
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return 0, bad
		}
		exp += e
		i = len(s)
	}
	if i != len(s) {
		return 0, bad
	}
	f := float64(sig)
	for {
		if k := exp; -308 <= k && k <= 308 {
			p := pow10(k)
			if k >= 0 {
				f *= p
			} else {
				f /= p
			}
			break
		}
		if f == 0 || exp > 0 {
			break // serde_json: zero, or an overflow error (scores never are)
		}
		f /= 1e308
		exp += 308
	}
	if !positive {
		f = -f
	}
	return f, nil
}

// pow10 is 10^|k| correctly rounded, as Rust's literals are (math.Pow10
// multiplies two table entries past 1e31).
func pow10(k int) float64 {
	if k < 0 {
		k = -k
	}
	return pow10s()[k]
}

var pow10s = sync.OnceValue(func() (t [309]float64) {
	for k := range t {
		t[k], _ = strconv.ParseFloat("1e"+strconv.Itoa(k), 64)
	}
	return t
})
