package vault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/statedir"
)

func TestMain(m *testing.M) {
	SetWorkFactorForTests(10)
	os.Exit(m.Run())
}

const pass = "correct horse battery staple"

func newVault(t *testing.T) (*Vault, *statedir.Dir) {
	t.Helper()
	st, err := statedir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	v := Open(st)
	if _, err := v.Init(context.Background(), pass); err != nil {
		t.Fatal(err)
	}
	return v, st
}

func mustSet(t *testing.T, v *Vault, key, value string, tags ...string) {
	t.Helper()
	if _, _, err := v.Set(context.Background(), key, []byte(value), SetOptions{Tags: tags, Source: "cli"}); err != nil {
		t.Fatal(err)
	}
}

// snapshot reads every file of the vault, to show that nothing changed.
func snapshot(t *testing.T, v *Vault) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(v.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(v.Dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if b[k] != x {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	mustSet(t, v, "api/github/token", "ghp_secret", "ci", "gh")
	mustSet(t, v, "db/prod/password", "hunter2")

	id, err := v.Unlock(pass)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Get(ctx, id, "api/github/token")
	if err != nil || string(got) != "ghp_secret" {
		t.Fatalf("Get = %q, %v", got, err)
	}

	all, err := v.List(ctx, Filter{})
	if err != nil || len(all) != 2 || all[0].Key != "api/github/token" || all[1].Key != "db/prod/password" {
		t.Fatalf("List = %+v, %v", all, err)
	}
	if strings.Join(all[0].Tags, ",") != "ci,gh" || all[0].Source != "cli" || all[0].Created.IsZero() {
		t.Fatalf("entry = %+v", all[0])
	}
	tagged, _ := v.List(ctx, Filter{Tag: "ci"})
	if len(tagged) != 1 || tagged[0].Key != "api/github/token" {
		t.Fatalf("List(tag ci) = %+v", tagged)
	}
	prefixed, _ := v.List(ctx, Filter{Prefix: "db/"})
	if len(prefixed) != 1 || prefixed[0].Key != "db/prod/password" {
		t.Fatalf("List(prefix db/) = %+v", prefixed)
	}

	// Replacing keeps created and the tags unless new ones are given.
	first := all[0]
	_, replaced, err := v.Set(ctx, "api/github/token", []byte("ghp_new"), SetOptions{Source: "session:x"})
	if err != nil || !replaced {
		t.Fatalf("replace: %v %v", replaced, err)
	}
	e, _ := v.Lookup(ctx, "api/github/token")
	if !e.Created.Equal(first.Created) || strings.Join(e.Tags, ",") != "ci,gh" || e.Source != "session:x" {
		t.Fatalf("after replace: %+v", e)
	}
	_, _, err = v.Set(ctx, "api/github/token", []byte("x"), SetOptions{NoReplace: true})
	var exists *ExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("NoReplace: %v", err)
	}
	if got, _ := v.Get(ctx, id, "api/github/token"); string(got) != "ghp_new" {
		t.Fatalf("value after refused replace = %q", got)
	}

	if err := v.Remove(ctx, "db/prod/password"); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove(ctx, "db/prod/password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove = %v", err)
	}
	if _, err := v.Get(ctx, id, "db/prod/password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get removed = %v", err)
	}
}

func TestModes(t *testing.T) {
	v, st := newVault(t)
	mustSet(t, v, "a/b/c", "v")
	fi, err := os.Stat(v.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("vault dir: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{v.Path(RecipientFile), v.Path(IdentityFile), v.Path(SecretsFile), st.Lock("vault")} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	b, _ := os.ReadFile(v.Path(IdentityFile))
	if !bytes.HasPrefix(b, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) || bytes.Contains(b, []byte("AGE-SECRET-KEY")) {
		t.Fatalf("identity.age is not an armored age file:\n%s", b)
	}
}

func TestInitRefusesExistingVault(t *testing.T) {
	v, _ := newVault(t)
	before := snapshot(t, v)
	if _, err := v.Init(context.Background(), "other"); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init = %v", err)
	}
	if !sameSnapshot(before, snapshot(t, v)) {
		t.Fatal("a refused Init changed the vault")
	}
	if _, err := New(t.TempDir(), filepath.Join(t.TempDir(), "l")).Init(context.Background(), ""); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase = %v", err)
	}
}

