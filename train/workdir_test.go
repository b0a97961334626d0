package train

import (
	"strings"
	"testing"
)

// TestWorkRunRefusesOtherSettings: the first run records itself; the same
// run resumes; other settings, encoder or data are refused, naming what
// changed.
func TestWorkRunRefusesOtherSettings(t *testing.T) {
	dir := t.TempDir()
	base := workRun{Config: DefaultPipelineConfig(), Encoder: "glove-100d", EncoderChecksum: "abc", Data: "d1"}
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
	tests := []struct {
		name string
		run  workRun
		want []string
	}{
		{"epochs", epochs, []string{"train.epochs: 100 → 5"}},
		{"mining", mined, []string{"mine.margin: 0.95 → 0.5", "mine.per_query: 15 → 5"}},
		{"encoder", encoder, []string{`encoder_checksum: "abc" → "def"`}},
		{"data", data, []string{`data: "d1" → "d2"`}},
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
