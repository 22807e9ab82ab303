// Package tmux drives ce's own tmux server (socket <state>/tmux.sock), which
// hosts one tmux session "ce-<name>" per ce session. Using a private socket
// leaves the user's tmux untouched and keeps state directories (and parallel
// tests) apart.
package tmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Prefix starts the name of every tmux session ce creates.
const Prefix = "ce-"

// Server is ce's tmux server at one socket.
type Server struct {
	Socket string
	// Env is the environment for the tmux client; a server it starts
	// inherits it, and so do the programs the server runs.
	Env []string
}

// ErrNoServer means no tmux server runs on the socket.
var ErrNoServer = errors.New("no tmux server")

// SessionName is the tmux session of a ce session.
func SessionName(name string) string { return Prefix + name }

func (s *Server) run(ctx context.Context, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "tmux", append([]string{"-S", s.Socket}, args...)...)
	cmd.Env = clientEnv(s.Env)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("tmux is not installed: install tmux 3 or later (e.g. apt-get install tmux)")
		}
		if strings.Contains(msg, "no server running") || strings.Contains(msg, "error connecting to") {
			return "", ErrNoServer
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("tmux %s: %s", args[0], msg)
	}
	return out.String(), nil
}

// clientEnv drops TMUX so that ce works from inside the user's own tmux.
func clientEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "TMUX=") || strings.HasPrefix(kv, "TMUX_PANE=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// NewSession creates a detached session running argv in dir. The pane stays
// after its program exits (remain-on-exit), so a dead runner is visible and
// can be respawned.
func (s *Server) NewSession(ctx context.Context, name, dir string, argv []string) error {
	args := []string{"new-session", "-d", "-s", SessionName(name), "-x", "200", "-y", "50"}
	if dir != "" {
		args = append(args, "-c", dir)
	}
	args = append(args, ShellQuote(argv))
	if _, err := s.run(ctx, args...); err != nil {
		return err
	}
	_, err := s.run(ctx, "set-option", "-t", SessionName(name), "remain-on-exit", "on")
	return err
}

// Respawn restarts the program of the session's first pane.
func (s *Server) Respawn(ctx context.Context, name, dir string, argv []string) error {
	args := []string{"respawn-pane", "-k", "-t", SessionName(name) + ":0.0"}
	if dir != "" {
		args = append(args, "-c", dir)
	}
	args = append(args, ShellQuote(argv))
	_, err := s.run(ctx, args...)
	return err
}

// HasSession reports whether the tmux session of name exists.
func (s *Server) HasSession(ctx context.Context, name string) (bool, error) {
	_, err := s.run(ctx, "has-session", "-t", "="+SessionName(name))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrNoServer) || strings.Contains(err.Error(), "can't find session") {
		return false, nil
	}
	return false, err
}

// Sessions lists the ce session names that have a tmux session.
func (s *Server) Sessions(ctx context.Context) (map[string]bool, error) {
	out, err := s.run(ctx, "list-sessions", "-F", "#{session_name}")
	if errors.Is(err, ErrNoServer) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(l), Prefix); ok {
			m[n] = true
		}
	}
	return m, nil
}

// PanePID returns the pid of the program in the session's first pane, or 0
// when the pane's program has exited.
func (s *Server) PanePID(ctx context.Context, name string) (int, error) {
	out, err := s.run(ctx, "display-message", "-p", "-t", SessionName(name)+":0.0", "#{pane_dead} #{pane_pid}")
	if err != nil {
		return 0, err
	}
	dead, pid, _ := strings.Cut(strings.TrimSpace(out), " ")
	if dead == "1" {
		return 0, nil
	}
	return strconv.Atoi(pid)
}

// PaneTTYs lists the terminals of every pane of the server.
func (s *Server) PaneTTYs(ctx context.Context) ([]string, error) {
	out, err := s.run(ctx, "list-panes", "-a", "-F", "#{pane_tty}")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// KillSession kills the tmux session of name; a missing session is not an
// error.
func (s *Server) KillSession(ctx context.Context, name string) error {
	_, err := s.run(ctx, "kill-session", "-t", "="+SessionName(name))
	if err != nil && (errors.Is(err, ErrNoServer) || strings.Contains(err.Error(), "can't find session")) {
		return nil
	}
	return err
}

// RenameSession renames the tmux session of old to new.
func (s *Server) RenameSession(ctx context.Context, old, new string) error {
	_, err := s.run(ctx, "rename-session", "-t", "="+SessionName(old), SessionName(new))
	return err
}

// KillServer stops the tmux server and every session in it.
func (s *Server) KillServer(ctx context.Context) error {
	_, err := s.run(ctx, "kill-server")
	if errors.Is(err, ErrNoServer) {
		return nil
	}
	return err
}

// AttachCommand returns the command that attaches a terminal to the session.
func (s *Server) AttachCommand(name string) *exec.Cmd {
	cmd := exec.Command("tmux", "-S", s.Socket, "attach-session", "-t", "="+SessionName(name))
	cmd.Env = clientEnv(s.Env)
	return cmd
}

// Version returns tmux's major and minor version.
func Version(ctx context.Context) (major, minor int, raw string, err error) {
	out, err := exec.CommandContext(ctx, "tmux", "-V").Output()
	if err != nil {
		return 0, 0, "", fmt.Errorf("tmux not found: install tmux 3 or later")
	}
	raw = strings.TrimSpace(string(out))
	v := strings.TrimPrefix(raw, "tmux ")
	v = strings.TrimPrefix(v, "next-")
	maj, rest, _ := strings.Cut(v, ".")
	major, _ = strconv.Atoi(maj)
	digits := strings.TrimRightFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	minor, _ = strconv.Atoi(digits)
	return major, minor, raw, nil
}

// ShellQuote joins argv into one string that /bin/sh splits back into argv.
func ShellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '/' || r == '-' || r == '_' || r == '.' || r == '=' || r == ':' || r == ',' ||
				(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
		}) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}
