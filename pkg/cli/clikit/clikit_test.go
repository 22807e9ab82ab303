package clikit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
)

type testCLI struct {
	Globals
	Do   doCmd   `cmd:"" help:"Return what the test says."`
	Many manyCmd `cmd:"" help:"Report several errors."`
}

func (c *testCLI) GlobalFlags() *Globals { return &c.Globals }

// result is what doCmd returns; each test sets it.
var result error

type doCmd struct {
	Name string `arg:"" optional:""`
}

func (c *doCmd) Run(env *Env) error {
	env.Infof("doing %s", c.Name)
	return result
}

type manyCmd struct{}

func (c *manyCmd) Run(env *Env) error {
	f := env.Failures()
	f.Add(nil)
	f.Add(Fail("fix the first", "first"))
	f.Add(errors.New("second"))
	f.Add(errors.New("third\nline"))
	return f.Err()
}

type hinted struct{}

func (hinted) Error() string { return "a store's error" }
func (hinted) ExitCode() int { return 2 }
func (hinted) Hint() string  { return "do the thing" }

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	app := App{Name: "ce-test", Description: "a test", CLI: &testCLI{}}
	code := app.Run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitStatusesAndVoice(t *testing.T) {
	for name, c := range map[string]struct {
		err    error
		args   []string
		code   int
		stderr string
	}{
		"ok":           {nil, []string{"do", "x"}, 0, "ce-test: doing x\n"},
		"failure":      {Fail("try again later", "it broke"), []string{"do"}, 1, "ce-test: doing\nce-test: error: it broke\nce-test: hint: try again later\n"},
		"usage":        {Usage("", "bad input"), []string{"do"}, 2, "ce-test: doing\nce-test: error: bad input\n"},
		"plain":        {errors.New("plain\nsecond line"), []string{"do"}, 1, "ce-test: doing\nce-test: error: plain; second line\n"},
		"config":       {fmt.Errorf("load: %w", &config.Error{File: "c.yaml", Line: 3, Msg: "unknown key"}), []string{"do"}, 2, "ce-test: error: load: "},
		"interfaces":   {fmt.Errorf("wrapped: %w", hinted{}), []string{"do"}, 2, "ce-test: error: wrapped: a store's error\nce-test: hint: do the thing\n"},
		"silent":       {Silent{Code: 3}, []string{"do"}, 3, "ce-test: doing\n"},
		"parse error":  {nil, []string{"nosuch"}, 2, "ce-test: error: unexpected argument nosuch\nce-test: hint: ce-test --help shows the usage\n"},
		"unknown flag": {nil, []string{"do", "--nope"}, 2, "ce-test: hint: ce-test do --help shows the usage\n"},
		"help":         {nil, []string{"--help"}, 0, ""},
	} {
		t.Run(name, func(t *testing.T) {
			result = c.err
			code, _, stderr := run(c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
}

func TestFailuresReturnTheFirstAndPrintTheRest(t *testing.T) {
	code, _, stderr := run("many")
	want := "ce-test: error: second\nce-test: error: third; line\nce-test: error: first\nce-test: hint: fix the first\n"
	if code != 1 || stderr != want {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// A signal cancels the command's context with the signal as the cause:
// the exit status is 128 + the signal, whatever error the command returns.
func TestInterruptedExitStatus(t *testing.T) {
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&Interrupted{Signal: sig})
		var errb bytes.Buffer
		app := App{Name: "ce-test"}
		if got := app.report(&errb, ctx, fmt.Errorf("wait: %w", context.Canceled)); got != want || errb.String() != "ce-test: interrupted\n" {
			t.Errorf("%v: exit %d, %q", sig, got, errb.String())
		}
		errb.Reset()
		if got := app.report(&errb, ctx, Fail("", "interrupted; prompt q1 goes on")); got != want || !strings.Contains(errb.String(), "prompt q1 goes on") {
			t.Errorf("%v with a message: exit %d, %q", sig, got, errb.String())
		}
	}
	var errb bytes.Buffer
	if got := (App{Name: "ce-test"}).report(&errb, context.Background(), context.Canceled); got != 1 {
		t.Errorf("a cancellation without a signal exits %d", got)
	}
}
