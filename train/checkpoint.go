package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"retune/model"
)

// state is what a checkpoint restores besides the current head and optimizer.
type state struct {
	Epoch     int     `json:"epoch"`
	BestEpoch int     `json:"best_epoch"`
	BestScore float64 `json:"best_score"`
	BadEpochs int     `json:"bad_epochs"`
	History   []Event `json:"history"`
	Best      *model.Head
}

// A checkpoint is one file, checkpoint.bin, replaced atomically after an
// epoch (at most once per Trainer.CheckpointEvery; temporary file, fsync, rename, folder fsync: a crash leaves the
// previous epoch's file). One file means one fsync instead of the dozen a
// folder of heads and JSON took, which matters at ~50 ms per epoch.
//
//	"RTCK" | uint32 version | uint32 header length | header JSON
//	| float64 LE × n: current head | best head | AdamW m | AdamW v
//	| sha256 of everything before
//
// Parameters are binary so they restore bit for bit; the header holds the
// epoch counters, the event history, the optimizer's scalars and the head
// configuration the arrays belong to.
const (
	checkpointDir     = "checkpoints" // in a Pipeline's WorkDir
	checkpointFile    = "checkpoint.bin"
	checkpointMagic   = "RTCK"
	checkpointVersion = 2
)

type checkpointHeader struct {
	State     state            `json:"state"`
	Head      model.HeadConfig `json:"head"`
	NumParams int              `json:"num_params"`
	Optimizer AdamW            `json:"optimizer"` // scalars only; M and V are binary
}

// CheckpointInterval is the shortest time between two checkpoint writes of
// a Pipeline's training stage (the service's jobs and `retune train --work`). A SciFact epoch takes ~50 ms and a checkpoint
// write (two fsyncs) ~3-5 ms, so writing after every epoch cost 7-10% of
// training; at most one write a second costs under 1%, and a crash loses at
// most a second of training (a cancelled run loses nothing: it writes the
// pending epoch before returning).
const CheckpointInterval = time.Second

// checkpointer writes a run's checkpoints, at most one per interval: every
// epoch is encoded when it ends (cheap), and the latest encoding is written
// when the interval has passed since the last attempt, and by flush.
//
// A write that fails (a full disk, say) does not stop the run: a checkpoint
// only saves a restart some epochs, and training from an older one gives
// the same head (each epoch is seeded), so failing a run that would
// otherwise finish loses more than it protects. warn says when writes start
// failing and when they work again; the epoch is retried after the interval.
type checkpointer struct {
	dir      string
	interval time.Duration // 0: write every epoch
	warn     func(note string)
	pending  []byte // encoded epoch not yet written
	epoch    int    // the pending epoch
	onDisk   int    // the epoch the file on disk holds (0: none)
	lastTry  time.Time
	failed   int // writes failed since the last one that worked
}

// epochDone records the state at the end of an epoch and writes it when the
// interval allows.
func (c *checkpointer) epochDone(head *model.Head, opt *AdamW, st *state) error {
	if c.dir == "" {
		return nil
	}
	b, err := encodeCheckpoint(head, opt, st)
	if err != nil {
		return err
	}
	c.pending, c.epoch = b, st.Epoch
	if !c.lastTry.IsZero() && time.Since(c.lastTry) < c.interval {
		return nil
	}
	c.flush()
	return nil
}

// flush writes the pending epoch, if any; a failure is warned about, not
// returned (see checkpointer).
func (c *checkpointer) flush() {
	if c.pending == nil {
		return
	}
	c.lastTry = time.Now()
	if err := writeWorkFile(c.dir, checkpointFile, c.pending); err != nil {
		if c.failed == 0 {
			resume := "from the start"
			if c.onDisk > 0 {
				resume = fmt.Sprintf("from epoch %d", c.onDisk)
			}
			c.note(fmt.Sprintf("the checkpoint of epoch %d was not written (%s); training goes on, and until a write works a restart resumes %s", c.epoch, writeCause(err), resume))
		}
		c.failed++
		return
	}
	if c.failed > 0 {
		c.note(fmt.Sprintf("checkpoints are written again (epoch %d) after %d failed writes", c.epoch, c.failed))
		c.failed = 0
	}
	c.pending, c.onDisk = nil, c.epoch
}

func (c *checkpointer) note(s string) {
	if c.warn != nil {
		c.warn(s)
	}
}

