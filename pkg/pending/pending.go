// Package pending provides the pending requests in <state>/pending.db:
// questions a session asked and waits on (ask_user to the user,
// session_ask to another session) and approvals, until someone answers
// them or they expire. The file is the truth, so a waiter survives the
// restart of the broker and the queue worker, and any process may answer:
// ce-session answer, the Telegram bot, another session's session_reply.
//
// Request IDs ("a" and a number, e.g. a12) are short enough to type and are
// stable; scripts may use them. The record layout is internal: use this
// package to read it.
//
// An open request past its Expires reads as expired; nothing has to sweep
// the file. Every record carries a TTL that ends Retention after its expiry
// time, so answered and expired requests stay readable for a while and then
// vanish, and the file stays small.
package pending

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
	"github.com/fsnotify/fsnotify"
	"github.com/tidwall/buntdb"
)

// Kinds of request.
const (
	KindAskUser    = "ask_user"
	KindSessionAsk = "session_ask"
	KindApproval   = "approval"
	// KindPermission: a session's run wants a tool the policy does not
	// decide (Data: the tool, its input, the run); KindVault: a process
	// wants a secret's value or a session to run a command with secrets.
	KindPermission = "permission"
	KindVault      = "vault"
)

// States of a request. Cancelled means the asker stopped waiting (its tool
// call ended) before an answer came.
const (
	StateOpen      = "open"
	StateAnswered  = "answered"
	StateExpired   = "expired"
	StateCancelled = "cancelled"
)

// Limits of a request.
const (
	MaxQuestion   = 8 << 10
	MaxAnswer     = 64 << 10
	MaxChoices    = 10
	MaxChoiceText = 200
)

// DefaultTimeout is how long a request without an expiry stays open.
const DefaultTimeout = 10 * time.Minute

// Retention is how long a request stays readable after its expiry time,
// answered or not, so late readers see the outcome.
const Retention = 24 * time.Hour

// PollInterval is how often Wait re-reads the file besides watching it, as a
// safety net for a lost file event.
const PollInterval = 3 * time.Second

// ErrNotFound means no request has the ID (it may have been removed after
// its retention).
var ErrNotFound = errors.New("no such pending request")

// Request is one pending request.
type Request struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Session is the session that asks (and waits); empty when the asker
	// runs outside a session.
	Session string `json:"session,omitempty"`
	// Target is the session asked, for session_ask.
	Target   string   `json:"target,omitempty"`
	Question string   `json:"question"`
	Choices  []string `json:"choices,omitempty"`
	// Item is the queue item that carries a session_ask to its target.
	Item string `json:"item,omitempty"`
	// Data holds kind-specific details, e.g. an approval's tool and input.
	Data     json.RawMessage `json:"data,omitempty"`
	Created  time.Time       `json:"created"`
	Expires  time.Time       `json:"expires"`
	State    string          `json:"state"`
	Answer   string          `json:"answer,omitempty"`
	Answered time.Time       `json:"answered,omitzero"`
	// AnsweredBy says who answered ("user:NAME", "session:NAME", ...) or,
	// for a cancelled request, why it was withdrawn.
	AnsweredBy string `json:"answered_by,omitempty"`
}

// Timeout is how long the request was given.
func (r *Request) Timeout() time.Duration { return r.Expires.Sub(r.Created).Round(time.Second) }

// settle turns an open request past its expiry into an expired one.
func (r *Request) settle(now time.Time) {
	if r.State == StateOpen && !now.Before(r.Expires) {
		r.State = StateExpired
	}
}

// ClosedError is returned for an action on a request that is no longer
// open.
type ClosedError struct{ Req Request }

func (e *ClosedError) Error() string {
	r := e.Req
	switch r.State {
	case StateAnswered:
		by := ""
		if r.AnsweredBy != "" {
			by = " by " + r.AnsweredBy
		}
		return fmt.Sprintf("request %s was already answered%s at %s: %q", r.ID, by, r.Answered.Local().Format("15:04:05"), r.Answer)
	case StateExpired:
		return fmt.Sprintf("request %s expired at %s without an answer (the asker stopped waiting after %s)", r.ID, r.Expires.Local().Format("15:04:05"), r.Timeout())
	case StateCancelled:
		return fmt.Sprintf("request %s was withdrawn: %s", r.ID, r.AnsweredBy)
	}
	return fmt.Sprintf("request %s is %s", r.ID, r.State)
}

