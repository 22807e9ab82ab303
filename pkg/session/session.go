// Package session provides the session records in <state>/sessions.db: one
// JSON record per named session (key "s:<name>"), plus the latest rate-limit
// state per account (key "rl:<account>"). The record layout is an internal
// detail; use this package to read it.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
	"github.com/ce-platform/ce/pkg/text"
	"github.com/tidwall/buntdb"
)

// Statuses of a session. Dead is derived (the tmux session is gone) and
// never stored.
const (
	Idle    = "idle"
	Busy    = "busy"
	Stopped = "stopped"
	Dead    = "dead"
)

// MaxNameLen is the longest session name.
const MaxNameLen = 64

// ErrNotFound means no session has the name.
var ErrNotFound = errors.New("no such session")

// Tokens counts tokens by kind.
type Tokens struct {
	Input         int64 `json:"input"`
	Output        int64 `json:"output"`
	CacheRead     int64 `json:"cache_read"`
	CacheCreation int64 `json:"cache_creation"`
}

// Add adds o to t.
func (t *Tokens) Add(o Tokens) {
	t.Input += o.Input
	t.Output += o.Output
	t.CacheRead += o.CacheRead
	t.CacheCreation += o.CacheCreation
}

// Record is one session.
type Record struct {
	Name     string `json:"name"`
	User     string `json:"user"`
	Slot     int    `json:"slot"`
	Status   string `json:"status"`
	Dir      string `json:"dir"`
	Model    string `json:"model,omitempty"`
	Template string `json:"template,omitempty"`
	// ClaudeSessionID names the conversation; Started is true once a run
	// of it produced a result, so later runs resume it.
	ClaudeSessionID string `json:"claude_session_id"`
	Started         bool   `json:"started"`
	// ConversationCostUSD is claude's running total for the conversation,
	// which its result events report; a run costs the increase.
	ConversationCostUSD float64   `json:"conversation_cost_usd"`
	Prompts             int       `json:"prompts"`
	CostUSD             float64   `json:"cost_usd"`
	Tokens              Tokens    `json:"tokens"`
	DurationMS          int64     `json:"duration_ms"`
	LastError           string    `json:"last_error,omitempty"`
	LastRun             string    `json:"last_run,omitempty"`
	Created             time.Time `json:"created"`
	LastActive          time.Time `json:"last_active"`
	// Queued is filled in by readers from the queue; not stored.
	Queued int `json:"queued"`
}

// RateLimit is the latest rate-limit state seen for an account.
type RateLimit struct {
	Account     string    `json:"account"`
	Status      string    `json:"status"`
	ResetsAt    time.Time `json:"resets_at,omitzero"`
	Type        string    `json:"type,omitempty"`
	Utilization *float64  `json:"utilization,omitempty"`
	Seen        time.Time `json:"seen"`
	Session     string    `json:"session,omitempty"`
}

// NameError is a session name that cannot be used.
type NameError struct{ Reason string }

func (e *NameError) Error() string { return e.Reason }

// ExitCode makes a bad name a usage error (exit 2) for the commands.
func (e *NameError) ExitCode() int { return 2 }

// Hint says what names are allowed.
func (e *NameError) Hint() string { return "session names use letters, digits, '-' and '_'" }

// ValidName checks a session name: letters, digits, '-' and '_', at most
// 64, not starting with '-' (it would read as a flag).
func ValidName(name string) error {
	switch {
	case name == "":
		return &NameError{"session name is empty"}
	case len(name) > MaxNameLen:
		return &NameError{fmt.Sprintf("session name %q is %d characters; at most %d are allowed", name, len(name), MaxNameLen)}
	case !text.IsName(name, "_-", 1, 0):
		return &NameError{fmt.Sprintf("session name %q may only contain letters, digits, '-' and '_'", name)}
	case name[0] == '-':
		return &NameError{fmt.Sprintf("session name %q starts with '-'; start it with a letter, digit or '_'", name)}
	}
	return nil
}

// Store is the session store.
type Store struct {
	st *store.Store
}

// Open returns the session store of a state directory.
func Open(d *statedir.Dir) *Store {
	return &Store{st: store.New(d.SessionsDB(), d.Lock("sessions"))}
}

// Store returns the underlying store, for hooks such as OnCorrupt.
func (s *Store) Store() *store.Store { return s.st }

func key(name string) string { return "s:" + name }

