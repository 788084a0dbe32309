package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// The write path against controller-runtime's fake client, with a cache the
// test moves by hand (the informer's lag) and a fault-injecting API: every
// status write that the API applies is audited under a lock, so the audit
// sees every state the API server goes through, in order.

const tenantNS = "t"

// fault is what the API does with a status write of one object.
type fault int

const (
	faultNone fault = iota
	// faultApplyThenTimeout applies the write, then loses the answer (as
	// a reset connection or a client timeout would).
	faultApplyThenTimeout
	// faultTimeout loses the request before the API server applies it.
	faultTimeout
	// faultReject: the API server refuses the write (422).
	faultReject
	// faultPanic: the client panics.
	faultPanic
)

type harness struct {
	t      *testing.T
	api    client.Client // the API server
	cache  *snapshotReader
	events *fakeRecorder
	clock  *fakeClock
	r      *TenantReconciler

	mu         sync.Mutex
	faults     map[string]fault // by object name
	attempts   map[string]int   // status writes tried, by object name
	history    map[string][]licv1.UserLicenseStatus
	violations []string
	delay      time.Duration // added to every status write
}

func newHarness(t *testing.T, objs ...client.Object) *harness {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := licv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, events: &fakeRecorder{}, clock: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		faults: map[string]fault{}, attempts: map[string]int{}, history: map[string][]licv1.UserLicenseStatus{},
	}
	var api client.Client
	api = fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&licv1.UserLicense{}, &licv1.LicenseSku{}, &licv1.LicenseGroup{}).
		WithInterceptorFuncs(interceptor.Funcs{SubResourceUpdate: h.update}).Build()
	h.api = api
	h.cache = &snapshotReader{}
	h.sync()
	h.r = &TenantReconciler{Client: splitClient{Client: api, reader: h.cache}, Recorder: h.events, MaxConcurrentWrites: 4, Now: h.clock.now}
	return h
}

// update is the API server's status write, with faults and the audit.
func (h *harness) update(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	h.mu.Lock()
	f := h.faults[obj.GetName()]
	h.attempts[obj.GetName()]++
	delay := h.delay
	h.mu.Unlock()
	time.Sleep(delay)
	switch f {
	case faultPanic:
		panic("injected panic writing " + obj.GetName())
	case faultReject:
		return apierrors.NewInvalid(schema.GroupKind{Group: licv1.GroupVersion.Group, Kind: "UserLicense"}, obj.GetName(),
			field.ErrorList{field.TooMany(field.NewPath("status", "licenses"), 101, 100)})
	case faultTimeout:
		return &url.Error{Op: "Put", URL: "https://api/" + obj.GetName(), Err: context.DeadlineExceeded}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := c.SubResource(sub).Update(ctx, obj, opts...); err != nil {
		return err
	}
	if u, ok := obj.(*licv1.UserLicense); ok {
		h.history[u.Name] = append(h.history[u.Name], *u.Status.DeepCopy())
	}
	h.audit()
	if f == faultApplyThenTimeout {
		return &url.Error{Op: "Put", URL: "https://api/" + obj.GetName(), Err: context.DeadlineExceeded}
	}
	return nil
}

// audit counts the holders of every SKU in the API; h.mu held.
func (h *harness) audit() {
	ctx := context.Background()
	var skus licv1.LicenseSkuList
	var users licv1.UserLicenseList
	if err := h.api.List(ctx, &skus); err != nil {
		h.t.Error(err)
		return
	}
	if err := h.api.List(ctx, &users); err != nil {
		h.t.Error(err)
		return
	}
	for _, s := range skus.Items {
		seats := int64(0)
		for _, sub := range s.Spec.Subscriptions {
			if sub.State == "" || sub.State == licv1.SubscriptionEnabled || sub.State == licv1.SubscriptionWarning {
				seats += sub.Seats
			}
		}
		var holders []string
		for _, u := range users.Items {
			if heldSKUs(&u.Status)[s.Name] {
				holders = append(holders, u.Name)
			}
		}
		if int64(len(holders)) > seats {
			h.violations = append(h.violations, fmt.Sprintf("%s: holders %v, capacity %d", s.Name, holders, seats))
		}
	}
}

func (h *harness) setFault(name string, f fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[name] = f
}

func (h *harness) attemptsOf(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts[name]
}

// sync makes the cache show the API's objects (the informer caught up).
func (h *harness) sync() { h.syncExcept() }

// syncExcept is sync, but the cache keeps its version of the named users.
func (h *harness) syncExcept(names ...string) {
	h.t.Helper()
	ctx := context.Background()
	var skus licv1.LicenseSkuList
	var groups licv1.LicenseGroupList
	var users licv1.UserLicenseList
	for _, l := range []client.ObjectList{&skus, &groups, &users} {
		if err := h.api.List(ctx, l); err != nil {
			h.t.Fatal(err)
		}
	}
	h.cache.mu.Lock()
	for i := range users.Items {
		if !slices.Contains(names, users.Items[i].Name) {
			continue
		}
		for _, old := range h.cache.users.Items {
			if old.Name == users.Items[i].Name {
				users.Items[i] = *old.DeepCopy()
			}
		}
	}
	h.cache.mu.Unlock()
	h.cache.set(skus, groups, users)
}

func (h *harness) reconcile() ctrl.Result {
	h.t.Helper()
	res, err := h.r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: tenantNS}})
	if err != nil {
		h.t.Fatalf("Reconcile: %v", err)
	}
	return res
}

