// Command bench-e2e measures license-operator end to end against a local
// control plane, side by side with the physical floor of the same API
// server, and prints ratios measured in one run (absolute times drift on a
// shared machine; ratios much less so).
//
//	go run ./hack/bench-e2e -sizes 2000,10000 -idle 60s
//
// For each size N it starts a fresh kube-apiserver + etcd (the binaries
// hack/build-envtest.sh builds, with --max-requests-inflight and
// --max-mutating-requests-inflight raised as Kueue's performance harness
// does), then measures:
//
//   - floor B(N): a bare client patching the status of N pre-created
//     UserLicenses, best of 16/32/64 workers, no client-side rate limit;
//   - cold T(N): N users, 200 groups, 20 SKUs created, then the real
//     bin/manager started: time until every status is converged;
//   - write amplification: status writes issued / objects whose status changed;
//   - idle writes: mutating requests over -idle after convergence, and after
//     a manager restart;
//   - fan-out: one LicenseGroup change flipping all N users, time / B(N);
//   - latency under load: while fan-outs converge, one user's direct license
//     is changed; time until its status shows it (p99 over -tries);
//   - memory: manager heap (after a forced GC) and RSS; marginal heap per
//     user between the two largest sizes.
//
// Then, each on a fresh control plane (scenarios.go):
//
//   - fairness (-fair 4x5000): four large tenants converge cold at once
//     while a 10-user tenant changes; p99 of its changes;
//   - many tenants (-tenants 1000x50): cold convergence of 1,000 small
//     tenants against the floor of the very same statuses.
//
// The last line is machine-readable:
//
//	ratio cold_10000=... fanout_10000=... amplification=... idle_writes=... single_user_p99_ms=... heap_per_user_bytes=... fair_p99_ms=... tenants_1000x50=...
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
	"github.com/licenseops/license-operator/test/harness"
)

const benchNS = "bench"

var (
	sizesFlag   = flag.String("sizes", "2000,10000", "comma-separated user counts")
	idleFlag    = flag.Duration("idle", 60*time.Second, "quiet period over which idle writes are counted (after convergence and after a restart)")
	triesFlag   = flag.Int("tries", 20, "single-user changes timed under fan-out load")
	groupsFlag  = flag.Int("groups", 200, "LicenseGroups per tenant")
	skusFlag    = flag.Int("skus", 20, "LicenseSkus per tenant")
	writersFlag = flag.Int("manager-writes", 16, "--max-concurrent-writes of the manager under test")
	eventsFlag  = flag.Bool("events", true, "--record-events of the manager under test")
	floorFlag   = flag.String("floor-workers", "16,32,64", "worker counts tried for the floor (the best is kept)")
	managerFlag = flag.String("manager", "bin/manager", "manager binary to run")
	verbose     = flag.Bool("v", false, "stream the manager's log to stderr")
	profileDir  = flag.String("profile-dir", "", "if set, write to this directory CPU profiles of the manager taken during the cold convergence and the fan-out, and its heap profile")
	qpsFlag     = flag.Float64("qps", -1, "--kube-api-qps of the manager under test (-1: no client-side limit, the manager's default)")
	fairFlag    = flag.String("fair", "4x5000", "fairness scenario: <tenants>x<users> large tenants converging cold at once while a 10-user tenant changes (\"\" to skip)")
	extraFlag   = flag.String("manager-args", "", "more arguments for the manager under test, space-separated (e.g. \"--zap-log-level=debug\" with -v)")
	tenantsFlag = flag.String("tenants", "1000x50", "many-tenants scenario: <tenants>x<users> converging cold, against the floor of the same statuses (\"\" to skip)")
)

var (
	scheme       = runtime.NewScheme()
	floorWorkers []int
)

