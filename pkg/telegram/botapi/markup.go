package botapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// MaxCallbackData is Telegram's limit on a button's callback_data, in bytes.
const MaxCallbackData = 64

// InlineKeyboard is an inline keyboard markup, marshalled exactly as
// Telegram documents it with nothing added.
type InlineKeyboard struct {
	Rows [][]Button
}

// Button is an inline keyboard button: a callback button or a link.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// CallbackButton is a button that sends data back in a callback query.
func CallbackButton(text, data string) Button { return Button{Text: text, CallbackData: data} }

// URLButton is a button that opens a link.
func URLButton(text, link string) Button { return Button{Text: text, URL: link} }

// Keyboard builds a keyboard of rows and checks it: every button has a
// text and exactly one action, callback data of 1 to 64 bytes, links with
// an http, https or tg scheme.
func Keyboard(rows ...[]Button) (*InlineKeyboard, error) {
	k := &InlineKeyboard{Rows: rows}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k, nil
}

// Validate checks the keyboard as Keyboard does.
func (k *InlineKeyboard) Validate() error {
	for i, row := range k.Rows {
		for j, b := range row {
			if strings.TrimSpace(b.Text) == "" {
				return fmt.Errorf("button %d of row %d has no text", j+1, i+1)
			}
			if (b.CallbackData == "") == (b.URL == "") {
				return fmt.Errorf("button %q needs callback data or a link, not both", b.Text)
			}
			if n := len(b.CallbackData); n > MaxCallbackData {
				return fmt.Errorf("button %q: callback data is %d bytes, Telegram allows %d", b.Text, n, MaxCallbackData)
			}
			if b.URL != "" {
				u, err := url.Parse(b.URL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") {
					return fmt.Errorf("button %q: link %q is not an http, https or tg address", b.Text, b.URL)
				}
			}
		}
	}
	return nil
}

// MarshalJSON writes {"inline_keyboard":[[...]]}; no rows is an empty
// keyboard, which removes one.
func (k *InlineKeyboard) MarshalJSON() ([]byte, error) {
	rows := make([][]Button, 0, len(k.Rows))
	for _, row := range k.Rows {
		if row == nil {
			row = []Button{}
		}
		rows = append(rows, row)
	}
	return json.Marshal(struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}{rows})
}
