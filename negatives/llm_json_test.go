package negatives

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLLMCleanReply(t *testing.T) {
	const obj = `{"a": 1}`
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{"plain", obj, obj, false},
		{"think block", "<think>\nhmm {\"a\": 2}\n</think>\n" + obj, obj, false},
		{"two think blocks", "<think>x</think>" + obj + "<THINK>y</THINK>", obj, false},
		{"only the closing tag", "reasoning the template opened\n</think>" + obj, obj, false},
		{"unfinished think", obj + "\n<think>and then", obj, false},
		{"json fence", "```json\n" + obj + "\n```", obj, false},
		{"bare fence", "```\n" + obj + "\n```", obj, false},
		{"preamble and fence", "Here it is:\n```json\n" + obj + "\n```\nDone.", obj, false},
		{"preamble", "Sure! " + obj + " Hope this helps.", obj, false},
		{"fence inside a string is kept", `{"code": "` + "```go\\nx\\n```" + `"}`, `{"code": "` + "```go\\nx\\n```" + `"}`, false},
		// A reply that is JSON as it stands is kept whole, whatever its
		// strings hold; only reasoning and fences around it are removed.
		{"think block inside a string", `{"note": "<think>x</think>"}`, `{"note": "<think>x</think>"}`, false},
		{"unclosed think inside a string", `{"note": "an unclosed <think> tag"}`, `{"note": "an unclosed <think> tag"}`, false},
		{"closing tag inside a string", `{"note": "ends with </think> here"}`, `{"note": "ends with </think> here"}`, false},
		{"think block before one in a string", "<think>r</think>" + `{"note": "<THINK>x</THINK>"}`, `{"note": "<THINK>x</THINK>"}`, false},
		{"fence around fences in a string", "```json\n" + `{"code": "` + "```go\\nx\\n```" + `"}` + "\n```", `{"code": "` + "```go\\nx\\n```" + `"}`, false},
		{"non-ASCII before the tag", "İİİ</think>" + obj, obj, false},
		// Found by a probe: reasoning, then a fenced object whose strings hold tags.
		{"think then a fence around a tag in a string", "<think>short</think>\n```json\n" + `{"text": "the <think> tag"}` + "\n```",
			`{"text": "the <think> tag"}`, false},
		{"prose before an object holding a closing tag", `Here: {"text": "a </think> b"}`, `{"text": "a </think> b"}`, false},
		{"reasoning after an object holding a tag", `{"text": "<think>"}` + "\n<think>later</think>", `{"text": "<think>"}`, false},
		{"prose, then a fence around fences in a string", "Here:\n```json\n" + `{"code": "use ` + "```" + ` here"}` + "\n```",
			`{"code": "use ` + "```" + ` here"}`, false},
		// Found by a probe: a note after the object with braces of its own
		// (it cost a paid repair round).
		{"prose with braces after the object", obj + "\n\nNote: I kept each passage {roughly} the same length.", obj, false},
		{"thinking, then prose with braces after the object", "<think>{\"a\": 2}</think>Here: " + obj + " (see {x})", obj, false},
		// Found by a probe: reasoning models draft the object in a fence
		// while thinking; the draft is not the reply, whole or partial.
		{"draft in a fence while thinking", "<think>Draft:\n```json\n{\"a\": 2}\n```\nbetter:</think>\n\n" + obj, obj, false},
		{"draft in a fence before a closing tag the template opened", "Draft:\n```json\n{\"a\": 2}\n```\n</think>\n" + obj, obj, false},
		{"draft in a fence, answer in a fence", "<think>```json\n{\"a\": 2}\n```</think>\n```json\n" + obj + "\n```", obj, false},
		// With no answer after it, the object in reasoning is the reply
		// after all: thinking cut off, or a tag that was only text.
		{"draft in a fence, thinking never closed", "<think>```json\n{\"a\": 2}\n```", `{"a": 2}`, false},
		// Found by a review: a broken or cut answer after the reasoning is
		// the reply (to repair), not the draft the model moved on from.
		{"draft, then a broken answer", "<think>First try: {\"a\": 2}. No…</think>\n{\"a\": 1,}", `{"a": 1,}`, false},
		{"draft, then a cut answer", "<think>```json\n{\"a\": 2}\n```</think>\n{\"a\": 1, \"b", `{"a": 1, "b`, false},
		{"an open tag in prose before a fenced answer", "No <think> block needed here.\n```json\n" + obj + "\n```", obj, false},
		{"a closing tag in prose after a fenced answer", "```json\n" + obj + "\n```\nI left out the </think> part.", obj, false},
		// Found by a review: a tag in the answer's string, then prose with
		// braces, was cut inside the string.
		{"a tag in a string, then prose with braces", `{"a": "paris <think>"} and then {x}`, `{"a": "paris <think>"}`, false},
		{"a closing tag in a string, then prose with braces", `{"a": "paris </think>"} and then {x}`, `{"a": "paris </think>"}`, false},
		{"bare draft, answer in a fence", "<think>{\"a\": 2}</think>\n```json\n" + obj + "\n```", obj, false},
		{"only thinking", "<think>never finished", "", true},
		{"empty", "  \n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanReply(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLLMRequiredPaths(t *testing.T) {
	schema := Schema{Name: "t", Required: []string{"a", "list", "list[].id", "list[].sub.x"}}
	tests := []struct {
		name, body  string
		wantMissing []string
	}{
		{"all present", `{"a": 1, "list": [{"id": "1", "sub": {"x": 0}}]}`, nil},
		{"top-level missing", `{"list": []}`, []string{"a"}},
		{"parent of required children missing", `{"a": 1}`, []string{"list"}},
		{"null counts as missing", `{"a": null, "list": []}`, []string{"a"}},
		{"per element", `{"a": 1, "list": [{"id": "1", "sub": {"x": 1}}, {"sub": {}}]}`, []string{"list[1].id", "list[1].sub.x"}},
		{"nested object missing", `{"a": 1, "list": [{"id": "1"}]}`, []string{"list[0].sub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out map[string]any
			err := decodeReply(tt.body, schema, &out)
			if len(tt.wantMissing) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if want := "missing or null fields: " + strings.Join(tt.wantMissing, ", "); err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestLLMDecodeReplyResetsOut(t *testing.T) {
	out := llmTestReply{Answer: "stale", Score: 3}
	schema := Schema{Name: "t", Required: []string{"score"}}
	if err := decodeReply(`{"score": 5}`, schema, &out); err != nil {
		t.Fatal(err)
	}
	if out.Answer != "" || out.Score != 5 {
		t.Errorf("got %+v: a field from an earlier reply survived", out)
	}
}

func TestCausalNormalizeLabel(t *testing.T) {
	for in, want := range map[string]string{
		"Entity Shift":         "entity_shift",
		" upstream-downstream": "upstream_downstream",
		"INFORMATION_NEED":     "information_need",
	} {
		if got := normalizeLabel(in); got != want {
			t.Errorf("normalizeLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if !slices.Contains(ViolationTypes, ViolationType(normalizeLabel("Relation Break"))) {
		t.Error("normalised label is not a known type")
	}
}

// Replies whose strings hold think tags or fences reach the caller as
// sent, without a repair round.
func TestLLMReplyStringsKeepTagsAndFences(t *testing.T) {
	for _, answer := range []string{"<think>x</think>", "see </think>", "an open <think>", "```json\n{}\n```"} {
		t.Run(answer, func(t *testing.T) {
			b, _ := json.Marshal(llmTestReply{Answer: answer, Score: 1})
			f := newFakeChat(t, fakeSequence(t, okReply("<think>reasoning</think>\n"+string(b))))
			c := newTestLLM(t, f, nil)
			var got llmTestReply
			if err := c.JSON(context.Background(), "s", "u", llmTestSchema, &got); err != nil {
				t.Fatal(err)
			}
			if got.Answer != answer || c.Usage().Repairs != 0 {
				t.Errorf("answer %q, want %q; usage %+v", got.Answer, answer, c.Usage())
			}
		})
	}
}

// FuzzCleanReply: no reply panics the cleaner, a reply that is a JSON object
// as it stands comes back whole, and whatever object it returns is one the
// reply holds.
func FuzzCleanReply(f *testing.F) {
	for _, seed := range []string{
		`{"a": 1}`, "<think>x</think>{\"a\": 1}", "<think>```json\n{\"a\": 2}\n```</think>{\"a\": 1}",
		"No <think> here\n```json\n{\"a\": 1}\n```", `{"a": "</think>"} and {x}`, "```json\n{\"a\": 1}\n```\n</think>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := cleanReply(raw)
		trimmed := strings.TrimSpace(raw)
		if isJSONObject(trimmed) && (err != nil || got != trimmed) {
			t.Fatalf("a JSON object came back as %q, %v", got, err)
		}
		if err == nil && isJSONObject(got) && !strings.Contains(raw, got) {
			t.Fatalf("returned an object %q the reply does not hold", got)
		}
	})
}

// dropAllThinking does in one pass what dropThinking repeated does.
func TestDropAllThinking(t *testing.T) {
	for _, s := range []string{
		"", "plain", "<think>x</think>a", "a<think>x</think>b<THINK>y</think>c", "r</think>a", "a<think>x</think>b</think>c",
		"<think>a<think>b</think>c</think>d", "a<think>never closed", "a</think>b</think>c<think>d</think>e<think>f",
		"İ<think>x</think>İ",
	} {
		want := s
		for t := dropThinking(want); t != want; t = dropThinking(want) {
			want = t
		}
		if got := dropAllThinking(s); got != want {
			t.Errorf("dropAllThinking(%q) = %q, want %q", s, got, want)
		}
	}
}

// Found by a review of the reply cleaner: a reply of many think tags and
// no object was cleaned a layer at a time, each layer rereading the reply
// (13 s for 265 KB). The cap on a reply is 4 MiB.
func TestCleanReplyManyLayers(t *testing.T) {
	raw := strings.Repeat("<think>{x</think>", (4<<20)/17) + `{"a": 1} {`
	start := time.Now()
	got, err := cleanReply(raw)
	if err != nil || got != `{"a": 1}` {
		t.Errorf("got %q, %v", got, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 4 MiB reply of %d layers took %v", (4<<20)/17, d)
	}
}
