package cecmd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/text"
	"github.com/fsnotify/fsnotify"
)

// LogsCmd prints a piece's log.
type LogsCmd struct {
	Piece  string `arg:"" optional:"" default:"ce" help:"bridge, queue, cron, heartbeat, vault, or ce (the supervisor, the default)."`
	Follow bool   `short:"f" help:"Keep printing what is appended until interrupted."`
	Lines  int    `short:"n" default:"50" help:"How many lines from the end to print first (0 for all)."`
}

// Help is the long help of ce logs.
func (c *LogsCmd) Help() string {
	return "Prints the end of logs/PIECE.log in the state directory, the JSON log the piece writes itself. " +
		"What a piece printed to stdout or stderr (a crash's panic, say) is in logs/PIECE.out."
}

// Run prints the log, then follows it with -f.
func (c *LogsCmd) Run(env *clikit.Env) error {
	if !text.IsLowerName(c.Piece) {
		return clikit.Usage("ce status lists the pieces", "no piece %q", c.Piece)
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	path := st.LogFile(c.Piece)
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return clikit.Fail("ce status lists the pieces; a piece writes its log once it has run", "no log for %s at %s", c.Piece, path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tail(f, env.Stdout, c.Lines); err != nil {
		return err
	}
	if !c.Follow {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	// The directory, not the file: a rotated or recreated log is seen too.
	if err := w.Add(filepath.Dir(path)); err != nil {
		return err
	}
	for {
		if _, err := io.Copy(env.Stdout, f); err != nil {
			return err
		}
		select {
		case <-env.Ctx.Done():
			return nil
		case err := <-w.Errors:
			return fmt.Errorf("watch %s: %w", path, err)
		case ev := <-w.Events:
			if ev.Name != path {
				continue
			}
			if ev.Has(fsnotify.Create) {
				nf, err := os.Open(path)
				if err != nil {
					continue
				}
				f.Close()
				f = nf
			}
		}
	}
}

// tail copies the last n lines of f (all of it for n <= 0) to w and leaves
// f at its end.
func tail(f *os.File, w io.Writer, n int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	start := int64(0)
	if n > 0 {
		const chunk = 64 << 10
		end := fi.Size()
		var buf []byte
		for start = end; start > 0; {
			step := min(int64(chunk), start)
			start -= step
			b := make([]byte, step)
			if _, err := f.ReadAt(b, start); err != nil {
				return err
			}
			buf = append(b, buf...)
			// n lines need n newlines after the cut (the last line ends in one).
			if bytes.Count(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) >= n {
				break
			}
		}
		// Cut after the n-th newline from the end; none means from start,
		// which is then the beginning of the file.
		body := bytes.TrimSuffix(buf, []byte("\n"))
		cut := len(body)
		for i := 0; i < n && cut >= 0; i++ {
			cut = bytes.LastIndexByte(body[:cut], '\n')
		}
		if cut >= 0 {
			start += int64(cut) + 1
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}
