// Package uploadqueue applies the uploads an engine accepted and queued
// (crmlink.QueuePort), in the order accepted: in the background after
// each acceptance and when the store opens (what a stop or a crash left
// queued), at once when asked (Sync), and again a while after an
// application failed for a cause that passes (a full disk). The engine
// keeps the queue durably and applies each upload atomically, taking it
// off the queue in the same step; this package decides when, and in what
// order.
package uploadqueue

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmlink/crmlink"
)

// retryDelay is how long after an application that could not finish the
// queue is tried again.
const retryDelay = 5 * time.Second

// Queue applies an engine's queued uploads.
type Queue struct {
	port crmlink.QueuePort
	log  *slog.Logger

	// mu lets one Sync apply the queue at a time.
	mu sync.Mutex
	// life ends at Close: the background applications run under it, and
	// so stop at once; the upload being applied stays queued.
	life    context.Context
	endLife context.CancelFunc
	// lifeMu guards closing, after which no application starts; wg
	// counts the background applications, which Close waits for.
	lifeMu  sync.Mutex
	closing bool
	wg      sync.WaitGroup
	// retryAt is when the queue is applied again after an application
	// that could not finish, in Unix nanoseconds; 0: no retry is due.
	retryAt   atomic.Int64
	stopRetry chan struct{}
	retryDone chan struct{}
	closeOnce sync.Once
}

// New returns the queue of port's engine. It applies nothing until
// Kick or Sync.
func New(port crmlink.QueuePort, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{port: port, log: log, stopRetry: make(chan struct{}), retryDone: make(chan struct{})}
	q.life, q.endLife = context.WithCancel(context.Background())
	go q.retrier()
	return q
}

// Kick applies the queue in the background, unless the queue is closing.
func (q *Queue) Kick() {
	q.lifeMu.Lock()
	defer q.lifeMu.Unlock()
	if q.closing {
		return
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		if err := q.Sync(q.life); err != nil && q.life.Err() == nil {
			q.log.Error("apply queued uploads", "err", err)
		}
	}()
}

// Sync applies every queued upload, in the order they were accepted, and
// returns once none is left or one could not be applied.
func (q *Queue) Sync(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		id, err := q.port.NextQueued(ctx)
		if err != nil || id == "" {
			return err
		}
		if err := q.port.ApplyQueued(ctx, id); err != nil {
			if ctx.Err() == nil {
				// A cause that passes, such as a full disk: the upload
				// stays queued and is tried again.
				q.retryAt.Store(time.Now().Add(retryDelay).UnixNano())
			}
			return err
		}
	}
}

// retrier applies the queue again, every second, once a retry is due.
func (q *Queue) retrier() {
	defer close(q.retryDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-q.stopRetry:
			return
		case <-t.C:
			at := q.retryAt.Load()
			if at != 0 && time.Now().UnixNano() >= at && q.retryAt.CompareAndSwap(at, 0) {
				q.Kick()
			}
		}
	}
}

// Close stops the background applications and waits for them: an upload
// being applied stops and stays queued, to be applied when the store
// opens again.
func (q *Queue) Close() {
	q.closeOnce.Do(func() {
		q.lifeMu.Lock()
		q.closing = true
		q.lifeMu.Unlock()
		q.endLife()
		q.wg.Wait()
		close(q.stopRetry)
		<-q.retryDone
	})
}
