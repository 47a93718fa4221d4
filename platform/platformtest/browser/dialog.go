package browser

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Dialog is a JavaScript dialog (alert, confirm, prompt, beforeunload) the
// page opened.
type Dialog struct {
	Type    string // "alert", "confirm", "prompt" or "beforeunload"
	Message string
}

// dialogOpened answers a dialog the way AnswerDialogs says: a dialog stops
// the page until it is answered, so it is answered at once, from a
// goroutine (the listener must not call the browser).
func (p *Page) dialogOpened(e *page.EventJavascriptDialogOpening) {
	p.mu.Lock()
	p.dialogs = append(p.dialogs, Dialog{Type: string(e.Type), Message: e.Message})
	accept := !p.dismissDialogs
	p.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			return err
		}))
		if err != nil && p.ctx.Err() == nil {
			p.mu.Lock()
			p.problems = append(p.problems, Problem{Kind: Log, Source: "dialog", Text: fmt.Sprintf("answering %s %q: %v", e.Type, e.Message, err), URL: e.URL})
			p.mu.Unlock()
		}
	}()
}

// AnswerDialogs sets how the page answers the JavaScript dialogs it opens
// from now on: accept (OK, the default, like a person confirming a delete)
// or dismiss (Cancel).
func (p *Page) AnswerDialogs(accept bool) {
	p.mu.Lock()
	p.dismissDialogs = !accept
	p.mu.Unlock()
}

// Dialogs returns the dialogs the page opened so far, oldest first.
func (p *Page) Dialogs() []Dialog {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Dialog(nil), p.dialogs...)
}

// Press sends key events to the focused element, e.g. Press("\t") for Tab,
// Press("\r") for Enter, or the constants of
// github.com/chromedp/chromedp/kb (kb.ArrowDown, kb.Escape, …).
func (p *Page) Press(keys string) {
	p.t.Helper()
	if err := p.run(chromedp.KeyEvent(keys)); err != nil {
		p.t.Fatalf("browser: press %q: %v", keys, err)
	}
}

// Focused reports whether the page's focused element (document.activeElement)
// matches the CSS selector, for keyboard-navigation checks.
func (p *Page) Focused(css string) bool {
	p.t.Helper()
	q, _ := json.Marshal(css)
	return Eval[bool](p, fmt.Sprintf(`(() => { const e = document.activeElement; return !!e && e.matches(%s); })()`, q))
}
