package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/test/harness"
)

// smallNS is the small tenant of the fairness scenario.
const smallNS = "small"

// runFair measures fairness across tenants: k tenants of n users (the
// shape of the size runs) and a 10-user tenant are created, then the
// manager is started on all of them, so the k large tenants converge cold at
// once, as after a restart of a CSP's manager. While they converge, one
// user of the small tenant at a time changes (its direct "solo" license
// toggled, 100-300 ms apart); the figure is the p99 of the time until its
// status shows the change, over the changes made before the large tenants
// converged. first is the time from the manager's start until the small
// tenant converged: its cold plan waits for no large tenant's writes.
func runFair(k, n int) (first, p99 time.Duration, err error) {
	logf("fair %dx%d: starting control plane", k, n)
	cp, err := startControlPlane()
	if err != nil {
		return 0, 0, err
	}
	defer cp.stop()
	ctx, c := context.Background(), cp.c

	var namespaces []string
	for i := range k {
		ns := fmt.Sprintf("big-%d", i)
		logf("fair %dx%d: creating tenant %s", k, n, ns)
		if err := createNamespace(ctx, c, ns); err != nil {
			return 0, 0, err
		}
		if err := createTenant(ctx, c, ns, n); err != nil {
			return 0, 0, err
		}
		namespaces = append(namespaces, ns)
	}
	if err := createNamespace(ctx, c, smallNS); err != nil {
		return 0, 0, err
	}
	const smallUsers = 10
	if err := createSmallTenant(ctx, c, smallNS, smallUsers); err != nil {
		return 0, 0, err
	}
	small, err := newTracker(ctx, cp.cfg, smallNS)
	if err != nil {
		return 0, 0, err
	}
	defer small.stop()
	var bigs []*tracker
	for _, ns := range namespaces {
		t, err := newTracker(ctx, cp.cfg, ns)
		if err != nil {
			return 0, 0, err
		}
		defer t.stop()
		bigs = append(bigs, t)
	}
	bigObjects := n + *skusFlag + 3 + *groupsFlag + 1
	bigConverged := func() bool {
		for _, t := range bigs {
			if !t.converged(ctx, c, bigObjects) {
				return false
			}
		}
		return true
	}

	logf("fair %dx%d: starting the manager on all %d tenants (cold)", k, n, k+1)
	cpu0 := sampleCPU(0)
	start := time.Now()
	mgr, err := startManager(cp.kubeconfig, strings.Join(append(namespaces, smallNS), ","))
	if err != nil {
		return 0, 0, err
	}
	defer mgr.stop()
	if err := harness.WaitFor(10*time.Minute, func() bool { return small.converged(ctx, c, smallUsers+3) }); err != nil {
		return 0, 0, fmt.Errorf("small tenant: %w", err)
	}
	first = time.Since(start)
	logf("fair %dx%d: the small tenant converged %v after the start", k, n, first.Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(11, uint64(n)))
	var lat []time.Duration
	var cold time.Duration
	for cold == 0 {
		if bigConverged() {
			cold = time.Since(start)
			break
		}
		d, err := probe(ctx, c, small, smallNS, fmt.Sprintf("s%02d", rng.IntN(smallUsers)))
		if err != nil {
			return 0, 0, err
		}
		lat = append(lat, d)
		if time.Since(start) > 30*time.Minute {
			return 0, 0, errors.New("the large tenants did not converge in 30 min")
		}
		time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
	}
	if len(lat) < 10 {
		return 0, 0, fmt.Errorf("only %d changes timed before the large tenants converged: too few for a p99", len(lat))
	}
	p50, p99 := percentiles(lat)
	m, err := mgr.metrics()
	if err != nil {
		return 0, 0, err
	}
	logf("fair %dx%d: %d large tenants converged in %v, %s; %d plans, %.0f status writes, yields: %.0f to other tenants, %.0f to newer changes",
		k, n, k, cold.Round(time.Millisecond), sampleCPU(mgr.pid()).sub(cpu0), m.HistogramCount("license_operator_plan_duration_seconds", nil),
		m.Counter("license_operator_status_writes_total", nil),
		m.Counter("license_operator_plan_yields_total", map[string]string{"reason": "fairness"}),
		m.Counter("license_operator_plan_yields_total", map[string]string{"reason": "changed"}))
	logf("fair %dx%d: the 10-user tenant's changes meanwhile: p50 %v, p99 %v, max %v over %d changes", k, n,
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
	return first, p99, nil
}

// createSmallTenant makes a tenant of n users (s00, s01, ...): SKU e3 for
// everyone through a selector group, and SKU solo, which the probe assigns
// directly.
func createSmallTenant(ctx context.Context, c client.Client, ns string, n int) error {
	objs := []client.Object{
		benchSku(ns, "e3", "SPE_E3", int64(n), 8),
		benchSku(ns, "solo", "SOLO", int64(n), 1),
		&licv1.LicenseGroup{
			ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: ns},
			Spec: licv1.LicenseGroupSpec{
				MemberSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "yes"}},
				Licenses:       []licv1.LicenseAssignment{{SKU: "e3"}},
			},
		},
	}
	for i := range n {
		objs = append(objs, &licv1.UserLicense{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%02d", i), Namespace: ns, Labels: map[string]string{"bench": "yes"}},
			Spec:       licv1.UserLicenseSpec{UserPrincipalName: fmt.Sprintf("s%02d@small.example", i), UsageLocation: "DE"},
		})
	}
	return harness.Parallel(len(objs), 8, func(i int) error { return harness.Create(ctx, c, objs[i]) })
}

