package botapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

const token = "424242:SECRET-token-that-must-never-show"

var alice = fakebot.User{ID: 1001, FirstName: "Alice"}

func setup(t *testing.T) (*fakebot.Server, *Client) {
	t.Helper()
	s := fakebot.New(t, fakebot.WithToken(token))
	c, err := New(Config{APIURL: s.URL, Token: token, HTTPClient: &http.Client{}, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func noToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error shows the token: %v", err)
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "SECRET") {
			t.Fatalf("wrapped error shows the token: %v", e)
		}
	}
}

func TestSendEditDelete(t *testing.T) {
	s, c := setup(t)
	ctx := ctxFor(t)
	kb, err := Keyboard([]Button{CallbackButton("Allow", "allow:1"), CallbackButton("Deny", "deny:1")}, []Button{URLButton("Docs", "https://x.org")})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.SendMessage(ctx, Message{ChatID: alice.ID, Text: "<b>Run tool?</b>", ParseMode: "HTML", Markup: kb})
	if err != nil {
		t.Fatal(err)
	}
	calls := s.CallsTo("sendMessage")
	want := `{"inline_keyboard":[[{"text":"Allow","callback_data":"allow:1"},{"text":"Deny","callback_data":"deny:1"}],[{"text":"Docs","url":"https://x.org"}]]}`
	if got := calls[0].Params["reply_markup"]; got != want {
		t.Fatalf("reply_markup sent\n got %s\nwant %s", got, want)
	}

	if err := c.EditMessageText(ctx, id, Message{ChatID: alice.ID, Text: "<b>Run tool?</b>", ParseMode: "HTML", Markup: kb}); err != nil {
		t.Fatalf("not modified must be success: %v", err)
	}
	if err := c.EditMessageText(ctx, id, Message{ChatID: alice.ID, Text: "Allowed", Markup: kb}); err != nil {
		t.Fatal(err)
	}
	if err := c.EditMessageMarkup(ctx, alice.ID, id, nil); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message(alice.ID, id)
	if m.Text != "Allowed" || m.Markup != nil || len(m.Edits) != 2 {
		t.Fatalf("message %+v", m)
	}
	err = c.EditMessageText(ctx, id+10, Message{ChatID: alice.ID, Text: "x"})
	if !Is(err, MessageNotFound) {
		t.Fatalf("edit of a missing message: %v (%v)", err, KindOf(err))
	}
	if err := c.DeleteMessage(ctx, alice.ID, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMessage(ctx, alice.ID, id); !Is(err, MessageNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.SendMessageDraft(ctx, alice.ID, 9, "partial", ""); err != nil {
		t.Fatal(err)
	}
	if d, ok := s.Draft(alice.ID, 9); !ok || d.Text != "partial" {
		t.Fatalf("draft %+v", d)
	}
	if err := c.SendChatAction(ctx, alice.ID, "typing"); err != nil {
		t.Fatal(err)
	}
	doc, err := c.SendDocument(ctx, Document{ChatID: alice.ID, Name: "out.txt", Data: strings.NewReader("data"), Caption: "output"})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(alice.ID, doc); m.Kind != "document" || m.File.Name != "out.txt" {
		t.Fatalf("document %+v", m)
	}
}

func TestErrorKinds(t *testing.T) {
	s, c := setup(t)
	ctx := ctxFor(t)
	send := func(text, mode string) error {
		_, err := c.SendMessage(ctx, Message{ChatID: alice.ID, Text: text, ParseMode: mode})
		noToken(t, err)
		return err
	}

	s.AddFault(fakebot.TooManyRequests("sendMessage", 0, 7))
	err := send("x", "")
	if d, ok := RetryAfterOf(err); !ok || d != 7*time.Second || !Is(err, RetryAfter) {
		t.Fatalf("429: %v", err)
	}
	s.AddFault(fakebot.Blocked(alice.ID))
	if err := send("x", ""); !Is(err, Forbidden) {
		t.Fatalf("403: %v", err)
	}
	s.ClearFaults()
	s.AddFault(fakebot.ServerError("sendMessage", 500, 1))
	if err := send("x", ""); !Is(err, Server) {
		t.Fatalf("500: %v (%v)", err, KindOf(err))
	}
	s.AddFault(fakebot.Fault{Method: "sendMessage", Status: 502, Body: "<html>bad gateway</html>"})
	if err := send("x", ""); !Is(err, Server) {
		t.Fatalf("502 page: %v (%v)", err, KindOf(err))
	}
	s.AddFault(fakebot.Drop("sendMessage", 1))
	if err := send("x", ""); !Is(err, Network) {
		t.Fatalf("dropped: %v (%v)", err, KindOf(err))
	}
	if err := send("<b>x", "HTML"); !Is(err, CantParseEntities) {
		t.Fatalf("bad html: %v", err)
	}
	if err := send(strings.Repeat("x", 4097), ""); !Is(err, TooLong) {
		t.Fatalf("too long: %v", err)
	}
	if err := send("", ""); !Is(err, BadRequest) {
		t.Fatalf("empty: %v", err)
	}
	var e *Error
	if err := send("", ""); !errors.As(err, &e) || e.Method != "sendMessage" || e.Code != 400 || e.Description != "Bad Request: message text is empty" {
		t.Fatalf("error fields: %#v", e)
	}
	if got := e.Error(); got != "telegram sendMessage: 400 Bad Request: message text is empty" {
		t.Fatalf("error text %q", got)
	}

	s.AddFault(fakebot.Conflict(1))
	_, err = c.GetUpdates(ctx, UpdatesRequest{})
	noToken(t, err)
	if !Is(err, Conflict) {
		t.Fatalf("409: %v", err)
	}
	s.AddFault(fakebot.TooManyRequests("getUpdates", 0, 3))
	_, err = c.GetUpdates(ctx, UpdatesRequest{})
	if d, ok := RetryAfterOf(err); !ok || d != 3*time.Second {
		t.Fatalf("getUpdates 429: %v", err)
	}
	s.AddFault(fakebot.Fault{Method: "getUpdates", Status: 502, Body: "<html>bad gateway</html>"})
	if _, err = c.GetUpdates(ctx, UpdatesRequest{}); !Is(err, Server) {
		t.Fatalf("getUpdates 502 page: %v", err)
	}
	s.AddFault(fakebot.Drop("getUpdates", 1))
	_, err = c.GetUpdates(ctx, UpdatesRequest{})
	noToken(t, err)
	if !Is(err, Network) {
		t.Fatalf("getUpdates dropped: %v", err)
	}

	bad, err := New(Config{APIURL: s.URL, Token: "1:wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetUpdates(ctx, UpdatesRequest{}); !Is(err, Unauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := bad.SendMessage(ctx, Message{ChatID: 1, Text: "x"}); !Is(err, Unauthorized) {
		t.Fatalf("wrong token, library: %v", err)
	}
}

func TestTokenNeverInNetworkErrors(t *testing.T) {
	s, c := setup(t)
	ctx := ctxFor(t)
	in, err := s.InjectMessage(fakebot.Incoming{From: alice, Document: &fakebot.Attachment{Name: "a.txt", Data: []byte("abc")}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.DownloadFile(ctx, in.FileID)
	if err != nil || string(data) != "abc" {
		t.Fatalf("download %q %v", data, err)
	}
	s.Close()
	_, err = c.SendMessage(ctx, Message{ChatID: 1, Text: "x"})
	noToken(t, err)
	if !Is(err, Network) {
		t.Fatalf("closed server, library: %v", err)
	}
	_, err = c.GetUpdates(ctx, UpdatesRequest{})
	noToken(t, err)
	if !Is(err, Network) || !strings.Contains(err.Error(), "<token>") {
		t.Fatalf("closed server, raw: %v", err)
	}
	_, err = c.DownloadFile(ctx, in.FileID)
	noToken(t, err)
	if !Is(err, Network) {
		t.Fatalf("closed server, download: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.GetUpdates(cancelled, UpdatesRequest{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestGetUpdates(t *testing.T) {
	s, c := setup(t)
	ctx := ctxFor(t)
	a := s.InjectText(alice, "one")
	b := s.InjectText(alice, "two")
	ups, err := c.GetUpdates(ctx, UpdatesRequest{})
	if err != nil || len(ups) != 2 {
		t.Fatalf("updates %s %v", ups, err)
	}
	u, err := DecodeUpdate(ups[1])
	if err != nil || u.ID != b.UpdateID || u.Message.Text != "two" {
		t.Fatalf("decoded %+v %v", u, err)
	}
	ups, err = c.GetUpdates(ctx, UpdatesRequest{Offset: a.UpdateID + 1, Limit: 1, AllowedUpdates: []string{"message", "callback_query"}})
	if err != nil || len(ups) != 1 {
		t.Fatalf("after offset: %s %v", ups, err)
	}
	call := s.CallsTo("getUpdates")[1]
	if call.Params["allowed_updates"] != `["message","callback_query"]` || call.Params["limit"] != "1" {
		t.Fatalf("params %v", call.Params)
	}
	if _, err := c.GetUpdates(ctx, UpdatesRequest{Offset: -1}); err == nil {
		t.Fatal("negative offset must be refused")
	}
	if len(s.CallsTo("getUpdates")) != 2 {
		t.Fatal("a negative offset reached the server")
	}

	got := make(chan []json.RawMessage, 1)
	go func() {
		ups, err := c.GetUpdates(ctx, UpdatesRequest{Offset: b.UpdateID + 1, Timeout: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		got <- ups
	}()
	if err := s.WaitFor(ctx, func() bool { return s.Polls() == 1 }); err != nil {
		t.Fatal(err)
	}
	s.InjectText(alice, "three")
	if ups := <-got; len(ups) != 1 {
		t.Fatalf("long poll got %s", ups)
	}
}

func TestKeyboardChecks(t *testing.T) {
	ok := strings.Repeat("é", 32)
	if _, err := Keyboard([]Button{CallbackButton("A", ok)}); err != nil {
		t.Fatalf("64 bytes: %v", err)
	}
	bad := []Button{
		CallbackButton("A", ok+"x"),
		CallbackButton("", "a"),
		{Text: "both", CallbackData: "a", URL: "https://x"},
		{Text: "none"},
		URLButton("js", "javascript:alert(1)"),
	}
	for _, b := range bad {
		if _, err := Keyboard([]Button{b}); err == nil {
			t.Errorf("button %+v accepted", b)
		}
	}
	empty, _ := json.Marshal(&InlineKeyboard{Rows: [][]Button{nil}})
	if string(empty) != `{"inline_keyboard":[[]]}` {
		t.Fatalf("empty keyboard %s", empty)
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadTokenFile(write("ok", "\n  "+token+" \r\n\n"))
	if err != nil || got != token {
		t.Fatalf("token %q %v", got, err)
	}
	for name, content := range map[string]string{"empty": " \n", "shape": "SECRET-not-a-token", "two": token + "\n" + token} {
		_, err := ReadTokenFile(write(name, content))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		noToken(t, err)
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestWrapLeavesNilAndKinds(t *testing.T) {
	c := &Client{token: token}
	if c.Wrap("x", nil) != nil {
		t.Fatal("nil must stay nil")
	}
	if KindOf(nil) != Other || Is(nil, Other) {
		t.Fatal("nil has no kind")
	}
	if Other.String() != "other" || BadRequest.String() != "bad request" {
		t.Fatal("kind names")
	}
}
