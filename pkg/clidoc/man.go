package clidoc

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
)

// ManOptions holds what a man page needs that the kong model does not say.
type ManOptions struct {
	// Section is the manual section; 0 means 1.
	Section int
	// Date is printed in the footer. Pass a fixed date (a release date,
	// or one kept in the Makefile), never the current time: the page must
	// come out byte-identical on every run.
	Date string
	// Source is the footer's left part, e.g. "ce" or "ce 0.3.0".
	Source string
	// Manual is the header's centre part, e.g. "ce manual".
	Manual string
	// SeeAlso lists references such as "ce(7)" or "ce-queue(1)", in order.
	SeeAlso []string
	// Extra sections (EXIT STATUS, FILES, EXAMPLES...) come after
	// ENVIRONMENT and before SEE ALSO, in the order given.
	Extra []Section
}

// Section is a man page section whose text the caller supplies.
type Section struct {
	// Title is the heading; it is printed in upper case.
	Title string
	// Body is plain text: blank lines separate paragraphs, a paragraph
	// whose lines are all indented is kept line for line (for examples),
	// and lines starting with "- " or "* " are bullet items.
	Body string
	// Items follow Body as a tagged list, e.g. exit statuses.
	Items []Item
}

// Item is one entry of a tagged list: Term in bold, then Text (plain text,
// as in Section.Body).
type Item struct {
	Term string
	Text string
}

// Man writes the man page of the program modelled by k. Hidden commands,
// hidden flags and hidden arguments are left out. The page has NAME,
// SYNOPSIS, DESCRIPTION, COMMANDS (one subsection per visible command,
// named by its full path, with its arguments and flags), GLOBAL FLAGS (or
// ARGUMENTS and FLAGS for a program without commands), ENVIRONMENT (flags
// with env tags), then opts.Extra and SEE ALSO. The first line of the
// description (kong.Description) is the NAME line, so it must be set.
func Man(w io.Writer, k *kong.Kong, opts ManOptions) error {
	if k == nil || k.Model == nil {
		return errors.New("clidoc: no kong model")
	}
	app := k.Model
	if app.Name == "" {
		return errors.New("clidoc: the kong model has no name (kong.Name)")
	}
	summary := oneLine(app.Help)
	if summary == "" {
		return fmt.Errorf("clidoc: %s has no description (kong.Description)", app.Name)
	}
	section := opts.Section
	if section == 0 {
		section = 1
	}

	r := &roffWriter{}
	m := &manPage{k: k, r: r}
	r.comment("Generated from the kong model of " + app.Name + " by pkg/clidoc; do not edit.")
	// The date keeps its hyphens so that mandoc can parse it.
	r.raw(".TH " + strings.Join([]string{
		`"` + esc(strings.ToUpper(app.Name)) + `"`,
		strconv.Itoa(section),
		`"` + strings.ReplaceAll(esc(opts.Date), `\-`, "-") + `"`,
		`"` + esc(opts.Source) + `"`,
		`"` + esc(opts.Manual) + `"`,
	}, " "))
	// Neither hyphenate nor justify: option names must not be split, and
	// ragged lines read better than stretched ones in a terminal.
	r.macro("nh")
	r.macro("ad", "l")

	r.macro("SH", "NAME")
	r.line(esc(app.Name) + ` \- ` + esc(strings.TrimSuffix(summary, ".")))

	r.macro("SH", "SYNOPSIS")
	m.synopsis()

	r.macro("SH", "DESCRIPTION")
	r.text(app.Help, "PP", true)
	if strings.TrimSpace(app.Detail) != "" {
		r.text(app.Detail, "PP", false)
	}

	cmds := visibleCommands(app.Node)
	if len(cmds) > 0 {
		r.macro("SH", "COMMANDS")
		for _, c := range cmds {
			m.command(c)
		}
		if flags := visibleFlags(app.Node); len(flags) > 0 {
			r.macro("SH", "GLOBAL FLAGS")
			m.flagList(flags, false)
		}
	} else {
		if args := visibleArgs(app.Node); len(args) > 0 {
			r.macro("SH", "ARGUMENTS")
			m.argList(args, false)
		}
		if flags := visibleFlags(app.Node); len(flags) > 0 {
			r.macro("SH", "FLAGS")
			m.flagList(flags, false)
		}
	}

	m.environment()

	r.sections(opts.Extra)
	r.seeAlso(opts.SeeAlso)

	_, err := io.WriteString(w, r.b.String())
	return err
}

type manPage struct {
	k *kong.Kong
	r *roffWriter
}

// oneLine returns the first paragraph of s joined into one line.
func oneLine(s string) string {
	blocks := parseBlocks(s)
	if len(blocks) == 0 {
		return ""
	}
	return strings.Join(blocks[0].lines, " ")
}

