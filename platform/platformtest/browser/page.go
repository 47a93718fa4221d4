package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Viewport is a page's size in CSS pixels (device scale factor 1, so a
// screenshot has exactly this many pixels).
type Viewport struct {
	Width, Height int64
	Mobile        bool // mobile emulation (meta viewport, touch)
}

// The two sizes the console's screenshots use.
var (
	Desktop = Viewport{Width: 1280, Height: 800}
	Phone   = Viewport{Width: 390, Height: 844, Mobile: true}
)

// PageOption configures a page made by [Browser.Page].
type PageOption func(*pageConfig)

type pageConfig struct {
	langs    []string
	viewport Viewport
}

// Lang makes the page's browser prefer these languages, most preferred
// first, e.g. Lang("es-CL", "es", "en"): requests carry them as their
// Accept-Language header, with the q-values the browser adds
// ("es-CL,es;q=0.9,en;q=0.8"), navigator.languages lists them and
// navigator.language is the first, and Intl (dates, numbers) formats in
// the first one's locale. Without it the browser's default applies (en-US).
func Lang(tags ...string) PageOption {
	return func(c *pageConfig) { c.langs = tags }
}

// Size sets the page's viewport (default [Desktop]).
func Size(v Viewport) PageOption { return func(c *pageConfig) { c.viewport = v } }

// Page is one tab in its own browser context: a second Page of the same
// Browser shares no cookie, storage or cache with it ("a second browser").
// Its helpers fail the test on error, each bounded by the browser's
// timeout; use a Page from one goroutine at a time. JavaScript dialogs
// (confirm, …) are answered at once: see AnswerDialogs.
type Page struct {
	t       testing.TB
	b       *Browser
	ctx     context.Context
	timeout time.Duration

	mu             sync.Mutex
	problems       []Problem
	urls           map[network.RequestID]string
	dialogs        []Dialog
	dismissDialogs bool
}

// Page opens a new tab in a new browser context, closed when the test ends.
func (b *Browser) Page(t testing.TB, opts ...PageOption) *Page {
	t.Helper()
	cfg := pageConfig{viewport: Desktop}
	for _, o := range opts {
		o(&cfg)
	}
	p := &Page{t: t, b: b, timeout: b.cfg.Timeout, urls: map[network.RequestID]string{}}
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.record))
	t.Cleanup(cancel)
	p.ctx = ctx
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(cfg.viewport.Width, cfg.viewport.Height, func(d *emulation.SetDeviceMetricsOverrideParams, e *emulation.SetTouchEmulationEnabledParams) {
			d.Mobile = cfg.viewport.Mobile
			e.Enabled = cfg.viewport.Mobile
		}),
	}
	if len(cfg.langs) > 0 {
		steps = append(steps, setLang(b.userAgent, cfg.langs))
	}
	// The first Run opens the tab, which then lives as long as that Run's
	// context: so it gets p.ctx itself, bounded from outside.
	if _, err := firstRun(p.ctx, chromedp.Steps(steps...), p.timeout); err != nil {
		t.Fatalf("browser: open page: %v", err)
	}
	return p
}

// setLang overrides the Accept-Language header and navigator.language(s)
// (Emulation.setUserAgentOverride's acceptLanguage, a plain list to which
// the browser adds q-values; the user agent stays the browser's own) and
// the ICU default locale that Intl uses (Emulation.setLocaleOverride).
// Measured on Debian's chromium 156: setUserAgentOverride alone changes
// the header and navigator.language but not Intl; setLocaleOverride alone
// changes Intl only; Network.setExtraHTTPHeaders changes the header only.
// The --lang flag would apply to the whole browser, not one page.
func setLang(userAgent string, tags []string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		list := strings.Join(tags, ",")
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: userAgent, AcceptLanguage: list,
		}); err != nil {
			return fmt.Errorf("accept-language %q: %w", list, err)
		}
		locale := strings.ReplaceAll(tags[0], "-", "_")
		if _, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale}); err != nil {
			return fmt.Errorf("locale %q: %w", locale, err)
		}
		return nil
	})
}

// Context is the page's chromedp context, for actions the helpers do not
// cover: chromedp.Run(p.Context(), …). It has no deadline of its own.
func (p *Page) Context() context.Context { return p.ctx }

// run runs a within the page's timeout.
func (p *Page) run(a chromedp.Action[chromedp.Void]) error {
	_, err := runT(p, a)
	return err
}

func runT[T any](p *Page, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Run runs a chromedp action on the page within its timeout and returns its
// value, failing the test on error.
func Run[T any](p *Page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := runT(p, a)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return v
}

// Do runs chromedp actions on the page in order, failing the test on error.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := p.run(chromedp.Steps(actions...)); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	if err := p.run(chromedp.Navigate(url)); err != nil {
		p.t.Fatalf("browser: navigate to %s: %v", url, err)
	}
}

// URL returns the page's current address.
func (p *Page) URL() string {
	p.t.Helper()
	u, err := runT(p, chromedp.Location())
	if err != nil {
		p.t.Fatalf("browser: location: %v", err)
	}
	return u
}

