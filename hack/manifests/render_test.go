package manifests

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitImage(t *testing.T) {
	for image, want := range map[string][3]string{
		"license-operator":                   {"license-operator", "latest", ""},
		"reg.example.com/lo:v1.2.3":          {"reg.example.com/lo", "v1.2.3", ""},
		"reg.example.com:5000/lo":            {"reg.example.com:5000/lo", "latest", ""},
		"reg.example.com:5000/team/lo:v1":    {"reg.example.com:5000/team/lo", "v1", ""},
		"reg.example.com/lo@sha256:0123abcd": {"reg.example.com/lo", "", "sha256:0123abcd"},
	} {
		name, tag, digest := SplitImage(image)
		if got := [3]string{name, tag, digest}; got != want {
			t.Errorf("SplitImage(%q) = %q, want %q", image, got, want)
		}
	}
}

// Render sets the manager image (and only it) and can leave out the CRDs,
// without kubectl.
func TestRender(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, image := range []string{"reg.example.com:5000/team/lo:v1", "reg.example.com/lo@sha256:" + strings.Repeat("ab", 32), "plain"} {
		out, err := Render(root, "config/default", Options{Image: image})
		if err != nil {
			t.Fatalf("image %s: %v", image, err)
		}
		if n := strings.Count(string(out), "image: "); n != 1 {
			t.Errorf("image %s: %d images in the output, want 1", image, n)
		}
		if !strings.Contains(string(out), "image: "+CanonicalImage(image)+"\n") {
			t.Errorf("image %s not set", image)
		}
		if !strings.Contains(string(out), "kind: CustomResourceDefinition") {
			t.Errorf("image %s: no CRDs", image)
		}
	}
	out, err := Render(root, "config/default", Options{WithoutCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "kind: CustomResourceDefinition") || !strings.Contains(string(out), "kind: Deployment") {
		t.Errorf("WithoutCRDs: CRDs left or Deployment missing")
	}
	if _, err := Render(root, "config/nope", Options{}); err == nil {
		t.Error("rendering a missing kustomization succeeded")
	}
}
