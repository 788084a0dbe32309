// Package chaos runs the real manager binary under faults against a real
// kube-apiserver: SIGKILL at random points, two replicas with leader
// election, the API server going away. The shorter specs run in `make test`;
// `make test-chaos` adds the long churn (CHAOS_LONG=1).
package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
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

// manager is one running manager process.
type manager struct {
	name    string
	cmd     *exec.Cmd
	metrics string
	done    chan struct{}
	log     *os.File
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// startManager runs the manager binary for namespace ns.
func startManager(name, ns string, extra ...string) *manager {
	m := &manager{name: name, metrics: freeAddr(), done: make(chan struct{})}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--namespaces=" + ns,
		"--metrics-bind-address=" + m.metrics, "--metrics-secure=false",
		"--health-probe-bind-address=0",
		"--kube-api-qps=-1",
	}, extra...)
	m.cmd = exec.Command(managerBin, args...)
	var err error
	m.log, err = os.Create(filepath.Join(workDir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano())))
	Expect(err).NotTo(HaveOccurred())
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	Expect(m.cmd.Start()).To(Succeed())
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	return m
}

func (m *manager) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	Eventually(m.done, 10*time.Second).Should(BeClosed())
	m.log.Close()
}

func (m *manager) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	Eventually(m.done, 30*time.Second).Should(BeClosed())
	m.log.Close()
}

func (m *manager) alive() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// statusWrites is the manager's own count of successful status patches.
func (m *manager) statusWrites() (float64, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	if f := fams["license_operator_status_writes_total"]; f != nil {
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if l.GetName() == "result" && l.GetValue() == "success" {
					sum += s.GetCounter().GetValue()
				}
			}
		}
	}
	return sum, nil
}

func (m *manager) logTail() string {
	data, _ := os.ReadFile(m.log.Name())
	lines := strings.Split(string(data), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
