package train

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"retune/internal/testenv"
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

// A work folder whose run an earlier build recorded with settings this
// build refuses (a temperature under today's bound) cannot be resumed "with
// the same ones": the refusal says to use a new work folder.
func TestWorkRunThisBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	old := workRun{Config: DefaultPipelineConfig(), Encoder: "glove-100d", EncoderChecksum: "abc", Data: "d1"}
	old.Config.Train.Temperature = 1e-5
	if err := checkWorkRun(dir, old); err != nil {
		t.Fatalf("first run: %v", err)
	}
	now := old
	now.Config.Train.Temperature = 1e-4
	err := checkWorkRun(dir, now)
	if !errors.Is(err, ErrOtherRun) {
		t.Fatalf("err %v, want ErrOtherRun", err)
	}
	for _, want := range []string{"train.temperature: 0.00001 → 0.0001", "which this build refuses (temperature must be >= 0.0001, got 1e-05): use a new work folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "resume it with the same ones") {
		t.Errorf("error %q asks for settings this build refuses", err)
	}
}

// A run resumed on other files of its encoder (replaced while it was
// stopped), or with other settings, starts over when RestartOnOtherRun
// allows (a server's jobs), keeping the LLM spending record and naming
// what changed, and is refused otherwise (the CLI).
func TestWorkRunRestartsOnOtherRun(t *testing.T) {
	enc := testenv.OpenEncoder(t, testenv.Glove(t))
	cfg := DefaultPipelineConfig()
	cfg.TestSplit, cfg.Train.Epochs, cfg.Mine.PerQuery = "", 1, 1
	work := t.TempDir()
	var warned []string
	p := &Pipeline{Encoder: enc, Cache: NewCache(t.TempDir()), WorkDir: work, Progress: func(ev StageEvent) {
		if ev.Warn {
			warned = append(warned, ev.Note)
		}
	}}
	if _, _, err := p.Run(t.Context(), tinyBEIR(t), cfg); err != nil {
		t.Fatal(err)
	}
	// As if the encoder's files had been replaced since: the run.json of
	// the attempt names other ones.
	runPath := filepath.Join(work, WorkRunFile)
	raw, err := os.ReadFile(runPath)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := enc.Checksum()
	stale := []byte(strings.Replace(string(raw), sum, "an-earlier-checksum", 1))
	spent := filepath.Join(work, llmSpentFile)
	for path, b := range map[string][]byte{runPath: stale, spent: []byte(`{"usd":1}`)} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p.Run(t.Context(), tinyBEIR(t), cfg); !errors.Is(err, ErrOtherRun) {
		t.Fatalf("resumed on another encoder without RestartOnOtherRun: %v", err)
	}
	p.RestartOnOtherRun = true
	warned = nil
	if _, _, err := p.Run(t.Context(), tinyBEIR(t), cfg); err != nil {
		t.Fatalf("with RestartOnOtherRun: %v", err)
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "was replaced since this run's last attempt: it starts over") {
		t.Fatalf("warnings %q", warned)
	}
	if raw, err := os.ReadFile(runPath); err != nil || !strings.Contains(string(raw), sum) {
		t.Fatalf("run.json after the restart does not name the encoder's files: %s, %v", raw, err)
	}
	if _, err := os.Stat(spent); err != nil {
		t.Fatalf("the LLM spending record went with the attempt: %v", err)
	}
	// Other settings as well: the warning names them.
	cfg.Train.Epochs = 2
	if err := os.WriteFile(runPath, stale, 0o644); err != nil {
		t.Fatal(err)
	}
	warned = nil
	if _, _, err := p.Run(t.Context(), tinyBEIR(t), cfg); err != nil {
		t.Fatalf("with RestartOnOtherRun, other settings and files: %v", err)
	}
	if len(warned) == 0 || !strings.Contains(warned[0], "settings changed since its last attempt (") ||
		!strings.Contains(warned[0], "epochs: 1 → 2") || !strings.Contains(warned[0], "it starts over") {
		t.Fatalf("warnings %q", warned)
	}
	p.RestartOnOtherRun = false
	cfg.Train.Epochs = 3
	if _, _, err := p.Run(t.Context(), tinyBEIR(t), cfg); !errors.Is(err, ErrOtherRun) {
		t.Fatalf("resumed with other settings without RestartOnOtherRun: %v", err)
	}
}

// A resume may change how many pairs are generated at once (how fast, not
// what), but not what is generated.
func TestCheckWorkRunIgnoresGenerationConcurrency(t *testing.T) {
	dir := t.TempDir()
	run := workRun{Config: DefaultPipelineConfig(), Encoder: "e", EncoderChecksum: "sum", Data: "d"}
	if err := checkWorkRun(dir, run); err != nil {
		t.Fatal(err)
	}
	faster := run
	faster.Config.Generation.Concurrency = 8
	if err := checkWorkRun(dir, faster); err != nil {
		t.Fatalf("resume with another generation concurrency: %v", err)
	}
	more := run
	more.Config.Generation.PerQuery++
	if err := checkWorkRun(dir, more); !errors.Is(err, ErrOtherRun) {
		t.Fatalf("resume with another per_query: %v, want ErrOtherRun", err)
	}
}

// A run.json an earlier build wrote resumes when what differs is only its
// shape: a setting added since (absent from the file) or the temperature
// recorded for a model that takes none.
func TestCheckWorkRunReadsAnEarlierBuildsFile(t *testing.T) {
	dir := t.TempDir()
	run := workRun{Config: DefaultPipelineConfig(), Encoder: "e", EncoderChecksum: "sum", Data: "d",
		Generator: &negatives.GeneratorSettings{Generator: "causal", Model: "o3-mini", Prompts: []string{"p.v1"}}}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["config"].(map[string]any)["train"].(map[string]any), "patience") // a setting added since
	doc["generator"].(map[string]any)["temperature"] = 0.7                       // recorded, never sent
	b, _ = json.Marshal(doc)
	if err := os.WriteFile(filepath.Join(dir, WorkRunFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkWorkRun(dir, run); err != nil {
		t.Fatalf("an earlier build's run.json: %v", err)
	}
	other := run
	other.Config.Train.Epochs++
	if err := checkWorkRun(dir, other); !errors.Is(err, ErrOtherRun) {
		t.Fatalf("other epochs: %v, want ErrOtherRun", err)
	}
}

// A stage output the disk refuses to save (here a file stands where the
// work folder goes) is a warning: the run keeps the output it computed.
func TestStageOutputNotSavedWarns(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "server-only-path")
	if err := os.WriteFile(blocker, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	var events []StageEvent
	p := &Pipeline{WorkDir: filepath.Join(blocker, "work"), Progress: func(ev StageEvent) { events = append(events, ev) }}
	var out []string
	reused, err := p.cached(StageMining, minedStageFile, &out, func() error {
		out = []string{"computed"}
		return nil
	})
	if err != nil || reused || len(out) != 1 {
		t.Fatalf("reused %v, err %v, output %v: want the computed output and no error", reused, err, out)
	}
	if len(events) != 1 || !events[0].Warn || !strings.Contains(events[0].Note, "mined.json was not saved (mkdir: not a directory)") ||
		strings.Contains(events[0].Note, "server-only-path") {
		t.Fatalf("events %+v, want one warning naming the cause without the path", events)
	}
}
