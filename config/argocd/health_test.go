// Package argocd tests the Argo CD health checks in config/argocd/health/
// with the Lua interpreter Argo CD uses (github.com/yuin/gopher-lua), run
// the way Argo CD runs a health check from argocd-cm: only the package, base
// and table libraries, a global `obj` converted from the live object, and a
// returned table {status = ..., message = ...}.
//
// Regenerate config/argocd/argocd-cm.yaml after editing a .lua file:
//
//	go test ./config/argocd/ -run TestArgoCDConfigMap -update
package argocd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite argocd-cm.yaml from the .lua files")

const (
	group     = "licensing.licenseops.dev"
	keyPrefix = "resource.customizations.health." + group + "_"
)

// kinds are the kinds with a health check, one file each in health/.
var kinds = []string{"LicenseSku", "LicenseGroup", "UserLicense"}

// health is what Argo CD reads from the returned table.
type health struct {
	Status  string
	Message string
}

// validStatuses are the health codes Argo CD accepts; anything else becomes
// Unknown ("Lua returned an invalid health status").
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

func script(t testing.TB, kind string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("health", kind+".lua"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// runHealth runs a health script the way Argo CD's util/lua VM does for a
// resource.customizations.health key (useOpenLibs unset): no string, math
// or os library, one second of CPU at most.
func runHealth(t testing.TB, src string, obj map[string]any) health {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatalf("opening %s: %v", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(src); err != nil {
		t.Fatalf("health script failed: %v", err)
	}
	ret := l.Get(-1)
	tbl, ok := ret.(*lua.LTable)
	if !ok {
		t.Fatalf("health script returned %s, Argo CD expects a table", ret.Type())
	}
	var h health
	tbl.ForEach(func(k, v lua.LValue) {
		key, ok := k.(lua.LString)
		if !ok {
			t.Errorf("returned table has a non-string key %v", k)
			return
		}
		s, ok := v.(lua.LString)
		if !ok {
			t.Errorf("returned %s is a %s, want a string", key, v.Type())
			return
		}
		switch key {
		case "status":
			h.Status = string(s)
		case "message":
			h.Message = string(s)
		default:
			t.Errorf("returned table has unexpected key %q", key)
		}
	})
	if !validStatuses[h.Status] {
		t.Fatalf("health status %q is not one Argo CD accepts", h.Status)
	}
	return h
}

// toLua converts an unstructured value as Argo CD's decodeValue does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(toLua(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for k, item := range v {
			tbl.RawSetH(lua.LString(k), toLua(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// fromYAML decodes an object as the Kubernetes client does (integers as int64).
func fromYAML(t testing.TB, doc string) map[string]any {
	t.Helper()
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

func toUnstructured(t testing.TB, obj runtime.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHealthChecks(t *testing.T) {
	type tc struct {
		kind        string
		obj         string
		wantStatus  string
		wantMessage []string // substrings
	}
	const skuSpec = `
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: exchange-p1, namespace: contoso, generation: 2}
spec:
  skuPartNumber: EXCHANGESTANDARD
  subscriptions: [{name: contract-2026, seats: 2, state: Enabled}]
`
	const groupSpec = `
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseGroup
metadata: {name: contractors, namespace: contoso, generation: 3}
spec:
  memberSelector: {matchLabels: {employment: contractor}}
  licenses: [{sku: exchange-p1}]
`
	const userSpec = `
apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: ann, namespace: contoso, generation: 1}
spec:
  userPrincipalName: ann@contoso.com
  usageLocation: DE
  licenses: [{sku: exchange-p2}]
`
	tests := map[string]tc{
		"sku without status": {
			kind: "LicenseSku", obj: skuSpec,
			wantStatus: "Progressing", wantMessage: []string{"Waiting for license-operator"},
		},
		"sku with empty status": {
			kind: "LicenseSku", obj: skuSpec + "status: {}\n",
			wantStatus: "Progressing",
		},
		"sku with a status of an older generation": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 1
  seats: 2
  assigned: 2
  conditions:
  - {type: Ready, status: "True", reason: SeatsAvailable, message: "2 of 2 seats of EXCHANGESTANDARD are assigned and no user waits", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Progressing", wantMessage: []string{"plan generation 2 (status is of generation 1)"},
		},
		"sku whose Ready condition lags the status": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: SeatsAvailable, message: ok, observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Progressing",
		},
		"sku without a Ready condition": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 2
  conditions:
  - {type: Overallocated, status: "False", reason: WithinCapacity, message: "2 of 2 usable seats are assigned", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Progressing",
		},
		"sku Ready": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 2
  seats: 2
  assigned: 1
  available: 1
  conditions:
  - {type: Ready, status: "True", reason: SeatsAvailable, message: "1 of 2 seats of EXCHANGESTANDARD are assigned and no user waits", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Healthy", wantMessage: []string{"1 of 2 seats of EXCHANGESTANDARD are assigned"},
		},
		"sku short of seats": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 2
  seats: 2
  assigned: 2
  waiting: 1
  conditions:
  - {type: Ready, status: "False", reason: InsufficientSeats, message: "1 user waits for a seat of EXCHANGESTANDARD: purchase 1 more seat or remove 1 assignment", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: InsufficientSeats, status: "True", reason: InsufficientSeats, message: "1 user waits", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Degraded", wantMessage: []string{"InsufficientSeats: 1 user waits for a seat of EXCHANGESTANDARD: purchase 1 more seat"},
		},
		"sku Ready Unknown": {
			kind: "LicenseSku", obj: skuSpec + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: Unknown, reason: Planning, message: "planning", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Progressing", wantMessage: []string{"planning"},
		},
		"group without status": {
			kind: "LicenseGroup", obj: groupSpec,
			wantStatus: "Progressing",
		},
		"group with a stale status": {
			kind: "LicenseGroup", obj: groupSpec + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: AllLicensesActive, message: "every member holds every license of the group", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Progressing", wantMessage: []string{"generation 3"},
		},
		"group Ready": {
			kind: "LicenseGroup", obj: groupSpec + `
status:
  observedGeneration: 3
  members: 2
  licensed: 2
  conditions:
  - {type: Ready, status: "True", reason: AllLicensesActive, message: "every member holds every license of the group", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Healthy", wantMessage: []string{"every member holds every license"},
		},
		"group with a failed member": {
			kind: "LicenseGroup", obj: groupSpec + `
status:
  observedGeneration: 3
  members: 3
  licensed: 2
  errors: 1
  failures: [{user: gina@contoso.com, sku: exchange-p1, reason: InsufficientSeats}]
  conditions:
  - {type: Ready, status: "False", reason: LicenseErrors, message: "1 of 3 members have a failed license of this group", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Degraded", wantMessage: []string{"LicenseErrors: 1 of 3 members have a failed license"},
		},
		"user without status": {
			kind: "UserLicense", obj: userSpec,
			wantStatus: "Progressing",
		},
		"user Ready": {
			kind: "UserLicense", obj: userSpec + `
status:
  observedGeneration: 1
  licenses: [{sku: exchange-p2, state: Active, assignedBy: [Direct]}]
  conditions:
  - {type: Ready, status: "True", reason: AllLicensesActive, message: "the license is active", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: DuplicatePlans, status: "False", reason: NoDuplicatePlans, message: "no service plan is enabled through more than one license", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Healthy", wantMessage: []string{"the license is active"},
		},
		"user Ready with duplicate plans": {
			kind: "UserLicense", obj: userSpec + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "True", reason: AllLicensesActive, message: "all 2 licenses are active", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: DuplicatePlans, status: "True", reason: DuplicatePlans, message: "service plan EXCHANGE_S_ENTERPRISE (exchange-p2, m365-e3) enabled through more than one license", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Healthy", wantMessage: []string{"all 2 licenses are active", "DuplicatePlans", "EXCHANGE_S_ENTERPRISE"},
		},
		"user in error with duplicate plans": {
			kind: "UserLicense", obj: userSpec + `
status:
  observedGeneration: 1
  conditions:
  - {type: DuplicatePlans, status: "True", reason: DuplicatePlans, message: "EXCHANGE_S_ENTERPRISE twice", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: Ready, status: "False", reason: LicenseErrors, message: "1 of 2 licenses failed: m365-e3: InsufficientSeats", observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Degraded", wantMessage: []string{"LicenseErrors: 1 of 2 licenses failed: m365-e3: InsufficientSeats"},
		},
		"user without usage location": {
			kind: "UserLicense", obj: `
apiVersion: licensing.licenseops.dev/v1alpha1
kind: UserLicense
metadata: {name: frank, namespace: contoso, generation: 4}
spec: {userPrincipalName: frank@contoso.com}
status:
  observedGeneration: 4
  licenses:
  - {sku: m365-e3, state: Error, reason: UsageLocationRequired, message: "spec.usageLocation is not set"}
  conditions:
  - {type: Ready, status: "False", reason: LicenseErrors, message: "1 of 1 licenses failed: m365-e3: UsageLocationRequired (spec.usageLocation is not set)", observedGeneration: 4, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
			wantStatus: "Degraded", wantMessage: []string{"UsageLocationRequired"},
		},
	}
	names := make([]string, 0, len(tests))
	for name := range tests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tt := tests[name]
		t.Run(name, func(t *testing.T) {
			obj := fromYAML(t, tt.obj)
			if got := obj["kind"]; got != tt.kind {
				t.Fatalf("fixture kind %v, want %s", got, tt.kind)
			}
			h := runHealth(t, script(t, tt.kind), obj)
			if h.Status != tt.wantStatus {
				t.Errorf("status = %s (%q), want %s", h.Status, h.Message, tt.wantStatus)
			}
			if h.Message == "" {
				t.Errorf("empty message: Argo CD shows it next to the health")
			}
			for _, want := range tt.wantMessage {
				if !strings.Contains(h.Message, want) {
					t.Errorf("message %q does not contain %q", h.Message, want)
				}
			}
		})
	}
}

// TestHealthChecksUseOnlyArgoLibraries fails when a script reaches for a
// library Argo CD does not open for argocd-cm health checks.
func TestHealthChecksUseOnlyArgoLibraries(t *testing.T) {
	for _, kind := range kinds {
		src := script(t, kind)
		for _, lib := range []string{"string.", "math.", "os.", "io.", "require"} {
			if strings.Contains(src, lib) {
				t.Errorf("%s.lua uses %q, which Argo CD does not provide to health checks from argocd-cm", kind, lib)
			}
		}
	}
}

// renderConfigMap writes the argocd-cm snippet embedding the .lua files.
func renderConfigMap(t testing.TB) []byte {
	var b bytes.Buffer
	b.WriteString(`# Argo CD health checks for license-operator's kinds. GENERATED from
# config/argocd/health/*.lua: edit those, then run
#   go test ./config/argocd/ -run TestArgoCDConfigMap -update
# Merge into your argocd-cm (keeps its other keys):
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file config/argocd/argocd-cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`)
	for _, kind := range kinds {
		fmt.Fprintf(&b, "  %s%s: |\n", keyPrefix, kind)
		for _, line := range strings.SplitAfter(script(t, kind), "\n") {
			if line == "" {
				continue
			}
			if line == "\n" {
				b.WriteString(line)
				continue
			}
			b.WriteString("    " + line)
		}
	}
	return b.Bytes()
}

// TestArgoCDConfigMap asserts that argocd-cm.yaml holds exactly the .lua
// files, one key per kind, and that what Argo CD would read from it works.
func TestArgoCDConfigMap(t *testing.T) {
	const path = "argocd-cm.yaml"
	if *update {
		if err := os.WriteFile(path, renderConfigMap(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != "argocd-cm" || cm.Namespace != "argocd" {
		t.Errorf("%s is %s %s/%s, want ConfigMap argocd/argocd-cm", path, cm.Kind, cm.Namespace, cm.Name)
	}
	files, err := filepath.Glob(filepath.Join("health", "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(kinds) {
		t.Errorf("health/ holds %d .lua files, want one per kind %v", len(files), kinds)
	}
	want := map[string]string{}
	for _, f := range files {
		kind := strings.TrimSuffix(filepath.Base(f), ".lua")
		want[keyPrefix+kind] = script(t, kind)
	}
	for key, src := range want {
		got, ok := cm.Data[key]
		switch {
		case !ok:
			t.Errorf("%s lacks %s: run go test ./config/argocd/ -run TestArgoCDConfigMap -update", path, key)
		case got != src:
			t.Errorf("%s: %s differs from health/%s.lua: run go test ./config/argocd/ -run TestArgoCDConfigMap -update",
				path, key, strings.TrimPrefix(key, keyPrefix))
		}
	}
	for key := range cm.Data {
		if _, ok := want[key]; !ok {
			t.Errorf("%s has key %s with no .lua file behind it", path, key)
		}
	}
	// What Argo CD reads runs: a fresh object of each kind is Progressing.
	for _, kind := range kinds {
		obj := map[string]any{
			"apiVersion": group + "/v1alpha1", "kind": kind,
			"metadata": map[string]any{"name": "x", "namespace": "contoso", "generation": int64(1)},
		}
		if h := runHealth(t, cm.Data[keyPrefix+kind], obj); h.Status != "Progressing" {
			t.Errorf("%s from argocd-cm: fresh object is %s, want Progressing", kind, h.Status)
		}
	}
}

// TestApplicationExample checks the example Applications: they parse, point
// at directories of this repository, and apply server-side.
func TestApplicationExample(t *testing.T) {
	data, err := os.ReadFile("application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("application.yaml has %d documents, want 2", len(docs))
	}
	paths := map[string]bool{}
	for _, doc := range docs {
		obj := fromYAML(t, doc)
		u := unstructured.Unstructured{Object: obj}
		if u.GetKind() != "Application" || u.GetAPIVersion() != "argoproj.io/v1alpha1" {
			t.Errorf("%s %s is not an argoproj.io/v1alpha1 Application", u.GetKind(), u.GetName())
		}
		path, _, _ := unstructured.NestedString(obj, "spec", "source", "path")
		if _, err := os.Stat(filepath.Join("..", "..", path, "kustomization.yaml")); err != nil && !strings.HasPrefix(path, "config/samples") {
			t.Errorf("%s: source.path %s is not a kustomization of this repository", u.GetName(), path)
		}
		paths[path] = true
		opts, _, _ := unstructured.NestedStringSlice(obj, "spec", "syncPolicy", "syncOptions")
		hasSSA := false
		for _, o := range opts {
			hasSSA = hasSSA || o == "ServerSideApply=true"
		}
		if !hasSSA {
			t.Errorf("%s: syncOptions %v lack ServerSideApply=true", u.GetName(), opts)
		}
	}
	if !paths["config/default"] {
		t.Errorf("no Application installs config/default")
	}
}
