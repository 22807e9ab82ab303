// Package memory is the "memory" extension (MCP server ce_memory) as the
// queue worker sees it: its tools' names and schemas, its system prompt
// fragment and the list of note titles appended to it. It links no search
// engine; the tools' handlers are in package memory/tools, which only
// ce-mcp imports (see ext.RegisterHandlers), and the notes themselves in
// package pkg/memory.
//
// The titles come from the digest the index keeps (memdir.Digest), and
// are fixed at a session's first run: they are part of claude's command
// line, and a command line that changed would restart a warm claude at
// every note saved.
package memory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/memory/memdir"
	"github.com/ce-platform/ce/pkg/statedir"
)

// Name is the extension's name in config.
const Name = "memory"

// Tool names.
const (
	ToolSave   = "memory_save"
	ToolSearch = "memory_search"
	ToolRead   = "memory_read"
	ToolList   = "memory_list"
	ToolDelete = "memory_delete"
)

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_memory.
const Prompt = `You have a memory shared with the user and with every other ce session, kept across sessions and restarts: short Markdown notes with a title and tags (tools of server ce_memory). Before work that may have been done, decided or explained before (a project's setup, a deployment, a recurring problem, the user's preferences), search it with memory_search and read what looks relevant with memory_read. When you learn something a later session would need, such as a decision and its reason, how something is set up, a fix that was hard to find, or what the user prefers, save it with memory_save: one self-contained note per topic, with a specific title and a few lower-case tags. Do not save secrets (the vault is for them), what is already in the repository, or passing state. When a note is wrong or outdated, save a corrected one and delete the old one with memory_delete.`

// promptBytes bounds the list of titles in the fragment.
const (
	promptBytes    = 3000
	promptTitleLen = 100
)

// PromptFile is the file, in the session's runs directory, that holds the
// titles listed at its first run.
const PromptFile = "memory-prompt"

// New returns the memory extension, without handlers.
func New() *ext.Extension {
	str := func(desc string) map[string]any { return ext.Prop("string", desc) }
	tags := map[string]any{
		"type":        "array",
		"items":       map[string]any{"type": "string"},
		"description": "Optional lower-case tags, e.g. [\"deploy\", \"project-x\"]; at most 20.",
	}
	return &ext.Extension{
		Name:        Name,
		Description: "Notes every session can save and search: Markdown files with a full-text index (ce-memory).",
		Prompt:      Prompt,
		PromptFunc:  Titles,
		Tools: []ext.Tool{
			{
				Name: ToolSave,
				Description: "Save a note to the shared memory, for later sessions and the user. Give a specific title and " +
					"self-contained Markdown content (a later reader has none of your context). Returns the note's ID. " +
					"Notes are at most 1 MiB of text; the note records which session saved it.",
				Schema: ext.Schema(map[string]any{
					"title":   str("A short, specific title, e.g. \"Staging deploy needs VPN\"."),
					"content": str("The note, in Markdown."),
					"tags":    tags,
				}, "title", "content"),
			},
			{
				Name: ToolSearch,
				Description: "Search the memory's notes by full text, best matches first (BM25), each with its ID, title, tags " +
					"and a snippet with the matched words in **bold**. Query: words (all must match; if no note has them " +
					"all, notes with some are shown), \"an exact phrase\", prefix* (deplo*), a OR b, a NOT b, title:word, tags:word.",
				Schema: ext.Schema(map[string]any{
					"query": str("What to look for, e.g. `deploy staging` or `\"release checklist\"`."),
					"limit": ext.Prop("number", "Optional: the most notes to return (default 10, at most 100)."),
					"tag":   str("Optional: only notes with this tag."),
				}, "query"),
				ReadOnly: true,
			},
			{
				Name:        ToolRead,
				Description: "Read a note of the memory, whole: its front matter (title, tags, times, source) and content.",
				Schema:      ext.Schema(map[string]any{"id": str("The note's ID, as memory_search or memory_list give it.")}, "id"),
				ReadOnly:    true,
			},
			{
				Name:        ToolList,
				Description: "List the memory's notes, most recently updated first: ID, title, tags and date; with a tag, only notes that have it.",
				Schema:      ext.Schema(map[string]any{"tag": str("Optional: only notes with this tag.")}),
				ReadOnly:    true,
			},
			{
				Name:        ToolDelete,
				Description: "Delete a note from the memory (its file is removed). Use it for notes that are wrong or outdated.",
				Schema:      ext.Schema(map[string]any{"id": str("The note's ID.")}, "id"),
				Destructive: true,
			},
		},
	}
}

// Titles returns the part of the prompt fragment that lists notes: the
// titles of the most recently updated ones (memory.prompt_notes, within a
// few kilobytes), read from the digest without opening the index. The
// list is written to the session's runs directory at its first run and
// read back at later runs, so the session's command line stays the same.
func Titles(_ context.Context, env ext.Env) string {
	if env.State == nil {
		return ""
	}
	frozen := ""
	if env.Session != "" {
		frozen = filepath.Join(env.State.RunsDir(env.Session), PromptFile)
		if b, err := os.ReadFile(frozen); err == nil {
			return string(b)
		}
	}
	out := list(env)
	if frozen != "" {
		if os.MkdirAll(filepath.Dir(frozen), 0o700) == nil {
			statedir.WriteFile(frozen, []byte(out), 0o600)
		}
	}
	return out
}

// list formats the titles of the digest.
func list(env ext.Env) string {
	limit := 10
	if env.Config != nil {
		limit = env.Config.Memory.PromptNotes
	}
	if limit <= 0 {
		return ""
	}
	l, err := memdir.Locate(env.State, env.Config)
	if err != nil {
		return ""
	}
	d, err := memdir.ReadDigest(l.Digest)
	if err != nil || d.Notes == 0 {
		return "The memory holds no notes yet."
	}
	var b strings.Builder
	shown := 0
	for _, e := range d.Recent {
		if shown == limit {
			break
		}
		line := "- " + e.ID + ": " + cut(e.Title, promptTitleLen)
		if len(e.Tags) > 0 {
			line += " [" + strings.Join(e.Tags, ", ") + "]"
		}
		if b.Len()+len(line)+1 > promptBytes {
			break
		}
		b.WriteString(line + "\n")
		shown++
	}
	head := fmt.Sprintf("The memory holds %d notes; the %d most recently updated (memory_read ID reads one):\n", d.Notes, shown)
	switch {
	case d.Notes == 1:
		head = "The memory holds 1 note (memory_read ID reads it):\n"
	case shown == d.Notes:
		head = fmt.Sprintf("The memory holds %d notes (memory_read ID reads one):\n", d.Notes)
	case shown == 1:
		head = fmt.Sprintf("The memory holds %d notes; the most recently updated (memory_read ID reads it):\n", d.Notes)
	}
	return head + strings.TrimRight(b.String(), "\n")
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
