package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/eventlog"

	"github.com/ce-platform/ce/pkg/statedir"
)

// TriggerRequest is a trigger as the broker's heartbeat.trigger method and
// topic carry it.
type TriggerRequest struct {
	Urgency string `json:"urgency,omitempty"` // now or normal (default)
	Force   bool   `json:"force,omitempty"`
	Source  string `json:"source,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// CheckUrgency accepts "", "normal" and "now".
func CheckUrgency(u string) (string, error) {
	switch u {
	case "", UrgencyNormal:
		return UrgencyNormal, nil
	case UrgencyNow:
		return UrgencyNow, nil
	}
	return "", fmt.Errorf("unknown urgency %q (use now or normal)", u)
}

// Trigger records a trigger and returns when the next beat is due. A
// trigger waits in heartbeat.db for the next beat (serve watches the file),
// so none is lost when no daemon runs; triggers that meet merge, the most
// urgent one winning.
func (e *Engine) Trigger(ctx context.Context, req TriggerRequest) (time.Time, error) {
	u, err := CheckUrgency(req.Urgency)
	if err != nil {
		return time.Time{}, err
	}
	now := e.now()
	base := time.Duration(e.hb().Interval)
	var due time.Time
	t := Trigger{Urgency: u, Force: req.Force, Source: req.Source, Reason: oneLine(req.Reason, 300), At: now}
	_, err = e.update(ctx, nil, func(s *State) error {
		if old := s.Trigger; old != nil {
			if old.Urgency == UrgencyNow {
				t.Urgency = UrgencyNow
			}
			t.Force = t.Force || old.Force
		}
		s.Trigger = &t
		due = s.dueAt(base)
		return nil
	})
	if err != nil {
		return due, err
	}
	e.emit(eventlog.HeartbeatTrigger, e.hb().Session, "", map[string]any{"urgency": u, "force": req.Force, "source": req.Source, "reason": t.Reason})
	return due, nil
}

// Pause turns the pause switch on, for d (0: until Resume).
func (e *Engine) Pause(ctx context.Context, d time.Duration, reason, by string) (State, error) {
	if d < 0 {
		return State{}, errors.New("a pause cannot last a negative time")
	}
	now := e.now()
	st, err := e.update(ctx, nil, func(s *State) error {
		s.Paused, s.PausedUntil, s.PauseReason = true, time.Time{}, reason
		if d > 0 {
			s.PausedUntil = now.Add(d)
		}
		if s.PauseReason == "" {
			s.PauseReason = "by " + by
		}
		return nil
	})
	if err == nil {
		e.emit(eventlog.HeartbeatPaused, e.hb().Session, "", map[string]any{"by": by, "reason": st.PauseReason, "until": st.PausedUntil.UTC()})
	}
	return st, err
}

// ResumeOptions say what Resume clears besides the pause switch.
type ResumeOptions struct {
	// Safety also clears an authentication pause and the circuit breaker:
	// a person says the cause is fixed. Sessions may only flip the switch.
	Safety bool
	By     string
}

// Resume turns the pause switch off (and, with Safety, the valves that
// failures closed) and reports what it cleared.
func (e *Engine) Resume(ctx context.Context, opts ResumeOptions) (State, []string, error) {
	var cleared []string
	now := e.now()
	base := time.Duration(e.hb().Interval)
	st, err := e.update(ctx, nil, func(s *State) error {
		cleared = nil
		if s.Paused {
			cleared = append(cleared, "pause")
		}
		s.Paused, s.PausedUntil, s.PauseReason = false, time.Time{}, ""
		if opts.Safety {
			if s.AuthPaused {
				cleared = append(cleared, "auth")
			}
			if s.Failures > 0 || !s.BackoffUntil.IsZero() {
				cleared = append(cleared, "breaker")
			}
			s.AuthPaused, s.AuthReason, s.AuthSince = false, "", time.Time{}
			s.Failures, s.BackoffUntil = 0, time.Time{}
		}
		// A beat stopped by what was cleared may be a day away: bring
		// it back to at most one interval after the last beat.
		if len(cleared) > 0 {
			back := s.LastBeat.Add(base)
			if back.Before(now) {
				back = now
			}
			if back.Before(s.NextBeat) {
				s.NextBeat = back
			}
		}
		return nil
	})
	if err == nil {
		e.emit(eventlog.HeartbeatResumed, e.hb().Session, "", map[string]any{"by": opts.By, "cleared": cleared})
	}
	return st, cleared, err
}

// InstructionsPath is the checklist file.
func (e *Engine) InstructionsPath() (string, error) { return e.Config().HeartbeatInstructions() }

// SetInstructions replaces the checklist (atomically, mode 0600).
func (e *Engine) SetInstructions(text string) (string, error) {
	if len(text) > MaxInstructions {
		return "", fmt.Errorf("the instructions are %d bytes; at most %d are kept", len(text), MaxInstructions)
	}
	path, err := e.InstructionsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return path, err
	}
	if err := statedir.WriteFile(path, []byte(text), 0o600); err != nil {
		return path, err
	}
	e.emit(eventlog.HeartbeatInstructions, e.hb().Session, "", map[string]any{"path": path, "bytes": len(text)})
	return path, nil
}
