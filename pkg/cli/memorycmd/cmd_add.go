package memorycmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// AddCmd adds a note.
type AddCmd struct {
	Title string   `help:"The note's title (default: its first Markdown heading, else the file's name, else its first line)."`
	Tag   []string `name:"tag" placeholder:"TAG" help:"A tag; repeat for several."`
	File  string   `arg:"" optional:"" name:"file" help:"The note's content (Markdown); \"-\" or none reads stdin."`
}

// Help is the long help of add.
func (c *AddCmd) Help() string {
	return fmt.Sprintf("Prints the new note's ID, such as 20261124-deploy-checklist (the date and the title). "+
		"A note is at most %d KiB of text; binary content is refused. The note's source is user:$USER.", memory.MaxNoteBytes>>10)
}

// Run adds the note.
func (c *AddCmd) Run(env *clikit.Env) error {
	var r io.Reader
	title := c.Title
	switch c.File {
	case "", "-":
		if c.File == "" && clikit.IsTerminal(env.Stdin) {
			return clikit.Usage("ce-memory add NOTE.md, or echo text | ce-memory add --title T", "give the note as a file, or on stdin")
		}
		r = env.Stdin
	default:
		f, err := os.Open(c.File)
		if err != nil {
			return clikit.Fail("", "%v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, memory.MaxNoteBytes+1))
	if err != nil {
		return err
	}
	if len(data) > memory.MaxNoteBytes {
		return clikit.Fail("store big files elsewhere and note their path", "%v", memory.ErrTooLarge)
	}
	body := string(data)
	if title == "" && c.File != "" && c.File != "-" && !strings.HasPrefix(firstLine(body), "#") {
		title = strings.TrimSuffix(filepath.Base(c.File), filepath.Ext(c.File))
	}
	s, err := open(env)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Add(env.Ctx, memory.Note{Title: title, Body: body, Tags: c.Tag, Source: source()})
	switch {
	case errors.Is(err, memory.ErrEmpty):
		return clikit.Usage("give --title, or some content", "%v", err)
	case errors.Is(err, memory.ErrBadTag):
		return clikit.Usage("", "%v", err)
	case errors.Is(err, memory.ErrBinary), errors.Is(err, memory.ErrTooLarge):
		return clikit.Fail("", "%v", err)
	case err != nil && n.ID == "":
		return indexErr(err)
	case err != nil:
		env.Warnf("%v", err)
	}
	_, err = fmt.Fprintln(env.Stdout, n.ID)
	return err
}

// firstLine is the first non-empty line of s.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
