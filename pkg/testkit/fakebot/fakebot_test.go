package fakebot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

var alice = User{ID: 1001, FirstName: "Alice", Username: "alice"}

type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
	status int
}

func decode(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	a.status = resp.StatusCode
	return a
}

// call posts params as JSON to method.
func call(t *testing.T, s *Server, method string, params map[string]any) answer {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL+"/bot"+s.Token+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func wantError(t *testing.T, a answer, code int, desc string) {
	t.Helper()
	if a.OK || a.ErrorCode != code || a.status != code || a.Description != desc {
		t.Fatalf("got ok=%v %d (HTTP %d) %q, want %d %q", a.OK, a.ErrorCode, a.status, a.Description, code, desc)
	}
}

func wantOK(t *testing.T, a answer) {
	t.Helper()
	if !a.OK || a.status != 200 {
		t.Fatalf("got %d %q, want ok", a.ErrorCode, a.Description)
	}
}

func newBot(t *testing.T, s *Server) *bot.Bot {
	t.Helper()
	b, err := bot.New(s.Token, bot.WithServerURL(s.URL), bot.WithSkipGetMe(),
		bot.WithHTTPClient(5*time.Second, &http.Client{}),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot: %v", err) }),
		bot.WithDefaultHandler(func(context.Context, *bot.Bot, *models.Update) {}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func keyboard(rows ...[]map[string]string) map[string]any {
	return map[string]any{"inline_keyboard": rows}
}

func TestWrongTokenAndPaths(t *testing.T) {
	s := New(t)
	resp, err := http.Post(s.URL+"/bot999:wrong/getMe", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, decode(t, resp), 401, "Unauthorized")
	resp, err = http.Get(s.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, decode(t, resp), 404, "Not Found")

	a := call(t, s, "getMe", nil)
	wantOK(t, a)
	var me User
	if err := json.Unmarshal(a.Result, &me); err != nil || me.ID != 123456 || !me.IsBot {
		t.Fatalf("getMe = %s (%v)", a.Result, err)
	}
}

func TestRequestEncodings(t *testing.T) {
	s := New(t)
	base := s.URL + "/bot" + s.Token + "/sendMessage"

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("chat_id", "7")
	_ = w.WriteField("text", "multipart")
	_ = w.WriteField("reply_markup", `{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}`)
	_ = w.Close()
	resp, err := http.Post(base, w.FormDataContentType(), &mp)
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, decode(t, resp))

	resp, err = http.PostForm(base, url.Values{"chat_id": {"7"}, "text": {"form"}})
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, decode(t, resp))

	wantOK(t, call(t, s, "sendMessage", map[string]any{"chat_id": 7, "text": "json",
		"reply_markup": keyboard([]map[string]string{{"text": "B", "callback_data": "b"}})}))

	resp, err = http.Get(base + "?chat_id=7&text=query")
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, decode(t, resp))

	msgs := s.BotMessages(7)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "multipart,form,json,query" {
		t.Fatalf("texts = %v", texts)
	}
	if msgs[0].Markup == nil || msgs[0].Markup.Rows[0][0].CallbackData != "a" ||
		msgs[2].Markup == nil || msgs[2].Markup.Rows[0][0].CallbackData != "b" {
		t.Fatalf("markups not stored: %+v %+v", msgs[0].Markup, msgs[2].Markup)
	}
	if ids := []int{msgs[0].ID, msgs[3].ID}; ids[0] != 1 || ids[1] != 4 {
		t.Fatalf("message ids %v, want 1 and 4", ids)
	}
	if c := s.CallsTo("sendmessage"); len(c) != 4 || c[0].ChatID != 7 || c[1].Params["text"] != "form" {
		t.Fatalf("calls = %+v", c)
	}
}

func TestTextChecks(t *testing.T) {
	s := New(t)
	emoji := "😀" // two UTF-16 units, four bytes
	cases := []struct {
		name, text, mode string
		desc             string // "" for success
		visible          string
	}{
		{"plain", "hello", "", "", "hello"},
		{"empty", "", "", "Bad Request: message text is empty", ""},
		{"white space only", " \n\t", "", "Bad Request: message text is empty", ""},
		{"trimmed", "  hi \n", "", "", "hi"},
		{"tags", `<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>`, "HTML", "", "bsieunskd"},
		{"spoilers", `<span class="tg-spoiler">a</span><tg-spoiler>b</tg-spoiler>`, "HTML", "", "ab"},
		{"link", `<a href="https://x.org/?a=1&amp;b=2">x</a>`, "HTML", "", "x"},
		{"pre code", "<pre><code class=\"language-go\">x := 1</code></pre>", "HTML", "", "x := 1"},
		{"blockquote", "<blockquote expandable>q</blockquote><blockquote>r</blockquote>", "HTML", "", "qr"},
		{"entities", "&lt;&gt;&amp;&quot;&#65;&#x42;&nbsp;", "HTML", "", `<>&"AB&nbsp;`},
		{"bare ampersand", "a & b", "HTML", "", "a & b"},
		{"unknown tag", "<div>x</div>", "HTML", `Bad Request: can't parse entities: Unsupported start tag "div" at byte offset 0`, ""},
		{"unclosed", "<b>x", "HTML", `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`, ""},
		{"crossed", "<b><i>x</b></i>", "HTML", `Bad Request: can't parse entities: Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`, ""},
		{"stray end", "x</b>", "HTML", "Bad Request: can't parse entities: Unexpected end tag at byte offset 1", ""},
		{"bare less than", "a < b", "HTML", `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`, ""},
		{"span without class", "<span>x</span>", "HTML", `Bad Request: can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0`, ""},
		{"unclosed start", "<b", "HTML", "Bad Request: can't parse entities: Unclosed start tag at byte offset 0", ""},
		{"bad parse mode", "x", "XML", "Bad Request: unsupported parse_mode", ""},
		{"max", strings.Repeat(emoji, 2048), "", "", strings.Repeat(emoji, 2048)},
		{"over max", strings.Repeat(emoji, 2048) + "a", "", "Bad Request: message is too long", ""},
		{"max after entities", strings.Repeat("&lt;", 4096), "HTML", "", strings.Repeat("<", 4096)},
		{"over max after entities", "<b>" + strings.Repeat("&amp;", 4097) + "</b>", "HTML", "Bad Request: message is too long", ""},
		{"cjk", strings.Repeat("漢", 4096), "", "", strings.Repeat("漢", 4096)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, s, "sendMessage", map[string]any{"chat_id": 5, "text": c.text, "parse_mode": c.mode})
			if c.desc != "" {
				wantError(t, a, 400, c.desc)
				return
			}
			wantOK(t, a)
			var m struct {
				MessageID int `json:"message_id"`
			}
			if err := json.Unmarshal(a.Result, &m); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Message(5, m.MessageID)
			if got.Text != c.visible {
				t.Fatalf("visible text %q, want %q", got.Text, c.visible)
			}
		})
	}
}

