// Package clikit is what every ce command shares: the global flags, the one
// voice of messages on stderr, the mapping of errors to exit statuses, and
// lazy access to the configuration and state directory.
//
// Message rules: data goes to stdout, everything for people to stderr, each
// line through one helper in one voice: "<cmd>: <what happened>" (Infof),
// "<cmd>: warning: ..." (Warnf), "<cmd>: error: <what went wrong>" (Errorf,
// and the error a command returns) and then "<cmd>: hint: <what to do>"
// (Hintf); lower case, no trailing period.
//
// Exit statuses: 0 ok, 1 failure, 2 bad usage or bad configuration, 128+N
// when signal N ended the command (130 for Ctrl-C, 143 for SIGTERM). An
// error carries its status and hint: an *Error, or any error with an
// ExitCode() int or Hint() string method (a store's error says how to go
// on without knowing which command printed it).
package clikit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/clidoc"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130 // 128 + SIGINT; SIGTERM gives 143
)

// Version is the version of ce, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Globals are the flags every command takes.
type Globals struct {
	StateDir string `name:"state-dir" env:"CE_STATE_DIR" placeholder:"DIR" help:"State directory (default $XDG_STATE_HOME/ce or ~/.local/state/ce)."`
	Config   string `name:"config" env:"CE_CONFIG" placeholder:"FILE" help:"Config file (default $XDG_CONFIG_HOME/ce/config.yaml)."`
}

// Base is what every command line has besides its commands: the global
// flags and the completion command. Embed it last in a CLI struct.
type Base struct {
	Globals
	Completion clidoc.CompletionCmd `cmd:"" help:"Print the shell completion script."`
}

// GlobalFlags gives Run the global flags.
func (b *Base) GlobalFlags() *Globals { return &b.Globals }

// Error is an error with an exit status and an optional hint.
type Error struct {
	Code int
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Fail returns a failure (exit 1) with a hint.
func Fail(hint string, format string, args ...any) error {
	return &Error{Code: ExitFailure, Err: fmt.Errorf(format, args...), Hint: hint}
}

// Usage returns a usage error (exit 2) with a hint.
func Usage(hint string, format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...), Hint: hint}
}

// WithHint wraps err with an exit status and hint.
func WithHint(code int, err error, hint string) error {
	return &Error{Code: code, Err: err, Hint: hint}
}

// Silent is an error whose message was already printed.
type Silent struct{ Code int }

func (s Silent) Error() string { return fmt.Sprintf("exit %d", s.Code) }

// Env is what a command's Run method receives.
type Env struct {
	Name    string
	Globals *Globals
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Ctx     context.Context

	cfg   *config.Config
	cfgP  string
	state *statedir.Dir
}

// say prints one line for people in the command's voice; kind is "" for
// information, else "warning", "error" or "hint".
func say(w io.Writer, name, kind, msg string) {
	if kind != "" {
		kind += ": "
	}
	fmt.Fprintf(w, "%s: %s%s\n", name, kind, oneLine(msg))
}

// Infof tells the person what happened, when it is not data.
func (e *Env) Infof(format string, args ...any) {
	say(e.Stderr, e.Name, "", fmt.Sprintf(format, args...))
}

// Warnf prints a warning.
func (e *Env) Warnf(format string, args ...any) {
	say(e.Stderr, e.Name, "warning", fmt.Sprintf(format, args...))
}

// Errorf prints an error the command goes on after (one item of many
// failed); the error that ends a command is returned instead.
func (e *Env) Errorf(format string, args ...any) {
	say(e.Stderr, e.Name, "error", fmt.Sprintf(format, args...))
}

// Failures collects the errors of a command that goes on after each (one
// job of several could not be removed): the first is returned at the end,
// with its exit status and hint; the others are printed as they come.
type Failures struct {
	env   *Env
	first error
}

// Failures starts a collection.
func (e *Env) Failures() *Failures { return &Failures{env: e} }

// Add records an error; nil is ignored.
func (f *Failures) Add(err error) {
	switch {
	case err == nil:
	case f.first == nil:
		f.first = err
	default:
		f.env.Errorf("%v", err)
	}
}

// Err is the first error added, or nil.
func (f *Failures) Err() error { return f.first }

// Hintf says what to do next.
func (e *Env) Hintf(format string, args ...any) {
	say(e.Stderr, e.Name, "hint", fmt.Sprintf(format, args...))
}

// Config loads the configuration once.
func (e *Env) Config() (*config.Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	path, explicit := config.Path(e.Globals.Config)
	cfg, err := config.Load(path, explicit)
	if err != nil {
		return nil, WithHint(ExitUsage, err, "fix the file, or see config.example.yaml and ce-config(5)")
	}
	e.cfg, e.cfgP = cfg, cfg.Source()
	return cfg, nil
}

// Setup loads the configuration and opens the state directory, for
// commands that need both.
func (e *Env) Setup() (*config.Config, *statedir.Dir, error) {
	cfg, err := e.Config()
	if err != nil {
		return nil, nil, err
	}
	st, err := e.State()
	return cfg, st, err
}

