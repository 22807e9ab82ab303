package eventlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/eventlog"
)

func readAll(t testing.TB, l *eventlog.Log, after uint64) []eventlog.Event {
	t.Helper()
	var out []eventlog.Event
	if err := l.Read(after, func(ev eventlog.Event) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func seqsOf(events []eventlog.Event) []uint64 {
	s := make([]uint64, len(events))
	for i, ev := range events {
		s[i] = ev.Seq
	}
	return s
}

func span(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func mustLast(t testing.TB, l *eventlog.Log) uint64 {
	t.Helper()
	n, err := l.Last()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendRead(t *testing.T) {
	state := t.TempDir()
	l := eventlog.Open(state, eventlog.Options{LockDir: filepath.Join(state, "locks")})
	if n := mustLast(t, l); n != 0 {
		t.Fatalf("Last of a new log = %d", n)
	}
	if got := readAll(t, l, 0); len(got) != 0 {
		t.Fatalf("Read of a new log = %v", got)
	}

	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	before := time.Now()
	seqs, err := l.Append(
		eventlog.Event{Type: "session.created", Session: "s1", Data: map[string]any{"cwd": "/w"}},
		eventlog.Event{Seq: 99, Type: "prompt.queued", Session: "s1", Item: "i1", Time: at},
	)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []uint64{1, 2}) {
		t.Fatalf("seqs = %v", seqs)
	}
	if seqs, err = l.Append(eventlog.Event{Type: "run.started", Session: "s1"}); err != nil || !slices.Equal(seqs, []uint64{3}) {
		t.Fatalf("seqs = %v, %v", seqs, err)
	}
	if n := mustLast(t, l); n != 3 {
		t.Errorf("Last = %d, want 3", n)
	}

	got := readAll(t, l, 0)
	if !slices.Equal(seqsOf(got), []uint64{1, 2, 3}) {
		t.Fatalf("Read seqs = %v", seqsOf(got))
	}
	if got[0].Type != "session.created" || got[0].Session != "s1" || got[0].Data["cwd"] != "/w" ||
		got[0].Time.Before(before.Add(-time.Second)) || time.Since(got[0].Time) > time.Minute {
		t.Errorf("event 1 = %+v", got[0])
	}
	if got[1].Item != "i1" || !got[1].Time.Equal(at) {
		t.Errorf("event 2 = %+v", got[1])
	}
	if got := readAll(t, l, 2); !slices.Equal(seqsOf(got), []uint64{3}) {
		t.Errorf("Read(2) = %v", seqsOf(got))
	}
	if got := readAll(t, l, 3); len(got) != 0 {
		t.Errorf("Read(3) = %v", seqsOf(got))
	}

	for _, p := range []string{filepath.Join(state, eventlog.FileName), filepath.Join(state, "locks", eventlog.LockName)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	data, _ := os.ReadFile(l.Path())
	if !strings.HasPrefix(string(data), `{"seq":1,"time":"`) || strings.Count(string(data), "\n") != 3 {
		t.Errorf("file:\n%s", data)
	}
}

func TestAppendRejects(t *testing.T) {
	l := eventlog.Open(t.TempDir(), eventlog.Options{})
	if _, err := l.Append(eventlog.Event{Type: "a"}, eventlog.Event{}); err == nil {
		t.Error("an event without a type was accepted")
	}
	if _, err := l.Append(eventlog.Event{Type: "a", Data: map[string]any{"f": func() {}}}); err == nil {
		t.Error("unencodable data was accepted")
	}
	if seqs, err := l.Append(); seqs != nil || err != nil {
		t.Errorf("Append() = %v, %v", seqs, err)
	}
	if n := mustLast(t, l); n != 0 {
		t.Errorf("rejected appends wrote something: Last = %d", n)
	}
}

func TestReadStopsOnError(t *testing.T) {
	l := eventlog.Open(t.TempDir(), eventlog.Options{})
	for range 5 {
		if _, err := l.Append(eventlog.Event{Type: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	var seen []uint64
	err := l.Read(1, func(ev eventlog.Event) error {
		seen = append(seen, ev.Seq)
		if ev.Seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []uint64{2, 3}) {
		t.Errorf("Read = %v, saw %v", err, seen)
	}
}

func TestTornTail(t *testing.T) {
	l := eventlog.Open(t.TempDir(), eventlog.Options{})
	if _, err := l.Append(eventlog.Event{Type: "a"}, eventlog.Event{Type: "b"}); err != nil {
		t.Fatal(err)
	}
	appendRaw := func(s string) {
		t.Helper()
		f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}

	// A crash in the middle of a line.
	appendRaw(`{"seq":3,"time":"2026-11-24T06:`)
	if n := mustLast(t, l); n != 2 {
		t.Errorf("Last with a torn tail = %d, want 2", n)
	}
	if got := readAll(t, l, 0); !slices.Equal(seqsOf(got), []uint64{1, 2}) {
		t.Errorf("Read with a torn tail = %v", seqsOf(got))
	}
	seqs, err := l.Append(eventlog.Event{Type: "c"})
	if err != nil || !slices.Equal(seqs, []uint64{3}) {
		t.Fatalf("Append after a torn tail = %v, %v", seqs, err)
	}

	// A crash just before the newline: the line is whole and counts.
	appendRaw(`{"seq":4,"time":"2026-11-24T06:00:00Z","type":"d"}`)
	if n := mustLast(t, l); n != 4 {
		t.Errorf("Last with an unterminated whole line = %d, want 4", n)
	}
	if seqs, err := l.Append(eventlog.Event{Type: "e"}); err != nil || !slices.Equal(seqs, []uint64{5}) {
		t.Fatalf("Append = %v, %v", seqs, err)
	}

	got := readAll(t, l, 0)
	if !slices.Equal(seqsOf(got), span(1, 5)) {
		t.Errorf("Read = %v", seqsOf(got))
	}
	if got[2].Type != "c" || got[3].Type != "d" || got[4].Type != "e" {
		t.Errorf("events = %+v", got)
	}
	data, _ := os.ReadFile(l.Path())
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 6 || lines[2] != `{"seq":3,"time":"2026-11-24T06:` || !strings.HasPrefix(lines[3], `{"seq":3,`) {
		t.Errorf("file lines:\n%s", strings.Join(lines, "\n"))
	}
}

func TestGarbage(t *testing.T) {
	l := eventlog.Open(t.TempDir(), eventlog.Options{})
	if _, err := l.Append(eventlog.Event{Type: "a"}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("garbage\n\n[1]\n{\"seq\":\"x\"}\n")
	f.Close()
	if n := mustLast(t, l); n != 1 {
		t.Errorf("Last = %d, want 1", n)
	}
	if _, err := l.Append(eventlog.Event{Type: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, 0); !slices.Equal(seqsOf(got), []uint64{1, 2}) {
		t.Errorf("Read = %v", seqsOf(got))
	}

	// A current file with nothing readable falls back to the rotated ones.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, eventlog.FileName+".1"), []byte(`{"seq":41,"time":"2026-11-24T06:00:00Z","type":"x"}`+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, eventlog.FileName), []byte("junk\n"), 0o600)
	l = eventlog.Open(dir, eventlog.Options{})
	if seqs, err := l.Append(eventlog.Event{Type: "y"}); err != nil || !slices.Equal(seqs, []uint64{42}) {
		t.Errorf("Append = %v, %v", seqs, err)
	}
}

func TestReadFromEveryCursor(t *testing.T) {
	dir := t.TempDir()
	l := eventlog.Open(dir, eventlog.Options{MaxSize: 2048, Keep: 100})
	for i := range 60 {
		if _, err := l.Append(eventlog.Event{Type: "x", Item: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		// Torn writes and foreign lines here and there.
		if i%7 == 3 {
			f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				fmt.Fprintf(f, `{"seq":%d,"ti`, i+2)
			} else {
				f.WriteString("not json\n")
			}
			f.Close()
		}
	}
	if rotated, _ := filepath.Glob(filepath.Join(dir, eventlog.FileName+".*")); len(rotated) < 2 {
		t.Fatalf("want several files, have %v", rotated)
	}
	for after := uint64(0); after <= 62; after++ {
		want := span(after+1, 60)
		if got := readAll(t, l, after); !slices.Equal(seqsOf(got), want) {
			t.Errorf("Read(%d) = %v, want %v", after, seqsOf(got), want)
		}
	}
}

func TestLongLines(t *testing.T) {
	l := eventlog.Open(t.TempDir(), eventlog.Options{})
	big := strings.Repeat("é", 300<<10)
	if _, err := l.Append(eventlog.Event{Type: "a"}, eventlog.Event{Type: "big", Data: map[string]any{"s": big}}); err != nil {
		t.Fatal(err)
	}
	if n := mustLast(t, l); n != 2 {
		t.Errorf("Last = %d", n)
	}
	if seqs, err := l.Append(eventlog.Event{Type: "big", Data: map[string]any{"s": big}}); err != nil || seqs[0] != 3 {
		t.Fatalf("Append = %v, %v", seqs, err)
	}
	got := readAll(t, l, 0)
	if !slices.Equal(seqsOf(got), []uint64{1, 2, 3}) || got[1].Data["s"] != big || got[2].Data["s"] != big {
		t.Errorf("Read = %v", seqsOf(got))
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	const maxSize = 1024
	l := eventlog.Open(dir, eventlog.Options{MaxSize: maxSize, Keep: 2})
	var lineLen int
	for i := range 100 {
		seqs, err := l.Append(eventlog.Event{Type: "tick", Item: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if seqs[0] != uint64(i+1) {
			t.Fatalf("append %d got seq %d", i, seqs[0])
		}
		if i == 0 {
			st, _ := os.Stat(l.Path())
			lineLen = int(st.Size())
		}
	}
	names := listDir(t, dir)
	if names != "events.jsonl events.jsonl.1 events.jsonl.2" && names != "events.jsonl.1 events.jsonl.2" {
		t.Errorf("files = %s", names)
	}
	for _, n := range []string{eventlog.FileName, eventlog.FileName + ".1", eventlog.FileName + ".2"} {
		st, err := os.Stat(filepath.Join(dir, n))
		if err == nil && st.Size() > maxSize+int64(lineLen)+8 {
			t.Errorf("%s is %d bytes", n, st.Size())
		}
		if err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", n, st.Mode().Perm())
		}
	}
	got := readAll(t, l, 0)
	if len(got) < 10 || got[len(got)-1].Seq != 100 || !slices.Equal(seqsOf(got), span(got[0].Seq, 100)) {
		t.Fatalf("Read = %v", seqsOf(got))
	}
	if got := readAll(t, l, 95); !slices.Equal(seqsOf(got), span(96, 100)) {
		t.Errorf("Read(95) = %v", seqsOf(got))
	}
	first := got[0].Seq
	if got := readAll(t, l, first); !slices.Equal(seqsOf(got), span(first+1, 100)) {
		t.Errorf("Read(%d) = %v", first, seqsOf(got))
	}

	// Append until a rotation has just happened: the current file is gone
	// and the numbering continues from events.jsonl.1.
	var last uint64 = 100
	for {
		seqs, err := l.Append(eventlog.Event{Type: "tick"})
		if err != nil {
			t.Fatal(err)
		}
		last = seqs[0]
		if _, err := os.Stat(l.Path()); os.IsNotExist(err) {
			break
		}
	}
	if n := mustLast(t, l); n != last {
		t.Errorf("Last right after a rotation = %d, want %d", n, last)
	}
	if got := readAll(t, l, last-1); !slices.Equal(seqsOf(got), []uint64{last}) {
		t.Errorf("Read right after a rotation = %v", seqsOf(got))
	}
	// An empty current file (created, nothing written) must not reset the
	// numbering either.
	os.WriteFile(l.Path(), nil, 0o600)
	if seqs, err := l.Append(eventlog.Event{Type: "tick"}); err != nil || seqs[0] != last+1 {
		t.Errorf("Append after rotation = %v, %v; want %d", seqs, err, last+1)
	}

	// Lowering Keep drops the extra files at the next rotation.
	l = eventlog.Open(dir, eventlog.Options{MaxSize: maxSize, Keep: 1})
	for {
		if _, err := l.Append(eventlog.Event{Type: "tick"}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(l.Path()); os.IsNotExist(err) {
			break
		}
	}
	if names := listDir(t, dir); names != "events.jsonl.1" {
		t.Errorf("files with Keep 1 = %s", names)
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != eventlog.LockName {
			names = append(names, e.Name())
		}
	}
	return strings.Join(names, " ")
}

// The concurrency test re-executes the test binary as extra writers; this
// environment variable switches a process into that role.
const writerEnv = "EVENTLOG_TEST_WRITER"

// TestMain makes the test binary a writer for TestConcurrentAppend when it
// runs as a child process (EVENTLOG_TEST_WRITER set).
func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		// spec: name,count,dir,lockdir,maxsize,keep
		p := strings.Split(spec, ",")
		count, _ := strconv.Atoi(p[1])
		maxSize, _ := strconv.ParseInt(p[4], 10, 64)
		keep, _ := strconv.Atoi(p[5])
		l := eventlog.Open(p[2], eventlog.Options{LockDir: p[3], MaxSize: maxSize, Keep: keep})
		if err := writeN(l, p[0], count, 1); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// writeN appends count events named writer/0 ... writer/count-1, batch at a
// time, checking that each batch got consecutive numbers.
func writeN(l *eventlog.Log, writer string, count, batch int) error {
	for i := 0; i < count; i += batch {
		var evs []eventlog.Event
		for j := i; j < min(i+batch, count); j++ {
			evs = append(evs, eventlog.Event{Type: "test.write", Session: writer, Item: strconv.Itoa(j)})
		}
		seqs, err := l.Append(evs...)
		if err != nil {
			return err
		}
		for k := 1; k < len(seqs); k++ {
			if seqs[k] != seqs[k-1]+1 {
				return fmt.Errorf("batch got seqs %v", seqs)
			}
		}
	}
	return nil
}

func TestConcurrentAppend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxSize int64
		keep    int
	}{
		{"one file", 0, 0},
		{"rotating", 4096, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const (
				goroutines = 4
				processes  = 4
				perWriter  = 200
			)
			state := t.TempDir()
			lockDir := filepath.Join(state, "locks")
			opts := eventlog.Options{LockDir: lockDir, MaxSize: tc.maxSize, Keep: tc.keep}
			start := time.Now()

			var cmds []*exec.Cmd
			var outs []*bytes.Buffer
			for p := range processes {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=proc%d,%d,%s,%s,%d,%d",
					writerEnv, p, perWriter, state, lockDir, tc.maxSize, tc.keep))
				out := new(bytes.Buffer)
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd)
				outs = append(outs, out)
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					// Each goroutine has its own Log, as separate
					// components of one program would; goroutine 0
					// appends in batches.
					l := eventlog.Open(state, opts)
					batch := 1
					if g == 0 {
						batch = 4
					}
					if err := writeN(l, fmt.Sprintf("goroutine%d", g), perWriter, batch); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("writer process %d: %v\n%s", i, err, outs[i])
				}
			}
			t.Logf("%d appends by %d goroutines and %d processes in %v",
				(goroutines+processes)*perWriter, goroutines, processes, time.Since(start))

			l := eventlog.Open(state, opts)
			total := uint64((goroutines + processes) * perWriter)
			got := readAll(t, l, 0)
			if !slices.Equal(seqsOf(got), span(1, total)) {
				t.Fatalf("seqs are not 1..%d: got %d events, first %v", total, len(got), seqsOf(got)[:min(10, len(got))])
			}
			if n := mustLast(t, l); n != total {
				t.Errorf("Last = %d, want %d", n, total)
			}
			next := map[string]int{}
			for _, ev := range got {
				if ev.Item != strconv.Itoa(next[ev.Session]) {
					t.Fatalf("writer %s: event %s at seq %d, want item %d", ev.Session, ev.Item, ev.Seq, next[ev.Session])
				}
				next[ev.Session]++
			}
			if len(next) != goroutines+processes {
				t.Errorf("writers = %v", next)
			}
			if tc.maxSize > 0 {
				rotated, _ := filepath.Glob(filepath.Join(state, eventlog.FileName+".*"))
				if len(rotated) < 10 {
					t.Errorf("only %d rotations", len(rotated))
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			l := eventlog.Open(b.TempDir(), eventlog.Options{})
			evs := make([]eventlog.Event, batch)
			for i := range evs {
				evs[i] = eventlog.Event{Type: "run.finished", Session: "s1", Item: "i1", Data: map[string]any{"cost_usd": 0.0002, "turns": 1}}
			}
			for b.Loop() {
				if _, err := l.Append(evs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
		})
	}
}

func BenchmarkRead(b *testing.B) {
	l := eventlog.Open(b.TempDir(), eventlog.Options{})
	evs := make([]eventlog.Event, 1000)
	for i := range evs {
		evs[i] = eventlog.Event{Type: "run.finished", Session: "s1", Data: map[string]any{"n": i}}
	}
	for range 10 {
		if _, err := l.Append(evs...); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name        string
		after, want uint64
	}{{"all", 0, 10000}, {"tail", 9990, 10}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				var n uint64
				l.Read(bc.after, func(eventlog.Event) error { n++; return nil })
				if n != bc.want {
					b.Fatal(n)
				}
			}
		})
	}
}
