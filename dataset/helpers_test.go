package dataset

import (
	"errors"
	"strings"
	"testing"
)

// wantErr is an expected LineError: its line and a substring of its reason.
type wantErr struct {
	line   int
	reason string
}

// checkErrs asserts that err is an Errors holding exactly want, in order.
func checkErrs(t *testing.T, err error, want []wantErr) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not an Errors; want %v", err, err, want)
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if es[i].Line != w.line || !strings.Contains(es[i].Reason, w.reason) {
			t.Errorf("error %d = %q (line %d), want line %d containing %q", i, es[i].Reason, es[i].Line, w.line, w.reason)
		}
	}
}
