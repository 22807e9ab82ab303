// Package vault is the "vault" extension (MCP server ce_vault): sessions
// store the secrets they are given (vault_store), list and delete them,
// and run allowed commands with them in the environment (vault_exec), but
// never read a value back.
//
// Storing needs only the vault's public recipient. vault_exec asks the
// agent (ce-vault serve) over the broker to run the command: the agent
// holds the identity, decrypts, runs and redacts, so this MCP server
// process never holds the identity or a value it did not store itself.
// Only programs matching vault.exec_allow run; the list is empty by
// default. The agent checks its own copy of that list too.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/ext"
	vaultstore "github.com/ce-platform/ce/pkg/vault"
)

// Name is the extension's name in config.
const Name = "vault"

// Event types in the event log; their data names keys and programs, never
// values.
const (
	EventStored  = eventlog.VaultStored
	EventRemoved = eventlog.VaultRemoved
	EventExec    = eventlog.VaultExec
)

// callMargin is added to a command's timeout for the call to the agent.
const callMargin = 15 * time.Second

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_vault.
const Prompt = `You have a vault for secrets (server ce_vault). When you are given a secret (an API key, token, password or private key), store it at once with vault_store under a key of the form category/service/name, such as api/github/token, and from then on refer to it only by its key: never repeat its value in replies, files, commands, code or commit messages. You cannot read a secret back, and no tool returns a value. To use secrets, call vault_exec with the command as an array of arguments (no shell) and env mapping environment variable names to keys, e.g. {"GITHUB_TOKEN": "api/github/token"}: the command runs with them in its environment and you get its exit status and output with secret values redacted. Only commands the user allowed (vault.exec_allow in the ce configuration) run, and the vault must be unlocked (ce-vault serve); if a call is denied or the vault is locked, tell the user what to allow or unlock rather than working around it. vault_list shows which keys exist. If you need a secret that is not stored, ask the user to store it themselves with "ce-vault set KEY" in a shell, rather than paste it into the conversation.`

// New returns the vault extension.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Store, list and delete secrets, and run allowed commands with them, without seeing them (vault_store, vault_list, vault_delete, vault_exec).",
		Prompt:      Prompt,
		Timeout:     vaultstore.MaxExecTimeout + 2*callMargin,
		Tools: []ext.Tool{
			{
				Name: "vault_store",
				Description: "Store a secret in the vault, encrypted, under a key category/service/name (e.g. api/github/token; " +
					"a-z 0-9 . _ - in each part). Use it as soon as you are given a secret, then refer to it by its key only. " +
					"Refuses to replace an existing key unless replace is true. The value can never be read back by a tool.",
				Schema: ext.Schema(map[string]any{
					"key":   ext.Prop("string", "The key, category/service/name, e.g. api/github/token."),
					"value": ext.Prop("string", "The secret value (at most 1 MiB)."),
					"tags": map[string]any{
						"type": "array", "items": map[string]any{"type": "string"},
						"description": "Optional tags, e.g. [\"ci\", \"github\"].",
					},
					"replace": ext.Prop("boolean", "Replace the secret if the key exists (default false)."),
				}, "key", "value"),
				Handler: store,
			},
			{
				Name:        "vault_list",
				Description: "List the secrets in the vault: keys, tags, times and who stored them. Never values.",
				Schema: ext.Schema(map[string]any{
					"tag":    ext.Prop("string", "Optional: only secrets with this tag."),
					"prefix": ext.Prop("string", "Optional: only keys starting with this, e.g. api/."),
				}),
				ReadOnly: true,
				Handler:  list,
			},
			{
				Name:        "vault_delete",
				Description: "Delete a secret from the vault. It cannot be undone.",
				Schema: ext.Schema(map[string]any{
					"key": ext.Prop("string", "The key of the secret to delete."),
				}, "key"),
				Destructive: true,
				Handler:     remove,
			},
			{
				Name: "vault_exec",
				Description: "Run a command with secrets from the vault in its environment, and get its exit status and output " +
					"(stdout and stderr, at most 64 KiB) with every secret value redacted. The command is an array: the program, " +
					"then its arguments; no shell is involved (use [\"sh\", \"-c\", \"...\"] only if sh is allowed). Only programs " +
					"the user allowed in vault.exec_allow run; others are denied. It runs in your working directory, stdin empty, " +
					"for at most timeout seconds (default 60, at most 600). Needs the vault agent (ce-vault serve) unlocked.",
				Schema: ext.Schema(map[string]any{
					"command": map[string]any{
						"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1,
						"description": "The program and its arguments, e.g. [\"gh\", \"api\", \"user\"].",
					},
					"env": map[string]any{
						"type": "object", "additionalProperties": map[string]any{"type": "string"},
						"description": "Environment variable names mapped to secret keys, e.g. {\"GH_TOKEN\": \"api/github/token\"}.",
					},
					"timeout": ext.Prop("number", "Optional: seconds before the command is killed (default 60, at most 600)."),
				}, "command", "env"),
				Destructive: true,
				Handler:     execute,
			},
		},
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
	cctx, cancel := context.WithTimeout(ctx, timeout+callMargin)
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
