package dataset

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadPairs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Pair
		errs []wantErr
	}{
		{
			name: "FlagEmbedding with extra fields",
			in:   `{"query": "q1", "pos": ["p1", "p2"], "neg": ["n1"], "pos_scores": [1, 0.9], "prompt": "Represent: "}` + "\n",
			want: []Pair{{"q1", []string{"p1", "p2"}, []string{"n1"}, 0}},
		},
		{
			name: "no pairs, only blank lines",
			in:   "\n\n",
			errs: []wantErr{{0, "no pairs"}},
		},
		{
			name: "FlagEmbedding without negatives",
			in:   `{"query": "q", "pos": ["p"]}` + "\n" + `{"query": "q", "pos": ["p"], "neg": []}` + "\n",
			want: []Pair{{"q", []string{"p"}, nil, 0}, {"q", []string{"p"}, nil, 0}},
		},
		{
			name: "sentence-transformers: strings, lists and numbered negatives",
			in: `{"anchor": "a1", "positive": "p1"}` + "\n" +
				`{"anchor": "a2", "positive": "p2", "negative": "n2"}` + "\n" +
				`{"anchor": "a3", "positive": ["p3", "p3b"], "negative": ["n3"]}` + "\n" +
				`{"anchor": "a4", "positive": "p4", "negative_10": "n10", "negative_2": "n2", "negative_1": "n1"}` + "\n",
			want: []Pair{
				{"a1", []string{"p1"}, nil, 0},
				{"a2", []string{"p2"}, []string{"n2"}, 0},
				{"a3", []string{"p3", "p3b"}, []string{"n3"}, 0},
				{"a4", []string{"p4"}, []string{"n1", "n2", "n10"}, 0},
			},
		},
		{
			name: "forms mixed per line",
			in:   `{"query": "q", "pos": ["p"]}` + "\n" + `{"anchor": "a", "positive": "p"}`,
			want: []Pair{{"q", []string{"p"}, nil, 0}, {"a", []string{"p"}, nil, 0}},
		},
		{
			name: "bad lines",
			in: strings.Join([]string{
				`{"query": "q", "anchor": "a", "pos": ["p"]}`,                        // 1
				`{"question": "q", "answer": "p"}`,                                   // 2
				`{"query": "  ", "pos": ["p"]}`,                                      // 3
				`{"query": "q"}`,                                                     // 4
				`{"query": "q", "pos": []}`,                                          // 5
				`{"query": "q", "pos": ["p", 3]}`,                                    // 6
				`{"query": "q", "pos": ["p"], "neg": ["p"]}`,                         // 7
				`{"anchor": "a", "positive": "p", "negative_1": ""}`,                 // 8
				`{"anchor": "a", "positive": {"text": "p"}}`,                         // 9
				`{"query": 5, "pos": ["p"]}`,                                         // 10
				`{"anchor": "a", "positive": ["p", " "]}`,                            // 11
				`{"query": "q", "positive": "p"}`,                                    // 12: mixed-up form
				`{"query": "q", "pos": ["p"]`,                                        // 13
				`{"query": "q", "pos": ["p"], "negs": ["n"]}`,                        // 14: misspelt
				`{"anchor": "a", "positive": "p", "neg": "n"}`,                       // 15: the other form's key
				`{"query": "q", "pos": ["p"], "Neg": ["n"]}`,                         // 16: case
				`{"query": "q", "pos": ["p"], "query": "other"}`,                     // 17: given twice
				`{"query": "query", "pos": ["query"], "neg": ["n"]}`,                 // 18: a value like a key is fine
				`{"query": "q", "pos": ["p"], "\u0071uery": "r"}`,                    // 19: given twice, once escaped
				`{"query": "q:{", "pos": ["a\":b", "c"], "x": {"y": 1, "z": [":"]}}`, // 20: colons and braces in strings and nested values
				`{"query": "q", "pos": ["p"], "pos_ids": [1], "neg_ids": [2]}`,       // 21: two look-alikes: the first by name
			}, "\n") + "\n",
			errs: []wantErr{
				{1, `has both "query" (FlagEmbedding) and "anchor" (sentence-transformers)`},
				{2, `expected "query" (FlagEmbedding) or "anchor" (sentence-transformers)`},
				{3, `empty "query"`},
				{4, `no positives: "pos" is missing or empty`},
				{5, `no positives: "pos" is missing or empty`},
				{6, `"pos"[1] must be a string, got a number`},
				{7, `"neg"[0] is also a positive`},
				{8, `"negative_1"[0] is blank`},
				{9, `"positive" must be a string or an array of strings, got an object`},
				{10, `"query" must be a string, got a number`},
				{11, `"positive"[1] is blank`},
				{12, `unknown key "positive": passages go in "pos" and "neg"`},
				{13, "invalid JSON"},
				{14, `unknown key "negs": passages go in "pos" and "neg"`},
				{15, `unknown key "neg": passages go in "positive" and "negative"`},
				{16, `unknown key "Neg"`},
				{17, `key "query" appears twice`},
				{19, `key "query" appears twice`},
				{21, `unknown key "neg_ids"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := ReadPairs(strings.NewReader(tt.in))
			checkErrs(t, err, tt.errs)
			// Each pair remembers its line (blank lines count); the
			// table's wants leave it out.
			for i := range pairs {
				if pairs[i].Line < i+1 {
					t.Errorf("pair %d has line %d", i, pairs[i].Line)
				}
				pairs[i].Line = 0
			}
			if err == nil && !reflect.DeepEqual(pairs, tt.want) {
				t.Errorf("pairs = %+v, want %+v", pairs, tt.want)
			}
		})
	}
}

// TestReadPairsRefusesTextsTooLongToStore: a passage whose converted BEIR
// line would pass the line limit is refused on its own line; a long one
// that fits is not.
func TestReadPairsRefusesTextsTooLongToStore(t *testing.T) {
	fits := strings.Repeat("word ", MaxLineBytes/10)
	swells := strings.Repeat("x\u2028", MaxLineBytes/5) // U+2028: 3 bytes here, 6 escaped
	in := `{"query":"q","pos":[` + strconv.Quote(fits) + `]}` + "\n" +
		`{"query":"r","pos":["p"],"neg":["n",` + "\"" + swells + "\"" + `]}` + "\n"
	_, err := ReadPairs(strings.NewReader(in))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 2 || !strings.Contains(es[0].Reason, `"neg"[1] is too long to store: a `) {
		t.Fatalf("error %v, want one on line 2 about \"neg\"[1]", err)
	}
}

// An unterminated last line is called truncated only when it stops inside
// its JSON value; a whole file's problem is not called a line's.
func TestPairsErrorWording(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, not string
	}{
		{"cut off", `{"query": "q", "pos": ["p"]}` + "\n" + `{"query": "r", "po`, "file truncated?", ""},
		{"two objects on the last line", `{"query": "q", "pos": ["p"]}{"query": "r", "pos": ["p"]}`, "after top-level value", "truncated"},
		{"a wrong field on the last line", `{"query": "q", "pos": "p", "neg": 3}`, "line 1", "truncated"},
		{"no pairs", "\n\n", "no pairs", "invalid line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPairs(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.not != "" && strings.Contains(err.Error(), tc.not)) {
				t.Fatalf("err %v, want %q and not %q", err, tc.want, tc.not)
			}
		})
	}
}