func TestNoVault(t *testing.T) {
	st, _ := statedir.Open(t.TempDir())
	v := Open(st)
	ctx := context.Background()
	if _, _, err := v.Set(ctx, "a/b/c", []byte("x"), SetOptions{}); !errors.Is(err, ErrNoVault) {
		t.Errorf("Set = %v", err)
	}
	if _, err := v.List(ctx, Filter{}); !errors.Is(err, ErrNoVault) {
		t.Errorf("List = %v", err)
	}
	if _, err := v.Unlock(pass); !errors.Is(err, ErrNoVault) {
		t.Errorf("Unlock = %v", err)
	}
	if _, err := os.Stat(v.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed command created %s", v.Dir)
	}
}

func TestWrongPassphraseChangesNothing(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "value")
	before := snapshot(t, v)
	if _, err := v.Unlock("wrong"); !errors.Is(err, ErrWrongPassphrase) || err.Error() != "wrong passphrase" {
		t.Fatalf("Unlock(wrong) = %v", err)
	}
	if err := v.Passwd(ctx, "wrong", "new one"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Passwd(wrong) = %v", err)
	}
	a := NewAgent(v, time.Minute, nil)
	if err := a.Unlock("wrong"); !errors.Is(err, ErrWrongPassphrase) || a.Unlocked() {
		t.Fatalf("agent Unlock(wrong) = %v, unlocked %v", err, a.Unlocked())
	}
	if !sameSnapshot(before, snapshot(t, v)) {
		t.Fatal("a wrong passphrase changed the vault")
	}
	if _, err := v.Unlock(pass); err != nil {
		t.Fatalf("the right passphrase no longer works: %v", err)
	}
}

func TestPasswd(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "value")
	secrets, _ := os.ReadFile(v.Path(SecretsFile))
	rcpt, _ := os.ReadFile(v.Path(RecipientFile))
	if err := v.Passwd(ctx, pass, "new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Unlock(pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after Passwd: %v", err)
	}
	id, err := v.Unlock("new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, id, "a/b/c"); err != nil || string(got) != "value" {
		t.Fatalf("Get after Passwd = %q, %v", got, err)
	}
	after, _ := os.ReadFile(v.Path(SecretsFile))
	rcpt2, _ := os.ReadFile(v.Path(RecipientFile))
	if !bytes.Equal(secrets, after) || !bytes.Equal(rcpt, rcpt2) {
		t.Fatal("Passwd touched the secrets or the recipient")
	}
	if err := v.Passwd(ctx, "new passphrase", ""); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty new passphrase = %v", err)
	}
}

