package hitlog

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// rawSyncMax is the mean sync time under which datasync makes its
// system call raw (see datasync).
const rawSyncMax = 5 * time.Millisecond

// syncMean is a moving mean of the time a sync takes, in nanoseconds:
// each sync moves it an eighth of the way to its own time.
var syncMean atomic.Int64

// datasync makes f's data durable, with its size but without its times:
// fdatasync(2), which needs no journal commit when the data overwrote
// blocks the file already had.
//
// While syncs are fast, the call is made raw: without telling Go's
// scheduler that the thread is in a system call. Told, the scheduler's
// monitor takes the thread's P after 20 µs and wakes another thread to
// run it, and the return has to get a P back; with a sync every
// millisecond or two under load, the monitor never rests. Raw, the thread
// keeps its P for the sync's 100–200 µs. Measured with bench collect at
// 50 connections, alternated five times: 7% less server CPU a hit and 7%
// more hits/s; a profile showed the monitor's share fall from 5.9% to
// 2.0%. (crmlink serve runs one P more than there are CPUs, so the P kept
// costs the handlers none.) The price is that a stop-the-world of the
// garbage collector waits for the sync, so on a disk whose syncs take
// rawSyncMax or longer on average, they go through the scheduler.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			start := time.Now()
			mean := syncMean.Load()
			if time.Duration(mean) < rawSyncMax {
				serr = nil
				if _, _, e := syscall.RawSyscall(syscall.SYS_FDATASYNC, fd, 0, 0); e != 0 {
					serr = e
				}
			} else {
				serr = syscall.Fdatasync(int(fd))
			}
			syncMean.Store(mean + (int64(time.Since(start))-mean)/8)
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