// field is a JavaScript expression for the form control a person would
// call field: the first element whose name attribute is field, else the
// control of the first <label> whose text (trimmed, spaces squeezed) is
// field, else the first element whose aria-label is field.
func field(name string) chromedp.JSPath {
	q, _ := json.Marshal(name)
	return chromedp.JSPath(fmt.Sprintf(`(() => {
  const k = %s;
  const norm = s => s.replace(/\s+/g, " ").trim();
  const byName = document.getElementsByName(k)[0];
  if (byName) return byName;
  for (const l of document.querySelectorAll("label")) {
    if (norm(l.textContent) === k && l.control) return l.control;
  }
  return [...document.querySelectorAll("[aria-label]")].find(e => e.getAttribute("aria-label") === k) || null;
})()`, q))
}

// Fill types value into the form field named by its name attribute, its
// label's text or its aria-label (replacing what it held); for a <select>
// it chooses the option with that value.
func (p *Page) Fill(name, value string) {
	p.t.Helper()
	sel := field(name)
	err := p.run(chromedp.WaitReady(sel))
	var tag string
	if err == nil {
		tag, err = runT(p, chromedp.Evaluate[string]("("+string(sel)+").tagName"))
	}
	if err == nil {
		if tag == "SELECT" {
			err = p.run(chromedp.SetValue(sel, value))
		} else {
			// Empty the field, then type like a person (key events).
			_, err = runT(p, chromedp.Evaluate[bool]("((e) => { e.value = \"\"; return true; })("+string(sel)+")"))
			if err == nil {
				err = p.run(chromedp.SendKeys(sel, value))
			}
		}
	}
	if err != nil {
		p.t.Fatalf("browser: fill %q: %v", name, err)
	}
}

// Click clicks the first element matching the CSS selector, once it is
// visible.
func (p *Page) Click(css string) {
	p.t.Helper()
	if err := p.run(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("browser: click %s: %v", css, err)
	}
}

// ClickText clicks the first button, link or submit input whose visible
// text (or value) is text.
func (p *Page) ClickText(text string) {
	p.t.Helper()
	q, _ := json.Marshal(text)
	sel := chromedp.JSPath(fmt.Sprintf(`(() => {
  const k = %s;
  const norm = s => (s || "").replace(/\s+/g, " ").trim();
  return [...document.querySelectorAll("button, a, input[type=submit], input[type=button]")]
    .find(e => norm(e.innerText || e.value) === k) || null;
})()`, q))
	if err := p.run(chromedp.Click(sel, chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("browser: click %q: %v", text, err)
	}
}

// Text returns the visible text (innerText) of the first element matching
// the CSS selector, waiting for it to exist.
func (p *Page) Text(css string) string {
	p.t.Helper()
	s, err := runT(p, chromedp.Text(chromedp.CSS(css), chromedp.NodeReady))
	if err != nil {
		p.t.Fatalf("browser: text of %s: %v", css, err)
	}
	return s
}

// WaitText waits until the first element matching the CSS selector exists
// and its visible text contains want, polling the DOM every 50 ms (across
// navigations, e.g. after a submit), and returns that text. It fails the
// test after the page's timeout, showing the last text seen.
func (p *Page) WaitText(css, want string) string {
	p.t.Helper()
	q, _ := json.Marshal(css)
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.innerText : null; })()`, q)
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last, lastErr := "(no element)", error(nil)
	for {
		// A page in the middle of a navigation has no document to ask:
		// that error is transient, so it is only kept for the message.
		v, err := chromedp.Run(ctx, chromedp.Evaluate[*string](expr))
		lastErr = err
		if err == nil && v != nil {
			last = *v
			if strings.Contains(last, want) {
				return last
			}
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("browser: %s never contained %q within %v; last text %q (last error: %v)", css, want, p.timeout, last, lastErr)
			return ""
		case <-tick.C:
		}
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into T, failing the test on error.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := runT(p, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("browser: eval %s: %v", expr, err)
	}
	return v
}

// Screenshot writes a PNG of the page's viewport to path (its size is the
// page's viewport) and returns the PNG bytes.
func (p *Page) Screenshot(path string) []byte {
	p.t.Helper()
	buf, err := runT(p, chromedp.CaptureScreenshot())
	if err == nil {
		_, err = png.DecodeConfig(bytes.NewReader(buf))
	}
	if err == nil && path != "" {
		err = os.WriteFile(path, buf, 0o644)
	}
	if err != nil {
		p.t.Fatalf("browser: screenshot %s: %v", path, err)
	}
	return buf
}

// browserContextID is the id of the page's browser context.
func (p *Page) browserContextID() cdp.BrowserContextID {
	return chromedp.FromContext(p.ctx).BrowserContextID
}

// Cookies returns every cookie of the page's browser context (all sites,
// HttpOnly ones included).
func (p *Page) Cookies() []*network.Cookie {
	p.t.Helper()
	id := p.browserContextID()
	res, err := runT(p, chromedp.Action[storage.GetCookiesResult](func(ctx context.Context, _ *chromedp.Target) (storage.GetCookiesResult, error) {
		return chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: id})
	}))
	if err != nil {
		p.t.Fatalf("browser: cookies: %v", err)
	}
	return res.Cookies
}

// Cookie returns the named cookie of the page's browser context, if any.
func (p *Page) Cookie(name string) (*network.Cookie, bool) {
	p.t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// ClearCookies deletes every cookie of the page's browser context.
func (p *Page) ClearCookies() {
	p.t.Helper()
	id := p.browserContextID()
	err := p.run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, storage.ClearCookies, storage.ClearCookiesParams{BrowserContextID: id})
		return err
	}))
	if err != nil {
		p.t.Fatalf("browser: clear cookies: %v", err)
	}
}
