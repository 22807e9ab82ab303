package config

import (
	"path/filepath"
	"testing"
)

func TestMemory(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	c, err := Parse([]byte("memory:\n  dir: ~/notes\n  prompt_notes: 0\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory.PromptNotes != 0 {
		t.Errorf("prompt_notes = %d", c.Memory.PromptNotes)
	}
	if d, err := c.Memory.NotesDir("/state"); err != nil || d != "/home/u/notes" {
		t.Errorf("NotesDir = %q, %v", d, err)
	}
	if d, _ := Default().Memory.NotesDir("/state"); d != filepath.Join("/state", "memory") {
		t.Errorf("default NotesDir = %q", d)
	}
	for in, want := range map[string]string{
		"memory:\n  dir: notes\n":        `c.yaml:2: memory.dir: must be an absolute path or start with ~/, got "notes"`,
		"memory:\n  prompt_notes: -1\n":  `c.yaml:2: memory.prompt_notes: must not be negative, got -1`,
		"memory:\n  prompt_notes: 101\n": `c.yaml:2: memory.prompt_notes: must be at most 100, got 101`,
		"memory:\n  prompt_note: 3\n":    `c.yaml:2: unknown key "memory.prompt_note" (did you mean "prompt_notes"? known keys under memory: dir, prompt_notes)`,
	} {
		if _, err := Parse([]byte(in), "c.yaml"); err == nil || err.Error() != want {
			t.Errorf("%q: err = %v\nwant %s", in, err, want)
		}
	}
}
