package poller_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
	"github.com/ce-platform/ce/pkg/telegram/outbox"
	"github.com/ce-platform/ce/pkg/telegram/poller"
	"github.com/ce-platform/ce/pkg/telegram/tgmarkup"
	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

// TestWiring shows how ce-telegram puts the packages together: the poller
// journals updates and hands them to the library's handlers through
// ProcessUpdate; handlers answer through the outbox, which converts nothing
// itself but sends tgmarkup's chunks within the budgets.
func TestWiring(t *testing.T) {
	s := fakebot.New(t)
	user := fakebot.User{ID: 42, FirstName: "Ann"}
	log := zerolog.New(zerolog.NewTestWriter(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var out *outbox.Outbox
	reply := func(_ context.Context, _ *bot.Bot, u *models.Update) {
		chunks, err := tgmarkup.Split(tgmarkup.Convert("**You said:** "+u.Message.Text), tgmarkup.DefaultLimit)
		if err != nil {
			t.Error(err)
			return
		}
		kb, _ := botapi.Keyboard([]botapi.Button{botapi.CallbackButton("Again", "again")})
		for _, c := range chunks {
			out.Enqueue(outbox.Job{Kind: outbox.Send, ChatID: u.Message.Chat.ID, Priority: outbox.Final,
				Text: c, ParseMode: "HTML", Markup: kb})
		}
	}
	pressed := func(ctx context.Context, b *bot.Bot, u *models.Update) {
		q := u.CallbackQuery
		_, _ = b.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "ok"})
		out.Enqueue(outbox.Job{Kind: outbox.EditMarkup, ChatID: q.Message.Message.Chat.ID, MessageID: q.Message.Message.ID})
	}
	client, err := botapi.New(botapi.Config{APIURL: s.URL, Token: s.Token, HTTPClient: &http.Client{}, Logger: log,
		Options: []bot.Option{
			bot.WithDefaultHandler(reply),
			bot.WithCallbackQueryDataHandler("again", bot.MatchTypeExact, pressed),
		}})
	if err != nil {
		t.Fatal(err)
	}
	out = outbox.New(outbox.Config{Sender: outbox.ClientSender(client), PlainFallback: tgmarkup.PlainText, Logger: log})
	defer out.Close(context.Background())

	p, err := poller.Open(poller.Config{Dir: t.TempDir(), Fetcher: client, Logger: log, Timeout: 30 * time.Second,
		Handler: func(ctx context.Context, u poller.Update) error {
			upd, err := botapi.DecodeUpdate(u.Raw)
			if err != nil {
				return err
			}
			client.Bot().ProcessUpdate(ctx, upd)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done; p.Close() }()

	s.InjectText(user, "hello <there>")
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := s.WaitFor(wait, func() bool { return len(s.BotMessages(user.ID)) == 1 }); err != nil {
		t.Fatal(err)
	}
	m := s.BotMessages(user.ID)[0]
	if m.Text != "You said: hello <there>" || !strings.HasPrefix(m.Raw, "<b>You said:</b>") || m.Markup == nil {
		t.Fatalf("reply %+v", m)
	}
	in, err := s.Press(user, user.ID, m.ID, "again")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(wait, func() bool {
		got, _ := s.Message(user.ID, m.ID)
		_, answered := s.CallbackAnswer(in.CallbackID)
		return got.Markup == nil && answered
	}); err != nil {
		t.Fatal(err)
	}
}