func main() {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	_ = clientgoscheme.AddToScheme(scheme)
	_ = licv1.AddToScheme(scheme)

	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatalf("-sizes: %q is not a positive number", s)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	for _, s := range strings.Split(*floorFlag, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || w <= 0 {
			fatalf("-floor-workers: %q is not a positive number", s)
		}
		floorWorkers = append(floorWorkers, w)
	}

	results := make([]*sizeResult, 0, len(sizes))
	for _, n := range sizes {
		r, err := runSize(n)
		if err != nil {
			fatalf("N=%d: %v", n, err)
		}
		results = append(results, r)
	}
	var figures []string
	if *fairFlag != "" {
		tenants, users := shape("-fair", *fairFlag)
		first, p99, err := runFair(tenants, users)
		if err != nil {
			report(results, figures)
			fatalf("fairness %dx%d: %v", tenants, users, err)
		}
		figures = append(figures, fmt.Sprintf("fair_p99_ms=%d fair_first_ms=%d", p99.Milliseconds(), first.Milliseconds()))
	}
	if *tenantsFlag != "" {
		tenants, users := shape("-tenants", *tenantsFlag)
		ratio, err := runTenants(tenants, users)
		if err != nil {
			report(results, figures)
			fatalf("tenants %dx%d: %v", tenants, users, err)
		}
		figures = append(figures, fmt.Sprintf("tenants_%dx%d=%.2f", tenants, users, ratio))
	}
	report(results, figures)
}

// shape parses <tenants>x<users>.
func shape(name, v string) (tenants, users int) {
	a, b, ok := strings.Cut(v, "x")
	t, err1 := strconv.Atoi(a)
	u, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || t <= 0 || u <= 0 {
		fatalf("%s: %q is not <tenants>x<users>", name, v)
	}
	return t, u
}

type sizeResult struct {
	n             int
	floor         time.Duration
	floorWorkers  int
	floorAfter    time.Duration // the floor measured right after the fan-out
	cold          time.Duration
	fanout        time.Duration
	amplification float64
	idleWrites    int
	restartWrites int
	p99           time.Duration
	p50           time.Duration
	heap          float64
	rss           float64
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-e2e: "+format+"\n", args...)
	os.Exit(1)
}

// controlPlane is a fresh kube-apiserver and etcd (the binaries
// hack/build-envtest.sh builds), with --max-requests-inflight and
// --max-mutating-requests-inflight raised as Kueue's performance harness
// does, a client without rate limit and a kubeconfig for the manager.
type controlPlane struct {
	cfg        *rest.Config
	c          client.Client
	kubeconfig string
	stop       func()
}

func startControlPlane() (*controlPlane, error) {
	env, err := envtestutil.NewEnvironment()
	if err != nil {
		return nil, err
	}
	api := env.ControlPlane.GetAPIServer()
	api.Configure().
		Set("max-requests-inflight", "3000").
		Set("max-mutating-requests-inflight", "1500")
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting control plane: %w", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Timeout = 2 * time.Minute
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	kubeconfig := filepath.Join(os.TempDir(), fmt.Sprintf("bench-e2e-%d.kubeconfig", os.Getpid()))
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &controlPlane{cfg: cfg, c: c, kubeconfig: kubeconfig, stop: func() {
		_ = env.Stop()
		_ = os.Remove(kubeconfig)
	}}, nil
}

// ---------------------------------------------------------------------------
// One size: fresh control plane, floor, cold convergence, idle, restart,
// fan-out with single-user latency, memory.

