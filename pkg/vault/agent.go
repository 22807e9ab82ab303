package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"filippo.io/age"
)

// The agent's methods on the broker. Each takes and returns the JSON of
// the types below; a failed call is an error answer whose message is for
// people and never holds a secret.
const (
	// MethodGet returns a secret's value: GetRequest -> GetReply.
	MethodGet = "vault.get"
	// MethodStatus says whether the agent is unlocked: -> Status.
	MethodStatus = "vault.status"
	// MethodLock drops the identity: -> LockReply.
	MethodLock = "vault.lock"
	// MethodUnlock unlocks the agent: UnlockRequest -> Status.
	MethodUnlock = "vault.unlock"
	// MethodExec runs an allowed command with secrets in its environment
	// and returns its redacted output: ExecRequest -> ExecReply.
	MethodExec = "vault.exec"
)

// Methods are all the methods the agent provides.
var Methods = []string{MethodGet, MethodStatus, MethodLock, MethodUnlock, MethodExec}

// GetRequest asks for one secret (Key) or several (Keys): several are
// confirmed with one question.
type GetRequest struct {
	Key  string   `json:"key,omitempty"`
	Keys []string `json:"keys,omitempty"`
	// Terminal says the caller can ask the person on its terminal, should
	// the agent want a confirmation; Confirm carries that confirmation
	// back (the nonce of GetReply.Confirm).
	Terminal bool   `json:"terminal,omitempty"`
	Confirm  string `json:"confirm,omitempty"`
	// Purpose ("get" or "exec") and Program word the question the person
	// is asked; they decide nothing.
	Purpose string `json:"purpose,omitempty"`
	Program string `json:"program,omitempty"`
}

// Wanted are the keys asked for.
func (r GetRequest) Wanted() []string {
	if len(r.Keys) > 0 {
		return r.Keys
	}
	return []string{r.Key}
}

// GetReply carries a secret's value (Values for a request of Keys), or
// Locked when the agent holds no identity (the caller then needs the
// passphrase), or Confirm: the caller asks the person on its terminal and,
// if allowed, asks again with it.
type GetReply struct {
	Locked  bool              `json:"locked,omitempty"`
	Value   []byte            `json:"value,omitempty"`
	Values  map[string][]byte `json:"values,omitempty"`
	Confirm string            `json:"confirm,omitempty"`
}

// UnlockRequest carries the passphrase to the agent.
type UnlockRequest struct {
	Passphrase string `json:"passphrase"`
}

// Status is the agent's state.
type Status struct {
	Unlocked   bool       `json:"unlocked"`
	PID        int        `json:"pid"`
	Vault      string     `json:"vault"`
	UnlockedAt *time.Time `json:"unlocked_at,omitempty"`
	LastUsed   *time.Time `json:"last_used,omitempty"`
	// IdleTimeoutMS is vault.agent_timeout; 0 never locks by itself.
	IdleTimeoutMS int64 `json:"idle_timeout_ms"`
	// LocksAt is when the agent locks itself unless it is used before.
	LocksAt *time.Time `json:"locks_at,omitempty"`
}

// LockReply says whether the agent held an identity before the lock.
type LockReply struct {
	WasUnlocked bool `json:"was_unlocked"`
}

// Agent holds the unlocked identity in memory, answers the methods above
// (Handle) and locks itself after its idle timeout (Watch). The identity
// never leaves the process; only values of secrets and redacted command
// output do.
type Agent struct {
	vault *Vault
	// Now is the agent's clock; tests replace it.
	Now func() time.Time

	mu         sync.Mutex
	id         *age.X25519Identity
	unlockedAt time.Time
	lastUsed   time.Time
	timeout    time.Duration
	allow      []string
	wake       chan struct{}
	confirm    Confirmation
	nonces     map[string]nonce
}

// NewAgent returns a locked agent of v that locks itself after timeout
// without use (0: never) and lets vault.exec run the programs matching
// allow (see Allowed).
func NewAgent(v *Vault, timeout time.Duration, allow []string) *Agent {
	return &Agent{vault: v, Now: time.Now, timeout: timeout, allow: allow, wake: make(chan struct{}, 1)}
}

// Configure changes the idle timeout and the exec allowlist (after a
// configuration reload).
func (a *Agent) Configure(timeout time.Duration, allow []string) {
	a.mu.Lock()
	a.timeout, a.allow = timeout, allow
	a.mu.Unlock()
	a.poke()
}

func (a *Agent) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Unlock decrypts the identity with passphrase and keeps it. A wrong
// passphrase leaves the agent as it was.
func (a *Agent) Unlock(passphrase string) error {
	id, err := a.vault.Unlock(passphrase)
	if err != nil {
		return err
	}
	a.mu.Lock()
	now := a.Now()
	a.id, a.unlockedAt, a.lastUsed = id, now, now
	a.mu.Unlock()
	a.poke()
	return nil
}