// converge reconciles with the cache caught up until nothing is written.
func (h *harness) converge() {
	h.t.Helper()
	for i := 0; i < 10; i++ {
		before := h.totalAttempts()
		h.sync()
		h.reconcile()
		if h.totalAttempts() == before {
			h.sync()
			return
		}
	}
	h.t.Fatal("no convergence in 10 reconciles")
}

func (h *harness) totalAttempts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.attempts {
		n += a
	}
	return n
}

func (h *harness) user(name string) *licv1.UserLicense {
	h.t.Helper()
	u := &licv1.UserLicense{}
	if err := h.api.Get(context.Background(), client.ObjectKey{Namespace: tenantNS, Name: name}, u); err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) sku(name string) *licv1.LicenseSku {
	h.t.Helper()
	s := &licv1.LicenseSku{}
	if err := h.api.Get(context.Background(), client.ObjectKey{Namespace: tenantNS, Name: name}, s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// held lists the SKUs a user holds in the API, sorted.
func (h *harness) held(name string) []string {
	var out []string
	for s := range heldSKUs(&h.user(name).Status) {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// setDirect changes a user's direct licenses in the API (not yet in the cache).
func (h *harness) setDirect(name string, skus ...string) {
	h.t.Helper()
	u := h.user(name)
	u.Spec.Licenses = nil
	for _, s := range skus {
		u.Spec.Licenses = append(u.Spec.Licenses, licv1.LicenseAssignment{SKU: s})
	}
	u.Generation++
	if err := h.api.Update(context.Background(), u); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) noViolations() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.violations) > 0 {
		h.t.Fatalf("more holders than capacity at some moment:\n%s", strings.Join(h.violations, "\n"))
	}
}

// eventsFor lists "reason: note" of the events recorded about an object.
func (h *harness) eventsFor(name string) []string {
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	var out []string
	for i, o := range h.events.object {
		if m, ok := o.(metav1.Object); ok && m.GetName() == name {
			out = append(out, h.events.got[i])
		}
	}
	return out
}

func testSku(name string, seats int64) *licv1.LicenseSku {
	return &licv1.LicenseSku{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNS, UID: types.UID("uid-sku-" + name), Generation: 1},
		Spec: licv1.LicenseSkuSpec{
			SkuPartNumber: strings.ToUpper(name),
			Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats}},
			ServicePlans:  []licv1.ServicePlan{{Name: "PLAN_" + strings.ToUpper(name)}},
		},
	}
}

