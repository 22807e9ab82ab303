package outbox

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
)

// ClientSender sends jobs with a botapi.Client: Send with sendMessage (link
// previews off), Edit with editMessageText, EditMarkup with
// editMessageReplyMarkup, Draft with sendMessageDraft, Action with
// sendChatAction, Delete with deleteMessage, SendDocument with
// sendDocument. "message is not modified" counts as success.
func ClientSender(c *botapi.Client) Sender {
	return SenderFunc(func(ctx context.Context, j Job) (int, error) {
		switch j.Kind {
		case Send:
			return c.SendMessage(ctx, botapi.Message{ChatID: j.ChatID, Text: j.Text, ParseMode: j.ParseMode,
				Markup: j.Markup, ReplyTo: j.ReplyTo, Silent: j.Silent})
		case Edit:
			return j.MessageID, c.EditMessageText(ctx, j.MessageID, botapi.Message{ChatID: j.ChatID, Text: j.Text,
				ParseMode: j.ParseMode, Markup: j.Markup})
		case EditMarkup:
			return j.MessageID, c.EditMessageMarkup(ctx, j.ChatID, j.MessageID, j.Markup)
		case Draft:
			return 0, c.SendMessageDraft(ctx, j.ChatID, j.DraftID, j.Text, j.ParseMode)
		case Action:
			return 0, c.SendChatAction(ctx, j.ChatID, j.Action)
		case Delete:
			return j.MessageID, c.DeleteMessage(ctx, j.ChatID, j.MessageID)
		case SendDocument:
			return c.SendDocument(ctx, botapi.Document{ChatID: j.ChatID, Name: j.Document.Name,
				Data: bytes.NewReader(j.Document.Data), Caption: j.Text, ParseMode: j.ParseMode, Markup: j.Markup})
		}
		return 0, fmt.Errorf("unknown job kind %d", int(j.Kind))
	})
}
