package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// A reserved namespace is provided only by its program: the test binary
// may provide what is reserved to itself, not what is reserved to ce-vault.
func TestOwnersRefuseSquatters(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err = Resolve(self)
	if err != nil {
		t.Fatal(err)
	}
	path := sockPath(t)
	startBroker(t, path, func(s *Server) {
		s.Owners = []Owner{{Prefix: "vault.", Program: "/usr/lib/ce/ce-vault"}, {Prefix: "mine.", Program: self}}
	})
	c := newClient(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handler := func(context.Context, string, json.RawMessage) (any, error) { return "ok", nil }
	err = c.Provide(ctx, []string{"vault.unlock"}, handler)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeForbidden {
		t.Fatalf("providing vault.unlock: %v, want a refusal", err)
	}
	go c.Provide(ctx, []string{"mine.x", "free.y"}, handler)
	other := newClient(t, path)
	for _, m := range []string{"mine.x", "free.y"} {
		var got string
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if err = other.Call(ctx, m, nil, &got); err == nil {
				break
			}
		}
		if err != nil || got != "ok" {
			t.Fatalf("%s: %q, %v", m, got, err)
		}
	}
	pid, exe, err := BrokerProgram(path)
	if err != nil || pid != os.Getpid() || exe != self {
		t.Fatalf("BrokerProgram = %d %q %v, want this process", pid, exe, err)
	}
}
