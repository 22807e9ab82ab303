package clidoc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/kong"
)

// Files generates every documentation file of the program modelled by k,
// keyed by slash-separated path relative to the repository root:
// man/NAME.SECTION, completions/NAME.bash, completions/_NAME (zsh's
// naming, for $fpath) and completions/NAME.fish.
func Files(k *kong.Kong, opts ManOptions) (map[string][]byte, error) {
	if k == nil || k.Model == nil {
		return nil, errors.New("clidoc: no kong model")
	}
	name := k.Model.Name
	section := opts.Section
	if section == 0 {
		section = 1
	}
	var man bytes.Buffer
	if err := Man(&man, k, opts); err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"man/" + name + "." + strconv.Itoa(section): man.Bytes(),
	}
	for shell, path := range map[string]string{
		"bash": "completions/" + name + ".bash",
		"zsh":  "completions/_" + name,
		"fish": "completions/" + name + ".fish",
	} {
		var b bytes.Buffer
		if err := Completion(&b, shell, name); err != nil {
			return nil, err
		}
		files[path] = b.Bytes()
	}
	return files, nil
}

// WriteFiles writes files (as returned by Files) under dir, creating
// directories as needed. A file whose content is already right is left
// alone; others are replaced atomically (temporary file in the same
// directory, then rename), so a reader never sees half a page.
func WriteFiles(dir string, files map[string][]byte) error {
	for _, name := range sortedKeys(files) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writeAtomic(path, files[name]); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// CheckFiles compares the committed files under dir with freshly generated
// content (as returned by Files). It returns nil when all match, else one
// error naming each file that is stale or missing, with regen as the fix:
// "man/ce-session.1 is stale: run make docs".
func CheckFiles(dir string, want map[string][]byte, regen string) error {
	var errs []error
	for _, name := range sortedKeys(want) {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s is missing: run %s", name, regen))
		case err != nil:
			errs = append(errs, err)
		case !bytes.Equal(got, want[name]):
			errs = append(errs, fmt.Errorf("%s is stale: run %s", name, regen))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MissingFlags lists the visible flags of k (on the program and on its
// visible commands) that manText, a roff man page, never mentions, as
// "ce-session send --detach". It works on hand-written pages too (go-md2man
// output, say): font changes and escaped hyphens are undone before
// looking for the long form of each flag. kong's --help is not required.
func MissingFlags(manText []byte, k *kong.Kong) []string {
	if k == nil || k.Model == nil {
		return nil
	}
	text := plainRoff(string(manText))
	var missing []string
	nodes := append([]*kong.Node{k.Model.Node}, visibleCommands(k.Model.Node)...)
	for _, n := range nodes {
		for _, f := range visibleFlags(n) {
			if f == k.Model.HelpFlag || mentions(text, "--"+f.Name) {
				continue
			}
			missing = append(missing, plainPath(n)+" --"+f.Name)
		}
	}
	return missing
}

// roffNoise matches the escapes that can sit inside a flag name in a man
// page: font changes, zero-width characters and hyphen spellings.
var roffNoise = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\\f(\[[^]]*\]|\(..|.)|\\&|\\[:%]|\\\(hy|\\\(mi|\\\[(hy|mi|u2010|u2212)\]|\\-`)
})

// plainRoff undoes the escapes of roffNoise, turning each hyphen escape
// into a plain '-'.
func plainRoff(s string) string {
	return roffNoise().ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, `\f`) || m == `\&` || m == `\:` || m == `\%` {
			return ""
		}
		return "-"
	})
}

// mentions reports whether text holds flag as a whole word: not followed
// by more of a flag name, so "--state" is not found in "--state-dir".
func mentions(text, flag string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], flag)
		if j < 0 {
			return false
		}
		end := i + j + len(flag)
		start := i + j
		if (end == len(text) || !isFlagChar(text[end])) && (start == 0 || !isFlagChar(text[start-1])) {
			return true
		}
		i = start + 1
	}
}

func isFlagChar(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
