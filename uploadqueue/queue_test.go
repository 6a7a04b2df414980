package uploadqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink/uploadqueue"
)

// port is a queue kept in memory, as an engine keeps it durably: ids in
// the order accepted, each applied (taken off) at once, or refused while
// fail is set, staying queued.
type port struct {
	mu      sync.Mutex
	queued  []string
	applied []string
	fail    error
}

func (p *port) NextQueued(context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queued) == 0 {
		return "", nil
	}
	return p.queued[0], nil
}

func (p *port) ApplyQueued(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	if len(p.queued) == 0 || p.queued[0] != id {
		return fmt.Errorf("applying %s, not the oldest queued (%v)", id, p.queued)
	}
	p.queued = p.queued[1:]
	p.applied = append(p.applied, id)
	return nil
}

func (p *port) state() (queued, applied string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprint(p.queued), fmt.Sprint(p.applied)
}

// TestSyncInOrder: Sync applies every queued upload, oldest first.
func TestSyncInOrder(t *testing.T) {
	p := &port{queued: []string{"a", "b", "c"}}
	q := uploadqueue.New(p, nil)
	defer q.Close()
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if queued, applied := p.state(); queued != "[]" || applied != "[a b c]" {
		t.Errorf("queued %s, applied %s", queued, applied)
	}
}

// TestKickAndRetry: Kick applies in the background; an application that
// failed for a cause that passes leaves the upload queued, and it is
// applied again a while later without being asked.
func TestKickAndRetry(t *testing.T) {
	p := &port{queued: []string{"a"}, fail: errors.New("no space left on device")}
	q := uploadqueue.New(p, nil)
	defer q.Close()
	q.Kick()
	time.Sleep(100 * time.Millisecond)
	if queued, applied := p.state(); queued != "[a]" || applied != "[]" {
		t.Fatalf("while failing: queued %s, applied %s", queued, applied)
	}
	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, applied := p.state(); applied == "[a]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed upload was not applied again within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCloseStops: after Close nothing is applied, and an application in
// flight sees its context end.
func TestCloseStops(t *testing.T) {
	p := &port{}
	q := uploadqueue.New(p, nil)
	q.Close()
	p.mu.Lock()
	p.queued = []string{"a"}
	p.mu.Unlock()
	q.Kick()
	time.Sleep(50 * time.Millisecond)
	if queued, applied := p.state(); queued != "[a]" || applied != "[]" {
		t.Errorf("after Close: queued %s, applied %s", queued, applied)
	}
}
