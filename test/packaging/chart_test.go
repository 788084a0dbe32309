package packaging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/rulefmt"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/licenseops/license-operator/hack/manifests"
)

const (
	releaseName = "license-operator"
	releaseNS   = "license-operator-system"
)

var kubeVersion = &chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}

func chartDir() string { return filepath.Join(root, "dist", "chart") }

// render renders the chart as `helm template` does, with Helm's own install
// action, and returns the objects and the NOTES.
func render(t *testing.T, name, ns string, vals map[string]any) ([]map[string]any, string) {
	t.Helper()
	ch, err := loader.Load(chartDir())
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = name
	install.Namespace = ns
	install.KubeVersion = kubeVersion
	rel, err := install.Run(ch, vals)
	if err != nil {
		t.Fatalf("rendering the chart with %v: %v", vals, err)
	}
	objs, err := manifests.SplitYAML([]byte(rel.Manifest))
	if err != nil {
		t.Fatalf("the rendered chart is not YAML: %v\n%s", err, rel.Manifest)
	}
	return objs, rel.Info.Notes
}

func values(t *testing.T, y string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(y), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func key(o map[string]any) string {
	m, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%s/%s", o["kind"], m["name"])
}

func byKey(objs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		out[key(o)] = normalizeNumbers(o)
	}
	return out
}

