package uploadqueue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/uploadqueue"
	"github.com/shopspring/decimal"
)

// port is the engine's side kept in memory: it applies an upload by
// reading its spooled chunks back (so that what was spooled is what is
// applied), once per id; it refuses the rows of customer "nobody" when
// checking, and fails every application while fail is set.
type port struct {
	mu       sync.Mutex
	applied  []string          // upload ids, in the order applied
	lines    map[string]int    // rows read back from each applied upload's chunks
	recorded []*crmlink.Upload // failed uploads recorded
	fail     error
}

func newPort() *port { return &port{lines: map[string]int{}} }

func (p *port) Counter(_ context.Context, id crmlink.CounterID) (*crmlink.Counter, error) {
	if id != 1 {
		return nil, crmlink.Errorf(crmlink.KindNotFound, "no counter %d", id)
	}
	return &crmlink.Counter{ID: 1}, nil
}

func (p *port) CheckOrders(_ context.Context, up *crmlink.Upload, chunk crmlink.SpoolFile) (*crmlink.ValidationError, error) {
	b, err := os.ReadFile(chunk.Path)
	if err != nil {
		return nil, err
	}
	v := &crmlink.ValidationError{}
	for _, row := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		cells := strings.Split(row, "\t")
		if cells[3] == "nobody" {
			var line int
			fmt.Sscan(cells[0], &line)
			v.Errors = append(v.Errors, crmlink.RowError{Line: line, Reason: "unknown customer"})
			v.Total++
			v.BadRows++
		}
	}
	if v.Total == 0 {
		return nil, nil
	}
	return v, nil
}

func (p *port) RecordUpload(_ context.Context, up *crmlink.Upload) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := *up
	p.recorded = append(p.recorded, &cp)
	return nil
}

func (p *port) ApplyUpload(_ context.Context, up *crmlink.Upload, chunks []crmlink.SpoolFile) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	if _, ok := p.lines[up.ID]; ok {
		return nil // applied once
	}
	n := 0
	for _, c := range chunks {
		b, err := os.ReadFile(c.Path)
		if err != nil {
			return err
		}
		if got := strings.Count(string(b), "\n"); got != c.Rows {
			return fmt.Errorf("chunk %s holds %d rows, its record says %d", c.Path, got, c.Rows)
		}
		n += c.Rows
	}
	p.lines[up.ID] = n
	p.applied = append(p.applied, up.ID)
	return nil
}

func (p *port) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, id := range p.applied {
		fmt.Fprintf(&b, "%s:%d ", id, p.lines[id])
	}
	return strings.TrimSpace(b.String())
}

// orders reads n orders of customer C1, or of "nobody" at the lines in bad.
type orders struct {
	n, i int
	bad  map[int]bool
}

