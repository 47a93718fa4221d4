package platformtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// LogSink collects what a logger writes, safe for concurrent use: the
// one place tests read JSON log lines from.
type LogSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *LogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Lines decodes every line written so far and returns those whose msg is
// msg ("" for all); a line that is not one JSON object fails the test.
func (s *LogSink) Lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(s.String(), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if msg == "" || m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