// manRef renders "name(7)" as a bold name followed by the section.
func manRef(ref string) string {
	ref = strings.TrimSpace(ref)
	if i := strings.LastIndexByte(ref, '('); i > 0 && strings.HasSuffix(ref, ")") {
		return bold(ref[:i]) + esc(ref[i:])
	}
	return bold(ref)
}

// visibleCommands lists the command nodes below n that are not hidden
// (nor below a hidden one), depth first in model order.
func visibleCommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range n.Children {
		if c == nil || c.Hidden {
			continue
		}
		out = append(out, c)
		out = append(out, visibleCommands(c)...)
	}
	return out
}

// visibleLeaves lists the visible commands with no visible subcommands:
// the ones a user can actually run.
func visibleLeaves(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range visibleCommands(n) {
		if len(visibleCommands(c)) == 0 {
			out = append(out, c)
		}
	}
	return out
}

func visibleArgs(n *kong.Node) []*kong.Positional {
	var out []*kong.Positional
	for _, p := range n.Positional {
		if p.Tag == nil || !p.Tag.Hidden {
			out = append(out, p)
		}
	}
	return out
}

func visibleFlags(n *kong.Node) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range n.Flags {
		if f != nil && !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}

func (m *manPage) isHelp(f *kong.Flag) bool {
	return f == m.k.Model.HelpFlag
}

// pathWords renders the command path to n: the program and command names
// in bold, branching arguments in italics.
func pathWords(n *kong.Node) []string {
	var words []string
	for ; n != nil; n = n.Parent {
		switch n.Type {
		case kong.ArgumentNode:
			words = append(words, ital("<"+n.Name+">"))
		default:
			words = append(words, bold(n.Name))
		}
	}
	slices.Reverse(words)
	return words
}

// plainPath is the command path to n as plain text, e.g. "ce-session send".
func plainPath(n *kong.Node) string {
	var words []string
	for ; n != nil; n = n.Parent {
		if n.Type == kong.ArgumentNode {
			words = append(words, "<"+n.Name+">")
		} else {
			words = append(words, n.Name)
		}
	}
	slices.Reverse(words)
	return strings.Join(words, " ")
}

// synopsis writes one line per runnable command: its path, its required
// flags, [flags] when it takes optional ones, then its arguments.
func (m *manPage) synopsis() {
	leaves := visibleLeaves(m.k.Model.Node)
	if len(leaves) == 0 {
		leaves = []*kong.Node{m.k.Model.Node}
	}
	for i, n := range leaves {
		if i > 0 {
			m.r.macro("br")
		}
		words := pathWords(n)
		optional := false
		for p := n; p != nil; p = p.Parent {
			for _, f := range visibleFlags(p) {
				switch {
				case f.Required:
					words = append(words, flagUsage(f))
				case !m.isHelp(f):
					optional = true
				}
			}
		}
		if optional {
			words = append(words, "["+ital("flags")+"]")
		}
		for _, a := range visibleArgs(n) {
			words = append(words, argUsage(a))
		}
		m.r.filled(strings.Join(words, " "))
	}
}

// command writes the subsection for one command.
func (m *manPage) command(n *kong.Node) {
	r := m.r
	r.macro("SS", plainPath(n))
	first := true
	if strings.TrimSpace(n.Help) != "" {
		r.text(n.Help, "PP", first)
		first = false
	}
	if strings.TrimSpace(n.Detail) != "" {
		r.text(n.Detail, "PP", first)
		first = false
	}
	if len(n.Aliases) > 0 {
		if !first {
			r.macro("PP")
		}
		first = false
		names := make([]string, len(n.Aliases))
		for i, a := range n.Aliases {
			names[i] = bold(a)
		}
		r.filled("Aliases: " + strings.Join(names, ", ") + ".")
	}
	if args := visibleArgs(n); len(args) > 0 {
		if !first {
			r.macro("PP")
		}
		first = false
		r.line("Arguments:")
		m.argList(args, true)
	}
	if flags := visibleFlags(n); len(flags) > 0 {
		if !first {
			r.macro("PP")
		}
		r.line("Flags:")
		m.flagList(flags, true)
	}
}

func (m *manPage) argList(args []*kong.Positional, indent bool) {
	if indent {
		m.r.macro("RS")
	}
	for _, a := range args {
		m.r.macro("TP")
		m.r.line(argUsage(a))
		m.r.text(a.Help, "IP", true, valueNotes(a)...)
	}
	if indent {
		m.r.macro("RE")
	}
}

