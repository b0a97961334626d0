package train

import (
	"strings"
	"testing"

	"retune/negatives"
)

// TestWorkRunRefusesOtherSettings: the first run records itself; the same
// run resumes; other settings, encoder or data are refused, naming what
// changed.
func TestWorkRunRefusesOtherSettings(t *testing.T) {
	dir := t.TempDir()
	offline := negatives.SettingsOf(negatives.NewOfflineGenerator(negatives.OfflineSeed(1)))
	base := workRun{Config: DefaultPipelineConfig(), Encoder: "glove-100d", EncoderChecksum: "abc", Data: "d1", Generator: &offline}
	if err := checkWorkRun(dir, base); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if err := checkWorkRun(dir, base); err != nil {
		t.Fatalf("same run again: %v", err)
	}
	epochs, mined := base, base
	epochs.Config.Train.Epochs = 5
	mined.Config.Mine.PerQuery, mined.Config.Mine.Margin = 5, 0.5
	encoder, data := base, base
	encoder.EncoderChecksum = "def"
	data.Data = "d2"
	rewrite, none := base, base
	rw := negatives.SettingsOf(negatives.NewOfflineGenerator(negatives.OfflineSeed(1), negatives.OfflineRewriteCandidates(true)))
	rewrite.Generator = &rw
	none.Generator = nil
	tests := []struct {
		name string
		run  workRun
		want []string
	}{
		{"epochs", epochs, []string{"train.epochs: 100 → 5"}},
		{"mining", mined, []string{"mine.margin: 0.95 → 0.5", "mine.per_query: 15 → 5"}},
		{"encoder", encoder, []string{`encoder_checksum: "abc" → "def"`}},
		{"data", data, []string{`data: "d1" → "d2"`}},
		{"generator", rewrite, []string{"generator.rewrite_candidates: false → true"}},
		{"no generator", none, []string{`generator.generator: "offline" → unset`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWorkRun(dir, tt.run)
			if err == nil {
				t.Fatal("resumed with other settings")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
