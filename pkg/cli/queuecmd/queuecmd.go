// Package queuecmd is the ce-queue command: the durable prompt queue, the
// worker that runs it (serve, tick) and the hidden runner that lives in
// each session's tmux session. cmd/ce-queue is a one-line main around Main.
package queuecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/config"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/clidoc"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
)

// CLI is the command line of ce-queue.
type CLI struct {
	clikit.Globals

	Ls         LsCmd         `cmd:"" help:"List queue items."`
	Push       PushCmd       `cmd:"" help:"Queue a prompt for a session (like ce-session send --detach)."`
	Cancel     CancelCmd     `cmd:"" help:"Cancel a queued or parked item."`
	Retry      RetryCmd      `cmd:"" help:"Queue a failed or cancelled item again."`
	Serve      ServeCmd      `cmd:"" help:"Run the queue worker until interrupted."`
	Tick       TickCmd       `cmd:"" help:"Do one round of the worker's work and exit (for system cron or timers)."`
	Runner     RunnerCmd     `cmd:"" hidden:"" help:"The runner inside a session's tmux session (started by ce)."`
	Completion CompletionCmd `cmd:"" help:"Print the shell completion script."`
}

// GlobalFlags gives clikit the global flags.
func (c *CLI) GlobalFlags() *clikit.Globals { return &c.Globals }

// CompletionCmd prints a completion script.
type CompletionCmd struct{ clidoc.CompletionCmd }

// App is ce-queue's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name:        "ce-queue",
		Description: "the durable prompt queue and its worker\n\nItems move queued -> running -> done, failed or cancelled; runs happen in each session's tmux session and survive the death of any ce process.",
		CLI:         &CLI{},
	}
}

// Main runs ce-queue and returns its exit status.
func Main(args []string) int { return App().Main(args) }

func open(env *clikit.Env) (*dispatch.Driver, error) { return env.Driver() }

// LsCmd lists items.
type LsCmd struct {
	Session string `help:"Only items of this session."`
	State   string `help:"Only items in this state: ${enum}." enum:",queued,running,done,failed,cancelled,parked" default:""`
	JSON    bool   `name:"json" help:"Print one JSON object per item."`
}

