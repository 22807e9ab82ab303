package memory

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// Search limits.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// SearchOptions refine a search.
type SearchOptions struct {
	// Limit is the most hits returned: DefaultLimit when 0, at most
	// MaxLimit.
	Limit int
	// Tag keeps only notes with this tag.
	Tag string
	// Mark and Unmark surround the matched words in snippets; "**" and
	// "**" (Markdown bold) when both are empty.
	Mark, Unmark string
}

// Hit is one note found by a search, best first.
type Hit struct {
	Note
	// Score is the BM25 relevance, higher is better; a match in the title
	// counts ten times one in the body, in the tags five times.
	Score float64 `json:"score"`
	// Snippet is the best passage of the body, on one line, with the
	// matched words marked (the body's start when only the title or tags
	// matched).
	Snippet string `json:"snippet"`
	// Partial is true when no note had all the words of the query and this
	// one has some of them.
	Partial bool `json:"partial,omitempty"`
}

// snippetTokens is the length of a snippet, in words.
const snippetTokens = 24

// Search finds the notes that match a query (see QuerySyntax), ranked by
// BM25. When no note has all the words of a query of plain words, the
// notes that have some of them are returned, marked Partial. A query that
// cannot be run is a *QueryError.
func (s *Store) Search(ctx context.Context, query string, o SearchOptions) ([]Hit, error) {
	all, anyOf, err := ftsQuery(query)
	if err != nil {
		return nil, err
	}
	if o.Limit <= 0 {
		o.Limit = DefaultLimit
	}
	o.Limit = min(o.Limit, MaxLimit)
	if o.Mark == "" && o.Unmark == "" {
		o.Mark, o.Unmark = "**", "**"
	}
	db, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	hits, err := s.match(ctx, db, all, o)
	if err == nil && len(hits) == 0 && anyOf != "" {
		hits, err = s.match(ctx, db, anyOf, o)
		for i := range hits {
			hits[i].Partial = true
		}
	}
	if err != nil {
		return nil, queryErr(query, err)
	}
	return hits, nil
}

// match runs one FTS5 expression.
func (s *Store) match(ctx context.Context, db *sql.DB, expr string, o SearchOptions) ([]Hit, error) {
	filter, args := "", []any{o.Mark, o.Unmark, expr}
	if tag := normalizeTags([]string{o.Tag}); len(tag) == 1 {
		filter = ` AND rowid IN (SELECT note FROM tags WHERE tag = ?)`
		args = append(args, tag[0])
	}
	args = append(args, o.Limit)
	rows, err := db.QueryContext(ctx, `SELECT n.id, n.title, n.tags, n.created, n.updated, n.source, n.problem, f.rank, f.snip
		FROM (SELECT rowid, rank, snippet(fts, 2, ?, ?, '…', `+strconv.Itoa(snippetTokens)+`) AS snip
			FROM fts WHERE fts MATCH ?`+filter+` ORDER BY rank LIMIT ?) f
		JOIN notes n ON n.rowid = f.rowid ORDER BY f.rank`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		var h Hit
		var tags string
		var created, updated int64
		if err := rows.Scan(&h.ID, &h.Title, &tags, &created, &updated, &h.Source, &h.Problem, &h.Score, &h.Snippet); err != nil {
			return nil, err
		}
		h.Tags = splitTags(tags)
		h.Created, h.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		h.Score = -h.Score
		h.Snippet = strings.Join(strings.Fields(h.Snippet), " ")
		if h.Snippet == "" {
			h.Snippet = h.Title
		}
		h.Path = s.path(h.ID)
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// queryErr explains an error FTS5 found in a query that got past ftsQuery.
func queryErr(query string, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "fts5:"); i >= 0 {
		return &QueryError{Query: query, Msg: strings.TrimSpace(msg[i:])}
	}
	return err
}

// List returns the notes, most recently updated first; with a tag, only
// those that have it.
func (s *Store) List(ctx context.Context, tag string) ([]Note, error) {
	db, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	q := `SELECT id, title, tags, created, updated, source, problem FROM notes`
	var args []any
	if t := normalizeTags([]string{tag}); len(t) == 1 {
		q += ` WHERE rowid IN (SELECT note FROM tags WHERE tag = ?)`
		args = append(args, t[0])
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY updated DESC, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var tags string
		var created, updated int64
		if err := rows.Scan(&n.ID, &n.Title, &tags, &created, &updated, &n.Source, &n.Problem); err != nil {
			return nil, err
		}
		n.Tags = splitTags(tags)
		n.Created, n.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		n.Path = s.path(n.ID)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Count returns how many notes the index holds.
func (s *Store) Count(ctx context.Context) (int, error) {
	db, err := s.ready(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n)
	return n, err
}

// ready syncs the index and returns it for reading.
func (s *Store) ready(ctx context.Context) (*sql.DB, error) {
	if _, err := s.Sync(ctx); err != nil {
		return nil, err
	}
	return s.conn()
}
