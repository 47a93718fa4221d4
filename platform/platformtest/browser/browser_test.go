package browser_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/cdproto/network"

	"github.com/tenancy/platform/platform/platformtest/browser"
)

const csp = "default-src 'self'; script-src 'self'; style-src 'self'"

// server is a small site: a form, a cookie, a strict CSP, and a page that
// breaks the CSP with an inline script.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>t</title><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>%s</body></html>`, body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "visit", Value: "v1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		cookie := "none"
		if c, err := r.Cookie("visit"); err == nil {
			cookie = c.Value
		}
		page(w, fmt.Sprintf(`<p id="lang">%s</p><p id="cookie">%s</p>
<form method="post" action="/submit">
  <label for="n">Your name</label> <input id="n" name="name">
  <label>City <input name="city_field"></label>
  <select name="size"><option value="s">S</option><option value="l">L</option></select>
  <button type="submit">Send</button>
</form>`, html.EscapeString(r.Header.Get("Accept-Language")), html.EscapeString(cookie)))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		page(w, fmt.Sprintf(`<p id="result">Hello, %s from %s (%s)</p>`,
			html.EscapeString(r.FormValue("name")), html.EscapeString(r.FormValue("city_field")), html.EscapeString(r.FormValue("size"))))
	})
	mux.HandleFunc("GET /confirm", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<button id="del" type="button">Delete</button> <p id="out"></p><script src="/confirm.js"></script>`)
	})
	mux.HandleFunc("GET /confirm.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.getElementById("del").addEventListener("click", () => {
  document.getElementById("out").textContent = (confirm("Delete 3 rows?") ? "yes" : "no") + " " + (++window.n || (window.n = 1));
});`)
	})
	mux.HandleFunc("GET /inline", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p id="static">static</p><script>document.body.insertAdjacentHTML("beforeend", "<p id=ran>ran</p>")</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFormCookiesAndSecondContext(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)

	p := b.Page(t)
	p.Navigate(srv.URL + "/")
	if got := p.Text("#cookie"); got != "none" {
		t.Fatalf("first visit sent cookie %q", got)
	}
	p.Fill("Your name", "Ana")  // by <label for>
	p.Fill("City", "Temuco")    // by enclosing <label>
	p.Fill("size", "l")         // a <select>, by name
	p.Fill("Your name", "Inés") // replaces what the field held
	p.ClickText("Send")
	if got := p.WaitText("#result", "Hello,"); got != "Hello, Inés from Temuco (l)" {
		t.Fatalf("result %q", got)
	}
	c, ok := p.Cookie("visit")
	if !ok || c.Value != "v1" || !c.HTTPOnly {
		t.Fatalf("cookie visit: %+v, %v; all: %s", c, ok, names(p.Cookies()))
	}
	p.Navigate(srv.URL + "/")
	if got := p.Text("#cookie"); got != "v1" {
		t.Fatalf("second visit sent cookie %q, want v1", got)
	}

	// A second page is a second browser: no cookie of the first.
	q := b.Page(t)
	if cs := q.Cookies(); len(cs) != 0 {
		t.Fatalf("second context has %d cookies: %s", len(cs), names(cs))
	}
	q.Navigate(srv.URL + "/")
	if got := q.Text("#cookie"); got != "none" {
		t.Fatalf("second context sent cookie %q", got)
	}

	p.ClearCookies()
	if cs := p.Cookies(); len(cs) != 0 {
		t.Fatalf("cookies after ClearCookies: %s", names(cs))
	}
	if len(q.Cookies()) != 1 {
		t.Fatalf("ClearCookies of one context cleared the other's: %s", names(q.Cookies()))
	}
	p.NoProblems()
	q.NoProblems()
}

