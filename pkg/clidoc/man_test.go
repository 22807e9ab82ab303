package clidoc

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestManGolden(t *testing.T) {
	got := sampleMan(t)
	golden := filepath.Join("testdata", sampleName+".1")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("man page differs from %s (go test -update rewrites it); got:\n%s", golden, got)
	}
}

func TestManKeyLines(t *testing.T) {
	page := string(sampleMan(t))
	checkContains(t, "page", page, []string{
		`.TH "CE\-SAMPLE" 1 "2026-01-02" "ce" "ce manual"`,
		".SH NAME\nce\\-sample \\- Manage ce sessions\n.SH SYNOPSIS\n",
		`\fBce\-sample\fR \fBnew\fR [\fIflags\fR] \fI<name>\fR`,
		".SH COMMANDS\n.SS \"ce\\-sample new\"\nCreate a session.\n",
		".SS \"ce\\-sample send\"\nSend a prompt to a session.\n",
		".SS \"ce\\-sample queue ls\"\n",
		"Aliases: \\fBlist\\fR.\n",
		".TP\n\\fI<name>\\fR\nSession to send to.\n",
		".TP\n[\\fI<prompt>\\fR ...]\n",
		".TP\n\\fB\\-u\\fR, \\fB\\-\\-user\\fR=\\fIUSER\\fR\nUnix user the session runs as.\nDefault: \\fBclaude\\fR.\n",
		".TP\n\\fB\\-\\-timeout\\fR=\\fITIMEOUT\\fR\nGive up after this long.\nDefault: \\fB5m\\fR.\n",
		"One of: \\fBtext\\fR, \\fBjson\\fR, \\fBstream\\-json\\fR.\n",
		".TP\n\\fB\\-\\-color\\fR, \\fB\\-\\-no\\-color\\fR\n",
		".TP\n\\fB\\-\\-model\\fR=\\fIMODEL\\fR\nModel to use (opus,sonnet).\nRequired.\n",
		".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\n",
		".SH \"GLOBAL FLAGS\"\n.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n",
		".TP\n\\fB\\-\\-state\\-dir\\fR=\\fIDIR\\fR\nDirectory holding sessions and queues.\nEnvironment: \\fBCE_STATE_DIR\\fR.\n",
		".SH ENVIRONMENT\n.TP\n\\fBCE_CONFIG\\fR\n",
		"Used when \\fB\\-\\-force\\fR of \\fBce\\-sample queue rm\\fR is not given.\n",
		".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\nSuccess.\n",
		".SH EXAMPLES\nStart a session:\n.PP\n.RS 4\n.nf\nce\\-sample new main \\-\\-user=bob\n.fi\n.RE\n",
		".SH \"SEE ALSO\"\n\\fBce\\fR(7), \\fBce\\-queue\\fR(1)\n",
	})
	// The --json flag is documented under each command that has it.
	if n := strings.Count(page, ".TP\n\\fB\\-\\-json\\fR\n"); n != 2 {
		t.Errorf("--json documented %d times, want 2", n)
	}
	// Sections come in a fixed order.
	last := -1
	for _, s := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", `"GLOBAL FLAGS"`, "ENVIRONMENT", `"EXIT STATUS"`, "EXAMPLES", `"SEE ALSO"`} {
		i := strings.Index(page, "\n.SH "+s+"\n")
		if i <= last {
			t.Errorf("section %s at %d, after %d", s, i, last)
		}
		last = i
	}
}

func TestManOmitsHidden(t *testing.T) {
	page := string(sampleMan(t))
	for _, hidden := range []string{"debug", "Internal debugging", "trace", "Dump internal", "secret", "Not for users", "queue old", "Old format"} {
		if strings.Contains(page, hidden) || strings.Contains(page, strings.ReplaceAll(hidden, "-", `\-`)) {
			t.Errorf("page mentions hidden %q", hidden)
		}
	}
}

func TestManEscaping(t *testing.T) {
	page := string(sampleMan(t))
	checkContains(t, "page", page, []string{
		"\n\\&.ce files are read first; 'quoted' words start this line.\n",
		`A path like C:\etemp\ex is kept, and so is na\[u00EF]ve text \[u2014] even`,
		"\n\\(dqquotes\\(dq.\n",
		".nf\nce\\-session send main \\-\\- hello\n\\&.not\\-a\\-request\n.fi\n",
		"\\(bu first point\n.br\n\\(bu second point, continued\n",
	})
	if problems := lintRoff(page); len(problems) > 0 {
		t.Errorf("roff lint:\n%s", strings.Join(problems, "\n"))
	}
}