func runSize(n int) (*sizeResult, error) {
	logf("N=%d: starting control plane", n)
	cp, err := startControlPlane()
	if err != nil {
		return nil, err
	}
	defer cp.stop()
	cfg, c, kubeconfig := cp.cfg, cp.c, cp.kubeconfig
	ctx := context.Background()
	res := &sizeResult{n: n}

	// Floor, in a namespace the manager does not watch.
	if err := createNamespace(ctx, c, "floor"); err != nil {
		return nil, err
	}
	logf("N=%d: creating %d users for the floor", n, n)
	if err := harness.Parallel(n, 64, func(i int) error {
		return harness.Create(ctx, c, floorUser("floor", i))
	}); err != nil {
		return nil, err
	}
	floorUsers := &licv1.UserLicenseList{}
	if err := c.List(ctx, floorUsers, client.InNamespace("floor")); err != nil {
		return nil, err
	}
	// The tenant.
	if err := createNamespace(ctx, c, benchNS); err != nil {
		return nil, err
	}
	logf("N=%d: creating %d SKUs, %d groups, %d users", n, *skusFlag, *groupsFlag, n)
	if err := createTenant(ctx, c, benchNS, n); err != nil {
		return nil, err
	}
	tr, err := newTracker(ctx, cfg, benchNS)
	if err != nil {
		return nil, err
	}
	defer tr.stop()
	objects := n + *skusFlag + 3 + *groupsFlag + 1 // + fan-a, fan-b, solo and the fan-out group

	// Cold convergence: manager started on the existing objects.
	logf("N=%d: starting the manager (cold)", n)
	cpu0 := sampleCPU(0)
	start := time.Now()
	mgr, err := startManager(kubeconfig, benchNS)
	if err != nil {
		return nil, err
	}
	defer func() { mgr.stop() }()
	profiles(mgr, fmt.Sprintf("cold-%d", n))
	if err := harness.WaitFor(10*time.Minute, func() bool { return tr.converged(ctx, c, objects) }); err != nil {
		return nil, fmt.Errorf("cold convergence: %w", err)
	}
	res.cold = time.Since(start)
	logf("N=%d: cold convergence %v, %v", n, res.cold.Round(time.Millisecond), sampleCPU(mgr.pid()).sub(cpu0))
	m, err := mgr.metrics()
	if err != nil {
		return nil, err
	}
	res.amplification = m.Counter("license_operator_status_writes_total", nil) / float64(objects)
	logf("N=%d: %d plans, %.0f status writes (%.0f conflicts)", n, m.HistogramCount("license_operator_plan_duration_seconds", nil),
		m.Counter("license_operator_status_writes_total", nil), m.Counter("license_operator_status_writes_total", map[string]string{"result": "conflict"}))

	// Idle, once the events of the convergence are flushed: the recorder
	// posts them asynchronously after the statuses are written.
	settle := time.Now()
	if err := settled(mgr); err != nil {
		return nil, err
	}
	var evs eventsv1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(benchNS)); err != nil {
		return nil, err
	}
	m, err = mgr.metrics()
	if err != nil {
		return nil, err
	}
	logf("N=%d: events posted %v after convergence: %d in the namespace, %.0f dropped by the manager", n,
		time.Since(settle).Round(time.Millisecond), len(evs.Items), m.Counter("license_operator_events_dropped_total", nil))

	// Floor: the same statuses, written by a bare client to the floor
	// namespace's users, watched by the same tracker as the tenant (the
	// harness's own watch costs the API server the same on both sides; the
	// manager's watch of what it writes is part of what is measured).
	statuses := tr.statuses()
	floorTracker, err := newTracker(ctx, cfg, "floor")
	if err != nil {
		return nil, err
	}
	logf("N=%d: status JSON: %s", n, statusSizes(statuses))
	for round, workers := range floorWorkers {
		cpu0 := sampleCPU(0)
		d, err := floorWrite(ctx, c, floorUsers.Items, statuses, workers, round)
		if err != nil {
			return nil, err
		}
		logf("N=%d: floor with %d workers: %v (%.0f writes/s), %v", n, workers, d.Round(time.Millisecond), float64(n)/d.Seconds(), sampleCPU(0).sub(cpu0))
		if res.floor == 0 || d < res.floor {
			res.floor, res.floorWorkers = d, workers
		}
	}
	floorTracker.stop()
	if m, err = mgr.metrics(); err != nil {
		return nil, err
	}
	before := m.Mutations()
	logf("N=%d: idle for %v", n, *idleFlag)
	time.Sleep(*idleFlag)
	if m, err = mgr.metrics(); err != nil {
		return nil, err
	}
	res.idleWrites = int(m.Mutations() - before)

	// Restart: a new process plans everything from its cold cache.
	mgr.stop()
	logf("N=%d: restarting the manager, idle for %v", n, *idleFlag)
	if mgr, err = startManager(kubeconfig, benchNS); err != nil {
		return nil, err
	}
	if err := harness.WaitFor(5*time.Minute, func() bool {
		m, err := mgr.metrics()
		return err == nil && m.HistogramCount("license_operator_plan_duration_seconds", nil) > 0
	}); err != nil {
		return nil, fmt.Errorf("manager did not plan after restart: %w", err)
	}
	time.Sleep(*idleFlag)
	if m, err = mgr.metrics(); err != nil {
		return nil, err
	}
	res.restartWrites = int(m.Mutations())

	// Memory, converged and idle, after a forced GC.
	if res.heap, res.rss, err = mgr.memory(); err != nil {
		return nil, err
	}
	logf("N=%d: heap %.1f MiB, RSS %.1f MiB", n, res.heap/(1<<20), res.rss/(1<<20))

	// Fan-out: one group change flips every user; single-user changes
	// are timed while it converges.
	cpu0 = sampleCPU(mgr.pid())
	profiles(mgr, fmt.Sprintf("fanout-%d", n))
	m0, err := mgr.metrics()
	if err != nil {
		return nil, err
	}
	res.fanout, res.p50, res.p99, err = fanout(ctx, c, tr, n, func() string {
		s := sampleCPU(mgr.pid()).sub(cpu0).String()
		if m, err := mgr.metrics(); err == nil {
			s += fmt.Sprintf(", %d plans, %.0f status writes", m.HistogramCount("license_operator_plan_duration_seconds", nil)-m0.HistogramCount("license_operator_plan_duration_seconds", nil),
				m.Counter("license_operator_status_writes_total", nil)-m0.Counter("license_operator_status_writes_total", nil))
		}
		return s
	})
	if err != nil {
		return nil, err
	}

	// The floor again, now: the same API server after the fan-out (and
	// the history of every write before it), with the best worker count.
	// The fan-out is compared with the floor measured right after it, as
	// the cold start is with the floor measured right after it.
	if err := settled(mgr); err != nil {
		return nil, err
	}
	floorTracker, err = newTracker(ctx, cfg, "floor")
	if err != nil {
		return nil, err
	}
	cpu0 = sampleCPU(0)
	d, err := floorWrite(ctx, c, floorUsers.Items, statuses, res.floorWorkers, len(floorWorkers))
	floorTracker.stop()
	if err != nil {
		return nil, err
	}
	res.floorAfter = d
	logf("N=%d: floor after the fan-out, %d workers: %v (%.0f writes/s), %v", n, res.floorWorkers, d.Round(time.Millisecond), float64(n)/d.Seconds(), sampleCPU(0).sub(cpu0))
	return res, nil
}

