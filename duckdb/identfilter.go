package duckdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/spool"
)

// The hit applier stores a visitor's email, phone or UserID once: a new
// identity is inserted unless site_identities has it. Asking the table is
// an anti-join against every identity of the counter, a scan that grows
// with the store. A Bloom filter of the identities stored, per counter,
// says when an identity surely is not there, and those are inserted
// without asking; the others (a visitor's email sent again) still ask.
//
// The filter is built from the table on the first application that has
// identities to store, under the write lock. Hits add their identities as
// they spool them, before their transaction commits (one that then fails
// only leaves a false "maybe"). Imports forget the filters.

// identityKey is the 64-bit key of an identity in the filter.
func (s *Store) identityKey(client uint64, kind, value string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.identSeed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], client)
	h.Write(b[:])
	h.WriteString(kind)
	h.WriteByte(0)
	h.WriteString(value)
	return h.Sum64()
}

// identityFilter returns a counter's filter of stored identities,
// building it first when there is none or it is full. The caller holds
// s.writeMu, which guards s.identFilters.
func (s *Store) identityFilter(ctx context.Context, tx *sql.Tx, counter crmlink.CounterID) (*clientFilter, error) {
	if f := s.identFilters[counter]; f != nil && f.n <= f.capacity {
		return f, nil
	}
	var n int64
	// caller: identity filter (size)
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM site_identities WHERE counter_id = ?`, int64(counter)).Scan(&n); err != nil {
		return nil, fmt.Errorf("identity filter: %w", err)
	}
	f := newClientFilter(2 * int(n))
	// caller: identity filter (fill)
	rows, err := tx.QueryContext(ctx, `SELECT client_id, kind, value FROM site_identities WHERE counter_id = ?`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("identity filter: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var client uint64
		var kind, value string
		if err := rows.Scan(&client, &kind, &value); err != nil {
			return nil, fmt.Errorf("identity filter: %w", err)
		}
		f.add(s.identityKey(client, kind, value))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("identity filter: %w", err)
	}
	f.capacity = max(f.capacity, f.n)
	if s.identFilters == nil {
		s.identFilters = map[crmlink.CounterID]*clientFilter{}
	}
	s.identFilters[counter] = f
	return f, nil
}

// insertNewIdentities inserts the identities of a spool file that the
// counter surely does not have, once each.
func insertNewIdentities(ctx context.Context, tx *sql.Tx, cid int64, sp *spool.Writer) error {
	// caller: identities (hits, surely new)
	_, err := tx.ExecContext(ctx, `INSERT INTO site_identities (counter_id, client_id, kind, value, first_seen)
		SELECT ?, client_id, kind, value, make_timestamp(min(first_us)) FROM `+readSpool(sp.File(), identityColumns)+`
		GROUP BY client_id, kind, value`, cid)
	return err
}
