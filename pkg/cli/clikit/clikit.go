// Package clikit is what every ce command shares: the global flags, the one
// voice of messages on stderr, the mapping of errors to exit statuses, and
// lazy access to the configuration and state directory.
//
// Message rules: data goes to stdout, everything for people to stderr as
// "<cmd>: error: <what went wrong>" and then "<cmd>: hint: <what to do>",
// lower case, no trailing period.
//
// Exit statuses: 0 ok, 1 failure, 2 bad usage or bad configuration, 130
// interrupted.
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
	ExitInterrupted = 130
)

// Version is the version of ce, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Globals are the flags every command takes.
type Globals struct {
	StateDir string `name:"state-dir" env:"CE_STATE_DIR" placeholder:"DIR" help:"State directory (default $XDG_STATE_HOME/ce or ~/.local/state/ce)."`
	Config   string `name:"config" env:"CE_CONFIG" placeholder:"FILE" help:"Config file (default $XDG_CONFIG_HOME/ce/config.yaml)."`
}

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

// Warnf prints a warning in the command's voice.
func (e *Env) Warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s: warning: %s\n", e.Name, fmt.Sprintf(format, args...))
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

// DaemonLogger returns a logger writing JSON lines to the daemon's log file
// and, when stderr is a terminal, human lines there too.
func (e *Env) DaemonLogger(st *statedir.Dir, daemon string, level string) (zerolog.Logger, func(), error) {
	f, err := os.OpenFile(st.LogFile(daemon), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return zerolog.Nop(), func() {}, err
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var w io.Writer = f
	if sf, ok := e.Stderr.(*os.File); ok && isatty.IsTerminal(sf.Fd()) {
		w = zerolog.MultiLevelWriter(f, zerolog.ConsoleWriter{Out: sf, TimeFormat: "15:04:05"})
	}
	log := zerolog.New(w).Level(lvl).With().Timestamp().Str("daemon", daemon).Logger()
	return log, func() { f.Close() }, nil
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
		fmt.Fprintf(stderr, "%s: error: %v\n", a.Name, err)
		return ExitFailure
	}
	if handled, status := clidoc.Register(parser); handled {
		return status
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", a.Name, err)
		fmt.Fprintf(stderr, "%s: hint: %s --help shows the usage\n", a.Name, commandPath(a.Name, err))
		return ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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

func (a App) report(stderr io.Writer, ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	var s Silent
	if errors.As(err, &s) {
		return s.Code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "%s: interrupted\n", a.Name)
		return ExitInterrupted
	}
	code, hint := ExitFailure, ""
	var e *Error
	var ce *config.Error
	switch {
	case errors.As(err, &e):
		code, hint = e.Code, e.Hint
	case errors.As(err, &ce):
		code = ExitUsage
	}
	fmt.Fprintf(stderr, "%s: error: %s\n", a.Name, oneLine(err.Error()))
	if hint != "" {
		fmt.Fprintf(stderr, "%s: hint: %s\n", a.Name, hint)
	}
	return code
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
