package packaging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// grafanaVars are the dashboard's variables, replaced as Grafana would
// before the query reaches Prometheus.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "$sku", ".*")

// Every query of the Grafana dashboard parses and selects series the
// manager exports (names, labels, label values), as the alerts' do; and the
// dashboard shows what an admin asks first: seats, assigned and waiting per
// SKU and tenant, errors by reason, plan and write latency.
func TestDashboardQueries(t *testing.T) {
	fams := exportedMetrics(t)
	data, err := os.ReadFile(filepath.Join(root, "config", "grafana", "license-operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash["panels"])
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has only %d queries", len(exprs))
	}
	all := strings.Join(exprs, "\n")
	for _, metric := range []string{
		"license_operator_sku_seats", "license_operator_sku_assigned", "license_operator_sku_waiting",
		"license_operator_assignment_errors", "license_operator_plan_duration_seconds_bucket",
		"license_operator_status_write_duration_seconds_bucket",
	} {
		if !strings.Contains(all, metric) {
			t.Errorf("no panel queries %s", metric)
		}
	}
	for _, e := range exprs {
		checkSelectors(t, fams, "dashboard", grafanaVars.Replace(e))
	}
	// The variables' label_values() queries too.
	labelValues := regexp.MustCompile(`label_values\((.*), *[a-z_]+\)`)
	walkVars := dash["templating"].(map[string]any)["list"].([]any)
	for _, v := range walkVars {
		def, _ := v.(map[string]any)["definition"].(string)
		if m := labelValues.FindStringSubmatch(def); m != nil {
			checkSelectors(t, fams, "dashboard variable "+def, grafanaVars.Replace(m[1]))
		}
	}
}
