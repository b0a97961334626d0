package dataset

import "testing"

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