// ChoiceError is returned when an answer is a choice number out of range.
type ChoiceError struct {
	ID      string
	Number  int
	Choices []string
}

func (e *ChoiceError) Error() string {
	return fmt.Sprintf("request %s has no choice %d; its choices are %s (answer with a number from 1 to %d, or with text)",
		e.ID, e.Number, FormatChoices(e.Choices), len(e.Choices))
}

// CycleError refuses a session_ask that would wait in a circle: Chain runs
// from the asked session back to the asker, each session waiting on the
// next, so the asked session cannot take the question before the asker
// answers, and the asker is blocked on the question.
type CycleError struct {
	Asker, Target string
	Chain         []string
	// IDs are the open session_asks along Chain.
	IDs []string
}

func (e *CycleError) Error() string {
	how := fmt.Sprintf("session %s is waiting on session %s (%s asked %s %s)", e.Target, e.Asker, e.Target, e.Asker, e.IDs[0])
	if len(e.Chain) > 2 {
		how = fmt.Sprintf("session %s is waiting on session %s through %s (%s)", e.Target, e.Asker, strings.Join(e.Chain, " -> "), strings.Join(e.IDs, ", "))
	}
	return fmt.Sprintf("%s, so %s cannot take %s's question before %s answers, and the question could never be answered", how, e.Target, e.Asker, e.Asker)
}

// FormatChoices lists choices as `1) "yes", 2) "no"`.
func FormatChoices(choices []string) string {
	parts := make([]string, len(choices))
	for i, c := range choices {
		parts[i] = fmt.Sprintf("%d) %q", i+1, c)
	}
	return strings.Join(parts, ", ")
}

// Store is the pending store of a state directory.
type Store struct {
	st *store.Store
	// Retention and Poll default to Retention and PollInterval; tests
	// shorten them.
	Retention time.Duration
	Poll      time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Open returns the pending store of a state directory.
func Open(d *statedir.Dir) *Store {
	return &Store{st: store.New(d.Path("pending.db"), d.Lock("pending")), Retention: Retention, Poll: PollInterval}
}

// Store returns the underlying store, for hooks such as OnCorrupt.
func (s *Store) Store() *store.Store { return s.st }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// ParseID accepts "a12", "A12" or "12" and returns the canonical ID.
func ParseID(id string) (string, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(id)), "a"), 10, 64)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q is not a request ID (they look like a12; ce-session pending lists them)", id)
	}
	return "a" + strconv.FormatUint(n, 10), nil
}

func key(id string) string {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "a"), 10, 64)
	return fmt.Sprintf("r:%012d", n)
}

// put writes r with a TTL that ends Retention after r.Expires, whatever its
// state. A rewrite never ends earlier than the version it replaces, and
// ends at least a second later: when buntdb loads a file, a later SET of a
// key that has already expired is skipped while the earlier SET stays
// loaded, and it keeps expiry times in whole seconds, so an earlier end
// could bring an old version back.
func (s *Store) put(tx *buntdb.Tx, r Request, now time.Time) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ret := s.Retention
	if ret <= 0 {
		ret = Retention
	}
	ttl := r.Expires.Add(ret).Sub(now)
	if old, err := tx.TTL(key(r.ID)); err == nil && old >= 0 {
		ttl = max(ttl, old+time.Second)
	}
	_, _, err = tx.Set(key(r.ID), string(b), &buntdb.SetOptions{Expires: true, TTL: max(ttl, time.Second)})
	return err
}

func get(tx *buntdb.Tx, id string, now time.Time) (Request, error) {
	var r Request
	v, err := tx.Get(key(id))
	if errors.Is(err, buntdb.ErrNotFound) {
		return r, fmt.Errorf("%w %s", ErrNotFound, id)
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return r, fmt.Errorf("pending request %s: %w", id, err)
	}
	r.settle(now)
	return r, nil
}

func scan(tx *buntdb.Tx, now time.Time, fn func(Request) bool) error {
	var err error
	tx.AscendKeys("r:*", func(k, v string) bool {
		var r Request
		if e := json.Unmarshal([]byte(v), &r); e != nil {
			err = fmt.Errorf("pending request %s: %w", k, e)
			return false
		}
		r.settle(now)
		return fn(r)
	})
	return err
}

