package hitlog

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDatasync: both ways of syncing, raw and through the scheduler, sync
// a file and report the system's error with the file's name; slow syncs
// move the mean past rawSyncMax, and fast ones bring it back.
func TestDatasync(t *testing.T) {
	defer syncMean.Store(0)
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, mean := range []time.Duration{0, time.Second} {
		syncMean.Store(int64(mean))
		if _, err := f.WriteAt([]byte("hits"), 0); err != nil {
			t.Fatal(err)
		}
		if err := datasync(f); err != nil {
			t.Errorf("mean %s: datasync: %v", mean, err)
		}
		syncMean.Store(int64(mean))
		// A character device cannot be synced: EINVAL.
		err := datasync(null)
		var pe *os.PathError
		if !errors.As(err, &pe) || pe.Op != "fdatasync" || pe.Path != os.DevNull || !errors.Is(err, syscall.EINVAL) {
			t.Errorf("mean %s: datasync(%s) = %v; want fdatasync %s: EINVAL", mean, os.DevNull, err, os.DevNull)
		}
	}
	// From a mean of a second, syncs of under a millisecond (a device
	// that fails at once) bring it under rawSyncMax within 50 syncs.
	syncMean.Store(int64(time.Second))
	for range 50 {
		datasync(null)
	}
	if m := time.Duration(syncMean.Load()); m >= rawSyncMax {
		t.Errorf("mean after 50 fast syncs: %s; want under %s", m, rawSyncMax)
	}
	f.Close()
	if err := datasync(f); err == nil {
		t.Error("datasync of a closed file: no error")
	}
}
