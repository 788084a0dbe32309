package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/licenseops/license-operator/test/envtestutil"
)

var (
	// root is the repository root.
	root string
	// cfg reaches the envtest kube-apiserver (the repository's CRDs
	// installed), started once for the package.
	cfg *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if root, err = envtestutil.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := os.Stat(filepath.Join(root, "test", "packaging", "go.mod")); err != nil {
		fmt.Fprintf(os.Stderr, "repository root %s has no test/packaging: %v\n", root, err)
		return 1
	}
	ctrllog.SetLogger(logr.Discard())
	env, err := envtestutil.NewEnvironment()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// CI's two cores are shared: give the API server time to start.
	env.ControlPlaneStartTimeout = 3 * time.Minute
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func(env *envtest.Environment) {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}(env)
	return m.Run()
}
