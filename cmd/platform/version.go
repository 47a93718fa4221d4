package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tenancy/platform/platform/backup"
)

// version is the build's version; the image build sets it with
// -ldflags "-X main.version=...".
var version = "dev"

// versionCmd prints the binary's version and every pg_dump that backups
// choose from (backup.PGDumpCandidates): a server's backup takes the one
// of its own major, else the oldest newer one.
func versionCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 0 {
		return usagef("version: unexpected argument %q", args[0])
	}
	if _, err := fmt.Fprintf(stdout, "platform %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	paths := backup.PGDumpCandidates(getenv("PLATFORM_PG_BIN_DIR"))
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
