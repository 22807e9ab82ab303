// Package rundir provides the layout of one run's directory,
// <state>/runs/<session>/<run>/, which is how a run outlives every ce
// process but its runner: the driver writes request.json and prompt, the
// runner claims the run by creating "started", writes "pid", appends every
// line claude prints to stream.jsonl and writes "exit" last. The layout is a
// contract; scripts may read these files.
package rundir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/fsnotify/fsnotify"
)

// File names inside a run directory.
const (
	RequestFile = "request.json"
	PromptFile  = "prompt"
	StartedFile = "started"
	PIDFile     = "pid"
	StreamFile  = "stream.jsonl"
	StderrFile  = "stderr"
	ExitFile    = "exit"
	StopFile    = "stop"
)

// Request tells the runner what to run.
type Request struct {
	Session string   `json:"session"`
	Run     string   `json:"run"`
	Item    string   `json:"item"`
	Argv    []string `json:"argv"`
	Dir     string   `json:"dir"`
	// Warm asks the runner to keep claude alive after the turn, reading
	// later turns as stream-json on stdin. Fingerprint identifies the
	// command line apart from the conversation flags: a warm process is
	// reused only for a request with the same fingerprint.
	Warm        bool   `json:"warm"`
	Fingerprint string `json:"fingerprint"`
}

// Exit is the end of a run.
type Exit struct {
	Code     int       `json:"code"`
	Signal   string    `json:"signal,omitempty"`
	Stopped  bool      `json:"stopped,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Result   bool      `json:"result"`           // a result event was seen
	Warm     bool      `json:"warm,omitempty"`   // claude was kept alive after the turn
	Reused   bool      `json:"reused,omitempty"` // the turn went to a warm claude
	Finished time.Time `json:"finished"`
	// Summary is what the stream said (result, cost, tokens, errors), as
	// the runner read it; nil for a run that never started.
	Summary *streamjson.Summary `json:"summary,omitempty"`
}

// Outcome returns the exit's summary; for an exit without one (written by
// an older runner) it reads the stream once.
func (r Dir) Outcome(e Exit) streamjson.Summary {
	if e.Summary != nil {
		return *e.Summary
	}
	lines, _ := r.ReadStream()
	return streamjson.Summarize(lines, e.Finished)
}

// Dir is one run directory.
type Dir string

// Of returns the run directory of a session's run.
func Of(d *statedir.Dir, session, run string) Dir { return Dir(d.RunDir(session, run)) }

// Path returns a file of the run.
func (r Dir) Path(name string) string { return filepath.Join(string(r), name) }

// Create writes the request and the prompt of a new run.
func (r Dir) Create(req Request, prompt string) error {
	if err := os.MkdirAll(string(r), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		return err
	}
	// No fsync: until the runner claims the run, a lost file only means
	// the driver's recovery queues the item again.
	if err := os.WriteFile(r.Path(PromptFile), []byte(prompt), 0o600); err != nil {
		return err
	}
	tmp := r.Path("." + RequestFile)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.Path(RequestFile))
}

// Exists reports whether the run's request was written.
func (r Dir) Exists() bool {
	_, err := os.Stat(r.Path(RequestFile))
	return err == nil
}

// ReadRequest reads the request of the run.
func (r Dir) ReadRequest() (Request, error) {
	var req Request
	b, err := os.ReadFile(r.Path(RequestFile))
	if err != nil {
		return req, err
	}
	return req, json.Unmarshal(b, &req)
}

// Claim creates the started marker; exactly one of the runner and a
// recovering driver succeeds, so an abandoned run is never started later.
func (r Dir) Claim(who string) (bool, error) {
	f, err := os.OpenFile(r.Path(StartedFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(who + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

// Claimer returns who claimed the run ("" if nobody).
func (r Dir) Claimer() string {
	b, _ := os.ReadFile(r.Path(StartedFile))
	return strings.TrimSpace(string(b))
}

// WriteExit writes the exit file, the last file of a run.
func (r Dir) WriteExit(e Exit) error {
	if e.Finished.IsZero() {
		e.Finished = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return statedir.WriteFile(r.Path(ExitFile), b, 0o600)
}

// ReadExit returns the exit of a finished run; ok is false while it runs.
func (r Dir) ReadExit() (e Exit, ok bool, err error) {
	b, err := os.ReadFile(r.Path(ExitFile))
	if errors.Is(err, os.ErrNotExist) {
		return e, false, nil
	}
	if err != nil {
		return e, false, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, false, fmt.Errorf("exit file of run %s: %w", filepath.Base(string(r)), err)
	}
	return e, true, nil
}

// PID returns the pid (and process group) of the run's claude, or 0.
func (r Dir) PID() int {
	b, _ := os.ReadFile(r.Path(PIDFile))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// ReadStream returns the lines of stream.jsonl (complete lines only).
func (r Dir) ReadStream() ([][]byte, error) {
	b, err := os.ReadFile(r.Path(StreamFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		if i > 0 {
			lines = append(lines, b[:i])
		}
		b = b[i+1:]
	}
	return lines, nil
}

// Follow delivers every complete line of stream.jsonl to fn, from the start,
// as it is written, until the exit file appears (then the rest of the
// stream is delivered and the exit returned) or ctx is done. It waits on
// fsnotify events, not on a timer.
func (r Dir) Follow(ctx context.Context, fn func(line []byte) error) (Exit, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return Exit{}, err
	}
	// Closing an inotify watcher takes 5-20 ms; nobody needs to wait for it.
	defer func() { go w.Close() }()
	// A follower may arrive before the driver has written the directory.
	if err := os.MkdirAll(string(r), 0o700); err != nil {
		return Exit{}, err
	}
	if err := w.Add(string(r)); err != nil {
		return Exit{}, fmt.Errorf("watch run %s: %w", filepath.Base(string(r)), err)
	}
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var br *bufio.Reader
	var partial []byte
	drain := func() error {
		if f == nil {
			var err error
			f, err = os.Open(r.Path(StreamFile))
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			br = bufio.NewReaderSize(f, 64<<10)
		}
		for {
			chunk, err := br.ReadSlice('\n')
			if len(chunk) > 0 {
				partial = append(partial, chunk...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			line := bytes.TrimRight(partial, "\n")
			if len(line) > 0 {
				if err := fn(line); err != nil {
					return err
				}
			}
			partial = partial[:0]
		}
	}
	for {
		if err := drain(); err != nil {
			return Exit{}, err
		}
		if e, ok, err := r.ReadExit(); err != nil || ok {
			if err == nil {
				err = drain()
			}
			return e, err
		}
		select {
		case <-ctx.Done():
			return Exit{}, ctx.Err()
		case err := <-w.Errors:
			return Exit{}, err
		case <-w.Events:
		}
	}
}