func createNamespace(ctx context.Context, c client.Client, name string) error {
	return harness.Create(ctx, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func floorUser(ns string, i int) *licv1.UserLicense {
	return &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u%06d", i), Namespace: ns},
		Spec:       licv1.UserLicenseSpec{UserPrincipalName: fmt.Sprintf("u%06d@contoso.com", i), UsageLocation: "DE"},
	}
}

// floorWrite writes to every floor user the status the manager converged
// the tenant's user of the same name to (the very bytes the manager wrote),
// with the same request the manager uses: an update of the status
// subresource at the read resourceVersion. Each round moves every
// lastTransitionTime by a second, so every write is a real change of the
// same size. It returns the wall time.
func floorWrite(ctx context.Context, c client.Client, users []licv1.UserLicense, statuses map[string]licv1.UserLicenseStatus, workers, round int) (time.Duration, error) {
	shift := metav1.NewTime(time.Now().Truncate(time.Second).Add(time.Duration(round) * time.Second))
	for i := range users {
		u := &users[i]
		st, ok := statuses[u.Name]
		if !ok {
			return 0, fmt.Errorf("no converged status for %s", u.Name)
		}
		st = *st.DeepCopy()
		st.ObservedGeneration = u.Generation
		for j := range st.Licenses {
			st.Licenses[j].LastTransitionTime = shift
		}
		for j := range st.Conditions {
			st.Conditions[j].ObservedGeneration = u.Generation
			st.Conditions[j].LastTransitionTime = shift
		}
		u.Status = st
	}
	start := time.Now()
	err := harness.Parallel(len(users), workers, func(i int) error {
		return c.Status().Update(ctx, &users[i])
	})
	return time.Since(start), err
}

// statusSizes describes the JSON size of the statuses.
func statusSizes(statuses map[string]licv1.UserLicenseStatus) string {
	total, largest := 0, 0
	for _, st := range statuses {
		b, _ := json.Marshal(st)
		total += len(b)
		largest = max(largest, len(b))
	}
	return fmt.Sprintf("%d statuses, %.0f bytes on average, %d at most", len(statuses), float64(total)/float64(max(1, len(statuses))), largest)
}

// createTenant makes, in namespace ns, 20 SKUs (one scarce), 200 groups
// (half by selector, half by name, ~5 memberships per user) and N users,
// plus the fan-out group and its two SKUs.
func createTenant(ctx context.Context, c client.Client, ns string, n int) error {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	nSkus, nGroups := *skusFlag, *groupsFlag
	var objs []client.Object
	for s := range nSkus {
		seats := int64(n)
		if s == 0 {
			seats = int64(n / 10) // one scarce SKU: users wait
		}
		sku := &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sku-%02d", s), Namespace: ns},
			Spec: licv1.LicenseSkuSpec{
				SkuPartNumber: fmt.Sprintf("PART_%02d", s),
				Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats}},
			},
		}
		for p := range 8 {
			sku.Spec.ServicePlans = append(sku.Spec.ServicePlans, licv1.ServicePlan{Name: fmt.Sprintf("PLAN_%02d_%d", s, p)})
		}
		objs = append(objs, sku)
	}
	for _, name := range []string{"fan-a", "fan-b", "solo"} {
		objs = append(objs, &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: licv1.LicenseSkuSpec{
				SkuPartNumber: strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
				Subscriptions: []licv1.Subscription{{Name: "main", Seats: int64(n)}},
				ServicePlans:  []licv1.ServicePlan{{Name: "PLAN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}},
			},
		})
	}
	// Explicit members: each user is named in ~2.5 of the named groups.
	named := make([][]string, nGroups/2)
	for i := range n {
		for range 2 + rng.IntN(2) {
			g := rng.IntN(len(named))
			named[g] = append(named[g], upn(i))
		}
	}
	for g := range nGroups {
		grp := &licv1.LicenseGroup{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("g%03d", g), Namespace: ns},
			Spec: licv1.LicenseGroupSpec{
				Priority: int32(g % 7),
				Licenses: []licv1.LicenseAssignment{{SKU: fmt.Sprintf("sku-%02d", g%nSkus)}},
			},
		}
		if g < len(named) {
			grp.Spec.Members = harness.Dedupe(named[g])
		} else {
			// Selector groups: label team=<k> of 40 teams, dept=<d> of 10.
			k := g - len(named)
			if k%2 == 0 {
				grp.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%02d", k/2%40)}}
			} else {
				grp.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"dept": fmt.Sprintf("d%d", k/2%10)}}
			}
		}
		objs = append(objs, grp)
	}
	objs = append(objs, &licv1.LicenseGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "fan-out", Namespace: ns},
		Spec: licv1.LicenseGroupSpec{
			MemberSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "yes"}},
			Licenses:       []licv1.LicenseAssignment{{SKU: "fan-a"}},
		},
	})
	if err := harness.Parallel(len(objs), 32, func(i int) error { return harness.Create(ctx, c, objs[i]) }); err != nil {
		return err
	}
	return harness.Parallel(n, 64, func(i int) error {
		u := &licv1.UserLicense{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("u%06d", i), Namespace: ns,
				Labels: map[string]string{"bench": "yes", "team": fmt.Sprintf("t%02d", i%40), "dept": fmt.Sprintf("d%d", i%10)},
			},
			Spec: licv1.UserLicenseSpec{UserPrincipalName: upn(i), UsageLocation: "DE"},
		}
		if i%5 == 0 {
			u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: fmt.Sprintf("sku-%02d", i%nSkus)}}
		}
		return harness.Create(ctx, c, u)
	})
}

