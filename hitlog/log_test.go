package hitlog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/hitlog"
)

// port is a crmlink.HitPort that records what it is given, as an engine
// would store it: the batches' ClientIDs in order, and the last number
// applied. It fails while fail is set, applying nothing.
type port struct {
	mu      sync.Mutex
	applied int64
	clients []uint64
	calls   int
	fail    error
}

func (p *port) HitsApplied(context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied, nil
}

func (p *port) ApplyHits(_ context.Context, upto int64, batches [][]crmlink.SessionHit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		return p.fail
	}
	if upto <= p.applied {
		return fmt.Errorf("batches up to %d handed on again after %d was applied", upto, p.applied)
	}
	for _, b := range batches {
		for _, h := range b {
			p.clients = append(p.clients, h.ClientID)
		}
	}
	p.applied = upto
	return nil
}

func (p *port) LastSessions(context.Context, crmlink.CounterID, []uint64) (map[uint64]*crmlink.Session, error) {
	return nil, nil
}

func (p *port) got() (int64, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied, fmt.Sprint(p.clients)
}

func batch(clients ...uint64) []crmlink.SessionHit {
	var b []crmlink.SessionHit
	for _, c := range clients {
		b = append(b, crmlink.SessionHit{Hit: crmlink.Hit{CounterID: 1, ClientID: c, Kind: crmlink.HitPageview}, SessionID: c, New: true})
	}
	return b
}

// TestLogApplies: written batches reach the port in order, with the
// number of the last; a closed log applies what it holds; one opened
// again hands on only what the port has not applied.
func TestLogApplies(t *testing.T) {
	for _, dir := range []string{"", filepath.Join(t.TempDir(), "hits")} {
		t.Run(fmt.Sprintf("dir=%t", dir != ""), func(t *testing.T) {
			ctx := context.Background()
			p := &port{}
			l, err := hitlog.Open(ctx, p, hitlog.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range [][]crmlink.SessionHit{batch(1, 2), batch(3), batch(4, 5)} {
				if err := l.Write(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if n, clients := p.got(); n != 3 || clients != "[1 2 3 4 5]" {
				t.Fatalf("after Sync: applied %d, clients %s", n, clients)
			}
			if err := l.Write(ctx, batch(6)); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if n, clients := p.got(); n != 4 || clients != "[1 2 3 4 5 6]" {
				t.Fatalf("after Close: applied %d, clients %s", n, clients)
			}
			if dir == "" {
				return
			}
			// Opened again: nothing is handed on twice, and numbers go on.
			l, err = hitlog.Open(ctx, p, hitlog.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.Write(ctx, batch(7)); err != nil {
				t.Fatal(err)
			}
			if err := l.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if n, clients := p.got(); n != 5 || clients != "[1 2 3 4 5 6 7]" {
				t.Fatalf("reopened: applied %d, clients %s", n, clients)
			}
		})
	}
}

// TestLogAfterCrash: batches a process acknowledged and did not apply
// are applied when the log opens, before Open returns; those the port
// applied already are passed over.
func TestLogAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "hits")
	if err := hitlog.Append(dir, batch(1), batch(2), batch(3)); err != nil {
		t.Fatal(err)
	}
	p := &port{applied: 1} // the crash came after batch 1 was applied
	l, err := hitlog.Open(ctx, p, hitlog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, clients := p.got(); n != 3 || clients != "[2 3]" {
		t.Fatalf("after opening: applied %d, clients %s; want 3, [2 3]", n, clients)
	}
}

// TestLogPortFails: a batch the port could not apply stays logged and
// is handed on again, with the same number, once the port works; the
// log answers writes meanwhile.
func TestLogPortFails(t *testing.T) {
	ctx := context.Background()
	p := &port{fail: errors.New("disk full")}
	clock := &crmlink.FixedClock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l, err := hitlog.Open(ctx, p, hitlog.Config{Dir: filepath.Join(t.TempDir(), "hits"), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(ctx, batch(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err == nil {
		t.Fatal("Sync succeeded while the port failed")
	}
	if err := l.Write(ctx, batch(2)); err != nil {
		t.Fatalf("a write while the port fails: %v", err)
	}
	if got := l.WaitingSince(); !got.Equal(clock.T) {
		t.Errorf("waiting since %v, want %v", got, clock.T)
	}
	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, clients := p.got(); n != 2 || clients != "[1 2]" {
		t.Fatalf("after the port recovered: applied %d, clients %s", n, clients)
	}
	if got := l.WaitingSince(); !got.IsZero() {
		t.Errorf("waiting since %v with nothing logged", got)
	}
}
