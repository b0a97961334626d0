package export_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"retune/export"
	"retune/internal/testenv"
	"retune/model"
	"retune/models"
)

// miniLM returns the MiniLM-shaped random-weight fixture (same folder and
// seed as `retune models build --fixtures`), writing it on first use.
func miniLM(t testing.TB) string {
	t.Helper()
	dir, err := models.EnsureBERTFixture(context.Background(), testenv.ModelsRoot(t), models.MiniLMFixture, models.MiniLMConfig(), 1)
	if err != nil {
		t.Fatalf("MiniLM fixture: %v", err)
	}
	return dir
}

// TestFusedMiniLMExportTime measures the fused export of a MiniLM-shaped
// encoder (target ≤ 5 s; fails only past 30 s, so a slow shared machine does
// not flake) and its size against encoder + head, then checks the result on
// a few texts.
func TestFusedMiniLMExportTime(t *testing.T) {
	encDir := miniLM(t)
	sum, err := model.EncoderChecksum(encDir)
	if err != nil {
		t.Fatal(err)
	}
	h := randomHead(t, model.HeadConfig{DIn: 384, DOut: 384, Bias: true}, 51)
	meta := model.HeadMeta{Encoder: models.MiniLMFixture, EncoderChecksum: sum}
	out := filepath.Join(t.TempDir(), "minilm-tuned")
	start := time.Now()
	if err := export.Fused(context.Background(), encDir, h, meta, out); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	encSize := fileSize(t, filepath.Join(encDir, models.ModelFile))
	headSize := int64(4 * (384*384 + 384))
	fusedSize := fileSize(t, filepath.Join(out, models.ModelFile))
	t.Logf("MiniLM fused export: %.2fs; encoder %d B + head %d B = %d B; fused %d B (difference %+d B)",
		took.Seconds(), encSize, headSize, encSize+headSize, fusedSize, fusedSize-encSize-headSize)
	if took > 30*time.Second {
		t.Errorf("fused MiniLM export took %v, over the 30 s ceiling (target 5 s)", took)
	}
	if d := fusedSize - encSize - headSize; d < 0 || d > 16<<10 {
		t.Errorf("fused model %d B vs encoder + head %d B: difference %+d B", fusedSize, encSize+headSize, d)
	}
	base := baseEncoder(t, encDir)
	fused := testenv.OpenEncoder(t, out)
	sample := texts[:4]
	assertClose(t, "minilm", projectAll(h, embed(t, base, sample)), embed(t, fused, sample))
}

// BenchmarkFusedMiniLM times the fused export alone.
func BenchmarkFusedMiniLM(b *testing.B) {
	encDir := miniLM(b)
	sum, err := model.EncoderChecksum(encDir)
	if err != nil {
		b.Fatal(err)
	}
	h := randomHead(b, model.HeadConfig{DIn: 384, DOut: 384, Bias: true}, 52)
	meta := model.HeadMeta{Encoder: models.MiniLMFixture, EncoderChecksum: sum}
	out := filepath.Join(b.TempDir(), "minilm-tuned")
	b.ResetTimer()
	for range b.N {
		if err := export.Fused(context.Background(), encDir, h, meta, out); err != nil {
			b.Fatal(err)
		}
	}
}
