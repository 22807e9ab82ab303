package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

// fakeClock only moves when Advance is called.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk *fakeClock
	at  time.Time
	c   chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clk: c, at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clk
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock to the earliest timer and fires every timer due;
// it reports false when there is none.
func (c *fakeClock) Advance() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return false
	}
	sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	c.now = c.timers[0].at
	for len(c.timers) > 0 && !c.timers[0].at.After(c.now) {
		c.timers[0].c <- c.now
		c.timers = c.timers[1:]
	}
	return true
}

// Add moves the clock by d, firing the timers due.
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
}

type sent struct {
	job Job
	at  time.Time
}

// harness runs an Outbox on a fake clock. The loop reports, through its
// idle hook, each time nothing is in flight and it is about to wait; while
// a test holds it there the clock can be moved without racing a send.
type harness struct {
	t       *testing.T
	clk     *fakeClock
	o       *Outbox
	wantIdl atomic.Bool
	idle    chan chan struct{}

	mu     sync.Mutex
	sent   []sent
	nextID int
	fail   func(Job) error // an error for a job, or nil to succeed
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	clk, ok := cfg.Clock.(*fakeClock)
	if !ok {
		clk = newFakeClock()
	}
	h := &harness{t: t, clk: clk, idle: make(chan chan struct{}), nextID: 100}
	cfg.Clock = clk
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t))
	if cfg.Sender == nil {
		cfg.Sender = SenderFunc(h.send)
	}
	h.o = newOutbox(cfg, func() {
		if !h.wantIdl.Load() {
			return
		}
		resume := make(chan struct{})
		h.idle <- resume
		<-resume
	})
	t.Cleanup(func() { h.close(context.Background()) })
	return h
}

func (h *harness) send(_ context.Context, j Job) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, sent{job: j, at: h.clk.Now()})
	if h.fail != nil {
		if err := h.fail(j); err != nil {
			return 0, err
		}
	}
	if j.Kind == Send || j.Kind == SendDocument {
		h.nextID++
		return h.nextID, nil
	}
	return j.MessageID, nil
}

func (h *harness) sentJobs() []sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sent(nil), h.sent...)
}

// pause returns once the loop is idle and holds it there until resume is
// closed.
func (h *harness) pause() (resume chan struct{}) {
	h.t.Helper()
	h.wantIdl.Store(true)
	h.o.wake()
	select {
	case resume = <-h.idle:
	case <-time.After(10 * time.Second):
		h.t.Fatal("outbox never became idle")
	}
	h.wantIdl.Store(false)
	return resume
}

// drive moves the clock from timer to timer, only while the loop is idle,
// until done reports true.
func (h *harness) drive(done func() bool) {
	h.t.Helper()
	for range 100000 {
		resume := h.pause()
		if done() {
			close(resume)
			return
		}
		if !h.clk.Advance() {
			close(resume)
			h.t.Fatal("outbox is idle with nothing scheduled, yet not done")
		}
		close(resume)
	}
	h.t.Fatal("drive did not finish")
}

func (h *harness) close(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- h.o.Close(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case resume := <-h.idleIfWanted():
			h.clk.Advance()
			close(resume)
		}
	}
}

// idleIfWanted lets close drive the clock while Close drains.
func (h *harness) idleIfWanted() chan chan struct{} {
	h.wantIdl.Store(true)
	h.o.wake()
	return h.idle
}

func allDone(fs ...*Future) func() bool {
	return func() bool {
		for _, f := range fs {
			select {
			case <-f.Done():
			default:
				return false
			}
		}
		return true
	}
}

func TestPriorities(t *testing.T) {
	h := newHarness(t, Config{MaxInFlight: 1, Private: Budget{Every: time.Second, Burst: 1}})
	resume := h.pause()
	stream := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Priority: Stream, Text: "stream"})
	final := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Priority: Final, Text: "final"})
	prompt := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Priority: Prompt, Text: "prompt"})
	typing := h.o.Enqueue(Job{Kind: Action, ChatID: 1})
	close(resume)
	h.drive(allDone(stream, final, prompt, typing))

	var order []string
	for _, s := range h.sentJobs() {
		order = append(order, s.job.Text)
	}
	if strings.Join(order, ",") != "prompt,final,stream" {
		t.Fatalf("order %v", order)
	}
	if err := typing.Result().Err; !errors.Is(err, ErrDropped) {
		t.Fatalf("typing behind queued jobs: %v", err)
	}
	if r := prompt.Result(); r.Err != nil || r.MessageID != 101 {
		t.Fatalf("prompt result %+v", r)
	}
}

