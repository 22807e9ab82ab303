package agentenv

import (
	"slices"
	"testing"
)

func TestBuildAllowsThenAppliesAgentEnv(t *testing.T) {
	base := []string{"PATH=/bin", "CLAUDECODE=1", "CLAUDE_CODE_ENTRYPOINT=cli", "CE_STATE_DIR=/s", "CE_CONFIG=/c",
		"CE_VAULT_PASSPHRASE_FILE=/p", "TMUX=/tmp/t,1,0", "TMUX_PANE=%1", "HOME=/h", "KEEP=yes", "OVERRIDE=old",
		"AWS_SECRET_ACCESS_KEY=x", "ANTHROPIC_BASE_URL=http://x", "LC_ALL=C", "GITHUB_TOKEN=gh", "PASSED=1"}
	got := Build(base, map[string]string{"OVERRIDE": "new", "EXTRA": "x"}, []string{"PASSED", "CE_VAULT_PASSPHRASE_FILE"})
	slices.Sort(got)
	want := []string{"ANTHROPIC_BASE_URL=http://x", "AWS_SECRET_ACCESS_KEY=x", "EXTRA=x", "HOME=/h", "LC_ALL=C", "OVERRIDE=new", "PASSED=1", "PATH=/bin"}
	if !slices.Equal(got, want) {
		t.Fatalf("Build = %v, want %v", got, want)
	}
}

func TestSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"CE_VAULT_PASSPHRASE_FILE": true, "CE_TELEGRAM_TOKEN_FILE": true, "CE_STATE_DIR": false, "GITHUB_TOKEN": false,
	} {
		if Secret(name) != want {
			t.Errorf("Secret(%s) = %v", name, !want)
		}
	}
}
