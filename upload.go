package crmlink

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"
)

// UploadEntity is what an upload carried.
type UploadEntity string

// Upload entities.
const (
	EntitySessions           UploadEntity = "sessions"
	EntityContacts           UploadEntity = "contacts"
	EntityOrders             UploadEntity = "orders"
	EntitySimpleOrders       UploadEntity = "simple_orders"
	EntityOfflineConversions UploadEntity = "offline_conversions"
)

// UploadStatus is Metrica's api_validation_status of an upload.
type UploadStatus string

// Upload statuses.
const (
	UploadPassed UploadStatus = "PASSED"
	UploadFailed UploadStatus = "FAILED"
)

// Upload is one file or request of data sent to a counter, with what became
// of it. Failed uploads are recorded too, with their row errors, so that
// nobody has to guess why a file was refused.
type Upload struct {
	ID        string
	CounterID CounterID
	Entity    UploadEntity
	Format    string // "CSV", "JSON", "TSV"
	Source    string // "API" or "CLI"
	MergeMode MergeMode
	// SkipInvalid (on_error=skip, ours) stores the valid rows of a file
	// with bad ones and reports those, instead of failing the upload.
	SkipInvalid bool
	Status      UploadStatus
	Rows        int // data rows read
	Accepted    int // rows stored
	Rejected    int // rows refused
	// Linked counts orders linked to a session; Unlinked counts the rest by
	// reason. Both are zero for uploads that carry no orders.
	Linked   int
	Unlinked map[string]int
	Errors   []RowError
	// ErrorsTotal counts every row error; Errors keeps the first
	// MaxRowErrors of them.
	ErrorsTotal int
	Created     time.Time
	Finished    time.Time
	// Queued says an accepted orders upload is not applied yet: its
	// orders are not in the store, and Linked and Unlinked are not known.
	Queued bool
}

// NewUploadID returns a fresh upload id: a random positive 53-bit number in
// decimal, the shape of Metrica's ids, exact even where JSON numbers are
// read as floats (the offline conversions API answers its id as a number).
func NewUploadID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	n := binary.BigEndian.Uint64(b[:]) >> 11
	if n == 0 {
		n = 1
	}
	return strconv.FormatUint(n, 10)
}

// PartialRows reports whether an upload's rows may leave out fields of the
// orders they change: UPDATE and APPEND carry only what changes.
func (u *Upload) PartialRows() bool {
	return u.MergeMode == MergeUpdate || u.MergeMode == MergeAppend
}

// Start fills the defaults of an upload about to be read: its entity
// (unless set, as for simple orders), a fresh id, its creation time and
// the SAVE merge mode.
func (up *Upload) Start(entity UploadEntity, now time.Time) {
	if up.Entity == "" {
		up.Entity = entity
	}
	if up.ID == "" {
		up.ID = NewUploadID()
	}
	if up.Created.IsZero() {
		up.Created = now
	}
	if up.MergeMode == "" {
		up.MergeMode = MergeSave
	}
}

// RowCounter is what a reader tells of the rows it read, when it can: all
// its data rows, and the row errors of those it skipped (on_error=skip).
type RowCounter interface {
	Rows() int
	Errors() *ValidationError
}

// Pass records that an upload read from r passed, accepted rows stored.
func (up *Upload) Pass(r any, accepted int) {
	up.Status = UploadPassed
	up.Rows, up.Accepted = accepted, accepted
	if rc, ok := r.(RowCounter); ok {
		up.Rows = rc.Rows()
		if v := rc.Errors(); v != nil && v.Total > 0 {
			up.Errors, up.ErrorsTotal, up.Rejected = v.Errors, v.Total, v.BadRows
		}
	}
}

// FailRead records that reading an upload from r failed with readErr after
// n rows, and returns the error the upload failed with. When readErr is the
// reader's row errors, those the store found in the rows it checked
// (rejected, may be nil) join them in line order; and a file that a syntax
// error stopped counts the rows after it too, which the reader counted.
func (up *Upload) FailRead(r any, n int, readErr error, rejected *ValidationError) error {
	var v *ValidationError
	if errors.As(readErr, &v) {
		if rejected != nil && rejected.Total > 0 {
			all := &ValidationError{Errors: slices.Clone(v.Errors), Total: v.Total, BadRows: v.BadRows}
			all.Merge(rejected)
			readErr, v, n = all, all, n-rejected.BadRows
		}
		if rc, ok := r.(RowCounter); ok {
			n = max(n, rc.Rows()-v.BadRows)
		}
	}
	up.Fail(n, readErr)
	return readErr
}

// Fail records that an upload failed with err, good rows of it valid: a
// validation error's row errors, or err's message when it is the file's
// fault (invalid, too large).
func (up *Upload) Fail(good int, err error) {
	up.Status = UploadFailed
	up.Accepted = 0
	var v *ValidationError
	if errors.As(err, &v) {
		up.Errors = v.Errors
		up.ErrorsTotal = v.Total
		up.Rejected = v.BadRows
		up.Rows = good + v.BadRows
		return
	}
	up.Rows = good
	if kind := KindOf(err); kind == KindInvalid || kind == KindTooLarge {
		up.Errors = []RowError{{Reason: MessageOf(err)}}
		up.ErrorsTotal = 1
	}
}

// SpoolFile is a file of rows written by package spool, as an accepted
// upload keeps its rows until a store applies them.
type SpoolFile struct {
	Path string `json:"path"`
	Rows int    `json:"rows"`
	// MaxLine is the longest row's length in bytes, its line break
	// included.
	MaxLine int `json:"max_line"`
}