func TestEditsMerge(t *testing.T) {
	h := newHarness(t, Config{})
	resume := h.pause()
	var fs []*Future
	for _, text := range []string{"a", "ab", "abc"} {
		fs = append(fs, h.o.Enqueue(Job{Kind: Edit, ChatID: 1, MessageID: 7, Priority: Stream, Text: text}))
	}
	kb := &botapi.InlineKeyboard{Rows: [][]botapi.Button{{botapi.CallbackButton("Stop", "stop")}}}
	fs = append(fs, h.o.Enqueue(Job{Kind: EditMarkup, ChatID: 1, MessageID: 7, Priority: Final, Markup: kb}))
	fs = append(fs, h.o.Enqueue(Job{Kind: Edit, ChatID: 1, MessageID: 8, Priority: Stream, Text: "other"}))
	for _, text := range []string{"d1", "d2"} {
		fs = append(fs, h.o.Enqueue(Job{Kind: Draft, ChatID: 1, DraftID: 3, Priority: Stream, Text: text}))
	}
	close(resume)
	h.drive(allDone(fs...))

	got := h.sentJobs()
	if len(got) != 3 {
		t.Fatalf("%d calls, want 3: %+v", len(got), got)
	}
	first := got[0].job
	if first.Kind != Edit || first.MessageID != 7 || first.Text != "abc" || first.Markup != kb || first.Priority != Final {
		t.Fatalf("merged edit %+v", first)
	}
	if got[1].job.MessageID != 8 || got[2].job.Text != "d2" {
		t.Fatalf("calls %+v", got)
	}
	for _, f := range fs[:4] {
		if r := f.Result(); r.Err != nil || r.MessageID != 7 || !r.SentAt.Equal(got[0].at) {
			t.Fatalf("merged future %+v", r)
		}
	}
}

func TestEditOfPendingSend(t *testing.T) {
	h := newHarness(t, Config{})
	resume := h.pause()
	send := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Priority: Stream, Text: "He"})
	edit := h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: send, Priority: Stream, Text: "Hello"})
	close(resume)
	h.drive(allDone(send, edit))
	got := h.sentJobs()
	if len(got) != 1 || got[0].job.Kind != Send || got[0].job.Text != "Hello" {
		t.Fatalf("calls %+v", got)
	}
	if send.Result().MessageID != 101 || edit.Result().MessageID != 101 {
		t.Fatalf("results %+v %+v", send.Result(), edit.Result())
	}

	later := h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: send, Text: "Hello, world"})
	del := h.o.Enqueue(Job{Kind: Delete, ChatID: 1, Of: send})
	h.drive(allDone(later, del))
	got = h.sentJobs()
	if len(got) != 3 || got[1].job.Kind != Edit || got[1].job.MessageID != 101 || got[2].job.Kind != Delete || got[2].job.MessageID != 101 {
		t.Fatalf("calls %+v", got)
	}
}

func TestEditsWaitForSendInFlight(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var mu sync.Mutex
	var calls []Job
	sender := SenderFunc(func(ctx context.Context, j Job) (int, error) {
		mu.Lock()
		calls = append(calls, j)
		mu.Unlock()
		if j.Kind == Send {
			entered <- struct{}{}
			<-gate
			return 55, nil
		}
		return j.MessageID, nil
	})
	h := newHarness(t, Config{Sender: sender})
	send := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "one"})
	<-entered
	e1 := h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: send, Text: "one two"})
	e2 := h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: send, Text: "one two three"})
	close(gate)
	h.drive(allDone(send, e1, e2))
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[1].Text != "one two three" || calls[1].MessageID != 55 {
		t.Fatalf("calls %+v", calls)
	}
}

func checkBudget(t *testing.T, name string, times []time.Time, b Budget) {
	t.Helper()
	for _, k := range []int{1, 2, 5, 10} {
		w := time.Duration(k) * b.Every
		if n, limit := fakebot.MaxTimesInWindow(times, w), b.Burst+k-1; n > limit {
			t.Errorf("%s: %d sends within %v, budget allows %d", name, n, w, limit)
		}
	}
}

func TestBudgets(t *testing.T) {
	cfg := Config{
		Private: Budget{Every: time.Second, Burst: 3},
		Group:   Budget{Every: 3 * time.Second, Burst: 2},
		Global:  Budget{Every: 100 * time.Millisecond, Burst: 4},
	}
	h := newHarness(t, cfg)
	chats := []int64{1, 2, 3, 4, 5, 6, -100}
	var fs []*Future
	for i := range 20 {
		for _, c := range chats {
			fs = append(fs, h.o.Enqueue(Job{Kind: Send, ChatID: c, Priority: Priority(i % 3), Text: fmt.Sprint(i)}))
		}
	}
	h.drive(allDone(fs...))
	perChat := map[int64][]time.Time{}
	var all []time.Time
	for _, s := range h.sentJobs() {
		perChat[s.job.ChatID] = append(perChat[s.job.ChatID], s.at)
		all = append(all, s.at)
	}
	if len(all) != len(fs) {
		t.Fatalf("%d sends for %d jobs", len(all), len(fs))
	}
	for c, times := range perChat {
		b := cfg.Private
		if c < 0 {
			b = cfg.Group
		}
		checkBudget(t, fmt.Sprintf("chat %d", c), times, b)
	}
	checkBudget(t, "bot", all, cfg.Global)
	for _, f := range fs {
		if f.Result().Err != nil {
			t.Fatal(f.Result().Err)
		}
	}
}

