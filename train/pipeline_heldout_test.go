package train

import (
	"context"
	"strings"
	"testing"

	"retune/internal/testenv"
)

// A test query repeating a train query's text under another id is scored,
// as BEIR scores it, and counted and named in the evaluating stage.
func TestPipelineReportsTestQueriesWithTrainText(t *testing.T) {
	data := loadBEIRFiles(t, map[string]string{
		"corpus.jsonl": `{"_id":"d1","text":"dogs run in the park"}` + "\n" + `{"_id":"d2","text":"cats sleep all day long"}` + "\n" +
			`{"_id":"d3","text":"birds fly over the sea"}` + "\n" + `{"_id":"d4","text":"fish swim in the river"}` + "\n",
		"queries.jsonl": `{"_id":"q1","text":"do dogs run"}` + "\n" + `{"_id":"q2","text":"when do cats sleep"}` + "\n" +
			`{"_id":"q3","text":"where do birds fly"}` + "\n" + `{"_id":"t1","text":"do dogs run"}` + "\n" + `{"_id":"t2","text":"where do fish swim"}` + "\n",
		"qrels/train.tsv": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n",
		"qrels/test.tsv":  "query-id\tcorpus-id\tscore\nt1\td1\t1\nt2\td4\t1\n",
	})
	cfg := DefaultPipelineConfig()
	cfg.Negatives, cfg.Train.Epochs, cfg.Train.Patience, cfg.Train.DevFraction = NegNone, 1, 0, 0
	var notes []string
	p := &Pipeline{Encoder: testenv.OpenEncoder(t, testenv.Glove(t)), Cache: NewCache(t.TempDir()), Progress: func(ev StageEvent) {
		if ev.Stage == StageEvaluating && ev.Note != "" {
			notes = append(notes, ev.Note)
		}
	}}
	_, res, err := p.Run(context.Background(), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.TestQueries != 2 || res.TestQueriesTrainText != 1 {
		t.Fatalf("test queries %d, with a train query's text %d: want 2 and 1", res.TestQueries, res.TestQueriesTrainText)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], `1 of the 2 test queries (first "t1") repeat the text of a train query`) {
		t.Fatalf("evaluating notes %q", notes)
	}
}
