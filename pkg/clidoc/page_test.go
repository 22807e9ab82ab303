package clidoc

import (
	"strings"
	"testing"
)

func TestWritePage(t *testing.T) {
	var b strings.Builder
	err := WritePage(&b, Page{
		Name: "ce-config", Summary: "the configuration file.", Section: 5,
		Date: "2026-01-02", Source: "ce", Manual: "ce manual",
		Sections: []Section{{Title: "Keys", Items: []Item{{Term: "agent.command", Text: ".dotted text"}, {Term: "mcp", Text: "Example:\n\n    servers: {}"}}}},
		SeeAlso:  []string{"ce(7)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := b.String()
	checkContains(t, "page", got, []string{
		`.TH "CE\-CONFIG" 5 "2026-01-02" "ce" "ce manual"`,
		`ce\-config \- the configuration file` + "\n",
		".SH KEYS\n.TP\n\\fBagent.command\\fR\n",
		"\\&.dotted text\n",
		".SH \"SEE ALSO\"\n",
		// A literal block in an item takes the item's indent; .RS after
		// .IP would leave the .IP empty.
		"Example:\n.IP\n.nf\nservers: {}\n.fi\n",
	})
	if err := WritePage(&b, Page{Name: "x"}); err == nil {
		t.Error("a page without summary and section was accepted")
	}
}
