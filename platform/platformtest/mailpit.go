package platformtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Mail sent in tests goes to the dev Mailpit (scripts/dev-services), which
// keeps it; tests read it back through its HTTP API. Each test sends to a
// random recipient of its own (MailRecipient), so tests running at once
// never see each other's mail, and nothing is ever deleted.

// MailMessage is one message as Mailpit received it, headers decoded.
type MailMessage struct {
	ID       string // Mailpit's id
	From     string // the sender's address
	FromName string // its display name
	To       string // the (first) recipient's address
	ToName   string
	Subject  string
	Text     string              // the plain-text body, transfer encoding undone
	Header   map[string][]string // the header fields as sent (encoded words kept)
}

// MailpitURL is the dev Mailpit's HTTP API (PLATFORM_DEV_MAIL_URL).
func MailpitURL(t testing.TB) string {
	t.Helper()
	return Getenv(t, "PLATFORM_DEV_MAIL_URL")
}

// SMTPURL is the dev SMTP server (PLATFORM_SMTP_URL).
func SMTPURL(t testing.TB) string {
	t.Helper()
	return Getenv(t, "PLATFORM_SMTP_URL")
}

// MailRecipient returns an address no other test sends to.
func MailRecipient(prefix string) string { return prefix + "-" + Rand(12) + "@example.test" }

var mailpitClient = &http.Client{Timeout: 10 * time.Second}

type mpAddress struct{ Name, Address string }

type mpSummary struct {
	ID      string
	From    mpAddress
	To      []mpAddress
	Subject string
}

// getJSON reads one API document; ok is false on 404.
func getJSON(t testing.TB, u string, v any) (ok bool) {
	t.Helper()
	res, err := mailpitClient.Get(u)
	if err != nil {
		t.Fatalf("mailpit: %v (is it running? scripts/dev-services up)", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("mailpit: read %s: %v", u, err)
	}
	if res.StatusCode == http.StatusNotFound {
		return false
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s: %s", u, res.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("mailpit: GET %s: %v: %s", u, err, b)
	}
	return true
}

// mailsTo lists the messages addressed to exactly to, newest first
// (Mailpit's search matches substrings; the address is compared here).
func mailsTo(t testing.TB, apiURL, to string) []mpSummary {
	t.Helper()
	var r struct{ Messages []mpSummary }
	q := url.Values{"query": {fmt.Sprintf("to:%q", to)}, "limit": {"50"}}
	getJSON(t, strings.TrimRight(apiURL, "/")+"/api/v1/search?"+q.Encode(), &r)
	var out []mpSummary
	for _, m := range r.Messages {
		for _, a := range m.To {
			if strings.EqualFold(a.Address, to) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// MailCount says how many messages Mailpit holds for exactly to.
func MailCount(t testing.TB, apiURL, to string) int {
	t.Helper()
	return len(mailsTo(t, apiURL, to))
}

// WaitMail polls Mailpit until a message to the address to has arrived
// (failing the test after timeout) and returns the newest one.
func WaitMail(t testing.TB, apiURL, to string, timeout time.Duration) MailMessage {
	t.Helper()
	var found []mpSummary
	Eventually(t, timeout, "no mail to "+to+" arrived at "+apiURL, func() bool {
		found = mailsTo(t, apiURL, to)
		return len(found) > 0
	})
	return ReadMail(t, apiURL, found[0].ID)
}

// ReadMail reads one message by its Mailpit id.
func ReadMail(t testing.TB, apiURL, id string) MailMessage {
	t.Helper()
	base := strings.TrimRight(apiURL, "/") + "/api/v1/message/" + url.PathEscape(id)
	var m struct {
		ID      string
		From    mpAddress
		To      []mpAddress
		Subject string
		Text    string
	}
	if !getJSON(t, base, &m) {
		t.Fatalf("mailpit: message %s is gone", id)
	}
	out := MailMessage{ID: m.ID, From: m.From.Address, FromName: m.From.Name, Subject: m.Subject, Text: m.Text}
	if len(m.To) > 0 {
		out.To, out.ToName = m.To[0].Address, m.To[0].Name
	}
	if !getJSON(t, base+"/headers", &out.Header) {
		t.Fatalf("mailpit: headers of message %s are gone", id)
	}
	return out
}
