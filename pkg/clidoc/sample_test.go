package clidoc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// sampleCLI is shaped like a ce binary: global flags with env tags, a
// --json flag on some commands, positional arguments, enums, defaults, a
// nested command, an alias, a hidden command and a hidden flag, and help
// text that needs escaping.
type sampleCLI struct {
	StateDir string `name:"state-dir" env:"CE_STATE_DIR" placeholder:"DIR" help:"Directory holding sessions and queues."`
	Config   string `env:"CE_CONFIG" placeholder:"FILE" help:"Configuration file (YAML)."`
	Verbose  int    `short:"v" type:"counter" help:"Log more; repeat for more still."`
	Trace    bool   `hidden:"" help:"Dump internal state."`

	New        sampleNew     `cmd:"" help:"Create a session."`
	Send       sampleSend    `cmd:"" help:"Send a prompt to a session."`
	Queue      sampleQueue   `cmd:"" help:"Inspect the queue of a session."`
	Debug      struct{}      `cmd:"" hidden:"" help:"Internal debugging."`
	Completion CompletionCmd `cmd:"" help:"Print a shell completion script."`
}

type sampleNew struct {
	Name string `arg:"" help:"Name of the new session."`
	User string `short:"u" default:"claude" help:"Unix user the session runs as."`
	JSON bool   `name:"json" help:"Print the session as JSON."`
}

type sampleSend struct {
	Name    string        `arg:"" help:"Session to send to."`
	Prompt  []string      `arg:"" optional:"" help:"Words of the prompt; read from stdin when absent."`
	Stream  bool          `help:"Print events as they arrive."`
	Detach  bool          `short:"d" help:"Return at once, leaving the prompt queued."`
	Timeout time.Duration `default:"5m" help:"Give up after this long."`
	Format  string        `enum:"text,json,stream-json" default:"text" help:"Output format."`
	Color   bool          `negatable:"" default:"true" help:"Colour the output."`
	Secret  string        `hidden:"" help:"Not for users."`
	Model   string        `required:"" enum:"opus,sonnet" help:"Model to use (${enum})."`
}

// Help has lines that would be roff requests, backslashes, an indented
// example, bullets and non-ASCII text.
func (sampleSend) Help() string {
	return `
		.ce files are read first; 'quoted' words start this line.
		A path like C:\temp\x is kept, and so is naïve text — even "quotes".

		    ce-session send main -- hello
		    .not-a-request

		- first point
		- second point,
		  continued
	`
}

type sampleQueue struct {
	Ls  sampleQueueLs  `cmd:"" aliases:"list" help:"List queued prompts."`
	Rm  sampleQueueRm  `cmd:"" help:"Remove a queued prompt."`
	Old sampleQueueOld `cmd:"" hidden:"" help:"Old format."`
}

type sampleQueueLs struct {
	Session string `arg:"" help:"Session whose queue to list."`
	JSON    bool   `name:"json" help:"Print JSON lines."`
}

type sampleQueueRm struct {
	Session string `arg:"" help:"Session."`
	ID      string `arg:"" help:"Prompt ID."`
	Force   bool   `short:"f" env:"CE_FORCE" help:"Do not ask."`
}

type sampleQueueOld struct{}

const sampleName = "ce-sample"

// newSample builds the sample model as a ce main would, with kong's exit
// turned into a recorded status.
func newSample(t testing.TB, stdout, stderr io.Writer, exit func(int)) *kong.Kong {
	t.Helper()
	var cli sampleCLI
	k, err := kong.New(&cli,
		kong.Name(sampleName),
		kong.Description("Manage ce sessions.\n\nA session is a long-lived conversation; see ce(7)."),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
	)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleModel(t testing.TB) *kong.Kong {
	t.Helper()
	return newSample(t, io.Discard, io.Discard, func(code int) { t.Fatalf("exit %d", code) })
}

var sampleOpts = ManOptions{
	Date:    "2026-01-02",
	Source:  "ce",
	Manual:  "ce manual",
	SeeAlso: []string{"ce(7)", "ce-queue(1)"},
	Extra: []Section{{
		Title: "Exit status",
		Items: []Item{
			{Term: "0", Text: "Success."},
			{Term: "2", Text: "Bad usage or configuration."},
		},
	}, {
		Title: "Examples",
		Body:  "Start a session:\n\n    ce-sample new main --user=bob\n",
	}},
}

func sampleMan(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Man(&b, sampleModel(t), sampleOpts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMain lets the test binary stand in for a ce binary: with
// CLIDOC_SAMPLE_MAIN=1 it runs the sample program, so the completion tests
// can put it on PATH under the sample's name and let real shells call it.
func TestMain(m *testing.M) {
	if os.Getenv("CLIDOC_SAMPLE_MAIN") == "1" {
		os.Exit(sampleMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// sampleMain is what a ce main looks like with Register.
func sampleMain(args []string) int {
	status := -1
	var cli sampleCLI
	k, err := kong.New(&cli,
		kong.Name(sampleName),
		kong.Description("Manage ce sessions."),
		kong.Exit(func(code int) {
			if status < 0 {
				status = code
			}
		}),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", sampleName, err)
		return 1
	}
	if handled, code := Register(k); handled {
		return code
	}
	ctx, err := k.Parse(args)
	if status >= 0 {
		return status
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", sampleName, err)
		return 2
	}
	if err := ctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", sampleName, err)
		return 1
	}
	return 0
}

// Run methods so that the sample binary's commands do something.
func (c *sampleNew) Run() error      { fmt.Println("ran: new", c.Name); return nil }
func (c *sampleSend) Run() error     { fmt.Println("ran: send", c.Name); return nil }
func (c *sampleQueueLs) Run() error  { fmt.Println("ran: ls", c.Session); return nil }
func (c *sampleQueueRm) Run() error  { return nil }
func (c *sampleQueueOld) Run() error { return nil }

// checkContains fails the test for each of wants that text, named what in
// the message, lacks.
func checkContains(t *testing.T, what, text string, wants []string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, text)
		}
	}
}