// Lock drops the identity and reports whether the agent held one.
func (a *Agent) Lock() bool {
	a.mu.Lock()
	was := a.id != nil
	a.id = nil
	a.mu.Unlock()
	a.poke()
	return was
}

// Unlocked reports whether the agent holds the identity.
func (a *Agent) Unlocked() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.id != nil
}

// identity returns the identity and counts the call as a use.
func (a *Agent) identity() *age.X25519Identity {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.id != nil {
		a.lastUsed = a.Now()
	}
	return a.id
}

// Expire locks the agent if it has not been used for its idle timeout, and
// reports whether it did.
func (a *Agent) Expire() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.id == nil || a.timeout <= 0 || a.Now().Sub(a.lastUsed) < a.timeout {
		return false
	}
	a.id = nil
	return true
}

// locksAt is when the agent will lock itself; zero when it never will.
func (a *Agent) locksAt() time.Time {
	if a.id == nil || a.timeout <= 0 {
		return time.Time{}
	}
	return a.lastUsed.Add(a.timeout)
}

// Status returns the agent's state.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Unlocked: a.id != nil, PID: os.Getpid(), Vault: a.vault.Dir, IdleTimeoutMS: a.timeout.Milliseconds()}
	if a.id != nil {
		u, l := a.unlockedAt, a.lastUsed
		s.UnlockedAt, s.LastUsed = &u, &l
		if t := a.locksAt(); !t.IsZero() {
			s.LocksAt = &t
		}
	}
	return s
}

// Watch locks the agent when its idle timeout passes, until ctx is done;
// onLock is called after each such lock. It sleeps between deadlines, and
// never polls.
func (a *Agent) Watch(ctx context.Context, onLock func()) {
	for {
		a.mu.Lock()
		at := a.locksAt()
		a.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if !at.IsZero() {
			timer = time.NewTimer(max(at.Sub(a.Now()), 0))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-a.wake:
		case <-fire:
			if a.Expire() && onLock != nil {
				onLock()
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Handle answers one call of a method of the agent; it is the handler the
// agent gives the broker.
func (a *Agent) Handle(ctx context.Context, method string, params json.RawMessage) (any, error) {
	switch method {
	case MethodStatus:
		return a.Status(), nil
	case MethodLock:
		return LockReply{WasUnlocked: a.Lock()}, nil
	case MethodUnlock:
		var req UnlockRequest
		if err := decode(params, &req); err != nil {
			return nil, err
		}
		if err := a.Unlock(req.Passphrase); err != nil {
			return nil, err
		}
		return a.Status(), nil
	case MethodGet:
		// Sessions may store, list and use secrets, never read them; the
		// person confirms what a value is read for (Confirmation).
		var req GetRequest
		if err := decode(params, &req); err != nil {
			return nil, err
		}
		keys := req.Wanted()
		for _, k := range keys {
			if err := ValidKey(k); err != nil {
				return nil, err
			}
		}
		if !a.Unlocked() {
			return GetReply{Locked: true}, nil
		}
		if rep, err := a.confirmGet(ctx, req); rep != nil || err != nil {
			return rep, err
		}
		id := a.identity()
		if id == nil {
			return GetReply{Locked: true}, nil
		}
		values := make(map[string][]byte, len(keys))
		for _, k := range keys {
			value, err := a.vault.Get(ctx, id, k)
			if err != nil {
				return nil, err
			}
			values[k] = value
		}
		if len(req.Keys) == 0 {
			return GetReply{Value: values[req.Key]}, nil
		}
		return GetReply{Values: values}, nil
	case MethodExec:
		var req ExecRequest
		if err := decode(params, &req); err != nil {
			return nil, err
		}
		return a.exec(ctx, req)
	}
	return nil, fmt.Errorf("the vault agent has no method %s", method)
}

func decode(params json.RawMessage, v any) error {
	if len(params) == 0 {
		return errors.New("the call has no params")
	}
	if err := json.Unmarshal(params, v); err != nil {
		return fmt.Errorf("bad params: %v", err)
	}
	return nil
}

// exec runs req for vault.exec: the program must match the allowlist, and
// the agent must be unlocked.
func (a *Agent) exec(ctx context.Context, req ExecRequest) (ExecReply, error) {
	if err := req.check(); err != nil {
		return ExecReply{}, err
	}
	a.mu.Lock()
	allow := a.allow
	a.mu.Unlock()
	program, err := Allowed(allow, req.Argv[0], req.Dir)
	if err != nil {
		return ExecReply{}, err
	}
	if !a.Unlocked() {
		return ExecReply{Locked: true}, nil
	}
	if err := a.confirmTool(ctx, req); err != nil {
		return ExecReply{}, err
	}
	id := a.identity()
	if id == nil {
		return ExecReply{Locked: true}, nil
	}
	secrets, err := a.vault.Secrets(ctx, id, req.Env)
	if err != nil {
		return ExecReply{}, err
	}
	return Run(ctx, program, req, secrets), nil
}
