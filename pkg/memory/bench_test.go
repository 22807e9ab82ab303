package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/memory/memdir"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
)

// The benchmarks work on one memory of 10k notes of about 1 KB, words drawn
// from a vocabulary of 5000 with a Zipf distribution (a few words in most
// notes, most words in few), built once.
const (
	benchNotes = 10000
	benchVocab = 5000
)

var (
	fixtureOnce sync.Once
	fixtureDir  string // the state directory
	fixtureErr  error
	vocab       []string
)

func word(r *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	n := 4 + r.IntN(6)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// fixture returns the state directory of the 10k-note memory, its notes
// written as files and indexed.
func fixture(b *testing.B) string {
	fixtureOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 2))
		seen := map[string]bool{}
		for len(vocab) < benchVocab {
			if w := word(r); !seen[w] {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
		fixtureDir, fixtureErr = os.MkdirTemp("", "ce-memory-bench-")
		if fixtureErr != nil {
			return
		}
		st, err := statedir.Open(fixtureDir)
		if err != nil {
			fixtureErr = err
			return
		}
		l, _ := memdir.Locate(st, nil)
		os.MkdirAll(l.Notes, 0o700)
		zipf := rand.NewZipf(r, 1.1, 1, benchVocab-1)
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range benchNotes {
			var body strings.Builder
			for body.Len() < 1000 {
				body.WriteString(vocab[zipf.Uint64()])
				if r.IntN(12) == 0 {
					body.WriteString(".\n")
				} else {
					body.WriteByte(' ')
				}
			}
			n := Note{ID: fmt.Sprintf("bench-%05d", i), Title: vocab[zipf.Uint64()] + " " + vocab[r.IntN(benchVocab)], Tags: []string{"t" + fmt.Sprint(i%20)},
				Created: created.Add(time.Duration(i) * time.Minute), Updated: created.Add(time.Duration(i) * time.Minute), Body: body.String()}
			data, _ := render(n)
			if fixtureErr = os.WriteFile(filepath.Join(l.Notes, n.ID+".md"), data, 0o600); fixtureErr != nil {
				return
			}
		}
		s, err := OpenWith(Options{Layout: l})
		if err != nil {
			fixtureErr = err
			return
		}
		defer s.Close()
		_, fixtureErr = s.Reindex(context.Background())
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixtureDir
}

func openFixture(b *testing.B) *Store {
	st := &statedir.Dir{Root: fixture(b)}
	s, err := Open(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// queries: a third one common word, a third one rare word, a third two
// words (AND), as a session would search.
func benchQueries(n int) []string {
	r := rand.New(rand.NewPCG(3, 4))
	var qs []string
	for i := range n {
		switch i % 3 {
		case 0:
			qs = append(qs, vocab[r.IntN(50)])
		case 1:
			qs = append(qs, vocab[500+r.IntN(benchVocab-500)])
		default:
			qs = append(qs, vocab[r.IntN(500)]+" "+vocab[r.IntN(2000)])
		}
	}
	return qs
}

// BenchmarkMemorySearch10k: one search through the package API (the index synced
// first, as every search does), 10k notes of 1 KB.
func BenchmarkMemorySearch10k(b *testing.B) {
	s := openFixture(b)
	ctx := context.Background()
	qs := benchQueries(300)
	s.Search(ctx, "warmup", SearchOptions{})
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range qs {
			start := time.Now()
			if _, err := s.Search(ctx, q, SearchOptions{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
	}
	benchmetric.ReportPercentiles(b, lat, 50, 90, 99)
}

// BenchmarkMemorySync10k: the full scan a command does when a directory changed
// or the last scan is older than Rescan (stat 10k files, nothing to read).
func BenchmarkMemorySync10k(b *testing.B) {
	s := openFixture(b)
	s.opts.Rescan = -1
	ctx := context.Background()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < 20*b.N; i++ {
		start := time.Now()
		if _, err := s.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	benchmetric.ReportPercentiles(b, lat, 50)
}

// BenchmarkMemoryReindex10k: a full reindex, every file read and indexed again.
func BenchmarkMemoryReindex10k(b *testing.B) {
	s := openFixture(b)
	ctx := context.Background()
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := s.Reindex(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if r.Notes < benchNotes {
			b.Fatalf("reindexed %d notes", r.Notes)
		}
		took += time.Since(start)
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s")
}

// BenchmarkMemoryAdd: one note added to the 10k-note memory (file written and
// synced, index updated, digest written).
func BenchmarkMemoryAdd(b *testing.B) {
	s := openFixture(b)
	ctx := context.Background()
	body := strings.Repeat("an added note of about one kilobyte ", 28)
	var lat []time.Duration
	var added []string
	b.ResetTimer()
	for i := 0; i < 50*b.N; i++ {
		start := time.Now()
		n, err := s.Add(ctx, Note{Title: "added note", Body: body, Tags: []string{"bench"}})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		added = append(added, n.ID)
	}
	b.StopTimer()
	for _, id := range added {
		s.Remove(ctx, id)
	}
	benchmetric.ReportPercentiles(b, lat, 50, 90)
}

// BenchmarkMemorySearchCLI10k: `ce-memory search WORD` as a new process each
// time, 10k notes: back to back (p50-ms), and after a directory change
// so that the command rescans the files first (scan-p50-ms).
func BenchmarkMemorySearchCLI10k(b *testing.B) {
	state := fixture(b)
	bin := filepath.Join(b.TempDir(), "ce-memory")
	build := exec.Command("go", "build", "-o", bin, "github.com/ce-platform/ce/cmd/ce-memory")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build ce-memory: %v\n%s", err, out)
	}
	env := append(os.Environ(), "CE_STATE_DIR="+state, "XDG_CONFIG_HOME="+b.TempDir(), "CE_CONFIG=")
	run := func(q string) time.Duration {
		cmd := exec.Command(bin, "search", q)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("ce-memory search: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	qs := benchQueries(30)
	run(qs[0])
	var warm, scan []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range qs {
			warm = append(warm, run(q))
		}
		for _, q := range qs[:10] {
			now := time.Now()
			os.Chtimes(filepath.Join(state, "memory"), now, now)
			scan = append(scan, run(q))
		}
	}
	benchmetric.ReportPercentiles(b, warm, 50)
	b.ReportMetric(benchmetric.MS(benchmetric.Percentile(scan, 50)), "scan-p50-ms")
}
