// Package charttest checks the Helm chart in ../platform offline: helm
// lint --strict, then every manifest helm template renders, decoded
// strictly into its Kubernetes API type (an unknown or misplaced field
// fails), for several value sets; and the real binary run with the
// environment the chart gives its containers, against the dev services.
// No cluster is involved.
package charttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "../platform"
	// helm built by `go install` defaults to Kubernetes v1.20 (its version
	// is set by ldflags in release builds only); the chart needs 1.25+.
	kubeVersion = "1.30.0"
	release     = "rel"
	namespace   = "tenants"
	fullname    = "rel-platform"
)

// helm runs the helm binary of scripts/dev-services with its own empty
// home directories: no repository, plugin or kube config of the machine.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	bin := os.Getenv("PLATFORM_HELM_BIN")
	if bin == "" {
		t.Fatal(`PLATFORM_HELM_BIN is not set: eval "$(scripts/dev-services env)" (scripts/dev-services up builds helm)`)
	}
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// valuesFile writes a values file for the flags of helm lint and template.
func valuesFile(t *testing.T, values string) []string {
	t.Helper()
	if values == "" {
		return nil
	}
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-f", p}
}

// Local types of the prometheus-operator CRDs, the fields the chart uses
// only: decoded strictly, a field the chart writes that is not here fails.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Scheme        string `json:"scheme"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Authorization *struct {
				Type        string                   `json:"type"`
				Credentials corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization"`
			Relabelings []struct {
				Action      string `json:"action"`
				TargetLabel string `json:"targetLabel"`
				Replacement string `json:"replacement"`
			} `json:"relabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

// ruleGroup is a group of a PrometheusRule and of a Prometheus rules file.
type ruleGroup struct {
	Name  string `json:"name"`
	Rules []struct {
		Alert       string            `json:"alert"`
		Record      string            `json:"record"`
		Expr        string            `json:"expr"`
		For         string            `json:"for"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"rules"`
}

// kinds maps apiVersion/kind to a new value of its Go type.
var kinds = map[string]func() any{
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"batch/v1/Job":                            func() any { return new(batchv1.Job) },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return new(networkingv1.NetworkPolicy) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(serviceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(prometheusRule) },
}

// rendered is one helm template run: every object by "Kind/name".
type rendered map[string]any

func (r rendered) kinds() []string {
	var ks []string
	for k := range r {
		ks = append(ks, strings.SplitN(k, "/", 2)[0])
	}
	slices.Sort(ks)
	return ks
}

func get[T any](t *testing.T, r rendered, key string) *T {
	t.Helper()
	v, ok := r[key]
	if !ok {
		t.Fatalf("%s not rendered; have %v", key, r.kinds())
	}
	x, ok := v.(*T)
	if !ok {
		t.Fatalf("%s is %T", key, v)
	}
	return x
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// render runs helm template and decodes each document strictly.
func render(t *testing.T, values string) rendered {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, valuesFile(t, values)...)
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{}
	for _, doc := range docSep.Split(string(out), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document is not YAML: %v\n%s", err, doc)
		}
		if head.APIVersion == "" && head.Kind == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				t.Fatalf("document without apiVersion and kind:\n%s", doc)
			}
			continue // comments only
		}
		mk, ok := kinds[head.APIVersion+"/"+head.Kind]
		if !ok {
			t.Fatalf("unexpected %s %s (no type to check it against)", head.APIVersion, head.Kind)
		}
		obj := mk()
		if err := decodeStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s %s does not decode strictly: %v\n%s", head.Kind, head.Metadata.Name, err, doc)
		}
		key := head.Kind + "/" + head.Metadata.Name
		if _, dup := r[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		r[key] = obj
	}
	return r
}

// decodeStrict decodes like the API server: duplicate keys, unknown fields
// and fields in another case ("livenessprobe") fail. sigs.k8s.io/yaml's
// UnmarshalStrict would accept the last, as encoding/json matches names
// case-insensitively.
func decodeStrict(doc []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, obj)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

const (
	tlsOff = `
ingress:
  tls:
    enabled: false
`
	monitoring = `
