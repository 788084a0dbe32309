// Package e2e runs license-operator as users do: the manager binary built
// from cmd/manager, as its own process, installed with the manifests of
// config/default and running with their RBAC, against a local control plane
// (the hack/localcluster binary: kube-apiserver + etcd), driven only with the
// repository's kubectl. It is part of `make test` (plain `go test ./...`).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/licenseops/license-operator/test/envtestutil"
)

const (
	// The install's namespace and the manager's ServiceAccount (config/default).
	systemNamespace = "license-operator-system"
	serviceAccount  = "license-operator-controller-manager"
	// The samples' tenant.
	tenant = "contoso"
	// The image the test deploys (never pulled: envtest runs no pods).
	testImage = "registry.example.com/license-operator:e2e"
)

var (
	repoRoot   string
	assetsDir  string
	kubectlBin string
	workDir    string
	binDir     string

	// adminKubeconfig is the localcluster's admin; managerKubeconfig
	// impersonates the manager's ServiceAccount, so the manager runs with
	// exactly the RBAC of config/rbac.
	adminKubeconfig   string
	managerKubeconfig string

	cluster *process
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end Suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	repoRoot, err = envtestutil.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	assetsDir, err = envtestutil.AssetsDir()
	Expect(err).NotTo(HaveOccurred())
	kubectlBin = filepath.Join(assetsDir, "kubectl")

	workDir, err = os.MkdirTemp("", "license-operator-e2e-")
	Expect(err).NotTo(HaveOccurred())
	binDir = filepath.Join(workDir, "bin")
	adminKubeconfig = filepath.Join(workDir, "admin.kubeconfig")
	managerKubeconfig = filepath.Join(workDir, "manager.kubeconfig")

	By("building the manager and localcluster binaries (the command of `make build`)")
	Expect(os.MkdirAll(binDir, 0o755)).To(Succeed())
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", binDir+string(filepath.Separator), "./cmd/manager", "./hack/localcluster")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build: %s", out)

	By("starting the local control plane (hack/localcluster)")
	cluster = start("localcluster", filepath.Join(binDir, "localcluster"),
		"--kubeconfig", adminKubeconfig,
		"--assets-dir", assetsDir,
		"--crd-dir", filepath.Join(repoRoot, "config", "crd", "bases"))
	Eventually(func(g Gomega) {
		g.Expect(cluster.exited()).To(BeFalse(), "localcluster exited:\n%s", cluster.output())
		g.Expect(cluster.output()).To(ContainSubstring("\nready: "))
	}).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	Expect(adminKubeconfig).To(BeAnExistingFile())

	By("writing a kubeconfig that impersonates the manager's ServiceAccount")
	cfg, err := clientcmd.LoadFromFile(adminKubeconfig)
	Expect(err).NotTo(HaveOccurred())
	for _, user := range cfg.AuthInfos {
		user.Impersonate = "system:serviceaccount:" + systemNamespace + ":" + serviceAccount
		user.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNamespace, "system:authenticated"}
	}
	Expect(clientcmd.WriteToFile(*cfg, managerKubeconfig)).To(Succeed())
}, NodeTimeout(4*time.Minute))

var _ = AfterSuite(func() {
	if cluster != nil {
		By("stopping the local control plane with SIGTERM")
		dataDir := ""
		if i := strings.Index(cluster.output(), "; data in "); i >= 0 {
			dataDir = strings.TrimSpace(strings.SplitN(cluster.output()[i+len("; data in "):], "\n", 2)[0])
		}
		Expect(cluster.stop(30*time.Second)).To(Succeed(), "localcluster must exit 0 on SIGTERM:\n%s", cluster.output())
		Expect(cluster.output()).To(ContainSubstring("stopped, working directory and kubeconfig removed"))
		Expect(adminKubeconfig).NotTo(BeAnExistingFile(), "localcluster removes the kubeconfig it wrote")
		Expect(dataDir).NotTo(BeEmpty(), "the ready line names the data directory")
		Expect(dataDir).NotTo(BeADirectory(), "localcluster removes etcd's data and the API server's certificates")
	}
	if workDir != "" {
		Expect(os.RemoveAll(workDir)).To(Succeed())
	}
})

// process is a child process whose output goes to a buffer and GinkgoWriter.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	return len(b), nil
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "\n" + p.buf.String()
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit; after the grace period it
// kills the process and reports an error.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return fmt.Errorf("%s had already exited: %v", p.name, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.name, grace)
	}
}

// start runs a binary in the background. If the test process dies, the
// child gets SIGTERM (Linux), so the control plane does not outlive it.
func start(name, path string, args ...string) *process {
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = repoRoot
	out := io.MultiWriter(p, prefixWriter(name))
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = childProcAttr()
	Expect(p.cmd.Start()).To(Succeed(), "starting %s", name)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// prefixWriter writes each line to GinkgoWriter with a prefix.
func prefixWriter(prefix string) io.Writer {
	r, w := io.Pipe()
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64*1024), 1024*1024)
		for s.Scan() {
			fmt.Fprintf(GinkgoWriter, "[%s] %s\n", prefix, s.Text())
		}
	}()
	return w
}

// run runs the repo's kubectl (or another command when name is not
// "kubectl") with the admin kubeconfig, in the repository root.
func run(stdin string, name string, args ...string) (stdout, stderr string, err error) {
	if name == "kubectl" {
		name = kubectlBin
		args = append([]string{"--kubeconfig", adminKubeconfig}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "KUBECTL="+kubectlBin, "KUBECONFIG="+adminKubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	fmt.Fprintf(GinkgoWriter, "$ %s %s\n%s%s", filepath.Base(name), strings.Join(args, " "), o.String(), e.String())
	return o.String(), e.String(), err
}

// kubectl runs kubectl and fails the spec when it fails.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, errOut, err := run("", "kubectl", args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), errOut)
	return out
}

// jsonpath reads one field of one object.
func jsonpath(resource, path string) string {
	GinkgoHelper()
	return kubectl("get", "-n", tenant, resource, "-o", "jsonpath="+path)
}

// freePort returns a TCP port that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpStatus returns the status code of a GET, or 0 when unreachable.
func httpStatus(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// table is one kubectl table: rows of column name -> cell, by NAME.
type table map[string]map[string]string

// parseTables splits kubectl get output (one table per kind, separated by
// blank lines) into tables keyed by the NAME column. Cells are cut at the
// header's column offsets, so empty cells stay empty.
func parseTables(out string) []table {
	var tables []table
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		lines := strings.Split(block, "\n")
		header := lines[0]
		var starts []int
		var names []string
		for i := 0; i < len(header); i++ {
			if header[i] != ' ' && (i == 0 || strings.HasPrefix(header[max(i-2, 0):i], "  ")) {
				starts = append(starts, i)
				end := strings.Index(header[i:], "  ")
				if end < 0 {
					end = len(header) - i
				}
				names = append(names, header[i:i+end])
			}
		}
		t := table{}
		for _, line := range lines[1:] {
			row := map[string]string{}
			for c, s := range starts {
				e := len(line)
				if c+1 < len(starts) && starts[c+1] < e {
					e = starts[c+1]
				}
				if s < len(line) {
					row[names[c]] = strings.TrimSpace(line[s:e])
				} else {
					row[names[c]] = ""
				}
			}
			t[row["NAME"]] = row
		}
		tables = append(tables, t)
	}
	return tables
}

// exitCode returns the exit code of a failed command, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
