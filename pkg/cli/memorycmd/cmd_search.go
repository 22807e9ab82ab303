package memorycmd

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// SearchCmd searches the notes.
type SearchCmd struct {
	Query []string `arg:"" name:"query" help:"What to look for; several words are one query."`
	Limit int      `default:"10" help:"The most notes to print (at most 100)."`
	Tag   string   `help:"Only notes with this tag."`
	JSON  bool     `name:"json" help:"Print one JSON object per note: id, title, tags, times, source, path, score, snippet."`
}

// Help is the long help of search.
func (c *SearchCmd) Help() string {
	return "Notes are ranked by BM25: a match in the title counts ten times one in the body, in the tags five times. " +
		"Queries are " + memory.QuerySyntax + ". Words match their other forms (deploy, deploying, deployed). " +
		"When no note has all the words of a query of plain words, the notes with some of them are printed (partial in --json). " +
		"Each note comes with the best passage of its body, matched words in bold on a terminal and between ** otherwise."
}

// Run prints the hits.
func (c *SearchCmd) Run(env *clikit.Env) error {
	if c.Limit < 1 || c.Limit > memory.MaxLimit {
		return clikit.Usage("", "--limit must be between 1 and %d, got %d", memory.MaxLimit, c.Limit)
	}
	s, err := open(env)
	if err != nil {
		return err
	}
	defer s.Close()
	o := memory.SearchOptions{Limit: c.Limit, Tag: c.Tag}
	if !c.JSON && clikit.IsTerminal(env.Stdout) {
		o.Mark, o.Unmark = "\x1b[1m", "\x1b[0m"
	}
	q := strings.Join(c.Query, " ")
	hits, err := s.Search(env.Ctx, q, o)
	warnNoticed(env, s)
	if err != nil {
		return indexErr(err)
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, h := range hits {
			if err := enc.Encode(h); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hits) == 0 {
		env.Infof("no note matches %q", q)
		return nil
	}
	if hits[0].Partial {
		env.Infof("no note has all the words; these have some")
	}
	for _, h := range hits {
		fmt.Fprintf(env.Stdout, "%s  %s  [%s]  %s\n", h.ID, h.Title, tagList(h.Tags), date(h.Note))
		fmt.Fprintf(env.Stdout, "    %s\n", h.Snippet)
	}
	return nil
}
