package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

var alice = fakebot.User{ID: 1001, FirstName: "Alice"}

// recorder is a handler that remembers what it was handed.
type recorder struct {
	mu      sync.Mutex
	ids     []int64
	changed chan struct{}
	fail    map[int64]bool
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}), fail: map[int64]bool{}} }

func (r *recorder) handle(_ context.Context, u Update) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, u.ID)
	close(r.changed)
	r.changed = make(chan struct{})
	if r.fail[u.ID] {
		return errors.New("handler failed")
	}
	return nil
}

func (r *recorder) handled() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func (r *recorder) waitFor(t *testing.T, n int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		r.mu.Lock()
		ids, ch := slices.Clone(r.ids), r.changed
		r.mu.Unlock()
		if len(ids) >= n {
			return ids
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("handled %v, waiting for %d updates", ids, n)
		}
	}
}

// sleeper records the waits the poller asks for and returns at once.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

type env struct {
	t      *testing.T
	s      *fakebot.Server
	client *botapi.Client
	dir    string
	rec    *recorder
	sl     *sleeper
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := fakebot.New(t)
	c, err := botapi.New(botapi.Config{APIURL: s.URL, Token: s.Token, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, client: c, dir: t.TempDir(), rec: newRecorder(), sl: &sleeper{}}
}

func (e *env) config() Config {
	return Config{Dir: e.dir, Fetcher: e.client, Handler: e.rec.handle, Timeout: 30 * time.Second,
		Sleep: e.sl.sleep, Logger: zerolog.New(zerolog.NewTestWriter(e.t))}
}

func (e *env) open(cfg Config) *Poller {
	e.t.Helper()
	p, err := Open(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start runs p until the returned stop is called (or the test ends); stop
// returns Run's error and closes p.
func (e *env) start(p *Poller) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
			p.Close()
		})
		return err
	}
	e.t.Cleanup(func() { stop() })
	return stop
}

func (e *env) waitConfirmed() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.s.WaitFor(ctx, func() bool { return len(e.s.PendingUpdates()) == 0 }); err != nil {
		e.t.Fatalf("updates never confirmed: %v", e.s.PendingUpdates())
	}
}

func inject(s *fakebot.Server, n int) []int64 {
	var ids []int64
	for i := range n {
		ids = append(ids, s.InjectText(alice, fmt.Sprint("message ", i)).UpdateID)
	}
	return ids
}

func TestHandsEachUpdateOnceInOrder(t *testing.T) {
	e := newEnv(t)
	ids := inject(e.s, 5)
	stop := e.start(e.open(e.config()))
	got := e.rec.waitFor(t, 5)
	if !slices.Equal(got, ids) {
		t.Fatalf("handled %v, want %v", got, ids)
	}
	e.waitConfirmed()
	more := inject(e.s, 2)
	e.rec.waitFor(t, 7)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}

	p := e.open(e.config())
	if len(p.Pending()) != 0 || p.Offset() != more[1]+1 {
		t.Fatalf("after restart: pending %v, offset %d", p.Pending(), p.Offset())
	}
	e.start(p)
	last := inject(e.s, 1)
	got = e.rec.waitFor(t, 8)
	if !slices.Equal(got[5:], append(more, last...)) {
		t.Fatalf("handled %v", got)
	}
	for _, c := range e.s.CallsTo("getUpdates") {
		if o := c.Params["offset"]; strings.HasPrefix(o, "-") {
			t.Fatalf("asked for offset %s", o)
		}
	}
	if first := e.s.CallsTo("getUpdates")[0]; first.Params["offset"] != "" {
		t.Fatalf("first getUpdates had offset %q", first.Params["offset"])
	}
}

