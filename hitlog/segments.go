package hitlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmlink/crmlink/internal/durable"
)

// segmentLog is the durable log of acknowledged hit batches: append-only
// segment files in a directory beside the database, each record written
// and fsynced before WriteHits returns. The applier seals the segment being
// written (later batches go to a new one), applies the sealed segments'
// records in order, records the last applied number in hit_log_state in
// the same transaction, and then removes them. A record is
//
//	length uint32 | crc32c uint32 | seq uint64 | payload (length bytes)
//
// with the CRC over seq and payload. A record cut short by a crash, which
// was never acknowledged, ends its segment; segments are never appended to
// after a restart.
//
// Applied segments are recycled, as databases recycle their write-ahead
// log files: up to maxFreeSegments of them are renamed free-*.log and
// become later segments, written over from their start. A write into a
// file's existing blocks allocates none, so a sync has little file-system
// metadata to commit with our bytes; appending to a new file makes every
// sync commit the allocation through the file system's journal, which on
// ext4 first writes out the data DuckDB has just written to its own files,
// so that the hits would wait for DuckDB's writes. A recycled file still
// holds old records after the
// new ones: a record numbered below its segment's first number (from the
// file's name), or not above the record before it, ends the segment, and
// old records are numbered below every new one.
//
// Payloads are one gob stream per segment (appendGob), so the types are
// described once per segment rather than once per batch: a segment is read
// from its start (gobStream).
//
// The values appended in this process are kept in memory too (recent)
// until applied, so the applier need not read and decode what it was just
// given; the files are read when the store opens, or after a failed
// write, when memory may lack a batch the files hold. An in-memory store
// has only recent.
type segmentLog struct {
	dir string // "": in memory

	mu     sync.Mutex
	seq    int64    // the last number given
	cur    *os.File // the segment being written, or nil
	off    int64    // where cur's next record goes
	enc    *gob.Encoder
	encBuf bytes.Buffer
	name   func(seq int64) string
	// recent holds the values appended by this process and not yet
	// forgotten; complete says it holds every unapplied batch. lastFailed
	// is the number of the latest write that failed.
	recent     []logValue
	complete   bool
	lastFailed int64
	// now stamps each value appended, for waitingSince; nil: unstamped.
	now func() time.Time
}

type logValue struct {
	seq int64
	v   any
	at  time.Time
}

const (
	logHeader     = 16
	maxLogPayload = 256 << 20
	// maxFreeSegments is how many applied segments are kept for reuse.
	maxFreeSegments = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segmentName(seq int64) string { return fmt.Sprintf("hits-%020d.log", seq) }

// segmentStart is the first number a segment's file name gives, or 0 when
// the name gives none.
func segmentStart(path string) int64 {
	digits, ok1 := strings.CutPrefix(filepath.Base(path), "hits-")
	digits, ok2 := strings.CutSuffix(digits, ".log")
	if !ok1 || !ok2 {
		return 0
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0
	}
	return seq
}

// openSegments opens the log in dir ("" for memory); applied is the last
// batch number the store applied, below which no new number is given.
func openSegments(dir string, applied int64) (*segmentLog, error) {
	l := &segmentLog{dir: dir, seq: applied, name: segmentName, complete: dir == ""}
	if dir == "" {
		return l, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hit log: %w", err)
	}
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	for _, seg := range segs {
		if err := readSegment(seg, func(seq int64, _ []byte) error {
			l.seq = max(l.seq, seq)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// segments lists the segment files, oldest first.
func (l *segmentLog) segments() ([]string, error) {
	segs, err := filepath.Glob(filepath.Join(l.dir, "hits-*.log"))
	if err != nil {
		return nil, fmt.Errorf("hit log: %w", err)
	}
	slices.Sort(segs) // zero-padded numbers sort as text
	return segs, nil
}

// appendGob makes v durable, gob-encoded, and returns its number; v is
// kept in memory until forgotten, and must not change.
func (l *segmentLog) appendGob(v any) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var at time.Time
	if l.now != nil {
		at = l.now()
	}
	if l.dir == "" {
		l.seq++
		l.recent = append(l.recent, logValue{l.seq, v, at})
		return l.seq, nil
	}
	if err := l.openSegment(); err != nil {
		return 0, err
	}
	l.encBuf.Reset()
	if err := l.enc.Encode(v); err != nil {
		// The encoder's state is unsure: the next batch starts a segment.
		l.endSegment()
		return 0, fmt.Errorf("hit log: %w", err)
	}
	seq, err := l.appendLocked(l.encBuf.Bytes())
	if err != nil {
		// The record may be whole in the file though its write failed:
		// until it is applied, only the files tell every batch.
		l.complete, l.lastFailed = false, l.seq
		return 0, err
	}
	l.recent = append(l.recent, logValue{seq, v, at})
	return seq, nil
}

// waitingSince is when the oldest batch appended by this process and not
// yet applied was appended, or zero when none waits.
func (l *segmentLog) waitingSince() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recent) == 0 {
		return time.Time{}
	}
	return l.recent[0].at
}

// probe writes, syncs and removes a small file in the log's directory: a
// health check of the disk the tag's hits go to first.
func (l *segmentLog) probe() error {
	if l.dir == "" {
		return nil
	}
	name := filepath.Join(l.dir, "probe.tmp")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("hit log: %w", err)
	}
	_, err = f.Write(make([]byte, 512))
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close(), os.Remove(name))
	if err != nil {
		return fmt.Errorf("hit log: %w", err)
	}
	return nil
}

