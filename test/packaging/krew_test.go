package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/krew/pkg/constants"
	"sigs.k8s.io/krew/pkg/index"
	"sigs.k8s.io/yaml"
)

// The krew manifest GoReleaser writes (make release-snapshot, copied to
// plugins/license.yaml) decodes strictly into krew's own types and passes
// the rules of krew's validation (sigs.k8s.io/krew internal/index/validation,
// which krew-index runs): apiVersion and kind, the name of the file, a
// one-line short description, a SemVer version, and for every platform a
// URI, a SHA-256, the binary and a selector on os and arch only; each of the
// six platforms the release builds is selected by exactly one entry, with
// the .exe on windows, from this project's releases.
func TestKrewManifest(t *testing.T) {
	path := filepath.Join(root, "plugins", "license.yaml")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		// GoReleaser writes it; its first build is too long for make test.
		t.Skip("plugins/license.yaml is not generated yet: run make release-snapshot and commit it")
	}
	if err != nil {
		t.Fatal(err)
	}
	var p index.Plugin
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatalf("plugins/license.yaml is not a krew Plugin: %v", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), constants.ManifestExtension)
	if p.APIVersion != constants.CurrentAPIVersion || p.Kind != constants.PluginKind {
		t.Errorf("apiVersion %q kind %q, want %q %q", p.APIVersion, p.Kind, constants.CurrentAPIVersion, constants.PluginKind)
	}
	if p.Name != name || !regexp.MustCompile(`^[\w-]+$`).MatchString(p.Name) {
		t.Errorf("plugin name %q, want %q (the file name; kubectl %s runs kubectl-%s)", p.Name, name, name, name)
	}
	if p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n") || len(p.Spec.ShortDescription) > 255 {
		t.Errorf("shortDescription %q: one line, at most 255 characters", p.Spec.ShortDescription)
	}
	if !strings.HasPrefix(p.Spec.Version, "v") {
		t.Errorf("version %q lacks the v prefix krew-index expects", p.Spec.Version)
	}
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(p.Spec.Version, "v")); err != nil {
		t.Errorf("version %q: %v", p.Spec.Version, err)
	}
	const releases = "https://github.com/licenseops/license-operator/releases/download/"
	sha256 := regexp.MustCompile(`^[a-f0-9]{64}$`)
	for i, pl := range p.Spec.Platforms {
		where := fmt.Sprintf("platforms[%d]", i)
		if !strings.HasPrefix(pl.URI, releases) || !(strings.HasSuffix(pl.URI, ".tar.gz") || strings.HasSuffix(pl.URI, ".zip")) {
			t.Errorf("%s: uri %q is not an archive of this project's releases", where, pl.URI)
		}
		if !sha256.MatchString(pl.Sha256) {
			t.Errorf("%s: sha256 %q", where, pl.Sha256)
		}
		if pl.Files != nil && len(pl.Files) == 0 {
			t.Errorf("%s: files is empty (leave it out or list the files)", where)
		}
		for _, f := range pl.Files {
			if f.From == "" || f.To == "" {
				t.Errorf("%s: file operation %+v lacks from or to", where, f)
			}
		}
		if pl.Selector == nil || len(pl.Selector.MatchLabels)+len(pl.Selector.MatchExpressions) == 0 {
			t.Errorf("%s: no selector", where)
			continue
		}
		for k := range pl.Selector.MatchLabels {
			if k != "os" && k != "arch" {
				t.Errorf("%s: selector key %q (krew supports os and arch)", where, k)
			}
		}
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			var matched []index.Platform
			for _, pl := range p.Spec.Platforms {
				sel, err := metav1.LabelSelectorAsSelector(pl.Selector)
				if err == nil && sel.Matches(labels.Set{"os": goos, "arch": arch}) {
					matched = append(matched, pl)
				}
			}
			if len(matched) != 1 {
				t.Errorf("%s/%s is selected by %d platforms, want 1", goos, arch, len(matched))
				continue
			}
			bin := "kubectl-" + name
			if goos == "windows" {
				bin += ".exe"
			}
			if matched[0].Bin != bin {
				t.Errorf("%s/%s: bin %q, want %q", goos, arch, matched[0].Bin, bin)
			}
			if !strings.Contains(matched[0].URI, "_"+goos+"_"+arch+".") {
				t.Errorf("%s/%s: uri %q is the archive of another platform", goos, arch, matched[0].URI)
			}
		}
	}
}