func benchSku(ns, name, part string, seats int64, plans int) *licv1.LicenseSku {
	s := &licv1.LicenseSku{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: licv1.LicenseSkuSpec{
			SkuPartNumber: part,
			Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats}},
		},
	}
	for p := range plans {
		s.Spec.ServicePlans = append(s.Spec.ServicePlans, licv1.ServicePlan{Name: fmt.Sprintf("%s_PLAN_%d", part, p)})
	}
	return s
}

// runTenants measures many small tenants: k tenants of n users each
// (3 SKUs, one scarce; 3 groups, two by selector, one by name; a tenth of
// the users with a direct license) are created, then the manager is started
// on the whole cluster: T is the time until every status of every tenant is
// planned. Then the manager is stopped and the floor B is measured: a bare
// client writes the very statuses the manager converged to (every
// UserLicense, LicenseGroup and LicenseSku, each moved by a second so every
// write is a real change) with the manager's request, best of
// -floor-workers. The figure is T/B.
func runTenants(k, n int) (float64, error) {
	logf("tenants %dx%d: starting control plane", k, n)
	cp, err := startControlPlane()
	if err != nil {
		return 0, err
	}
	defer cp.stop()
	ctx, c := context.Background(), cp.c

	logf("tenants %dx%d: creating %d namespaces and %d objects", k, n, k, k*(n+6))
	if err := harness.Parallel(k, 32, func(i int) error { return createNamespace(ctx, c, tenantName(i)) }); err != nil {
		return 0, err
	}
	var objs []client.Object
	for i := range k {
		objs = append(objs, manyTenantObjects(tenantName(i), n)...)
	}
	if err := harness.Parallel(len(objs), 64, func(i int) error { return harness.Create(ctx, c, objs[i]) }); err != nil {
		return 0, err
	}
	objs = nil
	tr, err := newTracker(ctx, cp.cfg, "")
	if err != nil {
		return 0, err
	}
	defer tr.stop()
	total := k * (n + 6)

	logf("tenants %dx%d: starting the manager on the whole cluster (cold)", k, n)
	cpu0 := sampleCPU(0)
	start := time.Now()
	mgr, err := startManager(cp.kubeconfig, "")
	if err != nil {
		return 0, err
	}
	if err := harness.WaitFor(30*time.Minute, func() bool { return tr.converged(ctx, c, total) }); err != nil {
		mgr.stop()
		return 0, fmt.Errorf("cold convergence: %w", err)
	}
	cold := time.Since(start)
	m, err := mgr.metrics()
	if err != nil {
		mgr.stop()
		return 0, err
	}
	logf("tenants %dx%d: cold convergence %v, %s; %d plans, %.0f status writes for %d objects (%.0f conflicts), %.0f yields to other tenants",
		k, n, cold.Round(time.Millisecond), sampleCPU(mgr.pid()).sub(cpu0), m.HistogramCount("license_operator_plan_duration_seconds", nil),
		m.Counter("license_operator_status_writes_total", nil), total,
		m.Counter("license_operator_status_writes_total", map[string]string{"result": "conflict"}),
		m.Counter("license_operator_plan_yields_total", map[string]string{"reason": "fairness"}))
	mgr.stop()

	// The floor: the same statuses, written by a bare client.
	var users licv1.UserLicenseList
	var groups licv1.LicenseGroupList
	var skus licv1.LicenseSkuList
	for _, l := range []client.ObjectList{&users, &groups, &skus} {
		if err := c.List(ctx, l); err != nil {
			return 0, err
		}
	}
	var statuses []client.Object
	for i := range users.Items {
		statuses = append(statuses, &users.Items[i])
	}
	for i := range groups.Items {
		statuses = append(statuses, &groups.Items[i])
	}
	for i := range skus.Items {
		statuses = append(statuses, &skus.Items[i])
	}
	if len(statuses) != total {
		return 0, fmt.Errorf("listed %d objects, want %d", len(statuses), total)
	}
	var floor time.Duration
	for round, workers := range floorWorkers {
		cpu0 := sampleCPU(0)
		d, err := rewriteStatuses(ctx, c, statuses, workers, round+1)
		if err != nil {
			return 0, err
		}
		logf("tenants %dx%d: floor with %d workers: %v (%.0f writes/s), %v", k, n, workers, d.Round(time.Millisecond), float64(total)/d.Seconds(), sampleCPU(0).sub(cpu0))
		if floor == 0 || d < floor {
			floor = d
		}
	}
	ratio := cold.Seconds() / floor.Seconds()
	logf("tenants %dx%d: T %v, B %v, T/B %.2f", k, n, cold.Round(time.Millisecond), floor.Round(time.Millisecond), ratio)
	return ratio, nil
}

