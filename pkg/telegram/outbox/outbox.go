// Package outbox is the one scheduler through which ce-telegram sends
// everything to Telegram, so that no chat and no bot exceeds Telegram's
// rate limits however many sessions are talking at once.
//
// Callers Enqueue jobs (a new message, an edit, a keyboard change, a draft,
// a chat action, a delete, a document) with a priority: Prompt (approvals
// and questions) before Final replies before Stream updates before Typing.
// The outbox sends at most one job per chat at a time, in priority order,
// within token-bucket budgets per chat (private chats and groups apart) and
// for the whole bot. Pending edits of one message are merged, so only the
// latest text is sent; an edit of a message whose send is still queued is
// folded into that send. A chat action is dropped, never queued, when the
// chat has no budget for it right now. A 429 pauses only its chat, for the
// full retry_after, and the job is retried after it; other chats go on.
// Other errors are not retried (a send that failed on the network may
// still have arrived) but reported: a job Telegram rejects with "can't
// parse entities" is resent as plain text when Config.PlainFallback is
// set.
//
// Each Enqueue returns a Future that resolves with the outcome (the new
// message's id for sends). An edit or delete may name the Future of a send
// instead of a message id, and then waits for it. A Sender does the actual
// calls: ClientSender wraps a botapi.Client. The clock is injected so tests
// need not sleep.
//
// This package is implementation inside ce; other programs should not rely
// on it.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
)

// Priority orders jobs: lower values go first.
type Priority int

const (
	Prompt Priority = iota // approval requests and questions waiting for the user
	Final                  // final replies
	Stream                 // streaming updates of a reply in progress
	Typing                 // chat actions
)

// Kind is what a job does.
type Kind int

const (
	Send         Kind = iota // send a text message
	Edit                     // replace a message's text and keyboard
	EditMarkup               // replace only a message's keyboard
	Draft                    // stream a draft (sendMessageDraft) to a private chat
	Action                   // show a chat action such as "typing"
	Delete                   // delete a message
	SendDocument             // upload a file
)