// Run prints the items.
func (c *LsCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	items, err := d.Queue.List(env.Ctx, queue.Filter{Session: c.Session, State: c.State})
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		fmt.Fprintln(env.Stderr, "the queue is empty")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSESSION\tSTATE\tTRIES\tCREATED\tNOTE\tPROMPT")
	for _, it := range items {
		note := ""
		switch {
		case it.State == queue.Parked:
			note = "resumes " + it.ParkedUntil.Local().Format("01-02 15:04")
		case it.State == queue.Done:
			note = fmt.Sprintf("$%.4f %.1fs", it.CostUSD, float64(it.DurationMS)/1000)
		case it.Error != "":
			note = short(it.Error, 40)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Session, it.State, it.Attempts,
			it.Created.Local().Format("01-02 15:04:05"), note, short(it.Prompt, 50))
	}
	return tw.Flush()
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// PushCmd queues a prompt.
type PushCmd struct {
	Session string   `arg:"" help:"Session name."`
	Prompt  []string `arg:"" optional:"" help:"The prompt; read from stdin when omitted or \"-\"."`
}

// Run queues the prompt and prints its ID.
func (c *PushCmd) Run(env *clikit.Env) error {
	var prompt string
	if len(c.Prompt) > 0 && !(len(c.Prompt) == 1 && c.Prompt[0] == "-") {
		prompt = strings.Join(c.Prompt, " ")
	} else {
		b, err := readAllLimit(env)
		if err != nil {
			return err
		}
		prompt = b
	}
	if err := queue.CheckPrompt(prompt); err != nil {
		return clikit.Usage("pass the prompt as arguments or on stdin", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	if err := session.ValidName(c.Session); err != nil {
		return clikit.Usage("", "%v", err)
	}
	if _, err := d.Sessions.Get(env.Ctx, c.Session); errors.Is(err, session.ErrNotFound) {
		return clikit.Fail("ce-session ls lists sessions", "no session %q", c.Session)
	} else if err != nil {
		return err
	}
	it, err := d.Queue.Push(env.Ctx, c.Session, prompt, "cli")
	if err != nil {
		return err
	}
	d.Events.Append(eventlog.Event{Type: "prompt.queued", Session: c.Session, Item: it.ID, Data: map[string]any{"source": "cli", "bytes": len(prompt)}})
	d.NotifyQueue(env.Ctx, c.Session, it.ID)
	fmt.Fprintln(env.Stdout, it.ID)
	return nil
}

func readAllLimit(env *clikit.Env) (string, error) {
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 32<<10)
	for len(buf) <= queue.MaxPrompt {
		n, err := env.Stdin.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	return string(buf), nil
}

// CancelCmd cancels an item.
type CancelCmd struct {
	ID string `arg:"" help:"Queue item ID (q12)."`
}

// Run cancels the item.
func (c *CancelCmd) Run(env *clikit.Env) error {
	id, err := queue.ParseID(c.ID)
	if err != nil {
		return clikit.Usage("ce-queue ls lists the items", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	it, err := d.Queue.Cancel(env.Ctx, id)
	if errors.Is(err, queue.ErrNotFound) {
		return clikit.Fail("ce-queue ls lists the items", "no queue item %s", id)
	}
	if err != nil {
		return clikit.Fail("", "%v", err)
	}
	d.Events.Append(eventlog.Event{Type: "prompt.cancelled", Session: it.Session, Item: it.ID})
	fmt.Fprintf(env.Stdout, "cancelled %s\n", it.ID)
	return nil
}

// RetryCmd retries an item.
type RetryCmd struct {
	ID string `arg:"" help:"Queue item ID (q12) of a failed or cancelled item."`
}

// Run queues a copy of the item and prints the new ID.
func (c *RetryCmd) Run(env *clikit.Env) error {
	id, err := queue.ParseID(c.ID)
	if err != nil {
		return clikit.Usage("ce-queue ls lists the items", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	it, err := d.Queue.Retry(env.Ctx, id)
	if errors.Is(err, queue.ErrNotFound) {
		return clikit.Fail("ce-queue ls lists the items", "no queue item %s", id)
	}
	if err != nil {
		return clikit.Fail("", "%v", err)
	}
	d.Events.Append(eventlog.Event{Type: "prompt.queued", Session: it.Session, Item: it.ID, Data: map[string]any{"retry_of": id}})
	d.NotifyQueue(env.Ctx, it.Session, it.ID)
	fmt.Fprintln(env.Stdout, it.ID)
	return nil
}

// ServeCmd runs the worker.
type ServeCmd struct{}

// Run serves until SIGINT or SIGTERM. SIGHUP re-reads the configuration:
// a valid one restarts the serving loop with it (runs in flight go on in
// tmux and are picked up again at once); an invalid one is refused and
// logged, and the worker goes on as it was.
func (c *ServeCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	log, closeLog, err := env.DaemonLogger(d.State, "queue", d.Config.Log.Level)
	if err != nil {
		return err
	}
	defer closeLog()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		d.Log = log
		ctx, cancel := context.WithCancel(env.Ctx)
		next := make(chan *config.Config, 1)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
				}
				path, explicit := config.Path(env.Globals.Config)
				cfg, err := config.Load(path, explicit)
				if err != nil {
					log.Error().Err(err).Msg("reload refused; keeping the running config")
					continue
				}
				log.Info().Str("config", cfg.Source()).Msg("reloading the configuration")
				next <- cfg
				cancel()
				return
			}
		}()
		err = d.Serve(ctx)
		cancel()
		var wr *dispatch.ErrWorkerRunning
		if errors.As(err, &wr) {
			return clikit.Fail("stop it first, or use ce-queue tick", "%v", err)
		}
		if err != nil {
			log.Error().Err(err).Msg("worker stopped")
			return err
		}
		if env.Ctx.Err() != nil {
			return nil
		}
		select {
		case cfg := <-next:
			if d, err = dispatch.New(d.State, cfg, cfg.Source(), log); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// TickCmd does one round.
type TickCmd struct {
	Drain bool `help:"Run every runnable item, not one per session."`
}

// Run does one round and reports how many sessions it drove.
func (c *TickCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := d.Tick(env.Ctx, c.Drain)
	if err != nil {
		return err
	}
	if clikit.IsTerminal(os.Stderr) {
		fmt.Fprintf(env.Stderr, "drove %d sessions in %s\n", n, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
