package memorycmd

import (
	"errors"
	"os"
	"os/exec"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// EditCmd edits a note.
type EditCmd struct {
	ID string `arg:"" name:"id" help:"The note's ID."`
}

// Help is the long help of edit.
func (c *EditCmd) Help() string {
	return "Runs $VISUAL, else $EDITOR, else vi, on the note's file. When the file changed, its front matter's " +
		"updated time is set to now (other keys are kept) and the note is indexed again at once. " +
		"A front matter the edit broke is reported; the note stays searchable by its text."
}

// Run edits the note.
func (c *EditCmd) Run(env *clikit.Env, s *memory.Store) error {
	defer s.Close()
	p, err := s.Path(c.ID)
	if err != nil {
		return noteErr(c.ID, err)
	}
	before, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	argv := append(strings.Fields(editor), p)
	cmd := exec.CommandContext(env.Ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
	runErr := cmd.Run()
	n, err := s.Edited(env.Ctx, c.ID, before)
	if err != nil {
		return noteErr(c.ID, err)
	}
	if n.Problem != "" {
		env.Warnf("%s: %s", n.Path, n.Problem)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee):
		return clikit.Fail("the note was indexed as the editor left it", "the editor %s exited with status %d", argv[0], ee.ExitCode())
	case runErr != nil:
		return clikit.Fail("set VISUAL or EDITOR to your editor", "cannot run the editor: %v", runErr)
	}
	return nil
}
