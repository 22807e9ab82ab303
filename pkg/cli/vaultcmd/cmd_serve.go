package vaultcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/ce-platform/ce/pkg/vault"
	"github.com/rs/zerolog"
)

// ServeCmd runs the agent.
type ServeCmd struct {
	Passphrase
	Locked bool `help:"Start locked, without asking for the passphrase; ce-vault unlock unlocks it later."`
}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Unlocks the vault once (the passphrase from the terminal, or from the file named by " +
		"CE_VAULT_PASSPHRASE_FILE; with neither, or with --locked, it starts locked), holds the identity in memory " +
		"only, and provides vault.get, vault.exec, vault.status, vault.lock and vault.unlock on the broker until SIGINT " +
		"or SIGTERM. ce-vault get and exec then need no passphrase, and sessions' vault_exec can run. It locks itself " +
		"after vault.agent_timeout without a use (ce-vault lock locks it at once; ce-vault unlock unlocks it again); a " +
		"passphrase file is read once at start, so a locked agent stays locked. SIGHUP re-reads vault.agent_timeout " +
		"and vault.exec_allow. Logs go to logs/vault.log, without values. The agent serves every process of your user, " +
		"as ssh-agent does: lock it when you leave it."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	v, st, err := open(env)
	if err != nil {
		return err
	}
	if !v.Exists() {
		return vaultErr(fmt.Errorf("%w in %s", vault.ErrNoVault, v.Dir))
	}
	a := vault.NewAgent(v, time.Duration(cfg.Vault.AgentTimeout), cfg.Vault.ExecAllow)
	a.SetConfirmation(confirmation(st, cfg))
	spec := daemon.Spec{Name: "vault", What: "a vault agent", Lock: "vault-serve",
		Beside: "ce-vault lock locks it, ce-vault unlock unlocks it",
		Health: func() map[string]any { return map[string]any{"unlocked": a.Unlocked()} }}
	in := daemon.Input{State: st, Config: cfg, ConfigFlag: env.Globals.Config, Stderr: env.Stderr}
	return daemon.Run(env.Ctx, spec, in, func(ctx context.Context, dm *daemon.Daemon) error {
		return c.serve(ctx, env, a, dm)
	})
}

// serve unlocks the agent (unless --locked) and provides vault.* on the
// broker until ctx ends.
func (c *ServeCmd) serve(ctx context.Context, env *clikit.Env, a *vault.Agent, dm *daemon.Daemon) error {
	log, cl := dm.Log, dm.Bridge
	var running vault.Status
	if err := (agent{cl}).call(ctx, vault.MethodStatus, nil, &running); err == nil {
		return clikit.Fail("ce-vault lock locks it; stop it before starting another", "an agent already runs (pid %d)", running.PID)
	}
	if !c.Locked {
		pass, err := c.read(env, "passphrase of the vault: ", false)
		switch {
		case errors.Is(err, errNoPassphrase):
			log.Info().Msg("no terminal and no passphrase file: starting locked")
			env.Warnf("starting locked: there is no terminal to ask for the passphrase and CE_VAULT_PASSPHRASE_FILE is not set; ce-vault unlock unlocks it")
		case err != nil:
			return err
		default:
			if err := a.Unlock(pass); err != nil {
				log.Warn().Err(err).Msg("unlock failed")
				return vaultErr(err)
			}
			log.Info().Msg("unlocked")
		}
	}
	defer a.Lock()
	go a.Watch(ctx, func() {
		log.Info().Int64("idle_timeout_ms", a.Status().IdleTimeoutMS).Msg("locked after the idle timeout")
	})
	go func() {
		for cfg := range dm.Reload {
			a.Configure(time.Duration(cfg.Vault.AgentTimeout), cfg.Vault.ExecAllow)
			a.SetConfirmation(confirmation(dm.State, cfg))
			log.Info().Dur("agent_timeout", time.Duration(cfg.Vault.AgentTimeout)).Strs("exec_allow", cfg.Vault.ExecAllow).Msg("vault settings reloaded")
		}
	}()
	if !cl.Available() {
		log.Warn().Str("socket", cl.Socket()).Msg("no broker yet; providing vault.* as soon as one runs")
	}
	log.Info().Bool("unlocked", a.Unlocked()).Dur("agent_timeout", time.Duration(dm.Config.Vault.AgentTimeout)).
		Strs("exec_allow", dm.Config.Vault.ExecAllow).Msg("agent serving")
	err := cl.Provide(ctx, vault.Methods, logged(a, log))
	var re *bridge.RPCError
	if errors.As(err, &re) && re.Code == bridge.CodeConflict {
		return clikit.Fail("ce-bridge call bridge.providers shows who provides them", "another process provides the vault methods: %s", re.Message)
	}
	if err != nil && !errors.Is(err, bridge.ErrClosed) {
		return err
	}
	return nil
}

// logged wraps the agent's handler with a log line per call: the method,
// the key or the program, the outcome. Never params as such: they may hold
// the passphrase (vault.unlock).
func logged(a *vault.Agent, log zerolog.Logger) func(ctx context.Context, method string, params json.RawMessage) (any, error) {
	return func(ctx context.Context, method string, params json.RawMessage) (any, error) {
		start := time.Now()
		res, err := a.Handle(ctx, method, params)
		ev := log.Info()
		switch {
		case err != nil:
			ev = log.Warn().Str("error", err.Error())
		case method == vault.MethodStatus:
			ev = log.Debug()
		}
		ev = ev.Str("method", method)
		switch method {
		case vault.MethodGet:
			var req vault.GetRequest
			json.Unmarshal(params, &req)
			ev = ev.Strs("keys", req.Wanted())
			if r, ok := res.(vault.GetReply); ok && r.Locked {
				ev = ev.Bool("locked", true)
			}
			if r, ok := res.(vault.GetReply); ok && r.Confirm != "" {
				ev = ev.Bool("confirm_on_terminal", true)
			}
		case vault.MethodExec:
			var req vault.ExecRequest
			json.Unmarshal(params, &req)
			keys := make([]string, 0, len(req.Env))
			for _, k := range req.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(req.Argv) > 0 {
				ev = ev.Str("program", req.Argv[0])
			}
			ev = ev.Strs("keys", keys).Str("session", req.Session)
			if r, ok := res.(vault.ExecReply); ok {
				ev = ev.Int("exit", r.ExitCode).Bool("locked", r.Locked).Bool("timed_out", r.TimedOut)
			}
		}
		ev.Dur("took", time.Since(start)).Msg("call")
		return res, err
	}
}
