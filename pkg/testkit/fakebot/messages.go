package fakebot

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Telegram's text limits, in UTF-16 code units after entity parsing.
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
)

// User is a Telegram user as the Bot API shows it.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// Message is a message in a chat, the bot's or a user's. For a photo,
// document or voice message Text is the caption.
type Message struct {
	ChatID    int64
	ID        int
	From      User
	FromBot   bool
	Kind      string // "text", "photo", "document" or "voice"
	Date      time.Time
	EditDate  time.Time // when it was last edited, zero if never
	Text      string    // visible text, after entity parsing and trimming
	Raw       string    // text as sent, markup included
	ParseMode string
	Entities  []Entity
	Markup    *Keyboard // nil when the message has no reply markup
	ReplyTo   int       // the message this one replies to, or 0
	File      *File     // the attachment of a photo, document or voice message
	Edits     []Revision
	Deleted   bool
}

// Revision is an earlier version of an edited message.
type Revision struct {
	Text   string
	Raw    string
	Markup *Keyboard
	Time   time.Time // when this version was sent or edited in
}

// revise records m's current version in its history before an edit at t.
func (m *Message) revise(t time.Time) {
	since := m.Date
	if !m.EditDate.IsZero() {
		since = m.EditDate
	}
	m.Edits = append(m.Edits, Revision{Text: m.Text, Raw: m.Raw, Markup: m.Markup, Time: since})
	m.EditDate = t
}

// Draft is the latest text sendMessageDraft streamed to a chat under one
// draft id.
type Draft struct {
	ChatID    int64
	DraftID   int64
	Text      string // visible text
	Raw       string
	ParseMode string
	Updates   int // how many times the draft was sent
	Time      time.Time
}

type chat struct {
	id     int64
	kind   string
	nextID int
	msgs   []*Message
	drafts map[int64]*Draft
}

func (m *Message) clone() Message {
	c := *m
	c.Entities = append([]Entity(nil), m.Entities...)
	c.Markup = m.Markup.clone()
	c.Edits = append([]Revision(nil), m.Edits...)
	for i := range c.Edits {
		c.Edits[i].Markup = c.Edits[i].Markup.clone()
	}
	if m.File != nil {
		f := *m.File
		c.File = &f
	}
	return c
}

// chatLocked returns the chat, creating it: positive ids are private chats
// with the user of that id, ids below -10^12 supergroups, others groups.
func (s *Server) chatLocked(id int64) *chat {
	c, ok := s.chats[id]
	if ok {
		return c
	}
	c = &chat{id: id, kind: "private", drafts: map[int64]*Draft{}}
	switch {
	case id < -1_000_000_000_000:
		c.kind = "supergroup"
	case id < 0:
		c.kind = "group"
	}
	s.chats[id] = c
	return c
}

func (c *chat) message(id int) *Message {
	for _, m := range c.msgs {
		if m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Server) addMessageLocked(c *chat, m *Message) *Message {
	c.nextID++
	m.ChatID, m.ID = c.id, c.nextID
	c.msgs = append(c.msgs, m)
	return m
}

// Messages returns the chat's messages, the bot's and the users', deleted
// ones included (Deleted set), oldest first.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(c.msgs))
	for _, m := range c.msgs {
		out = append(out, m.clone())
	}
	return out
}

// BotMessages returns the bot's messages in the chat that are not deleted,
// oldest first.
func (s *Server) BotMessages(chatID int64) []Message {
	var out []Message
	for _, m := range s.Messages(chatID) {
		if m.FromBot && !m.Deleted {
			out = append(out, m)
		}
	}
	return out
}

// Message returns one message of a chat.
func (s *Server) Message(chatID int64, id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return Message{}, false
	}
	m := c.message(id)
	if m == nil {
		return Message{}, false
	}
	return m.clone(), true
}

// Draft returns the latest draft sent to a chat under draftID.
func (s *Server) Draft(chatID, draftID int64) (Draft, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return Draft{}, false
	}
	d, ok := c.drafts[draftID]
	if !ok {
		return Draft{}, false
	}
	return *d, true
}

