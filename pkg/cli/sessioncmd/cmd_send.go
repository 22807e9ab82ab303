package sessioncmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/streamjson"
)

// SendCmd sends a prompt.
type SendCmd struct {
	Name    string        `arg:"" help:"Session name."`
	Prompt  []string      `arg:"" optional:"" help:"The prompt; read from stdin when omitted or \"-\"."`
	Stream  bool          `help:"Print assistant text as it arrives on stdout, and each tool use as one line on stderr."`
	JSON    bool          `name:"json" help:"Print every event of the run as claude emitted it, one JSON object per line."`
	Detach  bool          `help:"Queue the prompt, print its queue item ID and return at once."`
	Timeout time.Duration `help:"Stop waiting after this long (the prompt stays queued or running)." default:"0s"`
}

// Run queues the prompt and, unless detached, waits for its result,
// driving the session itself when no worker serves.
func (c *SendCmd) Run(env *clikit.Env) error {
	if c.Stream && c.JSON {
		return clikit.Usage("pick one of them", "--stream and --json cannot be used together")
	}
	prompt, err := readPrompt(env, c.Prompt)
	if err != nil {
		return err
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	if _, err := get(env.Ctx, d, c.Name); err != nil {
		return err
	}
	it, err := push(env.Ctx, d, c.Name, prompt, "cli")
	if err != nil {
		return err
	}
	if c.Detach {
		fmt.Fprintln(env.Stdout, it.ID)
		return nil
	}
	ctx := env.Ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	out := &printer{env: env, mode: modeResult}
	switch {
	case c.JSON:
		out.mode = modeJSON
	case c.Stream:
		out.mode = modeStream
	}
	final, err := follow(ctx, d, it, out.line)
	if err != nil {
		if ctx.Err() != nil {
			what := "timed out waiting"
			if env.Ctx.Err() != nil {
				what = "interrupted"
			}
			return clikit.Fail(fmt.Sprintf("follow it with ce-session tail -f %s, or stop it with ce-session stop %s", c.Name, c.Name),
				"%s; prompt %s goes on in session %s", what, it.ID, c.Name)
		}
		return err
	}
	return out.finish(final)
}

// readPrompt takes the prompt from the arguments, else from stdin.
func readPrompt(env *clikit.Env, args []string) (string, error) {
	if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
		p := strings.Join(args, " ")
		return p, checkPrompt(p)
	}
	if clikit.IsTerminal(env.Stdin) {
		fmt.Fprintln(env.Stderr, "reading the prompt from the terminal; end it with Ctrl-D")
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, queue.MaxPrompt+1))
	if err != nil {
		return "", err
	}
	return string(b), checkPrompt(string(b))
}

func checkPrompt(p string) error {
	if err := queue.CheckPrompt(p); err != nil {
		return clikit.Usage("pass the prompt as arguments or on stdin", "%v", err)
	}
	return nil
}

// push queues a prompt and records it in the event log.
func push(ctx context.Context, d *dispatch.Driver, name, prompt, source string) (queue.Item, error) {
	it, err := d.Queue.Push(ctx, name, prompt, source)
	if err != nil {
		return it, err
	}
	d.Events.Append(eventlog.Event{Type: "prompt.queued", Session: name, Item: it.ID, Data: map[string]any{"source": source, "bytes": len(prompt)}})
	if d.WorkerServing() {
		d.NotifyQueue(ctx, name, it.ID)
	}
	return it, nil
}

// follow waits for item it to end, delivering the stream lines of each of
// its runs as they are read. The session is driven by this process when no
// worker serves it.
func follow(ctx context.Context, d *dispatch.Driver, it queue.Item, fn func([]byte) error) (queue.Item, error) {
	type result struct {
		it  queue.Item
		err error
	}
	done := make(chan result, 1)
	runs := make(chan queue.Item, 8)
	// Following stops a moment after the item ended, whatever happened to
	// the run's files.
	fctx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	go func() {
		it, err := d.WaitFinal(ctx, it, func(r queue.Item) { runs <- r })
		done <- result{it, err}
		time.AfterFunc(2*time.Second, stopFollowing)
	}()
	for {
		select {
		case r := <-runs:
			if _, err := d.FollowRun(fctx, r.Session, r.Run, fn); err != nil && fctx.Err() == nil {
				return r, err
			}
		case r := <-done:
			// Runs that started before the end are still to be shown.
			for len(runs) > 0 {
				run := <-runs
				d.FollowRun(fctx, run.Session, run.Run, fn)
			}
			return r.it, r.err
		case <-ctx.Done():
			return it, ctx.Err()
		}
	}
}

type outputMode int

const (
	modeResult outputMode = iota
	modeStream
	modeJSON
)

// printer renders the stream of a run for send and tail.
type printer struct {
	env     *clikit.Env
	mode    outputMode
	result  *streamjson.Result
	printed bool
}

func (p *printer) line(l []byte) error {
	if p.mode == modeJSON {
		_, err := p.env.Stdout.Write(append(l, '\n'))
		return err
	}
	ev, err := streamjson.Parse(l)
	if err != nil {
		return nil
	}
	if r, ok := ev.Result(); ok {
		p.result = r
	}
	if p.mode != modeStream || ev.Type != "assistant" {
		return nil
	}
	for _, b := range ev.AssistantBlocks() {
		switch b.Type {
		case "text":
			if b.Text != "" {
				fmt.Fprintln(p.env.Stdout, b.Text)
				p.printed = true
			}
		case "tool_use":
			fmt.Fprintln(p.env.Stderr, streamjson.ToolLine(b))
		}
	}
	return nil
}

// finish prints the outcome of an item and returns the exit error.
func (p *printer) finish(it queue.Item) error {
	switch it.State {
	case queue.Done:
		if p.mode == modeResult {
			text := it.Result
			if p.result != nil {
				text = p.result.Text
			}
			fmt.Fprintln(p.env.Stdout, text)
		}
		return nil
	case queue.Parked:
		return clikit.Fail("ce-session usage shows the rate-limit state; ce-queue ls shows parked items",
			"%s; prompt %s is parked and runs then", it.Error, it.ID)
	default:
		msg := it.Error
		if msg == "" {
			msg = "the run failed"
		}
		return clikit.Fail("", "%s (prompt %s %s)", msg, it.ID, it.State)
	}
}
