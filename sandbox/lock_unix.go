//go:build unix

package sandbox

import (
	"os"
	"path/filepath"
	"syscall"
)

// buildLock serialises image builds between processes on this host (parallel test packages,
// two CI jobs): the second waits, then finds the image the first built.
func buildLock(name string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "rollgate-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