// encodeCheckpoint is the checkpoint file for the epoch in st.
func encodeCheckpoint(head *model.Head, opt *AdamW, st *state) ([]byte, error) {
	hdr := checkpointHeader{State: *st, Head: head.Config(), NumParams: len(head.Params()), Optimizer: *opt}
	hdr.Optimizer.M, hdr.Optimizer.V = nil, nil
	js, err := json.Marshal(hdr)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	b := make([]byte, 0, 12+len(js)+4*8*len(head.Params())+sha256.Size)
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint32(b, checkpointVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	for _, xs := range [][]float64{head.Params(), st.Best.Params(), opt.M, opt.V} {
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

// loadCheckpoint restores head, optimizer and state from dir; false when
// there is no checkpoint. A damaged file is an error (ErrDamagedCheckpoint),
// never a silent restart: Pipeline discards one with a warning first.
func loadCheckpoint(dir string, head *model.Head, opt *AdamW, st *state) (bool, error) {
	removeLegacyCheckpoints(dir)
	hdr, arrays, ok, err := readCheckpoint(dir)
	if !ok || err != nil {
		return false, err
	}
	fail := func(format string, args ...any) (bool, error) {
		return false, fmt.Errorf("checkpoint %s: %s", filepath.Join(dir, checkpointFile), fmt.Sprintf(format, args...))
	}
	if hdr.Head != head.Config() || hdr.NumParams != len(head.Params()) {
		return fail("made for a different head configuration")
	}
	best, err := model.NewHead(hdr.Head)
	if err != nil {
		return fail("head: %v", err)
	}
	m, v := make([]float64, hdr.NumParams), make([]float64, hdr.NumParams)
	for _, xs := range [][]float64{head.Params(), best.Params(), m, v} {
		for i := range xs {
			xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(arrays))
			arrays = arrays[8:]
		}
	}
	*opt = hdr.Optimizer
	opt.M, opt.V = m, v
	*st = hdr.State
	st.Best = best
	return true, nil
}

// ErrDamagedCheckpoint marks a checkpoint file that cannot be what a run
// wrote: wrong magic, checksum or sizes.
var ErrDamagedCheckpoint = errors.New("damaged training checkpoint")

// discardDamagedCheckpoint removes dir's checkpoint when it is damaged and
// says so in a note for the run's user, so that training starts again from
// the first epoch (the result is the same, only later) instead of failing
// a run whose embeddings and negatives are intact. "" when there was
// nothing to discard.
func discardDamagedCheckpoint(dir string) (string, error) {
	_, _, _, err := readCheckpoint(dir)
	if !errors.Is(err, ErrDamagedCheckpoint) {
		return "", err
	}
	if rerr := os.Remove(filepath.Join(dir, checkpointFile)); rerr != nil {
		return "", fmt.Errorf("remove the damaged checkpoint: %w", rerr)
	}
	return fmt.Sprintf("%v; it was removed and training starts again from the first epoch", err), nil
}

// readCheckpoint reads and checks dir's checkpoint file: its header and
// its parameter bytes (4 arrays of NumParams float64). ok is false when
// there is no file.
func readCheckpoint(dir string) (hdr checkpointHeader, arrays []byte, ok bool, err error) {
	path := filepath.Join(dir, checkpointFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return hdr, nil, false, nil
	}
	if err != nil {
		return hdr, nil, false, fmt.Errorf("checkpoint: %w", err)
	}
	fail := func(format string, args ...any) (checkpointHeader, []byte, bool, error) {
		return hdr, nil, false, fmt.Errorf("%w: %s: %s", ErrDamagedCheckpoint, checkpointFile, fmt.Sprintf(format, args...))
	}
	if len(raw) < 12+sha256.Size || string(raw[:4]) != checkpointMagic {
		return fail("not a retune checkpoint")
	}
	body := raw[:len(raw)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], raw[len(body):]) {
		return fail("checksum mismatch (damaged file)")
	}
	if v := binary.LittleEndian.Uint32(body[4:8]); v != checkpointVersion {
		return fail("format version %d, this build reads %d", v, checkpointVersion)
	}
	n := int(binary.LittleEndian.Uint32(body[8:12]))
	if n > len(body)-12 {
		return fail("header length %d past the end", n)
	}
	if err := json.Unmarshal(body[12:12+n], &hdr); err != nil {
		return fail("header: %v", err)
	}
	arrays = body[12+n:]
	if len(arrays) != 4*8*hdr.NumParams {
		return fail("%d bytes of parameters, want %d", len(arrays), 4*8*hdr.NumParams)
	}
	return hdr, arrays, true, nil
}

// CheckpointedEpoch is the last epoch the checkpoint in a pipeline's work
// folder holds: where a resumed run's training continues (0 when there is
// no checkpoint).
func CheckpointedEpoch(workDir string) (int, error) {
	hdr, _, _, err := readCheckpoint(filepath.Join(workDir, checkpointDir))
	return hdr.State.Epoch, err
}

// removeLegacyCheckpoints deletes the folder-per-epoch checkpoints of format
// 1 ("latest" + epoch-NNNNN/), which this build does not read: a run
// interrupted under format 1 restarts its training from the first epoch.
// It runs once, when a run looks for its checkpoint.
func removeLegacyCheckpoints(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "latest" || strings.HasPrefix(e.Name(), "epoch-") {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
