// Package crmlink is the domain of crmlink, a self-hosted end-to-end analytics
// service: counters and their tokens, sessions, CRM contacts and orders, order
// status types, uploads, goals, reports, and the interfaces between the parts.
//
// It imports nothing of ours. Each technology lives in its own package that
// depends on this one (duckdb, http, traffic, ...), and cmd/crmlink wires them.
package crmlink

import "time"

// Clock tells the time. Every part of crmlink reads time from an injected
// Clock so that tests can pin it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// FixedClock is a Clock that always answers the same instant; tests move it
// by assigning a new value.
type FixedClock struct{ T time.Time }

// Now returns c.T.
func (c *FixedClock) Now() time.Time { return c.T }

// Add moves the clock forward by d.
func (c *FixedClock) Add(d time.Duration) { c.T = c.T.Add(d) }