metrics:
  token:
    enabled: true
    secretName: metrics-token
    key: token
  serviceMonitor:
    enabled: true
    labels: {release: kube-prometheus-stack}
  prometheusRule:
    enabled: true
    additionalGroups:
      - name: extra
        rules:
          - alert: Extra
            expr: vector(1)
  grafanaDashboard:
    enabled: true
    annotations: {grafana_folder: Platform}
`
	monitoringOpen = `
metrics:
  serviceMonitor:
    enabled: true
`
	tokenAuth = `
vault:
  auth:
    method: token
    token:
      secretName: vault-token
      key: token
`
	appRoleOwnSecret = `
vault:
  auth:
    appRole:
      secretName: vault-approle
      roleIdKey: role-id
      secretIdKey: secret-id
`
	autoscaled = `
autoscaling:
  enabled: true
  minReplicas: 3
  maxReplicas: 5
`
	networkPolicy = `
networkPolicy:
  enabled: true
  adminFrom:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: monitoring}
`
	// Every plain setting set, to compare the variables with the binary's.
	allSettings = `
baseDomain: tenants.example.org
secret:
  name: platform-credentials
vault:
  addr: http://vault.vault.svc:8200
  kvMount: platform-kv
config:
  trustedProxies: [10.0.0.0/8, "fd00::/8"]
  templatePrefix: tpl_
  dbConnBudget: 40
  dbBudgetWait: 2s
  dbConnectTimeout: 4s
  tenantMaxConns: 6
  maxPools: 500
  poolIdleTimeout: 10m
  secretsTTL: 2m
  httpReadTimeout: 15s
  bcryptCost: 11
  smtpFrom: no-reply@tenants.example.org
  rateLimitLogin: 10/60s
  rateLimitDefault: "off"
  rotationCheckInterval: 30m
  logFormat: text
  logLevel: warn
  backupUrl: s3://backups/platform
  backupCopyUrl: s3://backups-copy
  restoreKeepDays: 0
  s3Endpoint: https://s3.example.org
  s3Region: eu-west-1
  s3Insecure: false
  pgBinDir: /usr/lib/postgresql/17/bin
  metricsTopTenants: 50
  metricsCatalogTTL: 5s
  tls: proxy
  hstsMaxAge: 86400
metrics:
  token:
    enabled: true
extraEnv:
  - name: PLATFORM_EXTRA
    value: "1"
