package db

import (
	"context"
	"fmt"
	"sync"
)

// idBlockSize is how many ids of a table ReserveID takes from its sequence
// at once.
const idBlockSize = 64

// idBlock holds ids taken from a table's identity sequence and not yet
// handed out.
type idBlock struct {
	mu  sync.Mutex
	ids []int64
}

// ReserveID returns an unused id of table's identity column "id", so that
// a write can name a row before inserting it and send the statements that
// refer to it in the same round trip as the INSERT. On PostgreSQL the ids
// come from the column's sequence, idBlockSize at a time: unique across
// processes, increasing within one, with gaps where a reserved id is never
// used (an order refused at checkout, a restart). On SQLite it returns 0:
// there an INSERT … RETURNING id costs no round trip, and the caller lets
// the store number the row.
func (d *DB) ReserveID(ctx context.Context, table string) (int64, error) {
	if d.Engine != Postgres {
		return 0, nil
	}
	v, ok := d.ids.Load(table)
	if !ok {
		v, _ = d.ids.LoadOrStore(table, &idBlock{})
	}
	b := v.(*idBlock)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 {
		rows, err := d.read.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)`, table, idBlockSize)
		if err != nil {
			return 0, fmt.Errorf("db: reserve %s ids: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return 0, fmt.Errorf("db: reserve %s ids: %w", table, err)
			}
			b.ids = append(b.ids, id)
		}
		if err := rows.Err(); err != nil || len(b.ids) == 0 {
			n := len(b.ids)
			b.ids = nil
			return 0, fmt.Errorf("db: reserve %s ids: got %d (%v)", table, n, err)
		}
	}
	id := b.ids[0]
	b.ids = b.ids[1:]
	return id, nil
}