// Check validates a new request's fields.
func Check(r Request) error {
	switch r.Kind {
	case KindAskUser, KindApproval, KindPermission, KindVault:
	case KindSessionAsk:
		if r.Session == "" || r.Target == "" {
			return fmt.Errorf("a session_ask needs the asking session and a target session")
		}
		if r.Session == r.Target {
			return fmt.Errorf("session %s cannot ask itself", r.Session)
		}
	default:
		return fmt.Errorf("unknown request kind %q (ask_user, session_ask, approval, permission or vault)", r.Kind)
	}
	if strings.TrimSpace(r.Question) == "" {
		return fmt.Errorf("the question is empty")
	}
	if len(r.Question) > MaxQuestion {
		return fmt.Errorf("the question is %d bytes; at most %d are accepted", len(r.Question), MaxQuestion)
	}
	if len(r.Choices) > MaxChoices {
		return fmt.Errorf("%d choices given; at most %d are accepted", len(r.Choices), MaxChoices)
	}
	for i, c := range r.Choices {
		if strings.TrimSpace(c) == "" {
			return fmt.Errorf("choice %d is empty", i+1)
		}
		if len(c) > MaxChoiceText {
			return fmt.Errorf("choice %d is %d bytes; at most %d are accepted", i+1, len(c), MaxChoiceText)
		}
	}
	return nil
}

// Create stores a new open request and returns it with its ID, Created
// and State set; a zero Expires becomes DefaultTimeout from now. A
// session_ask that would close a cycle of waiting sessions is refused with
// a *CycleError; the check and the write are one transaction, so two
// sessions asking each other at once cannot both get through.
func (s *Store) Create(ctx context.Context, r Request) (Request, error) {
	if err := Check(r); err != nil {
		return Request{}, err
	}
	now := s.now()
	r.Created, r.State, r.Answer, r.AnsweredBy, r.Answered = now, StateOpen, "", "", time.Time{}
	if r.Expires.IsZero() {
		r.Expires = now.Add(DefaultTimeout)
	}
	r.Expires = r.Expires.UTC()
	if !r.Expires.After(now) {
		return Request{}, fmt.Errorf("the request would expire at once (expires %s)", r.Expires.Format(time.RFC3339))
	}
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		if r.Kind == KindSessionAsk {
			if err := checkCycle(tx, r, now); err != nil {
				return err
			}
		}
		n := uint64(0)
		if v, err := tx.Get("meta:seq"); err == nil {
			n, _ = strconv.ParseUint(v, 10, 64)
		}
		n++
		if _, _, err := tx.Set("meta:seq", strconv.FormatUint(n, 10), nil); err != nil {
			return err
		}
		r.ID = "a" + strconv.FormatUint(n, 10)
		return s.put(tx, r, now)
	})
	if err != nil {
		return Request{}, err
	}
	return r, nil
}

// checkCycle refuses r (Session asks Target) when Target already waits on
// Session through open session_asks.
func checkCycle(tx *buntdb.Tx, r Request, now time.Time) error {
	type edge struct{ to, id string }
	waits := map[string][]edge{}
	if err := scan(tx, now, func(o Request) bool {
		if o.Kind == KindSessionAsk && o.State == StateOpen {
			waits[o.Session] = append(waits[o.Session], edge{o.Target, o.ID})
		}
		return true
	}); err != nil {
		return err
	}
	// Breadth first from the target, so the shortest chain is reported.
	type step struct {
		from string
		id   string
	}
	prev := map[string]step{r.Target: {}}
	queue := []string{r.Target}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range waits[cur] {
			if _, seen := prev[e.to]; seen {
				continue
			}
			prev[e.to] = step{cur, e.id}
			if e.to != r.Session {
				queue = append(queue, e.to)
				continue
			}
			var chain, ids []string
			for at := r.Session; at != r.Target; at = prev[at].from {
				chain = append([]string{at}, chain...)
				ids = append([]string{prev[at].id}, ids...)
			}
			chain = append([]string{r.Target}, chain...)
			return &CycleError{Asker: r.Session, Target: r.Target, Chain: chain, IDs: ids}
		}
	}
	return nil
}

// Get returns one request.
func (s *Store) Get(ctx context.Context, id string) (Request, error) {
	var r Request
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		var err error
		r, err = get(tx, id, s.now())
		return err
	})
	return r, err
}

// Filter selects requests for List; empty fields match everything.
type Filter struct {
	Session string
	Target  string
	Kind    string
	State   string
}