func tenantName(i int) string { return fmt.Sprintf("t%04d", i) }

// manyTenantObjects is one small tenant: SKUs e3 (a seat for everyone),
// scarce (three fifths of the four fifths asking for it) and addon; groups
// all (selector, e3), dept (selector, half the users, addon) and named (four
// fifths of the users by name, scarce); every tenth user has addon directly.
func manyTenantObjects(ns string, n int) []client.Object {
	named := make([]string, 0, n*4/5)
	for i := range n * 4 / 5 {
		named = append(named, fmt.Sprintf("u%03d@%s.example", i, ns))
	}
	objs := []client.Object{
		benchSku(ns, "e3", "SPE_E3", int64(n), 8),
		benchSku(ns, "scarce", "SCARCE", int64(n*3/5), 4),
		benchSku(ns, "addon", "ADDON", int64(n), 4),
		&licv1.LicenseGroup{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: ns}, Spec: licv1.LicenseGroupSpec{
			MemberSelector: &metav1.LabelSelector{}, Licenses: []licv1.LicenseAssignment{{SKU: "e3"}}}},
		&licv1.LicenseGroup{ObjectMeta: metav1.ObjectMeta{Name: "dept", Namespace: ns}, Spec: licv1.LicenseGroupSpec{
			MemberSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"dept": "d0"}}, Licenses: []licv1.LicenseAssignment{{SKU: "addon"}}}},
		&licv1.LicenseGroup{ObjectMeta: metav1.ObjectMeta{Name: "named", Namespace: ns}, Spec: licv1.LicenseGroupSpec{
			Members: named, Licenses: []licv1.LicenseAssignment{{SKU: "scarce"}}}},
	}
	for i := range n {
		u := &licv1.UserLicense{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u%03d", i), Namespace: ns, Labels: map[string]string{"dept": fmt.Sprintf("d%d", i%2)}},
			Spec:       licv1.UserLicenseSpec{UserPrincipalName: fmt.Sprintf("u%03d@%s.example", i, ns), UsageLocation: "DE"},
		}
		if i%10 == 0 {
			u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: "addon"}}
		}
		objs = append(objs, u)
	}
	return objs
}

// rewriteStatuses writes every object's status again, with the manager's
// request (an update of the status subresource at the read
// resourceVersion, with its field owner), every time moved by round
// seconds so each write is a real change of the same size. It returns the
// wall time.
func rewriteStatuses(ctx context.Context, c client.Client, objs []client.Object, workers, round int) (time.Duration, error) {
	shift := func(t *metav1.Time) {
		if !t.IsZero() {
			t.Time = t.Add(time.Duration(round) * time.Second)
		}
	}
	conds := func(cs []metav1.Condition) {
		for i := range cs {
			shift(&cs[i].LastTransitionTime)
		}
	}
	for _, o := range objs {
		switch t := o.(type) {
		case *licv1.UserLicense:
			for i := range t.Status.Licenses {
				shift(&t.Status.Licenses[i].LastTransitionTime)
			}
			conds(t.Status.Conditions)
		case *licv1.LicenseGroup:
			conds(t.Status.Conditions)
		case *licv1.LicenseSku:
			conds(t.Status.Conditions)
		}
	}
	start := time.Now()
	// The manager's field owner: another would add an entry to every
	// object's managedFields and make each write larger than the manager's.
	err := harness.Parallel(len(objs), workers, func(i int) error {
		return c.Status().Update(ctx, objs[i], client.FieldOwner(controllers.ControllerName))
	})
	return time.Since(start), err
}
