// Package tools gives the vault extension's tools (package ext/vault)
// their handlers. Only ce-mcp imports it, through ext/builtin/handlers.
//
// Storing needs only the vault's public recipient. vault_exec asks the
// agent (ce-vault serve) over the broker to run the command: the agent
// holds the identity, decrypts, runs and redacts, so this MCP server
// process never holds the identity or a value it did not store itself.
// Only programs matching vault.exec_allow run; the list is empty by
// default. The agent checks its own copy of that list too.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/ext"
	extvault "github.com/ce-platform/ce/pkg/ext/vault"
	vaultstore "github.com/ce-platform/ce/pkg/vault"
)

// Event types in the event log; their data names keys and programs, never
// values.
const (
	EventStored  = eventlog.VaultStored
	EventRemoved = eventlog.VaultRemoved
	EventExec    = eventlog.VaultExec
)

func init() { ext.RegisterHandlers(extvault.Name, Fill) }

// Fill sets the handlers of the vault extension's tools.
func Fill(e *ext.Extension) {
	handlers := map[string]func(context.Context, ext.Call) ext.Result{
		extvault.ToolStore:  store,
		extvault.ToolList:   list,
		extvault.ToolDelete: remove,
		extvault.ToolExec:   execute,
	}
	for i := range e.Tools {
		if h, ok := handlers[e.Tools[i].Name]; ok {
			e.Tools[i].Handler = h
		}
	}
}

func open(c ext.Call) (*vaultstore.Vault, error) {
	if c.Env.State == nil {
		return nil, errors.New("the vault tools have no state directory (CE_STATE_DIR is not set)")
	}
	return vaultstore.Open(c.Env.State), nil
}

// failure puts the vault's errors into words for the model.
func failure(err error) ext.Result {
	var exists *vaultstore.ExistsError
	switch {
	case errors.Is(err, vaultstore.ErrNoVault):
		return ext.Errorf("there is no vault yet: ask the user to create one with `ce-vault init`")
	case errors.As(err, &exists):
		return ext.Errorf("%v; pass replace=true to overwrite it, or pick another key (vault_list shows the keys)", err)
	case errors.Is(err, vaultstore.ErrNotFound):
		return ext.Errorf("%v (vault_list shows the keys)", err)
	}
	return ext.Errorf("%v", err)
}

func source(c ext.Call) string {
	if c.Env.Session == "" {
		return "session"
	}
	return "session:" + c.Env.Session
}

func event(c ext.Call, typ string, data map[string]any) {
	opts := eventlog.Options{LockDir: c.Env.State.Path("locks")}
	if c.Env.Config != nil {
		opts.MaxSize, opts.Keep = int64(c.Env.Config.Events.MaxSize), c.Env.Config.Events.Keep
	}
	eventlog.Open(c.Env.State.Root, opts).Append(eventlog.Event{Type: typ, Session: c.Env.Session, Data: data})
}

