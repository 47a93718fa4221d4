package adminapi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestSweepUploads: the upload directories of processes that are gone,
// and of an earlier process with this pid, are removed; a running
// server's and this process's own stay.
func TestSweepUploads(t *testing.T) {
	t.Parallel()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a := NewOps(Config{UploadDir: dir})
	own, err := a.spoolDir()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{ // name → kept
		filepath.Base(own): true,
		fmt.Sprintf("%s%d-%s-1", uploadDirPrefix, gone.Process.Pid, "abc"): false,
		fmt.Sprintf("%s%d-%s-2", uploadDirPrefix, os.Getpid(), "earlier"):  false,
		fmt.Sprintf("%s%d-%s-3", uploadDirPrefix, 1, "abc"):                true, // init runs
		uploadDirPrefix + "garbage":                                        false,
	}
	for name := range names {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "import-1.db"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, uploadDirPrefix+"1-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := SweepUploads(dir)
	if err != nil || n != 3 {
		t.Errorf("swept %d (%v), want 3", n, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	for name, kept := range names {
		if slices.Contains(left, name) != kept {
			t.Errorf("%s: kept %v, want %v", name, !kept, kept)
		}
	}
	if !slices.Contains(left, uploadDirPrefix+"1-file") {
		t.Errorf("a file was removed")
	}
}