func testUser(name string, direct ...string) *licv1.UserLicense {
	u := &licv1.UserLicense{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNS, UID: types.UID("uid-" + name), Generation: 1},
		Spec:       licv1.UserLicenseSpec{UserPrincipalName: name + "@contoso.com", UsageLocation: "DE"},
	}
	for _, s := range direct {
		u.Spec.Licenses = append(u.Spec.Licenses, licv1.LicenseAssignment{SKU: s})
	}
	return u
}

// splitClient reads from the test's cache and writes to the API.
type splitClient struct {
	client.Client
	reader client.Reader
}

func (c splitClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.reader.Get(ctx, key, obj, opts...)
}

func (c splitClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.reader.List(ctx, list, opts...)
}

// snapshotReader is the cache: the objects as of the last sync, with
// their resourceVersions.
type snapshotReader struct {
	mu     sync.Mutex
	skus   licv1.LicenseSkuList
	groups licv1.LicenseGroupList
	users  licv1.UserLicenseList
}

func (s *snapshotReader) set(skus licv1.LicenseSkuList, groups licv1.LicenseGroupList, users licv1.UserLicenseList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skus, s.groups, s.users = skus, groups, users
}

func (s *snapshotReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("the reconciler only lists")
}

func (s *snapshotReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch l := list.(type) {
	case *licv1.LicenseSkuList:
		*l = *s.skus.DeepCopy()
	case *licv1.LicenseGroupList:
		*l = *s.groups.DeepCopy()
	case *licv1.UserLicenseList:
		*l = *s.users.DeepCopy()
	default:
		return fmt.Errorf("unexpected list %T", list)
	}
	return nil
}

// ---------------------------------------------------------------------------

func TestUnknownOutcomeCountsAsApplied(t *testing.T) {
	// ann and bob get a (one seat) from a group; ann ranks first.
	staff := &licv1.LicenseGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "staff", Namespace: tenantNS, UID: "uid-staff", Generation: 1},
		Spec:       licv1.LicenseGroupSpec{Members: []string{"ann@contoso.com", "bob@contoso.com"}, Licenses: []licv1.LicenseAssignment{{SKU: "a"}}},
	}
	h := newHarness(t, testSku("a", 1), staff, testUser("ann"), testUser("bob"))
	h.setFault("ann", faultApplyThenTimeout)

	res := h.reconcile()
	if got := h.held("ann"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ann's write was applied (its answer lost): holds %v", got)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > writeRetryBase {
		t.Fatalf("a write without answer must retry after its backoff, RequeueAfter %v", res.RequeueAfter)
	}
	h.setFault("ann", faultNone)

	// bob is now assigned a directly, which ranks before ann's group
	// assignment. The cache shows bob's change but not ann's write: planning
	// from it alone would give bob the seat ann holds. The unknown write
	// counts as applied, and holders keep their seat.
	h.setDirect("bob", "a")
	h.syncExcept("ann")
	for range 3 {
		h.reconcile()
		h.noViolations()
		if got := h.held("bob"); len(got) != 0 {
			t.Fatalf("bob got %v while ann's write was unconfirmed: a double grant", got)
		}
	}
	// After its backoff the write is sent again at the same version: the
	// API server says conflict (it was applied), still no double grant.
	h.clock.t = h.clock.t.Add(writeRetryMax)
	before := h.attemptsOf("ann")
	h.reconcile()
	if h.attemptsOf("ann") != before+1 {
		t.Fatalf("ann's unconfirmed write must be sent again after its backoff")
	}
	h.noViolations()

	h.converge()
	h.noViolations()
	if got := h.held("ann"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ann holds %v, want [a]", got)
	}
	if got := licenseStateOf(h.user("bob"), "a"); got != "Error/InsufficientSeats" {
		t.Fatalf("bob's a: %s, want Error/InsufficientSeats", got)
	}
	if h.r.writer.overlay.size() != 0 {
		t.Fatalf("the overlay must be empty once the cache caught up, size %d", h.r.writer.overlay.size())
	}
}

