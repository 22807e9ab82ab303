package vaultcmd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	ask "github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/vault"
)

// confirmation is the agent's confirmation policy from the configuration:
// questions that cannot be asked on a terminal go to the approvals channel
// as pending requests of kind vault.
func confirmation(st *statedir.Dir, cfg *config.Config) vault.Confirmation {
	c := cfg.Vault
	env := ext.Env{State: st, Config: cfg, BridgeSocket: bridge.Socket(st)}
	return vault.Confirmation{
		Values:     slices.Contains(c.Confirm, "get") || slices.Contains(c.Confirm, "exec"),
		Tool:       slices.Contains(c.Confirm, "tool"),
		Timeout:    time.Duration(c.ConfirmTimeout),
		TmuxSocket: st.TmuxSocket(),
		Ask: func(ctx context.Context, q vault.Question) (bool, string, error) {
			ps := pending.Open(st)
			req, err := ps.Create(ctx, pending.Request{Kind: pending.KindVault, Session: q.Session, Question: q.Text,
				Choices: []string{"allow", "deny"}, Expires: time.Now().Add(time.Duration(c.ConfirmTimeout))})
			if err != nil {
				return false, "", err
			}
			ask.Announce(ctx, env, req)
			got, err := ask.Wait(ctx, env, ps, req.ID)
			switch {
			case err != nil:
				ask.Withdraw(env, ps, req.ID, "the vault stopped waiting: "+err.Error())
				return false, "", err
			case got.State == pending.StateExpired:
				return false, fmt.Sprintf("nobody answered %s within %s", req.ID, req.Timeout()), nil
			case got.State != pending.StateAnswered:
				return false, fmt.Sprintf("%s was %s", req.ID, got.State), nil
			case got.Answer != "allow":
				return false, fmt.Sprintf("%s denied it", got.AnsweredBy), nil
			}
			return true, "", nil
		},
	}
}

// confirmOnTerminal asks the person on the controlling terminal, the only
// place the agent trusts a "yes" from (it checks that this program, on a
// terminal that is not a window of ce's tmux, asked).
func confirmOnTerminal(question string) (bool, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer tty.Close()
	fmt.Fprintf(tty, "ce-vault: %s [y/N] ", question)
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil {
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// hasTerminal reports whether this process can ask on /dev/tty.
func hasTerminal() bool {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	tty.Close()
	return true
}
