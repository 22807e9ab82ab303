package fakebot

import (
	"net/http"
	"path"
	"strconv"
	"strings"
)

// File is a file the server knows: one a user sent (see Attachment) or one
// the bot uploaded.
type File struct {
	ID       string
	UniqueID string
	Path     string // file_path, downloadable at <URL>/file/bot<token>/<Path>
	Name     string
	MIME     string
	Size     int64
	Width    int // photos
	Height   int // photos
	Duration int // voice, seconds
}

// Attachment describes a file a test user sends.
type Attachment struct {
	Name     string // a document's file name
	MIME     string
	Data     []byte
	Size     int64 // reported size; len(Data) when 0, so a huge file needs no bytes
	Width    int   // photo size, 1280x960 by default
	Height   int
	Duration int // voice length in seconds
}

type file struct {
	File
	data  []byte
	thumb *file // a photo's smaller size
}

type wireDocument struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type wirePhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type wireVoice struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int    `json:"duration"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

func (f *file) document() *wireDocument {
	return &wireDocument{FileID: f.ID, FileUniqueID: f.UniqueID, FileName: f.Name, MimeType: f.MIME, FileSize: f.Size}
}

func (f *file) photoSizes() []wirePhotoSize {
	var out []wirePhotoSize
	if f.thumb != nil {
		t := f.thumb
		out = append(out, wirePhotoSize{FileID: t.ID, FileUniqueID: t.UniqueID, Width: t.Width, Height: t.Height, FileSize: t.Size})
	}
	return append(out, wirePhotoSize{FileID: f.ID, FileUniqueID: f.UniqueID, Width: f.Width, Height: f.Height, FileSize: f.Size})
}

func (f *file) voice() *wireVoice {
	return &wireVoice{FileID: f.ID, FileUniqueID: f.UniqueID, Duration: f.Duration, MimeType: f.MIME, FileSize: f.Size}
}

// addFileLocked stores a file of a kind ("document", "photo", "voice") and
// gives it an id and a download path.
func (s *Server) addFileLocked(kind string, a Attachment) *file {
	s.nextFile++
	n := strconv.Itoa(s.nextFile)
	f := &file{File: File{
		ID: "FILE" + n + "-" + kind, UniqueID: "U" + n, Name: a.Name, MIME: a.MIME,
		Size: a.Size, Width: a.Width, Height: a.Height, Duration: a.Duration,
	}, data: a.Data}
	if f.Size == 0 {
		f.Size = int64(len(a.Data))
	}
	switch kind {
	case "photo":
		f.Path = "photos/file_" + n + ".jpg"
		if f.Width == 0 {
			f.Width, f.Height = 1280, 960
		}
	case "voice":
		f.Path = "voice/file_" + n + ".oga"
		if f.MIME == "" {
			f.MIME = "audio/ogg"
		}
	default:
		ext := path.Ext(a.Name)
		if ext == "" {
			ext = ".bin"
		}
		f.Path = "documents/file_" + n + ext
	}
	s.files[f.ID] = f
	return f
}

func (s *Server) getFile(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[r.str("file_id")]
	if !ok {
		return nil, badRequest("invalid file_id")
	}
	if f.Size > s.maxDownload {
		return nil, badRequest("file is too big")
	}
	return struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileSize     int64  `json:"file_size,omitempty"`
		FilePath     string `json:"file_path"`
	}{f.ID, f.UniqueID, f.Size, f.Path}, nil
}

// serveFile answers a download, /file/bot<token>/<path>, and records it as
// a call of method "download" with parameter file_path.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, p, _ := strings.Cut(rest, "/")
	call := Call{Method: "download", Time: s.now(), Params: map[string]string{"file_path": p}}
	if token != s.Token {
		call.Status, call.Error = http.StatusUnauthorized, "Unauthorized"
		s.record(call)
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	s.mu.Lock()
	var data []byte
	found := false
	for _, f := range s.files {
		if f.Path == p && f.Size <= s.maxDownload {
			data, found = f.data, true
			break
		}
	}
	s.mu.Unlock()
	if !found {
		call.Status, call.Error = http.StatusNotFound, "Not Found"
		s.record(call)
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	call.Status = http.StatusOK
	s.record(call)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// FileData returns the bytes of a file by id: one the bot uploaded or one
// a test user sent.
func (s *Server) FileData(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), f.data...), true
}

func (s *Server) sendDocument(r *request) (any, *apiError) { return s.sendFile(r, "document") }

func (s *Server) sendPhoto(r *request) (any, *apiError) { return s.sendFile(r, "photo") }

// sendFile serves sendDocument and sendPhoto: the file comes as a file part
// named after the kind, a file_id, or a URL.
func (s *Server) sendFile(r *request, kind string) (any, *apiError) {
	chatID, e := r.chatID()
	if e != nil {
		return nil, e
	}
	visible, ents, markup, e := r.content("caption", MaxCaptionLen)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var f *file
	if up, ok := r.files[kind]; ok {
		f = s.addFileLocked(kind, Attachment{Name: up.Name, MIME: mimeByName(up.Name), Data: up.Data})
	} else {
		ref := r.str(kind)
		switch {
		case ref == "":
			return nil, badRequest("there is no %s in the request", kind)
		case s.files[ref] != nil:
			f = s.files[ref]
		case strings.HasPrefix(ref, "attach://"):
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
			f = s.addFileLocked(kind, Attachment{Name: path.Base(ref), MIME: mimeByName(ref)})
		default:
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
	}
	c := s.chatLocked(chatID)
	pub := f.File
	m := s.addMessageLocked(c, &Message{
		From: s.bot, FromBot: true, Kind: kind, Date: r.time,
		Text: visible, Raw: r.str("caption"), ParseMode: r.str("parse_mode"), Entities: ents,
		Markup: markup, File: &pub,
	})
	return s.wireLocked(c, m), nil
}

func mimeByName(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".md", ".log":
		return "text/plain"
	case ".json":
		return "application/json"
	case ".pdf":
		return "application/pdf"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".zip":
		return "application/zip"
	}
	return "application/octet-stream"
}