func TestUnknownOutcomeNotAppliedIsSentAgain(t *testing.T) {
	h := newHarness(t, testSku("a", 1), testUser("ann", "a"), testUser("bob", "a"))
	h.setFault("ann", faultTimeout)
	h.reconcile()
	if got := h.held("ann"); len(got) != 0 {
		t.Fatalf("the request was lost before the API server: ann holds %v", got)
	}
	h.setFault("ann", faultNone)
	h.reconcile() // in backoff: nothing for ann, and bob still waits
	if got := h.held("bob"); len(got) != 0 {
		t.Fatalf("bob got %v while ann's write had no answer", got)
	}
	// Even when the plan of the pessimistic view changes nothing for ann
	// (here the planner is told to see it so), the write is sent again:
	// only an answer settles it, and the API server never applied it.
	h.r.plan = func(in planner.Input) *planner.Result {
		res := planner.Plan(in)
		for i, u := range in.Users {
			if u.Name == "ann" && heldSKUs(&u.Status)["a"] {
				res.Users[i] = planner.UserResult{Status: &u.Status}
			}
		}
		return res
	}
	h.clock.t = h.clock.t.Add(writeRetryMax)
	h.sync()
	h.reconcile()
	if got := h.held("ann"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ann's write must be sent again and applied, ann holds %v", got)
	}
	h.converge()
	h.noViolations()
	if got := h.held("bob"); len(got) != 0 {
		t.Fatalf("bob holds %v", got)
	}
}

func TestRejectedWriteIsIsolatedAndRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, testSku("a", 5), testUser("ann", "a"), testUser("bob", "a"), testUser("cid", "a"))
	h.setFault("bob", faultReject)
	rejected := testutil.ToFloat64(statusWrites.WithLabelValues("UserLicense", "rejected"))

	res := h.reconcile()
	for _, name := range []string{"ann", "cid"} {
		if got := h.held(name); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("%s holds %v: one refused status must not stop the others", name, got)
		}
	}
	if got := h.sku("a").Status.Assigned; got != 3 {
		t.Fatalf("the SKU summary must be written too (as planned, assigned %d)", got)
	}
	if got := testutil.ToFloat64(statusWrites.WithLabelValues("UserLicense", "rejected")) - rejected; got != 1 {
		t.Fatalf("rejected writes counted %v, want 1", got)
	}
	if got := h.eventsFor("bob"); len(got) != 1 || !strings.HasPrefix(got[0], EventStatusRejected+": ") || !strings.Contains(got[0], "status.licenses") {
		t.Fatalf("bob's events %q: want one %s warning with the API server's message", got, EventStatusRejected)
	}
	if res.RequeueAfter != writeRetryBase {
		t.Fatalf("RequeueAfter %v, want the first backoff %v", res.RequeueAfter, writeRetryBase)
	}
	if got := testutil.ToFloat64(statusRetriesPending.WithLabelValues(tenantNS)); got != 1 {
		t.Fatalf("pending retries gauge %v, want 1", got)
	}

	// Before its backoff ends, plans leave bob alone.
	h.sync()
	h.clock.t = h.clock.t.Add(writeRetryBase / 2)
	res = h.reconcile()
	if got := h.attemptsOf("bob"); got != 1 {
		t.Fatalf("bob tried %d times within its backoff, want 1", got)
	}
	if res.RequeueAfter != writeRetryBase/2 {
		t.Fatalf("RequeueAfter %v, want the rest of the backoff %v", res.RequeueAfter, writeRetryBase/2)
	}
	// Then it is tried again, and backs off longer.
	h.clock.t = h.clock.t.Add(writeRetryBase / 2)
	res = h.reconcile()
	if got := h.attemptsOf("bob"); got != 2 {
		t.Fatalf("bob tried %d times after its backoff, want 2", got)
	}
	if res.RequeueAfter != 2*writeRetryBase {
		t.Fatalf("RequeueAfter %v, want the doubled backoff %v", res.RequeueAfter, 2*writeRetryBase)
	}
	// Once the API server accepts it, bob converges and is forgotten.
	h.setFault("bob", faultNone)
	h.clock.t = h.clock.t.Add(2 * writeRetryBase)
	h.converge()
	if got := h.held("bob"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("bob holds %v after the API server accepted his status", got)
	}
	if got := testutil.ToFloat64(statusRetriesPending.WithLabelValues(tenantNS)); got != 0 {
		t.Fatalf("pending retries gauge %v, want 0", got)
	}
	h.noViolations()
}

