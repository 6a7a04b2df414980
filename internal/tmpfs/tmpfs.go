//go:build linux

// Package tmpfs gives tests a small file system of their own, to fill up:
// a tmpfs mounted on a temporary directory. Mounting needs root, which CI
// has; elsewhere the tests skip, unless CRMLINK_REQUIRE_TMPFS is set, as
// CI sets it, so that they cannot skip there unseen.
package tmpfs

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new temporary directory and
// returns the directory; it is unmounted when the test ends.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CRMLINK_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount a tmpfs (CRMLINK_REQUIRE_TMPFS is set): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (this test needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill takes the free space of the file system at dir down to about
// leave bytes with a file of its own, and returns the function that
// removes the file.
func Fill(t testing.TB, dir string, leave int64) (free func()) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	name := dir + "/filler-" + strconv.FormatInt(avail, 10)
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := avail - leave; n > 0 {
		if err := syscall.Fallocate(int(f.Fd()), 0, 0, n); err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
	return func() {
		if err := os.Remove(name); err != nil {
			t.Errorf("free %s: %v", dir, err)
		}
	}
}

// Free is the free space of the file system at dir, in bytes.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}