func TestRetryAfterPausesOneChat(t *testing.T) {
	h := newHarness(t, Config{Private: Budget{Every: time.Second, Burst: 1}})
	var once atomic.Bool
	h.fail = func(j Job) error {
		if j.ChatID == 1 && once.CompareAndSwap(false, true) {
			return &botapi.Error{Method: "sendMessage", Kind: botapi.RetryAfter, Code: 429, RetryAfter: 5 * time.Second}
		}
		return nil
	}
	start := h.clk.Now()
	var fs []*Future
	for i := range 4 {
		fs = append(fs, h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: fmt.Sprint("a", i)}))
		fs = append(fs, h.o.Enqueue(Job{Kind: Send, ChatID: 2, Text: fmt.Sprint("b", i)}))
	}
	h.drive(allDone(fs...))
	var a, b []sent
	for _, s := range h.sentJobs() {
		if s.job.ChatID == 1 {
			a = append(a, s)
		} else {
			b = append(b, s)
		}
	}
	if len(a) != 5 || a[0].job.Text != "a0" || a[1].job.Text != "a0" {
		t.Fatalf("chat 1 calls %+v", a)
	}
	if gap := a[1].at.Sub(a[0].at); gap < 5*time.Second {
		t.Fatalf("retried after %v, before retry_after", gap)
	}
	if len(b) != 4 || !b[3].at.Before(start.Add(5*time.Second)) {
		t.Fatalf("chat 2 was held up by chat 1's pause: %+v", b)
	}
	for _, f := range fs {
		if f.Result().Err != nil {
			t.Fatal(f.Result().Err)
		}
	}
}

func TestTypingDroppedOverBudget(t *testing.T) {
	h := newHarness(t, Config{Private: Budget{Every: time.Second, Burst: 1}})
	msg := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "x"})
	h.drive(allDone(msg))
	if err := h.o.Enqueue(Job{Kind: Action, ChatID: 1}).Result().Err; !errors.Is(err, ErrDropped) {
		t.Fatalf("typing right after a message: %v", err)
	}
	resume := h.pause()
	h.clk.Add(time.Second)
	close(resume)
	typing := h.o.Enqueue(Job{Kind: Action, ChatID: 1})
	h.drive(allDone(typing))
	if err := typing.Result().Err; err != nil {
		t.Fatalf("typing with budget: %v", err)
	}
	if s := h.sentJobs(); len(s) != 2 || s[1].job.Action != "typing" {
		t.Fatalf("calls %+v", s)
	}
}

func TestPlainFallback(t *testing.T) {
	h := newHarness(t, Config{PlainFallback: func(html string) string { return strings.ReplaceAll(html, "<b>", "") }})
	h.fail = func(j Job) error {
		if j.ParseMode == "HTML" {
			return &botapi.Error{Kind: botapi.CantParseEntities, Code: 400}
		}
		return nil
	}
	f := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "<b>x", ParseMode: "HTML"})
	h.drive(allDone(f))
	s := h.sentJobs()
	if f.Result().Err != nil || len(s) != 2 || s[1].job.Text != "x" || s[1].job.ParseMode != "" {
		t.Fatalf("result %+v, calls %+v", f.Result(), s)
	}
}

func TestFailuresAndValidation(t *testing.T) {
	h := newHarness(t, Config{})
	h.fail = func(j Job) error { return errors.New("boom") }
	send := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "x"})
	edit := h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: send, Text: "y"})
	del := h.o.Enqueue(Job{Kind: Delete, ChatID: 1, Of: send})
	h.drive(allDone(send, edit, del))
	if send.Result().Err == nil || edit.Result().Err == nil || !strings.Contains(del.Result().Err.Error(), "boom") {
		t.Fatalf("results %+v %+v %+v", send.Result(), edit.Result(), del.Result())
	}
	for _, j := range []Job{
		{Kind: Send, Text: "no chat"},
		{Kind: Send, ChatID: 1},
		{Kind: Edit, ChatID: 1, Text: "no message"},
		{Kind: Draft, ChatID: 1, Text: "no draft id"},
		{Kind: SendDocument, ChatID: 1},
		{Kind: Kind(99), ChatID: 1},
	} {
		if h.o.Enqueue(j).Result().Err == nil {
			t.Errorf("job %+v accepted", j)
		}
	}
}

