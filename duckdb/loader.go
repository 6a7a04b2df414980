package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// loader is the import pipeline: the caller's goroutine reads and validates
// rows and writes them to spool chunks; the loader's goroutine owns the
// import's transaction and loads each finished chunk with DuckDB's CSV
// reader while the next one fills. Parsing in Go and loading in DuckDB run
// on both cores at once; memory and temporary disk stay flat in the file's
// size (two chunks at most); no cgo call is made per value; and the import
// is all or nothing, since any error rolls the one transaction back.
//
// The caller holds the store's write lock for the loader's life.
//
// A file with a bad row fails whole, but its reader reads on to its end
// and yields the good rows all the same (crm's Next): the store checks
// what only it can check, the customer of each full order, on every row,
// so that one answer lists every error of the file in line order and the
// upload counts all its rows. Once the reader says the upload will fail
// (failing), or it ended with a *crmlink.ValidationError, chunks are
// handed to check instead of load, which stores nothing; with no check
// they are dropped. The transaction is rolled back as on any read error.
type loader struct {
	dir, name string
	chunks    chan *spool.Writer
	done      chan error
	txc       chan *sql.Tx
	abort     atomic.Bool // set when reading failed: the rest need not load
	cur       *spool.Writer
	chunkRows int
	ctx       context.Context
	// Set by whenFailing before the first chunk is handed over.
	failing func() bool
	check   func(tx *sql.Tx, chunk *spool.Writer) error
	failed  atomic.Bool // the reader ended with a validation error
}

// newLoader begins the transaction and runs load in it for each chunk's
// file.
func (s *Store) newLoader(ctx context.Context, name string, load func(tx *sql.Tx, chunk *spool.Writer) error) *loader {
	l := &loader{dir: s.spoolDir, name: name, chunks: make(chan *spool.Writer, 1), done: make(chan error, 1), txc: make(chan *sql.Tx, 1),
		chunkRows: s.chunkRows, ctx: ctx}
	go func() {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			for c := range l.chunks {
				c.Remove()
			}
			l.done <- err
			return
		}
		l.txc <- tx
		var loadErr error
		for c := range l.chunks {
			switch {
			case loadErr != nil || l.abort.Load():
			case l.failed.Load() || l.failing != nil && l.failing():
				if l.check != nil {
					loadErr = l.check(tx, c)
				}
			default:
				loadErr = load(tx, c)
			}
			c.Remove()
		}
		l.done <- loadErr
	}()
	return l
}

// whenFailing has the loader check chunks with check (nil: drop them) once
// r, the upload's reader, tells by its Failing method that the upload will
// fail, or ends with a validation error.
func (l *loader) whenFailing(r any, check func(tx *sql.Tx, chunk *spool.Writer) error) {
	if f, ok := r.(interface{ Failing() bool }); ok {
		l.failing = f.Failing
	}
	l.check = check
}

// Row returns the chunk the next row goes to (spool.Sink).
func (l *loader) Row() (*spool.Writer, error) {
	if l.cur == nil {
		sp, err := spool.Create(l.dir, l.name)
		if err != nil {
			return nil, err
		}
		l.cur = sp
	}
	return l.cur, nil
}

// RowDone hands the current chunk to the loader once it is full
// (spool.Sink).
func (l *loader) RowDone() error {
	if l.cur == nil || l.cur.Rows() < l.chunkRows {
		return nil
	}
	return l.flush()
}

func (l *loader) flush() error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	c := l.cur
	l.cur = nil
	if err := c.Close(); err != nil {
		c.Remove()
		return err
	}
	l.chunks <- c
	return nil
}

// finish waits for the loader. With readErr nil it loads the last chunk and
// returns the open transaction for the caller to complete and commit. With
// a validation error it checks the last chunk; with it or any other read
// error, or when loading failed, the transaction is rolled back. The error
// returned is that of loading (or of handing the last chunk over).
func (l *loader) finish(readErr error) (*sql.Tx, error) {
	var v *crmlink.ValidationError
	checked := errors.As(readErr, &v)
	if checked {
		l.failed.Store(true)
	}
	var flushErr error
	if (readErr == nil || checked && l.check != nil) && l.cur != nil {
		flushErr = l.flush()
	}
	if l.cur != nil {
		l.cur.Close()
		l.cur.Remove()
		l.cur = nil
	}
	if readErr != nil && !checked || flushErr != nil {
		l.abort.Store(true)
	}
	close(l.chunks)
	loadErr := <-l.done
	var tx *sql.Tx
	select {
	case tx = <-l.txc:
	default:
	}
	if err := errors.Join(readErr, flushErr, loadErr); err != nil {
		if tx != nil {
			tx.Rollback()
		}
		return nil, errors.Join(flushErr, loadErr)
	}
	return tx, nil
}
