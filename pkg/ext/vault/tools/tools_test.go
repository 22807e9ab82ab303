package tools

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	extvault "github.com/ce-platform/ce/pkg/ext/vault"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
	vaultstore "github.com/ce-platform/ce/pkg/vault"
)

func TestMain(m *testing.M) {
	vaultstore.SetWorkFactorForTests(10)
	os.Exit(m.Run())
}

const pass = "test passphrase"

// newEnv returns the env of session "s" with a fresh vault, in a state
// directory with a short path (the broker's socket must fit 108 bytes).
func newEnv(t *testing.T, allow ...string) ext.Env {
	t.Helper()
	env := exttest.BrokerEnv(t, "s")
	if _, err := vaultstore.Open(env.State).Init(context.Background(), pass); err != nil {
		t.Fatal(err)
	}
	env.Config = config.Default()
	env.Config.Vault.ExecAllow = allow
	return env
}

func call(t *testing.T, env ext.Env, tool string, args map[string]any) ext.Result {
	t.Helper()
	return exttest.Call(context.Background(), t, env, extvault.Name, tool, args)
}

// The metadata's limit is the vault's.
func TestMaxExecTimeout(t *testing.T) {
	if extvault.MaxExecTimeout != vaultstore.MaxExecTimeout {
		t.Fatalf("ext/vault.MaxExecTimeout = %s, vault.MaxExecTimeout = %s", extvault.MaxExecTimeout, vaultstore.MaxExecTimeout)
	}
}

func TestStoreListDelete(t *testing.T) {
	env := newEnv(t)
	const secret = "sk-live-abcdef123456"
	res := call(t, env, "vault_store", map[string]any{"key": "api/openai/key", "value": secret, "tags": []any{"llm"}})
	if res.IsError || strings.Contains(res.Text, secret) {
		t.Fatalf("store = %+v", res)
	}
	res = call(t, env, "vault_store", map[string]any{"key": "api/openai/key", "value": "other"})
	if !res.IsError || !strings.Contains(res.Text, "replace=true") {
		t.Fatalf("store over = %+v", res)
	}
	res = call(t, env, "vault_store", map[string]any{"key": "api/openai/key", "value": "third", "replace": true})
	if res.IsError || !strings.HasPrefix(res.Text, "Replaced") {
		t.Fatalf("replace = %+v", res)
	}
	for _, bad := range []map[string]any{
		{"key": "openai", "value": secret},
		{"key": secret, "value": "x"},
		{"key": "a/b/c"},
		{"key": "a/b/c", "value": ""},
		{"key": "a/b/c", "value": "x", "tags": "not a list"},
	} {
		res := call(t, env, "vault_store", bad)
		if !res.IsError || strings.Contains(res.Text, secret) {
			t.Errorf("store %v = %+v", bad, res)
		}
	}

	res = call(t, env, "vault_list", nil)
	if res.IsError || !strings.Contains(res.Text, `"key": "api/openai/key"`) || !strings.Contains(res.Text, "session:s") ||
		strings.Contains(res.Text, "third") || strings.Contains(res.Text, secret) {
		t.Fatalf("list = %+v", res)
	}
	if res := call(t, env, "vault_list", map[string]any{"tag": "none"}); res.IsError || !strings.Contains(res.Text, "no secret") {
		t.Fatalf("list by tag = %+v", res)
	}

	res = call(t, env, "vault_delete", map[string]any{"key": "api/openai/key"})
	if res.IsError {
		t.Fatalf("delete = %+v", res)
	}
	if res := call(t, env, "vault_delete", map[string]any{"key": "api/openai/key"}); !res.IsError || !strings.Contains(res.Text, "no secret") {
		t.Fatalf("delete again = %+v", res)
	}

	if types := statetest.Types(t, env.State); strings.Join(types, " ") != "vault.stored vault.stored vault.removed" {
		t.Fatalf("events = %v", types)
	}
	b, _ := os.ReadFile(env.State.Path("events.jsonl"))
	if strings.Contains(string(b), secret) || strings.Contains(string(b), "third") {
		t.Fatal("a value is in the event log")
	}
}