func TestCloseDrains(t *testing.T) {
	h := newHarness(t, Config{Private: Budget{Every: time.Second, Burst: 1}})
	var fs []*Future
	for i := range 5 {
		fs = append(fs, h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: fmt.Sprint(i)}))
	}
	if err := h.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if r := f.Result(); r.Err != nil {
			t.Fatalf("not drained: %+v", r)
		}
	}
	if err := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "late"}).Result().Err; !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestCloseCancels(t *testing.T) {
	entered := make(chan struct{}, 1)
	sender := SenderFunc(func(ctx context.Context, j Job) (int, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return 0, ctx.Err()
	})
	o := New(Config{Sender: sender})
	stuck := o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "stuck"})
	queued := o.Enqueue(Job{Kind: Send, ChatID: 1, Text: "queued"})
	waiting := o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: stuck, Text: "edit"})
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	if err := stuck.Result().Err; !errors.Is(err, context.Canceled) {
		t.Fatalf("in flight: %v", err)
	}
	for _, f := range []*Future{queued, waiting} {
		select {
		case <-f.Done():
		default:
			t.Fatal("job left unresolved after Close")
		}
		if f.Result().Err == nil {
			t.Fatal("job reported sent after Close")
		}
	}
	if o.Pending() != 0 {
		t.Fatalf("%d pending", o.Pending())
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	o := New(Config{
		Sender:  SenderFunc(func(context.Context, Job) (int, error) { return 1, nil }),
		Private: Budget{Every: time.Microsecond, Burst: 100},
		Global:  Budget{Every: time.Microsecond, Burst: 100},
	})
	var fs []*Future
	for i := range 50 {
		fs = append(fs, o.Enqueue(Job{Kind: Send, ChatID: int64(i%5 + 1), Text: "x"}))
		fs = append(fs, o.Enqueue(Job{Kind: Action, ChatID: int64(i%5 + 1)}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, f := range fs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for runtime.NumGoroutine() > before {
		if ctx.Err() != nil {
			t.Fatalf("%d goroutines left, %d before", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// TestWithFakebot runs the outbox against the fake Bot API through
// ClientSender: a 429 for one chat pauses it for retry_after in the fake
// time of the server's log, while the other chat goes on.
func TestWithFakebot(t *testing.T) {
	clk := newFakeClock()
	s := fakebot.New(t, fakebot.WithClock(clk.Now))
	c, err := botapi.New(botapi.Config{APIURL: s.URL, Token: s.Token, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	private := Budget{Every: time.Second, Burst: 2}
	h := newHarness(t, Config{Sender: ClientSender(c), Private: private, Clock: clk})
	s.AddFault(fakebot.TooManyRequests("sendMessage", 1, 3))

	var fs []*Future
	first := h.o.Enqueue(Job{Kind: Send, ChatID: 1, Priority: Stream, Text: "<b>thinking</b>", ParseMode: "HTML"})
	fs = append(fs, first)
	for i := range 5 {
		fs = append(fs, h.o.Enqueue(Job{Kind: Edit, ChatID: 1, Of: first, Priority: Stream, Text: fmt.Sprintf("<b>step %d</b>", i), ParseMode: "HTML"}))
		fs = append(fs, h.o.Enqueue(Job{Kind: Send, ChatID: 2, Priority: Final, Text: fmt.Sprint("reply ", i)}))
	}
	h.drive(allDone(fs...))
	for _, f := range fs {
		if r := f.Result(); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	a := s.CallsFor(1)
	if len(a) < 2 || a[0].Status != 429 {
		t.Fatalf("chat 1 calls %+v", a)
	}
	if gap := a[1].Time.Sub(a[0].Time); gap < 3*time.Second {
		t.Fatalf("chat 1 retried after %v", gap)
	}
	if m := s.BotMessages(1); len(m) != 1 || m[0].Text != "step 4" {
		t.Fatalf("chat 1 messages %+v", m)
	}
	b := s.CallsFor(2)
	during := 0
	for _, c := range b {
		if c.Time.After(a[0].Time) && c.Time.Before(a[1].Time) {
			during++
		}
	}
	if len(b) != 5 || during < 2 {
		t.Fatalf("chat 2 waited for chat 1 (%d calls during the pause): %+v", during, b)
	}
	for _, chat := range []int64{1, 2} {
		if n := fakebot.MaxInWindow(s.CallsFor(chat), private.Every); n > private.Burst {
			t.Fatalf("chat %d: %d calls within %v", chat, n, private.Every)
		}
	}
}