func TestEsc(t *testing.T) {
	for in, want := range map[string]string{
		"--state-dir": `\-\-state\-dir`,
		`a\b`:         `a\eb`,
		`say "hi"`:    `say \(dqhi\(dq`,
		"tab\there":   "tab here",
		"bell\a":      "bell",
		"é€😀":         `\[u00E9]\[u20AC]\[u1F600]`,
		"\xff":        `\[uFFFD]`,
		".dot 'q'":    `.dot 'q'`, // line starts are guarded by roffWriter.line
	} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
	var w roffWriter
	w.line(".x")
	w.line("'y")
	w.line(" z")
	w.line("ok")
	if got, want := w.b.String(), "\\&.x\n\\&'y\n\\& z\nok\n"; got != want {
		t.Errorf("guarded lines = %q, want %q", got, want)
	}
}

func TestFilledLinesStayShort(t *testing.T) {
	var w roffWriter
	w.text(strings.Repeat("word ", 40)+"\n\n.starts "+strings.Repeat("x", 100)+" .next", "PP", true)
	for _, l := range strings.Split(strings.TrimSpace(w.b.String()), "\n") {
		if len(l) > 80 && !strings.Contains(l, strings.Repeat("x", 100)) {
			t.Errorf("line of %d bytes: %q", len(l), l)
		}
	}
	if !strings.Contains(w.b.String(), "\n\\&.next\n") {
		t.Errorf("a wrapped line starting with a dot is not guarded:\n%s", w.b.String())
	}
}

func TestManDeterministic(t *testing.T) {
	first := sampleMan(t)
	for range 5 {
		if again := sampleMan(t); !bytes.Equal(first, again) {
			t.Fatal("two runs gave different pages")
		}
	}
}

// TestManRenders runs the page through the formatters present here: groff
// warnings (-ww) and mandoc's lint both count as failures.
func TestManRenders(t *testing.T) {
	page := sampleMan(t)
	for _, c := range [][]string{
		{"groff", "-man", "-Tutf8", "-ww", "-z"},
		{"mandoc", "-Tlint", "-W", "warning"},
	} {
		if _, err := exec.LookPath(c[0]); err != nil {
			t.Logf("%s not installed; TestManEscaping's lint still runs", c[0])
			continue
		}
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Stdin = bytes.NewReader(page)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
}

type leafCLI struct {
	Force bool     `short:"f" help:"Overwrite."`
	Mode  string   `enum:"a,b" default:"a" help:"Mode ${enum}, default ${default}."`
	Files []string `arg:"" help:"Files to read."`
}

func TestManProgramWithoutCommands(t *testing.T) {
	var cli leafCLI
	k, err := kong.New(&cli, kong.Name("ce-leaf"), kong.Description("Read files."), kong.Writers(io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Man(&b, k, ManOptions{Date: "2026-01-02"}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkContains(t, "page", page, []string{
		".SH SYNOPSIS\n\\fBce\\-leaf\\fR [\\fIflags\\fR] \\fI<files>\\fR ...\n.SH DESCRIPTION\n",
		".SH ARGUMENTS\n.TP\n\\fI<files>\\fR ...\nFiles to read.\n",
		".SH FLAGS\n",
		// Help that interpolates ${enum} and ${default} gets no second copy.
		"\\fB\\-\\-mode\\fR=\\fIMODE\\fR\nMode a,b, default a.\n",
	})
	for _, absent := range []string{"COMMANDS", "GLOBAL", "ENVIRONMENT", "SEE ALSO"} {
		if strings.Contains(page, absent) {
			t.Errorf("page has %s", absent)
		}
	}
	if problems := lintRoff(page); len(problems) > 0 {
		t.Errorf("roff lint:\n%s", strings.Join(problems, "\n"))
	}
}

func TestManNeedsDescription(t *testing.T) {
	var cli leafCLI
	k, err := kong.New(&cli, kong.Name("ce-leaf"), kong.Writers(io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	err = Man(io.Discard, k, ManOptions{})
	if err == nil || !strings.Contains(err.Error(), "kong.Description") {
		t.Errorf("err = %v, want a hint at kong.Description", err)
	}
	if err := Man(io.Discard, nil, ManOptions{}); err == nil {
		t.Error("nil model accepted")
	}
}
