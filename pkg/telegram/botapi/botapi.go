// Package botapi is ce's thin layer over github.com/go-telegram/bot
// v1.27.0: it builds the library's Bot for an API URL and token without a
// getMe at start, calls getUpdates itself (the library exports no
// GetUpdates, and its own loop advances the offset before updates are
// handled), classifies errors (Kind: 429 with its retry_after, 409,
// "message is not modified" as success, "can't parse entities", "message is
// too long", "message to edit not found", 403) and strips the token from
// every error and log line, builds inline keyboards as its own JSON (the
// library's button type gained fields ce does not want sent) with
// callback_data checked, and reads the token from a file.
//
// The other Telegram packages (outbox, poller) and ce-telegram use it; it is
// implementation inside ce, and other programs should not rely on it.
package botapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/rs/zerolog"
)

// DefaultAPIURL is Telegram's Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// Timeouts of calls whose context has no earlier deadline.
const (
	DefaultCallTimeout   = 30 * time.Second // every method but getUpdates and uploads
	DefaultUploadTimeout = 2 * time.Minute  // sendDocument, downloads
	pollMargin           = 15 * time.Second // added to a getUpdates timeout
)

// Config says which Bot API to talk to and how.
type Config struct {
	APIURL      string         // DefaultAPIURL when empty; a fakebot's URL in tests
	Token       string         // the bot token, never printed
	HTTPClient  *http.Client   // http.DefaultClient's transport with no timeout when nil; calls set their own deadlines
	CallTimeout time.Duration  // DefaultCallTimeout when 0
	Logger      zerolog.Logger // receives the library's errors and debug lines, redacted
	// Options are passed to bot.New after the client's own, for handlers
	// and middlewares. The Bot runs handlers synchronously
	// (bot.WithNotAsyncHandlers): ProcessUpdate returns when the update is
	// handled, which the poller relies on.
	Options []bot.Option
}

// Client calls the Bot API for one bot.
type Client struct {
	bot         *bot.Bot
	api         string
	token       string
	http        *http.Client
	callTimeout time.Duration
	log         zerolog.Logger
}

// New builds a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("botapi: empty bot token")
	}
	c := &Client{api: cfg.APIURL, token: cfg.Token, http: cfg.HTTPClient, callTimeout: cfg.CallTimeout, log: cfg.Logger}
	if c.api == "" {
		c.api = DefaultAPIURL
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.callTimeout <= 0 {
		c.callTimeout = DefaultCallTimeout
	}
	opts := []bot.Option{
		bot.WithServerURL(c.api),
		bot.WithSkipGetMe(),
		bot.WithHTTPClient(DefaultCallTimeout, c.http),
		bot.WithNotAsyncHandlers(),
		bot.WithErrorsHandler(func(err error) {
			c.log.Error().Str("error", Redact(err.Error(), c.token)).Msg("telegram library error")
		}),
		bot.WithDebugHandler(func(format string, args ...any) {
			c.log.Debug().Msg(Redact(fmt.Sprintf(format, args...), c.token))
		}),
		bot.WithDefaultHandler(func(context.Context, *bot.Bot, *models.Update) {}),
	}
	b, err := bot.New(cfg.Token, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, fmt.Errorf("botapi: %s", Redact(err.Error(), cfg.Token))
	}
	c.bot = b
	return c, nil
}

// Bot is the library's Bot, for methods Client does not wrap (pass their
// errors through Wrap, and give their contexts a deadline: the HTTP client
// has none). Register handlers on it and feed it the poller's updates with
// ProcessUpdate(ctx, DecodeUpdate(raw)); never call its Start, whose own
// getUpdates loop would compete with the poller's.
func (c *Client) Bot() *bot.Bot { return c.bot }

// BotID is the bot's user id, the token's numeric prefix.
func (c *Client) BotID() int64 { return c.bot.ID() }

func (c *Client) ctx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// Message is a text message to send, or the new content of one to edit.
type Message struct {
	ChatID    int64
	ThreadID  int    // forum topic, 0 for none
	Text      string // at most 4096 UTF-16 code units after entity parsing
	ParseMode string // "HTML", or "" for plain text
	Markup    *InlineKeyboard
	ReplyTo   int  // message to reply to, 0 for none; ignored by edits
	Silent    bool // no notification sound
}

// markup is k as the library's ReplyMarkup: a nil interface, not a typed
// nil, when there is none.
func markup(k *InlineKeyboard) models.ReplyMarkup {
	if k == nil {
		return nil
	}
	return k
}

// SendMessage sends a text message, link previews off, and returns its id.
func (c *Client) SendMessage(ctx context.Context, m Message) (int, error) {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	p := &bot.SendMessageParams{ChatID: m.ChatID, MessageThreadID: m.ThreadID, Text: m.Text,
		ParseMode: models.ParseMode(m.ParseMode), ReplyMarkup: markup(m.Markup), DisableNotification: m.Silent,
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()}}
	if m.ReplyTo != 0 {
		p.ReplyParameters = &models.ReplyParameters{MessageID: m.ReplyTo, AllowSendingWithoutReply: true}
	}
	sent, err := c.bot.SendMessage(ctx, p)
	if err != nil {
		return 0, c.Wrap("sendMessage", err)
	}
	return sent.ID, nil
}

