package licensecli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// readObjects decodes every YAML document of a file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// expectedField reads the "# expect: <field>" header of an invalid manifest.
func expectedField(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# expect: "); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("%s has no '# expect:' header", path)
	return ""
}

func TestValidatorInvalidCorpus(t *testing.T) {
	v, err := DefaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "api", "v1alpha1", "testdata", "invalid", "*.yaml"))
	if len(files) < 15 {
		t.Fatalf("corpus: %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			obj := readObjects(t, f)[0]
			obj.SetNamespace("contoso")
			err := v.Admit(context.Background(), obj)
			if err == nil {
				t.Fatalf("accepted; the API server refuses it")
			}
			want := expectedField(t, f)
			fields := RefusedFields(err)
			if !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, want) }) {
				t.Errorf("refusal names %v, want %s: %v", fields, want, err)
			}
			if !apierrors.IsInvalid(err) {
				t.Errorf("want 422 Invalid as the API server answers, got %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestValidatorAcceptsSamplesAndDefaults(t *testing.T) {
	v, err := DefaultValidator()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "*.yaml"))
	n := 0
	for _, f := range files {
		for _, obj := range readObjects(t, f) {
			if !v.Knows(obj.GroupVersionKind()) {
				continue
			}
			obj.SetNamespace("contoso")
			if err := v.Admit(context.Background(), obj); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d licensing samples", n)
	}

	sku := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "licensing.licenseops.dev/v1alpha1", "kind": "LicenseSku",
		"metadata": map[string]any{"name": "e3", "namespace": "contoso"},
		"spec": map[string]any{"skuPartNumber": "SPE_E3", "subscriptions": []any{map[string]any{"name": "main", "seats": int64(3)}},
			"displayname": "typo"},
	}}
	err = v.Admit(context.Background(), sku)
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `strict decoding error: unknown field "spec.displayname"`) ||
		!slices.Equal(RefusedFields(err), []string{"spec.displayname"}) {
		t.Errorf("unknown field: %v", err)
	}
	unstructured.RemoveNestedField(sku.Object, "spec", "displayname")
	if err := v.Admit(context.Background(), sku); err != nil {
		t.Fatal(err)
	}
	subs, _, _ := unstructured.NestedSlice(sku.Object, "spec", "subscriptions")
	if subs[0].(map[string]any)["state"] != "Enabled" {
		t.Errorf("the CRD's default state Enabled is applied: %v", subs)
	}
}
