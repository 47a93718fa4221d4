package adminapi

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Uploads wait for their import job in a directory of this process's own
// (mode 0700) under Config.UploadDir: platform-uploads-PID-START-*. A
// server killed before its jobs ended leaves its directory, with legacy
// databases (and their plaintext passwords) in it; SweepUploads removes
// those of processes that are gone.
const uploadDirPrefix = "platform-uploads-"

// processStart tells this process's directories from those of an
// earlier process with the same pid (a restarted container is pid 1
// again).
var processStart = strconv.FormatInt(time.Now().UnixNano(), 36)

// spoolDir makes this Ops's upload directory on first use.
func (a *Ops) spoolDir() (string, error) {
	a.dirOnce.Do(func() {
		a.dir, a.dirErr = os.MkdirTemp(a.cfg.UploadDir, fmt.Sprintf("%s%d-%s-", uploadDirPrefix, os.Getpid(), processStart))
	})
	return a.dir, a.dirErr
}

// SweepUploads removes the upload directories in dir (the system's
// temporary directory for "") of processes that no longer run, and
// returns how many; serve calls it at start.
func SweepUploads(dir string) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), uploadDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, rest, _ := strings.Cut(rest, "-")
		start, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && running(pid) && (pid != os.Getpid() || start == processStart) {
			continue // a live server's (or ours)
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// running reports whether a process pid exists (it may be another
// user's: EPERM).
func running(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
