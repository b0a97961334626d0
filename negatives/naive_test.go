package negatives

import (
	"context"
	"strings"
	"testing"
)

func TestNaiveGenerate(t *testing.T) {
	tests := []struct {
		name          string
		reply         string
		n             int
		wantTexts     []string
		wantDropped   int64
		wantTruncated int64
	}{
		{
			name:      "full batch",
			reply:     `{"negatives": [{"text": "Ethanol boils at 78 C."}, {"text": "Water freezes at 0 C."}]}`,
			n:         2,
			wantTexts: []string{"Ethanol boils at 78 C.", "Water freezes at 0 C."},
		},
		{
			name:          "spares kept up to 2n",
			reply:         `{"negatives": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}`,
			n:             1,
			wantTexts:     []string{"a", "b"},
			wantTruncated: 1,
		},
		{
			name:        "bad items dropped",
			reply:       `{"negatives": [{"text": ""}, {"text": 7}, {"text": "a"}, {"text": "A "}, {"text": "` + causalPair.Positive + `"}]}`,
			n:           3,
			wantTexts:   []string{"a"},
			wantDropped: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeChat(t, fakeSequence(t, okReply(tt.reply)))
			g := NewNaiveGenerator(newTestLLM(t, f, nil))
			negs, err := g.Generate(context.Background(), causalPair, []string{"ignored candidate"}, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(negs) != len(tt.wantTexts) {
				t.Fatalf("got %+v, want texts %q", negs, tt.wantTexts)
			}
			for i, n := range negs {
				want := Negative{QueryID: "q1", PosID: "d1", Text: tt.wantTexts[i], Origin: OriginFromScratch, Generator: "naive"}
				if n != want {
					t.Errorf("negative %d: %+v, want %+v", i, n, want)
				}
			}
			if st := g.Stats(); st.Dropped != tt.wantDropped || st.Truncated != tt.wantTruncated {
				t.Errorf("stats %+v", st)
			}
			req := f.request(0)
			if fakeKind(req) != "naive" || g.Name() != "naive" {
				t.Errorf("kind %s, name %s", fakeKind(req), g.Name())
			}
			user := req.user()
			if !strings.Contains(user, causalPair.Query) || strings.Contains(user, "ignored candidate") {
				t.Errorf("naive prompt:\n%s", user)
			}
		})
	}
}

func TestNaiveRepairsEmptyBatch(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t, okReply(`{"negatives": []}`), okReply(`{"negatives": [{"text": "x"}]}`)))
	g := NewNaiveGenerator(newTestLLM(t, f, nil))
	negs, err := g.Generate(context.Background(), causalPair, nil, 1)
	if err != nil || len(negs) != 1 {
		t.Fatalf("negs %v, err %v", negs, err)
	}
	if !strings.Contains(f.request(0).user(), "Write 1 hard negative for") {
		t.Errorf("prompt does not ask for n: %s", f.request(0).user())
	}
	if msg := f.request(1).Body.Messages[3].Content; !strings.Contains(msg, `"negatives" is empty`) {
		t.Errorf("repair message %q", msg)
	}
}