// TestCrashBeforeHandling stops the poller right after it journaled a
// batch: nothing is handled, and after a restart everything is, once.
func TestCrashBeforeHandling(t *testing.T) {
	e := newEnv(t)
	ids := inject(e.s, 3)
	p := e.open(e.config())
	ctx, cancel := context.WithCancel(context.Background())
	p.afterJournal = cancel
	if err := p.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	p.Close()
	if h := e.rec.handled(); len(h) != 0 {
		t.Fatalf("handled %v before the crash", h)
	}
	if n := len(e.s.PendingUpdates()); n != 3 {
		t.Fatalf("telegram still holds %d updates, want 3 (never confirmed)", n)
	}

	down := inject(e.s, 1)
	p = e.open(e.config())
	if pend := p.Pending(); len(pend) != 3 || pend[0].ID != ids[0] {
		t.Fatalf("journaled %v", pend)
	}
	e.start(p)
	got := e.rec.waitFor(t, 4)
	if !slices.Equal(got, append(ids, down...)) {
		t.Fatalf("handled %v", got)
	}
	e.waitConfirmed()
}

// TestCrashBeforeMark stops the poller after a handler returned but before
// its mark was written: the update is handed over again after the restart,
// with the same update_id, and no other update is.
func TestCrashBeforeMark(t *testing.T) {
	e := newEnv(t)
	ids := inject(e.s, 3)
	p := e.open(e.config())
	ctx, cancel := context.WithCancel(context.Background())
	p.beforeMark = func(id int64) {
		if id == ids[1] {
			cancel()
		}
	}
	if err := p.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	p.Close()
	e.start(e.open(e.config()))
	got := e.rec.waitFor(t, 4)
	want := []int64{ids[0], ids[1], ids[1], ids[2]}
	if !slices.Equal(got, want) {
		t.Fatalf("handled %v, want %v (the unmarked update twice)", got, want)
	}
	e.waitConfirmed()
}

func TestConflictBacksOffAndRecovers(t *testing.T) {
	e := newEnv(t)
	e.s.AddFault(fakebot.Conflict(6))
	ids := inject(e.s, 1)
	e.start(e.open(e.config()))
	if got := e.rec.waitFor(t, 1); got[0] != ids[0] {
		t.Fatalf("handled %v", got)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if got := e.sl.recorded(); !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}

func TestServerErrorsDropsAndFloodLimit(t *testing.T) {
	e := newEnv(t)
	e.s.AddFault(fakebot.ServerError("getUpdates", 502, 1))
	e.s.AddFault(fakebot.Fault{Method: "getUpdates", Status: 502, Body: "<html>bad gateway</html>"})
	e.s.AddFault(fakebot.Drop("getUpdates", 1))
	e.s.AddFault(fakebot.TooManyRequests("getUpdates", 0, 7))
	e.s.AddFault(fakebot.ServerError("getUpdates", 500, 1))
	inject(e.s, 2)
	e.start(e.open(e.config()))
	e.rec.waitFor(t, 2)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 7 * time.Second, 8 * time.Second}
	if got := e.sl.recorded(); !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}

