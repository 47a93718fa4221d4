package schedule_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
	"github.com/tenancy/platform/platform/schedule"
)

// TestWebhookErrors: a refusal or an unreachable hook is an error that
// names the host, never the URL's path (hooks carry tokens there).
func TestWebhookErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	ctx := platformtest.Context(t)
	a := schedule.Alert{Job: "backup", Tenant: "acme", At: time.Now()}
	err := schedule.Webhook(srv.URL+"/hooks/T0KEN", srv.Client())(ctx, a)
	if err == nil || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("refused: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	err = schedule.Webhook(url+"/hooks/T0KEN", nil)(ctx, a)
	if err == nil || strings.Contains(err.Error(), "T0KEN") || !strings.Contains(err.Error(), strings.TrimPrefix(url, "http://")) {
		t.Errorf("unreachable: %v", err)
	}
}
