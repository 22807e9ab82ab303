// Command demo runs the platform end to end, offline, for `make demo`: it
// installs the pinned claude once, starts the built-in fake Anthropic API on
// loopback, and drives the real ce binaries (from ./bin) and the real claude
// through a session, in a throwaway state directory.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	bin, err := filepath.Abs("bin")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(bin, "ce-session")); err != nil {
		return fmt.Errorf("run it with make demo (the binaries are not built): %v", err)
	}
	fmt.Println("== installing the pinned claude (once; cached afterwards)")
	claude, err := claudebin.Ensure()
	if err != nil {
		return err
	}
	out, _ := exec.Command(claude, "--version").Output()
	fmt.Printf("   %s at %s\n", strings.TrimSpace(string(out)), claude)

	api, err := fakeapi.Start()
	if err != nil {
		return err
	}
	defer api.Close()
	fmt.Printf("== fake Anthropic API on %s (no account, no network)\n", api.URL())

	tmp, err := os.MkdirTemp("", "ce-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	state := filepath.Join(tmp, "state")
	project := filepath.Join(tmp, "project")
	home := filepath.Join(tmp, "home")
	cfgDir := filepath.Join(tmp, "config", "ce")
	for _, d := range []string{project, home, cfgDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte("agent:\n  launch_gap: 0s\n"), 0o600); err != nil {
		return err
	}
	env := append(os.Environ(), claudebin.Env(home, api.URL())...)
	env = append(env,
		"CE_STATE_DIR="+state,
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"PATH="+bin+string(os.PathListSeparator)+filepath.Dir(claude)+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	defer exec.Command("tmux", "-S", filepath.Join(state, "tmux.sock"), "kill-server").Run()

	sh := func(args ...string) error {
		fmt.Printf("\n$ %s\n", strings.Join(quote(args), " "))
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env, cmd.Dir = env, project
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		start := time.Now()
		err := cmd.Run()
		fmt.Printf("   (%s)\n", time.Since(start).Round(time.Millisecond))
		return err
	}
	api.Push(
		fakeapi.Reply{Text: "Hello from the real claude, running in a tmux session that ce manages. I will remember this conversation.", Chunks: 6, ChunkDelay: 60 * time.Millisecond},
		fakeapi.Reply{Text: "You asked me to say hello; this second prompt resumed the same conversation.", Chunks: 5, ChunkDelay: 60 * time.Millisecond},
	)
	api.Push(
		fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: "mcp__ce_memory__memory_save", Input: map[string]any{
			"title": "Demo fact", "content": "ce keeps notes that every session can search.", "tags": []string{"demo"}}}},
		fakeapi.Reply{Text: "Saved a note with the memory tool; any session can find it now."},
	)
	steps := [][]string{
		{"ce-session", "new", "demo"},
		{"ce-session", "send", "demo", "--stream", "Say hello."},
		{"ce-session", "send", "demo", "What did I ask you before?"},
		{"ce-session", "send", "demo", "--stream", "Remember that ce keeps notes."},
		{"ce-memory", "search", "notes"},
		{"ce-session", "ls"},
		{"ce-session", "usage"},
		{"ce-queue", "ls"},
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return fmt.Errorf("%s: %v", strings.Join(s, " "), err)
		}
	}
	reqs := api.Requests()
	if len(reqs) > 0 {
		fmt.Printf("\n== the fake API saw %d turns; the last carried %d messages (the conversation continued)\n", len(reqs), len(reqs[len(reqs)-1].Messages))
	}
	fmt.Println("== demo done; everything it started is stopped")
	return nil
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ?'") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
