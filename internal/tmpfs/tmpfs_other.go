//go:build !linux

package tmpfs

import "testing"

// Mount skips the test: tmpfs is Linux's.
func Mount(t testing.TB, size int64) string {
	t.Skip("tmpfs needs Linux")
	return ""
}

// Fill is Linux's only.
func Fill(t testing.TB, dir string, leave int64) (free func()) {
	t.Skip("tmpfs needs Linux")
	return nil
}

// Free is Linux's only.
func Free(t testing.TB, dir string) int64 { t.Skip("tmpfs needs Linux"); return 0 }
