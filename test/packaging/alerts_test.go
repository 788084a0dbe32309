package packaging

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// The promtool `test rules` format (a subset: alert_rule_test), read
// strictly.
type ruleTestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []ruleTest     `yaml:"tests"`
}

type ruleTest struct {
	Name          string          `yaml:"name"`
	Interval      model.Duration  `yaml:"interval"`
	InputSeries   []inputSeries   `yaml:"input_series"`
	AlertRuleTest []alertTestCase `yaml:"alert_rule_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTestCase struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	} `yaml:"exp_alerts"`
}

var promqlParser = parser.NewParser(parser.Options{})

// prometheusRule reads config/prometheus/prometheusrule.yaml and writes its
// rule groups (the PrometheusRule's spec, Prometheus' rule file format) to
// a file for Prometheus' rule manager.
func prometheusRule(t *testing.T) (*monitoringv1.PrometheusRule, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "prometheus", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr monitoringv1.PrometheusRule
	if err := yaml.UnmarshalStrict(data, &pr); err != nil {
		t.Fatalf("prometheusrule.yaml is not a PrometheusRule: %v", err)
	}
	groups, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, groups, 0o644); err != nil {
		t.Fatal(err)
	}
	return &pr, file
}

func readRuleTests(t *testing.T) ruleTestFile {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "config", "prometheus", "tests", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yamlv3.NewDecoder(f)
	dec.KnownFields(true)
	var tests ruleTestFile
	if err := dec.Decode(&tests); err != nil {
		t.Fatalf("alerts_test.yaml: %v", err)
	}
	if tests.EvaluationInterval == 0 {
		tests.EvaluationInterval = model.Duration(time.Minute)
	}
	return tests
}

// Every alert of config/prometheus fires, with the labels and annotations
// expected, exactly when its test says and not before, evaluated by
// Prometheus' own rule manager and PromQL engine over the input series of
// config/prometheus/tests/alerts_test.yaml (as `promtool test rules` does).
func TestAlertRules(t *testing.T) {
	pr, rulesFile := prometheusRule(t)
	tests := readRuleTests(t)
	fires := map[string]bool{}
	quiet := map[string]bool{}
	for i, tg := range tests.Tests {
		name := tg.Name
		if name == "" {
			name = fmt.Sprintf("test#%d", i)
		}
		t.Run(name, func(t *testing.T) {
			runRuleTest(t, tg, time.Duration(tests.EvaluationInterval), rulesFile)
		})
		for _, c := range tg.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert] {
				t.Errorf("alert %s has no test case in which it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alert %s has no test case in which it stays quiet", r.Alert)
			}
		}
	}
}

func runRuleTest(t *testing.T, tg ruleTest, evalInterval time.Duration, rulesFile string) {
	var load strings.Builder
	interval := time.Duration(tg.Interval)
	if interval == 0 {
		interval = time.Minute
	}
	fmt.Fprintf(&load, "load %s\n", model.Duration(interval))
	for _, s := range tg.InputSeries {
		fmt.Fprintf(&load, "  %s %s\n", s.Series, s.Values)
	}
	suite, err := promqltest.NewLazyLoader(load.String(), promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: promqlParser,
	})
	if err != nil {
		t.Fatalf("loading the input series: %v", err)
	}
	defer suite.Close()
	suite.SubqueryInterval = evalInterval
	m := rules.NewManager(&rules.ManagerOptions{
		QueryFunc:    rules.EngineQueryFunc(suite.QueryEngine(), suite.Storage()),
		AppendableV2: suite.Storage(),
		Context:      context.Background(),
		NotifyFunc:   func(context.Context, string, ...*rules.Alert) {},
		Logger:       promslog.NewNopLogger(),
		Parser:       promqlParser,
	})
	groupsByName, errs := m.LoadGroups(interval, labels.EmptyLabels(), "", nil, false, rulesFile)
	if len(errs) > 0 {
		t.Fatalf("loading the rules: %v", errs)
	}
	var groups []*rules.Group
	for _, g := range groupsByName {
		groups = append(groups, g)
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				ar.SetRestored(true)
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name() < groups[j].Name() })

	cases := append([]alertTestCase(nil), tg.AlertRuleTest...)
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].EvalTime < cases[j].EvalTime })
	var maxT time.Duration
	for _, c := range cases {
		maxT = max(maxT, time.Duration(c.EvalTime))
	}
	mint := time.Unix(0, 0).UTC()
	next := 0
	for ts := mint; !ts.After(mint.Add(maxT)); ts = ts.Add(evalInterval) {
		suite.WithSamplesTill(ts, func(err error) {
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				g.Eval(suite.Context(), ts)
				for _, r := range g.Rules() {
					if r.LastError() != nil {
						t.Fatalf("rule %s at %s: %v", r.Name(), ts.Sub(mint), r.LastError())
					}
				}
			}
		})
		// A case at eval_time is checked against the evaluation at the
		// latest ts <= eval_time, as promtool does.
		for next < len(cases) && time.Duration(cases[next].EvalTime) < ts.Add(evalInterval).Sub(mint) {
			c := cases[next]
			next++
			var got []string
			found := false
			for _, g := range groups {
				for _, r := range g.Rules() {
					ar, ok := r.(*rules.AlertingRule)
					if !ok || ar.Name() != c.Alertname {
						continue
					}
					found = true
					for _, a := range ar.ActiveAlerts() {
						if a.State == rules.StateFiring {
							got = append(got, alertString(a.Labels, a.Annotations))
						}
					}
				}
			}
			if !found {
				t.Errorf("alert_rule_test names %s, which no rule defines", c.Alertname)
				continue
			}
			var want []string
			for _, e := range c.ExpAlerts {
				l := map[string]string{labels.AlertName: c.Alertname}
				for k, v := range e.ExpLabels {
					l[k] = v
				}
				want = append(want, alertString(labels.FromMap(l), labels.FromMap(e.ExpAnnotations)))
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s at %s:\nwant %d firing:\n  %s\ngot %d firing:\n  %s", c.Alertname, time.Duration(c.EvalTime),
					len(want), strings.Join(want, "\n  "), len(got), strings.Join(got, "\n  "))
			}
		}
	}
}

func alertString(l, a labels.Labels) string {
	return l.String() + " " + a.String()
}

// checkSelectors fails when a PromQL expression selects a series the
// manager does not export: an unknown metric, a label it does not have (or
// Prometheus does not add), or a label value it never has.
func checkSelectors(t *testing.T, fams map[string]*family, where, expr string) {
	t.Helper()
	e, err := promqlParser.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return
	}
	for _, sel := range parser.ExtractSelectors(e) {
		var name string
		for _, m := range sel {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("%s: selector %v names no metric", where, sel)
			continue
		}
		f, suffix := resolve(fams, name)
		if f == nil {
			t.Errorf("%s: %s is not a metric the manager exports", where, name)
			continue
		}
		for _, m := range sel {
			if m.Name == labels.MetricName || (suffix == "_bucket" && m.Name == "le") {
				continue
			}
			if !f.labels[m.Name] {
				if !targetLabels[m.Name] {
					t.Errorf("%s: %s has no label %s (it has %v)", where, name, m.Name, sortedKeys(f.labels))
				}
				continue
			}
			if m.Type == labels.MatchEqual || m.Type == labels.MatchNotEqual {
				if !f.values[m.Name][m.Value] && !strings.Contains(f.help, m.Value) {
					t.Errorf("%s: %s{%s=%q}: the manager never sets that value and its help text does not list it", where, name, m.Name, m.Value)
				}
			}
		}
	}
}

// The alerts' expressions and the tests' input series use the names,
// labels and label values the manager really exports.
func TestAlertsUseExportedSeries(t *testing.T) {
	fams := exportedMetrics(t)
	pr, _ := prometheusRule(t)
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			checkSelectors(t, fams, "alert "+r.Alert, r.Expr.String())
		}
	}
	for _, tg := range readRuleTests(t).Tests {
		for _, s := range tg.InputSeries {
			lset, err := promqlParser.ParseMetric(s.Series)
			if err != nil {
				t.Errorf("input series %q: %v", s.Series, err)
				continue
			}
			name := lset.Get(labels.MetricName)
			f, suffix := resolve(fams, name)
			if f == nil {
				t.Errorf("input series %s: not a metric the manager exports", s.Series)
				continue
			}
			have := map[string]bool{}
			lset.Range(func(l labels.Label) {
				if l.Name == labels.MetricName || (suffix == "_bucket" && l.Name == "le") {
					return
				}
				have[l.Name] = true
				if !f.labels[l.Name] && !targetLabels[l.Name] {
					t.Errorf("input series %s: %s has no label %s", s.Series, name, l.Name)
				}
			})
			for l := range f.labels {
				if !have[l] {
					t.Errorf("input series %s lacks the label %s that the manager exports", s.Series, l)
				}
			}
		}
	}
}

// docs/metrics.md documents every metric the manager exports, with each
// of its labels on its line, and no metric it does not export.
func TestMetricsDoc(t *testing.T) {
	fams := exportedMetrics(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	lines := strings.Split(doc, "\n")
	for name, f := range fams {
		if !strings.HasPrefix(name, "license_operator_") {
			continue
		}
		var row string
		for _, l := range lines {
			if strings.HasPrefix(l, "| `"+name+"`") {
				row = l
			}
		}
		if row == "" {
			t.Errorf("docs/metrics.md has no table row for %s", name)
			continue
		}
		for l := range f.labels {
			if !strings.Contains(row, "`"+l+"`") {
				t.Errorf("docs/metrics.md: the row of %s does not name its label %s", name, l)
			}
		}
	}
	for _, m := range regexp.MustCompile("`(license_operator_[a-z_]+)`").FindAllStringSubmatch(doc, -1) {
		if f, _ := resolve(fams, m[1]); f == nil {
			t.Errorf("docs/metrics.md names %s, which the manager does not export", m[1])
		}
	}
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }
