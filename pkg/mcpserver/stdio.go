package mcpserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
)

// methodDiscover is the probe of the stateless protocol (2026-07-28) that
// claude sends before initialize.
const methodDiscover = "server/discover"

// lockedWriter serialises writes to the MCP channel: mcp-go writes each
// message with one Write, and so does discoverFilter, so no two messages
// interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// discoverFilter passes the client's messages through, one line at a
// time, except server/discover requests, which it answers itself with
// "method not found". mcp-go v1.2.1 would answer them with its supported
// versions, steering claude onto the stateless protocol; the
// initialize handshake of 2025-11-25 is what claude and ce are tested with.
type discoverFilter struct {
	r   *bufio.Reader
	out io.Writer
	log zerolog.Logger
	buf []byte
}

func newDiscoverFilter(in io.Reader, out io.Writer, log zerolog.Logger) *discoverFilter {
	return &discoverFilter{r: bufio.NewReaderSize(in, 64<<10), out: out, log: log}
}

func (f *discoverFilter) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		line, err := f.r.ReadBytes('\n')
		if len(line) > 0 && !f.answered(line) {
			f.buf = line
		}
		if err != nil && len(f.buf) == 0 {
			return 0, err
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// answered answers line itself if it is a server/discover request.
func (f *discoverFilter) answered(line []byte) bool {
	if !bytes.Contains(line, []byte(methodDiscover)) {
		return false
	}
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(line, &msg) != nil || msg.Method != methodDiscover || len(msg.ID) == 0 || string(msg.ID) == "null" {
		return false
	}
	resp, err := json.Marshal(map[string]any{
		"jsonrpc": mcp.JSONRPC_VERSION,
		"id":      msg.ID,
		"error":   map[string]any{"code": mcp.METHOD_NOT_FOUND, "message": "Method not found: " + methodDiscover},
	})
	if err != nil {
		return false
	}
	f.log.Debug().RawJSON("id", msg.ID).Msg("answered server/discover with method not found")
	if _, err := f.out.Write(append(resp, '\n')); err != nil {
		f.log.Warn().Err(err).Msg("cannot answer server/discover")
	}
	return true
}

// logWriter carries mcp-go's error log lines into the logger.
type logWriter struct{ log zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str("from", "mcp-go").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
