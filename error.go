package crmlink

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrorKind classifies an error so that each interface (HTTP, CLI) can map it
// to its own status in one place.
type ErrorKind int

// Error kinds.
const (
	KindInternal     ErrorKind = iota // a bug or a failure of something we depend on
	KindInvalid                       // the caller sent something wrong
	KindNotFound                      // the thing asked for does not exist
	KindConflict                      // the request conflicts with the current state
	KindUnauthorized                  // no valid credentials
	KindForbidden                     // valid credentials, but not for this
	KindTooLarge                      // a body or a file over a configured limit
	KindUnavailable                   // try again later (store busy, shutting down)
	KindUpstream                      // a service we called (an ad platform's API) failed or refused
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindTooLarge:
		return "too large"
	case KindUnavailable:
		return "unavailable"
	case KindUpstream:
		return "upstream"
	}
	return "internal"
}

// ErrStoreFailed marks a store error after which the store cannot serve
// until it is opened again: DuckDB refuses every statement once a write
// to its files failed in a checkpoint. A store's errors carry it, beside
// an *Error of kind Unavailable that says so to the user.
var ErrStoreFailed = errors.New("the store failed")

// ErrNoSpace marks a write that the store's disk had no room for: nothing
// of it was stored, and it can be sent again once there is space.
var ErrNoSpace = errors.New("no space left on the store's disk")

// Error is an error meant for the user: its Message is safe to show. Errors
// of other types are internal, logged, and shown only as "internal error".
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error or *ValidationError in err's
// chain, or KindInternal.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var v *ValidationError
	if errors.As(err, &v) {
		return KindInvalid
	}
	return KindInternal
}

// MessageOf returns the user-facing message of err: the message of an *Error
// or *ValidationError in its chain, or "internal error".
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	var v *ValidationError
	if errors.As(err, &v) {
		return v.Error()
	}
	return "internal error"
}

// RowError is one bad cell of an uploaded file: its 1-based line (the header
// is line 1 in CSV), the column (a header name, or a JSON field), the value
// found and why it was refused.
type RowError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"message"`
}

func (e RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d", e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, ", column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Value != "" {
		v := e.Value
		if len(v) > 60 {
			v = v[:60] + "…"
		}
		fmt.Fprintf(&b, " (value %q)", v)
	}
	return b.String()
}

// MaxRowErrors is how many row errors an upload keeps; past it, only the
// count grows.
const MaxRowErrors = 1000

// ValidationError is a file that failed validation: its row errors (at most
// MaxRowErrors of them) and how many there were in all.
type ValidationError struct {
	Errors []RowError
	Total  int
	// BadRows counts the rows that had at least one error.
	BadRows int
}

// Add records a row error.
func (v *ValidationError) Add(e RowError) {
	v.Total++
	if len(v.Errors) < MaxRowErrors {
		v.Errors = append(v.Errors, e)
	}
}

// Merge adds w's row errors and counts to v's. The errors are kept in line
// order (those of one line in the order added), the first MaxRowErrors of
// them: when v and w each list the first errors of their rows by line, as
// readers and stores make them, v then lists the first of both.
func (v *ValidationError) Merge(w *ValidationError) {
	v.Errors = append(v.Errors, w.Errors...)
	slices.SortStableFunc(v.Errors, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	if len(v.Errors) > MaxRowErrors {
		v.Errors = slices.Clip(v.Errors[:MaxRowErrors])
	}
	v.Total += w.Total
	v.BadRows += w.BadRows
}

func (v *ValidationError) Error() string {
	if len(v.Errors) == 0 {
		return "invalid file"
	}
	var b strings.Builder
	for i, e := range v.Errors {
		if i == 3 {
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	if v.Total > 3 {
		fmt.Fprintf(&b, "; and %d more errors", v.Total-3)
	}
	return b.String()
}

// ErrInUse marks the error of opening a store that another process holds
// (an embedded store's file is opened by one process at a time).
var ErrInUse = errors.New("the store is in use by another process")
