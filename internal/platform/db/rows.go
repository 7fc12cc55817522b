package db

import (
	"fmt"
	"strings"
)

// Append-only tables (the outbox, order history, the stock ledger) take most
// of the rows a checkout writes. Tx.Append gathers them instead of writing
// them one statement at a time: a closure's rows join its batch's once the
// closure succeeds, and the batch writes each table's rows with one
// multi-row INSERT per appendChunk rows just before it commits.

// appendChunk is the most rows one INSERT carries.
const appendChunk = 64

// rowBuf holds rows for append-only tables, in the order they were added.
type rowBuf struct {
	into []string         // "table (col, ...)" in first-use order
	vals map[string][]any // per table: its rows' values, row after row
}

func (b *rowBuf) add(into string, vals []any) {
	if b.vals == nil {
		b.vals = map[string][]any{}
	}
	have, ok := b.vals[into]
	if !ok {
		b.into = append(b.into, into)
	}
	b.vals[into] = append(have, vals...)
}

// merge moves o's rows after b's.
func (b *rowBuf) merge(o *rowBuf) {
	for _, into := range o.into {
		b.add(into, o.vals[into])
	}
	o.into, o.vals = nil, nil
}

// Append adds one or more rows to an append-only table: into names the
// table and its columns, "events (topic, subject, payload, created_at)",
// and vals holds each row's values in turn. The rows are written when the
// transaction commits, together with the rows other closures of the batch
// append to the same table, and only if this closure succeeds. No query of
// the transaction sees them: append only rows nothing reads back before the
// commit (ledgers, history, events).
func (t *Tx) Append(into string, vals ...any) error {
	n, err := t.d.columns(into)
	if err != nil {
		return err
	}
	if len(vals) == 0 || len(vals)%n != 0 {
		return fmt.Errorf("db: append to %s: %d values is not a whole number of %d-column rows", into, len(vals), n)
	}
	t.rows.add(into, vals)
	return nil
}

// columns counts the columns named by an Append target.
func (d *DB) columns(into string) (int, error) {
	if n, ok := d.appendCols.Load(into); ok {
		return n.(int), nil
	}
	open, end := strings.IndexByte(into, '('), strings.LastIndexByte(into, ')')
	if open < 1 || end < open+2 {
		return 0, fmt.Errorf("db: append target %q is not \"table (col, ...)\"", into)
	}
	n := strings.Count(into[open:end], ",") + 1
	d.appendCols.Store(into, n)
	return n, nil
}

// sqlKey names a generated statement text in DB.generatedSQL.
type sqlKey struct {
	what string // an Append target, or another generated statement
	rows int
}

// generated returns the cached text of a statement built for rows rows.
func (d *DB) generated(what string, rows int, build func() string) string {
	k := sqlKey{what, rows}
	if q, ok := d.generatedSQL.Load(k); ok {
		return q.(string)
	}
	q := build()
	d.generatedSQL.Store(k, q)
	return q
}

// ValuesList is "(?, ?), (?, ?)" for rows rows of cols columns: the list of
// a multi-row INSERT, or of an UPDATE … FROM (VALUES …).
func ValuesList(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// insertRows is the INSERT of rows rows into into (cached: the same few
// texts recur, and SQLite prepares each once).
func (d *DB) insertRows(into string, cols, rows int) string {
	return d.generated(into, rows, func() string { return "INSERT INTO " + into + " VALUES " + ValuesList(rows, cols) })
}

// writeRows writes the gathered rows in t's transaction (on PostgreSQL in
// one round trip) and empties the buffer.
func (t *Tx) writeRows(b *rowBuf) error {
	for _, into := range b.into {
		vals := b.vals[into]
		cols, err := t.d.columns(into)
		if err != nil {
			return err
		}
		for len(vals) > 0 {
			rows := min(len(vals)/cols, appendChunk)
			if err := t.Defer(t.d.insertRows(into, cols, rows), vals[:rows*cols]...); err != nil {
				return fmt.Errorf("db: append to %s: %w", into, err)
			}
			vals = vals[rows*cols:]
		}
	}
	b.into, b.vals = nil, nil
	return t.flush()
}