// EditMessageText replaces the text (and the keyboard: m.Markup nil removes
// it, as Telegram does) of message id. An edit that changes nothing
// succeeds.
func (c *Client) EditMessageText(ctx context.Context, id int, m Message) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.EditMessageText(ctx, &bot.EditMessageTextParams{ChatID: m.ChatID, MessageID: id, Text: m.Text,
		ParseMode: models.ParseMode(m.ParseMode), ReplyMarkup: markup(m.Markup),
		LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: bot.True()}})
	return notModifiedIsSuccess(c.Wrap("editMessageText", err))
}

// EditMessageMarkup replaces the inline keyboard of message id; nil removes
// it. An edit that changes nothing succeeds.
func (c *Client) EditMessageMarkup(ctx context.Context, chatID int64, id int, k *InlineKeyboard) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	if k == nil {
		k = &InlineKeyboard{}
	}
	_, err := c.bot.EditMessageReplyMarkup(ctx, &bot.EditMessageReplyMarkupParams{ChatID: chatID, MessageID: id, ReplyMarkup: k})
	return notModifiedIsSuccess(c.Wrap("editMessageReplyMarkup", err))
}

func notModifiedIsSuccess(err error) error {
	if Is(err, NotModified) {
		return nil
	}
	return err
}

// DeleteMessage deletes message id.
func (c *Client) DeleteMessage(ctx context.Context, chatID int64, id int) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.DeleteMessage(ctx, &bot.DeleteMessageParams{ChatID: chatID, MessageID: id})
	return c.Wrap("deleteMessage", err)
}

// SendMessageDraft streams a partial message to a private chat (Bot API
// 9.3). draftID must be non-zero; the same id updates the same draft, and
// the message is finished with SendMessage.
func (c *Client) SendMessageDraft(ctx context.Context, chatID, draftID int64, text, parseMode string) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.SendMessageDraft(ctx, &bot.SendMessageDraftParams{ChatID: chatID,
		DraftID: strconv.FormatInt(draftID, 10), Text: text, ParseMode: models.ParseMode(parseMode)})
	return c.Wrap("sendMessageDraft", err)
}

// SendChatAction shows an action ("typing", "upload_document") for about
// five seconds.
func (c *Client) SendChatAction(ctx context.Context, chatID int64, action string) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.SendChatAction(ctx, &bot.SendChatActionParams{ChatID: chatID, Action: models.ChatAction(action)})
	return c.Wrap("sendChatAction", err)
}

// Document is a file to send.
type Document struct {
	ChatID    int64
	Name      string // the file name shown
	Data      io.Reader
	Caption   string // at most 1024 UTF-16 code units after entity parsing
	ParseMode string
	Markup    *InlineKeyboard
}

// SendDocument uploads a file and returns the message id.
func (c *Client) SendDocument(ctx context.Context, d Document) (int, error) {
	ctx, cancel := c.ctx(ctx, DefaultUploadTimeout)
	defer cancel()
	sent, err := c.bot.SendDocument(ctx, &bot.SendDocumentParams{ChatID: d.ChatID,
		Document: &models.InputFileUpload{Filename: d.Name, Data: d.Data},
		Caption:  d.Caption, ParseMode: models.ParseMode(d.ParseMode), ReplyMarkup: markup(d.Markup)})
	if err != nil {
		return 0, c.Wrap("sendDocument", err)
	}
	return sent.ID, nil
}

// AnswerCallbackQuery acknowledges a button press, showing text (as an
// alert when alert is set); it must come within seconds of the press.
func (c *Client) AnswerCallbackQuery(ctx context.Context, id, text string, alert bool) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: id, Text: text, ShowAlert: alert})
	return c.Wrap("answerCallbackQuery", err)
}

// SetMyCommands sets the command menu of private chats.
func (c *Client) SetMyCommands(ctx context.Context, cmds []models.BotCommand) error {
	ctx, cancel := c.ctx(ctx, c.callTimeout)
	defer cancel()
	_, err := c.bot.SetMyCommands(ctx, &bot.SetMyCommandsParams{Commands: cmds})
	return c.Wrap("setMyCommands", err)
}

// MaxDownload is the largest file the Bot API lets a bot download.
const MaxDownload = 20 << 20

// DownloadFile fetches a file a user sent, by file id, up to MaxDownload
// bytes.
func (c *Client) DownloadFile(ctx context.Context, fileID string) ([]byte, error) {
	ctx, cancel := c.ctx(ctx, DefaultUploadTimeout)
	defer cancel()
	f, err := c.bot.GetFile(ctx, &bot.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, c.Wrap("getFile", err)
	}
	if f.FileSize > MaxDownload {
		return nil, &Error{Method: "getFile", Kind: TooLong, Description: fmt.Sprintf("file is %d bytes, more than the %d a bot may download", f.FileSize, MaxDownload)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.bot.FileDownloadLink(f), nil)
	if err != nil {
		return nil, wrap("download", c.token, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, wrap("download", c.token, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &Error{Method: "download", Kind: kindOf(resp.StatusCode, ""), Code: resp.StatusCode, Description: http.StatusText(resp.StatusCode)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxDownload+1))
	if err != nil {
		return nil, wrap("download", c.token, err)
	}
	if len(data) > MaxDownload {
		return nil, &Error{Method: "download", Kind: TooLong, Description: "file is larger than a bot may download"}
	}
	return data, nil
}

// DecodeUpdate decodes an update as getUpdates returned it, for
// Bot().ProcessUpdate.
func DecodeUpdate(raw json.RawMessage) (*models.Update, error) {
	u := &models.Update{}
	if err := json.Unmarshal(raw, u); err != nil {
		return nil, fmt.Errorf("botapi: decode update: %w", err)
	}
	return u, nil
}
