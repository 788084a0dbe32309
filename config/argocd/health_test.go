// Package argocd tests the Argo CD health checks in
// config/argocd/resource_customizations/licensing.licenseops.dev/<Kind>/,
// kept in Argo CD's own layout (health.lua, health_test.yaml, testdata/) so
// they can be contributed upstream. They run with the Lua interpreter Argo
// CD uses (github.com/yuin/gopher-lua), the way Argo CD runs a health check
// from argocd-cm: only the package, base and table libraries, a global `obj`
// converted from the live object, and a returned table {status = ...,
// message = ...}; each health_test.yaml runs as Argo CD's own test does.
//
// Regenerate config/argocd/argocd-cm.yaml after editing a health.lua:
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

// kinds are the kinds with a health check, one directory each in
// customizations.
var kinds = []string{"LicenseSku", "LicenseGroup", "UserLicense", "DirectoryConnection"}

// customizations is Argo CD's resource_customizations/<group> directory.
var customizations = filepath.Join("resource_customizations", group)

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
	data, err := os.ReadFile(filepath.Join(customizations, kind, "health.lua"))
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

// healthTests is Argo CD's health_test.yaml.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// TestHealthChecks runs every kind's health_test.yaml as Argo CD's
// TestLuaHealthScript does: the health of each testdata object, status and
// message exactly. Each kind is tested Progressing, Healthy and Degraded,
// and every testdata file is used.
func TestHealthChecks(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(customizations, kind)
			data, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var tests healthTests
			if err := yaml.UnmarshalStrict(data, &tests); err != nil {
				t.Fatalf("health_test.yaml: %v", err)
			}
			src := script(t, kind)
			seen := map[string]bool{}
			used := map[string]bool{}
			for _, tc := range tests.Tests {
				used[filepath.Clean(tc.InputPath)] = true
				input, err := os.ReadFile(filepath.Join(dir, tc.InputPath))
				if err != nil {
					t.Error(err)
					continue
				}
				obj := fromYAML(t, string(input))
				if got := obj["kind"]; got != kind {
					t.Errorf("%s: kind %v, want %s", tc.InputPath, got, kind)
				}
				h := runHealth(t, src, obj)
				if h.Status != tc.HealthStatus.Status || h.Message != tc.HealthStatus.Message {
					t.Errorf("%s: got %s %q, want %s %q", tc.InputPath, h.Status, h.Message, tc.HealthStatus.Status, tc.HealthStatus.Message)
				}
				if h.Message == "" {
					t.Errorf("%s: empty message: Argo CD shows it next to the health", tc.InputPath)
				}
				seen[tc.HealthStatus.Status] = true
			}
			for _, status := range []string{"Progressing", "Healthy", "Degraded"} {
				if !seen[status] {
					t.Errorf("health_test.yaml has no %s case", status)
				}
			}
			files, err := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				rel, _ := filepath.Rel(dir, f)
				if !used[rel] {
					t.Errorf("%s is used by no test of health_test.yaml", rel)
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
				t.Errorf("%s/health.lua uses %q, which Argo CD does not provide to health checks from argocd-cm", kind, lib)
			}
		}
	}
}

// renderConfigMap writes the argocd-cm snippet embedding the .lua files.
func renderConfigMap(t testing.TB) []byte {
	var b bytes.Buffer
	b.WriteString(`# Argo CD health checks for license-operator's kinds. GENERATED from
# config/argocd/resource_customizations/licensing.licenseops.dev/*/health.lua:
# edit those, then run
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
	files, err := filepath.Glob(filepath.Join(customizations, "*", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(kinds) {
		t.Errorf("%s holds %d health.lua files, want one per kind %v", customizations, len(files), kinds)
	}
	want := map[string]string{}
	for _, f := range files {
		kind := filepath.Base(filepath.Dir(f))
		want[keyPrefix+kind] = script(t, kind)
	}
	for key, src := range want {
		got, ok := cm.Data[key]
		switch {
		case !ok:
			t.Errorf("%s lacks %s: run go test ./config/argocd/ -run TestArgoCDConfigMap -update", path, key)
		case got != src:
			t.Errorf("%s: %s differs from %s/health.lua: run go test ./config/argocd/ -run TestArgoCDConfigMap -update",
				path, key, strings.TrimPrefix(key, keyPrefix))
		}
	}
	for key := range cm.Data {
		if _, ok := want[key]; !ok {
			t.Errorf("%s has key %s with no health.lua behind it", path, key)
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
