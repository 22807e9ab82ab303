package docs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ce-platform/ce/pkg/clidoc"
)

// ExampleConfig is the path of the example configuration, relative to the
// repository root; ce-config(5) is generated from its keys and comments so
// that the page cannot drift from the file pkg/config tests against.
const ExampleConfig = "config.example.yaml"

// overviewPage returns ce(7): how the pieces of the platform fit together.
// The command list comes from the kong models.
func overviewPage() ([]byte, error) {
	var cmds []clidoc.Item
	for _, a := range Apps() {
		cmds = append(cmds, clidoc.Item{Term: a.Name + "(1)", Text: firstLine(a.Description)})
	}
	p := clidoc.Page{
		Name: "ce", Summary: "a platform that runs claude sessions in tmux, queued, scheduled and extended",
		Section: 7, Date: Date, Source: "ce", Manual: "ce manual",
		Sections: []clidoc.Section{
			{Title: "Description", Body: `ce runs the claude CLI as long-lived, named sessions inside ce's own tmux server. Prompts are queued durably and run one at a time per session; cron jobs, a heartbeat agent and other sessions can queue prompts too. Tools reach each run as MCP servers, one per enabled extension.

Every command works on its own from a shell, a pipeline, system cron or a systemd timer. The daemons make things faster and push events in real time; none is required for correctness: each daemon's tick subcommand does one round of its work and exits.

ce up starts the broker and the enabled daemons, restarts a daemon that dies, and runs in the foreground (for systemd) or detached; ce down stops them gracefully and leaves tmux runs running.`},
			{Title: "Commands", Body: "ce X ARGS runs ce-X ARGS from PATH, git style.", Items: cmds},
			{Title: "Conventions", Body: `Every command takes --state-dir (CE_STATE_DIR) and --config (CE_CONFIG); --json wherever something is listed or shown (one JSON object, or NDJSON for streams), human tables otherwise. Data goes to stdout, diagnostics to stderr; every error says what was wrong and what to do.`},
			{Title: "State directory", Body: `$XDG_STATE_HOME/ce (~/.local/state/ce) unless --state-dir or CE_STATE_DIR says otherwise; mode 0700, files 0600. The layout is a contract: scripts may read these files.

    bridge.sock            broker socket (0600; peer uid checked)
    tmux.sock              ce's tmux server: one session ce-NAME per session
    sock/                  one socket per session's runner
    locks/                 lock files, one per store, per session and per daemon
    sessions.db            session records and the latest rate-limit state
    queue.db               live queue items: queued, running, parked, and the
                           last few finished of each session
    history/               finished queue items, one JSON line each, by week
    pending.db             pending questions and approvals
    cron.db, heartbeat.db  jobs, runs, valve state
    vault/                 age recipient, encrypted identity, secrets.db
    memory/                notes as Markdown files, plus .index/ (derived)
    runs/SESSION/RUN/      request.json, prompt, mcp.json, system-prompt,
                           started, pid, stream.jsonl, stderr, exit
    events.jsonl           the structured event log, rotated
    logs/                  one log file per daemon, and PIECE.out under ce up

Stores are buntdb files opened briefly under an exclusive lock and closed again, so any number of commands may run at once; a store rewrites itself with its live records when it has grown to twice their size. queue.db holds live state only, so that no command's cost grows with the history: finished items move to history/ (kept a week), which listings read from its end.`},
			{Title: "How a prompt runs", Body: `- Every way in (ce-session send, ce-queue push, cron, the heartbeat, a session's session_ask, Telegram) goes through one enqueue: it checks the prompt and the session, pushes an item into queue.db, records prompt.queued and wakes the queue worker (queue.changed on the broker).
- Whoever drives the session (the worker, or ce-session send when no worker serves) holds the session's drive lock, claims the next item, writes its run directory and sends the run to the session's runner over its socket. That one connection brings back every line claude prints, as the runner reads it, and then the exit, which carries the run's summary (result text, cost, tokens, turns, errors): nobody reads the stream again to record the run.
- The runner lives in the session's tmux pane and owns claude: it starts claude -p with stream-json output and a generated --mcp-config (in its own process group, with an environment built for it), appends each line to stream.jsonl, shows it in the pane, publishes it on the broker (session.NAME) and writes the exit file last. A warm session keeps its claude alive between prompts (sessions.keep_warm); process starts are spaced by a token bucket (agent.launch_gap).
- Followers that do not drive (ce-session tail -f, a send whose item the worker runs) ask the runner to watch the run, with the lines so far and then each as it is read; without a runner they read stream.jsonl.
- The driver records the outcome on the item, the session and the event log (run.finished); a run refused for plan limits parks its item and the session's later ones until the reset.

tmux keeps runs alive when any ce process dies. A running item whose drive lock is free was left by a driver that died: the next driver finishes it from its exit file, follows it if it still runs, queues it again if it never started (that attempt is not counted), or fails it and retries (queue.retries) when its runner or tmux died.`},
			{Title: "The broker", Body: `ce-bridge serve listens on bridge.sock and speaks newline-delimited JSON-RPC 2.0. Processes provide methods, call methods others provide (with a deadline), and publish and subscribe to topics such as session.*. A call to a method nobody provides fails at once, naming the command that should be running. The broker keeps no durable state: restarting it loses nothing, and no daemon needs it for correctness (each also watches the files it cares about).`},
			{Title: "Daemons", Body: `The queue worker, cron, the heartbeat, the vault agent and the broker run in one skeleton: one instance per state directory (a second one is refused, naming the holder from its lock), a log in logs/PIECE.log, PIECE.health on the broker (which ce status and ce doctor ask), and SIGHUP re-reading the configuration (one that does not load is refused and logged, and the old one kept). Each daemon's tick subcommand does one round of its work instead.`},
			{Title: "MCP injection and extensions", Body: `Before each run the driver writes mcp.json with one server per enabled extension (ce_ask, ce_sessions, ce_memory, ce_vault, ce_cron, ce_heartbeat...), each ce-mcp serve EXT with CE_SESSION, CE_STATE_DIR and CE_BRIDGE_SOCKET in its environment, plus the servers of mcp.servers. A template's mcp allowlist is fail-closed. mcp.gateway folds each server's tools into one tool with an action argument. The driver needs only each extension's description (tools, prompt fragment, timeout); the tools' handlers run in ce-mcp.

An extension is a piece listed in enabled. Disabling one removes its MCP server, its daemon and its prompt fragment, and nothing else breaks. A third-party extension is an executable ce-ext-NAME on PATH that describes itself as JSON when run as ce-ext-NAME manifest (its daemon command, its MCP command, its tools, a system prompt fragment): enabling NAME makes ce up run its daemon and the driver inject its MCP server.`},
			{Title: "Security", Body: `A session's claude and everything it starts run as you. ce keeps what it can out of their reach and says plainly what it cannot:

- Environment: ce's tmux server, every runner (started with env -i) and claude get an allowlisted environment (agent.env and agent.env_pass add to it); no CE_ variable, passphrase or token, nor a path to one, reaches them. ce up gives the vault's passphrase file to the vault agent alone.
- The broker: vault.*, heartbeat.*, queue.*, cron.*, telegram.* and agents.* are served only by the ce program of that name installed beside ce-bridge (its executable is checked); a squatter is refused and logged, and ce-vault unlock sends the passphrase only to a broker and an agent it has verified.
- The person's answers: ce-session answer refuses a process inside a session (by ancestry) or on a window of ce's tmux server, and a session's process may not queue prompts for another session. Questions that let a secret or a tool out (kinds vault and permission) are answered only from a terminal.
- Secret values: sessions store, list and use secrets (vault_exec), never read them. A value read through the agent waits for the person's yes (vault.confirm, like ssh-agent's confirm mode): on the terminal of the ce-vault that reads when it has one that is not ce's tmux, else in the approvals channel; a caller inside a session or on ce's tmux is refused outright.

Limits: these checks hold against a prompt-injected agent using ce's own commands, not against a determined process of your uid. Such a process can escape a session's process tree (setsid), open a terminal of its own (script(1)), write ce's stores directly, or read anything you can. Sessions allowed everything (bypassPermissions, or an "always" grant of Bash) should be isolated by the operating system:

- claude's own sandbox confines the Bash tool and what it starts (bubblewrap and socat on Linux): writes only under the session's directory, reads denied where you say, and, where its seccomp filter is available, Unix sockets blocked (so ce's broker and tmux server are out of reach), while ce's MCP servers, started by claude itself, keep working. Give it to every run with agent.args, for example
      args: ["--settings", '{"sandbox":{"enabled":true,"allowUnsandboxedCommands":false,"filesystem":{"denyRead":["~/.local/state/ce","~/.config/ce"]}}}']
  and check with claude's /sandbox panel that its dependencies are installed. Without allowUnsandboxedCommands false, a command may ask to run outside the sandbox; under bypassPermissions it is not asked. Other tools (Read, Write, WebFetch) are governed by permissions, not by the sandbox.
- Another uid: agent.command may name a wrapper that runs claude as a user of its own (sudo -u, setpriv), with a HOME and a session directory it may write. Nothing of yours is readable to it; but ce's MCP servers then run as that user too and cannot reach your state directory, so a session loses ce's tools.
- A container or virtual machine per session gives the most and costs the most; ce sees only the command agent.command names.`},
			{Title: "Event log", Body: `events.jsonl has one JSON object per line: seq (one more than the line before), time, type, session, item and data. Types: session.created, session.renamed, session.stopped, session.removed; prompt.queued, prompt.cancelled; run.started, run.retry, run.parked, run.finished; ask.created, ask.answered, ask.closed; cron.fired, cron.failed, cron.skipped, cron.created, cron.deleted; heartbeat.beat, heartbeat.paused, heartbeat.resumed, heartbeat.breaker, heartbeat.trigger, heartbeat.instructions; vault.stored, vault.removed, vault.exec. Writers hold locks/events.lock; readers take no lock and resume from the last seq they saw.`},
			exitStatus,
			{Title: "Environment", Items: []clidoc.Item{
				{Term: "CE_STATE_DIR", Text: "The state directory, as --state-dir."},
				{Term: "CE_CONFIG", Text: "The configuration file, as --config; it must exist."},
				{Term: "CE_BRIDGE_SOCKET", Text: "The broker socket; default bridge.sock in the state directory."},
				{Term: "CE_SESSION", Text: "Set for the MCP servers of a run: the session they serve."},
				{Term: "XDG_CONFIG_HOME, XDG_STATE_HOME", Text: "Where the configuration and the state directory are by default."},
			}},
			{Title: "Files", Items: slices.Concat(files.Items, []clidoc.Item{
				{Term: "/usr/share/doc/ce/config.example.yaml", Text: "The example configuration, when installed from the Debian package."},
				{Term: "/usr/lib/systemd/user/ce.service", Text: "Runs ce up for one user; timers for the tick subcommands sit beside it, and a system unit running as the user ce in /usr/lib/systemd/system."},
			})},
		},
		SeeAlso: append(manRefs(), "ce-config(5)", "tmux(1)", "claude(1)", "systemd.service(5)"),
	}
	var b bytes.Buffer
	err := clidoc.WritePage(&b, p)
	return b.Bytes(), err
}

