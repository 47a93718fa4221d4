package charttest

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestChartEnvRunsThePlatform runs the real binary with nothing but the
// environment the chart gives its containers (Secret keys resolved from
// the dev services): the migration Job's command, then `serve`, whose
// probes must answer on the ports and paths the chart declares, with the
// AppRole login the chart configures by default. A setting the chart
// writes that the binary refuses, or one it needs that the chart leaves
// out, fails here.
func TestChartEnvRunsThePlatform(t *testing.T) {
	t.Parallel()
	admin := platformtest.Admin(t)
	prefix := platformtest.TemplatePrefix(t, admin)
	_, catalogURL := platformtest.Catalog(t)
	roleID, secretID := platformtest.AppRole(t, time.Hour, 2*time.Hour)
	httpPort, adminPort := platformtest.FreePort(t), platformtest.FreePort(t)

	values := fmt.Sprintf(`
baseDomain: charttest.example
vault:
  addr: %q
ports: {http: %d, admin: %d}
metrics:
  token:
    enabled: true
config:
  trustedProxies: [127.0.0.1/32]
  templatePrefix: %s
  dbConnBudget: 10
  dbBudgetWait: 2s
  dbConnectTimeout: 4s
  tenantMaxConns: 2
  maxPools: 50
  poolIdleTimeout: 1m
  secretsTTL: 1m
  httpReadTimeout: 5s
  bcryptCost: 10
  rateLimitLogin: 10/60s
  rateLimitDefault: 100/60s
  rotationCheckInterval: 30m
  logFormat: json
  logLevel: info
  restoreKeepDays: 3
  metricsTopTenants: 5
  metricsCatalogTTL: 5s
  tls: proxy
  hstsMaxAge: 86400
`, platformtest.Getenv(t, "VAULT_ADDR"), httpPort, adminPort, prefix)
	const operatorToken, metricsToken = "charttest-operator-token-0123456789abcdef", "charttest-metrics-token-0123456789abcdef"
	secrets := map[string]map[string]string{fullname: {
		"PLATFORM_DATABASE_URL":   catalogURL,
		"PLATFORM_DB_ADMIN_URL":   platformtest.AdminURL(t),
		"REDIS_URL":               platformtest.Getenv(t, "REDIS_URL"),
		"VAULT_ROLE_ID":           roleID,
		"VAULT_SECRET_ID":         secretID,
		"PLATFORM_OPERATOR_TOKEN": operatorToken,
		"PLATFORM_METRICS_TOKEN":  metricsToken,
	}}
	r := render(t, values)
	d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
	job := get[batchv1.Job](t, r, "Job/"+fullname+"-migrate")

	bin := filepath.Join(t.TempDir(), "platform")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/platform").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The migration Job first, as Helm runs it before a rollout.
	jc := job.Spec.Template.Spec.Containers[0]
	migrate := exec.CommandContext(t.Context(), bin, append(jc.Command, jc.Args...)...)
	migrate.Env = containerEnv(t, jc, secrets)
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migration Job command %v: %v\n%s", jc.Args, err, out)
	}

	c := d.Spec.Template.Spec.Containers[0]
	serve := exec.Command(bin, append(c.Command, c.Args...)...)
	serve.Env = containerEnv(t, c, secrets)
	logs := &platformtest.LogSink{} // safe for the copying goroutine and the test
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
			<-exited
		}
	})

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probeURL := func(p *corev1.Probe) string {
		port := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.StrVal != "" {
			port = ports[p.HTTPGet.Port.StrVal]
		}
		return fmt.Sprintf("http://127.0.0.1:%d%s", port, p.HTTPGet.Path)
	}
	status := func(url, token string) int {
		req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	ready := probeURL(c.ReadinessProbe)
	platformtest.Eventually(t, 60*time.Second, "serve answers its readiness probe "+ready, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("serve exited (%v) before it was ready:\n%s", err, logs.String())
		default:
		}
		return status(ready, "") == http.StatusOK
	})
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe} {
		if code := status(probeURL(p), ""); code != http.StatusOK {
			t.Errorf("%s probe %s: %d", name, probeURL(p), code)
		}
	}
	// The ServiceMonitor's port and path, with and without its token.
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", ports["admin"])
	if code := status(metrics, metricsToken); code != http.StatusOK {
		t.Errorf("GET /metrics with the token: %d", code)
	}
	if code := status(metrics, ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d, want 401", code)
	}

	// SIGTERM, as the kubelet sends it: serve drains and exits 0 within
	// the grace period.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(grace):
		t.Fatalf("serve still running %v after SIGTERM", grace)
	}
	// config.logFormat json: every line is a JSON object (Lines fails otherwise).
	for _, l := range logs.Lines(t, "") {
		if l["level"] == "ERROR" {
			t.Errorf("serve logged an error: %v", l)
		}
	}
	for _, secret := range []string{secretID, operatorToken, metricsToken, catalogURL} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("serve logged a credential")
		}
	}
}

// containerEnv is a container's environment as the kubelet builds it:
// values, Secret keys (a missing required key fails, like a pod that
// cannot start), the memory limit. Nothing of the test's own environment
// is passed but PATH.
func containerEnv(t *testing.T, c corev1.Container, secrets map[string]map[string]string) []string {
	t.Helper()
	env := []string{"PATH=" + platformtest.Getenv(t, "PATH")}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name][ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				t.Fatalf("%s: key %s of Secret %s is required and missing", e.Name, ref.Key, ref.Name)
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			env = append(env, e.Name+"="+strconv.FormatInt(c.Resources.Limits.Memory().Value(), 10))
		default:
			t.Fatalf("%s: a source the test does not resolve: %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}
