package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook returns a Config.Alert that POSTs each alert as JSON
// ({job, tenant, tenant_id, slot, attempts, error, at}) to rawURL
// (PLATFORM_ALERT_WEBHOOK_URL, read by cmd). A status other than 2xx is an
// error. client nil means one with a 10 s timeout.
func Webhook(rawURL string, client *http.Client) func(ctx context.Context, a Alert) error {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	// The URL may carry a token: errors name its host only.
	host := "the alert webhook"
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		host = "alert webhook at " + u.Host
	}
	return func(ctx context.Context, a Alert) error {
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s: invalid URL", host)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			if ue, ok := err.(*url.Error); ok { // its text repeats the whole URL
				err = ue.Err
			}
			return fmt.Errorf("%s: %v", host, err)
		}
		defer res.Body.Close()
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %s", host, res.Status)
		}
		return nil
	}
}
