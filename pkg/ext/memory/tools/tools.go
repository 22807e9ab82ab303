// Package tools gives the memory extension's tools (package ext/memory)
// their handlers, which open the notes and their SQLite index (package
// memory). Only ce-mcp imports it, through ext/builtin/handlers, so the
// queue worker and the other small commands do not link SQLite.
package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ce-platform/ce/pkg/ext"
	extmemory "github.com/ce-platform/ce/pkg/ext/memory"
	"github.com/ce-platform/ce/pkg/memory"
)

func init() { ext.RegisterHandlers(extmemory.Name, Fill) }

// Limits of what a tool returns to the model.
const (
	maxReadBytes = 100 << 10
	maxListed    = 200
)

// Fill sets the handlers of the memory extension's tools.
func Fill(e *ext.Extension) {
	handlers := map[string]func(context.Context, ext.Call) ext.Result{
		extmemory.ToolSave:   withStore(save),
		extmemory.ToolSearch: withStore(search),
		extmemory.ToolRead:   withStore(read),
		extmemory.ToolList:   withStore(list),
		extmemory.ToolDelete: withStore(remove),
	}
	for i := range e.Tools {
		if h, ok := handlers[e.Tools[i].Name]; ok {
			e.Tools[i].Handler = h
		}
	}
}

// withStore opens the memory for one call: the index may have been deleted
// or rebuilt by another process since the last.
func withStore(fn func(ctx context.Context, s *memory.Store, c ext.Call) ext.Result) func(context.Context, ext.Call) ext.Result {
	return func(ctx context.Context, c ext.Call) ext.Result {
		if c.Env.State == nil {
			return ext.Errorf("the memory tools have no state directory (CE_STATE_DIR is not set)")
		}
		s, err := memory.Open(c.Env.State, c.Env.Config)
		if err != nil {
			return ext.Errorf("cannot open the memory: %v", err)
		}
		defer s.Close()
		return fn(ctx, s, c)
	}
}

func save(ctx context.Context, s *memory.Store, c ext.Call) ext.Result {
	title, err := c.RequireString("title")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	content, err := c.RequireString("content")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	tags, err := ext.StringList(c.Args["tags"], "tags")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	source := ""
	if c.Env.Session != "" {
		source = "session:" + c.Env.Session
	}
	n, err := s.Add(ctx, memory.Note{Title: title, Body: content, Tags: tags, Source: source})
	if err != nil {
		if n.ID != "" {
			return ext.Result{Text: fmt.Sprintf("Saved as note %s (it will be searchable after the index catches up: %v).", n.ID, err)}
		}
		return ext.Errorf("the note was not saved: %v", err)
	}
	return ext.Result{Text: fmt.Sprintf("Saved as note %s.", n.ID)}
}

func search(ctx context.Context, s *memory.Store, c ext.Call) ext.Result {
	q, err := c.RequireString("query")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	limit := 0
	switch v := c.Args["limit"].(type) {
	case nil:
	case float64:
		limit = int(v)
	default:
		return ext.Errorf("argument \"limit\" must be a number")
	}
	if limit < 0 {
		return ext.Errorf("argument \"limit\" must be positive")
	}
	hits, err := s.Search(ctx, q, memory.SearchOptions{Limit: limit, Tag: c.String("tag")})
	var qe *memory.QueryError
	switch {
	case errors.As(err, &qe):
		return ext.Errorf("%v. Queries are %s.", err, memory.QuerySyntax)
	case err != nil:
		return ext.Errorf("search failed: %v", err)
	case len(hits) == 0:
		return ext.Result{Text: fmt.Sprintf("No note matches %q.", q)}
	}
	var b strings.Builder
	switch {
	case hits[0].Partial:
		fmt.Fprintf(&b, "No note has all the words of %q; %s with some of them, best first:\n", q, count(len(hits)))
	case len(hits) == 1:
		fmt.Fprintf(&b, "1 note matches %q:\n", q)
	default:
		fmt.Fprintf(&b, "%d notes match %q, best first:\n", len(hits), q)
	}
	for _, h := range hits {
		fmt.Fprintf(&b, "\n%s\n", heading(h.Note))
		if h.Snippet != "" {
			fmt.Fprintf(&b, "  %s\n", h.Snippet)
		}
	}
	return ext.Result{Text: strings.TrimRight(b.String(), "\n")}
}

// heading is one line about a note: ID, title, tags, date, source.
func heading(n memory.Note) string {
	s := fmt.Sprintf("- %s: %s", n.ID, n.Title)
	if len(n.Tags) > 0 {
		s += " [" + strings.Join(n.Tags, ", ") + "]"
	}
	s += " (updated " + n.Updated.Format("2006-01-02")
	if n.Source != "" {
		s += ", by " + n.Source
	}
	return s + ")"
}

func read(_ context.Context, s *memory.Store, c ext.Call) ext.Result {
	id, err := c.RequireString("id")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	data, _, err := s.Raw(id)
	if errors.Is(err, memory.ErrNotFound) {
		return ext.Errorf("no note %q: memory_search or memory_list give the IDs", id)
	}
	if err != nil {
		return ext.Errorf("%v", err)
	}
	if !utf8.Valid(data) {
		return ext.Errorf("note %s is not a text file", id)
	}
	if len(data) > maxReadBytes {
		cut := maxReadBytes
		for cut > 0 && !utf8.RuneStart(data[cut]) {
			cut--
		}
		return ext.Result{Text: string(data[:cut]) + fmt.Sprintf("\n\n[note %s is %d KiB; only the first %d KiB are shown]", id, len(data)>>10, maxReadBytes>>10)}
	}
	return ext.Result{Text: string(data)}
}

func list(ctx context.Context, s *memory.Store, c ext.Call) ext.Result {
	tag := c.String("tag")
	notes, err := s.List(ctx, tag)
	if err != nil {
		return ext.Errorf("cannot list the notes: %v", err)
	}
	if len(notes) == 0 {
		if tag != "" {
			return ext.Result{Text: fmt.Sprintf("No note has tag %q.", tag)}
		}
		return ext.Result{Text: "The memory holds no notes yet."}
	}
	var b strings.Builder
	if len(notes) == 1 {
		b.WriteString("1 note:\n")
	} else {
		fmt.Fprintf(&b, "%d notes, most recently updated first:\n", len(notes))
	}
	for i, n := range notes {
		if i == maxListed {
			fmt.Fprintf(&b, "... and %d more: use memory_search, or a tag", len(notes)-maxListed)
			break
		}
		b.WriteString(heading(n) + "\n")
	}
	return ext.Result{Text: strings.TrimRight(b.String(), "\n")}
}

func remove(ctx context.Context, s *memory.Store, c ext.Call) ext.Result {
	id, err := c.RequireString("id")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	err = s.Remove(ctx, id)
	switch {
	case errors.Is(err, memory.ErrNotFound):
		return ext.Errorf("no note %q: memory_search or memory_list give the IDs", id)
	case err != nil:
		return ext.Errorf("the note was not deleted: %v", err)
	}
	return ext.Result{Text: fmt.Sprintf("Deleted note %s.", id)}
}

func count(n int) string {
	if n == 1 {
		return "1 note"
	}
	return fmt.Sprintf("%d notes", n)
}