func upn(i int) string { return fmt.Sprintf("u%06d@contoso.com", i) }

// fanout swaps the fan-out group's SKU back and forth until -tries single
// user changes have been timed, and returns the first fan-out's time.
func fanout(ctx context.Context, c client.Client, tr *tracker, n int, cpu func() string) (first, p50, p99 time.Duration, err error) {
	target := "fan-b"
	swap := func() error {
		g := &licv1.LicenseGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: benchNS, Name: "fan-out"}, g); err != nil {
			return err
		}
		orig := g.DeepCopy()
		g.Spec.Licenses = []licv1.LicenseAssignment{{SKU: target}}
		return c.Patch(ctx, g, client.MergeFrom(orig))
	}
	logf("N=%d: fan-out: swapping the group's SKU for all %d users", n, n)
	start := time.Now()
	if err := swap(); err != nil {
		return 0, 0, 0, err
	}
	done := tr.countWhere(holds(target), n)

	rng := rand.New(rand.NewPCG(7, uint64(n)))
	var lat []time.Duration
	for len(lat) < *triesFlag {
		select {
		case <-done:
			if first == 0 {
				first = time.Since(start)
				logf("N=%d: fan-out converged in %v, %s", n, first.Round(time.Millisecond), cpu())
			}
			// Keep the system under load for the remaining tries.
			if target == "fan-b" {
				target = "fan-a"
			} else {
				target = "fan-b"
			}
			if err := swap(); err != nil {
				return 0, 0, 0, err
			}
			done = tr.countWhere(holds(target), n)
		default:
		}
		d, err := probe(ctx, c, tr, benchNS, fmt.Sprintf("u%06d", rng.IntN(n)))
		if err != nil {
			return 0, 0, 0, err
		}
		lat = append(lat, d)
		time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
	}
	if first == 0 {
		select {
		case <-done:
			first = time.Since(start)
			logf("N=%d: fan-out converged in %v (after the tries), %s", n, first.Round(time.Millisecond), cpu())
		case <-time.After(10 * time.Minute):
			return 0, 0, 0, errors.New("fan-out did not converge")
		}
	}
	p50, p99 = percentiles(lat)
	logf("N=%d: single-user latency under fan-out: p50 %v, p99 %v over %d tries", n, p50.Round(time.Millisecond), p99.Round(time.Millisecond), len(lat))
	return first, p50, p99, nil
}

