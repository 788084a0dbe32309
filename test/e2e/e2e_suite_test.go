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
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/licenseops/license-operator/test/envtestutil"
	"github.com/licenseops/license-operator/test/harness"
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

	cluster *harness.Process
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
		g.Expect(cluster.Alive()).To(BeTrue(), "localcluster exited:\n%s", output(cluster))
		g.Expect(output(cluster)).To(ContainSubstring("\nready: "))
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
		if i := strings.Index(output(cluster), "; data in "); i >= 0 {
			dataDir = strings.TrimSpace(strings.SplitN(output(cluster)[i+len("; data in "):], "\n", 2)[0])
		}
		Expect(cluster.Stop(30*time.Second)).To(Succeed(), "localcluster must exit 0 on SIGTERM:\n%s", output(cluster))
		Expect(output(cluster)).To(ContainSubstring("stopped, working directory and kubeconfig removed"))
		Expect(adminKubeconfig).NotTo(BeAnExistingFile(), "localcluster removes the kubeconfig it wrote")
		Expect(dataDir).NotTo(BeEmpty(), "the ready line names the data directory")
		Expect(dataDir).NotTo(BeADirectory(), "localcluster removes etcd's data and the API server's certificates")
	}
	if workDir != "" {
		Expect(os.RemoveAll(workDir)).To(Succeed())
	}
})

// start runs a binary in the background (harness.Process), its output
// kept and copied to GinkgoWriter. If the test process dies, the child gets
// SIGTERM (Linux), so the control plane does not outlive it.
func start(name, path string, args ...string) *harness.Process {
	p, err := harness.Start(name, path, args, harness.ProcessOptions{Dir: repoRoot, Output: prefixWriter(name), SysProcAttr: childProcAttr()})
	Expect(err).NotTo(HaveOccurred(), "starting %s", name)
	return p
}

// output is what p wrote, after a newline (so "\nready: " matches a first line).
func output(p *harness.Process) string { return "\n" + p.Output() }

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