var kindNames = [...]string{"send", "edit", "edit markup", "draft", "action", "delete", "document"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Job is one thing to send.
type Job struct {
	Kind     Kind
	ChatID   int64
	Priority Priority // the zero value is Prompt, the most urgent

	// MessageID is the message an Edit, EditMarkup or Delete is about. When
	// it is 0, Of names the Future of the Send or SendDocument that creates
	// the message, and the job waits for it.
	MessageID int
	Of        *Future

	Text      string // Send, Edit, Draft; the caption of a SendDocument
	ParseMode string // "HTML" or "" for plain text
	Markup    *botapi.InlineKeyboard
	ReplyTo   int  // Send: the message to reply to
	Silent    bool // Send, SendDocument: no notification
	DraftID   int64
	Action    string // Action: "typing" when empty
	Document  *Document
}

// Document is the file of a SendDocument job.
type Document struct {
	Name string
	Data []byte
}

// Result is the outcome of a job.
type Result struct {
	MessageID int       // the message sent, edited or deleted
	SentAt    time.Time // when the outbox handed the job to the Sender
	Err       error
}

// Errors a Future may resolve with besides the Sender's.
var (
	ErrDropped = errors.New("dropped: the chat has no budget for it now")
	ErrClosed  = errors.New("outbox closed")
)

// Future is the pending outcome of an enqueued job. Jobs merged into
// another share its outcome.
type Future struct {
	done chan struct{}
	res  Result
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

// Done is closed when the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result returns the outcome; it is the zero Result before Done is closed.
func (f *Future) Result() Result {
	select {
	case <-f.done:
		return f.res
	default:
		return Result{}
	}
}

// Wait waits for the outcome or for ctx.
func (f *Future) Wait(ctx context.Context) (Result, error) {
	select {
	case <-f.done:
		return f.res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (f *Future) resolve(r Result) {
	f.res = r
	close(f.done)
}

// Sender performs one job against the Bot API and returns the message id
// of what it sent. An edit that changes nothing must succeed. A 429 must
// come back as an error botapi.RetryAfterOf recognises.
type Sender interface {
	Send(ctx context.Context, j Job) (int, error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, j Job) (int, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, j Job) (int, error) { return f(ctx, j) }

// Budget is a token bucket: one send per Every, up to Burst at once.
type Budget struct {
	Every time.Duration
	Burst int
}

// Default budgets, under Telegram's published limits: about one message a
// second per chat, 20 a minute per group, 30 a second for the bot.
var (
	DefaultPrivate = Budget{Every: time.Second, Burst: 3}
	DefaultGroup   = Budget{Every: 3 * time.Second, Burst: 3}
	DefaultGlobal  = Budget{Every: 40 * time.Millisecond, Burst: 5}
)

// Clock is the time source, injected for tests.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a Clock's timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Config configures an Outbox.
type Config struct {
	Sender      Sender
	Clock       Clock                   // the real clock when nil
	Private     Budget                  // per private chat; DefaultPrivate when zero
	Group       Budget                  // per group chat; DefaultGroup when zero
	Global      Budget                  // for the whole bot; DefaultGlobal when zero
	MaxInFlight int                     // concurrent sends over all chats, 4 when 0
	IsGroup     func(chatID int64) bool // negative ids when nil
	// PlainFallback, when set, turns the text of a job Telegram rejects
	// with "can't parse entities" into plain text (tgmarkup.PlainText),
	// and the job is sent again without a parse mode.
	PlainFallback func(html string) string
	Logger        zerolog.Logger
}

// Outbox schedules jobs. Its methods are safe for concurrent use.
type Outbox struct {
	cfg      Config
	clock    Clock
	log      zerolog.Logger
	idleHook func() // tests: called when nothing is in flight, before waiting

	sendCtx    context.Context
	cancelSend context.CancelFunc
	kick       chan struct{}
	stopped    chan struct{} // closed when the loop has ended
	wg         sync.WaitGroup

	mu       sync.Mutex
	seq      uint64
	chats    map[int64]*chat
	global   bucket
	inflight int
	byFuture map[*Future]*entry // unfinished entries, merged futures included
	closing  bool
	aborted  bool
}

type chat struct {
	id          int64
	queue       []*entry // by priority, then arrival
	bucket      bucket
	pausedUntil time.Time
	busy        bool
}

type entryState int

const (
	queued entryState = iota
	waiting
	inFlight
)

type entry struct {
	job     Job
	seq     uint64
	state   entryState
	futures []*Future // its own and those of jobs merged into it
	waiters []*entry  // jobs waiting for this one's message id
	target  *entry    // for a waiting job, the entry it waits for
}

// New starts an Outbox. Close stops it.
func New(cfg Config) *Outbox { return newOutbox(cfg, nil) }

func newOutbox(cfg Config, idleHook func()) *Outbox {
	if cfg.Private.Every <= 0 {
		cfg.Private = DefaultPrivate
	}
	if cfg.Group.Every <= 0 {
		cfg.Group = DefaultGroup
	}
	if cfg.Global.Every <= 0 {
		cfg.Global = DefaultGlobal
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4
	}
	if cfg.IsGroup == nil {
		cfg.IsGroup = func(id int64) bool { return id < 0 }
	}
	o := &Outbox{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger, idleHook: idleHook,
		kick: make(chan struct{}, 1), stopped: make(chan struct{}),
		chats: map[int64]*chat{}, byFuture: map[*Future]*entry{},
		global: newBucket(cfg.Global),
	}
	if o.clock == nil {
		o.clock = realClock{}
	}
	o.sendCtx, o.cancelSend = context.WithCancel(context.Background())
	o.wg.Add(1)
	go o.loop()
	return o
}

func (o *Outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Enqueue schedules j and returns its Future. A job that is invalid, comes
// after Close, or is a chat action the chat has no budget for resolves at
// once with an error.
func (o *Outbox) Enqueue(j Job) *Future {
	f := newFuture()
	if err := validate(&j); err != nil {
		f.resolve(Result{Err: err})
		return f
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing {
		f.resolve(Result{Err: ErrClosed})
		return f
	}
	o.seq++
	e := &entry{job: j, seq: o.seq, futures: []*Future{f}}
	o.byFuture[f] = e
	now := o.clock.Now()
	if j.Kind == Action {
		c := o.chat(j.ChatID)
		if c.busy || len(c.queue) > 0 || now.Before(c.pausedUntil) || !c.bucket.ready(now) ||
			!o.global.ready(now) || o.inflight >= o.cfg.MaxInFlight {
			o.resolve(e, Result{Err: ErrDropped})
			return f
		}
		o.start(c, e, now)
		return f
	}
	if j.MessageID == 0 && j.Of != nil {
		o.attach(e)
	} else {
		o.insert(e)
	}
	o.wake()
	return f
}

func validate(j *Job) error {
	if j.ChatID == 0 {
		return errors.New("job has no chat")
	}
	needsMessage := j.Kind == Edit || j.Kind == EditMarkup || j.Kind == Delete
	switch {
	case needsMessage && j.MessageID == 0 && j.Of == nil:
		return fmt.Errorf("%s job names no message", j.Kind)
	case (j.Kind == Send || j.Kind == Edit || j.Kind == Draft) && j.Text == "":
		return fmt.Errorf("%s job has no text", j.Kind)
	case j.Kind == Draft && j.DraftID == 0:
		return errors.New("draft job has no draft id")
	case j.Kind == SendDocument && j.Document == nil:
		return errors.New("document job has no document")
	case j.Kind < Send || j.Kind > SendDocument:
		return fmt.Errorf("unknown job kind %d", int(j.Kind))
	}
	if j.Kind == Action && j.Action == "" {
		j.Action = "typing"
	}
	if j.Kind == Action {
		j.Priority = Typing
	}
	return nil
}

func (o *Outbox) chat(id int64) *chat {
	c, ok := o.chats[id]
	if !ok {
		b := o.cfg.Private
		if o.cfg.IsGroup(id) {
			b = o.cfg.Group
		}
		c = &chat{id: id, bucket: newBucket(b)}
		o.chats[id] = c
	}
	return c
}

// attach handles a job that waits for the message of another job's
// Future: folded into a queued send, queued behind one in flight, or
// queued at once when the message already exists.
func (o *Outbox) attach(e *entry) {
	target, pending := o.byFuture[e.job.Of]
	if !pending {
		select {
		case <-e.job.Of.Done():
		default:
			o.resolve(e, Result{Err: fmt.Errorf("%s job follows a job of another outbox", e.job.Kind)})
			return
		}
		r := e.job.Of.Result()
		switch {
		case r.Err != nil:
			o.resolve(e, Result{Err: fmt.Errorf("the message to %s was not sent: %w", e.job.Kind, r.Err)})
		case r.MessageID == 0:
			o.resolve(e, Result{Err: fmt.Errorf("%s job follows a job that sent no message", e.job.Kind)})
		default:
			e.job.MessageID = r.MessageID
			o.insert(e)
		}
		return
	}
	if target.state == queued && target.job.Kind == Send && (e.job.Kind == Edit || e.job.Kind == EditMarkup) {
		if e.job.Kind == Edit {
			target.job.Text, target.job.ParseMode = e.job.Text, e.job.ParseMode
		}
		target.job.Markup = e.job.Markup
		o.raise(target, e.job.Priority)
		o.absorb(target, e)
		return
	}
	for _, w := range target.waiters {
		if mergeable(w, e) {
			merge(w, e)
			o.absorb(w, e)
			return
		}
	}
	e.state, e.target = waiting, target
	target.waiters = append(target.waiters, e)
}

// insert queues a job in its chat, merged into a pending job for the same
// message or draft when there is one.
func (o *Outbox) insert(e *entry) {
	c := o.chat(e.job.ChatID)
	for _, q := range c.queue {
		if mergeable(q, e) {
			merge(q, e)
			o.absorb(q, e)
			o.raise(q, e.job.Priority)
			return
		}
	}
	e.state = queued
	c.queue = append(c.queue, e)
	sortQueue(c)
}

// mergeable reports whether e replaces pending q: edits of one message,
// drafts of one draft.
func mergeable(q, e *entry) bool {
	a, b := q.job, e.job
	if a.ChatID != b.ChatID {
		return false
	}
	switch {
	case (a.Kind == Edit || a.Kind == EditMarkup) && (b.Kind == Edit || b.Kind == EditMarkup):
		if a.MessageID == 0 || b.MessageID == 0 {
			return q.target != nil && q.target == e.target || (a.Of != nil && a.Of == b.Of)
		}
		return a.MessageID == b.MessageID
	case a.Kind == Draft && b.Kind == Draft:
		return a.DraftID == b.DraftID
	}
	return false
}

// merge makes q carry e's content: the latest text, keyboard and parse
// mode; a markup-only edit keeps q's text.
func merge(q, e *entry) {
	switch e.job.Kind {
	case Edit, Draft:
		q.job.Kind, q.job.Text, q.job.ParseMode = e.job.Kind, e.job.Text, e.job.ParseMode
	}
	q.job.Markup = e.job.Markup
}

// absorb makes e's futures resolve with q's outcome.
func (o *Outbox) absorb(q, e *entry) {
	for _, f := range e.futures {
		o.byFuture[f] = q
	}
	q.futures = append(q.futures, e.futures...)
}

func (o *Outbox) raise(q *entry, p Priority) {
	if p < q.job.Priority {
		q.job.Priority = p
		if q.state == queued {
			sortQueue(o.chat(q.job.ChatID))
		}
	}
}

func sortQueue(c *chat) {
	slices.SortStableFunc(c.queue, func(a, b *entry) int {
		if a.job.Priority != b.job.Priority {
			return int(a.job.Priority) - int(b.job.Priority)
		}
		return int(a.seq) - int(b.seq)
	})
}

// resolve settles every future of e and forgets it.
func (o *Outbox) resolve(e *entry, r Result) {
	if r.MessageID == 0 {
		r.MessageID = e.job.MessageID
	}
	for _, f := range e.futures {
		delete(o.byFuture, f)
		f.resolve(r)
	}
	e.futures = nil
}

func (o *Outbox) loop() {
	defer o.wg.Done()
	defer close(o.stopped)
	for {
		o.mu.Lock()
		now := o.clock.Now()
		for o.inflight < o.cfg.MaxInFlight && !o.aborted {
			c, e := o.next(now)
			if e == nil {
				break
			}
			c.queue = c.queue[1:]
			o.start(c, e, now)
		}
		if o.aborted || (o.closing && o.inflight == 0 && len(o.byFuture) == 0) {
			o.mu.Unlock()
			return
		}
		wakeAt := o.wakeAt(now)
		idle := o.inflight == 0
		o.mu.Unlock()

		var timer Timer
		var fire <-chan time.Time
		if !wakeAt.IsZero() {
			timer = o.clock.NewTimer(wakeAt.Sub(now))
			fire = timer.C()
		}
		if idle && o.idleHook != nil {
			o.idleHook()
		}
		select {
		case <-o.kick:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// next picks the most urgent job that may go now: its chat is not busy
// or paused and has budget, and the bot has budget.
func (o *Outbox) next(now time.Time) (*chat, *entry) {
	if !o.global.ready(now) {
		return nil, nil
	}
	var bestChat *chat
	var best *entry
	for _, c := range o.chats {
		if c.busy || len(c.queue) == 0 || now.Before(c.pausedUntil) || !c.bucket.ready(now) {
			continue
		}
		e := c.queue[0]
		if best == nil || e.job.Priority < best.job.Priority || (e.job.Priority == best.job.Priority && e.seq < best.seq) {
			bestChat, best = c, e
		}
	}
	return bestChat, best
}

// wakeAt is the earliest time a queued job may become sendable; zero
// when only a send in flight or an Enqueue can change anything.
func (o *Outbox) wakeAt(now time.Time) time.Time {
	var at time.Time
	if o.inflight >= o.cfg.MaxInFlight {
		return at
	}
	for _, c := range o.chats {
		if c.busy || len(c.queue) == 0 {
			continue
		}
		t := latest(c.pausedUntil, c.bucket.readyAt(), o.global.readyAt())
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

func (o *Outbox) start(c *chat, e *entry, now time.Time) {
	c.busy = true
	c.bucket.take(now)
	o.global.take(now)
	o.inflight++
	e.state = inFlight
	o.wg.Add(1)
	go o.send(c, e, now)
}

func (o *Outbox) send(c *chat, e *entry, at time.Time) {
	defer o.wg.Done()
	id, err := o.cfg.Sender.Send(o.sendCtx, e.job)
	o.finish(c, e, at, id, err)
}

func (o *Outbox) finish(c *chat, e *entry, at time.Time, id int, err error) {
	defer o.wake()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight--
	c.busy = false
	now := o.clock.Now()
	if wait, ok := botapi.RetryAfterOf(err); ok && !o.aborted {
		c.pausedUntil = now.Add(wait)
		o.log.Warn().Int64("chat", c.id).Dur("retry_after", wait).Str("job", e.job.Kind.String()).Msg("telegram flood limit, chat paused")
		if e.job.Kind == Action {
			o.resolve(e, Result{SentAt: at, Err: err})
			return
		}
		o.requeue(c, e)
		return
	}
	if botapi.Is(err, botapi.CantParseEntities) && o.cfg.PlainFallback != nil && e.job.ParseMode != "" && !o.aborted {
		o.log.Warn().Int64("chat", c.id).Err(err).Msg("telegram rejected the html, sending plain text")
		e.job.Text, e.job.ParseMode = o.cfg.PlainFallback(e.job.Text), ""
		o.requeue(c, e)
		return
	}
	if err == nil && id == 0 {
		id = e.job.MessageID
	}
	waiters := e.waiters
	e.waiters = nil
	o.resolve(e, Result{MessageID: id, SentAt: at, Err: err})
	for _, w := range waiters {
		w.target = nil
		if err != nil {
			o.resolve(w, Result{Err: fmt.Errorf("the message to %s was not sent: %w", w.job.Kind, err)})
			continue
		}
		w.job.MessageID = id
		o.insert(w)
	}
}

// requeue puts a job back at the head of its priority after a 429 or a
// parse failure, unless a newer version of it was queued meanwhile.
func (o *Outbox) requeue(c *chat, e *entry) {
	for _, q := range c.queue {
		if mergeable(q, e) {
			o.absorb(q, e)
			q.seq = min(q.seq, e.seq)
			q.waiters = append(q.waiters, e.waiters...)
			for _, w := range e.waiters {
				w.target = q
			}
			e.waiters = nil
			sortQueue(c)
			return
		}
	}
	e.state = queued
	c.queue = append(c.queue, e)
	sortQueue(c)
}

// Close stops taking jobs and sends what is queued, within the budgets,
// until ctx ends; then it cancels sends in flight, resolves the jobs left
// with ErrClosed and returns ctx's error. Chat actions still queued are
// dropped. Close returns when every goroutine of the outbox has ended.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	o.wake()
	var err error
	select {
	case <-o.stopped:
	case <-ctx.Done():
		err = ctx.Err()
		o.mu.Lock()
		o.aborted = true
		o.mu.Unlock()
		o.cancelSend()
		o.wake()
		<-o.stopped
	}
	o.cancelSend()
	o.wg.Wait()
	o.mu.Lock()
	for _, e := range o.unfinished() {
		o.resolve(e, Result{Err: ErrClosed})
	}
	o.mu.Unlock()
	return err
}

func (o *Outbox) unfinished() []*entry {
	seen := map[*entry]bool{}
	var out []*entry
	for _, e := range o.byFuture {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return int(a.seq) - int(b.seq) })
	return out
}

// Pending is the number of jobs not yet resolved, merged ones counted once.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.unfinished())
}

// bucket is a token bucket kept as the time its next token is due (GCRA):
// exact, and empty of drift.
type bucket struct {
	every time.Duration
	burst int
	tat   time.Time // theoretical arrival time of the next send
}

func newBucket(b Budget) bucket { return bucket{every: b.Every, burst: max(b.Burst, 1)} }

// readyAt is when the next send is allowed.
func (b *bucket) readyAt() time.Time {
	if b.tat.IsZero() {
		return time.Time{}
	}
	return b.tat.Add(-time.Duration(b.burst-1) * b.every)
}

func (b *bucket) ready(now time.Time) bool { return !now.Before(b.readyAt()) }

func (b *bucket) take(now time.Time) {
	b.tat = latest(b.tat, now).Add(b.every)
}
