// Package vaultcmd is the ce-vault command: the encrypted secrets of
// package vault from a shell (init, set, get, ls, rm, passwd, exec) and
// the agent that keeps the vault unlocked for a while (serve, lock,
// unlock, status). cmd/ce-vault is a one-line main around Main.
//
// Secret values go to stdout (get) or a command's environment (exec) and
// nowhere else: not to stderr, logs or events. The passphrase comes from
// the terminal, without echo, or from the file CE_VAULT_PASSPHRASE_FILE
// names; its path may be printed, its content never.
package vaultcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/vault"
)

// CLI is the command line of ce-vault.
type CLI struct {
	Init   InitCmd   `cmd:"" help:"Create the vault: a new age identity, encrypted with a passphrase."`
	Set    SetCmd    `cmd:"" help:"Store a secret read from stdin (no passphrase needed)."`
	Get    GetCmd    `cmd:"" help:"Print a secret's value."`
	Ls     LsCmd     `cmd:"" help:"List the secrets: keys, tags and times, never values."`
	Rm     RmCmd     `cmd:"" help:"Remove a secret."`
	Exec   ExecCmd   `cmd:"" help:"Run a command with secrets in its environment."`
	Passwd PasswdCmd `cmd:"" help:"Change the passphrase (the secrets are untouched)."`
	Serve  ServeCmd  `cmd:"" help:"Run the agent: keep the vault unlocked in memory and answer vault.* calls."`
	Lock   LockCmd   `cmd:"" help:"Lock the running agent at once."`
	Unlock UnlockCmd `cmd:"" help:"Unlock the running agent."`
	Status StatusCmd `cmd:"" help:"Say whether the vault exists and whether the agent runs unlocked."`

	clikit.Base
}

// App is ce-vault's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce-vault",
		Description: "secrets encrypted with age, usable by sessions without being seen\n\n" +
			"The vault is in vault/ in the state directory: recipient (public), identity.age (the age X25519 identity, " +
			"encrypted with a passphrase by scrypt) and secrets.db. Keys are category/service/name, such as api/github/token. " +
			"set encrypts to the recipient and needs no passphrase; get and exec need the identity: from the running agent " +
			"(ce-vault serve), else the passphrase, asked on the terminal without echo or read from the file named by " +
			"CE_VAULT_PASSPHRASE_FILE. Sessions get the ce_vault tools (vault_store, vault_list, vault_delete, vault_exec), " +
			"which never return a value.\n\n" +
			"Confirmation (vault.confirm, like ssh-agent's confirm mode): by default every value read through the agent, " +
			"for get or exec, waits for the person's yes: on the terminal of the ce-vault that asks, when it runs in one that " +
			"is not a window of ce's tmux server, else as a pending question of kind vault (ce-session pending; " +
			"ce-session answer ID allow|deny from a terminal, or Telegram). A process inside a session, or on ce's tmux " +
			"server, is refused without asking. vault.confirm: [tool] asks before each vault_exec as well; [] asks nothing.",
		CLI: &CLI{},
	}
}

// Main runs ce-vault and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// agentTimeout bounds one call to the agent; its answers are immediate.
const agentTimeout = 10 * time.Second

// open returns the vault of the state directory, with damaged store files
// reported as warnings.
func open(env *clikit.Env) (*vault.Vault, *statedir.Dir, error) {
	st, err := env.State()
	if err != nil {
		return nil, nil, err
	}
	v := vault.Open(st)
	v.OnCorrupt = func(path, moved string, recovered int, err error) {
		env.Warnf("%s could not be loaded (%v); it was moved to %s and the %d secrets that could be read from it were copied into a new one", path, err, moved, recovered)
	}
	return v, st, nil
}

// vaultErr puts the vault's errors into ce's voice.
func vaultErr(err error) error {
	var exists *vault.ExistsError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, vault.ErrNoVault):
		return clikit.Fail("ce-vault init creates one", "%v", err)
	case errors.Is(err, vault.ErrExists):
		return clikit.Fail("ce-vault passwd changes its passphrase; remove the vault directory yourself to start over (its secrets are lost)", "%v", err)
	case errors.Is(err, vault.ErrNotFound):
		return clikit.Fail("ce-vault ls lists the secrets", "%v", err)
	case errors.Is(err, vault.ErrWrongPassphrase):
		return clikit.Fail("", "wrong passphrase; nothing was changed")
	case errors.As(err, &exists):
		return clikit.Fail("", "%v", err)
	}
	return err
}

