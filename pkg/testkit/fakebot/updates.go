package fakebot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queued is an update waiting to be confirmed.
type queued struct {
	id   int64
	kind string // "message", "callback_query", ...
	raw  json.RawMessage
}

// poll is an open getUpdates request.
type poll struct {
	kicked chan struct{} // closed when a newer getUpdates ends this one
}

// optInUpdates are the update types Telegram sends only when
// allowed_updates names them.
var optInUpdates = map[string]bool{"chat_member": true, "message_reaction": true, "message_reaction_count": true}

// Injected tells what an injection created.
type Injected struct {
	UpdateID   int64
	MessageID  int    // the user's message, or the pressed message for Press
	CallbackID string // the callback query's id, for Press
	FileID     string // the attachment's file id (the largest size of a photo)
}

// Incoming is a message a test user sends.
type Incoming struct {
	From     User
	ChatID   int64 // 0: the private chat with From
	Text     string
	ReplyTo  int // the message replied to, which must exist
	Photo    *Attachment
	Document *Attachment
	Voice    *Attachment
}

// CallbackAnswer is the bot's answerCallbackQuery for a pressed button.
type CallbackAnswer struct {
	Text      string
	ShowAlert bool
	URL       string
}

type callback struct {
	answered bool
	answer   CallbackAnswer
}

// InjectText queues a text message from a user in their private chat with
// the bot. A leading /command gets a bot_command entity.
func (s *Server) InjectText(from User, text string) Injected {
	in, err := s.InjectMessage(Incoming{From: from, Text: text})
	if err != nil {
		panic("fakebot: " + err.Error())
	}
	return in
}

// InjectReply queues a user's text message replying to message replyTo of
// their private chat.
func (s *Server) InjectReply(from User, replyTo int, text string) (Injected, error) {
	return s.InjectMessage(Incoming{From: from, Text: text, ReplyTo: replyTo})
}

// InjectMessage queues a message update from a user: text, or a photo,
// document or voice note whose file the server then serves through getFile
// (a file above 20 MB makes getFile fail with "file is too big"). The
// message is stored in the chat too.
func (s *Server) InjectMessage(in Incoming) (Injected, error) {
	if in.From.ID == 0 {
		return Injected{}, fmt.Errorf("fakebot: incoming message has no sender id")
	}
	chatID := in.ChatID
	if chatID == 0 {
		chatID = in.From.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[in.From.ID]; !ok || in.From.FirstName != "" {
		if in.From.FirstName == "" {
			in.From.FirstName = "User " + strconv.FormatInt(in.From.ID, 10)
		}
		s.users[in.From.ID] = in.From
	}
	from := s.users[in.From.ID]
	c := s.chatLocked(chatID)
	if in.ReplyTo != 0 {
		if r := c.message(in.ReplyTo); r == nil || r.Deleted {
			return Injected{}, fmt.Errorf("fakebot: chat %d has no message %d to reply to", chatID, in.ReplyTo)
		}
	}
	m := &Message{From: from, Kind: "text", Date: s.now(), Text: in.Text, Raw: in.Text, ReplyTo: in.ReplyTo}
	if strings.HasPrefix(in.Text, "/") {
		cmd, _, _ := strings.Cut(in.Text, " ")
		cmd, _, _ = strings.Cut(cmd, "\n")
		m.Entities = []Entity{{Type: "bot_command", Offset: 0, Length: UTF16Len(cmd)}}
	}
	var f *file
	switch {
	case in.Photo != nil:
		m.Kind = "photo"
		f = s.addFileLocked("photo", *in.Photo)
		thumb := *in.Photo
		thumb.Width, thumb.Height = 90, 90*f.Height/max(f.Width, 1)
		f.thumb = s.addFileLocked("photo", thumb)
	case in.Document != nil:
		m.Kind = "document"
		f = s.addFileLocked("document", *in.Document)
	case in.Voice != nil:
		m.Kind = "voice"
		f = s.addFileLocked("voice", *in.Voice)
	}
	if f != nil {
		pub := f.File
		m.File = &pub
	}
	s.addMessageLocked(c, m)
	id := s.enqueueLocked("message", s.wireLocked(c, m))
	out := Injected{UpdateID: id, MessageID: m.ID}
	if f != nil {
		out.FileID = f.ID
	}
	return out, nil
}

// Press queues the callback query of a user pressing the button with
// callback data data on the bot's message messageID in chatID.
func (s *Server) Press(from User, chatID int64, messageID int, data string) (Injected, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return Injected{}, fmt.Errorf("fakebot: no chat %d", chatID)
	}
	m := c.message(messageID)
	if m == nil || m.Deleted {
		return Injected{}, fmt.Errorf("fakebot: chat %d has no message %d", chatID, messageID)
	}
	if _, ok := m.Markup.find(data); !ok {
		return Injected{}, fmt.Errorf("fakebot: message %d in chat %d has no button with callback data %q", messageID, chatID, data)
	}
	if from.FirstName == "" {
		from = s.userLocked(from.ID)
	}
	s.nextQuery++
	qid := strconv.FormatInt(s.bot.ID, 10) + "-q" + strconv.Itoa(s.nextQuery)
	s.callbacks[qid] = &callback{}
	q := struct {
		ID           string       `json:"id"`
		From         User         `json:"from"`
		Message      *wireMessage `json:"message"`
		ChatInstance string       `json:"chat_instance"`
		Data         string       `json:"data"`
	}{qid, from, s.wireLocked(c, m), "ci" + strconv.FormatInt(chatID, 10), data}
	id := s.enqueueLocked("callback_query", q)
	return Injected{UpdateID: id, MessageID: messageID, CallbackID: qid}, nil
}