// normalizeNumbers round-trips through JSON so that both sides hold the
// same Go types.
func normalizeNumbers(o map[string]any) map[string]any {
	data, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

// helmOnly are what the chart adds to config/'s objects: Helm's own labels
// (also in selectors, so that two releases never select each other) and the
// CRDs' keep policy.
var helmOnlyLabels = []string{"app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"}

func stripHelm(o map[string]any) map[string]any {
	o = normalizeNumbers(o)
	for _, path := range [][]string{
		{"metadata", "labels"},
		{"spec", "selector", "matchLabels"},
		{"spec", "template", "metadata", "labels"},
	} {
		if m, ok := nestedMap(o, path...); ok {
			for _, l := range helmOnlyLabels {
				delete(m, l)
			}
		}
	}
	if o["kind"] == "Service" {
		if m, ok := nestedMap(o, "spec", "selector"); ok {
			for _, l := range helmOnlyLabels {
				delete(m, l)
			}
		}
	}
	if ann, ok := nestedMap(o, "metadata", "annotations"); ok {
		delete(ann, "helm.sh/resource-policy")
	}
	return o
}

func nestedMap(o map[string]any, path ...string) (map[string]any, bool) {
	var v any = o
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func kustomize(t *testing.T, dir string, o manifests.Options) map[string]map[string]any {
	t.Helper()
	data, err := manifests.Render(root, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.SplitYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	out := byKey(objs)
	delete(out, "Namespace/"+releaseNS) // helm install --namespace ... --create-namespace
	return out
}

// compare fails with a diff per object where the chart and config/ differ.
func compare(t *testing.T, chart, config map[string]map[string]any) {
	t.Helper()
	for k, want := range config {
		got, ok := chart[k]
		if !ok {
			t.Errorf("config/ has %s, the chart does not render it: run make helm-chart", k)
			continue
		}
		if d := cmp.Diff(want, stripHelm(got)); d != "" {
			t.Errorf("%s differs between config/ (-) and the chart (+); run make helm-chart, or teach hack/manifests/chart.go the change:\n%s", k, d)
		}
	}
	for k := range chart {
		if _, ok := config[k]; !ok {
			t.Errorf("the chart renders %s, which config/ does not have", k)
		}
	}
}

// The committed chart is what hack/helm-chart generates from config/ today.
func TestChartIsGeneratedFromConfig(t *testing.T) {
	want, err := manifests.Chart(root, manifests.ChartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifests.ReadChart(chartDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range manifests.SortedNames(want) {
		if g, ok := got[name]; !ok {
			t.Errorf("dist/chart/%s is missing: run make helm-chart and commit", name)
		} else if !bytes.Equal(g, want[name]) {
			t.Errorf("dist/chart/%s is stale: run make helm-chart and commit", name)
		}
	}
	for _, name := range manifests.SortedNames(got) {
		if _, ok := want[name]; !ok {
			t.Errorf("dist/chart/%s is not generated any more: run make helm-chart and commit", name)
		}
	}
}

// helm lint passes without warnings, with the default values and with
// everything switched on.
func TestChartLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"defaults":   nil,
		"monitoring": values(t, "metrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}"),
	} {
		t.Run(name, func(t *testing.T) {
			l := lint.AllWithKubeVersion(chartDir(), vals, releaseNS, kubeVersion)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

// With the default values and the release name license-operator the chart
// installs exactly what make deploy installs (config/default), plus Helm's
// labels; with the ServiceMonitor and PrometheusRule enabled, those of
// config/prometheus too.
func TestChartDefaultsEqualConfig(t *testing.T) {
	ch, err := loader.Load(chartDir())
	if err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("%s:%s", ch.Values["image"].(map[string]any)["repository"], ch.Metadata.AppVersion)

	objs, notes := render(t, releaseName, releaseNS, nil)
	compare(t, byKey(objs), kustomize(t, "config/default", manifests.Options{Image: image}))
	for _, o := range objs {
		if o["kind"] == "CustomResourceDefinition" {
			if ann, _ := nestedMap(o, "metadata", "annotations"); ann["helm.sh/resource-policy"] != "keep" {
				t.Errorf("%s: crds.keep=true (the default) but no helm.sh/resource-policy: keep", key(o))
			}
		}
	}
	if !strings.Contains(notes, "kubectl label namespace "+releaseNS+" pod-security.kubernetes.io/enforce=restricted") {
		t.Errorf("NOTES do not tell how to enforce the restricted Pod Security level:\n%s", notes)
	}

	objs, _ = render(t, releaseName, releaseNS, values(t, "metrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}"))
	want := kustomize(t, "config/default", manifests.Options{Image: image})
	for k, v := range kustomize(t, "config/prometheus", manifests.Options{}) {
		want[k] = v
	}
	compare(t, byKey(objs), want)
}

// nonDefault switches every value away from its default.
const nonDefault = `
fullnameOverride: licensing
crds: {enabled: false}
image: {repository: registry.example.com/lo, tag: v9.9.9, pullPolicy: Always}
imagePullSecrets: [{name: pull}]
replicas: 3
leaderElection: {enabled: false, leaseDuration: 60s, renewDeadline: 40s, retryPeriod: 5s, namespace: leases}
watchNamespaces: [contoso, fabrikam]
concurrency: {tenants: 8, writes: 64}
kubeAPI: {qps: 0, burst: 1000}
events: {record: false, qps: 50.5, qpsWhileWriting: -1, maxQueued: 1000000}
logging: {level: debug, encoder: console}
extraArgs: [--pprof-bind-address=127.0.0.1:6060]
extraEnv: [{name: GOMEMLIMIT, value: 400MiB}]
health: {port: 9091}
metrics:
  enabled: true
  port: 9443
  secure: false
  serviceMonitor: {enabled: true, labels: {release: prom}, interval: 30s, scrapeTimeout: 10s}
  prometheusRule: {enabled: true, labels: {release: prom}}
# limits: null removes the default limits (Helm merges maps).
resources: {requests: {cpu: 50m, memory: 64Mi}, limits: null}
podSecurityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
serviceAccount: {annotations: {eks.amazonaws.com/role-arn: arn}}
commonLabels: {team: platform}
commonAnnotations: {owner: platform@example.com}
podLabels: {tier: control}
podAnnotations: {scrape: "no"}
priorityClassName: system-cluster-critical
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Exists}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}
topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {control-plane: controller-manager}}}]
`

// Every value reaches the object it configures.
func TestChartNonDefaultValues(t *testing.T) {
	objs, _ := render(t, "lo", "tenants-ops", values(t, nonDefault))
	got := byKey(objs)
	for k, o := range got {
		if strings.HasPrefix(k, "CustomResourceDefinition/") {
			t.Errorf("crds.enabled=false renders %s", k)
		}
		name, _ := o["metadata"].(map[string]any)["name"].(string)
		if o["kind"] != "CustomResourceDefinition" && !strings.HasPrefix(name, "licensing-") {
			t.Errorf("%s: fullnameOverride=licensing not used as the name prefix", k)
		}
		if l, _ := nestedMap(o, "metadata", "labels"); l["team"] != "platform" || l["app.kubernetes.io/instance"] != "lo" {
			t.Errorf("%s: labels %v lack commonLabels or the instance", k, l)
		}
		if a, _ := nestedMap(o, "metadata", "annotations"); a["owner"] != "platform@example.com" {
			t.Errorf("%s: annotations %v lack commonAnnotations", k, a)
		}
		if ns, _ := o["metadata"].(map[string]any)["namespace"].(string); ns != "" && ns != "tenants-ops" {
			t.Errorf("%s: namespace %s, want the release namespace", k, ns)
		}
	}
	dep := got["Deployment/licensing-controller-manager"]
	if dep == nil {
		t.Fatalf("no Deployment licensing-controller-manager in %v", keys(got))
	}
	var d struct {
		Spec struct {
			Replicas int `json:"replicas"`
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	data, _ := json.Marshal(dep)
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	wantArgs := []string{
		"--health-probe-bind-address=:9091",
		"--metrics-bind-address=:9443",
		"--metrics-secure=false",
		"--namespaces=contoso,fabrikam",
		"--record-events=false",
		"--leader-elect-lease-duration=60s",
		"--leader-elect-renew-deadline=40s",
		"--leader-elect-retry-period=5s",
		"--leader-election-namespace=leases",
		"--max-concurrent-tenants=8",
		"--max-concurrent-writes=64",
		"--kube-api-qps=0",
		"--kube-api-burst=1000",
		"--event-qps=50.5",
		"--event-qps-while-writing=-1",
		"--max-queued-events=1000000",
		"--zap-log-level=debug",
		"--zap-encoder=console",
		"--pprof-bind-address=127.0.0.1:6060",
	}
	if d := cmp.Diff(wantArgs, c.Args); d != "" {
		t.Errorf("manager args (-want +got):\n%s", d)
	}
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"replicas", d.Spec.Replicas, 3},
		{"image", c.Image, "registry.example.com/lo:v9.9.9"},
		{"pull policy", string(c.ImagePullPolicy), "Always"},
		{"pull secrets", pod.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "pull"}}},
		{"env", c.Env, []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "400MiB"}}},
		{"ports", c.Ports, []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9443, Protocol: corev1.ProtocolTCP}}},
		{"liveness port", c.LivenessProbe.HTTPGet.Port.IntValue(), 9091},
		{"readiness port", c.ReadinessProbe.HTTPGet.Port.IntValue(), 9091},
		{"resources", c.Resources.Requests.Memory().String() + "/" + c.Resources.Requests.Cpu().String(), "64Mi/50m"},
		{"no limits", len(c.Resources.Limits), 0},
		{"run as user", *pod.SecurityContext.RunAsUser, int64(65532)},
		{"service account", pod.ServiceAccountName, "licensing-controller-manager"},
		{"pod labels", d.Spec.Template.Labels, map[string]string{"control-plane": "controller-manager", "tier": "control", "app.kubernetes.io/instance": "lo"}},
		{"selector", d.Spec.Selector.MatchLabels, map[string]string{"control-plane": "controller-manager", "app.kubernetes.io/instance": "lo"}},
		{"pod annotations", d.Spec.Template.Annotations, map[string]string{"kubectl.kubernetes.io/default-container": "manager", "scrape": "no"}},
		{"priority class", pod.PriorityClassName, "system-cluster-critical"},
		{"node selector", pod.NodeSelector, map[string]string{"kubernetes.io/os": "linux"}},
		{"tolerations", len(pod.Tolerations), 1},
		{"affinity", pod.Affinity != nil && pod.Affinity.NodeAffinity != nil, true},
		{"spread", len(pod.TopologySpreadConstraints), 1},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s = %#v, want %#v", check.what, check.got, check.want)
		}
	}
	if sa := got["ServiceAccount/licensing-controller-manager"]; sa == nil {
		t.Error("no ServiceAccount licensing-controller-manager")
	} else if a, _ := nestedMap(sa, "metadata", "annotations"); a["eks.amazonaws.com/role-arn"] != "arn" {
		t.Errorf("serviceAccount.annotations not on the ServiceAccount: %v", a)
	}
	if rb := got["ClusterRoleBinding/licensing-manager-rolebinding"]; rb == nil {
		t.Error("no ClusterRoleBinding licensing-manager-rolebinding")
	} else {
		subjects := rb["subjects"].([]any)[0].(map[string]any)
		if subjects["name"] != "licensing-controller-manager" || subjects["namespace"] != "tenants-ops" {
			t.Errorf("the manager's ClusterRoleBinding binds %v", subjects)
		}
		if ref := rb["roleRef"].(map[string]any); ref["name"] != "licensing-manager-role" {
			t.Errorf("the manager's ClusterRoleBinding refers to %v", ref)
		}
	}
	sm := got["ServiceMonitor/licensing-controller-manager-metrics-monitor"]
	if sm == nil {
		t.Fatalf("metrics.serviceMonitor.enabled renders no ServiceMonitor: %v", keys(got))
	}
	var monitor monitoringv1.ServiceMonitor
	strictDecode(t, sm, &monitor)
	if l := monitor.Labels["release"]; l != "prom" {
		t.Errorf("ServiceMonitor labels %v lack metrics.serviceMonitor.labels", monitor.Labels)
	}
	ep := monitor.Spec.Endpoints[0]
	if ep.Interval != "30s" || ep.ScrapeTimeout != "10s" || ep.HonorLabels != true {
		t.Errorf("ServiceMonitor endpoint interval %q, timeout %q, honorLabels %v", ep.Interval, ep.ScrapeTimeout, ep.HonorLabels)
	}
	if sel := monitor.Spec.Selector.MatchLabels; sel["app.kubernetes.io/instance"] != "lo" || sel["control-plane"] != "controller-manager" {
		t.Errorf("ServiceMonitor selects %v", sel)
	}
	pr := got["PrometheusRule/licensing-alerts"]
	if pr == nil {
		t.Fatalf("metrics.prometheusRule.enabled renders no PrometheusRule: %v", keys(got))
	}
	var rule monitoringv1.PrometheusRule
	strictDecode(t, pr, &rule)
	if rule.Labels["release"] != "prom" {
		t.Errorf("PrometheusRule labels %v lack metrics.prometheusRule.labels", rule.Labels)
	}
	// The alerts' templates survive Helm's templating unchanged.
	want := kustomize(t, "config/prometheus", manifests.Options{})["PrometheusRule/license-operator-alerts"]
	if d := cmp.Diff(want["spec"], normalizeNumbers(pr)["spec"]); d != "" {
		t.Errorf("the chart's PrometheusRule spec differs from config/prometheus:\n%s", d)
	}

	// metrics.enabled=false: no Service, no ServiceMonitor, no port; the
	// endpoint is switched off.
	objs, _ = render(t, "lo", "tenants-ops", values(t, "metrics: {enabled: false, serviceMonitor: {enabled: true}}"))
	got = byKey(objs)
	for k := range got {
		if strings.HasPrefix(k, "Service/") || strings.HasPrefix(k, "ServiceMonitor/") {
			t.Errorf("metrics.enabled=false renders %s", k)
		}
	}
	c0 := got["Deployment/lo-license-operator-controller-manager"]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if _, ok := c0["ports"]; ok {
		t.Errorf("metrics.enabled=false still declares ports %v", c0["ports"])
	}
	if args := fmt.Sprint(c0["args"]); !strings.Contains(args, "--metrics-bind-address=0") {
		t.Errorf("metrics.enabled=false does not switch the endpoint off: %s", args)
	}

	// crds.keep=false: the CRDs are deleted on uninstall.
	objs, _ = render(t, releaseName, releaseNS, values(t, "crds: {keep: false}"))
	for _, o := range objs {
		if o["kind"] == "CustomResourceDefinition" {
			if ann, _ := nestedMap(o, "metadata", "annotations"); ann["helm.sh/resource-policy"] != nil {
				t.Errorf("%s: crds.keep=false still keeps it", key(o))
			}
		}
	}
}