// TestSpecChangeEndsTheBackoff: an object waiting out the backoff of a
// failed write is written at once when its spec changes (the admin's change
// is not held up by the failure of the previous one), and its new failure
// starts a new backoff instead of doubling the old one. (Before, a user
// changed while its write backed off waited out 1+2+4+8+16 s of earlier
// failures: the 31 s single-user p99 of a loaded bench-e2e run.)
func TestSpecChangeEndsTheBackoff(t *testing.T) {
	h := newHarness(t, testSku("a", 5), testSku("b", 5), testUser("ann", "a"), testUser("bob", "a"))
	h.setFault("bob", faultReject)
	h.reconcile()
	h.sync()
	h.reconcile() // within the backoff: left alone
	if got := h.attemptsOf("bob"); got != 1 {
		t.Fatalf("bob tried %d times within his backoff, want 1", got)
	}

	h.clock.t = h.clock.t.Add(writeRetryBase / 4)
	h.setDirect("bob", "a", "b")
	h.sync()
	res := h.reconcile()
	if got := h.attemptsOf("bob"); got != 2 {
		t.Fatalf("bob tried %d times after his spec changed within the backoff, want 2 (written at once)", got)
	}
	if res.RequeueAfter != writeRetryBase {
		t.Fatalf("RequeueAfter %v, want a new first backoff %v, not a doubled one", res.RequeueAfter, writeRetryBase)
	}

	// Accepted at last: bob gets both licenses.
	h.setFault("bob", faultNone)
	h.setDirect("bob", "a", "b")
	h.converge()
	if got := h.held("bob"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("bob holds %v, want [a b]", got)
	}
	h.noViolations()
}

// converged starts ann holding a, bob holding c, and wes and zoe waiting for
// them; then ann and bob drop their licenses.
func releasingTenant(t *testing.T) *harness {
	h := newHarness(t, testSku("a", 1), testSku("c", 1),
		testUser("ann", "a"), testUser("bob", "c"), testUser("wes", "a"), testUser("zoe", "c"))
	h.converge()
	if !slices.Equal(h.held("ann"), []string{"a"}) || !slices.Equal(h.held("bob"), []string{"c"}) || len(h.held("wes")) > 0 || len(h.held("zoe")) > 0 {
		t.Fatalf("setup: ann %v bob %v wes %v zoe %v", h.held("ann"), h.held("bob"), h.held("wes"), h.held("zoe"))
	}
	h.setDirect("ann")
	h.setDirect("bob")
	h.sync()
	return h
}

func TestFailedReleaseBlocksOnlyThatSku(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fault
	}{
		{"refused", faultReject},
		{"no answer, not applied", faultTimeout},
		{"no answer, applied", faultApplyThenTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := releasingTenant(t)
			h.setFault("ann", tc.fault)
			heldBack := testutil.ToFloat64(grantsHeldBack)
			h.reconcile()
			h.noViolations()
			if got := h.held("wes"); len(got) != 0 {
				t.Fatalf("wes got %v although ann's release of a was not confirmed", got)
			}
			if got := h.held("zoe"); !slices.Equal(got, []string{"c"}) {
				t.Fatalf("zoe holds %v: bob's release of c succeeded, so c's grant must go on", got)
			}
			if got := testutil.ToFloat64(grantsHeldBack) - heldBack; got != 1 {
				t.Fatalf("grants held back: %v, want 1 (wes's)", got)
			}
			// Once ann's release goes through, wes gets the seat.
			h.setFault("ann", faultNone)
			h.clock.t = h.clock.t.Add(writeRetryMax)
			h.converge()
			h.noViolations()
			if got := h.held("wes"); !slices.Equal(got, []string{"a"}) {
				t.Fatalf("wes holds %v after ann's release, want [a]", got)
			}
		})
	}
}

