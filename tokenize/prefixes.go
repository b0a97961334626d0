package tokenize

// sortedPrefixes answers a trie's common-prefix search over a set of
// strings kept sorted: the strings starting with a text's first d bytes
// are a run of them, narrowed a byte at a time by binary search, with the
// one equal to those d bytes, if any, first. It needs no more memory than
// the strings, where a trie over Unigram's 250,000 pieces would take tens
// of MB.
type sortedPrefixes []string

// narrow returns the run of p[lo:hi] (strings sharing their first d bytes)
// whose byte d is c.
func (p sortedPrefixes) narrow(lo, hi, d int, c byte) (int, int) {
	at := func(k int) int {
		if s := p[k]; len(s) > d {
			return int(s[d])
		}
		return -1 // the string that ends at d sorts first
	}
	first := func(lo, hi, v int) int { // the first k in [lo, hi) with at(k) >= v
		for lo < hi {
			if m := int(uint(lo+hi) >> 1); at(m) < v {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo
	}
	lo = first(lo, hi, int(c))
	return lo, first(lo, hi, int(c)+1)
}

// each calls fn(k) for each p[k] that s starts with, shortest first, until
// fn returns false.
func (p sortedPrefixes) each(s string, fn func(k int) bool) {
	lo, hi := 0, len(p)
	for d := 0; d < len(s); d++ {
		if lo, hi = p.narrow(lo, hi, d, s[d]); lo == hi {
			return
		}
		if len(p[lo]) == d+1 && !fn(lo) {
			return
		}
	}
}
