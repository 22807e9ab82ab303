package runner

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/statedir"
)

// LaunchBurst is how many claude processes may start at once before
// agent.launch_gap spaces the rest: concurrent starts race on
// ~/.claude.json, but a lone prompt should never wait.
const LaunchBurst = 4

// launchBucket is the token bucket every runner of a state directory draws
// from before it starts claude: LaunchBurst tokens, refilled at one per
// gap. Its state, "tokens unix-nanos", lives in launch.bucket under the
// launch lock.
type launchBucket struct {
	st  *statedir.Dir
	gap time.Duration
	now func() time.Time
	// sleep waits, under the lock, for the next token.
	sleep func(time.Duration)
}

// take waits until a token is free and takes it.
func (b launchBucket) take() error {
	if b.gap <= 0 {
		return nil
	}
	lk, err := lockfile.AcquireTimeout(b.st.Lock("launch"), 5*time.Minute)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	path := b.st.Path("launch.bucket")
	tokens, last := float64(LaunchBurst), time.Time{}
	if raw, err := os.ReadFile(path); err == nil {
		if t, at, ok := parseBucket(string(raw)); ok {
			tokens, last = t, at
		}
	}
	now := b.now()
	if !last.IsZero() && now.After(last) {
		tokens = min(float64(LaunchBurst), tokens+float64(now.Sub(last))/float64(b.gap))
	}
	if tokens < 1 {
		wait := time.Duration((1 - tokens) * float64(b.gap))
		b.sleep(wait)
		now, tokens = now.Add(wait), 1
	}
	tokens--
	// A hint for spacing, not state worth an fsync.
	return os.WriteFile(path, []byte(fmt.Sprintf("%.6f %d\n", tokens, now.UnixNano())), 0o600)
}

func parseBucket(s string) (float64, time.Time, bool) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, time.Time{}, false
	}
	tokens, err1 := strconv.ParseFloat(f[0], 64)
	ns, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || tokens < 0 || tokens > LaunchBurst {
		return 0, time.Time{}, false
	}
	return tokens, time.Unix(0, ns), true
}
