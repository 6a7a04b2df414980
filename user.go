package crmlink

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// User is a person who signs in to the dashboard with a name and a
// password. Like a token, a user is good for one counter (or, with
// CounterID 0, for every counter) with one scope.
type User struct {
	Name string
	// PasswordHash is the password in a key derivation function's own
	// encoding (package http's HashPassword); the password is never kept.
	PasswordHash string
	CounterID    CounterID
	Scope        Scope
	Created      time.Time
}

// ValidUserName checks a user name: 1 to 64 letters, digits, and . _ - @.
func ValidUserName(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(KindInvalid, "user name must be 1 to 64 characters")
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return Errorf(KindInvalid, "user name %q: only letters, digits and . _ - @ are allowed", name)
		}
	}
	return nil
}

// WebSession is a browser signed in to the dashboard. Only the hash of its
// cookie is kept. It acts for the token it was opened with (TokenHash) or
// for a user (UserName), so revoking the token or removing the user ends
// it.
type WebSession struct {
	Hash      string
	TokenHash string
	UserName  string
	Created   time.Time
	Expires   time.Time
}

// UserStore keeps dashboard users and signed-in browsers.
type UserStore interface {
	// CreateUser stores a new user; a user of that name already existing
	// is an *Error of kind Conflict.
	CreateUser(ctx context.Context, u *User) error
	// User returns a user, or an *Error of kind NotFound.
	User(ctx context.Context, name string) (*User, error)
	// Users lists the users of one counter (0: the users of every
	// counter), by name.
	Users(ctx context.Context, counter CounterID) ([]*User, error)
	// SetUserPassword replaces a user's password hash.
	SetUserPassword(ctx context.Context, name, hash string) error
	// DeleteUser removes a user, which ends their signed-in browsers;
	// NotFound if there is no such user.
	DeleteUser(ctx context.Context, name string) error
	// CreateWebSession stores a signed-in browser.
	CreateWebSession(ctx context.Context, s *WebSession) error
	// WebSession returns a signed-in browser that has not expired at now,
	// or an *Error of kind Unauthorized.
	WebSession(ctx context.Context, hash string, now time.Time) (*WebSession, error)
	// DeleteWebSession signs a browser out; signing out twice is not an
	// error.
	DeleteWebSession(ctx context.Context, hash string) error
}
