// Package envtestutil starts the envtest control plane that hack/build-envtest.sh
// builds from source (bin/k8s/<version>-<os>-<arch>), with this repository's
// CRDs installed. Shared by every suite that needs a real kube-apiserver.
package envtestutil

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// K8sVersion is the control-plane version the Makefile builds: its
// ENVTEST_K8S_VERSION (the environment's, as make exports it, else the
// Makefile's default), so the version is written once.
func K8sVersion() (string, error) {
	if v := os.Getenv("ENVTEST_K8S_VERSION"); v != "" {
		return v, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return "", err
	}
	if m := regexp.MustCompile(`(?m)^ENVTEST_K8S_VERSION \?= *(\S+)`).FindSubmatch(data); m != nil {
		return string(m[1]), nil
	}
	return "", fmt.Errorf("no 'ENVTEST_K8S_VERSION ?= <version>' line in %s", filepath.Join(root, "Makefile"))
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate envtestutil source file")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above %s", file)
		}
		dir = parent
	}
}

// AssetsDir is where kube-apiserver, etcd and kubectl live: $KUBEBUILDER_ASSETS
// when set, else the repository's bin/k8s directory. It fails with an
// actionable message when the binaries are missing.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		v, err := K8sVersion()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "k8s", fmt.Sprintf("%s-%s-%s", v, runtime.GOOS, runtime.GOARCH))
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("envtest binary %s missing in %s: run 'make envtest' (or 'make test', which builds it)", b, dir)
		}
	}
	return dir, nil
}

// Kubectl returns the path of the self-built kubectl.
func Kubectl() (string, error) {
	dir, err := AssetsDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubectl"), nil
}

// NewEnvironment returns an envtest environment with the repository's CRDs.
func NewEnvironment() (*envtest.Environment, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}, nil
}