// InjectUpdate queues an update of any kind ("edited_message",
// "my_chat_member", ...) with payload as its content.
func (s *Server) InjectUpdate(kind string, payload any) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueueLocked(kind, payload)
}

func (s *Server) enqueueLocked(kind string, payload any) int64 {
	body, err := json.Marshal(payload)
	if err != nil {
		panic("fakebot: cannot encode update: " + err.Error())
	}
	s.nextUpdate++
	id := s.nextUpdate
	raw := fmt.Appendf(nil, `{"update_id":%d,%q:%s}`, id, kind, body)
	s.queue = append(s.queue, queued{id: id, kind: kind, raw: raw})
	s.notify()
	return id
}

// CallbackAnswer returns the bot's answer to callback query id, once given.
func (s *Server) CallbackAnswer(id string) (CallbackAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[id]
	if !ok || !cb.answered {
		return CallbackAnswer{}, false
	}
	return cb.answer, true
}

// PendingUpdates returns the ids of the updates not yet confirmed.
func (s *Server) PendingUpdates() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, q := range s.queue {
		ids = append(ids, q.id)
	}
	return ids
}

// Polls is the number of getUpdates requests open right now.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polling
}

func (s *Server) answerCallbackQuery(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.callbacks[r.str("callback_query_id")]
	if !ok || cb.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.answered = true
	cb.answer = CallbackAnswer{Text: r.str("text"), ShowAlert: r.boolParam("show_alert"), URL: r.str("url")}
	return true, nil
}

// getUpdates confirms the updates before offset, then answers with the
// pending ones, holding the request open up to timeout seconds while there
// are none.
func (s *Server) getUpdates(r *request) (any, *apiError) {
	offset, e := r.int64Param("offset")
	if e != nil {
		return nil, e
	}
	limit, e := r.intParam("limit")
	if e != nil {
		return nil, e
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, e := r.intParam("timeout")
	if e != nil {
		return nil, e
	}
	var allowed map[string]bool
	if raw := r.str("allowed_updates"); raw != "" {
		var kinds []string
		if json.Unmarshal([]byte(raw), &kinds) != nil {
			return nil, badRequest("can't parse allowed updates")
		}
		allowed = map[string]bool{}
		for _, k := range kinds {
			allowed[k] = true
		}
	}

	s.mu.Lock()
	if s.poll != nil {
		if s.rejectNewer {
			s.mu.Unlock()
			return nil, &apiError{code: 409, desc: conflictDescription}
		}
		close(s.poll.kicked)
	}
	me := &poll{kicked: make(chan struct{})}
	s.poll = me
	s.polling++
	if allowed != nil {
		s.allowed = allowed
	}
	s.confirmLocked(offset)
	s.notify()
	defer func() {
		if s.poll == me {
			s.poll = nil
		}
		s.polling--
		s.notify()
		s.mu.Unlock()
	}()

	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()
	for {
		select {
		case <-me.kicked:
			return nil, &apiError{code: 409, desc: conflictDescription}
		default:
		}
		batch := s.batchLocked(limit)
		if len(batch) > 0 || timeout <= 0 {
			return batch, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			timeout = 0
		case <-r.ctx.Done():
			timeout = 0
		case <-s.closed:
			timeout = 0
		case <-me.kicked:
		}
		s.mu.Lock()
	}
}

// confirmLocked forgets the updates an offset confirms: those below a
// positive offset, all but the last -offset ones for a negative offset.
func (s *Server) confirmLocked(offset int64) {
	switch {
	case offset > 0:
		i := 0
		for i < len(s.queue) && s.queue[i].id < offset {
			i++
		}
		s.queue = s.queue[i:]
	case offset < 0:
		if keep := int(-offset); len(s.queue) > keep {
			s.queue = s.queue[len(s.queue)-keep:]
		}
	}
}

// batchLocked returns up to limit pending updates of the allowed kinds,
// dropping those of other kinds as Telegram never sends them.
func (s *Server) batchLocked(limit int) []json.RawMessage {
	batch := []json.RawMessage{}
	kept := s.queue[:0]
	for _, q := range s.queue {
		if !s.allowedLocked(q.kind) {
			continue
		}
		kept = append(kept, q)
		if len(batch) < limit {
			batch = append(batch, q.raw)
		}
	}
	s.queue = kept
	return batch
}

func (s *Server) allowedLocked(kind string) bool {
	if len(s.allowed) == 0 {
		return !optInUpdates[kind]
	}
	return s.allowed[kind]
}

func (s *Server) methods() map[string]handler {
	return map[string]handler{
		"getme":                  s.getMe,
		"getupdates":             s.getUpdates,
		"sendmessage":            s.sendMessage,
		"editmessagetext":        s.editMessageText,
		"editmessagereplymarkup": s.editMessageReplyMarkup,
		"deletemessage":          s.deleteMessage,
		"sendmessagedraft":       s.sendMessageDraft,
		"senddocument":           s.sendDocument,
		"sendphoto":              s.sendPhoto,
		"sendchataction":         s.sendChatAction,
		"answercallbackquery":    s.answerCallbackQuery,
		"setmycommands":          s.setMyCommands,
		"getmycommands":          s.getMyCommands,
		"deletemycommands":       s.deleteMyCommands,
		"getfile":                s.getFile,
	}
}

type handler func(*request) (any, *apiError)