func TestSwapIsWrittenTwice(t *testing.T) {
	// ann holds a and bob holds b, one seat each; then they swap. Neither
	// grant has a free seat before the other's release: each is written
	// first without its grant, then with it.
	h := newHarness(t, testSku("a", 1), testSku("b", 1), testUser("ann", "a"), testUser("bob", "b"))
	h.converge()
	h.mu.Lock()
	h.history = map[string][]licv1.UserLicenseStatus{}
	h.mu.Unlock()
	h.setDirect("ann", "b")
	h.setDirect("bob", "a")
	h.sync()
	steps := testutil.ToFloat64(releaseSteps)
	annBefore := h.user("ann").Status

	h.reconcile()
	h.noViolations()
	if got := h.held("ann"); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("ann holds %v after one reconcile, want [b]", got)
	}
	if got := h.held("bob"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("bob holds %v after one reconcile, want [a]", got)
	}
	if got := testutil.ToFloat64(releaseSteps) - steps; got != 2 {
		t.Fatalf("release steps %v, want 2", got)
	}
	h.mu.Lock()
	annWrites := h.history["ann"]
	h.mu.Unlock()
	if len(annWrites) != 2 {
		t.Fatalf("ann written %d times, want 2", len(annWrites))
	}
	step := annWrites[0]
	if len(heldSKUs(&step)) != 0 {
		t.Fatalf("ann's first write holds %v, want nothing (a released, b not yet granted)", heldSKUs(&step))
	}
	if e := licenseOf(&step, "b"); e != nil {
		t.Fatalf("b was not listed before: the first write must not list it, got %+v", *e)
	}
	if step.ObservedGeneration != annBefore.ObservedGeneration || len(step.Conditions) != len(annBefore.Conditions) ||
		step.Conditions[0] != annBefore.Conditions[0] {
		t.Fatalf("the first write must keep the observed generation and conditions: got gen %d %v, want %d %v",
			step.ObservedGeneration, step.Conditions, annBefore.ObservedGeneration, annBefore.Conditions)
	}
	if step.ActiveLicenses != 0 {
		t.Fatalf("the first write's activeLicenses %d, want 0", step.ActiveLicenses)
	}
	h.converge()
	h.noViolations()
}

func TestSwapIntoFreeSeatsIsOneWrite(t *testing.T) {
	// The fan-out shape: everyone moves from a to b, which has free seats
	// for all of them: one write per user.
	h := newHarness(t, testSku("a", 3), testSku("b", 3), testUser("ann", "a"), testUser("bob", "a"), testUser("cid", "a"))
	h.converge()
	for _, u := range []string{"ann", "bob", "cid"} {
		h.setDirect(u, "b")
	}
	h.sync()
	steps := testutil.ToFloat64(releaseSteps)
	before := map[string]int{}
	for _, u := range []string{"ann", "bob", "cid"} {
		before[u] = h.attemptsOf(u)
	}
	h.reconcile()
	h.noViolations()
	for _, u := range []string{"ann", "bob", "cid"} {
		if got := h.attemptsOf(u) - before[u]; got != 1 {
			t.Fatalf("%s written %d times, want 1", u, got)
		}
		if got := h.held(u); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("%s holds %v, want [b]", u, got)
		}
	}
	if got := testutil.ToFloat64(releaseSteps) - steps; got != 0 {
		t.Fatalf("release steps %v, want 0", got)
	}
}