func TestInvalidUTF8(t *testing.T) {
	s := New(t)
	resp, err := http.PostForm(s.URL+"/bot"+s.Token+"/sendMessage", url.Values{"chat_id": {"5"}, "text": {"a\xffb"}})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, decode(t, resp), 400, "Bad Request: strings must be encoded in UTF-8")
}

func TestParseHTMLEntities(t *testing.T) {
	text, ents, err := ParseHTML(`😀<b>a<i>b</i></b> <pre><code class="language-go">c</code></pre><code class="language-x">d</code><a href="tg://x">e</a>`)
	if err != nil {
		t.Fatal(err)
	}
	if text != "😀ab cde" {
		t.Fatalf("text %q", text)
	}
	want := []Entity{
		{Type: "bold", Offset: 2, Length: 2},
		{Type: "italic", Offset: 3, Length: 1},
		{Type: "pre", Offset: 5, Length: 1, Language: "go"},
		{Type: "code", Offset: 6, Length: 1},
		{Type: "text_link", Offset: 7, Length: 1, URL: "tg://x"},
	}
	if !slices.Equal(ents, want) {
		t.Fatalf("entities\n got %+v\nwant %+v", ents, want)
	}
}

func TestEditAndDeleteWithLibrary(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)
	kb := keyboard([]map[string]string{{"text": "Yes", "callback_data": "y"}})
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "<b>one</b>", ParseMode: models.ParseModeHTML, ReplyMarkup: kb})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 1 || m.Text != "one" || len(m.Entities) != 1 || m.Entities[0].Type != "bold" || m.Chat.ID != alice.ID {
		t.Fatalf("sent message %+v", m)
	}
	if m.ReplyMarkup == nil || m.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "y" {
		t.Fatalf("reply markup not echoed: %+v", m.ReplyMarkup)
	}

	_, err = b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "<strong>one</strong>", ParseMode: models.ParseModeHTML, ReplyMarkup: kb})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message") {
		t.Fatalf("same content: %v", err)
	}
	e, err := b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: m.ID, Text: "two", ReplyMarkup: kb})
	if err != nil || e.Text != "two" || e.EditDate == 0 {
		t.Fatalf("edit: %+v %v", e, err)
	}
	if _, err := b.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: alice.ID, MessageID: m.ID,
		ReplyMarkup: map[string]any{"inline_keyboard": [][]any{}}}); err != nil {
		t.Fatal(err)
	}
	_, err = b.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: alice.ID, MessageID: 99, Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: message to edit not found") {
		t.Fatalf("missing message: %v", err)
	}

	got, _ := s.Message(alice.ID, m.ID)
	if got.Text != "two" || got.Markup != nil || len(got.Edits) != 2 || got.Edits[0].Text != "one" || got.Edits[1].Markup == nil {
		t.Fatalf("stored message %+v", got)
	}

	if ok, err := b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: alice.ID, MessageID: m.ID}); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	_, err = b.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: alice.ID, MessageID: m.ID})
	if err == nil || !strings.Contains(err.Error(), "message to delete not found") {
		t.Fatalf("second delete: %v", err)
	}
	if len(s.BotMessages(alice.ID)) != 0 {
		t.Fatal("deleted message still listed")
	}
}