func (m *manPage) flagList(flags []*kong.Flag, indent bool) {
	if indent {
		m.r.macro("RS")
	}
	for _, f := range flags {
		m.r.macro("TP")
		m.r.line(strings.Join(flagForms(f), ", "))
		notes := valueNotes(f.Value)
		if len(f.Tag.Envs) > 0 && !kong.HasInterpolatedVar(f.OrigHelp, "env") {
			notes = append(notes, "Environment: "+boldList(f.Tag.Envs, ", ")+".")
		}
		m.r.text(f.Help, "IP", true, notes...)
	}
	if indent {
		m.r.macro("RE")
	}
}

// flagForms lists every spelling of f: short, long, negation, aliases.
func flagForms(f *kong.Flag) []string {
	var forms []string
	if f.Short != 0 {
		forms = append(forms, bold("-"+string(f.Short)))
	}
	long := bold("--" + f.Name)
	if !f.IsBool() && !f.IsCounter() {
		long += "=" + ital(placeholder(f))
	}
	forms = append(forms, long)
	if f.IsBool() {
		switch neg := f.Tag.Negatable; neg {
		case "":
		case "_":
			forms = append(forms, bold("--no-"+f.Name))
		default:
			forms = append(forms, bold("--"+neg))
		}
	}
	for _, a := range f.Aliases {
		forms = append(forms, bold("--"+a))
	}
	return forms
}

// flagUsage is the synopsis form of a flag.
func flagUsage(f *kong.Flag) string {
	if f.IsBool() || f.IsCounter() {
		return bold("--" + f.Name)
	}
	return bold("--"+f.Name) + "=" + ital(placeholder(f))
}

// placeholder names a flag's value. Unlike kong's help it never shows the
// default there: the default gets its own line.
func placeholder(f *kong.Flag) string {
	if p, ok := f.Value.Mapper.(kong.PlaceHolderProvider); ok {
		return p.PlaceHolder(f)
	}
	tail := ""
	if f.Value.IsSlice() && f.Value.Tag.Sep != -1 && f.Tag.Type == "" {
		tail = string(f.Value.Tag.Sep) + "..."
	}
	switch {
	case f.PlaceHolder != "":
		return f.PlaceHolder + tail
	case f.Value.IsMap():
		if f.Value.Tag.MapSep != -1 && f.Tag.Type == "" {
			tail = string(f.Value.Tag.MapSep) + "..."
		}
		return "KEY=VALUE" + tail
	default:
		return strings.ToUpper(f.Name) + tail
	}
}

// argUsage is the synopsis form of a positional argument.
func argUsage(a *kong.Positional) string {
	s := ital("<" + a.Name + ">")
	if a.IsCumulative() {
		s += " ..."
	}
	if !a.Required {
		s = "[" + s + "]"
	}
	return s
}

// valueNotes says what kong enforces about a value and its help text
// does not already say: required, default, allowed values.
func valueNotes(v *kong.Value) []string {
	var notes []string
	if v.Flag != nil && v.Required {
		notes = append(notes, "Required.")
	}
	if v.HasDefault && v.Default != "" && !kong.HasInterpolatedVar(v.OrigHelp, "default") {
		notes = append(notes, "Default: "+bold(v.Default)+".")
	}
	if v.Enum != "" && !kong.HasInterpolatedVar(v.OrigHelp, "enum") {
		var vals []string
		for _, e := range v.EnumSlice() {
			if e != "" {
				vals = append(vals, e)
			}
		}
		if len(vals) > 0 {
			notes = append(notes, "One of: "+boldList(vals, ", ")+".")
		}
	}
	return notes
}

func boldList(items []string, sep string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = bold(s)
	}
	return strings.Join(out, sep)
}

// envUse is one flag that reads an environment variable.
type envUse struct {
	flag *kong.Flag
	node *kong.Node
}

// environment writes the ENVIRONMENT section: every variable a visible
// flag reads, sorted by name, with the help of the first flag reading it.
func (m *manPage) environment() {
	uses := map[string][]envUse{}
	var names []string
	nodes := append([]*kong.Node{m.k.Model.Node}, visibleCommands(m.k.Model.Node)...)
	for _, n := range nodes {
		for _, f := range visibleFlags(n) {
			for _, e := range f.Tag.Envs {
				if _, ok := uses[e]; !ok {
					names = append(names, e)
				}
				uses[e] = append(uses[e], envUse{f, n})
			}
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	m.r.macro("SH", "ENVIRONMENT")
	for _, e := range names {
		m.r.macro("TP")
		m.r.line(bold(e))
		var notes []string
		for _, u := range uses[e] {
			where := bold("--" + u.flag.Name)
			if u.node.Type != kong.ApplicationNode {
				where += " of " + bold(plainPath(u.node))
			}
			notes = append(notes, "Used when "+where+" is not given.")
		}
		m.r.text(uses[e][0].flag.Help, "IP", true, notes...)
	}
}
