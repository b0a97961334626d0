package negatives

import (
	"context"
	"errors"
	"time"
)

// sendContext is the context one request is sent under: ctx itself, or,
// when the configuration gives requests in flight a grace (StopGrace), one
// that outlives ctx's end by StopCause for up to StopGrace, or until
// StopNow closes. A reply cut off by a server's shutdown is paid for all
// the same, and asked for again after the restart; one let finish is
// cached. release frees what it holds; once it returns, so has OnGrace.
func (c *LLM) sendContext(ctx context.Context) (sctx context.Context, release func()) {
	if c.cfg.StopGrace <= 0 || c.cfg.StopCause == nil || ctx.Err() != nil {
		return ctx, func() {}
	}
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	graced := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(graced)
		cause := context.Cause(ctx)
		if !errors.Is(cause, c.cfg.StopCause) {
			cancel(cause)
			return
		}
		if c.cfg.OnGrace != nil {
			c.cfg.OnGrace()
		}
		grace := time.NewTimer(c.cfg.StopGrace)
		defer grace.Stop()
		select {
		case <-grace.C:
		case <-c.cfg.StopNow: // nil: never
		case <-sctx.Done(): // released: the reply came
		}
		cancel(cause)
	})
	return sctx, func() {
		cancel(nil)
		if !stop() {
			<-graced // under way: OnGrace has returned before the call does
		}
	}
}
