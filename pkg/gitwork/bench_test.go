package gitwork

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkMerge100Files squash-merges, into the main checkout of a
// repository of 1000 files, a branch whose commit changes 100 of them. The
// target is one second per merge.
func BenchmarkMerge100Files(b *testing.B) {
	r, dir := newRepo(b)
	c := ctx(b)
	for i := range 1000 {
		write(b, filepath.Join(r.MainDir, fmt.Sprintf("pkg%02d/file%03d.txt", i%20, i)), fmt.Sprintf("file %d\nsecond line\n", i))
	}
	git(b, r.MainDir, "add", "-A")
	git(b, r.MainDir, "commit", "-q", "-m", "1000 files")
	w := create(b, r, dir, "bench")
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		git(b, w.Path, "reset", "-q", "--hard", "main")
		for i := 0; i < 1000; i += 10 {
			write(b, filepath.Join(w.Path, fmt.Sprintf("pkg%02d/file%03d.txt", i%20, i)), fmt.Sprintf("file %d\nround %d\n", i, n))
		}
		git(b, w.Path, "commit", "-q", "-am", fmt.Sprint("round ", n))
		b.StartTimer()
		res, err := r.Merge(c, w.Branch, MergeOptions{})
		if err != nil || res.Commit == "" {
			b.Fatalf("merge: %+v, %v", res, err)
		}
	}
}