func TestKeyboardChecks(t *testing.T) {
	s := New(t)
	long := strings.Repeat("x", 65)
	wantError(t, call(t, s, "sendMessage", map[string]any{"chat_id": 1, "text": "x",
		"reply_markup": keyboard([]map[string]string{{"text": "A", "callback_data": long}})}), 400, "Bad Request: BUTTON_DATA_INVALID")
	wantError(t, call(t, s, "sendMessage", map[string]any{"chat_id": 1, "text": "x",
		"reply_markup": keyboard([]map[string]string{{"text": "A"}})}), 400,
		"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	wantError(t, call(t, s, "sendMessage", map[string]any{"chat_id": 1, "text": "x", "reply_markup": "{"}), 400,
		"Bad Request: can't parse reply keyboard markup JSON object")
	wantOK(t, call(t, s, "sendMessage", map[string]any{"chat_id": 1, "text": "x",
		"reply_markup": keyboard([]map[string]string{{"text": "A", "callback_data": strings.Repeat("é", 32)}})}))
}

func TestLongPollWakesOnInjection(t *testing.T) {
	s := New(t)
	ctx := ctxFor(t)
	got := make(chan answer, 1)
	go func() {
		body := strings.NewReader(`{"timeout":30}`)
		resp, err := http.Post(s.URL+"/bot"+s.Token+"/getUpdates", "application/json", body)
		if err != nil {
			got <- answer{Description: err.Error()}
			return
		}
		defer resp.Body.Close()
		var a answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		got <- a
	}()
	if err := s.WaitFor(ctx, func() bool { return s.Polls() == 1 }); err != nil {
		t.Fatal(err)
	}
	in := s.InjectText(alice, "/start now")
	a := <-got
	var ups []models.Update
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 1 {
		t.Fatalf("updates %s (%v)", a.Result, err)
	}
	u := ups[0]
	if u.ID != in.UpdateID || u.Message.ID != in.MessageID || u.Message.Text != "/start now" ||
		u.Message.From.ID != alice.ID || u.Message.Chat.Type != "private" || u.Message.Entities[0].Type != "bot_command" ||
		u.Message.Entities[0].Length != 6 {
		t.Fatalf("update %+v / %+v", u, u.Message)
	}
}

func updateIDs(t *testing.T, a answer) []int64 {
	t.Helper()
	wantOK(t, a)
	var ups []struct {
		ID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, u := range ups {
		ids = append(ids, u.ID)
	}
	return ids
}

func TestOffsetsLimitAndAllowedUpdates(t *testing.T) {
	s := New(t)
	var ids []int64
	for i := range 5 {
		ids = append(ids, s.InjectText(alice, string(rune('a'+i))).UpdateID)
	}
	if got := updateIDs(t, call(t, s, "getUpdates", map[string]any{"limit": 2})); len(got) != 2 || got[0] != ids[0] {
		t.Fatalf("limit 2: %v", got)
	}
	if got := updateIDs(t, call(t, s, "getUpdates", nil)); len(got) != 5 {
		t.Fatalf("unconfirmed updates are kept: %v", got)
	}
	if got := updateIDs(t, call(t, s, "getUpdates", map[string]any{"offset": ids[2]})); len(got) != 3 || got[0] != ids[2] {
		t.Fatalf("offset: %v", got)
	}
	if p := s.PendingUpdates(); len(p) != 3 {
		t.Fatalf("pending after confirm: %v", p)
	}
	if got := updateIDs(t, call(t, s, "getUpdates", map[string]any{"offset": -1})); len(got) != 1 || got[0] != ids[4] {
		t.Fatalf("offset -1: %v", got)
	}
	if p := s.PendingUpdates(); len(p) != 1 {
		t.Fatalf("offset -1 forgets earlier updates: %v", p)
	}

	s.InjectUpdate("message_reaction", map[string]any{"x": 1})
	last := s.InjectText(alice, "f").UpdateID
	got := updateIDs(t, call(t, s, "getUpdates", map[string]any{"offset": ids[4] + 1}))
	if len(got) != 1 || got[0] != last {
		t.Fatalf("message_reaction is opt-in: %v", got)
	}
	s.InjectUpdate("edited_message", map[string]any{"message_id": 1})
	got = updateIDs(t, call(t, s, "getUpdates", map[string]any{"offset": last + 1, "allowed_updates": []string{"callback_query"}}))
	if len(got) != 0 {
		t.Fatalf("allowed_updates ignored: %v", got)
	}
	s.InjectText(alice, "g")
	if got := updateIDs(t, call(t, s, "getUpdates", map[string]any{"offset": last + 1})); len(got) != 0 {
		t.Fatalf("allowed_updates must persist: %v", got)
	}
}

func TestConcurrentGetUpdates(t *testing.T) {
	for _, rejectNewer := range []bool{false, true} {
		t.Run(map[bool]string{false: "older ends", true: "newer rejected"}[rejectNewer], func(t *testing.T) {
			var opts []Option
			if rejectNewer {
				opts = append(opts, WithConflictRejectsNewer())
			}
			s := New(t, opts...)
			ctx := ctxFor(t)
			first := make(chan answer, 1)
			go func() {
				resp, err := http.Post(s.URL+"/bot"+s.Token+"/getUpdates", "application/json", strings.NewReader(`{"timeout":30}`))
				if err != nil {
					first <- answer{Description: err.Error()}
					return
				}
				first <- decode(t, resp)
			}()
			if err := s.WaitFor(ctx, func() bool { return s.Polls() == 1 }); err != nil {
				t.Fatal(err)
			}
			if rejectNewer {
				wantError(t, call(t, s, "getUpdates", nil), 409, conflictDescription)
				s.InjectText(alice, "x")
				if ids := updateIDs(t, <-first); len(ids) != 1 {
					t.Fatalf("first poll got %v", ids)
				}
				return
			}
			wantOK(t, call(t, s, "getUpdates", nil))
			wantError(t, <-first, 409, conflictDescription)
		})
	}
}

func TestDrafts(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)
	for _, text := range []string{"Thinking", "Thinking about <b>it</b>"} {
		if _, err := b.SendMessageDraft(ctx, &bot.SendMessageDraftParams{ChatID: alice.ID, DraftID: "7", Text: text, ParseMode: models.ParseModeHTML}); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := s.Draft(alice.ID, 7)
	if !ok || d.Text != "Thinking about it" || d.Updates != 2 {
		t.Fatalf("draft %+v %v", d, ok)
	}
	_, err := b.SendMessageDraft(ctx, &bot.SendMessageDraftParams{ChatID: int64(-5), DraftID: "7", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "private chats") {
		t.Fatalf("group draft: %v", err)
	}
	_, err = b.SendMessageDraft(ctx, &bot.SendMessageDraftParams{ChatID: alice.ID, DraftID: "0", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "draft_id must be non-zero") {
		t.Fatalf("zero draft id: %v", err)
	}
}

func TestFilesAndAttachments(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)

	m, err := b.SendDocument(ctx, &bot.SendDocumentParams{ChatID: alice.ID, Caption: "<i>log</i>", ParseMode: models.ParseModeHTML,
		Document: &models.InputFileUpload{Filename: "run.log", Data: strings.NewReader("line 1\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Document == nil || m.Document.FileName != "run.log" || m.Caption != "log" {
		t.Fatalf("document message %+v", m)
	}
	if data, ok := s.FileData(m.Document.FileID); !ok || string(data) != "line 1\n" {
		t.Fatalf("uploaded data %q", data)
	}
	_, err = b.SendPhoto(ctx, &bot.SendPhotoParams{ChatID: alice.ID, Caption: strings.Repeat("c", 1025),
		Photo: &models.InputFileUpload{Filename: "p.png", Data: strings.NewReader("png")}})
	if err == nil || !strings.Contains(err.Error(), "message caption is too long") {
		t.Fatalf("long caption: %v", err)
	}

	in, err := s.InjectMessage(Incoming{From: alice, Text: "look", Photo: &Attachment{Data: []byte("jpeg bytes")}})
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := s.Message(alice.ID, in.MessageID)
	if msg.Kind != "photo" || msg.File.ID != in.FileID || msg.Text != "look" {
		t.Fatalf("photo message %+v", msg)
	}
	f, err := b.GetFile(ctx, &bot.GetFileParams{FileID: in.FileID})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(b.FileDownloadLink(f))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(data) != "jpeg bytes" || f.FileSize != 10 {
		t.Fatalf("downloaded %q, size %d", data, f.FileSize)
	}

	huge, _ := s.InjectMessage(Incoming{From: alice, Document: &Attachment{Name: "big.iso", Size: 21 << 20}})
	_, err = b.GetFile(ctx, &bot.GetFileParams{FileID: huge.FileID})
	if err == nil || !strings.Contains(err.Error(), "Bad Request: file is too big") {
		t.Fatalf("huge file: %v", err)
	}
	voice, _ := s.InjectMessage(Incoming{From: alice, Voice: &Attachment{Data: []byte("ogg"), Duration: 3}})
	if _, err := b.GetFile(ctx, &bot.GetFileParams{FileID: voice.FileID}); err != nil {
		t.Fatal(err)
	}
}

func TestPressAndAnswer(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)
	m, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: alice.ID, Text: "Allow?",
		ReplyMarkup: keyboard([]map[string]string{{"text": "Allow", "callback_data": "allow:1"}, {"text": "Deny", "callback_data": "deny:1"}})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Press(alice, alice.ID, m.ID, "nope"); err == nil {
		t.Fatal("pressing a missing button must fail")
	}
	in, err := s.Press(alice, alice.ID, m.ID, "deny:1")
	if err != nil {
		t.Fatal(err)
	}
	a := call(t, s, "getUpdates", nil)
	var ups []models.Update
	if err := json.Unmarshal(a.Result, &ups); err != nil {
		t.Fatal(err)
	}
	q := ups[0].CallbackQuery
	if q == nil || q.ID != in.CallbackID || q.Data != "deny:1" || q.Message.Message == nil || q.Message.Message.ID != m.ID {
		t.Fatalf("callback query %+v", ups[0])
	}
	if _, err := b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "Denied"}); err != nil {
		t.Fatal(err)
	}
	if ans, ok := s.CallbackAnswer(q.ID); !ok || ans.Text != "Denied" {
		t.Fatalf("answer %+v %v", ans, ok)
	}

	if _, err := s.InjectReply(alice, m.ID, "why"); err != nil {
		t.Fatal(err)
	}
	a = call(t, s, "getUpdates", map[string]any{"offset": in.UpdateID + 1})
	ups = nil
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 1 {
		t.Fatalf("reply update %s %v", a.Result, err)
	}
	if r := ups[0].Message.ReplyToMessage; r == nil || r.ID != m.ID || r.Text != "Allow?" {
		t.Fatalf("reply_to_message %+v", r)
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)
	send := func(chat int64) error {
		_, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: "x"})
		return err
	}

	s.AddFault(TooManyRequests("sendMessage", 1, 7))
	if err := send(2); err != nil {
		t.Fatalf("other chat: %v", err)
	}
	err := send(1)
	var tooMany *bot.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 7 || !strings.Contains(err.Error(), "Too Many Requests: retry after 7") {
		t.Fatalf("429: %v", err)
	}
	if err := send(1); err != nil {
		t.Fatalf("one-shot fault fired twice: %v", err)
	}

	s.AddFault(Blocked(3))
	for range 2 {
		if err := send(3); !errors.Is(err, bot.ErrorForbidden) || !strings.Contains(err.Error(), "bot was blocked by the user") {
			t.Fatalf("403: %v", err)
		}
	}
	s.ClearFaults()

	s.AddFault(ServerError("sendMessage", 502, 2))
	for range 2 {
		if err := send(4); err == nil || !strings.Contains(err.Error(), "502") {
			t.Fatalf("502: %v", err)
		}
	}
	if err := send(4); err != nil {
		t.Fatal(err)
	}

	s.AddFault(Drop("sendMessage", 1))
	if err := send(4); err == nil {
		t.Fatal("dropped connection must fail")
	}

	s.AddFault(BadRequest("sendMessage", "chat not found"))
	if err := send(4); !errors.Is(err, bot.ErrorBadRequest) || !strings.Contains(err.Error(), "chat not found") {
		t.Fatalf("400: %v", err)
	}

	s.AddFault(Fault{Method: "sendMessage", Status: 502, Body: "<html>502 Bad Gateway</html>"})
	if err := send(4); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("html body: %v", err)
	}

	const delay = 50 * time.Millisecond
	s.AddFault(Slow("sendMessage", delay, 1))
	start := time.Now()
	if err := send(4); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < delay {
		t.Fatal("slow fault answered early")
	}
	if s.PendingFaults() != 0 {
		t.Fatalf("faults left: %d", s.PendingFaults())
	}
	dropped := 0
	for _, c := range s.CallsTo("sendMessage") {
		if c.Status == 0 {
			dropped++
		}
	}
	if dropped != 1 {
		t.Fatalf("dropped calls recorded: %d", dropped)
	}
}

