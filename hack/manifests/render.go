// Package manifests renders the operator's kustomize tree (config/) with
// kustomize's own library, the one `kubectl kustomize` embeds, so rendering
// the installer or the Helm chart needs neither kubectl nor a kustomize
// binary: only Go. hack/render-install and hack/helm-chart use it, and the
// packaging tests compare the chart with it.
package manifests

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// BaseImage is the image name config/manager gives the manager container;
// Options.Image replaces it.
const BaseImage = "license-operator"

// Options select what Render produces.
type Options struct {
	// Image, when set, is the manager image: name, name:tag or
	// name@sha256:digest (a registry port is fine: host:5000/name:tag).
	Image string
	// WithoutCRDs drops the CustomResourceDefinitions (what undeploy
	// removes: deleting a CRD deletes every object of its kind).
	WithoutCRDs bool
}

// Render builds the kustomization dir (relative to root, e.g.
// "config/default") the way `kubectl kustomize` does and returns the
// multi-document YAML. root is the repository root; only its config/
// directory is read, through an in-memory copy, so nothing on disk is
// written.
func Render(root, dir string, o Options) ([]byte, error) {
	m, err := Build(root, dir, o)
	if err != nil {
		return nil, err
	}
	if o.WithoutCRDs {
		for _, r := range m.Resources() {
			if r.GetKind() == "CustomResourceDefinition" {
				if err := m.Remove(r.CurId()); err != nil {
					return nil, err
				}
			}
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	if o.Image != "" && !bytes.Contains(out, []byte("image: "+CanonicalImage(o.Image)+"\n")) {
		return nil, fmt.Errorf("the manager image was not set to %s: does config/manager still name it %s?", o.Image, BaseImage)
	}
	return out, nil
}

// Build is Render before serialisation: the resources in kustomize's
// legacy order (namespaces, CRDs, RBAC, then the rest), as kubectl prints
// them.
func Build(root, dir string, o Options) (resmap.ResMap, error) {
	mem := filesys.MakeFsInMemory()
	if err := copyTree(mem, root, "config"); err != nil {
		return nil, err
	}
	target := "/" + filepath.ToSlash(filepath.Clean(dir))
	if o.Image != "" {
		overlay, err := imageOverlay(target, o.Image)
		if err != nil {
			return nil, err
		}
		if err := mem.WriteFile("/.install-overlay/kustomization.yaml", overlay); err != nil {
			return nil, err
		}
		target = "/.install-overlay"
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // as kubectl kustomize
	return krusty.MakeKustomizer(opts).Run(mem, target)
}

// copyTree copies root/sub into the in-memory file system at /sub.
func copyTree(mem filesys.FileSystem, root, sub string) error {
	return filepath.WalkDir(filepath.Join(root, sub), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		dst := "/" + filepath.ToSlash(rel)
		if d.IsDir() {
			return mem.MkdirAll(dst)
		}
		if !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") && !strings.HasSuffix(path, ".json") {
			return nil // kustomize reads only manifests; skip Go tests and scripts
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(dst, data)
	})
}

// imageOverlay is a kustomization over base that sets the manager image.
func imageOverlay(base, image string) ([]byte, error) {
	name, tag, digest := SplitImage(image)
	if name == "" {
		return nil, fmt.Errorf("image %q has no name", image)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "resources:\n- ..%s\nimages:\n- name: %s\n  newName: %q\n", base, BaseImage, name)
	if tag != "" {
		fmt.Fprintf(&b, "  newTag: %q\n", tag)
	}
	if digest != "" {
		fmt.Fprintf(&b, "  digest: %q\n", digest)
	}
	return b.Bytes(), nil
}

// SplitImage splits an image reference into name, tag and digest; a
// reference with neither tag nor digest gets the tag "latest", as a
// container runtime reads it.
func SplitImage(image string) (name, tag, digest string) {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[:i], "", image[i+1:]
	}
	slash := strings.LastIndex(image, "/")
	if i := strings.LastIndex(image, ":"); i > slash {
		return image[:i], image[i+1:], ""
	}
	return image, "latest", ""
}

// CanonicalImage is the reference Render writes for image: name:tag or
// name@digest ("latest" when neither is given).
func CanonicalImage(image string) string {
	name, tag, digest := SplitImage(image)
	if digest != "" {
		return name + "@" + digest
	}
	return name + ":" + tag
}