func TestValues(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	id, _ := v.Unlock(pass)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	huge := bytes.Repeat([]byte{0xff, 0, 'x'}, MaxValue/3)
	huge = append(huge, make([]byte, MaxValue-len(huge))...)
	for name, val := range map[string][]byte{"binary": binary, "max": huge, "newline": []byte("a\n")} {
		key := "t/v/" + name
		if _, _, err := v.Set(ctx, key, val, SetOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := v.Get(ctx, id, key)
		if err != nil || !bytes.Equal(got, val) {
			t.Fatalf("%s: got %d bytes, %v", name, len(got), err)
		}
	}
	_, _, err := v.Set(ctx, "t/v/over", make([]byte, MaxValue+1), SetOptions{})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, _, err := v.Set(ctx, "t/v/empty", nil, SetOptions{}); !errors.Is(err, ErrEmptyValue) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := v.Lookup(ctx, "t/v/over"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused value was stored: %v", err)
	}
}

func TestKeys(t *testing.T) {
	for _, k := range []string{"api/github/token", "a/b/c", "0.9/x_y/z-1", "ci/gh.com/token"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "tok3n", "a/b", "a/b/c/d", "a//c", "/b/c", "a/b/", "A/b/c", "a/b c/d", "a/../c",
		"a/b/ü", "a/b/c\n", strings.Repeat("a", 200) + "/" + strings.Repeat("b", 100) + "/c", "sk-live-123456/x/y!"} {
		err := ValidKey(k)
		if err == nil {
			t.Errorf("ValidKey(%q) = nil", k)
			continue
		}
		if k != "" && strings.Contains(err.Error(), k) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
	v, _ := newVault(t)
	if _, _, err := v.Set(context.Background(), "nope", []byte("x"), SetOptions{}); err == nil || !strings.Contains(err.Error(), "category/service/name") {
		t.Fatalf("Set(bad key) = %v", err)
	}
	if _, _, err := v.Set(context.Background(), "a/b/c", []byte("x"), SetOptions{Tags: []string{"bad tag"}}); err == nil {
		t.Fatal("Set(bad tag) = nil")
	}
}

func TestLockedStore(t *testing.T) {
	v, st := newVault(t)
	mustSet(t, v, "a/b/c", "v")
	lk, err := lockfile.Acquire(context.Background(), st.Lock("vault"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err = v.Set(ctx, "a/b/d", []byte("w"), SetOptions{})
	if err == nil || !strings.Contains(err.Error(), "held by") {
		t.Fatalf("Set under a held lock = %v", err)
	}
	lk.Unlock()
	all, err := v.List(context.Background(), Filter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("after the lock: %+v %v", all, err)
	}
}

func TestCorruptStoreIsSalvaged(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	mustSet(t, v, "a/b/one", "first")
	mustSet(t, v, "a/b/two", "second")
	mustSet(t, v, "a/b/three", "third")
	if err := v.Remove(ctx, "a/b/two"); err != nil {
		t.Fatal(err)
	}
	// Garbage in the middle of the file: buntdb refuses to load it.
	path := v.Path(SecretsFile)
	data, _ := os.ReadFile(path)
	cut := bytes.LastIndex(data[:bytes.Index(data, []byte("a/b/three"))], []byte("*3\r\n"))
	bad := append(append(append([]byte{}, data[:cut]...), "\r\n*garbage\r\n$9999\r\nxx"...), data[cut:]...)
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	var moved string
	recovered := -1
	v.OnCorrupt = func(p, to string, n int, err error) { moved, recovered = to, n }
	all, err := v.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if moved == "" || recovered != 2 {
		t.Fatalf("OnCorrupt: moved %q, recovered %d", moved, recovered)
	}
	if kept, _ := os.ReadFile(moved); !bytes.Equal(kept, bad) {
		t.Fatal("the damaged file was not kept as it was")
	}
	if len(all) != 2 || all[0].Key != "a/b/one" || all[1].Key != "a/b/three" {
		t.Fatalf("salvaged: %+v", all)
	}
	id, _ := v.Unlock(pass)
	if got, err := v.Get(ctx, id, "a/b/three"); err != nil || string(got) != "third" {
		t.Fatalf("salvaged value = %q, %v", got, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("new secrets.db mode %o", fi.Mode().Perm())
	}
}

func TestRecipientRebuilt(t *testing.T) {
	v, _ := newVault(t)
	want, _ := os.ReadFile(v.Path(RecipientFile))
	os.Remove(v.Path(RecipientFile))
	if _, _, err := v.Set(context.Background(), "a/b/c", []byte("x"), SetOptions{}); err == nil || !strings.Contains(err.Error(), "unlocking") {
		t.Fatalf("Set without recipient = %v", err)
	}
	if _, err := v.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(v.Path(RecipientFile)); !bytes.Equal(got, want) {
		t.Fatalf("rebuilt recipient %q, want %q", got, want)
	}
}