// configPage returns ce-config(5) from the example configuration's text.
func configPage(example []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(example, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", ExampleConfig, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a mapping", ExampleConfig)
	}
	top := doc.Content[0]
	header := doc.HeadComment
	if header == "" {
		header = top.HeadComment
	}
	// The header's first paragraph speaks of the example file itself.
	if _, rest, ok := strings.Cut(commentText(header), "\n\n"); ok {
		header = rest
	} else {
		header = ""
	}
	var keys []clidoc.Item
	if err := keyItems(&keys, "", top); err != nil {
		return nil, err
	}
	p := clidoc.Page{
		Name: "ce-config", Summary: "the ce configuration file", Section: 5,
		Date: Date, Source: "ce", Manual: "ce manual",
		Sections: []clidoc.Section{
			{Title: "Synopsis", Body: "$XDG_CONFIG_HOME/ce/config.yaml"},
			{Title: "Description", Body: "The configuration of every ce command, in YAML.\n\n" + header},
			{Title: "Keys", Body: "Each key with its default value. Sections are mappings; a key below one is written here with its section, e.g. agent.command is command: in agent:.", Items: keys},
			{Title: "Reloading", Body: "ce reload (SIGHUP to ce up) re-reads and validates the file; an invalid file is rejected with its error and the old configuration kept."},
			{Title: "Files", Items: []clidoc.Item{
				{Term: "$XDG_CONFIG_HOME/ce/config.yaml", Text: "The configuration (~/.config/ce/config.yaml when XDG_CONFIG_HOME is unset)."},
				{Term: "/usr/share/doc/ce/config.example.yaml", Text: "Every key with its default and a comment, as on this page."},
			}},
		},
		SeeAlso: []string{"ce(7)", "ce(1)", "ce-session(1)", "ce-heartbeat(1)", "ce-cron(1)", "ce-vault(1)"},
	}
	var b bytes.Buffer
	err := clidoc.WritePage(&b, p)
	return b.Bytes(), err
}

