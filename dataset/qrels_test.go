package dataset

import (
	"maps"
	"strings"
	"testing"

	"retune/eval"
)

func TestReadQrels(t *testing.T) {
	const header = "query-id\tcorpus-id\tscore\n"
	tests := []struct {
		name string
		in   string
		want eval.Qrels
		errs []wantErr
	}{
		{
			name: "graded, zero and negative grades kept, CRLF, no final newline",
			in:   header + "1\t31715818\t1\n1\t99\t0\r\n3\t14717500\t2\n3\t7\t-1",
			want: eval.Qrels{"1": {"31715818": 1, "99": 0}, "3": {"14717500": 2, "7": -1}},
		},
		{
			name: "header only",
			in:   header,
			want: eval.Qrels{},
		},
		{
			name: "missing header is reported, not silently dropped",
			in:   "1\t2\t1\n1\t3\t1\n",
			errs: []wantErr{{1, `expected header "query-id\tcorpus-id\tscore", got "1\t2\t1"`}},
		},
		{
			name: "TREC qrels are named as such",
			in:   "1 0 31715818 1\n",
			errs: []wantErr{{1, `got "1 0 31715818 1" (this looks like TREC qrels`}},
		},
		{
			name: "bad rows",
			in: header + strings.Join([]string{
				"1\t2\t1",        // 2
				"1\t2",           // 3
				"1 2 1",          // 4
				"1\t2\t1\textra", // 5
				"1\t3\t1.0",      // 6
				"1\t4\thigh",     // 7
				"\t4\t1",         // 8
				"1\t\t1",         // 9
				"1\t2\t2",        // 10
				"1\t5\t\xff",     // 11
				"",               // 12: blank, skipped
				"2\t9\t1 ",       // 13
			}, "\n") + "\n" + "2\t10",
			errs: []wantErr{
				{3, "expected 3 tab-separated columns, got 2"},
				{4, "expected 3 tab-separated columns, got 1"},
				{5, "expected 3 tab-separated columns, got 4 (this looks like TREC qrels, \"query 0 doc grade\": BEIR's are query-id, corpus-id and score, tab-separated, after a header line; drop the second column)"},
				{6, `score "1.0" is not an integer`},
				{7, `score "high" is not an integer`},
				{8, "empty query-id"},
				{9, "empty corpus-id"},
				{10, `duplicate judgment for query "1", doc "2" (first on line 2)`},
				{11, "invalid UTF-8 at byte 4"},
				{13, `score "1 " is not an integer`},
				{14, "got 2 (last line has no newline: file truncated?)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ReadQrels(strings.NewReader(tt.in))
			checkErrs(t, err, tt.errs)
			if err != nil {
				return
			}
			if !maps.EqualFunc(q, tt.want, maps.Equal) {
				t.Errorf("qrels = %v, want %v", q, tt.want)
			}
		})
	}
}
