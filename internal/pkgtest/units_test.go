package pkgtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ce-platform/ce/internal/docs"
)

var root = filepath.Join("..", "..")

// unit is a parsed systemd unit file: section, then key, then its values
// in order (a key may repeat).
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseUnit reads the INI syntax of systemd.syntax(7): sections, key=value
// lines, comments, backslash continuations. Anything else is an error.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	pending := ""
	for sc.Scan() {
		n++
		line := pending + strings.TrimSpace(sc.Text())
		pending = ""
		if strings.HasSuffix(line, `\`) && !strings.HasPrefix(line, "#") {
			pending = strings.TrimSuffix(line, `\`) + " "
			continue
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				t.Fatalf("%s:%d: bad section header %q", path, n, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				t.Fatalf("%s:%d: section %s twice", path, n, section)
			}
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.TrimSpace(k) == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	if pending != "" {
		t.Fatalf("%s: ends in a continuation", path)
	}
	return u
}

func commands() []string {
	var names []string
	for _, a := range docs.Apps() {
		names = append(names, a.Name)
	}
	return names
}

// unitFiles lists the user units and the system units.
func unitFiles(t *testing.T) (user, system []string) {
	t.Helper()
	dir := filepath.Join(root, "contrib", "systemd")
	for _, pat := range []string{"*.service", "*.timer"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		user = append(user, m...)
	}
	system, _ = filepath.Glob(filepath.Join(dir, "system", "*.service"))
	if len(user) == 0 || len(system) == 0 {
		t.Fatalf("no units in %s", dir)
	}
	return user, system
}

// TestUnits checks the keys every unit needs and the ones the platform's
// design depends on: KillMode=process (tmux runs outlive a stop), the
// dedicated user and the hardening of the system unit, a service for each
// timer.
func TestUnits(t *testing.T) {
	user, system := unitFiles(t)
	cmds := commands()
	names := map[string]bool{}
	for _, p := range user {
		names[filepath.Base(p)] = true
	}
	for _, p := range append(slices.Clone(user), system...) {
		u := parseUnit(t, p)
		name := filepath.Base(p)
		if u.get("Unit", "Description") == "" {
			t.Errorf("%s: no Description", p)
		}
		switch filepath.Ext(name) {
		case ".service":
			exec := strings.Fields(u.get("Service", "ExecStart"))
			if len(exec) == 0 || !slices.Contains(cmds, exec[0]) {
				t.Errorf("%s: ExecStart %v does not run a ce command by its bare name", p, exec)
			}
			if u.get("Service", "KillMode") != "process" {
				t.Errorf("%s: KillMode must be process so that tmux runs survive a stop", p)
			}
			typ := u.get("Service", "Type")
			oneshot := strings.HasSuffix(name, "-tick.service")
			if oneshot && typ != "oneshot" || !oneshot && typ != "simple" {
				t.Errorf("%s: Type=%s", p, typ)
			}
			if !oneshot && u.get("Install", "WantedBy") == "" {
				t.Errorf("%s: no WantedBy", p)
			}
		case ".timer":
			if u.get("Timer", "OnCalendar") == "" || u.get("Install", "WantedBy") != "timers.target" {
				t.Errorf("%s: needs OnCalendar and WantedBy=timers.target", p)
			}
			if svc := strings.TrimSuffix(name, ".timer") + ".service"; !names[svc] {
				t.Errorf("%s: no %s", p, svc)
			}
		}
	}
	for _, want := range []string{"ce.service", "ce-queue-tick.timer", "ce-cron-tick.timer", "ce-heartbeat-tick.timer"} {
		if !names[want] {
			t.Errorf("contrib/systemd lacks %s", want)
		}
	}
	sys := parseUnit(t, filepath.Join(root, "contrib", "systemd", "system", "ce.service"))
	for k, v := range map[string]string{
		"User": "ce", "StateDirectory": "ce", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ProtectHome": "yes", "ReadWritePaths": "/var/lib/ce",
		"Environment": "HOME=/var/lib/ce",
	} {
		if got := sys.get("Service", k); got != v {
			t.Errorf("system ce.service: %s=%q, want %q", k, got, v)
		}
	}
	if sys.get("Service", "MemoryDenyWriteExecute") == "yes" {
		t.Error("system ce.service: MemoryDenyWriteExecute breaks node's JIT, hence claude")
	}
}

// TestUnitsVerify runs systemd-analyze verify where systemd is installed,
// on copies whose ExecStart points at an executable that exists (verify
// rejects a command it cannot find, and ce is not installed here).
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the syntax check of TestUnits stands alone")
		return
	}
	user, system := unitFiles(t)
	dir := t.TempDir()
	fake := filepath.Join(dir, "bin", "ce")
	os.MkdirAll(filepath.Dir(fake), 0o755)
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyUnits := func(sub string, files []string) []string {
		var out []string
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "Documentation=") {
					continue // verify runs man(1) on each page, not installed here
				}
				if rest, ok := strings.CutPrefix(l, "ExecStart="); ok {
					_, args, _ := strings.Cut(rest, " ")
					l = "ExecStart=" + fake + " " + args
				}
				lines = append(lines, l)
			}
			q := filepath.Join(dir, sub, filepath.Base(p))
			if err := os.WriteFile(q, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			out = append(out, q)
		}
		return out
	}
	run := func(args ...string) {
		cmd := exec.Command(analyze, append([]string{"verify"}, args...)...)
		runtime := filepath.Join(dir, "run")
		os.MkdirAll(runtime, 0o700)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_LOG_LEVEL=warning")
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %v: %v\n%s", args, err, out)
		}
	}
	run(append([]string{"--user"}, copyUnits("user", user)...)...)
	run(copyUnits("system", system)...)
}