// openSegment starts a segment unless one is being written, with a fresh
// gob stream.
func (l *segmentLog) openSegment() error {
	if l.cur != nil {
		return nil
	}
	name := filepath.Join(l.dir, l.name(l.seq+1))
	f, err := l.segmentFile(name)
	if err != nil {
		return fmt.Errorf("hit log: %w", err)
	}
	// The new file's name must survive a crash too.
	if err := durable.Sync(l.dir); err != nil {
		f.Close()
		os.Remove(name) // it holds no record
		return fmt.Errorf("hit log: %w", err)
	}
	l.cur, l.off = f, 0
	l.encBuf.Reset()
	l.enc = gob.NewEncoder(&l.encBuf)
	return nil
}

// segmentFile opens the file of a new segment: a recycled one when there
// is one, else a new one.
func (l *segmentLog) segmentFile(name string) (*os.File, error) {
	if _, err := os.Stat(name); err == nil {
		// A segment of this name got no record (its first batch failed
		// to encode, or the process died before writing it): had it got
		// one, the number would have moved on. It is taken again, unless
		// it holds a record after all.
		n := 0
		if err := readSegment(name, func(int64, []byte) error { n++; return nil }); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, fmt.Errorf("segment %s exists with %d records", filepath.Base(name), n)
		}
		return os.OpenFile(name, os.O_WRONLY, 0o644)
	}
	free, err := filepath.Glob(filepath.Join(l.dir, "free-*.log"))
	if err != nil {
		return nil, err
	}
	if len(free) > 0 {
		if err := os.Rename(free[0], name); err != nil {
			return nil, err
		}
		return os.OpenFile(name, os.O_WRONLY, 0o644)
	}
	return os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
}

