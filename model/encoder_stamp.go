package model

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"retune/models"
)

// ErrEncoderChanged is what Checksum returns when the encoder's files were
// replaced after it was opened and before its checksum was first taken
// (e.g. `retune models add --force` while a CLI run opens it; the
// registry takes it at open): the session still runs the old model, so
// the new files' checksum would file its vectors under the wrong encoder
// in caches and heads.
var ErrEncoderChanged = errors.New("the encoder's files changed after it was opened")

// fileStamps identify the files an encoder is opened from: which file each
// name was (device and inode), its size and modification time; nil for a
// file that was absent.
type fileStamps [4]os.FileInfo

// stampedFiles are the files EncoderChecksum covers.
var stampedFiles = [4]string{models.ModelFile, models.DataFile, models.TokenizerFile, models.ConfigFile}

func stampFiles(dir string) fileStamps {
	var s fileStamps
	for i, f := range stampedFiles {
		s[i], _ = os.Stat(filepath.Join(dir, f))
	}
	return s
}

// same reports whether every file is still the one stamped, unmodified.
func (s fileStamps) same(now fileStamps) bool {
	for i := range s {
		a, b := s[i], now[i]
		if (a == nil) != (b == nil) {
			return false
		}
		if a != nil && (!os.SameFile(a, b) || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime())) {
			return false
		}
	}
	return true
}

// Changed reports whether the encoder's files were replaced or modified
// since it was opened.
func (e *Encoder) Changed() bool { return !e.sameFolder() || !e.stamps.same(stampFiles(e.dir)) }

// sameFolder reports whether the encoder's folder is still the one it was
// opened from: `retune models add --force` swaps whole folders, so one
// stat tells at once (the registry asks on every lookup) what the files'
// stamps tell at most once a second.
func (e *Encoder) sameFolder() bool {
	now, err := os.Stat(e.dir)
	return err == nil && e.folder != nil && os.SameFile(e.folder, now)
}

// stampCheckEvery bounds how often the registry looks at an open encoder's
// files: every search and embeddings request asks for its encoder.
const stampCheckEvery = time.Second

// changedLately is Changed looked up at most once per stampCheckEvery (the
// registry's check; Checksum uses the exact one).
func (e *Encoder) changedLately() bool {
	now := time.Now().UnixNano()
	if last := e.stampCheckedAt.Load(); now-last < int64(stampCheckEvery) {
		return e.stampChanged.Load()
	}
	e.stampCheckedAt.Store(now)
	changed := e.Changed()
	e.stampChanged.Store(changed)
	return changed
}
