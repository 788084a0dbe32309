package argocd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// loadSamples decodes config/samples/ as the API server would store them
// (generation 1, no status yet).
func loadSamples(t *testing.T) planner.Input {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var in planner.Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatal(err)
			}
			var obj interface {
				runtime.Object
				metav1.Object
			}
			switch meta.Kind {
			case "LicenseSku":
				sku := &licv1.LicenseSku{}
				in.SKUs = append(in.SKUs, sku)
				obj = sku
			case "LicenseGroup":
				g := &licv1.LicenseGroup{}
				in.Groups = append(in.Groups, g)
				obj = g
			case "UserLicense":
				u := &licv1.UserLicense{}
				in.Users = append(in.Users, u)
				obj = u
			default:
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			obj.SetGeneration(1)
		}
	}
	return in
}

// TestHealthOfPlannedSamples feeds the health checks the statuses that
// planner.Plan (the function the controller runs) computes for the samples:
// Argo CD would show exactly what `make demo` shows.
func TestHealthOfPlannedSamples(t *testing.T) {
	in := loadSamples(t)
	in.Now = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	res := planner.Plan(in)

	got := map[string]health{}
	for i, sku := range in.SKUs {
		sku.Status = *res.SKUs[i].Status
		got["LicenseSku/"+sku.Name] = runHealth(t, script(t, "LicenseSku"), toUnstructured(t, sku))
	}
	for i, g := range in.Groups {
		g.Status = *res.Groups[i].Status
		got["LicenseGroup/"+g.Name] = runHealth(t, script(t, "LicenseGroup"), toUnstructured(t, g))
	}
	for i, u := range in.Users {
		u.Status = *res.Users[i].Status
		got["UserLicense/"+u.Name] = runHealth(t, script(t, "UserLicense"), toUnstructured(t, u))
	}

	want := map[string]struct {
		status  string
		message string
	}{
		"LicenseSku/m365-e3":         {"Healthy", "3 of 5 seats"},
		"LicenseSku/exchange-p2":     {"Healthy", "1 of 3 seats"},
		"LicenseSku/power-bi-pro":    {"Healthy", "grace period"},
		"LicenseSku/exchange-p1":     {"Degraded", "InsufficientSeats"},
		"LicenseGroup/executives":    {"Healthy", ""},
		"LicenseGroup/contractors":   {"Degraded", "InsufficientSeats"},
		"LicenseGroup/all-employees": {"Degraded", "UsageLocationRequired"},
		"UserLicense/ann":            {"Healthy", "DuplicatePlans"},
		"UserLicense/ben":            {"Healthy", ""},
		"UserLicense/carla":          {"Healthy", ""},
		"UserLicense/dave":           {"Healthy", ""},
		"UserLicense/erin":           {"Healthy", ""},
		"UserLicense/frank":          {"Degraded", "UsageLocationRequired"},
		"UserLicense/gina":           {"Degraded", "InsufficientSeats"},
	}
	for _, key := range sortedKeys(got) {
		h := got[key]
		w, ok := want[key]
		if !ok {
			t.Errorf("%s (%s: %s) is not in the expectations: add it", key, h.Status, h.Message)
			continue
		}
		if h.Status != w.status || !strings.Contains(h.Message, w.message) {
			t.Errorf("%s: %s %q, want %s containing %q", key, h.Status, h.Message, w.status, w.message)
		}
	}
	for key := range want {
		if _, ok := got[key]; !ok {
			t.Errorf("%s is expected but not in config/samples", key)
		}
	}

	// A spec change the operator has not planned yet is Progressing, never
	// the previous generation's health.
	sku := in.SKUs[0]
	sku.Generation = 2
	if h := runHealth(t, script(t, "LicenseSku"), toUnstructured(t, sku)); h.Status != "Progressing" {
		t.Errorf("edited %s with a generation-1 status: %s, want Progressing", sku.Name, h.Status)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
