package clidoc

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	kongcompletion "github.com/jotaen/kong-completion"
	"github.com/posener/complete"
)

func script(t *testing.T, shell string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Completion(&b, shell, sampleName); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCompletionScripts(t *testing.T) {
	bash := script(t, "bash")
	if want := "complete -o default -o bashdefault -C ce-sample ce-sample\n"; !strings.HasSuffix(bash, want) {
		t.Errorf("bash script:\n%s\nwant it to end in %q", bash, want)
	}
	zsh := script(t, "zsh")
	checkContains(t, "zsh script", zsh, []string{
		"#compdef ce-sample\n",
		"\nautoload -U +X bashcompinit && bashcompinit\ncomplete -o default -o bashdefault -C ce-sample ce-sample\n",
		"\nif [[ ${funcstack[1]-} == _ce-sample ]]; then\n  _bash_complete -o default -o bashdefault -C ce-sample\nfi\n",
	})
	if !strings.HasPrefix(zsh, "#compdef ce-sample\n") {
		t.Errorf("zsh script must start with #compdef for $fpath:\n%s", zsh)
	}
	fish := script(t, "fish")
	checkContains(t, "fish script", fish, []string{
		"\nfunction __complete_ce-sample\n    set -lx COMP_LINE (commandline -cp)\n",
		"\n    ce-sample\nend\n",
		"\ncomplete -f -c ce-sample -a \"(__complete_ce-sample)\"\n",
	})
	for shell, s := range map[string]string{"bash": bash, "zsh": zsh, "fish": fish} {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "/") && !strings.HasPrefix(l, "#") {
				t.Errorf("%s script holds a path: %q", shell, l)
			}
		}
		if again := script(t, shell); again != s {
			t.Errorf("%s script differs between runs", shell)
		}
	}
}