`
)

// valueSets are rendered and linted by every test below that ranges over them.
var valueSets = []struct{ name, values string }{
	{"defaults", ""},
	{"tls-off", tlsOff},
	{"monitoring", monitoring},
	{"monitoring-open", monitoringOpen},
	{"vault-token", tokenAuth},
	{"vault-approle-own-secret", appRoleOwnSecret},
	{"autoscaled", autoscaled},
	{"network-policy", networkPolicy},
	{"all-settings", allSettings},
}

func TestLintStrict(t *testing.T) {
	t.Parallel()
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, valuesFile(t, vs.values)...)
			out, err := helm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte("1 chart(s) linted, 0 chart(s) failed")) {
				t.Fatalf("unexpected lint output:\n%s", out)
			}
		})
	}
}

// TestRenderStrict decodes every manifest of every value set; the checks
// common to all of them (hardening, probes, credentials) run on each.
func TestRenderStrict(t *testing.T) {
	t.Parallel()
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			t.Parallel()
			r := render(t, vs.values)
			d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
			checkPod(t, "Deployment", d.Spec.Template.Spec, true)
			if got := d.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, []string{"serve"}) {
				t.Errorf("serve container args = %v", got)
			}
			if !matches(d.Spec.Selector, d.Spec.Template.Labels) {
				t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector, d.Spec.Template.Labels)
			}
			job := get[batchv1.Job](t, r, "Job/"+fullname+"-migrate")
			checkPod(t, "migration Job", job.Spec.Template.Spec, false)
			if got := job.Annotations["helm.sh/hook"]; got != "pre-upgrade" {
				t.Errorf("migration Job hook = %q, want pre-upgrade (migrations before the rollout)", got)
			}
			if got := job.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got[:3], []string{"migrate", "up", "--all"}) {
				t.Errorf("migration Job args = %v", got)
			}
			if matches(d.Spec.Selector, job.Spec.Template.Labels) && job.Spec.Template.Labels["app.kubernetes.io/component"] == "" {
				t.Errorf("migration pods are indistinguishable from serve pods")
			}
			// The Service routes both listeners to the serve pods.
			svc := get[corev1.Service](t, r, "Service/"+fullname)
			if !matches(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
				t.Errorf("Service selector %v misses the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
			}
			for _, name := range []string{"http", "admin"} {
				p := servicePort(svc, name)
				if p == nil || p.TargetPort != intstr.FromString(name) {
					t.Errorf("Service port %s = %+v, want targetPort %s", name, p, name)
				}
			}
			if pdb, ok := r["PodDisruptionBudget/"+fullname].(*policyv1.PodDisruptionBudget); !ok {
				t.Errorf("no PodDisruptionBudget")
			} else if !matches(pdb.Spec.Selector, d.Spec.Template.Labels) || pdb.Spec.MinAvailable.IntValue() < 1 {
				t.Errorf("PodDisruptionBudget %+v does not keep a serve pod", pdb.Spec)
			}
		})
	}
}

// checkPod asserts what every platform pod must be: non-root, read-only,
// no privilege, credentials from Secrets only.
func checkPod(t *testing.T, what string, pod corev1.PodSpec, serve bool) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want non-root, a non-zero uid, seccomp RuntimeDefault", what, psc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted; the platform calls no Kubernetes API", what)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged == nil || *sc.Privileged ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: container securityContext %+v is not hardened", what, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %+v: want cpu and memory requests and a memory limit", what, c.Resources)
	}
	// /tmp is the only writable path, an emptyDir.
	var tmp string
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmp = m.Name
		} else if !m.ReadOnly {
			t.Errorf("%s: writable mount %s", what, m.MountPath)
		}
	}
	if i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == tmp }); tmp == "" || i < 0 || pod.Volumes[i].EmptyDir == nil {
		t.Errorf("%s: no emptyDir on /tmp", what)
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s: %s set twice", what, e.Name)
		}
		env[e.Name] = e
	}
	for _, name := range []string{"PLATFORM_DATABASE_URL", "PLATFORM_DB_ADMIN_URL", "REDIS_URL"} {
		if e, ok := env[name]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Optional != nil {
			t.Errorf("%s: %s = %+v, want a required key of a Secret", what, name, e)
		}
	}
	for _, name := range secretVars {
		if e, ok := env[name]; ok && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s: %s is not read from a Secret: %+v", what, name, e)
		}
	}
	for _, name := range []string{"PLATFORM_BASE_DOMAIN", "VAULT_ADDR"} {
		if env[name].Value == "" {
			t.Errorf("%s: %s is not set", what, name)
		}
	}
	_, token := env["VAULT_TOKEN"]
	_, roleID := env["VAULT_ROLE_ID"]
	_, secretID := env["VAULT_SECRET_ID"]
	if token == (roleID || secretID) || roleID != secretID {
		t.Errorf("%s: Vault credentials: token %v, role id %v, secret id %v; want a token or an AppRole", what, token, roleID, secretID)
	}

	if !serve {
		if c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil || len(c.Ports) > 0 {
			t.Errorf("%s: probes or ports on a Job", what)
		}
		return
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] == 0 || ports["admin"] == 0 {
		t.Fatalf("%s: container ports %v, want http and admin", what, ports)
	}
	// The listeners bind every interface of the pod on those ports: a
	// loopback admin listener would be unreachable by the Service.
	if got, want := env["PLATFORM_HTTP_ADDR"].Value, fmt.Sprintf(":%d", ports["http"]); got != want {
		t.Errorf("%s: PLATFORM_HTTP_ADDR = %q, want %q", what, got, want)
	}
	if got, want := env["PLATFORM_ADMIN_ADDR"].Value, fmt.Sprintf(":%d", ports["admin"]); got != want {
		t.Errorf("%s: PLATFORM_ADMIN_ADDR = %q, want %q", what, got, want)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startup", c.StartupProbe, "/healthz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path ||
			(p.probe.HTTPGet.Port != intstr.FromString("http") && p.probe.HTTPGet.Port != intstr.FromInt32(ports["http"])) {
			t.Errorf("%s: %s probe %+v, want GET %s on the http port", what, p.name, p.probe, p.path)
		}
	}
}

// secretVars are the variables that carry credentials: never a plain value.
var secretVars = []string{"PLATFORM_DATABASE_URL", "PLATFORM_DB_ADMIN_URL", "REDIS_URL", "VAULT_TOKEN", "VAULT_ROLE_ID",
	"VAULT_SECRET_ID", "PLATFORM_OPERATOR_TOKEN", "PLATFORM_SMTP_URL", "PLATFORM_ALERT_WEBHOOK_URL",
	"PLATFORM_S3_ACCESS_KEY", "PLATFORM_S3_SECRET_KEY", "PLATFORM_METRICS_TOKEN"}

func podEnv(d *appsv1.Deployment) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	return env
}

func matches(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil || len(sel.MatchLabels) == 0 {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(k8slabels.Set(labels))
}

func servicePort(svc *corev1.Service, name string) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == name {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	r := render(t, "")
	want := []string{"Deployment", "Ingress", "Job", "PodDisruptionBudget", "Service", "ServiceAccount"}
	if got := r.kinds(); !slices.Equal(got, want) {
		t.Errorf("kinds rendered = %v, want %v (HPA and monitoring off by default)", got, want)
	}
	d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas = %v, want at least 2", d.Spec.Replicas)
	}
	if ref := podEnv(d)["GOMEMLIMIT"].ValueFrom; ref == nil || ref.ResourceFieldRef == nil || ref.ResourceFieldRef.Resource != "limits.memory" {
		t.Errorf("GOMEMLIMIT = %+v, want the memory limit", podEnv(d)["GOMEMLIMIT"])
	}
	if s := d.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v: want maxUnavailable 0", s)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	// /tmp holds two import uploads of the largest size besides its 64 MiB.
	if env["PLATFORM_IMPORT_MAX_UPLOAD_MIB"].Value != "256" {
		t.Errorf("PLATFORM_IMPORT_MAX_UPLOAD_MIB = %+v, want 256", env["PLATFORM_IMPORT_MAX_UPLOAD_MIB"])
	}
	tmp := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "tmp" {
			tmp = v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil && v.EmptyDir.SizeLimit.String() == "576Mi"
		}
	}
	if !tmp {
		t.Errorf("volumes %+v: want tmp, an emptyDir of 576Mi", d.Spec.Template.Spec.Volumes)
	}
	if ref := env["VAULT_SECRET_ID"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != fullname {
		t.Errorf("default Vault auth: VAULT_SECRET_ID = %+v, want an AppRole from the Secret %s", env["VAULT_SECRET_ID"], fullname)
	}
	ing := get[networkingv1.Ingress](t, r, "Ingress/"+fullname)
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "*.example.com" {
		t.Fatalf("Ingress rules %+v, want the wildcard host *.example.com", ing.Spec.Rules)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if len(paths) != 1 || paths[0].Path != "/" || paths[0].Backend.Service == nil ||
		paths[0].Backend.Service.Name != fullname || paths[0].Backend.Service.Port.Name != "http" {
		t.Errorf("Ingress paths %+v, want / to the Service's http port (never admin)", paths)
	}
	if len(ing.Spec.TLS) != 1 || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"*.example.com"}) || ing.Spec.TLS[0].SecretName != fullname+"-tls" {
		t.Errorf("Ingress TLS %+v, want *.example.com from %s-tls", ing.Spec.TLS, fullname)
	}
}

func TestTLSOff(t *testing.T) {
	t.Parallel()
	ing := get[networkingv1.Ingress](t, render(t, tlsOff), "Ingress/"+fullname)
	if len(ing.Spec.TLS) != 0 {
		t.Errorf("TLS off: Ingress TLS %+v", ing.Spec.TLS)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "*.example.com" {
		t.Errorf("TLS off: rules %+v", ing.Spec.Rules)
	}
}

func TestMonitoring(t *testing.T) {
	t.Parallel()
	r := render(t, monitoring)
	sm := get[serviceMonitor](t, r, "ServiceMonitor/"+fullname)
	svc := get[corev1.Service](t, r, "Service/"+fullname)
	if !matches(&sm.Spec.Selector, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v misses the Service's labels %v", sm.Spec.Selector, svc.Labels)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v lack the configured ones", sm.Labels)
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("ServiceMonitor namespaces %v", sm.Spec.NamespaceSelector.MatchNames)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("ServiceMonitor endpoints %+v, want /metrics on the admin port", sm.Spec.Endpoints)
	}
	if servicePort(svc, "admin") == nil {
		t.Errorf("the Service has no admin port for the ServiceMonitor")
	}
	// The token Prometheus sends is the one the pods require.
	want := corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "metrics-token"}, Key: "token"}
	if a := sm.Spec.Endpoints[0].Authorization; a == nil || a.Type != "Bearer" || a.Credentials != want {
		t.Errorf("ServiceMonitor authorization %+v, want Bearer from %+v", a, want)
	}
	if ref := podEnv(get[appsv1.Deployment](t, r, "Deployment/"+fullname))["PLATFORM_METRICS_TOKEN"].ValueFrom; ref == nil ||
		ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != want.Name || ref.SecretKeyRef.Key != want.Key || ref.SecretKeyRef.Optional != nil {
		t.Errorf("PLATFORM_METRICS_TOKEN = %+v, want the required key %+v", ref, want)
	}
	open := render(t, monitoringOpen)
	if a := get[serviceMonitor](t, open, "ServiceMonitor/"+fullname).Spec.Endpoints[0].Authorization; a != nil {
		t.Errorf("token off: ServiceMonitor sends %+v", a)
	}
	if e, ok := podEnv(get[appsv1.Deployment](t, open, "Deployment/"+fullname))["PLATFORM_METRICS_TOKEN"]; ok {
		t.Errorf("token off: PLATFORM_METRICS_TOKEN = %+v; a scrape without it would be refused", e)
	}
	pr := get[prometheusRule](t, r, "PrometheusRule/"+fullname)
	var alerts []string
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Expr == "" || (rule.Alert == "") == (rule.Record == "") {
				t.Errorf("group %s: rule %+v needs an expr and an alert or a record", g.Name, rule)
			}
			if rule.Alert != "" {
				alerts = append(alerts, rule.Alert)
			}
		}
	}
	for _, a := range []string{"PlatformReplicaDown", "PlatformAllReplicasDown", "Extra"} {
		if !slices.Contains(alerts, a) {
			t.Errorf("alert %s missing from %v", a, alerts)
		}
	}
}

func TestVaultAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, values string
		want         map[string][2]string // variable → Secret, key
		absent       []string
	}{
		{"approle-default", "", map[string][2]string{"VAULT_ROLE_ID": {fullname, "VAULT_ROLE_ID"}, "VAULT_SECRET_ID": {fullname, "VAULT_SECRET_ID"}}, []string{"VAULT_TOKEN"}},
		{"approle-own-secret", appRoleOwnSecret, map[string][2]string{"VAULT_ROLE_ID": {"vault-approle", "role-id"}, "VAULT_SECRET_ID": {"vault-approle", "secret-id"}}, []string{"VAULT_TOKEN"}},
		{"token", tokenAuth, map[string][2]string{"VAULT_TOKEN": {"vault-token", "token"}}, []string{"VAULT_ROLE_ID", "VAULT_SECRET_ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := render(t, tc.values)
			for _, pod := range []corev1.PodSpec{get[appsv1.Deployment](t, r, "Deployment/"+fullname).Spec.Template.Spec,
				get[batchv1.Job](t, r, "Job/"+fullname+"-migrate").Spec.Template.Spec} {
				env := map[string]corev1.EnvVar{}
				for _, e := range pod.Containers[0].Env {
					env[e.Name] = e
				}
				for name, ref := range tc.want {
					e := env[name]
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != ref[0] || e.ValueFrom.SecretKeyRef.Key != ref[1] {
						t.Errorf("%s = %+v, want key %s of Secret %s", name, e, ref[1], ref[0])
					}
				}
				for _, name := range tc.absent {
					if _, ok := env[name]; ok {
						t.Errorf("%s is set", name)
					}
				}
			}
		})
	}
}

func TestAutoscaling(t *testing.T) {
	t.Parallel()
	r := render(t, autoscaled)
	d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
	if d.Spec.Replicas != nil {
		t.Errorf("with the HPA the Deployment sets replicas %d: every upgrade would reset the HPA's count", *d.Spec.Replicas)
	}
	hpa := get[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler/"+fullname)
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 5 {
		t.Errorf("HPA replicas %v–%d, want 3–5", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA scales %+v, not the Deployment %s", ref, d.Name)
	}
	if len(hpa.Spec.Metrics) == 0 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("HPA metrics %+v, want CPU", hpa.Spec.Metrics)
	}
}

// TestSettingsAreTheBinarys renders every setting and compares the
// variables with those cmd/platform reads: a chart variable the binary
// does not read (a typo, a renamed setting) fails.
func TestSettingsAreTheBinarys(t *testing.T) {
	t.Parallel()
	read := binaryVars(t)
	r := render(t, allSettings)
	d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
		if e.Name != "PLATFORM_EXTRA" && e.Name != "GOMEMLIMIT" && !read[e.Name] {
			t.Errorf("the chart sets %s, which cmd/platform does not read", e.Name)
		}
	}
	for name, want := range map[string]string{
		"PLATFORM_BASE_DOMAIN": "tenants.example.org", "PLATFORM_TRUSTED_PROXIES": "10.0.0.0/8,fd00::/8",
		"PLATFORM_DB_CONN_BUDGET": "40", "PLATFORM_TENANT_MAX_CONNS": "6", "PLATFORM_RATE_LIMIT_DEFAULT": "off",
		"PLATFORM_RESTORE_KEEP_DAYS": "0", "PLATFORM_S3_INSECURE": "0", "PLATFORM_LOG_LEVEL": "warn",
		"PLATFORM_SECRETS_TTL": "2m", "PLATFORM_BACKUP_URL": "s3://backups/platform", "PLATFORM_EXTRA": "1",
		"PLATFORM_VAULT_KV_MOUNT": "platform-kv", "PLATFORM_METRICS_TOP_TENANTS": "50", "VAULT_ADDR": "http://vault.vault.svc:8200",
	} {
		if got := env[name].Value; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ref := env["PLATFORM_DATABASE_URL"].ValueFrom; ref == nil || ref.SecretKeyRef.Name != "platform-credentials" {
		t.Errorf("secret.name not used: %+v", env["PLATFORM_DATABASE_URL"])
	}
	var unmapped []string
	for name := range read {
		if _, ok := env[name]; !ok && !notCharted[name] && !slices.Contains([]string{"VAULT_TOKEN"}, name) {
			unmapped = append(unmapped, name)
		}
	}
	slices.Sort(unmapped)
	if len(unmapped) > 0 {
		// Not a failure: a setting newer than the chart goes through extraEnv.
		t.Logf("cmd/platform reads variables the chart has no value for (extraEnv sets them): %v", unmapped)
	}
}

// notCharted are variables the binary reads that the chart leaves out on purpose.
var notCharted = map[string]bool{
	"PLATFORM_ALLOW_WEAK_BCRYPT": true, // tests only
	"PLATFORM_PPROF_ADDR":        true, // profiling, by hand (extraEnv)
}

// envRE matches a variable's name as a whole string literal: getenv("X"),
// or a table of names and destinations ({"X", &c.Field}).
var envRE = regexp.MustCompile(`"((?:PLATFORM|VAULT|REDIS)_[A-Z0-9_]*)"`)

// binaryVars are the variables cmd/platform names (its non-test sources).
func binaryVars(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../cmd/platform/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("cmd/platform sources: %v (%d files)", err, len(files))
	}
	vars := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRE.FindAllSubmatch(b, -1) {
			vars[string(m[1])] = true
		}
	}
	for _, must := range []string{"PLATFORM_DATABASE_URL", "REDIS_URL", "VAULT_ADDR", "VAULT_SECRET_ID", "PLATFORM_SECRETS_TTL"} {
		if !vars[must] {
			t.Fatalf("found no %q in cmd/platform: the scan is broken (found %v)", must, vars)
		}
	}
	return vars
}

// TestSchemaRefuses: values.schema.json turns bad values away before
// anything renders.
func TestSchemaRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, set, want string }{
		{"replicas not a number", "replicas=abc", "replicas"},
		{"replicas zero", "replicas=0", "replicas"},
		{"unknown top-level key", "replica=3", "replica"},
		{"unknown config key", "config.dbBudget=3", "dbBudget"},
		{"vault kubernetes auth", "vault.auth.method=kubernetes", "method"},
		{"bad duration", "config.dbBudgetWait=3 seconds", "dbBudgetWait"},
		{"bad rate limit", "config.rateLimitLogin=off", "rateLimitLogin"},
		{"budget not a number", "config.dbConnBudget=many", "dbConnBudget"},
		{"weak bcrypt", "config.bcryptCost=4", "bcryptCost"},
		{"bad base domain", "baseDomain=Example.COM/x", "baseDomain"},
		{"vault addr with credentials", "vault.addr=https://u:p@vault:8200", "addr"},
		{"bad log level", "config.logLevel=verbose", "logLevel"},
		{"too many top tenants", "config.metricsTopTenants=5000", "metricsTopTenants"},
		{"tls mode the chart cannot serve", "config.tls=acme", "tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, "template", release, chartDir, "--kube-version", kubeVersion, "--set", tc.set)
			if err == nil {
				t.Fatalf("--set %s rendered:\n%s", tc.set, out)
			}
			if msg := err.Error(); !strings.Contains(msg, "values don't meet the specifications of the schema") || !strings.Contains(msg, tc.want) {
				t.Errorf("--set %s: error does not name the schema and %s:\n%v", tc.set, tc.want, err)
			}
		})
	}
}

func TestNetworkPolicy(t *testing.T) {
	t.Parallel()
	r := render(t, networkPolicy)
	np := get[networkingv1.NetworkPolicy](t, r, "NetworkPolicy/"+fullname)
	d := get[appsv1.Deployment](t, r, "Deployment/"+fullname)
	if !matches(&np.Spec.PodSelector, d.Spec.Template.Labels) {
		t.Errorf("NetworkPolicy selects %v, not the serve pods %v", np.Spec.PodSelector, d.Spec.Template.Labels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policy types %v", np.Spec.PolicyTypes)
	}
	from := map[string][]networkingv1.NetworkPolicyPeer{}
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) != 1 || rule.Ports[0].Port == nil {
			t.Fatalf("rule %+v: want one named port", rule)
		}
		from[rule.Ports[0].Port.String()] = rule.From
	}
	if peers, ok := from["http"]; !ok || len(peers) != 0 {
		t.Errorf("tenant port: from %v, want anywhere", peers)
	}
	if peers := from["admin"]; len(peers) != 1 || peers[0].NamespaceSelector == nil ||
		peers[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("admin port: from %+v, want the monitoring namespace only", peers)
	}
	if _, ok := render(t, "")["NetworkPolicy/"+fullname]; ok {
		t.Errorf("a NetworkPolicy by default")
	}
}

// TestDrainBlockingBudgetRefused: a PodDisruptionBudget that no eviction
// could ever satisfy is refused with a message saying why.
func TestDrainBlockingBudgetRefused(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"replicas=1", "podDisruptionBudget.minAvailable=2", "autoscaling.enabled=true,autoscaling.minReplicas=1"} {
		out, err := helm(t, "template", release, chartDir, "--kube-version", kubeVersion, "--set", set)
		if err == nil {
			t.Errorf("--set %s rendered:\n%s", set, out)
		} else if !strings.Contains(err.Error(), "would block every node drain") {
			t.Errorf("--set %s: %v", set, err)
		}
	}
	// Without the budget, or with a percentage, one replica renders.
	for _, set := range []string{"replicas=1,podDisruptionBudget.enabled=false", "podDisruptionBudget.minAvailable=50%"} {
		if _, err := helm(t, "template", release, chartDir, "--kube-version", kubeVersion, "--set", set); err != nil {
			t.Errorf("--set %s: %v", set, err)
		}
	}
}
