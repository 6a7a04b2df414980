package spool

import (
	"context"
	"errors"
	"io"
)

// ChunkRows is how many rows one spool file of an upload or an import
// holds, unless a caller says otherwise: enough that a store's bulk
// loader runs few statements, few enough that two files in flight keep
// memory and temporary disk small.
const ChunkRows = 250_000

// Sink takes the rows a pump writes: Row returns the file the next row
// goes to, and RowDone is called once it is written, so that the sink can
// hand a full file on.
type Sink interface {
	Row() (*Writer, error)
	RowDone() error
}

// Pump reads rows with next and writes each with write into sink, checking
// ctx as it goes, until the reader ends. It returns the rows read and the
// error that ended reading: nil at the end of a good file.
func Pump[T any](ctx context.Context, sink Sink, row *T, next func(*T) error, write func(w *Writer, row *T)) (int, error) {
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
		if err := writeRow(sink, row, write); err != nil {
			return n, err
		}
	}
}

// writeRow writes a row with write into the sink's current file.
func writeRow[T any](sink Sink, row *T, write func(w *Writer, row *T)) error {
	w, err := sink.Row()
	if err != nil {
		return err
	}
	write(w, row)
	w.End()
	return sink.RowDone()
}

// PumpParallel is Pump with reading and writing on two goroutines: the
// reader fills batches of rows while the caller's goroutine writes the
// previous ones. Reading and validating, and writing the spool, each take
// about half of an upload's Go time, so an upload that waits for nothing
// else is spooled in about half the time. A pipeline that loads while it
// reads keeps the second core for its engine and uses Pump.
func PumpParallel[T any](ctx context.Context, sink Sink, next func(*T) error, write func(w *Writer, row *T)) (int, error) {
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
			if err := writeRow(sink, &b.rows[i], write); err != nil {
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
