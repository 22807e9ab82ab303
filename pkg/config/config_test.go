package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// sameConfig reports whether a and b hold the same settings, ignoring where
// they came from.
func sameConfig(a, b *Config) bool {
	x, y := *a, *b
	x.source, x.lines, y.source, y.lines = "", nil, "", nil
	return reflect.DeepEqual(x, y)
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.Source() != "" {
		t.Errorf("Default().Source() = %q, want \"\"", c.Source())
	}
	want := &Config{
		Agent:     Agent{Command: "claude", Args: []string{}, Env: map[string]string{}, EnvPass: []string{}, LaunchGap: Duration(time.Second)},
		Sessions:  Sessions{MaxPerUser: 5, PromptTimeout: Duration(2 * time.Hour), KeepWarm: Duration(10 * time.Minute), MaxWarm: 4},
		Queue:     Queue{MaxParallel: 8, Retries: 1},
		Events:    Events{MaxSize: 16 << 20, Keep: 3},
		Log:       Log{Level: "info"},
		Enabled:   Enabled{"ask", "sessions", "memory", "vault", "cron"},
		MCP:       MCP{Servers: map[string]MCPServer{}},
		Templates: Templates{},
		Memory:    Memory{PromptNotes: 10},
		Heartbeat: heartbeatDefaults,
		Vault:     Vault{AgentTimeout: Duration(15 * time.Minute), ExecAllow: []string{}, Confirm: []string{"get", "exec"}, ConfirmTimeout: Duration(2 * time.Minute)},
		Cron:      Cron{Grace: Duration(time.Hour), Jobs: map[string]CronJob{}},
	}
	if !sameConfig(c, want) {
		t.Errorf("Default() = %+v, want %+v", *c, *want)
	}
}

// Every section must take part in defaults and validation, or a new section
// would silently skip them.
func TestSectionsHaveDefaultsAndValidate(t *testing.T) {
	Default().eachSection(func(name string, s any) {
		if _, ok := s.(interface{ setDefaults() }); !ok {
			t.Errorf("section %s has no setDefaults method", name)
		}
		if _, ok := s.(interface{ validate(*validator) }); !ok {
			t.Errorf("section %s has no validate method", name)
		}
	})
}