func TestConflictFault(t *testing.T) {
	s := New(t)
	s.AddFault(Conflict(2))
	for range 2 {
		wantError(t, call(t, s, "getUpdates", nil), 409, conflictDescription)
	}
	wantOK(t, call(t, s, "getUpdates", nil))
}

func TestCommandsAndFallback(t *testing.T) {
	s := New(t)
	b := newBot(t, s)
	ctx := ctxFor(t)
	cmds := []models.BotCommand{{Command: "new", Description: "new session"}, {Command: "list", Description: "list sessions"}}
	if _, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: cmds}); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetMyCommands(ctx, &bot.GetMyCommandsParams{})
	if err != nil || len(got) != 2 || got[1].Command != "list" {
		t.Fatalf("commands %+v %v", got, err)
	}
	if _, err := b.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: []models.BotCommand{{Command: "Bad-One", Description: "x"}}}); err == nil {
		t.Fatal("invalid command accepted")
	}
	if _, err := b.DeleteMyCommands(ctx, &bot.DeleteMyCommandsParams{}); err != nil {
		t.Fatal(err)
	}
	if len(s.Commands("default", "")) != 0 {
		t.Fatal("commands not deleted")
	}
	if ok, err := b.SendChatAction(ctx, &bot.SendChatActionParams{ChatID: alice.ID, Action: models.ChatActionTyping}); !ok || err != nil {
		t.Fatalf("typing: %v %v", ok, err)
	}
	if ok, err := b.SetMessageReaction(ctx, &bot.SetMessageReactionParams{ChatID: alice.ID, MessageID: 1}); !ok || err != nil {
		t.Fatalf("fallback: %v %v", ok, err)
	}
	if c := s.CallsTo("setMessageReaction"); len(c) != 1 || c[0].ChatID != alice.ID {
		t.Fatalf("fallback not recorded: %+v", c)
	}
}

