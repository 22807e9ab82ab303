package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/origin"
)

// Confirmation is how the agent asks the person before a secret's value
// leaves it, the way ssh-agent's confirm mode does: on the terminal of the
// ce-vault that asked, when that is a person's terminal (not inside a
// session, not a window of ce's tmux server), else through the approvals
// channel (a pending request the person answers with ce-session answer,
// or Telegram). A process inside a session is refused outright.
type Confirmation struct {
	// Values makes every vault.get wait for the person (vault.confirm get
	// or exec: ce-vault exec reads the values through vault.get too).
	Values bool
	// Tool makes sessions' vault_exec wait for the person (vault.confirm
	// tool).
	Tool bool
	// Timeout bounds the wait for an answer.
	Timeout time.Duration
	// TmuxSocket is ce's tmux server, whose windows never confirm.
	TmuxSocket string
	// Ask puts question to the person through the approvals channel and
	// waits: true if allowed, else why not.
	Ask func(ctx context.Context, q Question) (bool, string, error)
}

// Question is what the person is asked to allow.
type Question struct {
	Text string
	// Session is the session asking, when a tool asks.
	Session string
	// PID is the process asking.
	PID int
}

// nonce is a confirmation handed to a ce-vault on a person's terminal,
// valid for its pid and key for a minute.
type nonce struct {
	pid     int
	key     string
	expires time.Time
}

// ConfirmTTL is how long a terminal confirmation may take to come back.
const ConfirmTTL = time.Minute

// SetConfirmation sets how the agent confirms (after a reload, too).
func (a *Agent) SetConfirmation(c Confirmation) {
	a.mu.Lock()
	a.confirm = c
	a.mu.Unlock()
}

func (a *Agent) confirmation() Confirmation {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.confirm
}

// confirmGet decides whether a vault.get may go on: nil to go on, a reply
// asking the caller to confirm on its terminal, or an error.
func (a *Agent) confirmGet(ctx context.Context, req GetRequest) (*GetReply, error) {
	c := a.confirmation()
	pid := bridge.CallerPID(ctx)
	o := origin.Of(ctx, pid, c.TmuxSocket)
	switch {
	case o.Session != "":
		return nil, fmt.Errorf("refused: the caller runs inside session %s, and sessions may not read secret values (use the vault_exec tool)", o.Session)
	case o.CeTmux:
		return nil, fmt.Errorf("refused: %s, where sessions run; read secrets from a terminal of your own", o.Why())
	case !c.Values:
		return nil, nil
	}
	keys := strings.Join(req.Wanted(), ", ")
	terminal := o.TTY != "" && a.sameProgram(pid)
	if req.Confirm != "" {
		if a.takeNonce(req.Confirm, pid, keys) && terminal {
			return nil, nil
		}
		return nil, fmt.Errorf("refused: the confirmation does not match this request (it is valid once, for %s, from the ce-vault it was given to)", ConfirmTTL)
	}
	if terminal && req.Terminal {
		return &GetReply{Confirm: a.newNonce(pid, keys)}, nil
	}
	if c.Ask == nil {
		return nil, fmt.Errorf("refused: reading %s needs the person's confirmation, and there is no terminal to ask on (%s)", keys, whyNot(o))
	}
	what := "Read " + plural(len(req.Wanted()), "secret") + " " + keys
	if req.Purpose == "exec" && req.Program != "" {
		what = "Give " + plural(len(req.Wanted()), "secret") + " " + keys + " to " + req.Program + " (ce-vault exec)"
	}
	ok, why, err := c.Ask(ctx, Question{Text: fmt.Sprintf("%s? Asked by pid %d: %s", what, pid, programName(pid)), PID: pid})
	switch {
	case err != nil:
		return nil, fmt.Errorf("the confirmation could not be asked: %v", err)
	case !ok:
		return nil, fmt.Errorf("refused by the person: %s", why)
	}
	return nil, nil
}

// confirmTool decides whether a session's vault_exec may run.
func (a *Agent) confirmTool(ctx context.Context, req ExecRequest) error {
	c := a.confirmation()
	// Session is the caller's word: every vault.exec is asked about.
	if !c.Tool {
		return nil
	}
	if c.Ask == nil {
		return fmt.Errorf("refused: vault_exec needs the person's confirmation (vault.confirm tool), and nobody can be asked")
	}
	keys := make([]string, 0, len(req.Env))
	for _, k := range req.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pid := bridge.CallerPID(ctx)
	by := fmt.Sprintf("session %s (vault_exec)", req.Session)
	if req.Session == "" {
		by = fmt.Sprintf("pid %d: %s", pid, programName(pid))
	}
	ok, why, err := c.Ask(ctx, Question{Session: req.Session, PID: pid,
		Text: fmt.Sprintf("Run %s with %s %s? Asked by %s", req.Argv[0], plural(len(keys), "secret"), strings.Join(keys, ", "), by)})
	switch {
	case err != nil:
		return fmt.Errorf("the confirmation could not be asked: %v", err)
	case !ok:
		return fmt.Errorf("refused by the person: %s", why)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func whyNot(o origin.Origin) string {
	if w := o.Why(); w != "" {
		return w
	}
	return "the caller has no terminal"
}

// sameProgram reports whether process pid runs this very program: only a
// ce-vault asks on its terminal and sends back what the person typed.
func (a *Agent) sameProgram(pid int) bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	if self, err = bridge.Resolve(self); err != nil {
		return false
	}
	exe, err := bridge.ProgramOf(pid)
	return err == nil && exe == self
}

func programName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "unknown program"
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	args[0] = filepath.Base(args[0])
	s := strings.Join(args, " ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

func (a *Agent) newNonce(pid int, key string) string {
	var b [16]byte
	rand.Read(b[:])
	n := hex.EncodeToString(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nonces == nil {
		a.nonces = map[string]nonce{}
	}
	now := a.Now()
	for k, v := range a.nonces {
		if now.After(v.expires) {
			delete(a.nonces, k)
		}
	}
	a.nonces[n] = nonce{pid: pid, key: key, expires: now.Add(ConfirmTTL)}
	return n
}

// takeNonce uses a confirmation up: valid once, for its pid and key.
func (a *Agent) takeNonce(n string, pid int, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.nonces[n]
	delete(a.nonces, n)
	return ok && v.pid == pid && v.key == key && !a.Now().After(v.expires)
}