func TestParseEmpty(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"comments only": "# nothing here\n\n   # indented comment\n",
		"document mark": "---\n# only a comment\n",
		"null":          "~\n",
		"empty section": "agent:\n",
		"empty values":  "agent:\n  command:\n  args: ~\n  env:\n  launch_gap: null\nevents: {max_size: }\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse([]byte(in), "config.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !sameConfig(c, Default()) {
				t.Errorf("got %+v, want the defaults", *c)
			}
			if c.Source() != "config.yaml" {
				t.Errorf("Source() = %q", c.Source())
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	in := `
agent:
  command: /opt/claude/bin/claude
  args: [--verbose, "--add-dir=/x"]
  env:
    FOO: bar
    EMPTY:
    NUM: 5
  model: opus
  permission_mode: acceptEdits
  max_turns: 20
  launch_gap: 0
sessions:
  max_per_user: 1
  prompt_timeout: 1h30m
  default_dir: ~/src
  keep_warm: 0s
  max_warm: 0
queue:
  max_parallel: 1
  retries: 0
events:
  max_size: 10MB
  keep: 0
log:
  level: debug
`
	c, err := Parse([]byte(in), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The sections the file sets, whole; the others keep the defaults that
	// TestDefaultIsValid spells out.
	want := Default()
	want.Agent = Agent{
		Command:        "/opt/claude/bin/claude",
		Args:           []string{"--verbose", "--add-dir=/x"},
		Env:            map[string]string{"FOO": "bar", "EMPTY": "", "NUM": "5"},
		EnvPass:        []string{},
		Model:          "opus",
		PermissionMode: "acceptEdits",
		MaxTurns:       20,
	}
	want.Sessions = Sessions{MaxPerUser: 1, PromptTimeout: Duration(90 * time.Minute), DefaultDir: "/home/u/src"}
	want.Queue = Queue{MaxParallel: 1}
	want.Events = Events{MaxSize: 10_000_000}
	want.Log = Log{Level: "debug"}
	if !sameConfig(c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, *want)
	}
	if got := c.lines["sessions.default_dir"]; got != 16 {
		t.Errorf("line of sessions.default_dir = %d, want 16", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the whole message, file "c.yaml"
		key      string
	}{
		// Unknown keys at every level.
		{"unknown top", "agnet:\n  model: x\n",
			`c.yaml:1: unknown key "agnet" (did you mean "agent"? known keys: agent, cron, enabled, events, heartbeat, log, mcp, memory, queue, sessions, templates, vault)`, ""},
		{"unknown top far", "telegram:\n  token: x\n",
			`c.yaml:1: unknown key "telegram" (known keys: agent, cron, enabled, events, heartbeat, log, mcp, memory, queue, sessions, templates, vault)`, ""},
		{"unknown nested", "agent:\n  command: claude\n\n  modle: opus\n",
			`c.yaml:4: unknown key "agent.modle" (did you mean "model"? known keys under agent: args, command, env, env_pass, launch_gap, max_turns, model, permission_mode)`, ""},
		{"unknown nested case", "log:\n  Level: info\n",
			`c.yaml:2: unknown key "log.Level" (did you mean "level"? known keys under log: level)`, ""},
		{"unknown via merge", "agent:\n  <<: {comand: x}\n",
			`c.yaml:2: unknown key "agent.comand" (did you mean "command"? known keys under agent: args, command, env, env_pass, launch_gap, max_turns, model, permission_mode)`, ""},

		// The extension, MCP and template sections.
		{"unknown template key", "templates:\n  docs:\n    modle: x\n",
			`c.yaml:3: unknown key "templates.docs.modle" (did you mean "model"? known keys under templates.docs: allowed_tools, dir, disallowed_tools, mcp, model, system_prompt)`, ""},
		{"enabled twice", "enabled: [ask, ask]\n",
			`c.yaml:1: enabled[1]: "ask" is listed twice`, "enabled[1]"},
		{"enabled bad name", "enabled: [Ask]\n",
			`c.yaml:1: enabled[0]: extension names are lower-case letters, digits, '-' and '_', got "Ask"`, "enabled[0]"},
		{"mcp server without command", "mcp:\n  servers:\n    gh:\n      args: [x]\n",
			`c.yaml:3: mcp.servers.gh.command: must not be empty`, "mcp.servers.gh.command"},
		{"mcp server ce_ name", "mcp:\n  servers:\n    ce_x:\n      command: x\n",
			`c.yaml:3: mcp.servers.ce_x: names starting with ce_ are ce's own servers; pick another name`, "mcp.servers.ce_x"},
		{"template relative dir", "templates:\n  t:\n    dir: src\n",
			`c.yaml:3: templates.t.dir: must be an absolute path, got "src"`, "templates.t.dir"},

		// Wrong types.
		{"string for int", "sessions:\n  max_per_user: five\n",
			`c.yaml:2: sessions.max_per_user: expected an integer, got "five"`, "sessions.max_per_user"},
		{"quoted int", "queue:\n  retries: \"2\"\n",
			`c.yaml:2: queue.retries: expected an integer, got "2"`, "queue.retries"},
		{"float for int", "agent:\n  max_turns: 1.5\n",
			`c.yaml:2: agent.max_turns: expected an integer, got 1.5`, "agent.max_turns"},
		{"bool for int", "events:\n  keep: true\n",
			`c.yaml:2: events.keep: expected an integer, got true`, "events.keep"},
		{"huge int", "events:\n  keep: 99999999999999999999\n",
			`c.yaml:2: events.keep: expected an integer, got 99999999999999999999`, "events.keep"},
		{"list for map", "agent:\n  env: [A, B]\n",
			`c.yaml:2: agent.env: expected a mapping, got a list`, "agent.env"},
		{"string for map", "agent:\n  env: FOO=bar\n",
			`c.yaml:2: agent.env: expected a mapping, got "FOO=bar"`, "agent.env"},
		{"map for string", "agent:\n  command:\n    path: /bin/claude\n",
			`c.yaml:3: agent.command: expected a string, got a mapping`, "agent.command"},
		{"list for string", "log:\n  level: [info]\n",
			`c.yaml:2: log.level: expected a string, got a list`, "log.level"},
		{"string for list", "agent:\n  args: --verbose\n",
			`c.yaml:2: agent.args: expected a list, got "--verbose"`, "agent.args"},
		{"map in list", "agent:\n  args:\n    - a\n    - {b: c}\n",
			`c.yaml:4: agent.args[1]: expected a string, got a mapping`, "agent.args[1]"},
		{"map in map value", "agent:\n  env:\n    FOO: {bar: baz}\n",
			`c.yaml:3: agent.env.FOO: expected a string, got a mapping`, "agent.env.FOO"},
		{"list for section", "queue: [1, 2]\n",
			`c.yaml:1: queue: expected a mapping, got a list`, "queue"},
		{"string for section", "log: debug\n",
			`c.yaml:1: log: expected a mapping, got "debug"`, "log"},
		{"list at top", "- agent\n",
			`c.yaml:1: expected a mapping, got a list`, ""},
		{"int for duration", "sessions:\n  keep_warm: 30\n",
			`c.yaml:2: sessions.keep_warm: expected a duration, got 30 (use a unit, e.g. "30s")`, "sessions.keep_warm"},
		{"quoted int for duration", "agent:\n  launch_gap: \"2\"\n",
			`c.yaml:2: agent.launch_gap: expected a duration, got "2" (use a unit, e.g. "2s")`, "agent.launch_gap"},
		{"float for duration", "agent:\n  launch_gap: 0.5\n",
			`c.yaml:2: agent.launch_gap: expected a duration, got 0.5 (use a unit, e.g. "0.5s")`, "agent.launch_gap"},
		{"word for duration", "sessions:\n  prompt_timeout: forever\n",
			`c.yaml:2: sessions.prompt_timeout: expected a duration like "90s" or "1h30m", got "forever"`, "sessions.prompt_timeout"},
		{"map for duration", "sessions:\n  prompt_timeout: {h: 2}\n",
			`c.yaml:2: sessions.prompt_timeout: expected a duration, got a mapping`, "sessions.prompt_timeout"},
		{"bool for duration", "sessions:\n  keep_warm: false\n",
			`c.yaml:2: sessions.keep_warm: expected a duration, got false`, "sessions.keep_warm"},
		{"duplicate key", "queue:\n  retries: 1\n  retries: 2\n",
			`c.yaml:3: queue.retries: key appears twice (first on line 2)`, "queue.retries"},
		{"duplicate section", "log: {}\nlog: {}\n",
			`c.yaml:2: log: key appears twice (first on line 1)`, "log"},
		{"list as key", "agent:\n  ? [a]\n  : b\n",
			`c.yaml:2: agent: expected a key, got a list`, "agent"},

		// Bad values.
		{"negative max_per_user", "sessions:\n  max_per_user: -1\n",
			`c.yaml:2: sessions.max_per_user: must be at least 1, got -1`, "sessions.max_per_user"},
		{"zero max_parallel", "queue:\n  max_parallel: 0\n",
			`c.yaml:2: queue.max_parallel: must be at least 1, got 0`, "queue.max_parallel"},
		{"negative retries", "queue:\n  retries: -1\n",
			`c.yaml:2: queue.retries: must not be negative, got -1`, "queue.retries"},
		{"negative max_turns", "agent:\n  max_turns: -3\n",
			`c.yaml:2: agent.max_turns: must not be negative, got -3`, "agent.max_turns"},
		{"negative max_warm", "sessions:\n  max_warm: -1\n",
			`c.yaml:2: sessions.max_warm: must not be negative, got -1`, "sessions.max_warm"},
		{"negative keep", "events:\n  keep: -1\n",
			`c.yaml:2: events.keep: must not be negative, got -1`, "events.keep"},
		{"negative launch_gap", "agent:\n  launch_gap: -1s\n",
			`c.yaml:2: agent.launch_gap: must not be negative, got -1s`, "agent.launch_gap"},
		{"zero prompt_timeout", "sessions:\n  prompt_timeout: 0s\n",
			`c.yaml:2: sessions.prompt_timeout: must be greater than 0s, got 0s`, "sessions.prompt_timeout"},
		{"negative keep_warm", "sessions:\n  keep_warm: -10m\n",
			`c.yaml:2: sessions.keep_warm: must not be negative, got -10m`, "sessions.keep_warm"},
		{"bad permission mode", "agent:\n  permission_mode: yolo\n",
			`c.yaml:2: agent.permission_mode: unknown mode "yolo" (use one of default, acceptEdits, bypassPermissions, plan, dontAsk, auto, or leave it empty)`, "agent.permission_mode"},
		{"permission mode case", "agent:\n  permission_mode: acceptedits\n",
			`c.yaml:2: agent.permission_mode: unknown mode "acceptedits" (use one of default, acceptEdits, bypassPermissions, plan, dontAsk, auto, or leave it empty)`, "agent.permission_mode"},
		{"bad log level", "log:\n  level: verbose\n",
			`c.yaml:2: log.level: unknown level "verbose" (use one of debug, info, warn, error)`, "log.level"},
		{"empty command", "agent:\n  command: \"\"\n",
			`c.yaml:2: agent.command: must not be empty`, "agent.command"},
		{"env name with =", "agent:\n  env:\n    A=B: x\n",
			`c.yaml:3: agent.env.A=B: an environment variable name must not contain '=' or NUL`, "agent.env.A=B"},
		{"relative default_dir", "sessions:\n  default_dir: src\n",
			`c.yaml:2: sessions.default_dir: must be an absolute path or start with ~/, got "src"`, "sessions.default_dir"},
		{"bad byte size unit", "events:\n  max_size: 16XB\n",
			`c.yaml:2: events.max_size: unknown unit "XB" in byte size "16XB" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)`, "events.max_size"},
		{"bad byte size word", "events:\n  max_size: big\n",
			`c.yaml:2: events.max_size: expected a byte size like "16MiB", "10MB" or 1048576, got "big"`, "events.max_size"},
		{"negative byte size", "events:\n  max_size: -5\n",
			`c.yaml:2: events.max_size: a byte size must not be negative, got -5`, "events.max_size"},
		{"zero byte size", "events:\n  max_size: 0\n",
			`c.yaml:2: events.max_size: must be greater than 0, got 0B`, "events.max_size"},
		{"byte size overflow", "events:\n  max_size: 9000000TiB\n",
			`c.yaml:2: events.max_size: byte size "9000000TiB" is out of range`, "events.max_size"},
		{"fractional bytes", "events:\n  max_size: 1.1KiB\n",
			`c.yaml:2: events.max_size: byte size "1.1KiB" is not a whole number of bytes`, "events.max_size"},

		// Invalid YAML.
		{"unclosed flow", "agent:\n  args: [a, b\n",
			`c.yaml:2: invalid YAML: did not find expected ',' or ']'`, ""},
		{"tab indent", "agent:\n\tcommand: x\n",
			`c.yaml:2: invalid YAML: found character that cannot start any token`, ""},
		{"mapping on line 1", "agent: command: x\n",
			`c.yaml:1: invalid YAML: mapping values are not allowed in this context`, ""},
		{"unknown anchor", "agent:\n  args: *nope\n",
			`c.yaml:2: invalid YAML: unknown anchor 'nope' referenced`, ""},
		{"unclosed flow mapping", "log: {level: info\n",
			`c.yaml:2: invalid YAML: did not find expected ',' or '}'`, ""},
		{"missing dash", "agent:\n  args:\n    - a\n    b: c\n",
			`c.yaml:3: invalid YAML: did not find expected '-' indicator`, ""},
		{"dedented list", "log: {}\n- a\n",
			`c.yaml:2: invalid YAML: did not find expected key`, ""},
		{"two documents", "log: {}\n---\nqueue: {}\n",
			`c.yaml:3: a config file holds one YAML document, found a second`, ""},
		{"self alias", "agent:\n  env: &e\n    <<: *e\n",
			`c.yaml:3: agent.env: alias *e refers to a value that contains it`, "agent.env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in), "c.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", *c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			if e.Key != tt.key {
				t.Errorf("Key = %q, want %q", e.Key, tt.key)
			}
		})
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Queue.MaxParallel = 0
	err := c.Validate()
	if err == nil || err.Error() != "queue.max_parallel: must be at least 1, got 0" {
		t.Errorf("Validate() = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Line: 3, Key: "a.b", Msg: "bad"}, "f.yaml:3: a.b: bad"},
		{Error{File: "f.yaml", Key: "a.b", Msg: "bad"}, "f.yaml: a.b: bad"},
		{Error{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{Error{Line: 3, Key: "a", Msg: "bad"}, "line 3: a: bad"},
		{Error{Key: "a", Msg: "bad"}, "a: bad"},
		{Error{Msg: "bad"}, "bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		name               string
		flag, env, xdg, hm string
		want               string
		explicit           bool
	}{
		{"flag wins", "/f.yaml", "/env.yaml", "/xdg", "/home/u", "/f.yaml", true},
		{"env", "", "/env.yaml", "/xdg", "/home/u", "/env.yaml", true},
		{"xdg", "", "", "/xdg", "/home/u", "/xdg/ce/config.yaml", false},
		{"relative xdg ignored", "", "", "xdg", "/home/u", "/home/u/.config/ce/config.yaml", false},
		{"home", "", "", "", "/home/u", "/home/u/.config/ce/config.yaml", false},
		{"nothing", "", "", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CE_CONFIG", tt.env)
			t.Setenv("XDG_CONFIG_HOME", tt.xdg)
			t.Setenv("HOME", tt.hm)
			got, explicit := Path(tt.flag)
			if got != tt.want || explicit != tt.explicit {
				t.Errorf("Path(%q) = %q, %v; want %q, %v", tt.flag, got, explicit, tt.want, tt.explicit)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")

	c, err := Load(missing, false)
	if err != nil {
		t.Fatalf("Load(missing, default path) = %v", err)
	}
	if !sameConfig(c, Default()) || c.Source() != "" {
		t.Errorf("Load(missing, default path) = %+v, want the defaults", *c)
	}

	c, err = Load("", false)
	if err != nil || !sameConfig(c, Default()) {
		t.Errorf("Load(\"\", false) = %v, %v", c, err)
	}

	_, err = Load(missing, true)
	var e *Error
	if !errors.As(err, &e) || e.File != missing || !strings.Contains(e.Msg, "not found") || !strings.Contains(e.Msg, "CE_CONFIG") {
		t.Errorf("Load(missing, explicit) = %v", err)
	}

	_, err = Load(dir, false)
	if !errors.As(err, &e) || e.File != dir {
		t.Errorf("Load(directory) = %v", err)
	}

	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("queue:\n  retries: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(file, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Queue.Retries != 4 || c.Source() != file {
		t.Errorf("Load(file) = %+v, source %q", c.Queue, c.Source())
	}

	if err := os.WriteFile(file, []byte("queue:\n  retries: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(file, false)
	if !errors.As(err, &e) || err.Error() != file+`:2: queue.retries: expected an integer, got "x"` {
		t.Errorf("Load(bad file) = %v", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	c := Default()
	c.Agent.Env["A"] = "b"
	c.Agent.Args = []string{"x", "y: z"}
	c.Sessions.PromptTimeout = Duration(90*time.Minute + 5*time.Second)
	c.Events.MaxSize = 1234
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "out.yaml")
	if err != nil {
		t.Fatalf("Parse(Marshal(c)) = %v\n%s", err, out)
	}
	if !sameConfig(c, back) {
		t.Errorf("round trip changed config:\n%s\ngot %+v", out, *back)
	}
}
