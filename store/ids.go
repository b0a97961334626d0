package store

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
)

// Id prefixes, one per object kind.
const (
	PrefixDataset    = "ds-"
	PrefixJob        = "ftjob-"
	PrefixHead       = "head-"
	PrefixCollection = "col-"
)

// idRandLen is the length of an id's random part: 15 random bytes (120
// bits, so collisions are not a practical concern) in unpadded base32.
const idRandLen = 24

// idEncoding is lowercase RFC 4648 base32: ids are case-sensitive in the
// database but may land on case-insensitive file systems as directory names,
// so they use a single case.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var (
	prefixRe = regexp.MustCompile(`^[a-z]{1,16}-$`)
	// idRe admits no '.', '/' or '\\', which is what keeps an id used as a
	// path component from ever leaving its directory.
	idRe = regexp.MustCompile(`^[a-z]{1,16}-[a-z2-7]{24}$`)
)

// NewID returns prefix followed by 24 random lowercase base32 characters,
// e.g. "ds-" + "k3jz...". It panics if prefix is not 1-16 lowercase letters
// followed by '-', since that is a programming error and such an id could
// never pass ValidID.
func NewID(prefix string) string {
	if !prefixRe.MatchString(prefix) {
		panic(fmt.Sprintf("store: invalid id prefix %q", prefix))
	}
	return prefix + randomPart()
}

// randomPart returns idRandLen random base32 characters.
func randomPart() string {
	var b [15]byte
	// crypto/rand.Read never returns an error (since Go 1.24 it aborts the
	// program if the OS cannot supply randomness).
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether id is prefix followed by exactly 24 lowercase
// base32 characters, i.e. something NewID(prefix) could have returned.
func ValidID(prefix, id string) bool {
	return prefixRe.MatchString(prefix) &&
		len(id) == len(prefix)+idRandLen &&
		id[:len(prefix)] == prefix &&
		idRe.MatchString(id)
}
