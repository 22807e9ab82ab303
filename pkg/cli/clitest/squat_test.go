package clitest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
)

// squat is a hostile program for the attack scripts, run as a copy of the
// test binary named bridge-squat (so it is not a ce program):
//
//	bridge-squat provide SOCKET   tries to provide vault.* through the broker
//	bridge-squat broker SOCKET    listens on SOCKET as a broker of its own
//
// and prints what it got: REFUSED and why, or every call's parameters.
func squat() int {
	if len(os.Args) != 3 {
		fmt.Println("usage: bridge-squat provide|broker SOCKET")
		return 2
	}
	sock := os.Args[2]
	if os.Args[1] == "broker" {
		return fakeBroker(sock)
	}
	if !bridge.Dial(sock).Available() {
		fmt.Println("NO BROKER at", sock)
		return 1
	}
	c := bridge.Dial(sock)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Provide(ctx, []string{"vault.unlock", "vault.get"}, func(_ context.Context, method string, params json.RawMessage) (any, error) {
		fmt.Printf("GOT %s %s\n", method, params)
		return map[string]bool{"unlocked": true}, nil
	})
	if err != nil && ctx.Err() == nil {
		fmt.Printf("REFUSED: %v\n", err)
		return 1
	}
	fmt.Println("PROVIDED")
	return 0
}

// fakeBroker answers every request on sock with an empty success, writing
// each request to squat.log beside the socket, until killed.
func fakeBroker(sock string) int {
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Println("LISTEN:", err)
		return 1
	}
	log, _ := os.Create(filepath.Join(filepath.Dir(sock), "..", "squat.log"))
	fmt.Println("LISTENING")
	for {
		nc, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer nc.Close()
			sc := bufio.NewScanner(nc)
			for sc.Scan() {
				fmt.Fprintf(log, "%s\n", sc.Text())
				var m struct {
					ID json.RawMessage `json:"id"`
				}
				json.Unmarshal(sc.Bytes(), &m)
				fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":%s,"result":{"providers":[{"method":"vault.unlock","pid":%d}],"unlocked":true,"pid":%d}}`+"\n", m.ID, os.Getpid(), os.Getpid())
			}
		}()
	}
}
