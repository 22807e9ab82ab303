package bridge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Owner reserves a namespace of methods to one program: only a process
// whose executable is Program may provide a method starting with Prefix.
// The broker of a ce installation reserves vault.*, heartbeat.*, queue.*,
// cron.* and telegram.* (their health methods included) to the ce programs
// installed beside it, so that a process of the same user (a session's
// tool, say) cannot take the vault's methods and receive the passphrase
// meant for the agent.
type Owner struct {
	Prefix  string
	Program string
}

// Owners returns the reservations of ce's own namespaces to the programs
// that resolve(name) finds, e.g. binpath.Find with symlinks resolved.
func Owners(resolve func(program string) (string, error)) ([]Owner, error) {
	var out []Owner
	for _, ns := range []struct{ prefix, program string }{
		{"vault.", "ce-vault"}, {"heartbeat.", "ce-heartbeat"}, {"queue.", "ce-queue"},
		{"cron.", "ce-cron"}, {"telegram.", "ce-telegram"}, {"agents.", "ce-agent"},
	} {
		path, err := resolve(ns.program)
		if err != nil {
			continue // not installed: nobody may provide its namespace
		}
		out = append(out, Owner{Prefix: ns.prefix, Program: path})
	}
	if len(out) == 0 {
		return nil, errors.New("none of ce's programs was found beside the broker or on PATH")
	}
	return out, nil
}

// ProgramOf returns the executable a process runs, symlinks resolved.
func ProgramOf(pid int) (string, error) {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(exe, " (deleted)"), nil
}

// Resolve returns path with symlinks resolved, for comparison with what
// ProgramOf returns.
func Resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// owner returns the reservation covering method, if any.
func (s *Server) owner(method string) (Owner, bool) {
	best, found := Owner{}, false
	for _, o := range s.Owners {
		if strings.HasPrefix(method, o.Prefix) && len(o.Prefix) > len(best.Prefix) {
			best, found = o, true
		}
	}
	return best, found
}

// checkOwner refuses a provider of a reserved method that is not the
// program it is reserved to.
func (s *Server) checkOwner(c *conn, method string) *RPCError {
	o, ok := s.owner(method)
	if !ok {
		return nil
	}
	exe, err := ProgramOf(c.pid)
	if err == nil && exe == o.Program {
		return nil
	}
	if exe == "" {
		exe = "an unknown program"
	}
	s.log.Warn().Int("pid", c.pid).Str("exe", exe).Str("method", method).Str("owner", o.Program).
		Msg("refused a provider of a reserved method")
	return rpcErrorf(CodeForbidden, "%s is reserved to %s; pid %d runs %s", method, o.Program, c.pid, exe)
}

// BrokerProgram connects to the broker at socket and returns the pid and
// executable of the process that answers: clients about to send something
// secret check that it is ce's own broker.
func BrokerProgram(socket string) (int, string, error) {
	nc, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer nc.Close()
	pid, _, err := peerCred(nc)
	if err != nil {
		return 0, "", err
	}
	exe, err := ProgramOf(pid)
	if err != nil {
		return pid, "", fmt.Errorf("cannot tell what pid %d runs: %w", pid, err)
	}
	return pid, exe, nil
}