// keyItems appends one item per key of m: sections (non-empty mappings)
// get their comment, then their keys; other keys their default and comment.
func keyItems(items *[]clidoc.Item, prefix string, m *yaml.Node) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		name := prefix + k.Value
		text := commentText(k.HeadComment)
		if text == "" {
			return fmt.Errorf("%s: key %s has no comment", ExampleConfig, name)
		}
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 {
			*items = append(*items, clidoc.Item{Term: name, Text: text})
			if err := keyItems(items, name+".", v); err != nil {
				return err
			}
			continue
		}
		def, err := flowValue(v)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", ExampleConfig, name, err)
		}
		*items = append(*items, clidoc.Item{Term: name + ": " + def, Text: text})
	}
	return nil
}

// flowValue renders a default value on one line, as YAML.
func flowValue(v *yaml.Node) (string, error) {
	c := *v
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if c.Kind == yaml.SequenceNode || c.Kind == yaml.MappingNode {
		c.Style = yaml.FlowStyle
	}
	b, err := yaml.Marshal(&c)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// commentText strips the '#' of each comment line. An indented example
// inside a comment becomes its own paragraph, so the page keeps it line
// for line.
func commentText(c string) string {
	var out []string
	prevIndented := false
	for _, l := range strings.Split(c, "\n") {
		l = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(l), "#"), " ")
		indented := strings.HasPrefix(l, " ")
		if l != "" && len(out) > 0 && out[len(out)-1] != "" && indented != prevIndented {
			out = append(out, "")
		}
		out = append(out, l)
		prevIndented = indented
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func manRefs() []string {
	var refs []string
	for _, a := range Apps() {
		refs = append(refs, a.Name+"(1)")
	}
	return refs
}

// pages returns ce(7) and ce-config(5) keyed by their path in the
// repository.
func pages(root string) (map[string][]byte, error) {
	example, err := os.ReadFile(filepath.Join(root, ExampleConfig))
	if err != nil {
		return nil, err
	}
	overview, err := overviewPage()
	if err != nil {
		return nil, err
	}
	config, err := configPage(example)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"man/ce.7": overview, "man/ce-config.5": config}, nil
}
