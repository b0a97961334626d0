package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"retune/internal/testenv"
)

// The first stop signal ends a command's context with errStopSignal as
// its cause, the second closes hurry; a command that ends first stops
// listening.
func TestStopOn(t *testing.T) {
	sigs, hurried := make(chan os.Signal, 1), make(chan struct{})
	ctx, stop := stopOn(t.Context(), sigs, hurried)
	defer stop()
	sigs <- syscall.SIGTERM
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, errStopSignal) || !strings.Contains(cause.Error(), "terminated") {
		t.Fatalf("cause %v, want errStopSignal naming the signal", cause)
	}
	select {
	case <-hurried:
		t.Fatal("hurried closed by the first signal")
	case <-time.After(20 * time.Millisecond):
	}
	sigs <- syscall.SIGINT
	select {
	case <-hurried:
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not close hurried")
	}

	sigs, hurried = make(chan os.Signal, 1), make(chan struct{})
	ctx, stop = stopOn(t.Context(), sigs, hurried)
	stop()
	stop() // twice is fine (main's defer after an explicit stop)
	if cause := context.Cause(ctx); errors.Is(cause, errStopSignal) || !errors.Is(cause, context.Canceled) {
		t.Fatalf("cause after stop %v, want a plain cancel", cause)
	}
	sigs <- syscall.SIGTERM // no one listens any more: it stays in the channel
	time.Sleep(20 * time.Millisecond)
	if len(sigs) != 1 {
		t.Fatal("a signal after stop was taken")
	}
	select {
	case <-hurried:
		t.Fatal("hurried closed after stop")
	default:
	}
}

// A stop signal lets the LLM requests a train run has sent reply, and
// caches their replies, so the rerun does not pay for them again; nothing
// new is sent. A second signal cuts them off at once.
func TestTrainStopLetsLLMRequestsReply(t *testing.T) {
	pairs := naivePairs(t)
	for _, tt := range []struct {
		name      string
		secondSig bool
		delay     time.Duration // of each reply
	}{{"one signal", false, 300 * time.Millisecond}, {"two signals", true, 5 * time.Second}} {
		t.Run(tt.name, func(t *testing.T) {
			orig := hurry
			hurry = make(chan struct{})
			t.Cleanup(func() { hurry = orig })
			llm := newSlowLLM(t, tt.delay)
			ctx, stoppedAt := stopAtSecondRequest(t, llm, tt.secondSig)
			dir := t.TempDir()
			errOut, err := trainNaive(ctx, t, pairs, dir, llm)
			took := time.Since(stoppedAt())
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want the run interrupted", err)
			}
			llm.srv.Close() // waits for the handlers: every reply is counted
			sent, replied, cached := llm.sent.Load(), llm.replied.Load(), countJSON(t, filepath.Join(dir, "llm-cache"))
			t.Logf("%d sent, %d replied, %d cached; stopped in %s", sent, replied, cached, took)
			if !strings.Contains(errOut, "stopping: LLM requests already sent get up to 10s to reply") {
				t.Errorf("stderr does not say why the stop waits: %s", errOut)
			}
			switch {
			case sent == 0:
				t.Fatal("no request was sent")
			case tt.secondSig && (replied != 0 || cached != 0 || took > tt.delay/2):
				t.Errorf("a second signal stopped the run in %s with %d replies, %d cached; want at once, none", took, replied, cached)
			case !tt.secondSig && (replied != sent || cached != int(sent)):
				t.Errorf("%d requests sent, %d replied, %d cached; want every request in flight replied and cached", sent, replied, cached)
			}
		})
	}
}

// Without an LLM cache (--llm-cache "") a stop has no reply to keep: it
// cuts the requests in flight at once and says nothing of waiting.
func TestTrainStopWithoutLLMCacheCutsAtOnce(t *testing.T) {
	llm := newSlowLLM(t, 5*time.Second)
	ctx, stoppedAt := stopAtSecondRequest(t, llm, false)
	errOut, err := trainNaive(ctx, t, naivePairs(t), t.TempDir(), llm, "--llm-cache", "")
	took := time.Since(stoppedAt())
	if !errors.Is(err, context.Canceled) || strings.Contains(errOut, "stopping:") || took > 2*time.Second {
		t.Fatalf("err %v after %s; stderr %s", err, took, errOut)
	}
}

// naivePairs writes 20 SciFact training pairs for a naive-generator run.
func naivePairs(t *testing.T) string {
	t.Helper()
	data := testenv.SciFact(t, "train")
	testenv.Glove(t)
	pairs := filepath.Join(t.TempDir(), "pairs.jsonl")
	writePairs(t, pairs, data, "train", 20, 0)
	return pairs
}

// stopAtSecondRequest is a context that a stop signal ends once llm has a
// second request in flight, the second signal (hurry) following at once
// if second; stoppedAt, read after the run, says when.
func stopAtSecondRequest(t *testing.T, llm *slowLLM, second bool) (ctx context.Context, stoppedAt func() time.Time) {
	ctx, cancel := context.WithCancelCause(t.Context())
	var at time.Time
	go func() {
		<-llm.twoSent
		at = time.Now()
		cancel(fmt.Errorf("%w: interrupt", errStopSignal))
		if second {
			close(hurry)
		}
	}()
	return ctx, func() time.Time { return at }
}

// trainNaive runs retune train on pairs with naive negatives from llm,
// everything it writes under dir (its LLM cache in dir/llm-cache), and
// returns what it printed on stderr; flags come after the defaults.
func trainNaive(ctx context.Context, t *testing.T, pairs, dir string, llm *slowLLM, flags ...string) (stderr string, err error) {
	stderr = capture(t, &os.Stderr, func() {
		err = runTrain(ctx, append([]string{"--pairs", pairs, "--out", filepath.Join(dir, "head"),
			"--models", testenv.ModelsRoot(t), "--cache", filepath.Join(dir, "cache"),
			"--negatives", "generated", "--generator", "naive", "--llm-base-url", llm.srv.URL + "/v1",
			"--llm-model", "m", "--llm-key", "k", "--llm-cache", filepath.Join(dir, "llm-cache")}, flags...))
	})
	return stderr, err
}

// slowLLM answers naive-generator prompts after delay, unless the
// request is cut off first; twoSent closes when the second request arrives.
// replied counts the replies written.
type slowLLM struct {
	srv           *httptest.Server
	twoSent       chan struct{}
	sent, replied atomic.Int64
}

func newSlowLLM(t *testing.T, delay time.Duration) *slowLLM {
	l := &slowLLM{twoSent: make(chan struct{})}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.sent.Add(1)
		if n == 2 { // two in flight at the stop
			close(l.twoSent)
		}
		// Read to the end, so that the server notices a client hanging up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		content, _ := json.Marshal(map[string]any{"negatives": []map[string]string{
			{"text": fmt.Sprintf("Bakers in the old market sell warm bread and sweet cakes every morning %d.", n)},
		}})
		w.Header().Set("Content-Type", "application/json")
		err := json.NewEncoder(w).Encode(map[string]any{
			"id": fmt.Sprint("chatcmpl-", n), "object": "chat.completion", "created": 1, "model": "m",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": string(content)}}},
			"usage": map[string]int{"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80},
		})
		if err == nil {
			l.replied.Add(1)
		}
	}))
	t.Cleanup(l.srv.Close)
	return l
}

// countJSON counts the .json files under dir (none when it is missing).
func countJSON(t *testing.T, dir string) int {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return nil
		}
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
