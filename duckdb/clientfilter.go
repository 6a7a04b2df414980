package duckdb

import (
	"context"
	"fmt"
	"math/bits"

	"github.com/crmlink/crmlink"
)

// clientFilter is a Bloom filter of the ClientIDs that have sessions in one
// counter: when it says no, the ClientID has none, and the collector's
// look-up of a new visitor's last session needs no query. Every path that
// inserts sessions (hits, imports) adds their ClientIDs, before its
// transaction commits; a ClientID added by a transaction that then fails
// only costs a query.
type clientFilter struct {
	bits     []uint64
	mask     uint64 // len(bits)*64 - 1
	n        int    // ClientIDs added
	capacity int    // past this many, the filter is rebuilt larger
}

// clientFilterBits is the filter's bits per ClientID at capacity, probed
// clientFilterProbes times: about one false "maybe" in 300.
const (
	clientFilterBits   = 12
	clientFilterProbes = 8
	clientFilterMin    = 1 << 16
)

func newClientFilter(capacity int) *clientFilter {
	capacity = max(capacity, clientFilterMin)
	words := 1 << bits.Len(uint(capacity*clientFilterBits/64))
	return &clientFilter{bits: make([]uint64, words), mask: uint64(words*64 - 1), capacity: capacity}
}

// probes returns the two hashes whose combinations are the probed bits
// (double hashing).
func (f *clientFilter) probes(id uint64) (h1, h2 uint64) {
	// splitmix64's finalizer: ClientIDs share their leading digits.
	z := id + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return z, (z>>32 | z<<32) | 1
}

func (f *clientFilter) add(id uint64) {
	h1, h2 := f.probes(id)
	for i := uint64(0); i < clientFilterProbes; i++ {
		b := (h1 + i*h2) & f.mask
		f.bits[b>>6] |= 1 << (b & 63)
	}
	f.n++
}

func (f *clientFilter) mayHave(id uint64) bool {
	h1, h2 := f.probes(id)
	for i := uint64(0); i < clientFilterProbes; i++ {
		b := (h1 + i*h2) & f.mask
		if f.bits[b>>6]&(1<<(b&63)) == 0 {
			return false
		}
	}
	return true
}

// noteClient adds a ClientID that is getting a session to its counter's
// filter, if the counter has one, or to the filter being built for it; a
// filter built later reads it from the sessions. The caller holds
// s.sessionsMu (and s.writeMu), from before this call until its
// transaction ends.
func (s *Store) noteClient(counter crmlink.CounterID, client uint64) {
	s.filterMu.Lock()
	if f := s.filters[counter]; f != nil {
		f.add(client)
	}
	if b := s.building[counter]; b != nil { // it replaces a full one, if any
		b.pending = append(b.pending, client)
	}
	s.filterMu.Unlock()
}

// filterBuild is a filter being built: the ClientIDs noted meanwhile,
// and, once done is closed, the filter or the error.
type filterBuild struct {
	pending []uint64
	done    chan struct{}
	f       *clientFilter
	err     error
}

// mayHaveClients keeps the ClientIDs that may have sessions in a counter,
// building the counter's filter from its sessions first if it has none or
// it is full.
func (s *Store) mayHaveClients(ctx context.Context, counter crmlink.CounterID, clients []uint64) ([]uint64, error) {
	s.filterMu.Lock()
	f := s.filters[counter]
	s.filterMu.Unlock()
	if f == nil || f.n > f.capacity {
		var err error
		if f, err = s.buildClientFilter(ctx, counter); err != nil {
			return nil, err
		}
	}
	s.filterMu.Lock()
	defer s.filterMu.Unlock()
	maybe := make([]uint64, 0, len(clients))
	for _, c := range clients {
		if f.mayHave(c) {
			maybe = append(maybe, c)
		}
	}
	return maybe, nil
}

// buildClientFilter reads a counter's ClientIDs into a new filter. It
// does not wait for the store's writers, only for those inserting
// sessions (s.sessionsMu), and for them only until its read transaction
// has its snapshot: every session committed before is in it, and every
// ClientID noted after goes to the build's pending list. A look-up of a
// new visitor so never waits for an upload being applied. Look-ups that
// come while the filter is built wait for that build.
func (s *Store) buildClientFilter(ctx context.Context, counter crmlink.CounterID) (*clientFilter, error) {
	s.filterMu.Lock()
	if f := s.filters[counter]; f != nil && f.n <= f.capacity {
		s.filterMu.Unlock()
		return f, nil
	}
	if b := s.building[counter]; b != nil {
		s.filterMu.Unlock()
		select {
		case <-b.done:
			return b.f, b.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b := &filterBuild{done: make(chan struct{})}
	if s.building == nil {
		s.building = map[crmlink.CounterID]*filterBuild{}
	}
	s.building[counter] = b
	s.filterMu.Unlock()

	b.f, b.err = s.readClientFilter(ctx, counter)
	s.filterMu.Lock()
	delete(s.building, counter)
	if b.err == nil {
		for _, c := range b.pending {
			b.f.add(c)
		}
		if b.f.n > b.f.capacity { // the estimate was off
			b.f.capacity = b.f.n
		}
		if s.filters == nil {
			s.filters = map[crmlink.CounterID]*clientFilter{}
		}
		s.filters[counter] = b.f
	}
	b.pending = nil
	s.filterMu.Unlock()
	close(b.done)
	return b.f, b.err
}

// readClientFilter reads a counter's ClientIDs into a new filter, in a
// read transaction whose snapshot is taken while no session is being
// inserted.
func (s *Store) readClientFilter(ctx context.Context, counter crmlink.CounterID) (*clientFilter, error) {
	tx, err := s.db.BeginTx(ctx, nil) // it only reads
	if err != nil {
		return nil, fmt.Errorf("client filter: %w", err)
	}
	defer tx.Rollback()
	var approx int64
	// DuckDB takes a transaction's snapshot at its first statement.
	s.sessionsMu.Lock()
	// caller: clientFilter (size)
	err = tx.QueryRowContext(ctx, `SELECT coalesce(approx_count_distinct(client_id), 0) FROM sessions WHERE counter_id = ?`,
		int64(counter)).Scan(&approx)
	s.sessionsMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("client filter: %w", err)
	}
	f := newClientFilter(2 * int(approx))
	// caller: clientFilter (fill)
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT client_id FROM sessions WHERE counter_id = ?`, int64(counter))
	if err != nil {
		return nil, fmt.Errorf("client filter: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c uint64
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("client filter: %w", err)
		}
		f.add(c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("client filter: %w", err)
	}
	return f, nil
}
