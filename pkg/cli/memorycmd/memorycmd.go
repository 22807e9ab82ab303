// Package memorycmd is the ce-memory command: the memory every session
// shares (package memory) from a shell. Notes are Markdown files that may
// also be written, edited and deleted by hand or by git; the full-text
// index follows them. cmd/ce-memory is a one-line main around Main.
package memorycmd

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// CLI is the command line of ce-memory.
type CLI struct {
	Add     AddCmd     `cmd:"" help:"Add a note from a file or stdin and print its ID."`
	Search  SearchCmd  `cmd:"" help:"Search the notes, best matches first, with a snippet each."`
	Show    ShowCmd    `cmd:"" help:"Print a note's file."`
	Ls      LsCmd      `cmd:"" help:"List the notes, most recently updated first."`
	Rm      RmCmd      `cmd:"" help:"Delete notes."`
	Edit    EditCmd    `cmd:"" help:"Edit a note with $VISUAL or $EDITOR, then index it again."`
	Reindex ReindexCmd `cmd:"" help:"Rebuild the index from every note file."`

	clikit.Base
}

// App is ce-memory's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce-memory",
		Description: "notes that every session can save and search\n\n" +
			"Each note is a Markdown file with a YAML front matter (id, title, tags, created, updated, source) in memory/ " +
			"in the state directory, or memory.dir in the config. The files are the truth: notes added, edited or deleted " +
			"by hand or by git are picked up by the next command. The full-text index (SQLite FTS5, BM25 ranking) is " +
			"derived from them and kept in memory/.index/ in the state directory; deleting it loses nothing. " +
			"Sessions get the ce_memory tools (memory_save, memory_search, memory_read, memory_list, memory_delete).",
		CLI:     &CLI{},
		Options: []kong.Option{kong.BindSingletonProvider(open)},
	}
}

// Main runs ce-memory and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// open returns the memory of the state directory.
func open(env *clikit.Env) (*memory.Store, error) {
	st, err := env.State()
	if err != nil {
		return nil, err
	}
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	s, err := memory.Open(st, cfg)
	if err != nil {
		return nil, clikit.Fail("check memory.dir in the config and the permissions of the directory", "%v", err)
	}
	return s, nil
}

// warnNoticed prints what the syncs of a command found: a rebuilt index,
// and notes that could not be read whole.
func warnNoticed(env *clikit.Env, s *memory.Store) {
	rebuilt, problems := s.Noticed()
	if rebuilt != "" {
		env.Warnf("the index was rebuilt from the notes: %s", rebuilt)
	}
	for _, n := range problems {
		env.Warnf("%s: %s", n.Path, n.Problem)
	}
}

// indexErr gives errors of the index a hint.
func indexErr(err error) error {
	var qe *memory.QueryError
	switch {
	case errors.As(err, &qe):
		return clikit.Usage("queries are "+memory.QuerySyntax, "%v", err)
	case errors.Is(err, memory.ErrNotFound):
		return clikit.Fail("ce-memory ls lists the notes", "%v", err)
	case strings.Contains(err.Error(), "timed out waiting for lock"):
		return clikit.Fail("another ce-memory or ce-mcp is writing the index; try again", "%v", err)
	}
	return err
}

// noteErr says which note an error is about.
func noteErr(id string, err error) error {
	if errors.Is(err, memory.ErrNotFound) {
		return clikit.Fail("ce-memory ls lists the notes", "no note %q", id)
	}
	if _, cerr := memory.CheckID(id); cerr != nil {
		return clikit.Usage("ce-memory ls lists the notes", "%v", cerr)
	}
	return indexErr(err)
}

// source is who notes added from the shell are by.
func source() string {
	if u := os.Getenv("USER"); u != "" {
		return "user:" + u
	}
	return "cli"
}

func date(n memory.Note) string { return n.Updated.Local().Format("2006-01-02 15:04") }

func tagList(tags []string) string {
	if len(tags) == 0 {
		return "-"
	}
	return strings.Join(tags, ",")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
