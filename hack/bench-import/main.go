// Command bench-import measures `kubectl license import --apply` against a
// bare client applying the same UserLicenses, in one run against a local
// envtest kube-apiserver (no controller: only the writes are measured).
//
// Each round writes N new users into a fresh namespace twice: once with a
// bare controller-runtime client (server-side apply, -concurrency writers,
// no client-side rate limit, the same objects the plugin sends) and once by
// running the plugin binary on an admin-center style CSV of the same users
// (process start, listing the namespace, parsing, planning the import,
// writing, progress and result lines included). The order alternates per
// round; the ratio is the plugin's median time over the bare client's.
//
//	go run ./hack/bench-import -plugin bin/kubectl-license -users 10000 -concurrency 16
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
	"github.com/licenseops/license-operator/test/harness"
)

func main() {
	var (
		plugin      = flag.String("plugin", "bin/kubectl-license", "the kubectl-license binary to measure (make build-plugin)")
		users       = flag.Int("users", 10000, "users per import")
		concurrency = flag.Int("concurrency", 16, "writers of the bare client and --concurrency of the plugin")
		rounds      = flag.Int("rounds", 3, "rounds (each writes the users twice: bare client and plugin)")
		maxRatio    = flag.Float64("max-ratio", 1.5, "the target: the plugin's time over the bare client's")
	)
	flag.Parse()
	log.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	if err := run(*plugin, *users, *concurrency, *rounds, *maxRatio); err != nil {
		fmt.Fprintf(os.Stderr, "bench-import: %v\n", err)
		os.Exit(1)
	}
}

func run(plugin string, n, concurrency, rounds int, maxRatio float64) error {
	plugin, err := filepath.Abs(plugin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(plugin); err != nil {
		return fmt.Errorf("%w: build it with 'make build-plugin'", err)
	}
	env, err := envtestutil.NewEnvironment()
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = env.Start()
	if err != nil {
		return fmt.Errorf("starting the API server: %w", err)
	}
	defer func() { _ = env.Stop() }()
	k8sVersion, _ := envtestutil.K8sVersion()
	fmt.Printf("local kube-apiserver and etcd %s started in %s\n", k8sVersion, time.Since(start).Round(time.Millisecond))

	admin, err := env.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return err
	}
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte(exportCSV(n)), 0o600); err != nil {
		return err
	}

	bareCfg := rest.CopyConfig(admin.Config())
	bareCfg.QPS = -1 // as the plugin: no client-side rate limit
	c, err := client.New(bareCfg, client.Options{Scheme: scheme()})
	if err != nil {
		return err
	}
	ctx := context.Background()

	var bare, plug []time.Duration
	for r := range rounds {
		order := []string{"bare", "plugin"}
		if r%2 == 1 {
			order = []string{"plugin", "bare"}
		}
		for _, which := range order {
			ns := fmt.Sprintf("%s-%d", which, r)
			if err := tenant(ctx, c, ns); err != nil {
				return err
			}
			// Start each measurement with a clean heap: the count of the
			// previous namespace's users must not leave garbage for the
			// bare client's process to collect while it is timed.
			runtime.GC()
			debug.FreeOSMemory()
			var d time.Duration
			if which == "bare" {
				d, err = bareApply(ctx, c, ns, n, concurrency)
				bare = append(bare, d)
			} else {
				d, err = pluginApply(plugin, kubeconfig, csv, ns, concurrency)
				plug = append(plug, d)
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, which, err)
			}
			count, err := countUsers(ctx, c, ns)
			if err != nil {
				return err
			}
			if count != n {
				return fmt.Errorf("round %d, %s: %d users stored, want %d", r+1, which, count, n)
			}
			fmt.Printf("round %d  %-6s  %6d users in %8s  (%.0f users/s)\n", r+1, which, n, d.Round(time.Millisecond), float64(n)/d.Seconds())
		}
	}
	mb, mp := median(bare), median(plug)
	ratio := mp.Seconds() / mb.Seconds()
	verdict := "meets"
	if ratio > maxRatio {
		verdict = "MISSES"
	}
	fmt.Printf("bench-import: %d users, concurrency %d, %d rounds: bare client median %s, kubectl license import --apply median %s: ratio %.2f (%s the target <= %.2f)\n",
		n, concurrency, rounds, mb.Round(time.Millisecond), mp.Round(time.Millisecond), ratio, verdict, maxRatio)
	return nil
}

// exportCSV is n users in the admin center's export format.
func exportCSV(n int) string {
	var b strings.Builder
	b.WriteString("\ufeffDisplay name,Licenses,Usage location,User principal name,When created\r\n")
	for i := range n {
		fmt.Fprintf(&b, "User %d,contoso:SPE_E3,US,%s,1/15/2025 8:00:00 AM\r\n", i, upn(i))
	}
	return b.String()
}

func upn(i int) string  { return fmt.Sprintf("user%06d@contoso.com", i) }
func name(i int) string { return fmt.Sprintf("user%06d", i) }

// tenant creates namespace ns with the SKU the users get.
func tenant(ctx context.Context, c client.Client, ns string) error {
	n := &unstructured.Unstructured{}
	n.SetAPIVersion("v1")
	n.SetKind("Namespace")
	n.SetName(ns)
	if err := c.Create(ctx, n); err != nil {
		return err
	}
	return c.Create(ctx, &licv1.LicenseSku{
		ObjectMeta: objectMeta("e3", ns),
		Spec:       licv1.LicenseSkuSpec{SkuPartNumber: "SPE_E3", Subscriptions: []licv1.Subscription{{Name: "main", Seats: 10000000}}},
	})
}

// bareApply server-side applies the users the plugin would write, with
// concurrency writers.
func bareApply(ctx context.Context, c client.Client, ns string, n, concurrency int) (time.Duration, error) {
	start := time.Now()
	err := harness.Parallel(n, concurrency, func(i int) error {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": licv1.GroupVersion.String(),
			"kind":       "UserLicense",
			"metadata":   map[string]any{"name": name(i), "namespace": ns},
			"spec": map[string]any{
				"userPrincipalName": upn(i),
				"usageLocation":     "US",
				"licenses":          []any{map[string]any{"sku": "e3"}},
			},
		}}
		return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("bench-bare"))
	})
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// pluginApply runs kubectl license import --apply of the CSV.
func pluginApply(plugin, kubeconfig, csv, ns string, concurrency int) (time.Duration, error) {
	cmd := exec.Command(plugin, "import", csv, "-n", ns, "--tenant", "contoso", "--apply",
		"--concurrency", fmt.Sprint(concurrency), "--kubeconfig", kubeconfig)
	var stderr strings.Builder
	cmd.Stdout = nil // the 10,000 result lines are written to /dev/null
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Summary: ") {
		return 0, fmt.Errorf("no summary:\n%s", stderr.String())
	}
	return d, nil
}

// countUsers counts the UserLicenses of ns (metadata only, in pages).
func countUsers(ctx context.Context, c client.Client, ns string) (int, error) {
	n, cont := 0, ""
	for {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(licv1.GroupVersion.WithKind("UserLicenseList"))
		if err := c.List(ctx, list, client.InNamespace(ns), client.Limit(1000), client.Continue(cont)); err != nil {
			return 0, err
		}
		n += len(list.Items)
		if cont = list.Continue; cont == "" {
			return n, nil
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func objectMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns}
}

func scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	utilruntime.Must(licv1.AddToScheme(s))
	return s
}