// SlotError is returned when a user has no free slot.
type SlotError struct {
	User string
	Max  int
}

func (e *SlotError) Error() string {
	return fmt.Sprintf("user %q already has %d sessions (sessions.max_per_user)", e.User, e.Max)
}

// Hint says how to free a slot.
func (e *SlotError) Hint() string {
	return "remove one with ce-session rm NAME, or raise sessions.max_per_user"
}

// ExistsError is returned when creating a session whose name is taken.
type ExistsError struct{ Name string }

func (e *ExistsError) Error() string { return fmt.Sprintf("session %q already exists", e.Name) }

// Hint says how to go on.
func (e *ExistsError) Hint() string {
	return "pick another name, or see it with ce-session show " + e.Name
}

// Create stores a new session, giving it the lowest free slot of its user.
func (s *Store) Create(ctx context.Context, rec Record, maxPerUser int) (Record, error) {
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		if _, err := tx.Get(key(rec.Name)); err == nil {
			return &ExistsError{Name: rec.Name}
		}
		used := map[int]bool{}
		err := scan(tx, func(r Record) bool {
			if r.User == rec.User {
				used[r.Slot] = true
			}
			return true
		})
		if err != nil {
			return err
		}
		rec.Slot = 0
		for i := 1; i <= maxPerUser; i++ {
			if !used[i] {
				rec.Slot = i
				break
			}
		}
		if rec.Slot == 0 {
			return &SlotError{User: rec.User, Max: maxPerUser}
		}
		return put(tx, rec)
	})
	return rec, err
}

func put(tx *buntdb.Tx, rec Record) error {
	rec.Queued = 0
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(key(rec.Name), string(b), nil)
	return err
}

func scan(tx *buntdb.Tx, fn func(Record) bool) error {
	var err error
	tx.AscendKeys("s:*", func(k, v string) bool {
		var r Record
		if e := json.Unmarshal([]byte(v), &r); e != nil {
			err = fmt.Errorf("session record %s: %w", k, e)
			return false
		}
		return fn(r)
	})
	return err
}

// Get returns one session.
func (s *Store) Get(ctx context.Context, name string) (Record, error) {
	var rec Record
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		v, err := tx.Get(key(name))
		if errors.Is(err, buntdb.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(v), &rec)
	})
	return rec, err
}

// List returns the sessions of user (all when user is ""), by name.
func (s *Store) List(ctx context.Context, user string) ([]Record, error) {
	var out []Record
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		return scan(tx, func(r Record) bool {
			if user == "" || r.User == user {
				out = append(out, r)
			}
			return true
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Update changes one session under the store lock.
func (s *Store) Update(ctx context.Context, name string, fn func(*Record) error) (Record, error) {
	var rec Record
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		v, err := tx.Get(key(name))
		if errors.Is(err, buntdb.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		return put(tx, rec)
	})
	return rec, err
}

// Delete removes a session record.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.st.Update(ctx, func(tx *buntdb.Tx) error {
		_, err := tx.Delete(key(name))
		if errors.Is(err, buntdb.ErrNotFound) {
			return ErrNotFound
		}
		return err
	})
}

// Rename moves a session record to a new name.
func (s *Store) Rename(ctx context.Context, old, new string) (Record, error) {
	var rec Record
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		if _, err := tx.Get(key(new)); err == nil {
			return &ExistsError{Name: new}
		}
		v, err := tx.Get(key(old))
		if errors.Is(err, buntdb.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(v), &rec); err != nil {
			return err
		}
		rec.Name = new
		if _, err := tx.Delete(key(old)); err != nil {
			return err
		}
		return put(tx, rec)
	})
	return rec, err
}

// SetRateLimit stores the latest rate-limit state of an account.
func (s *Store) SetRateLimit(ctx context.Context, rl RateLimit) error {
	b, err := json.Marshal(rl)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx *buntdb.Tx) error {
		_, _, err := tx.Set("rl:"+rl.Account, string(b), nil)
		return err
	})
}

// RateLimits returns the stored rate-limit states.
func (s *Store) RateLimits(ctx context.Context) ([]RateLimit, error) {
	var out []RateLimit
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		tx.AscendKeys("rl:*", func(k, v string) bool {
			var rl RateLimit
			if json.Unmarshal([]byte(v), &rl) == nil {
				out = append(out, rl)
			}
			return true
		})
		return nil
	})
	return out, err
}
