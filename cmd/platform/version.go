package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// version is the build's version; the image build sets it with
// -ldflags "-X main.version=...".
var version = "dev"

// versionCmd prints the binary's version and every pg_dump that backups
// could use, in the order they are tried (PLATFORM_PG_BIN_DIR alone, or
// PATH then /usr/lib/postgresql/*/bin newest first, as platform/backup
// does): an image's pg_dump major must be at least its servers'.
func versionCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 0 {
		return usagef("version: unexpected argument %q", args[0])
	}
	if _, err := fmt.Fprintf(stdout, "platform %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	var paths []string
	if dir := getenv("PLATFORM_PG_BIN_DIR"); dir != "" {
		paths = []string{filepath.Join(dir, "pg_dump")}
	} else {
		if p, err := exec.LookPath("pg_dump"); err == nil {
			paths = append(paths, p)
		}
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		major := func(p string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p)))); return n }
		slices.SortFunc(found, func(a, b string) int { return major(b) - major(a) })
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		_, err := fmt.Fprintln(stdout, "pg_dump: none found (backups cannot run)")
		return err
	}
	for _, p := range paths {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		cancel()
		line := strings.TrimSpace(string(out))
		if err != nil {
			line = "does not run: " + err.Error()
		}
		if _, err := fmt.Fprintf(stdout, "pg_dump: %s: %s\n", p, line); err != nil {
			return err
		}
	}
	return nil
}
