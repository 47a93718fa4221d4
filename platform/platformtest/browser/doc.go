// Package browser drives Debian's real chromium, headless, from Go tests
// (through github.com/chromedp/chromedp), for the end-to-end tests of the
// web consoles.
//
// # Setup
//
// `scripts/dev-services up` installs Debian's chromium when it is missing
// (apt-get, about 124 MB to fetch) and `scripts/dev-services env` exports
// PLATFORM_CHROMIUM_BIN, the browser binary itself
// (/usr/lib/chromium/chromium, not the /usr/bin/chromium launcher, which
// adds flags and Google API keys of its own). `make test` does both. [New]
// fails the test (never skips it) when the variable is unset.
//
// Every browser starts with exactly the flags of [Flags] (--headless
// --no-sandbox --disable-gpu --disable-background-networking
// --disable-component-update --no-first-run) plus what chromedp needs to
// drive it (--remote-debugging-pipe, --user-data-dir, about:blank), with a
// fresh profile directory, and XDG_CONFIG_HOME/XDG_CACHE_HOME inside it so
// nothing is written to $HOME.
//
// # Use
//
//	func TestLogin(t *testing.T) {
//		t.Parallel()
//		srv := …                       // the console on an httptest.Server or a real listener
//		b := browser.New(t)             // one chromium process, closed at the end of the test
//		p := b.Page(t, browser.Lang("es-CL", "es"), browser.Size(browser.Phone))
//		p.Navigate(srv.URL + "/login")
//		p.Fill("Correo", "ana@example.com") // by label text, name or aria-label
//		p.Fill("password", "…")
//		p.ClickText("Entrar")
//		p.WaitText("h1", "Inicio")           // polls the DOM, survives the navigation
//		p.Screenshot(filepath.Join(dir, "home-es-phone.png"))
//		p.NoProblems()                       // no console error, CSP violation or failed request
//	}
//
// Each [Browser.Page] is a new tab in a new browser context: a second Page
// of the same Browser is "a second browser" (its own cookie jar, storage and
// cache), e.g. to see a session revoked by an admin from another page.
// [Page.Cookies], [Page.Cookie] and [Page.ClearCookies] read and clear the
// cookies of that context only. Every helper fails the test on error and is
// bounded by [Config.Timeout] ([DefaultTimeout], 30 s); nothing waits with a
// sleep: [Page.WaitText] and [Page.WaitProblem] poll observable state.
// [Page.Press] and [Page.Focused] check keyboard navigation. JavaScript
// dialogs (a delete confirmation through confirm()) would stop the page:
// they are answered at once, accepted unless [Page.AnswerDialogs](false),
// and listed by [Page.Dialogs]. For
// anything else, [Run] and [Page.Do] run chromedp actions on the page,
// [Eval] evaluates JavaScript, and [Page.Context] is the raw chromedp
// context.
//
// # Languages
//
// [Lang] sets what a person's browser would: the Accept-Language header
// (the browser adds the q-values: Lang("es-CL", "es", "en") sends
// "es-CL,es;q=0.9,en;q=0.8"), navigator.language(s), and the locale Intl
// formats dates and numbers in. It uses Emulation.setUserAgentOverride
// (acceptLanguage) and Emulation.setLocaleOverride on the page's tab, as
// both are needed (measured on chromium 156: the first alone changes the
// header and navigator.language but not Intl, the second Intl only;
// Network.setExtraHTTPHeaders changes the header only; the --lang flag
// would apply to the whole browser). A tab the page opens (target=_blank)
// does not inherit it.
//
// # Problems
//
// From the moment it opens, a Page records console.error calls, uncaught
// exceptions, errors of the browser log (Content-Security-Policy violations
// arrive there, source "security"), failed requests and responses with a
// status of 400 or more: [Page.Problems], [Page.NoProblems],
// [Page.WaitProblem], [Page.ClearProblems] (after a step that expects a 4xx
// answer, e.g. a form with a validation error answering 422).
//
// # Cost, and one browser per package
//
// A browser with its first page is up in about a second on a 2-core
// machine (the package's own tests, each with its browser, run in 2-7 s
// under -race), so one Browser per test is cheap enough; tests that run in parallel each
// have their own process. To share one process among the tests of a
// package, start it in TestMain with [Launch] and give each test its own
// Page (pages are isolated from each other and safe to use in parallel):
//
//	var shared *browser.Browser
//
//	func TestMain(m *testing.M) {
//		b, err := browser.Launch(context.Background(), browser.Config{Bin: os.Getenv(browser.EnvBin)})
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err) // unset variable included: fail, do not skip
//			os.Exit(1)
//		}
//		shared = b
//		code := m.Run()
//		if err := b.Close(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = 1
//		}
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) { t.Parallel(); p := shared.Page(t); … }
//
// # No process left behind
//
// [Browser.Close] (run by New's cleanup) asks the browser to close, kills
// it when it does not within 10 s, then kills every process whose command
// line names the profile directory ([Processes]: the helpers and the crash
// handlers, which leave the browser's process tree) and returns an error,
// failing the test, if any is still there after 10 s. chromedp also starts
// the browser with Pdeathsig, so a test binary that dies takes it along.
package browser