func TestLibraryPolling(t *testing.T) {
	s := New(t)
	got := make(chan *models.Update, 4)
	b, err := bot.New(s.Token, bot.WithServerURL(s.URL), bot.WithSkipGetMe(),
		bot.WithHTTPClient(2*time.Second, &http.Client{}),
		bot.WithErrorsHandler(func(err error) { t.Logf("bot: %v", err) }),
		bot.WithDefaultHandler(func(_ context.Context, _ *bot.Bot, u *models.Update) { got <- u }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.Start(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	in := s.InjectText(alice, "hello")
	select {
	case u := <-got:
		if u.ID != in.UpdateID || u.Message.Text != "hello" {
			t.Fatalf("update %+v", u)
		}
	case <-ctxFor(t).Done():
		t.Fatal("no update")
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []Call {
		var out []Call
		for _, m := range ms {
			out = append(out, Call{Time: t0.Add(time.Duration(m) * time.Millisecond)})
		}
		return out
	}
	cases := []struct {
		calls []Call
		want  int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 1000, 2000), 1},
		{at(0, 999, 2000), 2},
		{at(0, 100, 200, 1150, 1190), 3},
	}
	for _, c := range cases {
		if got := MaxInWindow(c.calls, time.Second); got != c.want {
			t.Errorf("MaxInWindow(%v) = %d, want %d", c.calls, got, c.want)
		}
	}
}

func TestWaitForHonoursContext(t *testing.T) {
	s := New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitFor(ctx, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor = %v", err)
	}
}

func TestCloseEndsLongPoll(t *testing.T) {
	s := Start()
	ctx := ctxFor(t)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL+"/bot"+s.Token+"/getUpdates", "application/json", strings.NewReader(`{"timeout":50}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if err := s.WaitFor(ctx, func() bool { return s.Polls() == 1 }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("long poll outlived Close")
	}
}
