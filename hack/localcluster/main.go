// Command localcluster runs a local Kubernetes control plane for development:
// the kube-apiserver and etcd that `make envtest` builds into bin/k8s, started
// through controller-runtime's envtest, with this repository's CRDs installed.
// It is what `make demo` and the end-to-end tests run the manager against. No
// kubelet, no scheduler, no controller-manager: objects are stored and
// validated, pods never run.
//
//	go run ./hack/localcluster --kubeconfig bin/demo/kubeconfig
//
// It writes an admin kubeconfig to --kubeconfig once the API server is ready
// and the CRDs are established, prints a line starting with "ready:", and
// runs until SIGINT or SIGTERM. It then stops kube-apiserver and etcd and
// removes its working directory and the kubeconfig it wrote, so nothing is
// left behind. Development only: never point it at anything that matters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/licenseops/license-operator/test/envtestutil"
)

// contextName names the cluster, user and context of the written kubeconfig.
const contextName = "license-operator-local"

func main() {
	var (
		kubeconfig   string
		crdDir       string
		assetsDir    string
		startTimeout time.Duration
	)
	// A FlagSet of our own: controller-runtime registers its own -kubeconfig
	// (for reading one) on the default set.
	fs := flag.NewFlagSet("localcluster", flag.ExitOnError)
	fs.StringVar(&kubeconfig, "kubeconfig", "", "Path to write the admin kubeconfig to (required). Removed again on exit.")
	fs.StringVar(&crdDir, "crd-dir", "", "Directory of CRD manifests to install (default: <repo>/config/crd/bases).")
	fs.StringVar(&assetsDir, "assets-dir", "", "Directory holding kube-apiserver, etcd and kubectl (default: $KUBEBUILDER_ASSETS, else <repo>/bin/k8s/<version>-<os>-<arch>).")
	fs.DurationVar(&startTimeout, "start-timeout", 60*time.Second, "How long kube-apiserver and etcd may take to start.")
	_ = fs.Parse(os.Args[1:])

	if err := run(kubeconfig, crdDir, assetsDir, startTimeout); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, crdDir, assetsDir string, startTimeout time.Duration) (retErr error) {
	if kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	kubeconfig, err := filepath.Abs(kubeconfig)
	if err != nil {
		return err
	}
	if crdDir == "" {
		root, err := envtestutil.RepoRoot()
		if err != nil {
			return fmt.Errorf("%w (pass --crd-dir)", err)
		}
		crdDir = filepath.Join(root, "config", "crd", "bases")
	}
	if assetsDir == "" {
		if assetsDir, err = envtestutil.AssetsDir(); err != nil {
			return err
		}
	}

	// Listen for signals before starting anything, so an early Ctrl-C still
	// stops what was started. A process started in the background by a
	// script has SIGINT ignored (hack/demo.sh stops it with SIGTERM, after the
	// manager); keep it that way, as nohup'ed programs do.
	signals := []os.Signal{syscall.SIGTERM}
	if !signal.Ignored(os.Interrupt) {
		signals = append(signals, os.Interrupt)
	}
	ctx, stop := signal.NotifyContext(context.Background(), signals...)
	defer stop()

	// One working directory for etcd's data and the API server's certificates,
	// removed on exit whatever happens (also after a failed start).
	workDir, err := os.MkdirTemp("", "license-operator-localcluster-")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(workDir); err != nil && retErr == nil {
			retErr = err
		}
	}()
	apiDir, etcdDir := filepath.Join(workDir, "kube-apiserver"), filepath.Join(workDir, "etcd")
	for _, d := range []string{apiDir, etcdDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	// A kubeconfig left over from a killed run points to a dead server.
	if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{crdDir},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assetsDir,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.GetAPIServer().CertDir = apiDir
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}

	started := time.Now()
	fmt.Printf("localcluster: starting kube-apiserver and etcd from %s, CRDs from %s\n", assetsDir, crdDir)
	if _, err := env.Start(); err != nil {
		// Start may fail after the processes are up (installing CRDs).
		_ = env.ControlPlane.Stop()
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		fmt.Println("localcluster: stopping kube-apiserver and etcd")
		if err := env.Stop(); err != nil && retErr == nil {
			retErr = fmt.Errorf("stopping the control plane: %w", err)
		}
		if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) && retErr == nil {
			retErr = err
		}
		if err := os.RemoveAll(workDir); err != nil && retErr == nil {
			retErr = err
		}
		if retErr == nil {
			fmt.Println("localcluster: stopped, working directory and kubeconfig removed")
		}
	}()

	if ctx.Err() != nil {
		return nil // stopped while starting: nothing to announce
	}
	if err := writeKubeconfig(env.KubeConfig, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("ready: kube-apiserver %s in %s; kubeconfig %s; data in %s\n",
		env.Config.Host, time.Since(started).Round(100*time.Millisecond), kubeconfig, workDir)

	<-ctx.Done()
	return nil
}

// writeKubeconfig renames envtest's generic "envtest" entries and writes the
// file atomically (0600: it holds the admin's client key), so a reader that
// sees the file sees all of it.
func writeKubeconfig(data []byte, path string) error {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return fmt.Errorf("parsing the generated kubeconfig: %w", err)
	}
	// envtest writes exactly one cluster, user and context.
	if len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 || len(cfg.Contexts) != 1 {
		return fmt.Errorf("unexpected generated kubeconfig: %d clusters, %d users, %d contexts",
			len(cfg.Clusters), len(cfg.AuthInfos), len(cfg.Contexts))
	}
	for name, cluster := range cfg.Clusters {
		delete(cfg.Clusters, name)
		cfg.Clusters[contextName] = cluster
		break
	}
	for name, user := range cfg.AuthInfos {
		delete(cfg.AuthInfos, name)
		cfg.AuthInfos[contextName] = user
		break
	}
	for name, kctx := range cfg.Contexts {
		delete(cfg.Contexts, name)
		kctx.Cluster, kctx.AuthInfo = contextName, contextName
		cfg.Contexts[contextName] = kctx
		break
	}
	cfg.CurrentContext = contextName

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*cfg, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