func TestLang(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)
	for _, tc := range []struct {
		tags                      []string
		accept, first, intl, date string
	}{
		{[]string{"es-CL", "es"}, "es-CL,es;q=0.9", "es-CL", "es-CL", "31-12-2026"},
		{[]string{"es-MX", "es", "en"}, "es-MX,es;q=0.9,en;q=0.8", "es-MX", "es-MX", "31/12/2026"},
		{[]string{"en-US", "en"}, "en-US,en;q=0.9", "en-US", "en-US", "12/31/2026"},
	} {
		t.Run(tc.first, func(t *testing.T) {
			p := b.Page(t, browser.Lang(tc.tags...))
			p.Navigate(srv.URL + "/")
			if got := p.Text("#lang"); got != tc.accept {
				t.Errorf("Accept-Language at the server %q, want %q", got, tc.accept)
			}
			if got := browser.Eval[string](p, "navigator.language"); got != tc.first {
				t.Errorf("navigator.language %q, want %q", got, tc.first)
			}
			if got := browser.Eval[[]string](p, "navigator.languages"); !slices.Equal(got, tc.tags) {
				t.Errorf("navigator.languages %q", got)
			}
			if got := browser.Eval[string](p, "Intl.DateTimeFormat().resolvedOptions().locale"); got != tc.intl {
				t.Errorf("Intl locale %q, want %q", got, tc.intl)
			}
			if got := browser.Eval[string](p, `new Date(2026, 11, 31).toLocaleDateString(undefined, {day: "2-digit", month: "2-digit", year: "numeric"})`); got != tc.date {
				t.Errorf("toLocaleDateString %q, want %q", got, tc.date)
			}
		})
	}
	// Without Lang, the browser's default, not one of the above.
	p := b.Page(t)
	p.Navigate(srv.URL + "/")
	if got := p.Text("#lang"); strings.HasPrefix(got, "es") {
		t.Errorf("default Accept-Language %q", got)
	}
}

func TestScreenshot(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)
	dir := t.TempDir()
	for _, v := range []browser.Viewport{browser.Desktop, browser.Phone} {
		p := b.Page(t, browser.Size(v))
		p.Navigate(srv.URL + "/")
		path := filepath.Join(dir, fmt.Sprintf("%dx%d.png", v.Width, v.Height))
		buf := p.Screenshot(path)
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onDisk, buf) {
			t.Fatalf("%s differs from the returned PNG", path)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(onDisk))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if int64(cfg.Width) != v.Width || int64(cfg.Height) != v.Height {
			t.Errorf("%s is %dx%d, want %dx%d", path, cfg.Width, cfg.Height, v.Width, v.Height)
		}
		if w := browser.Eval[int64](p, "window.innerWidth"); w != v.Width {
			t.Errorf("innerWidth %d, want %d", w, v.Width)
		}
	}
}

func TestCSPViolationIsAProblem(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)
	p := b.Page(t)
	p.Navigate(srv.URL + "/inline")
	pr := p.WaitProblem(func(pr browser.Problem) bool {
		return pr.Kind == browser.Log && strings.Contains(pr.Text, "Content Security Policy")
	})
	t.Logf("recorded: %v", pr)
	if p.Text("#static") != "static" || browser.Eval[bool](p, `document.getElementById("ran") !== null`) {
		t.Fatal("the inline script ran despite the CSP")
	}

	// A failed request is one too; ClearProblems forgets.
	p.ClearProblems()
	p.Navigate(srv.URL + "/missing")
	p.WaitProblem(func(pr browser.Problem) bool {
		return pr.Kind == browser.Request && pr.Status == http.StatusNotFound && strings.HasSuffix(pr.URL, "/missing")
	})

	// A clean page records none.
	q := b.Page(t)
	q.Navigate(srv.URL + "/")
	q.Fill("name", "x")
	q.ClickText("Send")
	q.WaitText("#result", "Hello, x")
	q.NoProblems()
}

