// Package web holds the files crmlink serves to browsers: the tag.
package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:embed tag.js
var tag []byte

// Tag is tag.js.
func Tag() []byte { return tag }

// TagHash is the first 12 hex digits of tag.js's SHA-256: the tag's
// version, in its immutable URL /tag.<hash>.js and its ETag.
var TagHash = func() string {
	sum := sha256.Sum256(tag)
	return hex.EncodeToString(sum[:6])
}()
