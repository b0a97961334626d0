package dataset

import (
	"slices"
	"strings"
	"testing"
)

func TestReadCorpus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Doc
		errs []wantErr
	}{
		{
			name: "BEIR lines, metadata ignored, blank lines skipped, CRLF",
			in: `{"_id": "4983", "title": "Micro", "text": "Alterations.", "metadata": {"k": [1]}}` + "\n\n   \n" +
				`{"_id": "5", "text": "no title"}` + "\r\n" +
				`{"_id": "6", "title": "only title", "text": ""}` + "\n",
			want: []Doc{{"4983", "Micro", "Alterations."}, {"5", "", "no title"}, {"6", "only title", ""}},
		},
		{
			name: "numeric id taken as its literal, no final newline",
			in:   `{"_id": 42, "text": "a"}` + "\n" + `{"_id": 1.5e3, "text": "b"}`,
			want: []Doc{{"42", "", "a"}, {"1.5e3", "", "b"}},
		},
		{
			name: "empty input",
			in:   "",
			want: nil,
		},
		{
			name: "every kind of bad line, all reported",
			in: strings.Join([]string{
				`{"_id": "a", "text": "ok"}`,                // 1
				`{"_id": "b", "text": "broken"`,             // 2
				`["_id", "c"]`,                              // 3
				`{"text": "no id"}`,                         // 4
				`{"_id": "d"}`,                              // 5
				`{"_id": "e", "title": " ", "text": "\t"}`,  // 6
				`{"_id": "a", "text": "again"}`,             // 7
				`{"_id": true, "text": "x"}`,                // 8
				`{"_id": "f", "text": 5}`,                   // 9
				`{"_id": "g", "title": ["t"], "text": "x"}`, // 10
				"{\"_id\": \"h\", \"text\": \"caf\xe9\"}",   // 11: Latin-1 é
				`{"_id": "", "text": "x"}`,                  // 12
				`{"_id": null, "text": "x"}`,                // 13
				`{"_id": "i", "text": null}`,                // 14
				`null`,                                      // 15
				`{"_id": "j", "text": "x"} trailing`,        // 16
				`{"_id": "k\tl", "text": "x"}`,              // 17
				`{"_id": "m", "text": "x", "_id": "n"}`,     // 18
			}, "\n") + "\n",
			errs: []wantErr{
				{2, "invalid JSON: unexpected end of JSON input"},
				{3, "expected a JSON object, got an array"},
				{4, `missing "_id"`},
				{5, `missing "text"`},
				{6, "empty title and text"},
				{7, `duplicate _id "a" (first on line 1)`},
				{8, `"_id" must be a string or number, got a boolean`},
				{9, `"text" must be a string, got a number`},
				{10, `"title" must be a string, got an array`},
				{11, "invalid UTF-8 at byte 25"},
				{12, `empty "_id"`},
				{13, `missing "_id"`},
				{14, `missing "text"`},
				{15, "expected a JSON object, got null"},
				{16, "invalid JSON: invalid character 't' after top-level value"},
				{17, `"_id" contains a tab or line break, so no qrels line could name it`},
				{18, `key "_id" appears twice`},
			},
		},
		{
			name: "truncated last line",
			in:   `{"_id": "a", "text": "ok"}` + "\n" + `{"_id": "b", "te`,
			errs: []wantErr{{2, "(last line has no newline: file truncated?)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ReadCorpus(strings.NewReader(tt.in))
			checkErrs(t, err, tt.errs)
			if err != nil {
				if docs != nil {
					t.Errorf("docs = %v alongside an error, want nil", docs)
				}
				return
			}
			if !slices.Equal(docs, tt.want) {
				t.Errorf("docs = %q, want %q", docs, tt.want)
			}
		})
	}
}

func TestDocContent(t *testing.T) {
	tests := []struct {
		doc  Doc
		want string
	}{
		{Doc{Title: "Title", Text: "Body."}, "Title Body."},
		{Doc{Title: "", Text: " Body. "}, "Body."},
		{Doc{Title: "  ", Text: "Body."}, "Body."},
		{Doc{Title: " Title ", Text: ""}, "Title"},
	}
	for _, tt := range tests {
		if got := tt.doc.Content(); got != tt.want {
			t.Errorf("%+v.Content() = %q, want %q", tt.doc, got, tt.want)
		}
	}
}
