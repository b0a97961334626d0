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
