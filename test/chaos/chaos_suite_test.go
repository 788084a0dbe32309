// Package chaos runs the real manager binary under faults against a real
// kube-apiserver: SIGKILL at random points, two replicas with leader
// election, the API server going away. The shorter specs run in `make test`;
// `make test-chaos` adds the long churn (CHAOS_LONG=1).
package chaos

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
	"github.com/licenseops/license-operator/test/harness"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
	scheme     = runtime.NewScheme()
	managerBin string
	kubeconfig string
	workDir    string
)

func TestChaos(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Chaos Suite")
}

var _ = BeforeSuite(func() {
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel = context.WithCancel(context.Background())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(licv1.AddToScheme(scheme))

	var err error
	workDir, err = os.MkdirTemp("", "license-operator-chaos-")
	Expect(err).NotTo(HaveOccurred())
	root, err := envtestutil.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	managerBin = filepath.Join(workDir, "manager")
	build := exec.Command("go", "build", "-trimpath", "-o", managerBin, "./cmd/manager")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))

	testEnv, err = envtestutil.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = -1, 0
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, testEnv.KubeConfig, 0o600)).To(Succeed())
})

var _ = AfterSuite(func() {
	cancel()
	if replacedAPIServer != nil {
		_ = replacedAPIServer.Process.Signal(syscall.SIGTERM)
		_ = replacedAPIServer.Wait()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if workDir != "" {
		_ = os.RemoveAll(workDir)
	}
})

// manager is one running manager process (harness.Manager).
type manager struct{ *harness.Manager }

// startManager runs the manager binary for namespace ns. It returns at
// once: the kill spec's random points include the manager's startup.
func startManager(name, ns string, extra ...string) *manager {
	m, err := harness.StartManager(name, managerBin, harness.ManagerOptions{
		Kubeconfig: kubeconfig, Namespaces: ns, Args: extra, NoWait: true,
	})
	Expect(err).NotTo(HaveOccurred())
	return &manager{m}
}

func (m *manager) kill() { m.Kill() }

func (m *manager) stop() {
	_ = m.Stop(30 * time.Second)
	Expect(m.Alive()).To(BeFalse(), "%s did not stop", m.Name)
}

func (m *manager) alive() bool { return m.Alive() }

// statusWrites is the manager's own count of successful status patches.
func (m *manager) statusWrites() (float64, error) {
	ms, err := m.Metrics()
	if err != nil {
		return 0, err
	}
	return ms.Counter("license_operator_status_writes_total", map[string]string{"result": "success"}), nil
}

func (m *manager) logTail() string { return m.LogTail(30) }