func TestNoVault(t *testing.T) {
	env := ext.Env{State: statetest.New(t), Config: config.Default(), Session: "s"}
	res := call(t, env, "vault_store", map[string]any{"key": "a/b/c", "value": "x"})
	if !res.IsError || !strings.Contains(res.Text, "ce-vault init") {
		t.Fatalf("store without vault = %+v", res)
	}
}

func TestExec(t *testing.T) {
	env := newEnv(t, "sh")
	ctx := context.Background()
	const secret = "tok-0123456789"
	v := vaultstore.Open(env.State)
	if _, _, err := v.Set(ctx, "ci/gh/token", []byte(secret), vaultstore.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	args := map[string]any{"command": []any{"sh", "-c", "echo got=$T"}, "env": map[string]any{"T": "ci/gh/token"}}

	// Denied programs are refused before the agent is asked.
	res := call(t, env, "vault_exec", map[string]any{"command": []any{"env"}, "env": map[string]any{"T": "ci/gh/token"}})
	if !res.IsError || !strings.Contains(res.Text, "denied: env does not match vault.exec_allow (sh)") {
		t.Fatalf("denied = %+v", res)
	}
	denyAll := newEnv(t)
	if res := call(t, denyAll, "vault_exec", args); !res.IsError || !strings.Contains(res.Text, "allows no command") {
		t.Fatalf("default deny = %+v", res)
	}
	for _, bad := range []map[string]any{
		{"command": "sh -c 'echo $T'", "env": map[string]any{"T": "ci/gh/token"}},
		{"command": []any{}, "env": map[string]any{"T": "ci/gh/token"}},
		{"command": []any{"sh"}},
		{"command": []any{"sh"}, "env": map[string]any{"T": 3}},
		{"command": []any{"sh"}, "env": map[string]any{"T": "ci/gh/token"}, "timeout": 10000},
	} {
		if res := call(t, env, "vault_exec", bad); !res.IsError {
			t.Errorf("exec %v = %+v", bad, res)
		}
	}

	// Without a broker, and without an agent.
	if res := call(t, env, "vault_exec", args); !res.IsError || !strings.Contains(res.Text, "no broker runs") {
		t.Fatalf("no broker = %+v", res)
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exttest.StartBroker(bctx, t, env)
	if res := call(t, env, "vault_exec", args); !res.IsError || !strings.Contains(res.Text, "ce-vault serve") {
		t.Fatalf("no agent = %+v", res)
	}

	// With an agent: locked, then unlocked.
	a := vaultstore.NewAgent(v, time.Minute, []string{"sh"})
	provider := bridge.Dial(env.BridgeSocket)
	defer provider.Close()
	go provider.Provide(bctx, vaultstore.Methods, a.Handle)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res = call(t, env, "vault_exec", args)
		if strings.Contains(res.Text, "locked") || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !res.IsError || !strings.Contains(res.Text, "ce-vault unlock") {
		t.Fatalf("locked agent = %+v", res)
	}
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	res = call(t, env, "vault_exec", args)
	if res.IsError || !strings.Contains(res.Text, "exit status 0") || !strings.Contains(res.Text, "got=[redacted:ci/gh/token]") || strings.Contains(res.Text, secret) {
		t.Fatalf("exec = %+v", res)
	}
	res = call(t, env, "vault_exec", map[string]any{"command": `["sh","-c","exit 4"]`, "env": `{"T":"ci/gh/token"}`})
	if !res.IsError || !strings.HasPrefix(res.Text, "exit status 4\n") {
		t.Fatalf("exit 4 = %+v", res)
	}

	// The agent checks its own allowlist too.
	a.Configure(time.Minute, nil)
	if res := call(t, env, "vault_exec", args); !res.IsError || !strings.Contains(res.Text, "denied") {
		t.Fatalf("agent deny = %+v", res)
	}
}
