package hitlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmlink/crmlink/internal/tmpfs"
)

func readAll(t *testing.T, l *segmentLog, after int64) (seqs []int64, payloads []string) {
	t.Helper()
	segs, _, _, _, err := l.seal(after)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range segs {
		if err := readSegment(seg, func(seq int64, p []byte) error {
			if seq <= after {
				return nil
			}
			seqs = append(seqs, seq)
			payloads = append(payloads, string(p))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return seqs, payloads
}

func TestHitLogFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, err := openSegments(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		seq, err := l.append([]byte(fmt.Sprint("batch ", i)))
		if err != nil || seq != int64(8+i) {
			t.Fatalf("append %d: %d, %v", i, seq, err)
		}
	}
	// A sealed segment is not written again: later batches go to a new one.
	seqs, _ := readAll(t, l, 0)
	if fmt.Sprint(seqs) != "[8 9 10]" {
		t.Fatalf("read %v", seqs)
	}
	if _, err := l.append([]byte("batch 3")); err != nil {
		t.Fatal(err)
	}
	segs, _ := l.segments()
	if len(segs) != 2 {
		t.Fatalf("segments %v, want 2", segs)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, the log goes on from its highest number, and reads after
	// a given one.
	l, err = openSegments(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := l.append([]byte("batch 4")); seq != 12 {
		t.Errorf("after reopening, the next number is %d, want 12", seq)
	}
	seqs, payloads := readAll(t, l, 9)
	if fmt.Sprint(seqs) != "[10 11 12]" || payloads[2] != "batch 4" {
		t.Errorf("after 9: %v %q", seqs, payloads)
	}
	// Applied segments are removed.
	segs, upto, _, _, _ := l.seal(0)
	if upto != 12 {
		t.Errorf("sealed up to %d, want 12", upto)
	}
	if err := l.applied(12, segs); err != nil {
		t.Fatal(err)
	}
	if left, _ := l.segments(); len(left) != 0 {
		t.Errorf("left after applying: %v", left)
	}
}

// TestHitLogTornTail: a record cut short or corrupted by a crash mid-write
// ends its segment; the records before it are read.
func TestHitLogTornTail(t *testing.T) {
	for _, damage := range []struct {
		name string
		fn   func(b []byte) []byte
	}{
		{"cut in the payload", func(b []byte) []byte { return b[:len(b)-3] }},
		{"cut in the header", func(b []byte) []byte { return b[:len(b)-len("third")-logHeader+5] }},
		{"flipped bit", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"huge length", func(b []byte) []byte {
			b[len(b)-len("third")-logHeader+3] = 0xff
			return b
		}},
	} {
		t.Run(damage.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db.hits")
			l, _ := openSegments(dir, 0)
			for _, p := range []string{"first", "second", "third"} {
				if _, err := l.append([]byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			l.close()
			segs, _ := l.segments()
			b, _ := os.ReadFile(segs[0])
			if err := os.WriteFile(segs[0], damage.fn(b), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := openSegments(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			seqs, payloads := readAll(t, l, 0)
			if fmt.Sprint(seqs) != "[1 2]" || payloads[1] != "second" {
				t.Errorf("read %v %q, want the first two", seqs, payloads)
			}
			// The torn record's number is not given again.
			if seq, _ := l.append([]byte("fourth")); seq != 3 && seq != 4 {
				t.Errorf("next number %d", seq)
			}
		})
	}
}

func TestHitLogMemory(t *testing.T) {
	l, _ := openSegments("", 0)
	for _, p := range []string{"a", "b", "c"} {
		l.appendGob(p)
	}
	_, upto, values, ok, _ := l.seal(1)
	if !ok || upto != 3 || len(values) != 2 || values[0].v != "b" {
		t.Errorf("seal(1) = %d %+v %v", upto, values, ok)
	}
	l.applied(2, nil)
	if _, _, values, _, _ := l.seal(0); len(values) != 1 || values[0].seq != 3 {
		t.Errorf("after applied(2): %+v", values)
	}
}

// TestHitLogRecent: a file log hands the applier what this process
// appended, from memory, once the files it opened with are applied; a
// failed or raw write sends it back to the files until that batch is
// applied.
func TestHitLogRecent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	l.append([]byte("from an earlier process"))
	l.close()
	l, _ = openSegments(dir, 0)
	if _, _, _, ok, _ := l.seal(0); ok {
		t.Fatal("memory claims the batch the files hold")
	}
	l.appendGob("x")
	segs, upto, _, ok, _ := l.seal(0)
	if ok || upto != 2 {
		t.Fatalf("seal: up to %d, from memory %v", upto, ok)
	}
	l.applied(upto, segs)
	l.appendGob("y")
	_, upto, values, ok, _ := l.seal(2)
	if !ok || upto != 3 || len(values) != 1 || values[0].v != "y" {
		t.Errorf("after the files were applied: %d %+v %v", upto, values, ok)
	}
	l.append([]byte("raw"))
	if _, _, _, ok, _ := l.seal(3); ok {
		t.Error("memory claims a raw batch")
	}
}

// TestHitLogGobStream: the batches of a segment share a gob stream, read
// from the segment's start; a new segment starts a new stream.
func TestHitLogGobStream(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	type batch struct{ Items []string }
	for i := range 3 {
		if _, err := l.appendGob(batch{Items: []string{fmt.Sprint("a", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	l.seal(0)
	if _, err := l.appendGob(batch{Items: []string{"b0"}}); err != nil {
		t.Fatal(err)
	}
	segs, _, _, _, _ := l.seal(0)
	if len(segs) != 2 {
		t.Fatalf("segments %v", segs)
	}
	var got []string
	for _, seg := range segs {
		stream := newGobStream()
		if err := readSegment(seg, func(seq int64, p []byte) error {
			var b batch
			if err := stream.decode(p, &b); err != nil {
				return err
			}
			got = append(got, fmt.Sprint(seq, " ", b.Items[0]))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[1 a0 2 a1 3 a2 4 b0]" {
		t.Errorf("read %v", got)
	}
	// The second batch alone, without the first's type description, does
	// not decode: a segment must be read from its start.
	var second []byte
	readSegment(segs[0], func(seq int64, p []byte) error {
		if seq == 2 {
			second = p
		}
		return nil
	})
	var b batch
	if err := newGobStream().decode(second, &b); err == nil {
		t.Error("a batch decoded without its segment's start")
	}
}

// TestHitLogEncodeFailure: a batch that cannot be encoded fails alone; the
// next one is written, though the segment it would have opened exists.
func TestHitLogEncodeFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	if _, err := l.appendGob(func() {}); err == nil {
		t.Fatal("a func was encoded")
	}
	if seq, err := l.appendGob("next"); err != nil || seq != 1 {
		t.Fatalf("the next batch: %d, %v", seq, err)
	}
	seqs, _ := readAll(t, l, 0)
	if fmt.Sprint(seqs) != "[1]" {
		t.Errorf("read %v", seqs)
	}
}

// append, for these tests, makes a raw payload durable and returns its
// number. The payload is
// not kept in memory: until it is applied, the files must be read.
func (l *segmentLog) append(payload []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, err := l.appendLocked(payload)
	l.complete, l.lastFailed = false, l.seq
	return seq, err
}

// TestHitLogRecycle: an applied segment's file is reused for a later
// segment, written over from its start; its old records, after the new
// ones, are never read, whether the process goes on or restarts.
func TestHitLogRecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	long := strings.Repeat("x", 500)
	for i := range 3 {
		if _, err := l.append([]byte(fmt.Sprint(long, i))); err != nil {
			t.Fatal(err)
		}
	}
	segs, upto, _, _, _ := l.seal(0)
	if err := l.applied(upto, segs); err != nil {
		t.Fatal(err)
	}
	free, _ := filepath.Glob(filepath.Join(dir, "free-*.log"))
	if left, _ := l.segments(); len(left) != 0 || len(free) != 1 {
		t.Fatalf("after applying: segments %v, free %v; want one free file", left, free)
	}
	old, _ := os.Stat(free[0])
	if seq, err := l.append([]byte("short")); err != nil || seq != 4 {
		t.Fatalf("append: %d, %v", seq, err)
	}
	segs, _ = l.segments()
	if free, _ := filepath.Glob(filepath.Join(dir, "free-*.log")); len(segs) != 1 || len(free) != 0 {
		t.Fatalf("segments %v, free %v; want the free file taken", segs, free)
	}
	if st, _ := os.Stat(segs[0]); st.Size() != old.Size() {
		t.Errorf("the reused file has %d bytes, had %d: it was not written over", st.Size(), old.Size())
	}
	check := func(when string, l *segmentLog) {
		t.Helper()
		seqs, payloads := readAll(t, l, 3)
		if fmt.Sprint(seqs) != "[4]" || payloads[0] != "short" {
			t.Errorf("%s: read %v %q, want [4] short", when, seqs, payloads)
		}
	}
	check("going on", l)
	l.close()
	l, err := openSegments(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	check("after reopening", l)
	if seq, _ := l.append([]byte("after")); seq != 5 {
		t.Errorf("after reopening, the next number is %d, want 5", seq)
	}
}

// TestHitLogRecycledEmpty: a process that died after renaming a free file
// to a segment and before writing to it leaves a segment of old records
// only. None is read, and the segment is written again under its name.
func TestHitLogRecycledEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	for _, p := range []string{"one", "two"} {
		if _, err := l.append([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	segs, upto, _, _, _ := l.seal(0)
	l.applied(upto, segs)
	l.close()
	free, _ := filepath.Glob(filepath.Join(dir, "free-*.log"))
	if len(free) != 1 {
		t.Fatalf("free files %v", free)
	}
	if err := os.Rename(free[0], filepath.Join(dir, segmentName(3))); err != nil {
		t.Fatal(err)
	}
	l, err := openSegments(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if seqs, _ := readAll(t, l, 0); len(seqs) != 0 {
		t.Errorf("read %v from a segment of old records", seqs)
	}
	if seq, err := l.append([]byte("three")); err != nil || seq != 3 {
		t.Fatalf("append: %d, %v", seq, err)
	}
	if seqs, payloads := readAll(t, l, 0); fmt.Sprint(seqs) != "[3]" || payloads[0] != "three" {
		t.Errorf("read %v %q", seqs, payloads)
	}
}

// TestHitLogFreeBound: at most maxFreeSegments files are kept for reuse.
func TestHitLogFreeBound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db.hits")
	l, _ := openSegments(dir, 0)
	for i := range 4 {
		if _, err := l.append([]byte(fmt.Sprint("batch ", i))); err != nil {
			t.Fatal(err)
		}
		l.seal(0) // one segment each
	}
	segs, upto, _, _, _ := l.seal(0)
	if len(segs) != 4 {
		t.Fatalf("segments %v, want 4", segs)
	}
	if err := l.applied(upto, segs); err != nil {
		t.Fatal(err)
	}
	if free, _ := filepath.Glob(filepath.Join(dir, "free-*.log")); len(free) != maxFreeSegments {
		t.Errorf("free files %v, want %d", free, maxFreeSegments)
	}
	if left, _ := l.segments(); len(left) != 0 {
		t.Errorf("segments left %v", left)
	}
}

func TestSegmentStart(t *testing.T) {
	for name, want := range map[string]int64{
		segmentName(8):                     8,
		"/x/" + segmentName(1234567890123): 1234567890123,
		"free-" + segmentName(3):           0,
		"hits-12.tmp":                      0,
		"hits-x.log":                       0,
	} {
		if got := segmentStart(name); got != want {
			t.Errorf("segmentStart(%q) = %d, want %d", name, got, want)
		}
	}
}

// TestHitLogFullDisk: on a full disk every append fails without leaving a
// file behind (each failed batch left an empty segment), what was
// acknowledged stays readable, and appends succeed again once there is
// space.
func TestHitLogFullDisk(t *testing.T) {
	root := tmpfs.Mount(t, 1<<20)
	dir := filepath.Join(root, "db.hits")
	l, err := openSegments(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	var acked []int64
	appendMany := func(n int) (failed int) {
		for i := range n {
			seq, err := l.append([]byte(strings.Repeat("h", 300) + fmt.Sprint(i)))
			if err != nil {
				failed++
				continue
			}
			acked = append(acked, seq)
		}
		return failed
	}
	if failed := appendMany(3); failed != 0 {
		t.Fatalf("%d appends failed before the disk was full", failed)
	}
	free := tmpfs.Fill(t, root, 0)
	if failed := appendMany(500); failed < 490 {
		t.Fatalf("%d of 500 appends failed on a full disk", failed)
	}
	if files, _ := os.ReadDir(dir); len(files) > 2 {
		t.Errorf("%d files in the log's directory after failed appends, want at most 2", len(files))
	}
	free()
	if failed := appendMany(3); failed != 0 {
		t.Fatalf("%d appends failed once there was space", failed)
	}
	seqs, _ := readAll(t, l, 0)
	if fmt.Sprint(seqs) != fmt.Sprint(acked) {
		t.Errorf("read %v, acknowledged %v", seqs, acked)
	}
}
