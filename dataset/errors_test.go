package dataset

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorsMessage(t *testing.T) {
	one := Errors{{Line: 3, Reason: "bad"}}
	if got, want := one.Error(), "1 invalid line: line 3: bad"; got != want {
		t.Errorf("one = %q, want %q", got, want)
	}

	var many Errors
	for i := 1; i <= errorsShown+3; i++ {
		many = append(many, LineError{File: "qrels/test.tsv", Line: i, Reason: "r"})
	}
	msg := many.Error()
	for _, want := range []string{
		fmt.Sprintf("%d invalid lines:", errorsShown+3),
		"\tqrels/test.tsv: line 1: r",
		fmt.Sprintf("\tqrels/test.tsv: line %d: r", errorsShown),
		"\tand 3 more",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, fmt.Sprintf("line %d:", errorsShown+1)) {
		t.Errorf("message lists more than %d entries:\n%s", errorsShown, msg)
	}

	whole := LineError{File: "corpus.jsonl", Reason: "no documents"}
	if got := whole.Error(); got != "corpus.jsonl: no documents" {
		t.Errorf("whole-file error = %q", got)
	}
	// A whole file's problem is not counted as an invalid line.
	for _, tc := range []struct {
		es   Errors
		want string
	}{
		{Errors{{Reason: "no pairs"}}, "no pairs"},
		{Errors{whole}, "corpus.jsonl: no documents"},
		{Errors{whole, {File: "qrels/test.tsv", Reason: "no judgments"}}, "2 problems with whole files:\n\tcorpus.jsonl: no documents\n\tqrels/test.tsv: no judgments"},
		{Errors{{File: "queries.jsonl", Line: 2, Reason: "bad"}, whole}, "1 invalid line and 1 problem with a whole file:\n\tqueries.jsonl: line 2: bad\n\tcorpus.jsonl: no documents"},
	} {
		if got := tc.es.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.es, got, tc.want)
		}
	}
}

func TestErrorsUnwrap(t *testing.T) {
	err := fmt.Errorf("load: %w", Errors{{Line: 7, Reason: "bad"}})
	var le LineError
	if !errors.As(err, &le) || le.Line != 7 {
		t.Errorf("errors.As(LineError) = %v, %+v", errors.As(err, &le), le)
	}
}

func TestErrorCap(t *testing.T) {
	in := strings.Repeat("not json\n", MaxErrors+50)
	_, err := ReadQueries(strings.NewReader(in))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	if len(es) != MaxErrors+1 {
		t.Fatalf("%d errors, want %d real ones plus a stop marker", len(es), MaxErrors)
	}
	last := es[len(es)-1]
	if last.Line != MaxErrors+1 || !strings.Contains(last.Reason, "stopped reading") {
		t.Errorf("last entry = %+v, want the stop marker on line %d", last, MaxErrors+1)
	}
	if es[MaxErrors-1].Line != MaxErrors || strings.Contains(es[MaxErrors-1].Reason, "stopped") {
		t.Errorf("entry %d = %+v, want the real error of line %d", MaxErrors-1, es[MaxErrors-1], MaxErrors)
	}
}

func TestCollectorClipsLongValues(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"short", "q1", `unknown query id "q1"`},
		{"long ASCII", strings.Repeat("x", 1000), `unknown query id "` + strings.Repeat("x", 100) + `... (1000 bytes)"`},
		// '日' is 3 bytes: byte 100 is inside the 34th, which is dropped whole.
		{"long UTF-8", strings.Repeat("日", 60), `unknown query id "` + strings.Repeat("日", 33) + `... (180 bytes)"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{file: "qrels/test.tsv"}
			c.addf(3, "unknown query id %q", tt.value)
			if got := c.errs[0].Reason; got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}
