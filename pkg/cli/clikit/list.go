package clikit

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/text"
)

// Listing is how a command lists things: JSON for scripts, a table for
// people.
type Listing[T any] struct {
	// JSON prints one JSON object per item, exactly as stored.
	JSON bool
	// Empty is said (Infof) when there is nothing to list.
	Empty string
	// Header names the table's columns.
	Header []string
	// Row gives an item's cells, in Header's order. Cells are made safe
	// for terminals (text.Safe): they may hold what a model wrote.
	Row func(T) []string
}

// Print lists items on the environment's stdout.
func (l Listing[T]) Print(env *Env, items []T) error {
	if l.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		if l.Empty != "" {
			env.Infof("%s", l.Empty)
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(l.Header, "\t"))
	for _, it := range items {
		cells := l.Row(it)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(text.Safe(c), "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