// parseText checks a text or caption as Telegram does and returns what a
// user would see. Markdown parse modes are accepted but not parsed.
func parseText(text, mode string, limit int, caption bool) (string, []Entity, *apiError) {
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	visible, ents := text, []Entity(nil)
	switch strings.ToLower(mode) {
	case "":
	case "html":
		var err error
		visible, ents, err = ParseHTML(text)
		if err != nil {
			return "", nil, badRequest("can't parse entities: %s", err.Error())
		}
	case "markdown", "markdownv2":
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	visible, ents = trimEntities(visible, ents)
	switch {
	case visible == "" && !caption:
		return "", nil, badRequest("message text is empty")
	case UTF16Len(visible) > limit && caption:
		return "", nil, badRequest("message caption is too long")
	case UTF16Len(visible) > limit:
		return "", nil, badRequest("message is too long")
	}
	return visible, ents, nil
}

// content parses a request's text (field "text" or "caption", at most
// limit characters once parsed) with its parse_mode, then its reply_markup.
func (r *request) content(field string, limit int) (string, []Entity, *Keyboard, *apiError) {
	visible, ents, e := parseText(r.str(field), r.str("parse_mode"), limit, field == "caption")
	if e != nil {
		return "", nil, nil, e
	}
	markup, e := parseMarkup(r.str("reply_markup"))
	if e != nil {
		return "", nil, nil, e
	}
	return visible, ents, markup, nil
}

func (s *Server) getMe(*request) (any, *apiError) {
	type me struct {
		User
		CanJoinGroups           bool `json:"can_join_groups"`
		CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool `json:"supports_inline_queries"`
	}
	return me{User: s.bot, CanJoinGroups: true}, nil
}

func (s *Server) sendMessage(r *request) (any, *apiError) {
	chatID, e := r.chatID()
	if e != nil {
		return nil, e
	}
	visible, ents, markup, e := r.content("text", MaxTextLen)
	if e != nil {
		return nil, e
	}
	replyTo, e := replyToParam(r)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	if replyTo != 0 && c.message(replyTo) == nil {
		return nil, badRequest("message to be replied not found")
	}
	m := s.addMessageLocked(c, &Message{
		From: s.bot, FromBot: true, Kind: "text", Date: r.time,
		Text: visible, Raw: r.str("text"), ParseMode: r.str("parse_mode"), Entities: ents,
		Markup: markup, ReplyTo: replyTo,
	})
	return s.wireLocked(c, m), nil
}

// replyToParam reads reply_parameters (or the older reply_to_message_id).
func replyToParam(r *request) (int, *apiError) {
	if raw := r.str("reply_parameters"); raw != "" {
		var p struct {
			MessageID int `json:"message_id"`
		}
		if json.Unmarshal([]byte(raw), &p) != nil {
			return 0, badRequest("can't parse reply parameters JSON object")
		}
		return p.MessageID, nil
	}
	return r.intParam("reply_to_message_id")
}

// editTarget finds the bot message an edit method is about.
func (s *Server) editTargetLocked(r *request) (*chat, *Message, *apiError) {
	if r.str("inline_message_id") != "" {
		return nil, nil, badRequest("message to edit not found")
	}
	chatID, e := r.chatID()
	if e != nil {
		return nil, nil, e
	}
	id, e := r.intParam("message_id")
	if e != nil {
		return nil, nil, e
	}
	if id == 0 {
		return nil, nil, badRequest("message identifier is not specified")
	}
	c, ok := s.chats[chatID]
	if !ok {
		return nil, nil, badRequest("chat not found")
	}
	m := c.message(id)
	if m == nil || m.Deleted {
		return nil, nil, badRequest("message to edit not found")
	}
	if !m.FromBot {
		return nil, nil, badRequest("message can't be edited")
	}
	return c, m, nil
}

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

func (s *Server) editMessageText(r *request) (any, *apiError) {
	visible, ents, markup, e := r.content("text", MaxTextLen)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, e := s.editTargetLocked(r)
	if e != nil {
		return nil, e
	}
	if m.Kind != "text" {
		return nil, badRequest("there is no text in the message to edit")
	}
	if m.Text == visible && slices.Equal(m.Entities, ents) && m.Markup.canonical() == markup.canonical() {
		return nil, badRequest(notModified)
	}
	m.revise(r.time)
	m.Text, m.Raw, m.ParseMode, m.Entities, m.Markup = visible, r.str("text"), r.str("parse_mode"), ents, markup
	return s.wireLocked(c, m), nil
}

func (s *Server) editMessageReplyMarkup(r *request) (any, *apiError) {
	markup, e := parseMarkup(r.str("reply_markup"))
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, e := s.editTargetLocked(r)
	if e != nil {
		return nil, e
	}
	if m.Markup.canonical() == markup.canonical() {
		return nil, badRequest(notModified)
	}
	m.revise(r.time)
	m.Markup = markup
	return s.wireLocked(c, m), nil
}

func (s *Server) deleteMessage(r *request) (any, *apiError) {
	chatID, e := r.chatID()
	if e != nil {
		return nil, e
	}
	id, e := r.intParam("message_id")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil, badRequest("chat not found")
	}
	m := c.message(id)
	if m == nil || m.Deleted {
		return nil, badRequest("message to delete not found")
	}
	m.Deleted = true
	return true, nil
}

