package pkgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMakeDeb builds the Debian package into a temporary directory (nfpm
// comes from the Go module proxy, or Go's module cache), unpacks it into a
// temporary root and checks its control fields and its contents.
func TestMakeDeb(t *testing.T) {
	dist := t.TempDir()
	start := time.Now()
	cmd := exec.Command("make", "-C", root, "deb", "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb left %v in %s, want one .deb", debs, dist)
	}
	deb := debs[0]
	if fi, err := os.Stat(deb); err == nil {
		t.Logf("%s: %.1f MB, built in %v", filepath.Base(deb), float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
	}

	version := makeVar(t, "VERSION")
	arch := strings.TrimSpace(run(t, "go", "env", "GOARCH"))
	for field, want := range map[string]string{
		"Package": "ce", "Version": version, "Architecture": arch, "Depends": "tmux",
	} {
		if got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, field)); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	if want := "ce_" + version + "_" + arch + ".deb"; filepath.Base(deb) != want {
		t.Errorf("package file %s, want %s", filepath.Base(deb), want)
	}

	listing := run(t, "dpkg-deb", "-c", deb)
	for _, l := range strings.Split(strings.TrimSpace(listing), "\n") {
		if f := strings.Fields(l); len(f) < 2 || f[1] != "root/root" {
			t.Errorf("not owned by root: %s", l)
		}
	}
	dest := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, dest)

	var want []string
	for _, c := range commands() {
		want = append(want,
			"usr/bin/"+c,
			"usr/share/man/man1/"+c+".1",
			"usr/share/bash-completion/completions/"+c,
			"usr/share/zsh/site-functions/_"+c,
			"usr/share/fish/vendor_completions.d/"+c+".fish",
		)
	}
	want = append(want,
		"usr/share/man/man5/ce-config.5",
		"usr/share/man/man7/ce.7",
		"usr/share/doc/ce/config.example.yaml",
		"etc/ce/config.yaml.example",
		"usr/lib/systemd/system/ce.service",
		"usr/lib/sysusers.d/ce.conf",
	)
	user, _ := unitFiles(t)
	for _, p := range user {
		want = append(want, "usr/lib/systemd/user/"+filepath.Base(p))
	}
	for _, p := range want {
		fi, err := os.Stat(filepath.Join(dest, p))
		if err != nil {
			t.Errorf("the package lacks /%s", p)
			continue
		}
		if exe := fi.Mode()&0o111 != 0; exe != strings.HasPrefix(p, "usr/bin/") {
			t.Errorf("/%s has mode %v", p, fi.Mode())
		}
	}
	for _, p := range []string{"usr/lib/systemd/user/ce.service", "usr/share/doc/ce/config.example.yaml", "usr/share/man/man7/ce.7"} {
		got, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil {
			continue
		}
		src := map[string]string{
			"usr/lib/systemd/user/ce.service":      "contrib/systemd/ce.service",
			"usr/share/doc/ce/config.example.yaml": "config.example.yaml",
			"usr/share/man/man7/ce.7":              "man/ce.7",
		}[p]
		if b, err := os.ReadFile(filepath.Join(root, src)); err != nil || string(b) != string(got) {
			t.Errorf("/%s differs from %s", p, src)
		}
	}
	out, err := exec.Command(filepath.Join(dest, "usr", "bin", "ce"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), version) {
		t.Errorf("packaged ce --version: %v: %s", err, out)
	}
	if s := run(t, "dpkg-deb", "-I", deb, "postinst"); !strings.Contains(s, "systemd-sysusers") {
		t.Errorf("postinst does not create the user ce:\n%s", s)
	}
	if s := run(t, "dpkg-deb", "-I", deb, "conffiles"); strings.TrimSpace(s) != "/etc/ce/config.yaml.example" {
		t.Errorf("conffiles: %q", s)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

// makeVar returns the value a Makefile line "NAME ?= value" gives.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*\??=\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile sets no %s", name)
	}
	return string(m[1])
}