// holds tells whether a user holds sku (Active).
func holds(sku string) func(*licv1.UserLicense) bool {
	return func(u *licv1.UserLicense) bool {
		for _, l := range u.Status.Licenses {
			if l.SKU == sku && l.State == licv1.LicenseStateActive {
				return true
			}
		}
		return false
	}
}

// probe toggles the direct "solo" license of one user (ns/name, followed by
// tr) and returns the time until its status shows the change.
func probe(ctx context.Context, c client.Client, tr *tracker, ns, name string) (time.Duration, error) {
	u := &licv1.UserLicense{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		return 0, err
	}
	orig := u.DeepCopy()
	want := !holds("solo")(u)
	if want {
		u.Spec.Licenses = append(u.Spec.Licenses, licv1.LicenseAssignment{SKU: "solo"})
	} else {
		u.Spec.Licenses = slices.DeleteFunc(u.Spec.Licenses, func(a licv1.LicenseAssignment) bool { return a.SKU == "solo" })
	}
	seen := tr.waitUser(name, func(u *licv1.UserLicense) bool { return holds("solo")(u) == want })
	t0 := time.Now()
	if err := c.Patch(ctx, u, client.MergeFrom(orig)); err != nil {
		return 0, err
	}
	select {
	case <-seen:
		return time.Since(t0), nil
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("user %s/%s never showed its change", ns, name)
	}
}

// percentiles returns the median and the 99th percentile (nearest rank).
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, (len(lat)*99+99)/100-1)]
}

// ---------------------------------------------------------------------------
// The tracker follows every UserLicense of the tenant through an informer.

type tracker struct {
	ns      string // "" for all namespaces
	cancel  context.CancelFunc
	mu      sync.Mutex
	users   map[string]*licv1.UserLicense
	waiters []*waiter
}

type waiter struct {
	name  string // one user, or "" for a count
	pred  func(*licv1.UserLicense) bool
	count int // wanted, for a count
	n     int // users satisfying pred now, maintained incrementally
	done  chan struct{}
}

// newTracker follows the UserLicenses of a namespace ("" for all
// namespaces; users are then keyed namespace/name).
func newTracker(ctx context.Context, cfg *rest.Config, namespace string) (*tracker, error) {
	ctx, cancel := context.WithCancel(ctx)
	opts := cache.Options{Scheme: scheme}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	ca, err := cache.New(cfg, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	t := &tracker{ns: namespace, cancel: cancel, users: map[string]*licv1.UserLicense{}}
	inf, err := ca.GetInformer(ctx, &licv1.UserLicense{})
	if err != nil {
		cancel()
		return nil, err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.update(o) },
		UpdateFunc: func(_, o any) { t.update(o) },
		DeleteFunc: func(o any) {},
	})
	if err != nil {
		cancel()
		return nil, err
	}
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		cancel()
		return nil, errors.New("tracker cache did not sync")
	}
	return t, nil
}