// sendMessageDraft keeps the latest text per chat and draft id. The error
// texts for a group chat and a zero draft id are the fake's own.
func (s *Server) sendMessageDraft(r *request) (any, *apiError) {
	chatID, e := r.chatID()
	if e != nil {
		return nil, e
	}
	if chatID < 0 {
		return nil, badRequest("sendMessageDraft can be used only in private chats")
	}
	draftID, e := r.int64Param("draft_id")
	if e != nil {
		return nil, e
	}
	if draftID == 0 {
		return nil, badRequest("draft_id must be non-zero")
	}
	visible, _, e := parseText(r.str("text"), r.str("parse_mode"), MaxTextLen, false)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	d, ok := c.drafts[draftID]
	if !ok {
		d = &Draft{ChatID: chatID, DraftID: draftID}
		c.drafts[draftID] = d
	}
	d.Text, d.Raw, d.ParseMode, d.Time = visible, r.str("text"), r.str("parse_mode"), r.time
	d.Updates++
	return true, nil
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (s *Server) sendChatAction(r *request) (any, *apiError) {
	if _, e := r.chatID(); e != nil {
		return nil, e
	}
	if !chatActions[r.str("action")] {
		return nil, badRequest("wrong parameter action in request")
	}
	return true, nil
}

// BotCommand is an entry of the bot's command menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

func commandsKey(r *request) string {
	scope := "default"
	if raw := r.str("scope"); raw != "" {
		var sc struct {
			Type   string `json:"type"`
			ChatID any    `json:"chat_id"`
		}
		if json.Unmarshal([]byte(raw), &sc) == nil && sc.Type != "" {
			scope = sc.Type
		}
	}
	return scope + "/" + r.str("language_code")
}

func (s *Server) setMyCommands(r *request) (any, *apiError) {
	var cmds []BotCommand
	if json.Unmarshal([]byte(r.str("commands")), &cmds) != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	for _, c := range cmds {
		if !validCommand(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf8.RuneCountInString(c.Description); n == 0 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[commandsKey(r)] = cmds
	return true, nil
}

func validCommand(c string) bool {
	if len(c) == 0 || len(c) > 32 {
		return false
	}
	for _, b := range []byte(c) {
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_') {
			return false
		}
	}
	return true
}

func (s *Server) getMyCommands(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[commandsKey(r)]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return cmds, nil
}

func (s *Server) deleteMyCommands(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, commandsKey(r))
	return true, nil
}

// Commands returns the command menu set for a scope type ("default",
// "all_private_chats", ...) and language code ("" for all languages).
func (s *Server) Commands(scope, language string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BotCommand(nil), s.commands[scope+"/"+language]...)
}

type wireChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type wireMessage struct {
	MessageID       int             `json:"message_id"`
	From            *User           `json:"from,omitempty"`
	Date            int64           `json:"date"`
	Chat            wireChat        `json:"chat"`
	ReplyToMessage  *wireMessage    `json:"reply_to_message,omitempty"`
	EditDate        int64           `json:"edit_date,omitempty"`
	Text            string          `json:"text,omitempty"`
	Entities        []Entity        `json:"entities,omitempty"`
	Document        *wireDocument   `json:"document,omitempty"`
	Photo           []wirePhotoSize `json:"photo,omitempty"`
	Voice           *wireVoice      `json:"voice,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	CaptionEntities []Entity        `json:"caption_entities,omitempty"`
	ReplyMarkup     json.RawMessage `json:"reply_markup,omitempty"`
}

func (s *Server) wireChatLocked(c *chat) wireChat {
	w := wireChat{ID: c.id, Type: c.kind}
	if c.kind == "private" {
		u := s.userLocked(c.id)
		w.FirstName, w.LastName, w.Username = u.FirstName, u.LastName, u.Username
	} else {
		w.Title = "Group " + strconv.FormatInt(-c.id, 10)
	}
	return w
}

// userLocked returns the user of a private chat, made up when no update
// from them was injected.
func (s *Server) userLocked(id int64) User {
	if u, ok := s.users[id]; ok {
		return u
	}
	return User{ID: id, FirstName: "User " + strconv.FormatInt(id, 10)}
}

func (s *Server) wireLocked(c *chat, m *Message) *wireMessage {
	from := m.From
	w := &wireMessage{MessageID: m.ID, From: &from, Chat: s.wireChatLocked(c)}
	w.Date = m.Date.Unix()
	if !m.EditDate.IsZero() {
		w.EditDate = m.EditDate.Unix()
	}
	if m.Kind == "text" {
		w.Text, w.Entities = m.Text, m.Entities
	} else {
		w.Caption, w.CaptionEntities = m.Text, m.Entities
	}
	if m.File != nil {
		f := s.files[m.File.ID]
		switch m.Kind {
		case "document":
			w.Document = f.document()
		case "photo":
			w.Photo = f.photoSizes()
		case "voice":
			w.Voice = f.voice()
		}
	}
	if m.Markup != nil {
		w.ReplyMarkup = m.Markup.JSON
	}
	if m.ReplyTo != 0 {
		if r := c.message(m.ReplyTo); r != nil {
			inner := *r
			inner.ReplyTo = 0
			w.ReplyToMessage = s.wireLocked(c, &inner)
		}
	}
	return w
}
