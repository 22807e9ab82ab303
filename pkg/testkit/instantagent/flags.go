package instantagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// options is the part of claude's command line the agent acts on.
type options struct {
	prompt    string
	hasPrompt bool

	outputFormat   string
	inputFormat    string
	verbose        bool
	sessionID      string
	resume         string
	model          string
	permissionMode string
	mcpConfigs     []string
	disallowed     []string
}

// valueFlags are claude's flags that take a value; the agent must know them
// to tell a flag's value from the prompt. Those it does not use are listed
// so that their values are skipped.
var valueFlags = map[string]bool{
	"--output-format": true, "--input-format": true, "--session-id": true, "--resume": true, "-r": true,
	"--model": true, "--max-turns": true, "--permission-mode": true, "--mcp-config": true,
	"--allowedTools": true, "--allowed-tools": true, "--disallowedTools": true, "--disallowed-tools": true,
	"--append-system-prompt": true, "--system-prompt": true, "--append-system-prompt-file": true,
	"--system-prompt-file": true, "--max-budget-usd": true, "--add-dir": true, "--permission-prompt-tool": true,
	"--fallback-model": true, "--settings": true, "--setting-sources": true, "--tools": true, "--agents": true,
	"--agent": true, "--betas": true, "--json-schema": true, "--plugin-dir": true, "--debug-file": true,
	"--effort": true, "--name": true,
}

// parseArgs reads claude's flags. Unknown flags are skipped, on their own or
// as --flag=value; an unknown flag given its value as the next argument would
// make that value the prompt.
func parseArgs(args []string) (options, error) {
	o := options{outputFormat: "text", inputFormat: "text", permissionMode: "default"}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			if i+1 < len(args) {
				o.prompt, o.hasPrompt = strings.Join(args[i+1:], " "), true
			}
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			if !o.hasPrompt {
				o.prompt, o.hasPrompt = arg, true
			}
			continue
		}
		name, value, inline := strings.Cut(arg, "=")
		if !valueFlags[name] {
			if name == "--verbose" {
				o.verbose = true
			}
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return o, fmt.Errorf("option '%s' argument missing", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "--output-format":
			o.outputFormat = value
		case "--input-format":
			o.inputFormat = value
		case "--session-id":
			o.sessionID = value
		case "--resume", "-r":
			o.resume = value
		case "--model":
			o.model = value
		case "--permission-mode":
			o.permissionMode = value
		case "--mcp-config":
			o.mcpConfigs = append(o.mcpConfigs, value)
		case "--disallowedTools", "--disallowed-tools":
			o.disallowed = append(o.disallowed, strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
	}
	return o, o.validate()
}

// validate refuses what claude refuses, with claude's words, so a caller
// that would break the real claude breaks the stand-in too.
func (o options) validate() error {
	switch o.outputFormat {
	case "text", "json", "stream-json":
	default:
		return fmt.Errorf("invalid --output-format %q", o.outputFormat)
	}
	switch o.inputFormat {
	case "text", "stream-json":
	default:
		return fmt.Errorf("invalid --input-format %q", o.inputFormat)
	}
	if o.outputFormat == "stream-json" && !o.verbose {
		return errors.New("When using --print, --output-format=stream-json requires --verbose")
	}
	if o.inputFormat == "stream-json" && o.outputFormat != "stream-json" {
		return errors.New("--input-format=stream-json requires output-format=stream-json.")
	}
	for _, id := range []string{o.sessionID, o.resume} {
		if id != "" && uuid.Validate(id) != nil {
			return errors.New("Invalid session ID. Must be a valid UUID.")
		}
	}
	return nil
}

// builtinTools is the tools list of claude 2.1.328's system/init.
var builtinTools = []string{
	"Task", "Bash", "CronCreate", "CronDelete", "CronList", "Edit", "EnterWorktree", "ExitWorktree",
	"ListAgents", "Monitor", "NotebookEdit", "Read", "ReportFindings", "ScheduleWakeup", "SendMessage",
	"Skill", "TaskStop", "ToolSearch", "WebFetch", "WebSearch", "Workflow", "Write",
}

func (o options) tools() []string {
	return slices.DeleteFunc(slices.Clone(builtinTools), func(t string) bool { return slices.Contains(o.disallowed, t) })
}

// mcpServers names the servers of every --mcp-config, a file or inline
// JSON as claude accepts; configs it cannot read contribute none.
func (o options) mcpServers() []string {
	var names []string
	for _, c := range o.mcpConfigs {
		data := []byte(c)
		if !strings.HasPrefix(strings.TrimSpace(c), "{") {
			b, err := os.ReadFile(c)
			if err != nil {
				continue
			}
			data = b
		}
		var cfg struct {
			MCPServers map[string]json.RawMessage `json:"mcpServers"`
		}
		if json.Unmarshal(data, &cfg) != nil {
			continue
		}
		for name := range cfg.MCPServers {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}
