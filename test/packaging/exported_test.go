package packaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/test/harness"
)

// family is one metric the manager exports: its type, help and labels,
// and the label values seen.
type family struct {
	name, help string
	typ        dto.MetricType
	labels     map[string]bool
	values     map[string]map[string]bool
}

var (
	exportedOnce sync.Once
	exported     map[string]*family
	exportedErr  error
)

// exportedMetrics runs the manager's controller, wired as cmd/manager wires
// it, against the test API server with config/samples applied, and returns
// what its metrics registry (controller-runtime's, the one the manager
// serves) then exports. So the alert and dashboard tests use the names and
// labels of the running code: a renamed metric or label fails them.
func exportedMetrics(t *testing.T) map[string]*family {
	t.Helper()
	exportedOnce.Do(func() { exported, exportedErr = runManager() })
	if exportedErr != nil {
		t.Fatal(exportedErr)
	}
	return exported
}

func runManager() (map[string]*family, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(licv1.AddToScheme(scheme))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, err
	}
	r := &controllers.TenantReconciler{Client: controllers.InstrumentStatusWrites(mgr.GetClient())}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 1}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	namespaces, err := applySamples(ctx, c)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, ns := range namespaces {
		for {
			left, err := harness.Unplanned(ctx, c, ns)
			if err == nil && len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("the manager did not plan the samples in %s: %v %v", ns, left, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fams, err := metrics.Registry.Gather()
	cancel()
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	out := map[string]*family{}
	for _, f := range fams {
		fam := &family{name: f.GetName(), help: f.GetHelp(), typ: f.GetType(), labels: map[string]bool{}, values: map[string]map[string]bool{}}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				fam.labels[l.GetName()] = true
				if fam.values[l.GetName()] == nil {
					fam.values[l.GetName()] = map[string]bool{}
				}
				fam.values[l.GetName()][l.GetValue()] = true
			}
		}
		out[fam.name] = fam
	}
	return out, nil
}

// applySamples creates config/samples and returns their namespaces.
func applySamples(ctx context.Context, c client.Client) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no samples: %v", err)
	}
	sort.Strings(files)
	seen := map[string]bool{}
	var namespaces []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, u); client.IgnoreAlreadyExists(err) != nil {
				return nil, fmt.Errorf("creating %s %s from %s: %w", u.GetKind(), u.GetName(), f, err)
			}
			if ns := u.GetNamespace(); ns != "" && !seen[ns] {
				seen[ns] = true
				namespaces = append(namespaces, ns)
			}
		}
	}
	return namespaces, nil
}

// targetLabels are the labels Prometheus adds to a scraped series (the
// ServiceMonitor's target); with honorLabels the manager's own namespace
// label wins where a metric has one.
var targetLabels = map[string]bool{"job": true, "instance": true, "namespace": true, "pod": true, "container": true, "endpoint": true, "service": true}

// resolve finds the family of a series name (histograms export
// <name>_bucket, _sum and _count).
func resolve(fams map[string]*family, name string) (*family, string) {
	if f, ok := fams[name]; ok {
		return f, ""
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := fams[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.typ == dto.MetricType_HISTOGRAM {
			return f, suffix
		}
	}
	return nil, ""
}

// The manager exports what the alerts, the dashboard and docs/metrics.md
// rely on; the check that would fail if the manager exported nothing.
func TestManagerExportsItsMetrics(t *testing.T) {
	fams := exportedMetrics(t)
	for _, name := range []string{
		"license_operator_sku_seats", "license_operator_sku_assigned", "license_operator_sku_requested",
		"license_operator_sku_waiting", "license_operator_sku_oldest_waiting_since_seconds",
		"license_operator_sku_overallocated", "license_operator_sku_disabled", "license_operator_assignment_errors",
		"license_operator_plan_duration_seconds", "license_operator_status_writes_total",
		"license_operator_status_write_duration_seconds", "license_operator_build_info",
		"controller_runtime_reconcile_errors_total",
	} {
		if _, ok := fams[name]; !ok {
			t.Errorf("the manager does not export %s after planning the samples", name)
		}
	}
	if f := fams["license_operator_sku_waiting"]; f != nil && !f.values["sku"]["exchange-p1"] {
		t.Errorf("license_operator_sku_waiting has no series for exchange-p1, where gina waits: %v", f.values)
	}
	if f := fams["license_operator_assignment_errors"]; f != nil && !f.values["reason"][licv1.ReasonUsageLocationRequired] {
		t.Errorf("license_operator_assignment_errors has no UsageLocationRequired (frank): %v", f.values)
	}
	if f := fams["controller_runtime_reconcile_errors_total"]; f != nil && !f.values["controller"]["tenant"] {
		t.Errorf("controller_runtime_reconcile_errors_total has no controller=tenant: %v", f.values)
	}
}
