// Package vault is the "vault" extension (MCP server ce_vault) as the
// queue worker sees it: its tools' names and schemas, its system prompt
// fragment and the server's timeout. Sessions store the secrets they are
// given (vault_store), list and delete them, and run allowed commands
// with them in the environment (vault_exec), but never read a value back.
//
// The handlers are in package vault/tools, which only ce-mcp imports (see
// ext.RegisterHandlers): this package links no encryption.
package vault

import (
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
)

// Name is the extension's name in config.
const Name = "vault"

// Tool names.
const (
	ToolStore  = "vault_store"
	ToolList   = "vault_list"
	ToolDelete = "vault_delete"
	ToolExec   = "vault_exec"
)

// MaxExecTimeout bounds vault_exec's timeout; it is the vault's limit
// (vault.MaxExecTimeout), which this package does not import.
const MaxExecTimeout = 10 * time.Minute

// CallMargin is added to a command's timeout for the call to the agent.
const CallMargin = 15 * time.Second

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_vault.
const Prompt = `You have a vault for secrets (server ce_vault). When you are given a secret (an API key, token, password or private key), store it at once with vault_store under a key of the form category/service/name, such as api/github/token, and from then on refer to it only by its key: never repeat its value in replies, files, commands, code or commit messages. You cannot read a secret back, and no tool returns a value. To use secrets, call vault_exec with the command as an array of arguments (no shell) and env mapping environment variable names to keys, e.g. {"GITHUB_TOKEN": "api/github/token"}: the command runs with them in its environment and you get its exit status and output with secret values redacted. Only commands the user allowed (vault.exec_allow in the ce configuration) run, and the vault must be unlocked (ce-vault serve); if a call is denied or the vault is locked, tell the user what to allow or unlock rather than working around it. vault_list shows which keys exist. If you need a secret that is not stored, ask the user to store it themselves with "ce-vault set KEY" in a shell, rather than paste it into the conversation.`

// New returns the vault extension, without handlers.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Store, list and delete secrets, and run allowed commands with them, without seeing them (vault_store, vault_list, vault_delete, vault_exec).",
		Prompt:      Prompt,
		Timeout:     MaxExecTimeout + 2*CallMargin + config.MaxConfirmTimeout,
		Tools: []ext.Tool{
			{
				Name: ToolStore,
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
			},
			{
				Name:        ToolList,
				Description: "List the secrets in the vault: keys, tags, times and who stored them. Never values.",
				Schema: ext.Schema(map[string]any{
					"tag":    ext.Prop("string", "Optional: only secrets with this tag."),
					"prefix": ext.Prop("string", "Optional: only keys starting with this, e.g. api/."),
				}),
				ReadOnly: true,
			},
			{
				Name:        ToolDelete,
				Description: "Delete a secret from the vault. It cannot be undone.",
				Schema: ext.Schema(map[string]any{
					"key": ext.Prop("string", "The key of the secret to delete."),
				}, "key"),
				Destructive: true,
			},
			{
				Name: ToolExec,
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
			},
		},
	}
}
