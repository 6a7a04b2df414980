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
// filter, if the counter has one yet (a filter built later reads it from
// the sessions). The caller holds s.writeMu.
func (s *Store) noteClient(counter crmlink.CounterID, client uint64) {
	s.filterMu.Lock()
	if f := s.filters[counter]; f != nil {
		f.add(client)
	}
	s.filterMu.Unlock()
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

// buildClientFilter reads a counter's ClientIDs into a new filter, under
// the write lock so that no session commits unseen meanwhile.
func (s *Store) buildClientFilter(ctx context.Context, counter crmlink.CounterID) (*clientFilter, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// Another look-up may have built it while this one waited.
	s.filterMu.Lock()
	f := s.filters[counter]
	s.filterMu.Unlock()
	if f != nil && f.n <= f.capacity {
		return f, nil
	}
	var approx int64
	// caller: clientFilter (size)
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(approx_count_distinct(client_id), 0) FROM sessions WHERE counter_id = ?`,
		int64(counter)).Scan(&approx); err != nil {
		return nil, fmt.Errorf("client filter: %w", err)
	}
	f = newClientFilter(2 * int(approx))
	// caller: clientFilter (fill)
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT client_id FROM sessions WHERE counter_id = ?`, int64(counter))
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
	if f.n > f.capacity { // the estimate was off
		f.capacity = f.n
	}
	s.filterMu.Lock()
	if s.filters == nil {
		s.filters = map[crmlink.CounterID]*clientFilter{}
	}
	s.filters[counter] = f
	s.filterMu.Unlock()
	return f, nil
}
