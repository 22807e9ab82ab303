package config

import "path/filepath"

// Memory configures the memory extension: where the notes live and how
// many of their titles a session's system prompt lists.
type Memory struct {
	// Dir holds the notes, one Markdown file each; "" means memory/ in the
	// state directory. An absolute path, or one starting with ~/.
	Dir string `yaml:"dir"`
	// PromptNotes is how many note titles the memory prompt fragment of a
	// session's first run lists; 0 lists none.
	PromptNotes int `yaml:"prompt_notes"`
}

// MaxPromptNotes bounds memory.prompt_notes, so the fragment stays short.
const MaxPromptNotes = 100

func (m *Memory) setDefaults() { m.PromptNotes = 10 }

func (m *Memory) validate(v *validator) {
	if m.Dir != "" && m.Dir != "~" && !filepath.IsAbs(m.Dir) && !hasHomePrefix(m.Dir) {
		v.fail("dir", "must be an absolute path or start with ~/, got %q", m.Dir)
	}
	v.atLeast("prompt_notes", m.PromptNotes, 0)
	if m.PromptNotes > MaxPromptNotes {
		v.fail("prompt_notes", "must be at most %d, got %d", MaxPromptNotes, m.PromptNotes)
	}
}

// NotesDir returns the directory of the notes: Dir with a leading ~/
// expanded, or memory/ under stateRoot when Dir is empty.
func (m Memory) NotesDir(stateRoot string) (string, error) {
	if m.Dir == "" {
		return filepath.Join(stateRoot, "memory"), nil
	}
	return expandHome(m.Dir)
}

func hasHomePrefix(p string) bool { return len(p) >= 2 && p[:2] == "~/" }
