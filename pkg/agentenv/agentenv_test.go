package agentenv

import (
	"slices"
	"testing"
)

func TestBuildCleansThenAppliesAgentEnv(t *testing.T) {
	base := []string{"PATH=/bin", "CLAUDECODE=1", "CLAUDE_CODE_ENTRYPOINT=cli", "CE_STATE_DIR=/s", "CE_CONFIG=/c",
		"TMUX=/tmp/t,1,0", "TMUX_PANE=%1", "HOME=/h", "KEEP=yes", "OVERRIDE=old"}
	got := Build(base, map[string]string{"OVERRIDE": "new", "EXTRA": "x"})
	slices.Sort(got)
	want := []string{"EXTRA=x", "HOME=/h", "KEEP=yes", "OVERRIDE=new", "PATH=/bin"}
	if !slices.Equal(got, want) {
		t.Fatalf("Build = %v, want %v", got, want)
	}
}
