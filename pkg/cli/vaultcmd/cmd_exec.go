package vaultcmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// Exit statuses of a command that could not be run, as env(1) has them.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

// ExecCmd runs a command with secrets in its environment.
type ExecCmd struct {
	Passphrase
	Env     []string `name:"env" short:"e" required:"" placeholder:"NAME=KEY" help:"Set environment variable NAME to the secret KEY (repeatable)."`
	Command []string `arg:"" passthrough:"" help:"The command and its arguments; put -- before it."`
}

// Help is the long help of exec.
func (c *ExecCmd) Help() string {
	return "Runs the command with stdin, stdout and stderr of ce-vault and the named secrets added to its " +
		"environment, and exits with its exit status (128+N when signal N ended it, 127 when it was not found). " +
		"SIGINT and SIGTERM are passed on to it. The secrets are read like ce-vault get reads them: from the agent, " +
		"else with the passphrase. Only the command's environment holds them; they are never printed. No shell is " +
		"involved: use sh -c explicitly if you need one. vault.exec_allow applies to sessions' vault_exec, not to this."
}

// Run runs the command and passes its exit status on.
func (c *ExecCmd) Run(env *clikit.Env) error {
	args := c.Command
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return clikit.Usage("ce-vault exec --env NAME=KEY -- CMD ARGS", "no command to run")
	}
	names := map[string]string{}
	var keys []string
	for _, kv := range c.Env {
		name, key, ok := strings.Cut(kv, "=")
		if !ok {
			return clikit.Usage("write --env NAME=KEY, e.g. --env GITHUB_TOKEN=api/github/token", "an --env value has no '='")
		}
		if _, dup := names[name]; dup {
			return clikit.Usage("", "--env sets %s twice", name)
		}
		names[name] = key
		keys = append(keys, key)
	}
	if err := vault.CheckEnv(names); err != nil {
		return clikit.Usage("write --env NAME=KEY, e.g. --env GITHUB_TOKEN=api/github/token", "--env %v", err)
	}
	v, st, err := open(env)
	if err != nil {
		return err
	}
	values, err := secrets(env, v, st, c.Passphrase, keys, "exec", args[0])
	if err != nil {
		return err
	}
	var list []vault.Secret
	for name, key := range names {
		list = append(list, vault.Secret{Name: name, Key: key, Value: values[key]})
		if strings.ContainsRune(string(values[key]), 0) {
			return clikit.Fail("", "secret %q contains a NUL byte, so it cannot be passed in an environment variable", key)
		}
	}

	cmd := exec.CommandContext(env.Ctx, args[0], args[1:]...)
	cmd.Env = vault.Env(os.Environ(), list)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
	// A signal to ce-vault goes on to the command, which decides when to
	// stop; the terminal's ^C reaches it directly.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if cmd.ProcessState == nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return clikit.WithHint(exitNotFound, fmt.Errorf("cannot run %s: not found", args[0]), "check the name, or give the command's path")
		}
		why := err
		if u := errors.Unwrap(err); u != nil {
			why = u
		}
		return clikit.WithHint(exitCannotRun, fmt.Errorf("cannot run %s: %v", args[0], why), "")
	}
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code != 0 {
		return clikit.Silent{Code: code}
	}
	return nil
}