func TestPanicInAWriteFailsOnlyTheReconcile(t *testing.T) {
	h := newHarness(t, testSku("a", 5), testUser("ann", "a"), testUser("bob", "a"), testUser("cid", "a"))
	h.setFault("bob", faultPanic)
	panics := testutil.ToFloat64(panicsRecovered.WithLabelValues("write"))

	p := recoverReconcile(h)
	tp, ok := p.(*tenantPanic)
	if !ok || tp.where != "write" || !strings.Contains(fmt.Sprint(tp.value), "injected panic writing bob") {
		t.Fatalf("Reconcile must re-panic the write's panic in its own goroutine, got %#v", p)
	}
	for _, name := range []string{"ann", "cid"} {
		if got := h.held(name); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("%s holds %v: the other writes must finish before the reconcile fails", name, got)
		}
	}
	if got := testutil.ToFloat64(panicsRecovered.WithLabelValues("write")) - panics; got != 1 {
		t.Fatalf("panics counted %v, want 1", got)
	}
	if got := h.eventsFor(tenantNS); len(got) != 1 || !strings.HasPrefix(got[0], EventReconcilePanic+": ") {
		t.Fatalf("events on the Namespace: %q, want one %s", got, EventReconcilePanic)
	}
	// The retry (controller-runtime requeues a panicked reconcile with
	// backoff) converges once the bug is gone.
	h.setFault("bob", faultNone)
	h.clock.t = h.clock.t.Add(writeRetryMax)
	h.converge()
	if got := h.held("bob"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("bob holds %v after the retry", got)
	}
}

func TestPanicInPlanFailsOnlyTheReconcile(t *testing.T) {
	h := newHarness(t, testSku("a", 5), testUser("ann", "a"))
	h.r.plan = func(planner.Input) *planner.Result { panic("injected planner panic") }
	panics := testutil.ToFloat64(panicsRecovered.WithLabelValues("plan"))
	p := recoverReconcile(h)
	if tp, ok := p.(*tenantPanic); !ok || tp.where != "plan" {
		t.Fatalf("want the planner's panic re-panicked as a tenantPanic in plan, got %#v", p)
	}
	if got := testutil.ToFloat64(panicsRecovered.WithLabelValues("plan")) - panics; got != 1 {
		t.Fatalf("panics counted %v, want 1", got)
	}
	if got := h.eventsFor(tenantNS); len(got) != 1 || !strings.Contains(got[0], "injected planner panic") {
		t.Fatalf("events on the Namespace: %q", got)
	}
	if got := h.attemptsOf("ann"); got != 0 {
		t.Fatalf("nothing may be written when planning panicked, %d writes", got)
	}
}

func recoverReconcile(h *harness) (p any) {
	defer func() { p = recover() }()
	h.r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: tenantNS}}) //nolint:errcheck // panics
	return nil
}

func TestSkuEventsOnInsufficientSeatsAndOverallocated(t *testing.T) {
	h := newHarness(t, testSku("a", 1), testUser("ann", "a"), testUser("bob", "a"))
	h.converge()
	if got := h.eventsFor("a"); len(got) != 1 || !strings.HasPrefix(got[0], EventInsufficientSeats+": ") {
		t.Fatalf("events on SKU a: %q, want one %s", got, EventInsufficientSeats)
	}
	// Capacity drops under the holders: Overallocated, once.
	s := h.sku("a")
	s.Spec.Subscriptions[0].Seats = 0
	s.Generation++
	if err := h.api.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	h.converge()
	h.converge()
	got := h.eventsFor("a")
	if len(got) != 2 || !strings.HasPrefix(got[1], EventOverallocated+": ") {
		t.Fatalf("events on SKU a: %q, want %s then %s", got, EventInsufficientSeats, EventOverallocated)
	}
}

