package sessioncmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/render"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/text"
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
	if err := d.CheckSender(env.Ctx, c.Name); err != nil {
		return err
	}
	it, err := d.Enqueue(env.Ctx, platform.Prompt{Session: c.Name, Text: prompt, Source: "cli"})
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
	out := &printer{env: env}
	switch {
	case c.JSON:
		out.raw = env.Stdout
	case c.Stream:
		out.stream = &render.Printer{Text: env.Stdout, Tools: env.Stderr}
	}
	final, err := d.Await(ctx, it, out.line)
	if err != nil && ctx.Err() != nil {
		what := "timed out waiting"
		if env.Ctx.Err() != nil {
			what = "interrupted"
		}
		return clikit.WithHint(clikit.ExitFailure, fmt.Errorf("%s; prompt %s goes on in session %s", what, it.ID, c.Name),
			fmt.Sprintf("follow it with ce-session tail -f %s, or stop it with ce-session stop %s", c.Name, c.Name))
	}
	if err != nil {
		return err
	}
	return out.finish(final)
}

// readPrompt takes the prompt from the arguments, else from stdin.
func readPrompt(env *clikit.Env, args []string) (string, error) {
	if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
		p := strings.Join(args, " ")
		return p, queue.CheckPrompt(p)
	}
	if clikit.IsTerminal(env.Stdin) {
		env.Infof("reading the prompt from the terminal; end it with Ctrl-D")
	}
	return queue.ReadPrompt(env.Stdin)
}

// printer shows the runs of a sent prompt: nothing but the final text by
// default, every line as claude wrote it (raw, for --json) or rendered for
// people (stream, for --stream).
type printer struct {
	env    *clikit.Env
	raw    io.Writer
	stream *render.Printer
	result string
	got    bool
}

func (p *printer) line(_ queue.Item, l []byte) error {
	if p.raw != nil {
		_, err := p.raw.Write(append(l, '\n'))
		return err
	}
	if ev, err := streamjson.Parse(l); err == nil {
		if r, ok := ev.Result(); ok {
			p.result, p.got = r.Text, true
		}
	}
	if p.stream != nil {
		return p.stream.Line(l)
	}
	return nil
}

// finish prints the outcome of an item and returns the exit error.
func (p *printer) finish(it queue.Item) error {
	switch it.State {
	case queue.Done:
		if p.raw == nil && p.stream == nil {
			out := it.Result
			if p.got {
				out = p.result
			}
			if clikit.IsTerminal(p.env.Stdout) {
				out = text.Safe(out)
			}
			fmt.Fprintln(p.env.Stdout, out)
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
