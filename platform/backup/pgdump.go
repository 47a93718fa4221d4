package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenancy/platform/platform/pgadmin"
	"github.com/tenancy/platform/tenant"
)

// pgDump is a pg_dump binary and its version.
type pgDump struct {
	path    string
	version string // "15.14"
	major   int
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// parseVersion reads `pg_dump --version` output: "pg_dump (PostgreSQL)
// 15.14 (Debian 15.14-0+deb12u1)" → "15.14", 15.
func parseVersion(out string) (string, int, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("unrecognised version output %q", strings.TrimSpace(out))
	}
	major, err := strconv.Atoi(m[1])
	if err != nil {
		return "", 0, err
	}
	v := m[1]
	if m[2] != "" {
		v += "." + m[2]
	}
	return v, major, nil
}

// PGDumpCandidates are the pg_dump binaries backups choose from (for a
// server, pickPGDump takes the one of its own major, else the oldest newer
// one): the configured directory alone, or PATH's then Debian's versioned
// directories, newest first. `platform version` lists them.
func PGDumpCandidates(binDir string) []string {
	if binDir != "" {
		return []string{filepath.Join(binDir, "pg_dump")}
	}
	var cs []string
	if p, err := exec.LookPath("pg_dump"); err == nil {
		cs = append(cs, p)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	slices.SortFunc(found, func(a, b string) int { return versionDir(b) - versionDir(a) })
	return append(cs, found...)
}

func versionDir(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// findPGDump returns the candidate of the server's own major, or else the
// oldest one newer than the server: an older pg_dump may fail on, or
// silently miss, what a newer server has, and a newer one's pg_restore
// (verify and restore take the one beside it) emits settings an older
// server refuses (pg_restore 17 into 15: SET transaction_timeout).
func findPGDump(ctx context.Context, binDir string, serverMajor int, serverVersion string) (pgDump, error) {
	var found []pgDump
	for _, p := range PGDumpCandidates(binDir) {
		out, err := exec.CommandContext(ctx, p, "--version").Output()
		if err != nil {
			continue
		}
		v, major, err := parseVersion(string(out))
		if err != nil {
			continue
		}
		found = append(found, pgDump{path: p, version: v, major: major})
	}
	d := pickPGDump(found, serverMajor)
	return d, checkVersion(d, serverMajor, serverVersion, binDir)
}

// pickPGDump is the first of found with the smallest major at least
// serverMajor; without one, the newest older one (for checkVersion's
// message).
func pickPGDump(found []pgDump, serverMajor int) pgDump {
	var fit, older pgDump
	for _, d := range found {
		switch {
		case d.major >= serverMajor && (fit.path == "" || d.major < fit.major):
			fit = d
		case d.major < serverMajor && d.major > older.major:
			older = d
		}
	}
	if fit.path != "" {
		return fit
	}
	return older
}

// checkVersion explains why no pg_dump fits; nil only when one does.
func checkVersion(d pgDump, serverMajor int, serverVersion, binDir string) error {
	where := "on PATH or in /usr/lib/postgresql/*/bin"
	if binDir != "" {
		where = "in " + binDir + " (PLATFORM_PG_BIN_DIR)"
	}
	switch {
	case d.path == "":
		return tenant.Errorf(tenant.EUnavailable, "no working pg_dump %s; install the PostgreSQL %d client", where, serverMajor)
	case d.major < serverMajor:
		return tenant.Errorf(tenant.EUnavailable, "pg_dump %s (%s) is older than the database server (PostgreSQL %s); install the PostgreSQL %d client or set PLATFORM_PG_BIN_DIR",
			d.version, d.path, serverVersion, serverMajor)
	}
	return nil
}

// pgCommand is a PostgreSQL client command (pg_dump, pg_restore) on
// database of srv, as srv's admin user: the connection in --dbname, the
// password in the child's environment only, and no other environment, so
// no stray PG* variable redirects it. Its stderr's tail is kept for the
// error message.
func pgCommand(ctx context.Context, srv *pgadmin.Server, database, app, bin string, args ...string) (*exec.Cmd, *tail) {
	c := srv.ConnConfig(database, "")
	conninfo := []string{
		"host=" + quoteConninfo(c.Host),
		"port=" + strconv.Itoa(int(c.Port)),
		"user=" + quoteConninfo(c.User),
		"dbname=" + quoteConninfo(database),
		"application_name=" + app,
	}
	if c.TLSConfig != nil {
		conninfo = append(conninfo, "sslmode=require")
	} else {
		conninfo = append(conninfo, "sslmode=disable")
	}
	args = append(args, "--no-password", "--dbname="+strings.Join(conninfo, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"LC_ALL=C", "PGCONNECT_TIMEOUT=10"}
	if c.Password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+c.Password)
	}
	stderr := &tail{max: 4096}
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	return cmd, stderr
}

// run dumps database (custom format, in the exported snapshot) into w. The
// password travels in the child's environment only; the child gets no
// other environment, so no stray PG* variable redirects it.
func (d pgDump) run(ctx context.Context, srv *pgadmin.Server, database, snapshotID string, w io.Writer) error {
	cmd, stderr := pgCommand(ctx, srv, database, "platform-backup", d.path, "--format=custom", "--snapshot="+snapshotID)
	cmd.Stdout = w
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("pg_dump failed (%v): %s", exit, stderr.lastLine())
	}
	return fmt.Errorf("pg_dump: %w", err)
}

// quoteConninfo quotes a libpq keyword value.
func quoteConninfo(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.buf), []byte("\n"))
	return string(lines[len(lines)-1])
}