// Corrupted reports a store file that could not be loaded and was moved
// aside: the hook for store.Store.OnCorrupt.
func (e *Env) Corrupted(path, moved string, err error) {
	e.Warnf("%s could not be loaded (%v); it was moved to %s and a new one started", path, err, moved)
}

// ConfigPath is the file the configuration came from ("" for defaults).
func (e *Env) ConfigPath() string { return e.cfgP }

// State opens the state directory once.
func (e *Env) State() (*statedir.Dir, error) {
	if e.state != nil {
		return e.state, nil
	}
	root, err := statedir.Resolve(e.Globals.StateDir)
	if err != nil {
		return nil, WithHint(ExitUsage, err, "")
	}
	d, err := statedir.Open(root)
	if err != nil {
		return nil, WithHint(ExitFailure, err, "check the permissions of the state directory, or pick another with --state-dir")
	}
	e.state = d
	return d, nil
}

// Logger returns a logger for a short-lived command: human console output
// on stderr at warn level and above (debug with CE_DEBUG=1).
func (e *Env) Logger() zerolog.Logger {
	level := zerolog.WarnLevel
	if os.Getenv("CE_DEBUG") != "" {
		level = zerolog.DebugLevel
	}
	return ConsoleLogger(e.Stderr, level)
}

// ConsoleLogger is a zerolog logger for people.
func ConsoleLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	noColor := true
	if f, ok := w.(*os.File); ok {
		noColor = !isatty.IsTerminal(f.Fd())
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: noColor, TimeFormat: "15:04:05"}).Level(level).With().Timestamp().Logger()
}

// IsTerminal reports whether r is a terminal.
func IsTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// exitPanic carries kong's exit requests (after --help) out of Parse
// without os.Exit.
type exitPanic int

// App describes one command-line program.
type App struct {
	Name        string
	Description string
	CLI         any
	Options     []kong.Option
}

// Parser builds the kong model of the app; docs and completions are
// generated from it.
func (a App) Parser(stdout, stderr io.Writer) (*kong.Kong, error) {
	opts := []kong.Option{
		kong.Name(a.Name),
		kong.Description(a.Description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: false}),
		kong.Vars{"version": Version},
	}
	return kong.New(a.CLI, append(opts, a.Options...)...)
}

// Main parses args, runs the selected command and returns the exit status.
func (a App) Main(args []string) (code int) {
	return a.Run(args, os.Stdin, os.Stdout, os.Stderr)
}

// Run is Main with explicit streams.
func (a App) Run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if c, ok := r.(exitPanic); ok {
				code = int(c)
				if code == 80 {
					code = ExitUsage
				}
				return
			}
			panic(r)
		}
	}()
	parser, err := a.Parser(stdout, stderr)
	if err != nil {
		say(stderr, a.Name, "error", err.Error())
		return ExitFailure
	}
	if handled, status := clidoc.Register(parser); handled {
		return status
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		say(stderr, a.Name, "error", err.Error())
		say(stderr, a.Name, "hint", commandPath(a.Name, err)+" --help shows the usage")
		return ExitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	env := &Env{Name: a.Name, Stdin: stdin, Stdout: stdout, Stderr: stderr, Ctx: ctx}
	for _, v := range []any{a.CLI} {
		if g, ok := v.(interface{ GlobalFlags() *Globals }); ok {
			env.Globals = g.GlobalFlags()
		}
	}
	if env.Globals == nil {
		env.Globals = &Globals{}
	}
	err = kctx.Run(env)
	return a.report(stderr, ctx, err)
}

func commandPath(name string, err error) string {
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		if n := pe.Context.Selected(); n != nil {
			return n.FullPath()
		}
	}
	return name
}

// Interrupted is the cause of a command's context when a signal ended it.
type Interrupted struct{ Signal syscall.Signal }

func (i *Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// signalContext is cancelled by SIGINT or SIGTERM, with an *Interrupted
// cause naming the signal.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			cancel(&Interrupted{Signal: s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel(nil) }
}

// Status is the exit status and hint an error carries.
func Status(err error) (code int, hint string) {
	code = ExitFailure
	var e *Error
	var ce *config.Error
	var coded interface{ ExitCode() int }
	var hinted interface{ Hint() string }
	switch {
	case errors.As(err, &e):
		code, hint = e.Code, e.Hint
	case errors.As(err, &ce):
		code = ExitUsage
	default:
		if errors.As(err, &coded) {
			code = coded.ExitCode()
		}
		if errors.As(err, &hinted) {
			hint = hinted.Hint()
		}
	}
	return code, hint
}

func (a App) report(stderr io.Writer, ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	var s Silent
	if errors.As(err, &s) {
		return s.Code
	}
	code, hint := Status(err)
	var intr *Interrupted
	if errors.As(context.Cause(ctx), &intr) {
		code = 128 + int(intr.Signal)
		if errors.Is(err, context.Canceled) {
			say(stderr, a.Name, "", "interrupted")
			return code
		}
	}
	say(stderr, a.Name, "error", err.Error())
	if hint != "" {
		say(stderr, a.Name, "hint", hint)
	}
	return code
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
