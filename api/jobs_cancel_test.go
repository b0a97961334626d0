package api_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestCancelJobs cancels a queued job (at once) and a running one (its
// worker stops it), and checks what cancellation frees.
func TestCancelJobs(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true) // one worker
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	// The longest run allowed, which no test waits for.
	long := fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"none",
		"hyperparameters":{"epochs":10000,"dev_fraction":0}}`, ds.ID)
	running := js.createJob(long)
	queued := js.createJob(long) // waits behind the first: one worker
	js.waitEvent(running.ID, "epoch", func(e eventJSON) bool { return e.Type == "epoch" })

	j := mustJSON[jobJSON](t, js.do("POST", "/v1/fine_tuning/jobs/"+queued.ID+"/cancel", "", nil), http.StatusOK)
	if j.Status != "cancelled" || !j.CancelRequested || j.FinishedAt == nil || j.StartedAt != nil {
		t.Fatalf("cancelled queued job: %+v", j)
	}
	// Its stream replays the log and ends on the final event.
	evs := js.stream("/v1/fine_tuning/jobs/" + queued.ID + "/events")
	if last := evs[len(evs)-1]; last.Type != "status" || last.status() != "cancelled" {
		t.Fatalf("queued job's events: %+v", evs)
	}

	wantAPIError(t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusConflict, "used by unfinished job "+running.ID)
	wantAPIError(t, js.do("DELETE", "/v1/fine_tuning/jobs/"+running.ID, "", nil), http.StatusConflict, "is running: cancel it first")

	j = mustJSON[jobJSON](t, js.do("POST", "/v1/fine_tuning/jobs/"+running.ID+"/cancel", "", nil), http.StatusOK)
	if j.Status != "cancelled" || j.Head != nil || j.Error != nil || j.StartedAt == nil {
		t.Fatalf("cancelled running job: %+v", j)
	}
	evs = js.events(running.ID)
	if last := evs[len(evs)-1]; last.Type != "status" || last.status() != "cancelled" || !containsMessage(evs, "cancellation requested") {
		t.Fatalf("running job's last events: %+v", evs[max(0, len(evs)-3):])
	}
	for _, id := range []string{running.ID, queued.ID} {
		wantAPIError(t, js.do("POST", "/v1/fine_tuning/jobs/"+id+"/cancel", "", nil), http.StatusConflict, "already cancelled")
	}

	// The worker is free again: a new job runs to the end.
	done := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","negatives":"none","hyperparameters":{"epochs":1}}`, ds.ID))
	if j := js.waitFinished(done.ID); j.Status != "succeeded" {
		t.Fatalf("job after cancellations: %+v", j)
	}
	// Nothing unfinished uses the dataset any more.
	mustJSON[map[string]any](t, js.do("DELETE", "/v1/datasets/"+ds.ID, "", nil), http.StatusOK)

	// A finished job is deleted with its events and checkpoints; the head
	// it trained stays.
	finished := js.job(done.ID)
	if finished.Head == nil {
		t.Fatalf("finished job has no head: %+v", finished)
	}
	del := mustJSON[map[string]any](t, js.do("DELETE", "/v1/fine_tuning/jobs/"+done.ID, "", nil), http.StatusOK)
	if del["id"] != done.ID || del["object"] != "fine_tuning.job" || del["deleted"] != true {
		t.Fatalf("delete answer: %v", del)
	}
	for _, path := range []string{"", "/events", "/checkpoints"} {
		wantAPIError(t, js.do("GET", "/v1/fine_tuning/jobs/"+done.ID+path, "", nil), http.StatusNotFound, "not found")
	}
	wantAPIError(t, js.do("DELETE", "/v1/fine_tuning/jobs/"+done.ID, "", nil), http.StatusNotFound, "not found")
	mustJSON[map[string]any](t, js.do("GET", "/v1/heads/"+*finished.Head, "", nil), http.StatusOK)
}

// TestJobDefaultsMatchSpec: a job created with no settings gets the
// defaults openapi.yaml documents, which are the CLI's.
func TestJobDefaultsMatchSpec(t *testing.T) {
	doc, _ := spec(t)
	js := startJobsServer(t, jobsConfig(t), false) // no workers: the job stays queued
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	job := js.createJob(fmt.Sprintf(`{"dataset":%q,"model":"glove-100d"}`, ds.ID))

	props := doc.Components.Schemas["Hyperparameters"].Value.Properties
	if len(job.Hyperparameters) != len(props) {
		t.Fatalf("job has %d hyperparameters, the spec %d", len(job.Hyperparameters), len(props))
	}
	for name, p := range props {
		want := p.Value.Default
		if n, ok := want.(int); ok {
			want = float64(n) // JSON numbers decode as float64
		}
		if got := job.Hyperparameters[name]; got != want {
			t.Errorf("%s: job default %v, spec default %v", name, got, want)
		}
	}
	req := doc.Components.Schemas["CreateFineTuningJobRequest"].Value.Properties
	if r := js.job(job.ID); req["negatives"].Value.Default != "mined" || r.Status != "queued" {
		t.Fatalf("negatives default %v, status %s", req["negatives"].Value.Default, r.Status)
	}
	got := mustJSON[struct {
		Negatives string  `json:"negatives"`
		Generator *string `json:"generator"`
	}](t, js.do("GET", "/v1/fine_tuning/jobs/"+job.ID, "", nil), http.StatusOK)
	if got.Negatives != "mined" || got.Generator != nil {
		t.Fatalf("negatives %q generator %v", got.Negatives, got.Generator)
	}
}
