package http

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// signinLimiter slows down password and token guessing: after too many
// failed sign-ins from one address, or for one user name, within the
// window, further tries are refused until the window has passed. It lives
// in memory: a restart forgets it, which costs a guesser a restart each
// time.
type signinLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	window   time.Duration
	perAddr  int
	perUser  int
	failures map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, window: 15 * time.Minute, perAddr: 20, perUser: 50, failures: map[string]*failures{}}
}

// clientAddr is the address a request came from (without its port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (l *signinLimiter) keys(r *http.Request, user string) []string {
	keys := []string{"addr:" + clientAddr(r)}
	if user != "" {
		keys = append(keys, "user:"+user)
	}
	return keys
}

// blocked tells whether a sign-in from r for user must be refused now.
func (l *signinLimiter) blocked(r *http.Request, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range l.keys(r, user) {
		f := l.failures[k]
		if f == nil || now.Sub(f.since) >= l.window {
			continue
		}
		limit := l.perAddr
		if k[0] == 'u' {
			limit = l.perUser
		}
		if f.n >= limit {
			return true
		}
	}
	return false
}

// failed counts a failed sign-in.
func (l *signinLimiter) failed(r *http.Request, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.failures) > 10000 {
		for k, f := range l.failures {
			if now.Sub(f.since) >= l.window {
				delete(l.failures, k)
			}
		}
	}
	for _, k := range l.keys(r, user) {
		f := l.failures[k]
		if f == nil || now.Sub(f.since) >= l.window {
			f = &failures{since: now}
			l.failures[k] = f
		}
		f.n++
	}
}
