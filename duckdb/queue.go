package duckdb

import (
	"context"
	"fmt"
	"time"

	"github.com/crmlink/crmlink"
)

// Package uploadqueue accepts orders uploads: it reads, validates and
// spools their rows (package spool, in spool.OrderColumns), has the store
// check them (CheckOrders), and keeps them until ApplyUpload applies them,
// in the order accepted. This file is the store's side of it.

// CheckOrders checks a spooled chunk of an orders upload against the
// store. See crmlink.QueuePort.
func (s *Store) CheckOrders(ctx context.Context, up *crmlink.Upload, chunk crmlink.SpoolFile) (*crmlink.ValidationError, error) {
	simple, partial := up.Entity == crmlink.EntitySimpleOrders, up.PartialRows()
	if simple && !partial {
		return nil, nil // a simple order names no contact, and is whole
	}
	// A transaction that only reads: one view of the contacts and orders.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("check orders: %w", err)
	}
	defer tx.Rollback()
	v, err := checkOrders(ctx, tx, int64(up.CounterID), "(SELECT * FROM "+readSpool(chunk, columnsStruct(orderColumns))+")", simple, partial)
	if err != nil {
		return nil, fmt.Errorf("check orders: %w", outOfMemory(err))
	}
	if v.Total == 0 {
		return nil, nil
	}
	return v, nil
}

// RecordUpload records an upload that failed before it was applied. See
// crmlink.QueuePort.
func (s *Store) RecordUpload(ctx context.Context, up *crmlink.Upload) error {
	if err := insertUpload(ctx, s.db, up); err != nil {
		return fmt.Errorf("record upload %s: %w", up.ID, err)
	}
	return nil
}

// ApplyUpload applies an accepted orders upload in one transaction, which
// also records it, so that it is applied once. See crmlink.QueuePort.
func (s *Store) ApplyUpload(ctx context.Context, up *crmlink.Upload, chunks []crmlink.SpoolFile) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.heap.BeforeApply != nil {
		s.heap.BeforeApply()
	}
	counter, err := s.Counter(ctx, up.CounterID)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Classify(fmt.Errorf("apply upload %s: %w", up.ID, err))
	}
	defer tx.Rollback()
	var recorded int
	// caller: ApplyUpload (applied once)
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM uploads WHERE counter_id = ? AND id = ?`,
		int64(up.CounterID), up.ID).Scan(&recorded); err != nil {
		return Classify(fmt.Errorf("apply upload %s: %w", up.ID, err))
	}
	if recorded > 0 {
		return nil
	}
	ap := &orderApply{s: s, up: up, counter: counter, now: up.Created,
		simple: up.Entity == crmlink.EntitySimpleOrders, currency: counter.Currency}
	for _, c := range chunks {
		if err := ap.chunk(ctx, tx, "(SELECT * FROM "+readSpool(c, columnsStruct(orderColumns))+")"); err != nil {
			return Classify(fmt.Errorf("apply upload %s: %w", up.ID, outOfMemory(err)))
		}
	}
	if err := ap.finish(ctx, tx); err != nil {
		return Classify(fmt.Errorf("apply upload %s: %w", up.ID, outOfMemory(err)))
	}
	t0 := time.Now()
	if err := tx.Commit(); err != nil {
		return Classify(fmt.Errorf("apply upload %s: commit: %w", up.ID, err))
	}
	s.step(ctx, up, "commit", t0)
	return nil
}
