// Package fakeapi is a fake Anthropic Messages API on loopback, good enough to
// run the real claude CLI offline in tests.
//
// It speaks the streaming (SSE) format claude 2.1.328 expects, answers the
// side requests claude makes besides conversation turns, records every
// request, and lets a test script the replies of the coming turns. Without a
// script it echoes, so a plain run needs no setup: "ECHO[n]: <last user text>"
// where n is the number of messages in the request, or "TOOL_RESULT: <content>"
// when the last user message carries a tool_result.
//
// A request is a conversation turn, and only then consumes a scripted reply,
// when it is a POST to /v1/messages with "stream": true and "max_tokens"
// above 1, and it offers tools or enables thinking. That is what claude
// 2.1.328 sends for every turn of its main loop, even with --tools "" (which
// still enables thinking). Its side requests differ: the probes (quota check,
// model check, resume cache warming) ask for max_tokens 1, and the one-shot
// helpers (session titles, tool-use summaries) go through a path that sends no
// tools and disables thinking. When claude labels a request with the
// x-claude-code-request-class header or the claude-code-side-query beta, that
// label decides instead. Side requests get the echo and are recorded with
// Turn false. With the offline environment of claudebin.Env, -p runs,
// --resume and --input-format stream-json were seen to send turns only (and a
// HEAD /api/hello connectivity check without
// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).
//
// This package is test support inside ce; other programs should not rely on
// it.
package fakeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Reply scripts the answer to one conversation turn.
//
// A Reply with neither Text nor ToolUse answers with the default echo, so
// Reply{Delay: time.Second} is a slow echo. A non-zero Status other than 200
// answers with an HTTP error instead of a message.
//
// claude retries failed requests, and each retry is a turn of its own: a 400
// is sent six times (dropping betas and deferred tools between attempts),
// 429 and 5xx are retried with backoff. A Sticky reply answers those retries
// too, so an error reaches claude's user; Error builds one.
type Reply struct {
	Text    string   // assistant text
	ToolUse *ToolUse // a tool_use block after the text; the turn stops with "tool_use"

	Chunks     int           // split Text into this many text_delta events (at least 1)
	Delay      time.Duration // wait before answering
	ChunkDelay time.Duration // wait between stream events, to stream slowly

	Status       int    // HTTP status of an error answer
	ErrorType    string // error.type of an error answer; "api_error" if empty
	ErrorMessage string // error.message of an error answer

	InputTokens  int // usage reported; estimated from the request if 0
	OutputTokens int // usage reported; estimated from the reply if 0

	// Sticky also answers every later turn whose user and assistant
	// messages equal this turn's, which is what a retry sends, without
	// taking another reply. Another claude on the same Server that sends
	// the same history gets it too.
	Sticky bool
}

// Error is a sticky HTTP error reply in the API's error shape; with status
// 400 it makes claude end the turn with an "API Error: 400 <message>" result
// and is_error true.
func Error(status int, message string) Reply {
	return Reply{Status: status, ErrorMessage: message, Sticky: true}
}

// ToolUse is a tool_use block, for example Name "mcp__server__tool".
type ToolUse struct {
	ID    string // "toolu_..." generated if empty
	Name  string
	Input any // marshalled to JSON; nil means {}
}

// Server is a running fake API. Its methods are safe for concurrent use, so
// several claude processes may share one; they then share one script queue.
type Server struct {
	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	served chan struct{}

	mu     sync.Mutex
	queue  []Reply
	all    []Request
	sticky map[string]Reply // by the messages of the turn that took the reply
}

// Start serves a fake API on a free loopback port.
func Start() (*Server, error) {
	return Listen("127.0.0.1:0")
}

// Listen serves a fake API on addr, a host:port for net.Listen.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakeapi: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, cancel: cancel, served: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns ErrServerClosed on Close; nothing to report
	}()
	return s, nil
}

// URL is the base URL to put in ANTHROPIC_BASE_URL.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops the server at once, cutting off replies still in progress.
func (s *Server) Close() {
	s.cancel()
	_ = s.srv.Close()
	<-s.served
}

