package crmlink

import (
	"crypto/rand"
	"encoding/binary"
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
