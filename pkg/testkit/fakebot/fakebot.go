// Package fakebot is a fake Telegram Bot API server on loopback that speaks
// the real wire format, for tests of ce-telegram with the real
// github.com/go-telegram/bot library (bot.WithServerURL(s.URL)) or with a
// hand-written client.
//
// It serves /bot<token>/<method> and /file/bot<token>/<path>, reads
// multipart, url-encoded, JSON and query parameters, and answers like
// Telegram: {"ok":true,"result":...} or {"ok":false,"error_code":N,
// "description":"...","parameters":{...}} with N as the HTTP status. It
// keeps the state a bot can observe: an update queue served by long-polling
// getUpdates (offsets confirm, offset -1 keeps only the last update, a newer
// getUpdates ends an older one with 409), one message store per chat with
// edit history and inline keyboards, drafts, files, bot commands and
// callback query answers. Text is checked as Telegram checks it: HTML parse
// mode is parsed like the Bot API server parses it (see ParseHTML), lengths
// count UTF-16 code units after parsing and trimming, and the error
// descriptions are Telegram's.
//
// Tests drive the user's side with the Inject and Press methods, read what
// the bot did with Messages, Draft and Calls, wait for it with WaitFor
// (woken by every change, never by polling), and make the server misbehave
// with AddFault (429, 400, 403, 409, 5xx, slow answers, dropped
// connections, once or N times, per method and chat). MaxInWindow checks
// that calls kept to a rate budget.
//
// Where Telegram's exact wording is not known the fake uses its own, noted
// on the method; unknown methods are recorded and answered ok:true,
// result:true. This package is test support inside ce; other programs
// should not rely on it.
package fakebot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the token a Server accepts unless WithToken says otherwise.
const DefaultToken = "123456:FAKE-token-for-tests"

// Server is a running fake Bot API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:<port>, to pass to
	// bot.WithServerURL.
	URL string
	// Token is the only bot token the server accepts.
	Token string

	srv         *httptest.Server
	now         func() time.Time
	bot         User
	rejectNewer bool
	closed      chan struct{}
	closeOnce   sync.Once
	handlers    map[string]handler
	maxDownload int64

	mu         sync.Mutex
	changed    chan struct{}
	nextUpdate int64
	queue      []queued
	allowed    map[string]bool
	poll       *poll
	polling    int
	chats      map[int64]*chat
	users      map[int64]User
	files      map[string]*file
	nextFile   int
	calls      []Call
	faults     []*Fault
	callbacks  map[string]*callback
	nextQuery  int
	commands   map[string][]BotCommand
}

// Option configures a Server.
type Option func(*Server)

// WithToken makes the server accept token instead of DefaultToken. The bot's
// user id is the token's numeric prefix.
func WithToken(token string) Option { return func(s *Server) { s.Token = token } }

// WithClock makes the server read the time from now: message dates and the
// times of recorded calls. Tests that run their code on a fake clock pass
// it here so MaxInWindow measures in that clock.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithBot sets the bot user getMe returns; its ID is replaced by the
// token's numeric prefix.
func WithBot(u User) Option { return func(s *Server) { s.bot = u } }

// WithConflictRejectsNewer makes a getUpdates that arrives while another is
// open fail with 409 itself. By default the server does what Telegram does:
// the older request is ended with 409 and the newer one goes on.
func WithConflictRejectsNewer() Option { return func(s *Server) { s.rejectNewer = true } }

// New starts a server on a free loopback port and closes it when the test
// ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := Start(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server on a free loopback port; Close stops it.
func Start(opts ...Option) *Server {
	s := &Server{
		Token:       DefaultToken,
		now:         time.Now,
		bot:         User{FirstName: "Fake Bot", Username: "fake_bot"},
		closed:      make(chan struct{}),
		maxDownload: 20 << 20,
		changed:     make(chan struct{}),
		nextUpdate:  100000,
		chats:       map[int64]*chat{},
		users:       map[int64]User{},
		files:       map[string]*file{},
		callbacks:   map[string]*callback{},
		commands:    map[string][]BotCommand{},
	}
	for _, o := range opts {
		o(s)
	}
	id, _ := strconv.ParseInt(strings.SplitN(s.Token, ":", 2)[0], 10, 64)
	s.bot.ID = id
	s.bot.IsBot = true
	s.handlers = s.methods()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close ends open long polls and slow answers, then stops the server. It
// may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// BotUser is the bot's own user, as getMe returns it.
func (s *Server) BotUser() User { return s.bot }

// notify wakes every waiter: WaitFor, long polls. Call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor returns when cond reports true, evaluating it now and again after
// every change of the server's state (a call answered, an update injected
// or confirmed, a long poll started), or returns ctx's error. cond may call
// the server's methods; it runs without the server's lock held.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakebot: condition not met: %w", ctx.Err())
		}
	}
}

// apiError is an error answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
	migrateTo  int64
}

func (e *apiError) Error() string { return e.desc }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error: fakebot cannot encode its answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	r := response{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 || e.migrateTo != 0 {
		r.Parameters = &responseParams{RetryAfter: e.retryAfter, MigrateToChatID: e.migrateTo}
	}
	writeJSON(w, e.code, r)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok || method == "" || strings.Contains(method, "/") {
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	if token != s.Token {
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	s.serveMethod(w, r, method)
}

func (s *Server) serveMethod(w http.ResponseWriter, r *http.Request, method string) {
	call := Call{Method: method, Time: s.now()}
	req, perr := parseRequest(r)
	if perr != nil {
		s.fail(w, call, perr)
		return
	}
	call.Params, call.Files = req.params, req.uploads()
	call.ChatID, _ = strconv.ParseInt(req.params["chat_id"], 10, 64)
	req.method, req.time, req.ctx = method, call.Time, r.Context()

	if f := s.takeFault(method, call.ChatID); f != nil {
		if f.Delay > 0 && !s.pause(r.Context(), f.Delay) {
			call.Error = "request abandoned"
			s.record(call)
			return
		}
		switch {
		case f.Drop:
			call.Error = "connection dropped"
			s.record(call)
			dropConnection(w)
			return
		case f.Status != 0:
			e := f.apiError()
			call.Status, call.Error = e.code, e.desc
			s.record(call)
			if f.Body != "" {
				w.WriteHeader(f.Status)
				_, _ = w.Write([]byte(f.Body))
				return
			}
			writeError(w, e)
			return
		}
	}

	h, ok := s.handlers[strings.ToLower(method)]
	if !ok {
		h = func(*request) (any, *apiError) { return true, nil }
	}
	result, e := h(req)
	if e != nil {
		s.fail(w, call, e)
		return
	}
	call.Status = http.StatusOK
	s.record(call)
	writeJSON(w, http.StatusOK, response{OK: true, Result: result})
}

// fail records call as failed with e and answers e.
func (s *Server) fail(w http.ResponseWriter, call Call, e *apiError) {
	call.Status, call.Error = e.code, e.desc
	s.record(call)
	writeError(w, e)
}

// pause waits d, or less when the client goes away or the server closes;
// it reports whether the full time passed.
func (s *Server) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closed:
	}
	return false
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakebot: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}
