package poller

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

// childEnv makes the test binary a poller process for TestSIGKILL:
// "<api url>,<token>,<journal dir>,<handled file>".
const childEnv = "CE_POLLER_TEST_CHILD"

// TestMain makes the test binary the child of TestSIGKILL when childEnv is
// set: it polls until killed, appending each update_id it handles to a
// file (fsynced) and printing it.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		err := pollerProcess(spec)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func pollerProcess(spec string) error {
	p := strings.Split(spec, ",")
	client, err := botapi.New(botapi.Config{APIURL: p[0], Token: p[1], HTTPClient: &http.Client{}})
	if err != nil {
		return err
	}
	out, err := os.OpenFile(p[3], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	handle := func(_ context.Context, u Update) error {
		if _, err := fmt.Fprintf(out, "%d\n", u.ID); err != nil {
			return err
		}
		if err := out.Sync(); err != nil {
			return err
		}
		fmt.Printf("handled %d\n", u.ID)
		return nil
	}
	pl, err := Open(Config{Dir: p[2], Fetcher: client, Handler: handle, Timeout: 30 * time.Second,
		Logger: zerolog.New(os.Stderr)})
	if err != nil {
		return err
	}
	return pl.Run(context.Background())
}

// TestSIGKILL kills poller processes at arbitrary points of their work and
// restarts them: every update is handled, and an update is handled twice
// at most once per kill (the one whose mark the kill cut off).
func TestSIGKILL(t *testing.T) {
	s := fakebot.New(t)
	dir, out := t.TempDir(), t.TempDir()+"/handled"
	var injected []int64
	inject := func(n int) {
		for i := range n {
			injected = append(injected, s.InjectText(alice, fmt.Sprint("m", len(injected), i)).UpdateID)
		}
	}
	// run starts a poller process and kills it once it has printed n more
	// handled updates (n < 0: once everything injected is handled).
	run := func(n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{s.URL, s.Token, dir, out}, ","))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		seen := 0
		for seen != n && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "handled ") {
				seen++
				if n < 0 && len(handledIDs(t, out)) >= len(injected) && covers(handledIDs(t, out), injected) {
					break
				}
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if ctx.Err() != nil || (n >= 0 && seen != n) {
			t.Fatalf("poller process handled %d updates, not %d:\n%s", seen, n, stderr.String())
		}
	}

	kills := 0
	inject(12)
	for _, n := range []int{1, 3, 2, 5} {
		run(n)
		kills++
		inject(3)
	}
	run(-1)
	kills++

	got := handledIDs(t, out)
	if !covers(got, injected) {
		t.Fatalf("updates lost: injected %v, handled %v", injected, got)
	}
	if dups := len(got) - len(injected); dups > kills {
		t.Fatalf("%d updates handled twice after %d kills: %v", dups, kills, got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("handled out of order: %v", got)
		}
	}
}

func handledIDs(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var ids []int64
	for _, f := range strings.Fields(string(data)) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("handled file holds %q", f)
		}
		ids = append(ids, id)
	}
	return ids
}

func covers(got, want []int64) bool {
	have := map[int64]bool{}
	for _, id := range got {
		have[id] = true
	}
	for _, id := range want {
		if !have[id] {
			return false
		}
	}
	return true
}
