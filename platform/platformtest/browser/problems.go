package browser

import (
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// ProblemKind says where a [Problem] was seen.
type ProblemKind string

const (
	// Console is a console.error or console.assert call of the page.
	Console ProblemKind = "console"
	// Exception is an uncaught exception or unhandled promise rejection.
	Exception ProblemKind = "exception"
	// Log is an error of the browser's own log: a Content-Security-Policy
	// violation (source "security"), a resource that failed to load
	// (source "network"), …
	Log ProblemKind = "log"
	// Request is a request that failed (network error, blocked by CSP or
	// CORS, canceled) or got an HTTP status of 400 or more.
	Request ProblemKind = "request"
)

// Problem is an error the page met, recorded from the moment the page
// opened.
type Problem struct {
	Kind   ProblemKind
	Source string // for Log: the browser log's source ("security", "network", …)
	Text   string // the message, or the request's error text
	URL    string // the script or the request concerned, when known
	Status int64  // for Request: the HTTP status, 0 when no response came
}

func (pr Problem) String() string {
	var b strings.Builder
	b.WriteString(string(pr.Kind))
	if pr.Source != "" {
		b.WriteString("/" + pr.Source)
	}
	if pr.Status != 0 {
		fmt.Fprintf(&b, " %d", pr.Status)
	}
	if pr.Text != "" {
		b.WriteString(": " + pr.Text)
	}
	if pr.URL != "" {
		b.WriteString(" (" + pr.URL + ")")
	}
	return b.String()
}

// record runs on chromedp's reader goroutine for every event of the tab:
// it must be quick and must not call the browser.
func (p *Page) record(ev any) {
	var pr Problem
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range e.Args {
			switch {
			case a.Description != "":
				parts = append(parts, a.Description)
			case len(a.Value) > 0:
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
		}
		pr = Problem{Kind: Console, Text: strings.Join(parts, " ")}
		if e.StackTrace != nil && len(e.StackTrace.CallFrames) > 0 {
			pr.URL = e.StackTrace.CallFrames[0].URL
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		pr = Problem{Kind: Exception, Text: d.Text, URL: d.URL}
		if d.Exception != nil && d.Exception.Description != "" {
			pr.Text += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		if e.Entry.Level != log.EntryLevelError {
			return
		}
		pr = Problem{Kind: Log, Source: string(e.Entry.Source), Text: e.Entry.Text, URL: e.Entry.URL}
	case *page.EventJavascriptDialogOpening:
		p.dialogOpened(e)
		return
	case *network.EventRequestWillBeSent:
		p.mu.Lock()
		p.urls[e.RequestID] = e.Request.URL
		p.mu.Unlock()
		return
	case *network.EventResponseReceived:
		if e.Response.Status < 400 {
			return
		}
		pr = Problem{Kind: Request, Text: e.Response.StatusText, URL: e.Response.URL, Status: e.Response.Status}
	case *network.EventLoadingFailed:
		text := e.ErrorText
		if e.BlockedReason != "" {
			text += " (blocked: " + string(e.BlockedReason) + ")"
		}
		p.mu.Lock()
		url := p.urls[e.RequestID]
		p.mu.Unlock()
		pr = Problem{Kind: Request, Text: text, URL: url}
	default:
		return
	}
	p.mu.Lock()
	p.problems = append(p.problems, pr)
	p.mu.Unlock()
}

// Problems returns the errors recorded so far (since the page opened or
// the last ClearProblems): console errors, uncaught exceptions, browser log
// errors such as CSP violations, and failed requests. Events reach the
// helper asynchronously: to see those of a page just loaded, wait for
// something on it first (or use WaitProblem).
func (p *Page) Problems() []Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Problem(nil), p.problems...)
}

// ClearProblems forgets the problems recorded so far, e.g. after a step
// that expects a 4xx answer.
func (p *Page) ClearProblems() {
	p.mu.Lock()
	p.problems = nil
	p.mu.Unlock()
}

// NoProblems fails the test, listing them, if any problem was recorded.
func (p *Page) NoProblems() {
	p.t.Helper()
	if prs := p.Problems(); len(prs) > 0 {
		lines := make([]string, len(prs))
		for i, pr := range prs {
			lines[i] = "  " + pr.String()
		}
		p.t.Errorf("browser: the page met %d problem(s):\n%s", len(prs), strings.Join(lines, "\n"))
	}
}

// WaitProblem waits, polling every 20 ms within the page's timeout, until a
// recorded problem satisfies match, and returns it; it fails the test,
// listing what was recorded, when none does.
func (p *Page) WaitProblem(match func(Problem) bool) Problem {
	p.t.Helper()
	deadline := time.Now().Add(p.timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		prs := p.Problems()
		for _, pr := range prs {
			if match(pr) {
				return pr
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("browser: no matching problem within %v; recorded: %v", p.timeout, prs)
			return Problem{}
		}
		<-tick.C
	}
}
