package testenv

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

// ZipEntry is one member of an archive read by ReadZip.
type ZipEntry struct {
	Name   string
	Method uint16 // zip.Store or zip.Deflate
	Data   []byte
}

// ReadZip decodes a whole zip archive, members in archive order.
func ReadZip(tb testing.TB, body []byte) []ZipEntry {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]ZipEntry, 0, len(zr.File))
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("read %s: %v", f.Name, err)
		}
		out = append(out, ZipEntry{Name: f.Name, Method: f.Method, Data: data})
	}
	return out
}
