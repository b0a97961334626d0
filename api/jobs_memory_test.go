package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"retune/api"
)

// A job that could never fit in the server's memory is refused when it is
// submitted; one that does not fit in what is left now fails when it
// starts, before embedding anything; --skip-memory-check runs both.
func TestJobMemoryChecks(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), true)
	ds := mustJSON[datasetJSON](t, js.upload(newBEIRFixture().parts("")...), http.StatusCreated)
	body := fmt.Sprintf(`{"dataset":%q,"model":"glove-100d","hyperparameters":{"epochs":1}}`, ds.ID)

	api.SetMemory(js.srv, 1<<20, 1<<20)
	wantParamError(t, js.json("POST", "/v1/fine_tuning/jobs", body), http.StatusBadRequest, "dataset", "the server may use 1.0 MiB in all")

	api.SetMemory(js.srv, 1<<40, 1<<20)
	job := js.waitFinished(js.createJob(body).ID)
	if job.Status != "failed" || job.Error == nil || !strings.Contains(job.Error.Message, "about 1.0 MiB is free") {
		t.Fatalf("job in 1 MiB: %s %+v", job.Status, job.Error)
	}
	for _, e := range js.events(job.ID) {
		if stage, _ := e.stage(); stage != "" {
			t.Fatalf("a job refused for memory started stage %q", stage)
		}
	}

	cfg := js.cfg
	cfg.SkipMemoryCheck = true
	js.stop()
	js.cfg = cfg
	js.open(true)
	api.SetMemory(js.srv, 1<<20, 1<<20)
	if job := js.waitFinished(js.createJob(body).ID); job.Status != "succeeded" {
		t.Fatalf("with the check skipped: %s %+v", job.Status, job.Error)
	}
}
