package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	// A client that resets the connection (SO_LINGER 0) gets no answer;
	// the server must still count the request as the client's leaving.
	reset := func(path, contentType, body string, declared int) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", path, contentType, declared, body)
		time.Sleep(50 * time.Millisecond) // the server is reading the body
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
	reset("/v1/embeddings", "application/json", `{"model":"glove-100d","input":["a`, 1000)
	reset("/v1/datasets", "multipart/form-data; boundary=b", part, 100000)
	counted := func(metrics, route, status string, n int) bool {
		return strings.Contains(metrics, fmt.Sprintf(`retune_http_requests_total{method="POST",route=%q,status=%q} %d`+"\n", route, status, n))
	}
	routes := []string{"/v1/embeddings", "/v1/datasets"}
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		metrics = string(js.do("GET", "/metrics", "", nil).Body)
		settled := true
		for _, route := range routes {
			settled = settled && (counted(metrics, route, "499", 2) || counted(metrics, route, "400", 1))
		}
		if settled {
			break
		}
	}
	for _, route := range routes {
		if !counted(metrics, route, "499", 2) {
			t.Errorf("%s: want 2 requests counted as 499 (the FIN and the RST cut):\n%s", route, grepLines(metrics, "requests_total"))
		}
	}
}
