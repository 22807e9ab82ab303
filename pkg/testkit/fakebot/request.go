package fakebot

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxUpload bounds a request body, as Telegram bounds uploads (50 MB).
const maxUpload = 50 << 20

// request is one Bot API call: its parameters as strings (JSON values other
// than strings keep their JSON text, so reply_markup reads the same however
// it was sent) and its file parts.
type request struct {
	method string
	time   time.Time
	ctx    context.Context
	params map[string]string
	files  map[string]Upload
}

// Upload is a file part of a multipart request.
type Upload struct {
	Name string // the part's file name
	Data []byte
}

func (r *request) uploads() map[string]Upload {
	if len(r.files) == 0 {
		return nil
	}
	return r.files
}

func parseRequest(r *http.Request) (*request, *apiError) {
	req := &request{params: map[string]string{}, files: map[string]Upload{}}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			req.params[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return req, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
		if err := r.ParseMultipartForm(maxUpload); err != nil {
			return nil, badRequest("can't parse multipart/form-data request")
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				req.params[k] = v[0]
			}
		}
		for k, fhs := range r.MultipartForm.File {
			if len(fhs) == 0 {
				continue
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, badRequest("can't read file part %q", k)
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return nil, badRequest("can't read file part %q", k)
			}
			req.files[k] = Upload{Name: fhs[0].Filename, Data: data}
		}
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("can't parse application/x-www-form-urlencoded request")
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				req.params[k] = v[0]
			}
		}
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, maxUpload))
		if err != nil {
			return nil, badRequest("can't read request body")
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return req, nil
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, badRequest("can't parse JSON object")
		}
		for k, raw := range fields {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				req.params[k] = s
				continue
			}
			if string(raw) == "null" {
				continue
			}
			req.params[k] = string(raw)
		}
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxUpload))
	}
	return req, nil
}

func (r *request) str(name string) string { return r.params[name] }

// int64Param reads an integer parameter; a missing one is 0.
func (r *request) int64Param(name string) (int64, *apiError) {
	v, ok := r.params[name]
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s specified", name)
	}
	return n, nil
}

func (r *request) intParam(name string) (int, *apiError) {
	n, e := r.int64Param(name)
	return int(n), e
}

func (r *request) boolParam(name string) bool {
	v := strings.ToLower(r.params[name])
	return v == "true" || v == "1"
}

// chatID reads chat_id. Usernames are accepted by Telegram for public chats
// only, which the fake has none of.
func (r *request) chatID() (int64, *apiError) {
	v, ok := r.params["chat_id"]
	if !ok || v == "" {
		return 0, badRequest("chat_id is empty")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n == 0 {
		return 0, badRequest("chat not found")
	}
	return n, nil
}
