package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"sync/atomic"
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
type loader struct {
	dir, name string
	chunks    chan *spool
	done      chan error
	txc       chan *sql.Tx
	abort     atomic.Bool // set when reading failed: the rest need not load
	cur       *spool
	chunkRows int
	ctx       context.Context
	keep      bool // the chunks' files stay once loaded
}

// spoolChunkRows is how many rows one spool chunk holds, unless a test
// says otherwise.
const spoolChunkRows = 250_000

// newLoader begins the transaction and runs load in it for each chunk's
// file.
func (s *Store) newLoader(ctx context.Context, name string, load func(tx *sql.Tx, chunk *spool) error) *loader {
	l := &loader{dir: s.spoolDir, name: name, chunks: make(chan *spool, 1), done: make(chan error, 1), txc: make(chan *sql.Tx, 1),
		chunkRows: s.chunkRows, ctx: ctx}
	go func() {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			for c := range l.chunks {
				c.remove()
			}
			l.done <- err
			return
		}
		l.txc <- tx
		var loadErr error
		for c := range l.chunks {
			if loadErr == nil && !l.abort.Load() {
				loadErr = load(tx, c)
			}
			if !l.keep {
				c.remove()
			}
		}
		l.done <- loadErr
	}()
	return l
}

// spool returns the chunk the next row goes to.
func (l *loader) spool() (*spool, error) {
	if l.cur == nil {
		sp, err := newSpool(l.dir, l.name)
		if err != nil {
			return nil, err
		}
		l.cur = sp
	}
	return l.cur, nil
}

// rowDone hands the current chunk to the loader once it is full.
func (l *loader) rowDone() error {
	if l.cur == nil || l.cur.rows < l.chunkRows {
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
	if err := c.close(); err != nil {
		c.remove()
		return err
	}
	l.chunks <- c
	return nil
}

// finish waits for the loader. With readErr nil it loads the last chunk and
// returns the open transaction for the caller to complete and commit; with
// a read error, or when loading failed, the transaction is rolled back and
// the error returned.
func (l *loader) finish(readErr error) (*sql.Tx, error) {
	if readErr == nil && l.cur != nil {
		readErr = l.flush()
	}
	if l.cur != nil {
		l.cur.close()
		l.cur.remove()
		l.cur = nil
	}
	if readErr != nil {
		l.abort.Store(true)
	}
	close(l.chunks)
	loadErr := <-l.done
	var tx *sql.Tx
	select {
	case tx = <-l.txc:
	default:
	}
	if err := errors.Join(readErr, loadErr); err != nil {
		if tx != nil {
			tx.Rollback()
		}
		if readErr != nil {
			return nil, readErr
		}
		return nil, loadErr
	}
	return tx, nil
}

// pump reads rows with next and writes each with write into the loader's
// chunks, checking ctx as it goes, until the reader ends. It returns the
// rows read and the error that ended reading: nil at the end of a good file.
// Imports that load while they read keep the second core for DuckDB's
// loading; an upload that only spools takes it for reading
// (pumpParallel).
func pump[T any](ctx context.Context, l *loader, row *T, next func(*T) error, write func(sp *spool, row *T)) (int, error) {
	n := 0
	for {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		if err := next(row); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
		if err := spoolRow(l, row, write); err != nil {
			return n, err
		}
	}
}

// spoolRow writes a row with write into the loader's current chunk,
// handing the chunk over once it is full.
func spoolRow[T any](l *loader, row *T, write func(sp *spool, row *T)) error {
	sp, err := l.spool()
	if err != nil {
		return err
	}
	write(sp, row)
	sp.end()
	return l.rowDone()
}

// pumpParallel is pump with reading and spooling on two goroutines: the
// reader fills batches of rows while the caller's goroutine writes the
// previous ones. Reading and validating, and writing the spool, each take
// about half of an upload's Go time, so an upload that waits for nothing
// else is answered in about half the time.
func pumpParallel[T any](ctx context.Context, l *loader, next func(*T) error, write func(sp *spool, row *T)) (int, error) {
	const batchRows, batches = 512, 4
	type batch struct {
		rows []T
		n    int
		err  error // what ended reading after rows[:n]: io.EOF at the end
	}
	free, full := make(chan *batch, batches), make(chan *batch, batches)
	for range batches {
		free <- &batch{rows: make([]T, batchRows)}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.n, b.err = 0, nil
			for b.n < batchRows {
				if b.n == 0 {
					if err := ctx.Err(); err != nil {
						b.err = err
						break
					}
				}
				if err := next(&b.rows[b.n]); err != nil {
					b.err = err
					break
				}
				b.n++
			}
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	// finish stops the reader and waits for it: the reader's state (its
	// counts and errors) is the caller's again.
	finish := func(n int, err error) (int, error) {
		close(stop)
		for range full { // let a reader blocked on a full channel go
		}
		<-done
		return n, err
	}
	n := 0
	for b := range full {
		for i := range b.n {
			if err := spoolRow(l, &b.rows[i], write); err != nil {
				return finish(n, err)
			}
			n++
		}
		if b.err != nil {
			if errors.Is(b.err, io.EOF) {
				return finish(n, nil)
			}
			return finish(n, b.err)
		}
		free <- b
	}
	return finish(n, nil)
}