// keyErr checks a key given on the command line.
func keyErr(key string) error {
	if err := vault.ValidKey(key); err != nil {
		return clikit.Usage("ce-vault ls lists the keys in use", "%v", err)
	}
	return nil
}

// agent is a client of the vault agent.
type agent struct {
	c *bridge.Client
}

func dialAgent(st *statedir.Dir) agent { return agent{bridge.Dial(bridge.Socket(st))} }

func (a agent) Close() { a.c.Close() }

// errNoAgent means that no broker runs or no agent provides vault.*.
var errNoAgent = errors.New("no vault agent runs")

// call calls a method of the agent; errNoAgent when there is none.
func (a agent) call(ctx context.Context, method string, params, result any) error {
	return a.callFor(ctx, agentTimeout, method, params, result)
}

// callFor is call with its own timeout.
func (a agent) callFor(ctx context.Context, timeout time.Duration, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := a.c.Call(ctx, method, params, result)
	if errors.Is(err, bridge.ErrNoBroker) || bridge.IsNoProvider(err) {
		return errNoAgent
	}
	var re *bridge.RPCError
	if errors.As(err, &re) && re.Code == bridge.CodeHandlerError {
		return errors.New(re.Message)
	}
	return err
}

// secrets returns the values of keys: from the agent when one runs
// unlocked (which may want the person to confirm, on this terminal or
// elsewhere), else by unlocking the vault with the passphrase. purpose
// ("get", or "exec" with program) words the question.
func secrets(env *clikit.Env, v *vault.Vault, st *statedir.Dir, pp Passphrase, keys []string, purpose, program string) (map[string][]byte, error) {
	a := dialAgent(st)
	defer a.Close()
	terminal := hasTerminal()
	wait := agentTimeout
	if cfg, err := env.Config(); err == nil {
		wait += time.Duration(cfg.Vault.ConfirmTimeout) // the person may be asked elsewhere
	}
	var rep vault.GetReply
	req := vault.GetRequest{Keys: keys, Terminal: terminal, Purpose: purpose, Program: program}
	err := a.callFor(env.Ctx, wait, vault.MethodGet, req, &rep)
	if err == nil && rep.Confirm != "" {
		what := "read " + strings.Join(keys, ", ")
		if purpose == "exec" {
			what = "give " + strings.Join(keys, ", ") + " to " + program
		}
		ok, terr := confirmOnTerminal("allow this to " + what + "?")
		if terr != nil || !ok {
			return nil, clikit.Fail("", "not confirmed: nothing was read from the vault")
		}
		req.Confirm = rep.Confirm
		rep = vault.GetReply{}
		err = a.call(env.Ctx, vault.MethodGet, req, &rep)
	}
	if errors.Is(err, errNoAgent) || (err == nil && rep.Locked) {
		return unlocked(env, v, pp, keys)
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), vault.ErrNotFound.Error()) {
			return nil, clikit.Fail("ce-vault ls lists the secrets", "%v", err)
		}
		return nil, clikit.Fail("ce-vault status shows the agent; see logs/vault.log", "the vault agent: %v", err)
	}
	return rep.Values, nil
}

// unlocked reads keys with the identity unlocked by the passphrase.
func unlocked(env *clikit.Env, v *vault.Vault, pp Passphrase, keys []string) (map[string][]byte, error) {
	if !v.Exists() {
		return nil, vaultErr(fmt.Errorf("%w in %s", vault.ErrNoVault, v.Dir))
	}
	pass, err := pp.read(env, "passphrase of the vault: ", false)
	if errors.Is(err, errNoPassphrase) {
		return nil, clikit.Fail("start the agent (ce-vault serve, then ce-vault unlock if it is locked), run this on a terminal, or set CE_VAULT_PASSPHRASE_FILE",
			"the vault is locked: no unlocked agent runs, and there is no terminal to ask for the passphrase")
	}
	if err != nil {
		return nil, err
	}
	id, err := v.Unlock(pass)
	if err != nil {
		return nil, vaultErr(err)
	}
	out := map[string][]byte{}
	for _, key := range keys {
		value, err := v.Get(env.Ctx, id, key)
		if err != nil {
			return nil, vaultErr(err)
		}
		out[key] = value
	}
	return out, nil
}
