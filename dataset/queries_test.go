package dataset

import (
	"slices"
	"strings"
	"testing"
)

func TestReadQueries(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Query
		errs []wantErr
	}{
		{
			name: "BEIR lines with metadata",
			in: `{"_id": "0", "text": "0-dimensional biomaterials lack inductive properties.", "metadata": {}}` + "\n" +
				`{"_id": "2", "text": "1 in 5 million.", "metadata": {"13734012": [{"sentences": [4], "label": "CONTRADICT"}]}}` + "\n",
			want: []Query{{"0", "0-dimensional biomaterials lack inductive properties."}, {"2", "1 in 5 million."}},
		},
		{
			name: "bad lines",
			in: strings.Join([]string{
				`{"_id": "1", "text": "fine"}`, // 1
				`{"_id": "2", "text": "   "}`,  // 2
				`{"_id": "3", "title": "t"}`,   // 3
				``,                             // 4: blank, skipped
				`{"_id": "1", "text": "dup"}`,  // 5
				`{"_id": 7, "text": ["x"]}`,    // 6
				`not json`,                     // 7
			}, "\n") + "\n",
			errs: []wantErr{
				{2, `empty "text"`},
				{3, `missing "text"`},
				{5, `duplicate _id "1" (first on line 1)`},
				{6, `"text" must be a string, got an array`},
				{7, "expected a JSON object, got invalid JSON"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, err := ReadQueries(strings.NewReader(tt.in))
			checkErrs(t, err, tt.errs)
			if err == nil && !slices.Equal(qs, tt.want) {
				t.Errorf("queries = %q, want %q", qs, tt.want)
			}
		})
	}
}