func strictDecode(t *testing.T, obj map[string]any, into any) {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Errorf("%s does not decode strictly into %T: %v", key(obj), into, err)
	}
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The rendered objects pass the API server's validation (server-side apply,
// dry run) with the default and the non-default values. The Prometheus
// Operator's kinds, whose CRDs the test API server lacks, are decoded
// strictly into their Go types instead and their rules parsed by
// Prometheus.
func TestChartServerSideDryRun(t *testing.T) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, tc := range map[string]struct {
		release, ns string
		vals        map[string]any
	}{
		"defaults":    {releaseName, releaseNS, values(t, "metrics: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}")},
		"non-default": {"lo", "tenants-ops", values(t, nonDefault)},
	} {
		t.Run(name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.ns}}
			if err := c.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
				t.Fatal(err)
			}
			objs, _ := render(t, tc.release, tc.ns, tc.vals)
			for _, o := range objs {
				switch o["kind"] {
				case "ServiceMonitor":
					strictDecode(t, o, &monitoringv1.ServiceMonitor{})
					continue
				case "PrometheusRule":
					var pr monitoringv1.PrometheusRule
					strictDecode(t, o, &pr)
					groups, err := yaml.Marshal(pr.Spec)
					if err != nil {
						t.Fatal(err)
					}
					if _, errs := rulefmt.Parse(groups, false, model.UTF8Validation, promqlParser, promslog.NewNopLogger()); len(errs) > 0 {
						t.Errorf("PrometheusRule %s: rules do not parse: %v", key(o), errs)
					}
					continue
				}
				u := &unstructured.Unstructured{Object: o}
				if err := c.Patch(ctx, u, client.Apply, client.DryRunAll, client.FieldOwner("chart-test"), client.ForceOwnership); err != nil {
					t.Errorf("server-side dry run of %s: %v", key(o), err)
				}
			}
		})
	}
}

// Every flag of the manager (cmd/manager/main.go) is a value of the chart,
// or deliberately left to extraArgs.
func TestChartCoversManagerFlags(t *testing.T) {
	leftToExtraArgs := map[string]string{
		"version":            "prints the version and exits",
		"pprof-bind-address": "debugging only",
		"enable-http2":       "off for CVE-2023-44487; extraArgs to turn it on",
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "cmd", "manager", "main.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "flag" {
			return true
		}
		for _, a := range call.Args {
			if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				flags = append(flags, name)
				break
			}
		}
		return true
	})
	if len(flags) < 15 {
		t.Fatalf("found only %d flags in cmd/manager/main.go: %v", len(flags), flags)
	}
	tmpl, err := os.ReadFile(filepath.Join(chartDir(), "templates", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range flags {
		if _, ok := leftToExtraArgs[name]; ok {
			continue
		}
		if !bytes.Contains(tmpl, []byte("--"+name)) {
			t.Errorf("manager flag --%s is not a value of the chart: add it to optionalFlags in hack/manifests/chart.go (and values.yaml), or to leftToExtraArgs here with the reason", name)
		}
	}
}