// recycle keeps an applied segment's file for reuse, or removes it when
// enough are kept.
func (l *segmentLog) recycle(seg string) error {
	free, err := filepath.Glob(filepath.Join(l.dir, "free-*.log"))
	if err == nil && len(free) < maxFreeSegments {
		err = os.Rename(seg, filepath.Join(l.dir, "free-"+filepath.Base(seg)))
	} else {
		err = os.Remove(seg)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// closeSegment ends the segment being written.
func (l *segmentLog) closeSegment() error {
	if l.cur == nil {
		return nil
	}
	err := l.cur.Close()
	l.cur, l.enc = nil, nil
	return err
}

// endSegment ends the segment being written after a failed write. A
// segment that got no acknowledged record is removed: it holds at most
// the failed one, which was never acknowledged, and on a full disk every
// batch would otherwise leave a file of its own behind.
func (l *segmentLog) endSegment() {
	if l.cur == nil {
		return
	}
	name := l.cur.Name()
	l.closeSegment()
	if l.off == 0 {
		os.Remove(name)
	}
}

func (l *segmentLog) appendLocked(payload []byte) (int64, error) {
	if len(payload) > maxLogPayload {
		l.endSegment()
		return 0, fmt.Errorf("hit log: a batch of %d bytes", len(payload))
	}
	if err := l.openSegment(); err != nil {
		return 0, err
	}
	// A number is never given twice, even to a write that failed: its
	// bytes may have reached the disk.
	l.seq++
	seq := l.seq
	rec := make([]byte, logHeader+len(payload))
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(rec[8:], uint64(seq))
	copy(rec[logHeader:], payload)
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))
	_, err := l.cur.WriteAt(rec, l.off)
	if err == nil {
		err = l.cur.Sync()
	}
	if err != nil {
		// Whatever reached the file ends this segment.
		l.endSegment()
		return 0, fmt.Errorf("hit log: %w", err)
	}
	l.off += int64(len(rec))
	return seq, nil
}

// seal closes the segment being written and returns every segment, the
// highest number they hold, and, when memory holds every unapplied batch,
// the values after applied up to that number (ok); otherwise the
// segments must be read.
func (l *segmentLog) seal(applied int64) (segs []string, upto int64, values []logValue, ok bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	upto = l.seq
	if l.complete {
		for _, r := range l.recent {
			if r.seq > applied {
				values = append(values, r)
			}
		}
		ok = true
	}
	if l.dir == "" {
		return nil, upto, values, ok, nil
	}
	if err := l.closeSegment(); err != nil {
		return nil, 0, nil, false, fmt.Errorf("hit log: %w", err)
	}
	segs, err = l.segments()
	return segs, upto, values, ok, err
}

// applied forgets what is applied: the values up to upto and the given
// segment files, every record of which up to upto is applied. The batches
// after upto were appended by this process, so memory holds them all
// unless a write after upto failed.
func (l *segmentLog) applied(upto int64, segs []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for i < len(l.recent) && l.recent[i].seq <= upto {
		i++
	}
	l.recent = slices.Delete(l.recent, 0, i)
	if l.dir == "" {
		return nil
	}
	var errs []error
	for _, seg := range segs {
		if err := l.recycle(seg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	l.complete = l.lastFailed <= upto
	return nil
}

// close closes the segment being written.
func (l *segmentLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeSegment()
}

// readSegment calls fn with each record of a segment, in order. A record
// cut short or failing its checksum ends the segment: it was being written
// when the process died, so it was never acknowledged. So does a record
// of the file's earlier life as another segment (see segmentLog).
func readSegment(path string, fn func(seq int64, payload []byte) error) error {
	start, prev := segmentStart(path), int64(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hit log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var head [logHeader]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return fmt.Errorf("hit log %s: %w", filepath.Base(path), err)
		}
		n := binary.LittleEndian.Uint32(head[0:])
		if n > maxLogPayload {
			return nil // torn
		}
		rec := make([]byte, 8+int(n))
		copy(rec, head[8:])
		if _, err := io.ReadFull(r, rec[8:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return fmt.Errorf("hit log %s: %w", filepath.Base(path), err)
		}
		if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(head[4:]) {
			return nil // torn
		}
		seq := int64(binary.LittleEndian.Uint64(rec))
		if seq < start || seq <= prev {
			return nil // an old record of a recycled file
		}
		prev = seq
		if err := fn(seq, rec[8:]); err != nil {
			return err
		}
	}
}

// gobStream decodes the payloads of one segment in order: the segment's
// batches share a gob stream.
type gobStream struct {
	buf bytes.Buffer
	dec *gob.Decoder
}

func newGobStream() *gobStream {
	g := &gobStream{}
	g.dec = gob.NewDecoder(&g.buf)
	return g
}

func (g *gobStream) decode(payload []byte, v any) error {
	g.buf.Write(payload)
	return g.dec.Decode(v)
}
