package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// EnvBin names the environment variable that holds the path of the
// chromium binary; `scripts/dev-services env` exports it.
const EnvBin = "PLATFORM_CHROMIUM_BIN"

// DefaultTimeout bounds each helper action of a [Page] (a navigation, a
// fill, a wait) unless [Config.Timeout] says otherwise.
const DefaultTimeout = 30 * time.Second

// Flags are the exact command-line flags every browser starts with, besides
// the ones chromedp adds to drive it (--remote-debugging-pipe,
// --user-data-dir and the first page, about:blank).
var flags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"no-first-run",
}

// Flags returns a copy of the command-line flags the browser starts with
// (without the leading "--").
func Flags() []string { return append([]string(nil), flags...) }

// Config configures [Launch].
type Config struct {
	// Bin is the chromium binary (required), e.g. /usr/lib/chromium/chromium.
	Bin string
	// UserDataDir is the profile directory; it must be fresh. Empty: a new
	// temporary directory, removed by Close.
	UserDataDir string
	// Timeout bounds each helper action of a Page; zero means DefaultTimeout.
	Timeout time.Duration
}

// Browser is one running headless chromium process. Pages made from it
// ([Browser.Page]) each live in their own browser context (own cookie
// jar, storage and cache) and may be driven in parallel.
type Browser struct {
	cfg         Config
	removeDir   bool
	allocCancel context.CancelFunc
	root        context.Context // the first chromedp context: owns the process
	rootCancel  context.CancelFunc
	pid         int
	userAgent   string

	closeOnce sync.Once
	closeErr  error
}

// New starts a browser for the test t, from $PLATFORM_CHROMIUM_BIN, with a
// fresh profile in t.TempDir(), and closes it when the test ends (checking
// that no chromium process of it is left). It fails the test, never skips
// it, when the variable is unset or the browser does not start.
func New(t testing.TB) *Browser {
	t.Helper()
	bin := os.Getenv(EnvBin)
	if bin == "" {
		t.Fatalf("%s is not set: run `make test`, or `scripts/dev-services up && eval \"$(scripts/dev-services env)\"` first", EnvBin)
	}
	return NewWith(t, Config{Bin: bin, UserDataDir: t.TempDir()})
}

// NewWith is New with an explicit configuration.
func NewWith(t testing.TB, cfg Config) *Browser {
	t.Helper()
	b, err := Launch(context.Background(), cfg)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("browser: close: %v", err)
		}
	})
	return b
}

// Launch starts a browser outside a test, e.g. in TestMain to share one
// process among the tests of a package; the caller must Close it. ctx only
// bounds the start.
func Launch(ctx context.Context, cfg Config) (_ *Browser, err error) {
	if cfg.Bin == "" {
		return nil, fmt.Errorf("no chromium binary given (set %s)", EnvBin)
	}
	if _, err := os.Stat(cfg.Bin); err != nil {
		return nil, fmt.Errorf("chromium binary: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	b := &Browser{cfg: cfg}
	if b.cfg.UserDataDir == "" {
		dir, err := os.MkdirTemp("", "platform-chromium-")
		if err != nil {
			return nil, fmt.Errorf("user data dir: %w", err)
		}
		b.cfg.UserDataDir, b.removeDir = dir, true
	}
	// A symlinked temp dir (macOS) would not match the command line of the
	// processes in leftovers.
	if abs, err := filepath.Abs(b.cfg.UserDataDir); err == nil {
		b.cfg.UserDataDir = abs
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(cfg.Bin)}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	opts = append(opts, chromedp.UserDataDir(b.cfg.UserDataDir),
		// The crash handler's database (and anything else chromium keeps
		// under ~/.config or ~/.cache) goes inside the profile directory:
		// nothing is written to $HOME, and Close finds those processes too.
		chromedp.Env(
			"XDG_CONFIG_HOME="+filepath.Join(b.cfg.UserDataDir, "xdg-config"),
			"XDG_CACHE_HOME="+filepath.Join(b.cfg.UserDataDir, "xdg-cache"),
		))
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b.allocCancel = allocCancel
	b.root, b.rootCancel = chromedp.NewContext(allocCtx)
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()

	// The first Run starts the process.
	version, err := firstRun(b.root, chromedp.Action[cdpbrowser.GetVersionResult](
		func(ctx context.Context, _ *chromedp.Target) (cdpbrowser.GetVersionResult, error) {
			return chromedp.CallBrowser(ctx, cdpbrowser.GetVersion, cdp.Empty{})
		}), cfg.Timeout, ctx.Done())
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Bin, err)
	}
	b.userAgent = version.UserAgent
	if c := chromedp.FromContext(b.root); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	return b, nil
}

// PID is the browser's main process id.
func (b *Browser) PID() int { return b.pid }

// UserDataDir is the browser's profile directory.
func (b *Browser) UserDataDir() string { return b.cfg.UserDataDir }

// Close stops the browser: it asks it to close, kills it if it does not
// within 10 s, then kills any of its child processes still running and
// waits until none is left. Safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		if b.rootCancel != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := chromedp.Cancel(ctx)
			cancel()
			_ = err // a browser that died or was slow is killed below
			b.rootCancel()
		}
		if b.allocCancel != nil {
			b.allocCancel()
		}
		if err := killLeftovers(b.cfg.UserDataDir, 10*time.Second); err != nil {
			errs = append(errs, err)
		}
		if b.removeDir {
			if err := os.RemoveAll(b.cfg.UserDataDir); err != nil {
				errs = append(errs, err)
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// Processes returns the ids of the running processes whose command line
// names the profile directory dir: every chromium process of a Browser
// (helpers carry --user-data-dir, and the crash handlers, which leave the
// browser's process tree, keep their database under dir because the
// browser runs with XDG_CONFIG_HOME there). Zombies are not counted.
func Processes(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(raw) == 0 {
			continue
		}
		// Chromium rewrites the command line of its helpers as one
		// space-separated string.
		if namesDir(strings.ReplaceAll(string(raw), "\x00", " "), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// namesDir reports whether cmd contains the path dir, or a path below it.
func namesDir(cmd, dir string) bool {
	for i := 0; ; {
		j := strings.Index(cmd[i:], dir)
		if j < 0 {
			return false
		}
		end := i + j + len(dir)
		if end == len(cmd) || strings.ContainsRune("/ \"'", rune(cmd[end])) {
			return true
		}
		i = end
	}
}

// killLeftovers kills every process of the profile dir until none is seen,
// polling /proc, for at most limit.
func killLeftovers(dir string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pids := Processes(dir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chromium processes %v of %s still running after %v", pids, dir, limit)
		}
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill() // gone meanwhile: seen on the next pass
			}
		}
		<-tick.C
	}
}

// firstRun runs the first action of a chromedp context, which binds the
// browser (or the tab) to the context it gets: that context must carry no
// deadline, so the wait is bounded here instead. On timeout the caller
// cancels the context, which stops the run.
func firstRun[T any](ctx context.Context, a chromedp.Action[T], timeout time.Duration, stop ...<-chan struct{}) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := chromedp.Run(ctx, a)
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var abort <-chan struct{}
	if len(stop) > 0 {
		abort = stop[0]
	}
	var zero T
	select {
	case r := <-done:
		return r.v, r.err
	case <-abort:
		return zero, context.Canceled
	case <-timer.C:
		return zero, fmt.Errorf("no answer within %v", timeout)
	}
}
