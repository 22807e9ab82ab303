// Package config provides ce's configuration: one typed schema shared by every
// ce command, its defaults, where the file lives and a strict loader.
//
// The file is YAML. Decoding is strict: an unknown key, a value of the wrong
// type or a value out of range is an *Error naming the file, the line and the
// full dotted key, so a typo never silently falls back to a default.
// Commands load the file once at start-up and pass the *Config down.
//
// The YAML keys and their meaning are a contract: config.example.yaml at the
// repository root documents every key and a test keeps it in step with this
// package. The Go API is implementation and may change between releases.
//
// A new top-level section is one new field of Config whose type has yaml tags
// and, if it needs them, setDefaults and validate methods: Default, Parse and
// Validate find sections by reflection.
package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// Config is the whole configuration. The zero value is not useful: start from
// Default, Load or Parse.
type Config struct {
	Agent    Agent    `yaml:"agent"`
	Sessions Sessions `yaml:"sessions"`
	Queue    Queue    `yaml:"queue"`
	Events   Events   `yaml:"events"`
	Log      Log      `yaml:"log"`

	Enabled   Enabled   `yaml:"enabled"`
	MCP       MCP       `yaml:"mcp"`
	Templates Templates `yaml:"templates"`
	Vault     Vault     `yaml:"vault"`
	Memory    Memory    `yaml:"memory"`
	Heartbeat Heartbeat `yaml:"heartbeat"`
	Cron      Cron      `yaml:"cron"`

	source string
	// lines maps each dotted key found in the file to its line, so that
	// Validate can say where a bad value was written.
	lines map[string]int
}

// Agent says how the claude CLI is run.
type Agent struct {
	Command        string            `yaml:"command"`         // program name or path
	Args           []string          `yaml:"args"`            // extra arguments for every run
	Env            map[string]string `yaml:"env"`             // extra environment for every run
	EnvPass        []string          `yaml:"env_pass"`        // more variables sessions may see
	Model          string            `yaml:"model"`           // "" leaves it to claude
	PermissionMode string            `yaml:"permission_mode"` // "" leaves it to claude
	MaxTurns       int               `yaml:"max_turns"`       // 0 means no limit
	LaunchGap      Duration          `yaml:"launch_gap"`      // least time between two process starts
}

// permissionModes lists the values agent.permission_mode accepts besides "".
var permissionModes = []string{"default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"}

func (a *Agent) setDefaults() {
	a.Command = "claude"
	a.Args = []string{}
	a.Env = map[string]string{}
	a.EnvPass = []string{}
	a.LaunchGap = Duration(time.Second)
}

func (a *Agent) validate(v *validator) {
	if a.Command == "" {
		v.fail("command", "must not be empty")
	}
	for _, name := range sortedKeys(a.Env) {
		key := "env." + name
		switch {
		case name == "":
			v.fail("env", "an environment variable name must not be empty")
		case strings.ContainsAny(name, "=\x00"):
			v.fail(key, "an environment variable name must not contain '=' or NUL")
		case strings.ContainsAny(a.Env[name], "\x00"):
			v.fail(key, "an environment variable value must not contain NUL")
		}
	}
	for _, name := range a.EnvPass {
		switch {
		case name == "" || strings.ContainsAny(name, "=\x00"):
			v.fail("env_pass", "%q is not an environment variable name", name)
		case strings.HasPrefix(name, "CE_"):
			v.fail("env_pass", "%s is ce's own variable and never reaches a session", name)
		}
	}
	if a.PermissionMode != "" {
		v.oneOf("permission_mode", "mode", a.PermissionMode, permissionModes, "or leave it empty")
	}
	v.atLeast("max_turns", a.MaxTurns, 0)
	v.durationAtLeast("launch_gap", a.LaunchGap, 0)
}

// Sessions bounds how many sessions exist and how their claude processes live.
type Sessions struct {
	MaxPerUser    int      `yaml:"max_per_user"`
	PromptTimeout Duration `yaml:"prompt_timeout"`
	// DefaultDir is absolute after Load or Parse; "" means the current
	// directory of ce-session new.
	DefaultDir string   `yaml:"default_dir"`
	KeepWarm   Duration `yaml:"keep_warm"` // 0 means one claude process per prompt
	MaxWarm    int      `yaml:"max_warm"`
}

func (s *Sessions) setDefaults() {
	s.MaxPerUser = 5
	s.PromptTimeout = Duration(2 * time.Hour)
	s.KeepWarm = Duration(10 * time.Minute)
	s.MaxWarm = 4
}

func (s *Sessions) validate(v *validator) {
	v.atLeast("max_per_user", s.MaxPerUser, 1)
	v.durationAtLeast("prompt_timeout", s.PromptTimeout, 1)
	if s.DefaultDir != "" && !filepath.IsAbs(s.DefaultDir) {
		v.fail("default_dir", "must be an absolute path or start with ~/, got %q", s.DefaultDir)
	}
	v.durationAtLeast("keep_warm", s.KeepWarm, 0)
	v.atLeast("max_warm", s.MaxWarm, 0)
}

// Queue bounds how much work runs at once.
type Queue struct {
	MaxParallel int `yaml:"max_parallel"` // sessions running at once
	Retries     int `yaml:"retries"`      // retries of a run whose tmux session died
}

func (q *Queue) setDefaults() {
	q.MaxParallel = 8
	q.Retries = 1
}

func (q *Queue) validate(v *validator) {
	v.atLeast("max_parallel", q.MaxParallel, 1)
	v.atLeast("retries", q.Retries, 0)
}

// Events says when the event log is rotated.
type Events struct {
	MaxSize ByteSize `yaml:"max_size"` // events.jsonl is rotated at this size
	Keep    int      `yaml:"keep"`     // rotated files kept
}

func (e *Events) setDefaults() {
	e.MaxSize = 16 * MiB
	e.Keep = 3
}

func (e *Events) validate(v *validator) {
	if e.MaxSize < 1 {
		v.fail("max_size", "must be greater than 0, got %s", e.MaxSize)
	}
	v.atLeast("keep", e.Keep, 0)
}

// Log sets what the commands log.
type Log struct {
	Level string `yaml:"level"` // debug, info, warn or error
}

// logLevels lists the values log.level accepts, least severe first.
var logLevels = []string{"debug", "info", "warn", "error"}

func (l *Log) setDefaults() { l.Level = "info" }

func (l *Log) validate(v *validator) {
	v.oneOf("level", "level", l.Level, logLevels, "")
}

// Default returns the configuration used when there is no file.
func Default() *Config {
	c := &Config{}
	c.eachSection(func(_ string, s any) {
		if d, ok := s.(interface{ setDefaults() }); ok {
			d.setDefaults()
		}
	})
	return c
}

// Source returns the file c was read from, or "" when c holds the defaults.
func (c *Config) Source() string { return c.source }

// eachSection calls fn with the YAML name of each field of c and a pointer to it.
func (c *Config) eachSection(fn func(name string, section any)) {
	rv := reflect.ValueOf(c).Elem()
	for _, f := range structFields(rv.Type()) {
		fn(f.name, rv.FieldByIndex(f.index).Addr().Interface())
	}
}