func store(ctx context.Context, c ext.Call) ext.Result {
	v, err := open(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	key, err := c.RequireString("key")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	value, ok := c.Args["value"].(string)
	if !ok || value == "" {
		return ext.Errorf("argument \"value\" is required (a non-empty string)")
	}
	tags, err := ext.StringList(c.Args["tags"], "tags")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	replace, _ := c.Args["replace"].(bool)
	e, replaced, err := v.Set(ctx, key, []byte(value), vaultstore.SetOptions{Tags: tags, Source: source(c), NoReplace: !replace})
	if err != nil {
		return failure(err)
	}
	event(c, EventStored, map[string]any{"key": key, "tags": e.Tags, "replaced": replaced})
	verb := "Stored"
	if replaced {
		verb = "Replaced"
	}
	return ext.Result{Text: fmt.Sprintf("%s secret %s (%d bytes, encrypted). Refer to it by its key only; vault_exec runs a command with it.", verb, key, len(value))}
}

func list(ctx context.Context, c ext.Call) ext.Result {
	v, err := open(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	entries, err := v.List(ctx, vaultstore.Filter{Tag: c.String("tag"), Prefix: c.String("prefix")})
	if err != nil {
		return failure(err)
	}
	if len(entries) == 0 {
		return ext.Result{Text: "The vault holds no secret matching that."}
	}
	return ext.JSON(entries)
}

func remove(ctx context.Context, c ext.Call) ext.Result {
	v, err := open(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	key, err := c.RequireString("key")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	if err := v.Remove(ctx, key); err != nil {
		return failure(err)
	}
	event(c, EventRemoved, map[string]any{"key": key})
	return ext.Result{Text: "Deleted secret " + key + "."}
}

func execute(ctx context.Context, c ext.Call) ext.Result {
	if c.Env.State == nil {
		return ext.Errorf("the vault tools have no state directory (CE_STATE_DIR is not set)")
	}
	argv, err := command(c.Args["command"])
	if err != nil {
		return ext.Errorf("%v", err)
	}
	names, err := envMap(c.Args["env"])
	if err != nil {
		return ext.Errorf("%v", err)
	}
	timeout, err := c.Duration("timeout", vaultstore.DefaultExecTimeout)
	switch {
	case err != nil:
		return ext.Errorf("%v", err)
	case timeout <= 0 || timeout > vaultstore.MaxExecTimeout:
		return ext.Errorf("argument \"timeout\" must be between 1 and %d seconds", int(vaultstore.MaxExecTimeout.Seconds()))
	}
	dir, _ := os.Getwd()
	req := vaultstore.ExecRequest{Argv: argv, Dir: dir, Env: names, TimeoutMS: timeout.Milliseconds(), Session: c.Env.Session}
	var allow []string
	if c.Env.Config != nil {
		allow = c.Env.Config.Vault.ExecAllow
	}
	if _, err := vaultstore.Allowed(allow, argv[0], dir); err != nil {
		event(c, EventExec, map[string]any{"program": argv[0], "keys": keys(names), "denied": true})
		var denied *vaultstore.DeniedError
		if errors.As(err, &denied) {
			return ext.Errorf("%v. Only the user can allow it, in vault.exec_allow of the ce configuration; do not try to get the secret another way.", err)
		}
		return ext.Errorf("%v", err)
	}
	if err := vaultstore.CheckEnv(names); err != nil {
		return ext.Errorf("env: %v", err)
	}

	socket := c.Env.BridgeSocket
	if socket == "" {
		socket = c.Env.State.BridgeSocket()
	}
	cl := bridge.Dial(socket)
	defer cl.Close()
	wait := timeout + extvault.CallMargin
	if cfg := c.Env.Config; cfg != nil && slices.Contains(cfg.Vault.Confirm, "tool") {
		wait += time.Duration(cfg.Vault.ConfirmTimeout) // the person is asked first
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var rep vaultstore.ExecReply
	err = cl.Call(cctx, vaultstore.MethodExec, req, &rep)
	var re *bridge.RPCError
	switch {
	case errors.Is(err, bridge.ErrNoBroker):
		return ext.Errorf("the vault agent cannot be reached: no broker runs. Ask the user to start ce (ce up), or ce-bridge serve and ce-vault serve.")
	case bridge.IsNoProvider(err):
		return ext.Errorf("no vault agent runs, and vault_exec needs one: ask the user to run `ce-vault serve` (it asks for the vault's passphrase once).")
	case errors.As(err, &re) && re.Code == bridge.CodeHandlerError:
		return ext.Errorf("%s", re.Message)
	case err != nil:
		return ext.Errorf("vault_exec failed: %v", err)
	case rep.Locked:
		return ext.Errorf("the vault agent is locked: ask the user to run `ce-vault unlock`, then try again.")
	}
	data := map[string]any{"program": argv[0], "keys": keys(names), "exit_code": rep.ExitCode, "duration_ms": rep.DurationMS}
	if rep.TimedOut {
		data["timed_out"] = true
	}
	event(c, EventExec, data)
	return result(rep, timeout)
}

func result(rep vaultstore.ExecReply, timeout time.Duration) ext.Result {
	var b strings.Builder
	switch {
	case rep.Error != "":
		fmt.Fprintf(&b, "the command could not be started: %s\n", rep.Error)
	case rep.TimedOut:
		fmt.Fprintf(&b, "killed after the timeout of %s (exit status %d)\n", timeout, rep.ExitCode)
	case rep.Signal != "":
		fmt.Fprintf(&b, "killed by signal %s (exit status %d)\n", rep.Signal, rep.ExitCode)
	default:
		fmt.Fprintf(&b, "exit status %d\n", rep.ExitCode)
	}
	if rep.Output == "" {
		b.WriteString("(no output)")
	} else {
		b.WriteString("output (secret values redacted):\n")
		b.WriteString(rep.Output)
		if rep.Truncated {
			fmt.Fprintf(&b, "\n[output cut at %d bytes]", vaultstore.MaxOutput)
		}
	}
	return ext.Result{Text: b.String(), IsError: rep.ExitCode != 0 || rep.Error != ""}
}

func keys(names map[string]string) []string {
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// shellChars are what a shell would interpret; a command given as one
// string with any of them is refused rather than guessed at.
const shellChars = "\"'`$\\|&;<>(){}*?[]~#\n"

// command reads the command: an array of strings, or one string of plain
// words separated by spaces.
func command(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, errors.New("argument \"command\" is empty")
		}
		if strings.HasPrefix(strings.TrimSpace(s), "[") {
			var argv []string
			if err := json.Unmarshal([]byte(s), &argv); err == nil && len(argv) > 0 {
				return argv, nil
			}
		}
		if strings.ContainsAny(s, shellChars) {
			return nil, errors.New("argument \"command\" must be an array of strings, e.g. [\"gh\", \"api\", \"user\"]: it is not run by a shell, so quotes, variables, pipes and redirections in one string cannot work")
		}
		return strings.Fields(s), nil
	}
	argv, err := ext.StringList(v, "command")
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("argument \"command\" is required: the program, then its arguments")
	}
	return argv, nil
}

// envMap reads "env": an object of strings (or that object as JSON text).
func envMap(v any) (map[string]string, error) {
	const want = "argument \"env\" must be an object mapping environment variable names to secret keys, e.g. {\"GH_TOKEN\": \"api/github/token\"}"
	if s, ok := v.(string); ok {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return nil, errors.New(want)
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, errors.New(want)
	}
	out := map[string]string{}
	for name, key := range m {
		k, ok := key.(string)
		if !ok {
			return nil, errors.New(want)
		}
		out[name] = k
	}
	return out, nil
}
