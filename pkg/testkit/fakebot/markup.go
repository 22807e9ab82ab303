package fakebot

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// Keyboard is a message's reply markup. Rows holds the buttons of an inline
// keyboard; other markups (reply keyboards, force_reply) keep only JSON.
type Keyboard struct {
	Rows [][]Button
	JSON json.RawMessage // the markup as the bot sent it, compacted
}

// Button is an inline keyboard button.
type Button struct {
	Text         string
	CallbackData string
	URL          string
}

// find returns the button whose callback data is data.
func (k *Keyboard) find(data string) (Button, bool) {
	if k == nil {
		return Button{}, false
	}
	for _, row := range k.Rows {
		for _, b := range row {
			if b.CallbackData == data {
				return b, true
			}
		}
	}
	return Button{}, false
}

func (k *Keyboard) clone() *Keyboard {
	if k == nil {
		return nil
	}
	c := &Keyboard{JSON: append(json.RawMessage(nil), k.JSON...)}
	for _, row := range k.Rows {
		c.Rows = append(c.Rows, append([]Button(nil), row...))
	}
	return c
}

// canonical is the markup's JSON with keys sorted, to compare markups.
func (k *Keyboard) canonical() string {
	if k == nil {
		return ""
	}
	var v any
	if json.Unmarshal(k.JSON, &v) != nil {
		return string(k.JSON)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// buttonActions are the fields of which an inline button needs exactly one.
var buttonActions = []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"}

// parseMarkup reads a reply_markup parameter, checking inline keyboards as
// Telegram does. An empty one is no markup; an inline keyboard with no
// buttons removes the keyboard and reads as nil.
func parseMarkup(raw string) (*Keyboard, *apiError) {
	if raw == "" || raw == "null" {
		return nil, nil
	}
	var m struct {
		InlineKeyboard *[][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(raw)); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	k := &Keyboard{JSON: compact.Bytes()}
	if m.InlineKeyboard == nil {
		return k, nil
	}
	for _, row := range *m.InlineKeyboard {
		var out []Button
		for _, fields := range row {
			var b Button
			if json.Unmarshal(fields["text"], &b.Text) != nil {
				return nil, badRequest("can't parse inline keyboard button: Field \"text\" must be of type String")
			}
			if b.Text == "" {
				return nil, badRequest("BUTTON_TEXT_EMPTY")
			}
			actions := 0
			for _, a := range buttonActions {
				if _, ok := fields[a]; ok {
					actions++
				}
			}
			if actions == 0 {
				return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			if raw, ok := fields["callback_data"]; ok {
				if json.Unmarshal(raw, &b.CallbackData) != nil {
					return nil, badRequest("can't parse inline keyboard button: Field \"callback_data\" must be of type String")
				}
				if n := len(b.CallbackData); n == 0 || n > 64 {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
			}
			if raw, ok := fields["url"]; ok {
				if json.Unmarshal(raw, &b.URL) != nil {
					return nil, badRequest("can't parse inline keyboard button: Field \"url\" must be of type String")
				}
				if u, err := url.Parse(b.URL); err != nil || u.Scheme == "" {
					return nil, badRequest("BUTTON_URL_INVALID")
				}
			}
			out = append(out, b)
		}
		if len(out) > 0 {
			k.Rows = append(k.Rows, out)
		}
	}
	if len(k.Rows) == 0 {
		return nil, nil
	}
	return k, nil
}