func (t *tracker) stop() { t.cancel() }

// statuses returns the current status of every user, by name.
func (t *tracker) statuses() map[string]licv1.UserLicenseStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]licv1.UserLicenseStatus, len(t.users))
	for name, u := range t.users {
		m[name] = u.Status
	}
	return m
}

func (t *tracker) update(o any) {
	u, ok := o.(*licv1.UserLicense)
	if !ok {
		return
	}
	key := u.Name
	if t.ns == "" {
		key = u.Namespace + "/" + u.Name
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.users[key]
	t.users[key] = u
	for _, w := range t.waiters {
		if w.name != "" {
			continue
		}
		if old != nil && w.pred(old) {
			w.n--
		}
		if w.pred(u) {
			w.n++
		}
	}
	t.check()
}

// check closes satisfied waiters; t.mu held.
func (t *tracker) check() {
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		ok := false
		if w.name != "" {
			u := t.users[w.name]
			ok = u != nil && w.pred(u)
		} else {
			ok = w.n >= w.count
		}
		if ok {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	t.waiters = kept
}

func (t *tracker) add(w *waiter) <-chan struct{} {
	w.done = make(chan struct{})
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.name == "" {
		for _, u := range t.users {
			if w.pred(u) {
				w.n++
			}
		}
	}
	t.waiters = append(t.waiters, w)
	t.check()
	return w.done
}

func (t *tracker) waitUser(name string, pred func(*licv1.UserLicense) bool) <-chan struct{} {
	return t.add(&waiter{name: name, pred: pred})
}

func (t *tracker) countWhere(pred func(*licv1.UserLicense) bool, n int) <-chan struct{} {
	return t.add(&waiter{pred: pred, count: n})
}

// converged: every user planned at its generation, and every group and SKU
// too (listed directly: they are few), objects in all.
func (t *tracker) converged(ctx context.Context, c client.Client, objects int) bool {
	t.mu.Lock()
	users := 0
	for _, u := range t.users {
		if harness.Planned(u.Generation, u.Status.ObservedGeneration, u.Status.Conditions) {
			users++
		}
	}
	total := len(t.users)
	t.mu.Unlock()
	if users != total {
		return false
	}
	var skus licv1.LicenseSkuList
	var groups licv1.LicenseGroupList
	if c.List(ctx, &skus, client.InNamespace(t.ns)) != nil || c.List(ctx, &groups, client.InNamespace(t.ns)) != nil {
		return false
	}
	if total+len(skus.Items)+len(groups.Items) != objects {
		return false
	}
	for _, s := range skus.Items {
		if !harness.Planned(s.Generation, s.Status.ObservedGeneration, s.Status.Conditions) {
			return false
		}
	}
	for _, g := range groups.Items {
		if !harness.Planned(g.Generation, g.Status.ObservedGeneration, g.Status.Conditions) {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// The manager under test: the real binary (harness.Manager), metrics over
// plain HTTP on loopback, pprof for a forced GC before reading the heap.

type managerProc struct{ *harness.Manager }

// startManager runs the manager on the given comma-separated namespaces
// ("" for all).
func startManager(kubeconfig, namespaces string) (*managerProc, error) {
	var out io.Writer
	if *verbose {
		out = os.Stderr
	}
	m, err := harness.StartManager("manager", *managerFlag, harness.ManagerOptions{
		Kubeconfig: kubeconfig,
		Namespaces: namespaces,
		Pprof:      true,
		Args: append([]string{
			fmt.Sprintf("--kube-api-qps=%g", *qpsFlag),
			fmt.Sprintf("--max-concurrent-writes=%d", *writersFlag),
			fmt.Sprintf("--record-events=%t", *eventsFlag),
		}, strings.Fields(*extraFlag)...),
		Output: out,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (run 'make build' first)", err)
	}
	return &managerProc{m}, nil
}

func (p *managerProc) metrics() (harness.Metrics, error) { return p.Metrics() }

func (p *managerProc) pid() int { return p.Pid() }

func (p *managerProc) stop() { _ = p.Stop(20 * time.Second) }

// memory forces a GC through pprof, then reads heap and RSS.
func (p *managerProc) memory() (heap, rss float64, err error) {
	resp, err := http.Get("http://" + p.PprofAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		return 0, 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if *profileDir != "" {
		_ = os.WriteFile(filepath.Join(*profileDir, fmt.Sprintf("heap-%d.pprof", time.Now().Unix())), b, 0o644)
	}
	m, err := p.metrics()
	if err != nil {
		return 0, 0, err
	}
	return m.Gauge("go_memstats_heap_alloc_bytes", nil), m.Gauge("process_resident_memory_bytes", nil), nil
}

// profiles starts a CPU profile of the manager in the background when
// -profile-dir is set.
func profiles(mgr *managerProc, name string) {
	if *profileDir == "" {
		return
	}
	const seconds = "8"
	go func() {
		resp, err := http.Get("http://" + mgr.PprofAddr + "/debug/pprof/profile?seconds=" + seconds)
		if err != nil {
			logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_ = os.WriteFile(filepath.Join(*profileDir, name+"-manager.pprof"), b, 0o644)
	}()
}

// ---------------------------------------------------------------------------

// settled waits until the manager's mutating requests stay constant for 3s.
func settled(mgr *managerProc) error {
	last, stable := -1.0, time.Now()
	return harness.WaitFor(5*time.Minute, func() bool {
		m, err := mgr.metrics()
		if err != nil {
			return false
		}
		if cur := m.Mutations(); cur != last {
			last, stable = cur, time.Now()
		}
		return time.Since(stable) >= 3*time.Second
	})
}

func report(rs []*sizeResult, figures []string) {
	fmt.Println()
	var parts []string
	if len(rs) > 0 {
		fmt.Printf("%-8s %10s %10s %8s %10s %10s %8s %8s %8s %6s %6s %9s %9s %9s %9s\n",
			"users", "floor B", "cold T", "T/B", "floor B'", "fan-out", "F/B'", "F/B", "ampl", "idle", "restart", "p50", "p99", "heap MiB", "RSS MiB")
		for _, r := range rs {
			fmt.Printf("%-8d %10s %10s %8.2f %10s %10s %8.2f %8.2f %8.3f %6d %6d %9s %9s %9.1f %9.1f\n",
				r.n, r.floor.Round(time.Millisecond), r.cold.Round(time.Millisecond), r.cold.Seconds()/r.floor.Seconds(),
				r.floorAfter.Round(time.Millisecond), r.fanout.Round(time.Millisecond), r.fanout.Seconds()/r.floorAfter.Seconds(),
				r.fanout.Seconds()/r.floor.Seconds(), r.amplification,
				r.idleWrites, r.restartWrites, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond),
				r.heap/(1<<20), r.rss/(1<<20))
		}
		fmt.Println()
		last := rs[len(rs)-1]
		perUser := last.heap / float64(last.n)
		if len(rs) > 1 {
			prev := rs[len(rs)-2]
			perUser = (last.heap - prev.heap) / float64(last.n-prev.n)
		}
		maxAmp, idle, p99 := 0.0, 0, time.Duration(0)
		for _, r := range rs {
			parts = append(parts, fmt.Sprintf("cold_%d=%.2f fanout_%d=%.2f fanout_first_floor_%d=%.2f", r.n, r.cold.Seconds()/r.floor.Seconds(),
				r.n, r.fanout.Seconds()/r.floorAfter.Seconds(), r.n, r.fanout.Seconds()/r.floor.Seconds()))
			maxAmp = max(maxAmp, r.amplification)
			idle = max(idle, r.idleWrites, r.restartWrites)
			p99 = max(p99, r.p99)
		}
		parts = append(parts, fmt.Sprintf("amplification=%.3f idle_writes=%d single_user_p99_ms=%d heap_per_user_bytes=%.0f",
			maxAmp, idle, p99.Milliseconds(), perUser))
	}
	fmt.Printf("ratio %s\n", strings.Join(append(parts, figures...), " "))
}
