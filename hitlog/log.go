// Package hitlog is the tag's hits on their way into a store: the durable
// log that acknowledges a batch once it is fsynced, and the applier that
// hands logged batches to the store's write port (crmlink.HitPort) in
// number order, a moment later, in large groups. Any engine sits behind
// it: the port records the last batch number with the batches it applies,
// so a batch is applied once whatever crashes in between.
package hitlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/crmlink/crmlink"
)

// Log is the hit log of one store, with its applier. It implements the
// writing half of crmlink.HitStore.
type Log struct {
	port  crmlink.HitPort
	files *segmentLog
	log   *slog.Logger

	// applyMu lets one application run at a time; applied is the last
	// batch the port applied, under applyMu.
	applyMu sync.Mutex
	applied int64

	applyNow    chan struct{}
	stop        chan struct{}
	applierDone chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// Config configures a Log.
type Config struct {
	// Dir is the directory of the log's files; "" keeps the log in memory
	// (an in-memory store, whose hits need not survive the process).
	Dir string
	// Clock stamps each batch, for WaitingSince.
	Clock crmlink.Clock
	// Log gets the applier's failures (default: discarded).
	Log *slog.Logger
}

// applyBatches is the most batches one call of the port takes.
const applyBatches = 1000

// applyRest is the applier's pause between applications.
const applyRest = 500 * time.Millisecond

// Open opens the log in cfg.Dir for the store behind port, applies what
// the log holds beyond the port's last applied batch (hits acknowledged
// before a stop or a crash: the collector's view of returning visitors
// needs them), and starts the applier.
func Open(ctx context.Context, port crmlink.HitPort, cfg Config) (*Log, error) {
	applied, err := port.HitsApplied(ctx)
	if err != nil {
		return nil, fmt.Errorf("hit log: %w", err)
	}
	files, err := openSegments(cfg.Dir, applied)
	if err != nil {
		return nil, err
	}
	if cfg.Clock != nil {
		files.now = cfg.Clock.Now
	}
	l := &Log{port: port, files: files, log: cfg.Log, applied: applied,
		applyNow: make(chan struct{}, 1), stop: make(chan struct{}), applierDone: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if err := l.Sync(ctx); err != nil {
		files.close()
		return nil, err
	}
	go l.applier()
	return l, nil
}

// Write makes a batch of hits durable: one fsynced record, which costs a
// fraction of a millisecond, so the collector can answer quickly; the
// applier hands it to the store a moment later. See crmlink.HitStore.
func (l *Log) Write(ctx context.Context, hits []crmlink.SessionHit) error {
	// The log keeps the batch for the applier: a copy, as the caller may
	// reuse its slice.
	if _, err := l.files.appendGob(slices.Clone(hits)); err != nil {
		return fmt.Errorf("write hits: %w", err)
	}
	select {
	case l.applyNow <- struct{}{}:
	default:
	}
	return nil
}

// WaitingSince is when the oldest batch written and not yet applied was
// written, or zero when none waits.
func (l *Log) WaitingSince() time.Time { return l.files.waitingSince() }

// Probe writes, syncs and removes a small file where the log's files go:
// a health check of the disk the tag's hits reach first.
func (l *Log) Probe() error { return l.files.probe() }

// Close stops the applier, applies what is logged, and closes the files.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.applierDone
		l.closeErr = errors.Join(l.Sync(context.Background()), l.files.close())
	})
	return l.closeErr
}

// applier applies logged hits until the log closes: woken by a write, it
// applies what is logged, then rests half a second, so that under load
// each application takes many batches (it costs much the same for a
// thousand hits as for ten) and reports trail the hits by about a second.
func (l *Log) applier() {
	defer close(l.applierDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.applyNow:
		case <-t.C:
		}
		if err := l.Sync(context.Background()); err != nil {
			l.log.Error("apply hits", "err", err)
		}
		select {
		case <-l.stop:
			return
		case <-time.After(applyRest):
		}
	}
}

// Sync hands every logged batch to the store, in order, and returns once
// the store has applied them: what the collector acknowledged is then in
// sessions and reports.
func (l *Log) Sync(ctx context.Context) error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	segs, upto, values, inMemory, err := l.files.seal(l.applied)
	if err != nil {
		return fmt.Errorf("apply hits: %w", err)
	}
	// The batches are handed on as they are, not copied into one slice: a
	// hit is half a kilobyte, and an application takes tens of thousands.
	var batches [][]crmlink.SessionHit
	last := l.applied
	flush := func() error {
		if len(batches) == 0 {
			return nil
		}
		if err := l.port.ApplyHits(ctx, last, batches); err != nil {
			return err
		}
		l.applied = last
		clear(batches)
		batches = batches[:0]
		return nil
	}
	add := func(seq int64, batch []crmlink.SessionHit) error {
		batches = append(batches, batch)
		last = seq
		if len(batches) == applyBatches {
			return flush()
		}
		return nil
	}
	applied := l.applied
	if inMemory {
		for _, r := range values {
			if err := add(r.seq, r.v.([]crmlink.SessionHit)); err != nil {
				return err
			}
		}
	} else {
		for _, seg := range segs {
			// A segment's batches share one gob stream: every one is
			// decoded, those applied already are passed over.
			stream := newGobStream()
			if err := readSegment(seg, func(seq int64, payload []byte) error {
				var batch []crmlink.SessionHit
				if err := stream.decode(payload, &batch); err != nil {
					return fmt.Errorf("apply hits: batch %d: %w", seq, err)
				}
				if seq <= applied || seq > upto {
					return nil
				}
				return add(seq, batch)
			}); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return l.files.applied(upto, segs)
}

// Append appends batches to the log in dir as a process that
// acknowledged them and died before applying them leaves it, numbered on
// from the log's own files (from 1 in an empty one). Tests of recovery
// use it.
func Append(dir string, batches ...[]crmlink.SessionHit) error {
	files, err := openSegments(dir, 0)
	if err != nil {
		return err
	}
	defer files.close()
	for _, b := range batches {
		if _, err := files.appendGob(b); err != nil {
			return err
		}
	}
	return nil
}
