package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// update rewrites the golden files: go test ./cmd/kubectl-license -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testNow is the clock of every unit test.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// result is one run of the plugin.
type result struct {
	stdout, stderr string
	code           int
}

// runPlugin runs the plugin with args; newClient may be nil for offline
// commands. stdin feeds "-".
func runPlugin(t *testing.T, newClient func() (client.Client, error), stdin string, args ...string) result {
	t.Helper()
	return runPluginCtx(t, context.Background(), newClient, stdin, args...)
}

// runPluginCtx is runPlugin with a context (cancelled: Ctrl-C).
func runPluginCtx(t *testing.T, ctx context.Context, newClient func() (client.Client, error), stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := newEnv(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	e.now = func() time.Time { return testNow }
	if newClient != nil {
		e.newClient = newClient
	} else {
		e.newClient = func() (client.Client, error) {
			t.Fatalf("%v: the command must not contact a cluster", args)
			return nil, nil
		}
	}
	// Never read the kubeconfig of the machine running the tests.
	if !slices.Contains(args, "--kubeconfig") {
		if len(args) > 0 && args[0] == "__complete" {
			// The last word is the one being completed: flags go first.
			args = append([]string{args[0], "--kubeconfig", emptyKubeconfig(t)}, args[1:]...)
		} else {
			args = append(args, "--kubeconfig", emptyKubeconfig(t))
		}
	}
	code := run(ctx, args, e)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// emptyKubeconfig writes a kubeconfig with a current namespace but no
// server, so offline commands see a stable default namespace.
func emptyKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: fallback-ns}}]
current-context: none
`
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("golden file %s: %v (run go test ./cmd/kubectl-license -run %s -update to create it)", p, err, t.Name())
	}
	if string(want) != got {
		t.Errorf("output differs from %s (re-run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", p, got, want)
	}
}

// mustContain fails unless s contains every substring.
func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("output lacks %q:\n%s", sub, s)
		}
	}
}

// mustContainFields is mustContain ignoring how many spaces separate
// words (for label/value lines whose alignment depends on other lines).
func mustContainFields(t *testing.T, s string, subs ...string) {
	t.Helper()
	norm := func(x string) string { return strings.Join(strings.Fields(x), " ") }
	ns := norm(s)
	for _, sub := range subs {
		if !strings.Contains(ns, norm(sub)) {
			t.Errorf("output lacks %q:\n%s", sub, s)
		}
	}
}

// writeFile writes content to a temporary file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeAt writes content to path, creating its directory.
func writeAt(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var osReadFile = os.ReadFile