func TestRefusedTokenEndsRun(t *testing.T) {
	e := newEnv(t)
	bad, err := botapi.New(botapi.Config{APIURL: e.s.URL, Token: "1:wrong-token-xxxxxxxxxxxxxxxx"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Fetcher = bad
	p := e.open(cfg)
	defer p.Close()
	err = p.Run(context.Background())
	if err == nil || !botapi.Is(err, botapi.Unauthorized) || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("Run = %v", err)
	}
}

func TestHandlerErrorStillMarks(t *testing.T) {
	e := newEnv(t)
	ids := inject(e.s, 2)
	e.rec.fail[ids[0]] = true
	stop := e.start(e.open(e.config()))
	e.rec.waitFor(t, 2)
	e.waitConfirmed()
	stop()
	p := e.open(e.config())
	defer p.Close()
	if len(p.Pending()) != 0 {
		t.Fatalf("failed update left pending: %v", p.Pending())
	}
}

func TestCompaction(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.CompactAfter = 10
	cfg.Limit = 3
	stop := e.start(e.open(cfg))
	var ids []int64
	for range 8 {
		ids = append(ids, inject(e.s, 5)...)
		e.rec.waitFor(t, len(ids))
	}
	e.waitConfirmed()
	stop()
	data, err := os.ReadFile(filepath.Join(e.dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines > 2 {
		t.Fatalf("journal has %d lines after compaction on open:\n%s", lines, data)
	}
	p := e.open(cfg)
	if p.Offset() != ids[len(ids)-1]+1 || len(p.Pending()) != 0 {
		t.Fatalf("offset %d, pending %v", p.Offset(), p.Pending())
	}
	p.Close()
	if got := e.rec.handled(); !slices.Equal(got, ids) {
		t.Fatalf("handled %v, want %v", got, ids)
	}
}

func TestCompactionDuringRun(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.CompactAfter = 6
	stop := e.start(e.open(cfg))
	maxLines := 0
	for i := range 10 {
		inject(e.s, 2)
		e.rec.waitFor(t, 2*(i+1))
		data, _ := os.ReadFile(filepath.Join(e.dir, journalName))
		maxLines = max(maxLines, bytes.Count(data, []byte("\n")))
	}
	stop()
	if maxLines > 6+4 {
		t.Fatalf("journal grew to %d lines with CompactAfter 6", maxLines)
	}
}

func TestTornJournal(t *testing.T) {
	e := newEnv(t)
	good := `{"id":7,"update":{"update_id":7,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"saved"}}}` + "\n"
	torn := `{"id":8,"update":{"update_id":8,"mess`
	if err := os.WriteFile(filepath.Join(e.dir, journalName), []byte(good+torn), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.open(e.config())
	if pend := p.Pending(); len(pend) != 1 || pend[0].ID != 7 || p.Offset() != 8 {
		t.Fatalf("pending %v, offset %d", pend, p.Offset())
	}
	e.start(p)
	if got := e.rec.waitFor(t, 1); got[0] != 7 {
		t.Fatalf("handled %v", got)
	}
}

func TestOneProcessPerJournal(t *testing.T) {
	e := newEnv(t)
	p := e.open(e.config())
	defer p.Close()
	_, err := Open(e.config())
	if err == nil || !strings.Contains(err.Error(), "in use by another poller") {
		t.Fatalf("second Open = %v", err)
	}
}

// fetcherFunc is a scripted getUpdates.
type fetcherFunc func(ctx context.Context, r botapi.UpdatesRequest) ([]json.RawMessage, error)

func (f fetcherFunc) GetUpdates(ctx context.Context, r botapi.UpdatesRequest) ([]json.RawMessage, error) {
	return f(ctx, r)
}

func TestDuplicateAndBadUpdatesSkipped(t *testing.T) {
	e := newEnv(t)
	batches := [][]string{
		{`{"update_id":10,"message":{}}`, `{"update_id":11,"message":{}}`},
		{`{"update_id":11,"message":{}}`, `{"broken":true}`, `not json`, `{"update_id":12,"message":{}}`},
	}
	var mu sync.Mutex
	var offsets []int64
	drained := make(chan struct{})
	cfg := e.config()
	cfg.Fetcher = fetcherFunc(func(ctx context.Context, r botapi.UpdatesRequest) ([]json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		offsets = append(offsets, r.Offset)
		if len(batches) == 0 {
			mu.Unlock()
			close(drained)
			<-ctx.Done()
			mu.Lock()
			return nil, ctx.Err()
		}
		var out []json.RawMessage
		for _, s := range batches[0] {
			out = append(out, json.RawMessage(s))
		}
		batches = batches[1:]
		return out, nil
	})
	e.start(e.open(cfg))
	got := e.rec.waitFor(t, 3)
	if !slices.Equal(got, []int64{10, 11, 12}) {
		t.Fatalf("handled %v", got)
	}
	<-drained
	mu.Lock()
	defer mu.Unlock()
	if len(offsets) < 3 || offsets[0] != 0 || offsets[1] != 12 || offsets[2] != 13 {
		t.Fatalf("offsets %v", offsets)
	}
}