func (r *orders) Next(o *crmlink.Order) error {
	if r.i == r.n {
		return io.EOF
	}
	r.i++
	cust := "C1"
	if r.bad[r.i] {
		cust = "nobody"
	}
	*o = crmlink.Order{Line: r.i + 1, ID: fmt.Sprint("O", r.i), UniqID: cust, Status: "paid", StatusType: crmlink.StatusPaid,
		Revenue: decimal.NewFromInt(int64(r.i)), Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return nil
}

var epoch = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

func open(t *testing.T, p *port, dir string) *uploadqueue.Queue {
	t.Helper()
	q, err := uploadqueue.Open(p, uploadqueue.Config{Dir: dir, Clock: &crmlink.FixedClock{T: epoch}, ChunkRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func accept(t *testing.T, q *uploadqueue.Queue, id string, r crmlink.OrderReader) *crmlink.Upload {
	t.Helper()
	up := &crmlink.Upload{ID: id, CounterID: 1, Format: "CSV"}
	if err := q.Accept(context.Background(), up, r); err != nil {
		t.Fatal(err)
	}
	if !up.Queued || up.Status != crmlink.UploadPassed {
		t.Fatalf("accepted %+v", up)
	}
	return up
}

// TestAcceptAndSync: accepted uploads are pending (listed, queued, their
// wait counted) until Sync applies them, oldest first, from every chunk
// they were spooled in; then their files are gone.
func TestAcceptAndSync(t *testing.T) {
	p := newPort()
	dir := t.TempDir()
	q := open(t, p, dir)
	accept(t, q, "a", &orders{n: 5})
	accept(t, q, "b", &orders{n: 1})
	accept(t, q, "c", &orders{n: 4})
	if up := q.Upload(1, "a"); up == nil || !up.Queued || up.Rows != 5 || up.Accepted != 5 {
		t.Errorf("pending upload a: %+v", up)
	}
	if list := q.Uploads(1, epoch.Add(time.Second)); len(list) != 3 || list[0].ID != "a" {
		t.Errorf("pending uploads: %v", list)
	}
	if list := q.Uploads(1, epoch); len(list) != 0 {
		t.Errorf("pending uploads created before they were: %v", list)
	}
	if since := q.WaitingSince(1); !since.Equal(epoch) {
		t.Errorf("waiting since %v", since)
	}
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.state(); got != "a:5 b:1 c:4" {
		t.Errorf("applied %s", got)
	}
	if q.Upload(1, "a") != nil || !q.WaitingSince(1).IsZero() {
		t.Error("an applied upload is still pending")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left after applying: %v", left)
	}
}

// TestAcceptRefused: rows the engine refuses, and rows the reader found
// bad, fail the upload together, in line order; it is recorded as failed,
// nothing is pending, and no file is left.
func TestAcceptRefused(t *testing.T) {
	p := newPort()
	dir := t.TempDir()
	q := open(t, p, dir)
	up := &crmlink.Upload{ID: "x", CounterID: 1}
	var v *crmlink.ValidationError
	err := q.Accept(context.Background(), up, &orders{n: 5, bad: map[int]bool{2: true, 5: true}})
	if !errors.As(err, &v) || v.Total != 2 || v.Errors[0].Line != 3 || v.Errors[1].Line != 6 {
		t.Fatalf("accept: %v", err)
	}
	if up.Queued || up.Status != crmlink.UploadFailed || up.Rows != 5 || up.Rejected != 2 || up.Accepted != 0 {
		t.Errorf("refused upload %+v", up)
	}
	if len(p.recorded) != 1 || p.recorded[0].Status != crmlink.UploadFailed {
		t.Errorf("recorded %v", p.recorded)
	}
	if q.Upload(1, "x") != nil {
		t.Error("a refused upload is pending")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left after refusing: %v", left)
	}
	if err := q.Accept(context.Background(), &crmlink.Upload{CounterID: 2}, &orders{n: 1}); crmlink.KindOf(err) != crmlink.KindNotFound {
		t.Errorf("an upload to no counter: %v", err)
	}
}

// TestReopen: uploads accepted and not applied when the process stopped
// are pending when the queue opens again, in the order accepted; the
// files of an upload whose acceptance was cut short are removed.
func TestReopen(t *testing.T) {
	p := newPort()
	dir := t.TempDir()
	q := open(t, p, dir)
	accept(t, q, "a", &orders{n: 3})
	accept(t, q, "b", &orders{n: 2})
	q.Close()
	orphan := filepath.Join(dir, "cut-short")
	if err := os.MkdirAll(orphan, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan, "crmlink-orders-1.tsv"), []byte("1\tO1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	q = open(t, p, dir)
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the files of an upload never accepted: %v", err)
	}
	if up := q.Upload(1, "b"); up == nil || !up.Queued || up.Rows != 2 {
		t.Errorf("pending after reopening: %+v", up)
	}
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.state(); got != "a:3 b:2" {
		t.Errorf("applied %s", got)
	}
	// A third upload after reopening comes after them.
	accept(t, q, "c", &orders{n: 1})
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.state(); got != "a:3 b:2 c:1" {
		t.Errorf("applied %s", got)
	}
}

// TestKickAndRetry: Kick applies in the background; an application that
// failed for a cause that passes (a full disk) leaves the upload pending,
// and it is applied again a while later without being asked.
func TestKickAndRetry(t *testing.T) {
	p := newPort()
	p.fail = fmt.Errorf("apply: %w", crmlink.ErrNoSpace)
	q := open(t, p, t.TempDir())
	accept(t, q, "a", &orders{n: 1})
	q.Kick()
	time.Sleep(100 * time.Millisecond)
	if got := p.state(); got != "" || q.Upload(1, "a") == nil {
		t.Fatalf("while failing: applied %q", got)
	}
	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for p.state() != "a:1" {
		if time.Now().After(deadline) {
			t.Fatal("the failed upload was not applied again within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(p.recorded) != 0 {
		t.Errorf("recorded as failed: %v", p.recorded)
	}
}

// TestOwnFault: an upload that fails for a fault of its own is recorded as
// failed, with the reason, and holds up no other.
func TestOwnFault(t *testing.T) {
	p := newPort()
	q := open(t, p, t.TempDir())
	accept(t, q, "a", &orders{n: 1})
	p.fail = errors.New("a value out of range")
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.fail = nil
	accept(t, q, "b", &orders{n: 1})
	if err := q.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.state(); got != "b:1" {
		t.Errorf("applied %q", got)
	}
	if len(p.recorded) != 1 || p.recorded[0].ID != "a" || p.recorded[0].Status != crmlink.UploadFailed ||
		!strings.Contains(p.recorded[0].Errors[0].Reason, "a value out of range") || p.recorded[0].Queued {
		t.Errorf("recorded %+v", p.recorded)
	}
	if q.Upload(1, "a") != nil {
		t.Error("the failed upload is still pending")
	}
}

// TestCloseStops: after Close nothing is applied, and a temporary queue's
// directory is gone.
func TestCloseStops(t *testing.T) {
	p := newPort()
	q, err := uploadqueue.Open(p, uploadqueue.Config{Clock: &crmlink.FixedClock{T: epoch}})
	if err != nil {
		t.Fatal(err)
	}
	accept(t, q, "a", &orders{n: 1})
	q.Close()
	q.Kick()
	time.Sleep(50 * time.Millisecond)
	if got := p.state(); got != "" {
		t.Errorf("after Close: applied %q", got)
	}
}
