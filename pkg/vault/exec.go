package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/tidwall/buntdb"
)

// Limits of vault.exec.
const (
	DefaultExecTimeout = time.Minute
	MaxExecTimeout     = 10 * time.Minute
	// MaxOutput is the most output (stdout and stderr together) returned.
	MaxOutput = 64 << 10
	maxArgs   = 256
	maxArgLen = 64 << 10
	maxEnv    = 32
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ExecRequest asks the agent to run a command with secrets in its
// environment. No shell is involved: Argv is the program and its
// arguments.
type ExecRequest struct {
	Argv []string `json:"argv"`
	// Dir is the working directory (absolute); empty is the agent's.
	Dir string `json:"dir,omitempty"`
	// Env maps environment variable names to the keys of their secrets.
	Env       map[string]string `json:"env"`
	TimeoutMS int64             `json:"timeout_ms,omitempty"`
	// Session is who asks, for the agent's log.
	Session string `json:"session,omitempty"`
}

// ExecReply is the outcome of a command run for vault.exec.
type ExecReply struct {
	// Locked: the agent holds no identity; nothing was run.
	Locked bool `json:"locked,omitempty"`
	// Program is the file that was run.
	Program  string `json:"program,omitempty"`
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"`
	// Output is stdout and stderr as they interleaved, every secret value
	// replaced by "[redacted:<key>]", cut at MaxOutput bytes.
	Output     string `json:"output"`
	Truncated  bool   `json:"truncated,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// Error says why the command could not be started.
	Error string `json:"error,omitempty"`
}

// Timeout is the request's timeout, defaulted and capped.
func (r ExecRequest) Timeout() time.Duration {
	d := time.Duration(r.TimeoutMS) * time.Millisecond
	switch {
	case d <= 0:
		return DefaultExecTimeout
	case d > MaxExecTimeout:
		return MaxExecTimeout
	}
	return d
}

// check validates a request before anything is decrypted.
func (r ExecRequest) check() error {
	switch {
	case len(r.Argv) == 0 || r.Argv[0] == "":
		return errors.New("no command: argv needs at least the program")
	case len(r.Argv) > maxArgs:
		return fmt.Errorf("the command has %d arguments, at most %d are allowed", len(r.Argv), maxArgs)
	case r.Dir != "" && !filepath.IsAbs(r.Dir):
		return fmt.Errorf("the working directory must be absolute, got %q", r.Dir)
	case len(r.Env) == 0:
		return errors.New("no secret to pass: env maps variable names to secret keys")
	case len(r.Env) > maxEnv:
		return fmt.Errorf("%d secrets asked for, at most %d are allowed", len(r.Env), maxEnv)
	}
	n := 0
	for _, a := range r.Argv {
		n += len(a)
		if strings.ContainsRune(a, 0) {
			return errors.New("an argument contains a NUL byte")
		}
	}
	if n > maxArgLen {
		return fmt.Errorf("the arguments are %d bytes, at most %d are allowed", n, maxArgLen)
	}
	return CheckEnv(r.Env)
}

// CheckEnv checks a map of environment variable names to secret keys.
func CheckEnv(env map[string]string) error {
	for _, name := range sortedNames(env) {
		if !envNameRE.MatchString(name) {
			return fmt.Errorf("%q is not an environment variable name (letters, digits and _, not starting with a digit)", name)
		}
		if err := ValidKey(env[name]); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DeniedError is the error for a program that vault.exec_allow does not
// allow.
type DeniedError struct {
	Program string
	Allow   []string
}

func (e *DeniedError) Error() string {
	if len(e.Allow) == 0 {
		return fmt.Sprintf("denied: vault.exec_allow in the configuration allows no command, so %s may not run with secrets", e.Program)
	}
	return fmt.Sprintf("denied: %s does not match vault.exec_allow (%s)", e.Program, strings.Join(e.Allow, ", "))
}

// Allowed decides whether program (argv[0] of a command run in dir) may
// run with secrets, and returns the file to run. A pattern without '/'
// matches a program named by a bare word, which is then looked up in
// PATH; a pattern with '/' matches the program's absolute path, whether
// it was given as a path or found in PATH. Patterns use path.Match.
func Allowed(patterns []string, program, dir string) (string, error) {
	denied := &DeniedError{Program: program, Allow: patterns}
	if strings.Contains(program, "/") {
		file := program
		if !filepath.IsAbs(file) {
			if dir == "" {
				return "", fmt.Errorf("%s is a relative path and there is no working directory", program)
			}
			file = filepath.Join(dir, file)
		}
		file = filepath.Clean(file)
		for _, p := range patterns {
			if strings.Contains(p, "/") && match(p, file) {
				return file, nil
			}
		}
		return "", denied
	}
	found, lookErr := exec.LookPath(program)
	if lookErr == nil && !filepath.IsAbs(found) {
		lookErr = fmt.Errorf("%s resolves to a relative path", program)
	}
	for _, p := range patterns {
		var ok bool
		if strings.Contains(p, "/") {
			ok = lookErr == nil && match(p, found)
		} else {
			ok = match(p, program)
		}
		if ok {
			if lookErr != nil {
				return "", fmt.Errorf("%s is allowed but cannot be run: %v", program, lookErr)
			}
			return found, nil
		}
	}
	return "", denied
}

func match(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// Secret is a decrypted secret bound to an environment variable.
type Secret struct {
	Name  string
	Key   string
	Value []byte
}

// Secrets decrypts the secrets that env (variable name -> key) names, in
// one read of the store.
func (v *Vault) Secrets(ctx context.Context, id age.Identity, env map[string]string) ([]Secret, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	if !v.Exists() {
		return nil, v.noVault()
	}
	cts := map[string][]byte{}
	err := v.store.View(ctx, func(tx *buntdb.Tx) error {
		for _, name := range sortedNames(env) {
			key := env[name]
			if _, done := cts[key]; done {
				continue
			}
			r, ok, err := get(tx, key)
			if err != nil {
				return err
			}
			if !ok {
				return v.notFound(key)
			}
			cts[key] = r.Ciphertext
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Secret
	for _, name := range sortedNames(env) {
		key := env[name]
		value, err := decrypt(id, key, cts[key])
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(value, 0) >= 0 {
			return nil, fmt.Errorf("secret %q contains a NUL byte, so it cannot be passed in an environment variable", key)
		}
		out = append(out, Secret{Name: name, Key: key, Value: value})
	}
	return out, nil
}

// Env returns base with the secrets set, replacing variables of the same
// names.
func Env(base []string, secrets []Secret) []string {
	out := make([]string, 0, len(base)+len(secrets))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(secrets, func(s Secret) bool { return s.Name == name }) {
			out = append(out, kv)
		}
	}
	for _, s := range secrets {
		out = append(out, s.Name+"="+string(s.Value))
	}
	return out
}

// agentEnv is the environment of commands the agent runs: its own,
// without ce's variables (CE_VAULT_PASSPHRASE_FILE among them).
func agentEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CE_") {
			out = append(out, kv)
		}
	}
	return out
}

// Run runs program with req's arguments and the secrets in its
// environment, stdin empty, and returns the redacted output. It kills the
// command's process group when the timeout passes or ctx ends.
func Run(ctx context.Context, program string, req ExecRequest, secrets []Secret) ExecReply {
	ctx, cancel := context.WithTimeout(ctx, req.Timeout())
	defer cancel()
	longest := 0
	for _, s := range secrets {
		longest = max(longest, len(forms(s.Value)[0]))
	}
	out := &capture{limit: MaxOutput + longest}
	cmd := exec.CommandContext(ctx, program, req.Argv[1:]...)
	cmd.Args[0] = req.Argv[0]
	cmd.Dir = req.Dir
	cmd.Env = Env(agentEnv(), secrets)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	rep := ExecReply{Program: program, DurationMS: time.Since(start).Milliseconds()}
	if cmd.ProcessState == nil {
		rep.ExitCode = -1
		rep.Error = Redact([]byte(err.Error()), secrets)
		return rep
	}
	rep.ExitCode = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rep.Signal = ws.Signal().String()
		rep.ExitCode = 128 + int(ws.Signal())
	}
	rep.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	text := Redact(out.buf, secrets)
	if out.dropped > 0 || len(text) > MaxOutput {
		rep.Truncated = true
		text = trimPartial(text[:min(len(text), MaxOutput)], secrets)
	}
	rep.Output = text
	return rep
}

// capture keeps the first limit bytes written to it.
type capture struct {
	limit   int
	buf     []byte
	dropped int
}

func (c *capture) Write(p []byte) (int, error) {
	n := min(len(p), c.limit-len(c.buf))
	c.buf = append(c.buf, p[:n]...)
	c.dropped += len(p) - n
	return len(p), nil
}

// forms are the ways a value is commonly printed: as it is, without
// surrounding white space, in base64 and in hex. The longest comes first.
func forms(value []byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range []string{
		string(value),
		strings.TrimSpace(string(value)),
		base64.StdEncoding.EncodeToString(value),
		base64.RawStdEncoding.EncodeToString(value),
		base64.URLEncoding.EncodeToString(value),
		base64.RawURLEncoding.EncodeToString(value),
		hex.EncodeToString(value),
	} {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Redact replaces every occurrence of the secrets' values in text (as they
// are, trimmed, in base64 or in hex) by "[redacted:<key>]". It is a last
// line of defence against a command that prints what it was given, not a
// guarantee: a command can always transform a value beyond recognition.
func Redact(text []byte, secrets []Secret) string {
	type form struct{ s, key string }
	var all []form
	for _, s := range secrets {
		for _, f := range forms(s.Value) {
			if f != "" {
				all = append(all, form{f, s.Key})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return len(all[i].s) > len(all[j].s) })
	out := string(text)
	for _, f := range all {
		out = strings.ReplaceAll(out, f.s, "[redacted:"+f.key+"]")
	}
	return out
}

// trimPartial cuts a tail of text that could be the start of a secret cut
// off by truncation.
func trimPartial(text string, secrets []Secret) string {
	for _, s := range secrets {
		for _, f := range forms(s.Value) {
			for k := min(len(f)-1, len(text)); k > 0; k-- {
				if strings.HasSuffix(text, f[:k]) {
					text = text[:len(text)-k]
					break
				}
			}
		}
	}
	return text
}