func TestYieldsToAWaitingTenant(t *testing.T) {
	var objs []client.Object
	objs = append(objs, testSku("a", 100))
	for i := range 40 {
		objs = append(objs, testUser(fmt.Sprintf("u%02d", i), "a"))
	}
	h := newHarness(t, objs...)
	h.r.MaxConcurrentWrites = 1
	h.delay = 20 * time.Millisecond // 40 writes take at least 800 ms
	h.r.init()
	plans := 0
	h.r.plan = func(in planner.Input) *planner.Result { plans++; return planner.Plan(in) }
	h.r.activity.workers = 1
	waiting := 1 // a small tenant waits for the only worker
	h.r.activity.setQueue(func() int { return waiting })
	yields := testutil.ToFloat64(planYields.WithLabelValues(string(yieldFairness)))

	res := h.reconcile()
	written := h.totalAttempts()
	if written == 0 || written >= 40 {
		t.Fatalf("%d of 40 users written: the plan must write for %v, then yield", written, minWriteBeforeYield)
	}
	if res.RequeueAfter <= 0 || res.Priority == nil || *res.Priority >= 0 {
		t.Fatalf("a plan that yields goes back to the queue with a low priority: %+v", res)
	}
	if got := testutil.ToFloat64(planYields.WithLabelValues(string(yieldFairness))) - yields; got != 1 {
		t.Fatalf("fairness yields counted %v, want 1", got)
	}
	// The small tenant ran; the big one goes on where it stopped, with
	// the same plan: nothing of it changed meanwhile.
	waiting = 0
	h.delay = 0
	h.converge()
	if plans != 2 {
		t.Fatalf("%d plans: the plan cut short is resumed (1), then one plan finds nothing to write (2)", plans)
	}
	if got := h.totalAttempts(); got != 40+1 {
		t.Fatalf("%d writes, want one per user and one of SKU a's summary: the resumed plan writes only what is left", got)
	}
	for i := range 40 {
		if got := h.held(fmt.Sprintf("u%02d", i)); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("u%02d holds %v", i, got)
		}
	}
}

func TestAChangeDiscardsThePlanCutShort(t *testing.T) {
	var objs []client.Object
	objs = append(objs, testSku("a", 100), testSku("b", 100))
	for i := range 40 {
		objs = append(objs, testUser(fmt.Sprintf("u%02d", i), "a"))
	}
	h := newHarness(t, objs...)
	h.r.MaxConcurrentWrites = 1
	h.delay = 20 * time.Millisecond
	h.r.init()
	plans := 0
	h.r.plan = func(in planner.Input) *planner.Result { plans++; return planner.Plan(in) }
	h.r.activity.workers = 1
	waiting := 1
	h.r.activity.setQueue(func() int { return waiting })
	h.reconcile()
	if h.totalAttempts() >= 40 {
		t.Fatal("the plan was not cut short")
	}
	// u39 (written last) now asks for b too: the plan cut short does not
	// know it and must not be resumed.
	h.setDirect("u39", "a", "b")
	h.r.activity.changed(tenantNS)
	waiting, h.delay = 0, 0
	h.converge()
	if plans < 2 {
		t.Fatalf("%d plans: a change must discard the plan cut short", plans)
	}
	if got := h.held("u39"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("u39 holds %v, want [a b]", got)
	}
	// Resuming would have sent u39's old status, refused with a conflict
	// (its resourceVersion moved), before planning again.
	if got := h.attemptsOf("u39"); got != 1 {
		t.Fatalf("u39 written %d times, want once: the new plan's status only", got)
	}
}

func TestConflictRequeues(t *testing.T) {
	h := newHarness(t, testSku("a", 1), testUser("ann", "a"))
	// ann changes in the API after the cache saw her: the write conflicts.
	u := h.user("ann")
	u.Labels = map[string]string{"x": "y"}
	if err := h.api.Update(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	res := h.reconcile()
	if res.RequeueAfter != conflictRequeue {
		t.Fatalf("RequeueAfter %v after a conflict, want %v", res.RequeueAfter, conflictRequeue)
	}
	h.converge()
	if got := h.held("ann"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ann holds %v", got)
	}
}

func licenseOf(st *licv1.UserLicenseStatus, sku string) *licv1.LicenseStatus {
	for i := range st.Licenses {
		if st.Licenses[i].SKU == sku {
			return &st.Licenses[i]
		}
	}
	return nil
}

func licenseStateOf(u *licv1.UserLicense, sku string) string {
	l := licenseOf(&u.Status, sku)
	if l == nil {
		return ""
	}
	if l.Reason != "" {
		return l.State + "/" + l.Reason
	}
	return l.State
}
