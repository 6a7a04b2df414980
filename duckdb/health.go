package duckdb

import (
	"context"
	"errors"
	"fmt"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/crmlink/crmlink"
)

// Check probes the store for a health check: it writes the health_probe
// row and reads it back. A full disk fails the write with ErrNoSpace and leaves the database usable; a database that
// DuckDB has invalidated fails with ErrStoreFailed. See crmlink.Store.
func (s *Store) Check(ctx context.Context) error {
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	// caller: Check (health probe)
	if _, err := s.db.ExecContext(ctx, `UPDATE health_probe SET checked = ?::TIMESTAMP`, tsText(s.clock.Now())); err != nil {
		return Classify(fmt.Errorf("health probe: write: %w", err))
	}
	var n int
	// caller: Check (health probe)
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM health_probe`).Scan(&n); err != nil {
		return Classify(fmt.Errorf("health probe: read: %w", err))
	}
	return nil
}

// Classify gives an internal error of the store the kind and message a
// user must see when its cause is one that passes: a write the disk had
// no room for (crmlink.ErrNoSpace), or a database that DuckDB invalidated
// after such a write failed in a checkpoint, which serves again only once
// opened again (crmlink.ErrStoreFailed). Other errors pass unchanged; so
// do errors meant for the user, whose messages may quote any text.
func Classify(err error) error {
	if err == nil || crmlink.KindOf(err) != crmlink.KindInternal ||
		errors.Is(err, crmlink.ErrStoreFailed) || errors.Is(err, crmlink.ErrNoSpace) {
		return err
	}
	full := isNoSpace(err)
	switch {
	case isType(err, ddb.ErrorTypeFatal):
		if full {
			return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
				"the store stopped because its disk is full, and is opened again once there is space: try again then"),
				crmlink.ErrStoreFailed, crmlink.ErrNoSpace, err)
		}
		return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
			"the store failed and is being opened again: try again in a minute"), crmlink.ErrStoreFailed, err)
	case full:
		return errors.Join(crmlink.Errorf(crmlink.KindUnavailable,
			"no space left on the store's disk: nothing was stored; send again once space is freed"),
			crmlink.ErrNoSpace, err)
	}
	return err
}

// Classify is the package's Classify, for store.Reopening.
func (s *Store) Classify(err error) error { return Classify(err) }
