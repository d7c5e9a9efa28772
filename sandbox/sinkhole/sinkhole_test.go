package sinkhole

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/rollgate/rollgate/inventory"
)

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestRecorder(t *testing.T) {
	var out, log bytes.Buffer
	r := newRecorder(&out, 2, slog.New(slog.NewTextHandler(&log, nil)))
	hostile := inventory.NetEvent{Proto: ProtoTCP, Addr: "198.51.100.1", Port: 80, HTTP: "GET /\u2028<x> HTTP/1.1", Name: "a\\000b"}
	r.emit(hostile)
	r.emit(inventory.NetEvent{Proto: ProtoUDP, Addr: "203.0.113.5", Port: 9})
	r.emit(inventory.NetEvent{Proto: ProtoUDP, Addr: "203.0.113.5", Port: 10}) // over MaxEvents
	if err := r.close(); err != nil {
		t.Fatalf("close() = %v", err)
	}
	r.emit(inventory.NetEvent{Proto: ProtoUDP}) // after close: dropped
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("wrote %d lines, want 2:\n%s", len(lines), out.String())
	}
	var got inventory.NetEvent
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || got.HTTP != hostile.HTTP || got.Name != hostile.Name {
		t.Errorf("line %q decodes to %+v, %v, want %+v", lines[0], got, err, hostile)
	}
	if !strings.Contains(log.String(), "dropped=1") {
		t.Errorf("log %q does not count the dropped event", log.String())
	}

	r = newRecorder(failWriter{}, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.emit(inventory.NetEvent{Proto: ProtoUDP})
	if err := r.close(); err == nil {
		t.Errorf("close() after a failed write = nil, want the error")
	}
}