func TestCompletionRejects(t *testing.T) {
	if err := Completion(io.Discard, "tcsh", "ce"); err == nil || !strings.Contains(err.Error(), "bash, fish, zsh") {
		t.Errorf("tcsh: err = %v", err)
	}
	for _, name := range []string{"", "/usr/bin/ce", "./ce", "ce x", "$(id)", "-ce"} {
		if err := Completion(io.Discard, "bash", name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// register runs Register in-process against the sample model, the way a
// main would, and returns what it printed and the status it exited with.
func register(t *testing.T, compLine string, opts ...kongcompletion.Option) (handled bool, status int, stdout, stderr string, exits []int) {
	t.Helper()
	t.Setenv("COMP_LINE", compLine)
	t.Setenv("COMP_POINT", strconv.Itoa(len(compLine)))
	var out, errOut bytes.Buffer
	k := newSample(t, &out, &errOut, func(code int) { exits = append(exits, code) })
	handled, status = Register(k, opts...)
	return handled, status, out.String(), errOut.String(), exits
}

func TestRegisterOrdinaryRun(t *testing.T) {
	handled, status, stdout, stderr, exits := register(t, "")
	if handled || status != 0 || stdout != "" || stderr != "" || exits != nil {
		t.Errorf("ordinary run: handled=%v status=%d stdout=%q stderr=%q exits=%v", handled, status, stdout, stderr, exits)
	}
}

func TestRegisterAnswers(t *testing.T) {
	for _, c := range []struct {
		line      string
		want, not []string
	}{
		{"ce-sample ", []string{"completion", "new", "queue", "send"}, []string{"debug", "--state-dir"}},
		{"ce-sample s", []string{"send"}, nil},
		{"ce-sample --st", []string{"--state-dir"}, nil},
		{"ce-sample send --", []string{"--color", "--config", "--detach", "--format", "--help", "--model", "--state-dir", "--stream", "--timeout", "--verbose"}, []string{"--secret", "--trace"}},
		{"ce-sample send --format ", []string{"json", "stream-json", "text"}, nil},
		{"ce-sample send --format=st", []string{"stream-json"}, nil},
		{"ce-sample queue ", []string{"list", "ls", "rm"}, []string{"old"}},
		{"ce-sample completion ", []string{"bash", "fish", "zsh"}, nil},
	} {
		handled, status, stdout, stderr, exits := register(t, c.line)
		if !handled || status != 0 || stderr != "" || !slices.Equal(exits, []int{0}) {
			t.Errorf("%q: handled=%v status=%d stderr=%q exits=%v", c.line, handled, status, stderr, exits)
		}
		got := strings.Fields(stdout)
		slices.Sort(got)
		if c.not == nil && !slices.Equal(got, c.want) {
			t.Errorf("%q: candidates %q, want %q", c.line, got, c.want)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: candidates %q lack %q", c.line, got, w)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("%q: candidates %q offer hidden %q", c.line, got, n)
			}
		}
	}
}

type predictedCLI struct {
	Attach struct {
		Session string `arg:"" completion-predictor:"session"`
	} `cmd:""`
}

func TestRegisterPredictors(t *testing.T) {
	t.Setenv("COMP_LINE", "ce-x attach w")
	t.Setenv("COMP_POINT", "13")
	var out, errOut bytes.Buffer
	var exits []int
	var cli predictedCLI
	k, err := kong.New(&cli, kong.Name("ce-x"), kong.Writers(&out, &errOut), kong.Exit(func(c int) { exits = append(exits, c) }))
	if err != nil {
		t.Fatal(err)
	}
	handled, status := Register(k, kongcompletion.WithPredictor("session", complete.PredictSet("main", "work", "web")))
	if got := strings.Fields(out.String()); !handled || status != 0 || !slices.Equal(sorted(got), []string{"web", "work"}) {
		t.Errorf("handled=%v status=%d candidates=%q stderr=%q", handled, status, got, errOut.String())
	}

	// Without the predictor the model is broken: say so on stderr, exit 1.
	out.Reset()
	exits = nil
	handled, status = Register(k)
	if !handled || status != 1 || !slices.Equal(exits, []int{1}) || out.Len() != 0 {
		t.Errorf("handled=%v status=%d exits=%v stdout=%q", handled, status, exits, out.String())
	}
	if got := errOut.String(); !strings.Contains(got, `ce-x: error: completion: no predictor with name "session"`) {
		t.Errorf("stderr = %q", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// sampleBin puts the test binary on PATH as ce-sample (TestMain makes it
// behave as the sample program) and writes the three scripts next to it.
// It returns the directory and the environment for the shells.
func sampleBin(t *testing.T) (string, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, sampleName)); err != nil {
		t.Fatal(err)
	}
	files, err := Files(sampleModel(t), sampleOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"CLIDOC_SAMPLE_MAIN=1",
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir,
		// Interactive shells write history on exit, possibly after the
		// test has moved on to removing dir.
		"HISTFILE=/dev/null",
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"TERM=dumb",
	}
	return dir, env
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func haveShell(t *testing.T, shell string) bool {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Logf("%s not installed: its script is not run (apt-get install %s)", shell, shell)
		return false
	}
	return true
}

// TestBinaryAnswersLikeBashAsks runs the sample binary the way bash's
// complete -C does: argv is the command, the word and the previous word,
// COMP_LINE and COMP_POINT describe the line. An ordinary run prints
// nothing extra.
func TestBinaryAnswersLikeBashAsks(t *testing.T) {
	_, env := sampleBin(t)
	bin, err := lookPath(env, sampleName)
	if err != nil {
		t.Fatal(err)
	}
	line := "ce-sample queue rm x --f"
	cmd := exec.Command(bin, sampleName, "--f", "x")
	cmd.Args[0] = sampleName
	cmd.Env = append(env, "COMP_LINE="+line, "COMP_POINT="+strconv.Itoa(len(line)), "COMP_TYPE=9", "COMP_KEY=9")
	out, err := cmd.Output()
	if err != nil || string(out) != "--force\n" {
		t.Errorf("completion run: %v, stdout %q", err, out)
	}

	cmd = exec.Command(bin, "new", "main")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil || string(out) != "ran: new main\n" || stderr.Len() > 0 {
		t.Errorf("ordinary run: %v, stdout %q, stderr %q", err, out, stderr.String())
	}
}

// lookPath resolves name on env's PATH rather than the test's.
func lookPath(env []string, name string) (string, error) {
	for _, e := range env {
		if p, ok := strings.CutPrefix(e, "PATH="); ok {
			for _, d := range filepath.SplitList(p) {
				if path := filepath.Join(d, name); isExec(path) {
					return path, nil
				}
			}
		}
	}
	return "", exec.ErrNotFound
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// typeInShell drives an interactive shell through a pseudo-terminal with
// zsh's zpty module: it runs setup, types line followed by TAB, then the
// rest, and returns everything the terminal showed.
func typeInShell(t *testing.T, env []string, shellCmd, setup, line, rest string) string {
	t.Helper()
	const driver = `
zmodload zsh/zpty || exit 1
zpty -b s "$SHELL_CMD"
zpty -w s "$SETUP; echo CLIDOC''READY"
ready=
for i in {1..100}; do
  zpty -r -t s chunk && ready+=$chunk
  [[ $ready == *CLIDOCREADY* ]] && break
  sleep 0.1
done
zpty -w -n s "$LINE"$'\t'
sleep 1
zpty -w s "$REST; echo CLIDOC''DONE"
out=
for i in {1..100}; do
  zpty -r -t s chunk && out+=$chunk
  [[ $out == *CLIDOCDONE* ]] && break
  sleep 0.1
done
zpty -d s
print -r -- "$out"
`
	cmd := exec.Command("zsh", "-f", "-c", driver)
	cmd.Env = append(env, "SHELL_CMD="+shellCmd, "SETUP="+setup, "LINE="+line, "REST="+rest)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s: stuck; output so far:\n%s", shellCmd, out)
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", shellCmd, err, out)
	}
	return string(out)
}

// ranCommand reports whether the terminal output shows the sample command
// running: it prints "ran: " and what it did, which no echo of the typed
// line contains.
func ranCommand(out, did string) bool {
	return strings.Contains(out, "ran: "+did+"\r\n")
}

func TestBashScript(t *testing.T) {
	if !haveShell(t, "bash") {
		return
	}
	dir, env := sampleBin(t)
	path := filepath.Join(dir, "completions", sampleName+".bash")
	run(t, env, "bash", "-n", path)
	got := run(t, env, "bash", "--norc", "--noprofile", "-c", "source "+path+" && complete -p "+sampleName)
	if !regexp.MustCompile(`^complete .*-C '?ce-sample'? ce-sample\n$`).MatchString(got) {
		t.Errorf("complete -p: %q", got)
	}
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Log("zsh not installed: bash's TAB is not exercised in a terminal")
		return
	}
	out := typeInShell(t, env, "bash --norc --noprofile -i", "PS1='$ '; source "+path, "ce-sample qu", " ls main")
	if !ranCommand(out, "ls main") {
		t.Errorf("TAB in bash did not complete \"qu\" to \"queue\":\n%q", out)
	}
}

func TestZshScript(t *testing.T) {
	if !haveShell(t, "zsh") {
		return
	}
	dir, env := sampleBin(t)
	path := filepath.Join(dir, "completions", "_"+sampleName)
	run(t, env, "zsh", "-n", path)
	compinit := "autoload -U compinit && compinit -u -D"

	// Sourced after compinit, as in ~/.zshrc.
	got := run(t, env, "zsh", "-f", "-c", compinit+" && source "+path+" && print -r -- $_comps[ce-sample]")
	if want := "_bash_complete -o default -o bashdefault -C ce-sample\n"; got != want {
		t.Errorf("after sourcing, _comps[ce-sample] = %q, want %q", got, want)
	}
	out := typeInShell(t, env, "zsh -f -i", "PS1='%% '; "+compinit+"; source "+path, "ce-sample s", " main --model=opus")
	if !ranCommand(out, "send main") {
		t.Errorf("TAB in zsh (sourced) did not complete \"s\" to \"send\":\n%q", out)
	}

	// Autoloaded from $fpath, as a package installs it: the first TAB
	// must already complete.
	fpath := filepath.Dir(path)
	out = typeInShell(t, env, "zsh -f -i", "PS1='%% '; fpath=("+fpath+" $fpath); "+compinit, "ce-sample s", " main --model=opus")
	if !ranCommand(out, "send main") {
		t.Errorf("first TAB in zsh ($fpath) did not complete \"s\" to \"send\":\n%q", out)
	}
}

func TestFishScript(t *testing.T) {
	if !haveShell(t, "fish") {
		return
	}
	dir, env := sampleBin(t)
	path := filepath.Join(dir, "completions", sampleName+".fish")
	run(t, env, "fish", "--no-config", "-n", path)
	for line, want := range map[string]string{
		"ce-sample s":               "send\n",
		"ce-sample send --format ":  "json\nstream-json\ntext\n",
		"ce-sample queue rm x --fo": "--force\n",
	} {
		got := run(t, env, "fish", "--no-config", "-c", "source "+path+"; complete -C'"+line+"'")
		if got != want {
			t.Errorf("fish completes %q to %q, want %q", line, got, want)
		}
	}
}