// Push queues replies for the next conversation turns, first in first out.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Pending is the number of scripted replies not yet consumed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Requests returns the conversation turns received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var turns []Request
	for _, r := range s.all {
		if r.Turn {
			turns = append(turns, r)
		}
	}
	return turns
}

// AllRequests returns every request received so far, side requests
// included, in order.
func (s *Server) AllRequests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.all...)
}

func (s *Server) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(io.LimitReader(hr.Body, 256<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{
		Method: hr.Method,
		Path:   hr.URL.Path,
		Query:  hr.URL.RawQuery,
		Header: hr.Header.Clone(),
		Body:   body,
	}
	req.decodeBody()

	isMessages := hr.Method == http.MethodPost && strings.TrimSuffix(req.Path, "/") == "/v1/messages"
	var reply *Reply
	s.mu.Lock()
	if isMessages && conversationTurn(&req) {
		req.Turn = true
		key := turnKey(&req)
		if rp, ok := s.sticky[key]; ok {
			reply = &rp
		} else if len(s.queue) > 0 {
			rp := s.queue[0]
			reply = &rp
			s.queue = s.queue[1:]
			if reply.Sticky {
				if s.sticky == nil {
					s.sticky = make(map[string]Reply)
				}
				s.sticky[key] = *reply
			}
		}
	}
	s.all = append(s.all, req)
	s.mu.Unlock()

	w.Header().Set("request-id", newID("req_"))
	switch {
	case isMessages:
		s.answerMessages(w, hr.Context(), &req, reply)
	case hr.Method == http.MethodPost && strings.HasSuffix(req.Path, "/count_tokens"):
		writeJSON(w, http.StatusOK, map[string]any{"input_tokens": 10})
	case hr.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	default:
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// turnKey identifies the turn a request answers, so a sticky reply also
// answers claude's retries of it. The retries change the history sent (claude
// drops betas and ToolSearch, adds reminders), so the key is the last user
// text, which stays the same.
func turnKey(r *Request) string {
	return r.LastUserText()
}

// conversationTurn tells a main-loop turn from claude's side requests; the
// package comment says why these fields.
func conversationTurn(r *Request) bool {
	if !r.Stream || r.MaxTokens <= 1 {
		return false
	}
	switch r.Header.Get("x-claude-code-request-class") {
	case "main", "subagent", "workflow":
		return true
	case "":
	default:
		return false
	}
	for _, beta := range r.Header.Values("anthropic-beta") {
		if strings.Contains(beta, "claude-code-side-query") {
			return false
		}
	}
	return len(r.Tools) > 0 || (r.Thinking != "" && r.Thinking != "disabled")
}

func (s *Server) answerMessages(w http.ResponseWriter, ctx context.Context, req *Request, reply *Reply) {
	var rp Reply
	if reply != nil {
		rp = *reply
	}
	if rp.Text == "" && rp.ToolUse == nil {
		rp.Text = defaultText(req)
	}
	if !sleep(ctx, rp.Delay) {
		return
	}
	if rp.Status != 0 && rp.Status != http.StatusOK {
		typ := rp.ErrorType
		if typ == "" {
			typ = "api_error"
		}
		writeJSON(w, rp.Status, map[string]any{
			"type":  "error",
			"error": map[string]any{"type": typ, "message": rp.ErrorMessage},
		})
		return
	}
	m, err := newMessage(req, rp)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"type":  "error",
			"error": map[string]any{"type": "invalid_request_error", "message": err.Error()},
		})
		return
	}
	if !req.Stream {
		writeJSON(w, http.StatusOK, m.final())
		return
	}
	m.stream(ctx, w, rp)
}

// defaultText is the echo answer; the message count lets a test see that a
// resumed turn carried its history.
func defaultText(req *Request) string {
	if b, ok := req.ToolResult(); ok {
		return "TOOL_RESULT: " + b.ResultText()
	}
	return fmt.Sprintf("ECHO[%d]: %s", len(req.Messages), req.LastUserText())
}

// sleep waits d or until ctx ends, reporting whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newID makes an id in the API's style: a type prefix and random characters.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return prefix + "01" + hex.EncodeToString(b[:])
}
