package api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"retune/store"
)

// eventObject is one job event, shaped after OpenAI's fine_tuning.job.event.
type eventObject struct {
	Object    string          `json:"object"`
	ID        string          `json:"id"`
	Seq       int64           `json:"seq"`
	CreatedAt int64           `json:"created_at"`
	Level     string          `json:"level"`
	Type      string          `json:"type"`
	Message   string          `json:"message"`
	Data      json.RawMessage `json:"data"`
}

func eventView(e store.Event) eventObject {
	return eventObject{Object: "fine_tuning.job.event",
		ID:  fmt.Sprintf("ftevent-%s-%d", strings.TrimPrefix(e.JobID, store.PrefixJob), e.Seq),
		Seq: e.Seq, CreatedAt: e.CreatedAt.Unix(), Level: e.Level, Type: e.Type, Message: e.Message, Data: e.Data}
}

// listJobEvents pages through a job's events in order (?after=<seq>), or
// streams them as Server-Sent Events when the client accepts
// text/event-stream.
func (s *Server) listJobEvents(c *gin.Context) {
	id, ok := pathID(c, "job_id", store.PrefixJob, "job")
	if !ok {
		return
	}
	after, ok := parseAfterSeq(c)
	if !ok {
		return
	}
	// Checked on a stream too, which has no pages: the same URL is a 400
	// whichever way it is asked for.
	limit, ok := parseLimit(c, store.DefaultEventLimit, store.MaxEventLimit)
	if !ok {
		return
	}
	if wantsEventStream(c.Request) {
		s.streamEvents(c, id, after)
		return
	}
	evs, more, err := s.store.ListEvents(c.Request.Context(), id, after, limit)
	if err != nil {
		s.abortStore(c, err, fmt.Sprintf("job %s not found", id))
		return
	}
	views := make([]eventObject, len(evs))
	for i, e := range evs {
		views[i] = eventView(e)
	}
	c.JSON(http.StatusOK, newList(views, more))
}

// parseAfterSeq reads the cursor: the larger of ?after=<seq> and the
// Last-Event-ID an EventSource sends when it reconnects (one opened at
// ?after=N keeps that URL, so the header is what moves), else 0.
func parseAfterSeq(c *gin.Context) (int64, bool) {
	query, inQuery := c.GetQuery("after")
	header := c.GetHeader("Last-Event-ID")
	var after int64
	for _, src := range []struct {
		param, name, raw string
		given            bool
	}{{"after", "after", query, inQuery}, {"Last-Event-ID", "the Last-Event-ID header", header, header != ""}} {
		if !src.given {
			continue
		}
		n, ok := parseCount(src.raw)
		if !ok {
			badRequestParam(c, src.param, fmt.Sprintf("%s must be an event seq (an integer >= 0), got %q", src.name, src.raw))
			return 0, false
		}
		after = max(after, n)
	}
	return after, true
}

// wantsEventStream reports whether the client prefers an event stream to
// the JSON page: it must accept text/event-stream (by name, else as
// text/*) with a weight above 0 and at least that of its best match for
// application/json (an exact match, else application/*, else */*). Equal
// weights go to the stream, which the client asked for by name.
func wantsEventStream(r *http.Request) bool {
	stream, json := -1.0, -1.0
	streamExact := false // text/event-stream named, rather than text/*
	jsonSpecific := 0    // 3 exact, 2 application/*, 1 */*
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		spec := 0
		switch mt {
		case "text/event-stream":
			if !streamExact || q > stream {
				stream, streamExact = q, true
			}
			continue
		case "text/*":
			if !streamExact {
				stream = max(stream, q)
			}
			continue
		case "application/json":
			spec = 3
		case "application/*":
			spec = 2
		case "*/*":
			spec = 1
		default:
			continue
		}
		if spec > jsonSpecific || (spec == jsonSpecific && q > json) {
			json, jsonSpecific = q, spec
		}
	}
	return stream > 0 && stream >= json
}
