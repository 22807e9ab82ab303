package vaultcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"golang.org/x/sys/unix"
)

// Passphrase says where a command gets the vault's passphrase.
type Passphrase struct {
	File string `name:"passphrase-file" env:"CE_VAULT_PASSPHRASE_FILE" placeholder:"FILE" help:"Read the passphrase from the first line of FILE instead of asking on the terminal."`
}

// errNoPassphrase means there is no file and no terminal to ask.
var errNoPassphrase = errors.New("no passphrase")

// maxPassphraseFile bounds what is read of a passphrase file.
const maxPassphraseFile = 64 << 10

// read returns the passphrase: the first line of the file, else asked on
// the terminal (twice when confirm is set). Without either it returns
// errNoPassphrase.
func (p Passphrase) read(env *clikit.Env, prompt string, confirm bool) (string, error) {
	if p.File != "" {
		return readPassphraseFile(p.File, "CE_VAULT_PASSPHRASE_FILE")
	}
	in, ok := env.Stdin.(*os.File)
	if !ok || !clikit.IsTerminal(in) {
		return "", errNoPassphrase
	}
	for {
		fmt.Fprint(env.Stderr, prompt)
		first, err := readHidden(env.Ctx, in, env.Stderr)
		if err != nil {
			return "", err
		}
		if first == "" {
			return "", clikit.Fail("", "the passphrase is empty")
		}
		if !confirm {
			return first, nil
		}
		fmt.Fprint(env.Stderr, "the same again: ")
		again, err := readHidden(env.Ctx, in, env.Stderr)
		if err != nil {
			return "", err
		}
		if again == first {
			return first, nil
		}
		env.Infof("the two passphrases differ; try again")
	}
}

// readPassphraseFile returns the first line of path. Errors name the file,
// never its content.
func readPassphraseFile(path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", clikit.Fail("point "+what+" at a file holding the passphrase on its first line", "cannot read the passphrase file: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile))
	if err != nil {
		return "", clikit.Fail("", "cannot read the passphrase file %s: %v", path, err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pass := strings.TrimSuffix(string(line), "\r")
	if pass == "" {
		return "", clikit.Fail("write the passphrase on the first line of the file", "the passphrase file %s starts with an empty line", path)
	}
	return pass, nil
}

// readHidden reads one line from the terminal in with echo off, restoring
// the terminal however the read ends (^C included).
func readHidden(ctx context.Context, in *os.File, echo io.Writer) (string, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("cannot turn off echo on the terminal: %w", err)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("cannot turn off echo on the terminal: %w", err)
	}
	defer func() {
		unix.IoctlSetTermios(fd, unix.TCSETS, old)
		fmt.Fprintln(echo) // the newline the user typed was not echoed
	}()
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var line []byte
		b := make([]byte, 1)
		for {
			n, err := in.Read(b)
			if n == 1 && b[0] != '\n' {
				line = append(line, b[0])
			}
			if n == 1 && b[0] == '\n' || err != nil && len(line) > 0 {
				done <- result{strings.TrimSuffix(string(line), "\r"), nil}
				return
			}
			if err != nil {
				done <- result{"", err}
				return
			}
		}
	}()
	select {
	case r := <-done:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
