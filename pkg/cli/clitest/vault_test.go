package clitest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ce-platform/ce/pkg/vault"
	"github.com/rogpeppe/go-internal/testscript"
)

// The test binary is every command of the scripts, re-executed: a cheap
// scrypt work factor here makes ce-vault init and passwd fast in them, and
// exists nowhere else.
func init() {
	vault.SetWorkFactorForTests(10)
	Cmds["mksecret"] = mksecret
	Cmds["noleak"] = noleak
}

// mksecret FILE writes a fresh random secret to FILE, without a newline:
// "sv-" and 32 hex digits, so that a script can look for it everywhere
// without writing it into the script itself.
func mksecret(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: mksecret FILE")
	}
	b := make([]byte, 16)
	rand.Read(b)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte("sv-"+hex.EncodeToString(b)), 0o600))
}

// noleak FILE DIR... fails if a file under the DIRs other than FILE holds
// the secret in FILE, as it is or in base64.
func noleak(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: noleak SECRETFILE DIR...")
	}
	src := ts.MkAbs(args[0])
	secret, err := os.ReadFile(src)
	ts.Check(err)
	if len(secret) < 8 {
		ts.Fatalf("the secret in %s is too short to look for", args[0])
	}
	needles := [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte(base64.RawStdEncoding.EncodeToString(secret))}
	var found []string
	scanned := 0
	for _, dir := range args[1:] {
		root := ts.MkAbs(dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || p == src {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			scanned++
			for _, n := range needles {
				if bytes.Contains(b, n) {
					found = append(found, p)
					break
				}
			}
			return nil
		})
		ts.Check(err)
	}
	ts.Logf("noleak: scanned %d files", scanned)
	if (len(found) > 0) != neg {
		if neg {
			ts.Fatalf("the secret was found nowhere")
		}
		ts.Fatalf("the secret is in clear in:\n%s", strings.Join(found, "\n"))
	}
}