// List returns the requests that match f, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Request, error) {
	var out []Request
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		out = out[:0]
		return scan(tx, s.now(), func(r Request) bool {
			if (f.Session == "" || r.Session == f.Session) && (f.Target == "" || r.Target == f.Target) &&
				(f.Kind == "" || r.Kind == f.Kind) && (f.State == "" || r.State == f.State) {
				out = append(out, r)
			}
			return true
		})
	})
	return out, err
}

// Resolve answers an open request. When the request has choices, an answer
// that is a choice number ("2") or a choice's text in another case becomes
// that choice's text; other text is kept as given. A request that is not
// open is refused with a *ClosedError, a number out of range with a
// *ChoiceError.
func (s *Store) Resolve(ctx context.Context, id, answer, by string) (Request, error) {
	answer = strings.TrimSpace(answer)
	if answer == "" {
		return Request{}, fmt.Errorf("the answer is empty")
	}
	if len(answer) > MaxAnswer {
		return Request{}, fmt.Errorf("the answer is %d bytes; at most %d are accepted", len(answer), MaxAnswer)
	}
	return s.update(ctx, id, func(r *Request, now time.Time) error {
		a, err := pick(r, answer)
		if err != nil {
			return err
		}
		r.State, r.Answer, r.AnsweredBy, r.Answered = StateAnswered, a, by, now
		return nil
	})
}

// Cancel withdraws an open request: the asker stopped waiting. reason is
// kept in AnsweredBy.
func (s *Store) Cancel(ctx context.Context, id, reason string) (Request, error) {
	return s.update(ctx, id, func(r *Request, now time.Time) error {
		r.State, r.AnsweredBy, r.Answered = StateCancelled, reason, now
		return nil
	})
}

// SetItem records the queue item that carries an open request to its
// target.
func (s *Store) SetItem(ctx context.Context, id, item string) (Request, error) {
	return s.update(ctx, id, func(r *Request, _ time.Time) error {
		r.Item = item
		return nil
	})
}

// update changes an open request under the store lock.
func (s *Store) update(ctx context.Context, id string, fn func(*Request, time.Time) error) (Request, error) {
	var r Request
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		now := s.now()
		var err error
		if r, err = get(tx, id, now); err != nil {
			return err
		}
		if r.State != StateOpen {
			return &ClosedError{Req: r}
		}
		if err := fn(&r, now); err != nil {
			return err
		}
		return s.put(tx, r, now)
	})
	return r, err
}

func pick(r *Request, answer string) (string, error) {
	if len(r.Choices) == 0 {
		return answer, nil
	}
	for _, c := range r.Choices {
		if c == answer {
			return c, nil
		}
	}
	if n, err := strconv.Atoi(answer); err == nil {
		if n < 1 || n > len(r.Choices) {
			return "", &ChoiceError{ID: r.ID, Number: n, Choices: r.Choices}
		}
		return r.Choices[n-1], nil
	}
	for _, c := range r.Choices {
		if strings.EqualFold(c, answer) {
			return c, nil
		}
	}
	return answer, nil
}

// Wait returns the request once it is no longer open: answered, expired or
// cancelled. It re-reads the file when pending.db is written (an fsnotify
// watch on its directory), when wake fires (e.g. from a broker event), at
// the expiry, and every Poll as a safety net, so it needs no broker. When
// ctx ends first it returns the request as last read and ctx's error.
func (s *Store) Wait(ctx context.Context, id string, wake <-chan struct{}) (Request, error) {
	changed, stop := watchFile(s.st.Path)
	defer stop()
	poll := s.Poll
	if poll <= 0 {
		poll = PollInterval
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		r, err := s.Get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			return r, err
		}
		if r.State != StateOpen {
			return r, nil
		}
		expiry := time.NewTimer(r.Expires.Sub(s.now()) + 10*time.Millisecond)
		select {
		case <-ctx.Done():
			expiry.Stop()
			return r, ctx.Err()
		case <-changed:
		case <-wake:
		case <-expiry.C:
		case <-ticker.C:
		}
		expiry.Stop()
	}
}

// watchFile signals writes to path. Without inotify (e.g. out of
// instances) it returns a channel that never fires, leaving the poll.
func watchFile(path string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return ch, func() {}
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return ch, func() {}
	}
	name := filepath.Base(path)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) == name && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	// Closing an inotify watcher takes 5-20 ms: do not make the caller wait.
	return ch, func() { close(done); go w.Close() }
}
