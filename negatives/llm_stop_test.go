package negatives

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

var errStopTest = errors.New("server shutting down (test)")

// TestLLMStopGrace checks what happens to a request in flight when its
// call's context ends: with the configured stop cause it may reply within
// the grace, and its reply is kept and cached; with another cause, no
// grace, or once the grace runs out, it is cut off; nothing new is sent.
// OnGrace hears of each grace that starts, before the call returns.
func TestLLMStopGrace(t *testing.T) {
	tests := []struct {
		name    string
		grace   time.Duration
		cause   error
		now     bool // StopNow is closed
		replies []fakeReply
		wantOK  bool // the call returns the reply
		graced  bool // OnGrace is called
	}{
		{"shutdown: the reply is kept", 5 * time.Second, errStopTest, false,
			[]fakeReply{{Content: llmTestGood, Delay: 300 * time.Millisecond}}, true, true},
		{"a user's cancel cuts at once", 5 * time.Second, errors.New("cancelled by a user"), false,
			[]fakeReply{{Content: llmTestGood, Delay: 3 * time.Second}}, false, false},
		{"no grace configured", 0, errStopTest, false,
			[]fakeReply{{Content: llmTestGood, Delay: 3 * time.Second}}, false, false},
		{"the grace runs out", 100 * time.Millisecond, errStopTest, false,
			[]fakeReply{{Content: llmTestGood, Delay: 3 * time.Second}}, false, true},
		{"no repair is sent after the stop", 5 * time.Second, errStopTest, false,
			[]fakeReply{{Content: `not json`, Delay: 300 * time.Millisecond}, okReply(llmTestGood)}, false, true},
		{"no retry is sent after the stop", 5 * time.Second, errStopTest, false,
			[]fakeReply{{Status: 500, Delay: 300 * time.Millisecond}, okReply(llmTestGood)}, false, true},
		{"a second stop signal ends the grace", 5 * time.Second, errStopTest, true,
			[]fakeReply{{Content: llmTestGood, Delay: 3 * time.Second}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := make(chan struct{}, len(tt.replies))
			script := fakeSequence(t, tt.replies...)
			f := newFakeChat(t, func(call int, req fakeRequest) fakeReply {
				sent <- struct{}{}
				return script(call, req)
			})
			dir := t.TempDir()
			var graces atomic.Int32
			c := newTestLLM(t, f, func(cfg *LLMConfig) {
				cfg.CacheDir, cfg.StopGrace, cfg.StopCause = dir, tt.grace, errStopTest
				cfg.OnGrace = func() { graces.Add(1) }
				if tt.now {
					now := make(chan struct{})
					close(now)
					cfg.StopNow = now
				}
				cfg.Timeout = 10 * time.Second
			})
			ctx, cancel := context.WithCancelCause(context.Background())
			done := make(chan error, 1)
			var got llmTestReply
			start := time.Now()
			go func() { done <- c.JSON(ctx, "s", "u", llmTestSchema, &got) }()
			<-sent
			cancel(tt.cause)
			err := <-done
			took := time.Since(start)
			if got := graces.Load(); got != map[bool]int32{true: 1, false: 0}[tt.graced] {
				t.Errorf("OnGrace called %d times by the time the call returned, want graced %v", got, tt.graced)
			}
			if tt.wantOK {
				if err != nil || got != (llmTestReply{Answer: "paris", Score: 7}) {
					t.Fatalf("JSON = %+v, %v; want the reply", got, err)
				}
				if n := len(cacheFiles(t, dir)); n != 1 {
					t.Errorf("%d cache files, want the reply cached", n)
				}
				if u := c.Usage(); u.TotalTokens != 120 || u.Failures != 0 {
					t.Errorf("usage %+v: the reply's tokens are not counted", u)
				}
			} else {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
				if n := len(cacheFiles(t, dir)); n != 0 {
					t.Errorf("%d cache files after a cut-off call", n)
				}
				if took > 2*time.Second {
					t.Errorf("took %v: the request was not cut off", took)
				}
			}
			// One request only: none starts after the stop (a retry, a
			// repair).
			if n := f.count(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestLLMSendsNothingAfterStop: a call whose context already ended sends
// no request, whatever the grace (the request slot's select would
// otherwise pick at random between a free slot and the ended context).
func TestLLMSendsNothingAfterStop(t *testing.T) {
	f := newFakeChat(t, fakeSequence(t))
	c := newTestLLM(t, f, func(cfg *LLMConfig) { cfg.StopGrace, cfg.StopCause = 5*time.Second, errStopTest })
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errStopTest)
	for range 50 {
		var got llmTestReply
		if err := c.JSON(ctx, "s", "u", llmTestSchema, &got); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	if n, u := f.count(), c.Usage(); n != 0 || u.Requests != 0 {
		t.Errorf("%d requests sent, %d counted after the stop; want none", n, u.Requests)
	}
}
