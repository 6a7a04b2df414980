// Package web holds the files crmlink serves to browsers: the tag, the
// dashboard's templates, and its static files (our CSS and script, and the
// charting library, Chart.js, built by its authors and kept with its
// licence in static/vendor; web/vendor.sh fetches a new version from npm).
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sort"
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

//go:embed templates
var templates embed.FS

//go:embed static
var static embed.FS

// Templates holds the dashboard's html/template files: layout.html and
// one file per page.
var Templates, _ = fs.Sub(templates, "templates")

// Static holds the dashboard's static files.
var Static, _ = fs.Sub(static, "static")

// StaticHash is the first 12 hex digits of a SHA-256 over every static
// file: pages link to /static/<hash>/<file>, which may be cached for a
// year.
var StaticHash = func() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(Static, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(Static, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}()
