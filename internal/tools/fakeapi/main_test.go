package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServeUntilSignal(t *testing.T) {
	outR, outW := io.Pipe()
	done := make(chan int)
	go func() {
		code := run(nil, outW, io.Discard)
		outW.Close()
		done <- code
	}()
	url, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q", url)
	}
	resp, err := http.Post(url+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "ECHO[1]: hi") {
		t.Errorf("answer %s", b)
	}

	// run has registered for SIGTERM before printing the URL, so this stops
	// it rather than the test.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still serving after SIGTERM")
	}
}

func TestUsage(t *testing.T) {
	var stderr strings.Builder
	if code := run([]string{"extra"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), `unexpected argument "extra"`) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"--addr", "256.0.0.1:0"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("bad address: exit %d", code)
	}
}
