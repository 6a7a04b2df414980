// Package durable makes what is already written survive a crash.
package durable

import "os"

// Sync makes a closed file's data, or a directory's entries, durable:
// it opens the path and syncs it.
func Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
