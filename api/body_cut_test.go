package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A body cut short (the client closed its side before sending it all) is
// answered, logged and counted as 499, not as a 400 the client caused.
func TestBodyCutShortIs499(t *testing.T) {
	js := startJobsServer(t, jobsConfig(t), false)
	addr := strings.TrimPrefix(js.ts.URL, "http://")
	send := func(path, contentType, body string, declared int) int {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", path, contentType, declared, body)
		conn.(*net.TCPConn).CloseWrite()
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := send("/v1/embeddings", "application/json", `{"model":"glove-100d","input":["a`, 1000); got != 499 {
		t.Errorf("embeddings body cut short: %d, want 499", got)
	}
	part := "--b\r\nContent-Disposition: form-data; name=\"corpus\"; filename=\"corpus.jsonl\"\r\n\r\n{\"_id\":\"1\",\"text\":\"a\"}\n"
	if got := send("/v1/datasets", "multipart/form-data; boundary=b", part, 100000); got != 499 {
		t.Errorf("upload cut short: %d, want 499", got)
	}
	metrics := string(js.do("GET", "/metrics", "", nil).Body)
	for _, route := range []string{"/v1/embeddings", "/v1/datasets"} {
		if want := fmt.Sprintf(`retune_http_requests_total{method="POST",route=%q,status="499"} 1`, route); !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