func TestFlagsAndNoLeftovers(t *testing.T) {
	t.Parallel()
	bin := os.Getenv(browser.EnvBin)
	if bin == "" {
		t.Fatalf("%s is not set: run `make test`", browser.EnvBin)
	}
	dir := t.TempDir()
	b, err := browser.Launch(context.Background(), browser.Config{Bin: bin, UserDataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	p := b.Page(t)
	p.Navigate("about:blank")

	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", b.PID()))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")[1:]
	want := []string{"--remote-debugging-pipe", "--user-data-dir=" + dir, "about:blank"}
	for _, f := range browser.Flags() {
		want = append(want, "--"+f)
	}
	slices.Sort(args)
	slices.Sort(want)
	if !slices.Equal(args, want) {
		t.Errorf("browser command line %q, want %q", args, want)
	}
	// The helpers, and the crash handlers (outside the browser's process
	// tree, found through their database in the profile directory).
	var crashpad bool
	pids := browser.Processes(dir)
	for _, pid := range pids {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		crashpad = crashpad || strings.Contains(string(raw), "chrome_crashpad_handler")
	}
	if len(pids) < 3 || !crashpad {
		t.Errorf("%d processes for %s while running (crash handler among them: %v); want the browser, its helpers and its crash handler", len(pids), dir, crashpad)
	}
	if pgrep(t, dir) == "" {
		t.Fatal("pgrep finds no chromium while the browser runs")
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if left := pgrep(t, dir); left != "" {
		t.Fatalf("chromium processes left after Close: %s", left)
	}
	if err := syscall.Kill(b.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("browser process %d still exists (kill 0: %v)", b.PID(), err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// pgrep lists the processes whose command line names the profile dir.
func pgrep(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("pgrep", "-a", "-f", "--", "--user-data-dir="+dir).Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return "" // no process matched
	}
	if err != nil {
		t.Fatalf("pgrep: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestLaunchErrors(t *testing.T) {
	t.Parallel()
	if _, err := browser.Launch(context.Background(), browser.Config{}); err == nil || !strings.Contains(err.Error(), browser.EnvBin) {
		t.Errorf("Launch without a binary: %v", err)
	}
	if _, err := browser.Launch(context.Background(), browser.Config{Bin: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Error("Launch of a missing binary succeeded")
	}
}

func TestDialogsAndKeyboard(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)
	p := b.Page(t)
	p.Navigate(srv.URL + "/confirm")
	p.Click("#del")
	p.WaitText("#out", "yes 1")
	p.AnswerDialogs(false)
	p.Click("#del")
	p.WaitText("#out", "no 2")
	want := []browser.Dialog{{Type: "confirm", Message: "Delete 3 rows?"}, {Type: "confirm", Message: "Delete 3 rows?"}}
	if got := p.Dialogs(); !slices.Equal(got, want) {
		t.Errorf("dialogs %v, want %v", got, want)
	}
	p.NoProblems()

	// Keyboard: Tab reaches the first field, typing fills it, Enter submits.
	p.Navigate(srv.URL + "/")
	if p.Focused("#n") {
		t.Fatal("#n focused before any key")
	}
	p.Press("\t")
	if !p.Focused("#n") {
		t.Fatal("Tab did not focus the first field")
	}
	p.Press("Kim")
	p.Press("\r")
	p.WaitText("#result", "Hello, Kim")
}

// Pages of one browser run in parallel, isolated (the TestMain pattern of
// the package doc shares one browser this way).
func TestParallelPagesOfOneBrowser(t *testing.T) {
	t.Parallel()
	srv := server(t)
	b := browser.New(t)
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			p := b.Page(t)
			p.Navigate(srv.URL + "/")
			if got := p.Text("#cookie"); got != "none" {
				t.Errorf("page %d sent cookie %q", i, got)
			}
			name := fmt.Sprintf("user%d", i)
			p.Fill("name", name)
			p.ClickText("Send")
			p.WaitText("#result", "Hello, "+name+" ")
			p.NoProblems()
		})
	}
}

func names(cs []*network.Cookie) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+"@"+c.Domain)
	}
	return "[" + strings.Join(out, " ") + "]"
}
