package dataset

import (
	"strings"
	"testing"
)

func TestTopLevelKeys(t *testing.T) {
	for _, tc := range []struct {
		json string
		want int
	}{
		{`{}`, 0},
		{`{"a":1}`, 1},
		{`{"a":1,"a":2}`, 2},
		{`{"a":"x:y","b":{"c":1,"d":[{"e":2}]}}`, 2},
		{`{"a\":b":"\\","c":"\"}:"}`, 2},
		{`{"k":[1,[2,{"x":"]"}]],"l":null}`, 2},
	} {
		if got := topLevelKeys([]byte(tc.json)); got != tc.want {
			t.Errorf("topLevelKeys(%s) = %d, want %d", tc.json, got, tc.want)
		}
	}
}

func TestLoneSurrogate(t *testing.T) {
	tests := []struct {
		json string
		at   int
	}{
		{`{"q":"plain"}`, -1},
		{`{"q":"a pair \ud83d\ude00 and \u00e9"}`, -1},
		{`{"q":"upper case \uD83D\uDE00"}`, -1},
		{`{"q":"an escaped backslash \\ud83d"}`, -1},
		{`{"q":"cut \ud83d"}`, 10},
		{`{"q":"high then other \ud83d\u0041"}`, 22},
		{`{"q":"low alone \ude00"}`, 16},
		{`{"q":"two highs \ud83d\ud83d\ude00"}`, 16},
	}
	for _, tt := range tests {
		if at, _ := loneSurrogate([]byte(tt.json)); at != tt.at {
			t.Errorf("%s: at %d, want %d", tt.json, at, tt.at)
		}
	}
	if _, reason := parseObject([]byte(`{"query":"what is a cat \ud83d","pos":["p"]}`)); !strings.Contains(reason, `unpaired surrogate escape \ud83d`) {
		t.Errorf("parseObject reason %q, want the unpaired surrogate named", reason)
	}
}
