package chaos

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
)

// replacedAPIServer is the kube-apiserver restartAPIServer started in place
// of envtest's; AfterSuite stops it before envtest cleans up its directory.
var replacedAPIServer *exec.Cmd

// apiServerProcess finds the kube-apiserver this test process runs (envtest's,
// or the one restartAPIServer started): its pid and command line.
func apiServerProcess() (int, []string) {
	procs := envtestutil.Children("kube-apiserver")
	Expect(procs).To(HaveLen(1), "kube-apiserver child processes")
	pid := procs[0].PID
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	Expect(err).NotTo(HaveOccurred())
	var args []string
	for _, a := range bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0}) {
		args = append(args, string(a))
	}
	return pid, args
}

// stopAPIServer stops the API server as an operator would (SIGTERM, then
// waits for it to exit) and returns its command line.
func stopAPIServer() []string {
	pid, args := apiServerProcess()
	if replacedAPIServer != nil {
		Expect(replacedAPIServer.Process.Signal(syscall.SIGTERM)).To(Succeed())
		_ = replacedAPIServer.Wait()
		replacedAPIServer = nil
		return args
	}
	Expect(syscall.Kill(pid, syscall.SIGTERM)).To(Succeed())
	gone := func() bool {
		p, ok := envtestutil.ReadProcess(pid)
		return !ok || p.Exited // exited (maybe not yet reaped by envtest)
	}
	start := time.Now()
	for !gone() && time.Since(start) < 5*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	if !gone() {
		// kube-apiserver's graceful shutdown can wait long on open watches.
		GinkgoWriter.Printf("kube-apiserver still running 5s after SIGTERM; sending SIGKILL\n")
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(gone, time.Minute, 100*time.Millisecond).Should(BeTrue(), "kube-apiserver did not stop")
	}
	GinkgoWriter.Printf("kube-apiserver stopped after %v\n", time.Since(start).Round(time.Millisecond))
	return args
}

// startAPIServer starts a kube-apiserver with the command line of the stopped
// one (same port, certificates, etcd and client CA, so every client's
// kubeconfig stays valid) and waits until it serves.
func startAPIServer(args []string) {
	log, err := os.Create(filepath.Join(workDir, "kube-apiserver-restarted.log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	Expect(cmd.Start()).To(Succeed())
	replacedAPIServer = cmd
	Eventually(func() error {
		return k8sClient.List(ctx, &licv1.LicenseSkuList{})
	}, time.Minute, 200*time.Millisecond).Should(Succeed(), "the restarted kube-apiserver does not serve")
}
