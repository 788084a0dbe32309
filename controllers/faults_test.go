package controllers_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/test/harness"
)

// faultKind is what the fault-injecting client does with a status write.
type faultKind int

const (
	// applyThenTimeout sends the write, then reports a client timeout: the
	// API server applied it, the controller does not know.
	applyThenTimeout faultKind = iota + 1
	// reject answers 422 without sending the write.
	reject
	// panicking panics in the writing goroutine.
	panicking
)

// faultyClient wraps the manager's real client and injects faults into the
// status writes of named objects: each rule applies a number of times
// (negative: until cleared).
type faultyClient struct {
	client.Client
	mu    sync.Mutex
	rules map[string]*faultRule
}

type faultRule struct {
	kind  faultKind
	times int
	hits  int
}

func (c *faultyClient) set(name string, kind faultKind, times int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules[name] = &faultRule{kind: kind, times: times}
}

func (c *faultyClient) clear(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rules, name)
}

func (c *faultyClient) hits(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.rules[name]; r != nil {
		return r.hits
	}
	return 0
}

func (c *faultyClient) take(name string) faultKind {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rules[name]
	if r == nil || r.times == 0 {
		return 0
	}
	r.times--
	r.hits++
	return r.kind
}

func (c *faultyClient) Status() client.SubResourceWriter {
	return faultyStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type faultyStatus struct {
	client.SubResourceWriter
	c *faultyClient
}

func (s faultyStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	switch s.c.take(obj.GetName()) {
	case applyThenTimeout:
		if err := s.SubResourceWriter.Update(ctx, obj, opts...); err != nil {
			return err
		}
		return &url.Error{Op: "Put", URL: obj.GetName(), Err: context.DeadlineExceeded}
	case reject:
		return apierrors.NewInvalid(schema.GroupKind{Group: licv1.GroupVersion.Group, Kind: "UserLicense"}, obj.GetName(),
			field.ErrorList{field.Invalid(field.NewPath("status"), "", "injected refusal")})
	case panicking:
		panic("injected panic writing " + obj.GetName())
	}
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

// withFaults runs body with the suite's manager replaced by one whose
// client injects faults, and restores a normal manager afterwards.
func withFaults(body func(fc *faultyClient)) {
	fc := &faultyClient{rules: map[string]*faultRule{}}
	manager.stop()
	manager = startManagerWith(func(c client.Client) client.Client { fc.Client = c; return fc })
	defer func() {
		manager.stop()
		manager = startManager()
	}()
	body(fc)
}

// gathered is the process's metrics registry (every manager of the suite
// registers there).
func gathered() harness.Metrics {
	fams, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	return harness.FromFamilies(fams)
}

// counterValue sums a counter of the process's metrics registry over the
// series whose labels include match.
func counterValue(name string, match map[string]string) float64 {
	return gathered().Counter(name, match)
}

// gaugeValue sums a gauge over the series whose labels include match.
func gaugeValue(name string, match map[string]string) float64 {
	return gathered().Gauge(name, match)
}

// plans counts the plans of a tenant since the process started, by any
// manager of the suite (license_operator_plan_duration_seconds' count).
func plans(ns string) uint64 {
	return gathered().HistogramCount("license_operator_plan_duration_seconds", map[string]string{"namespace": ns})
}

// planned waits until the running manager has planned ns again (its plan
// count passed since) and finished the reconcile that planned it (no
// reconcile in progress), so the writes of that plan, if any, were made.
// A spec asserting "nothing written" calls it first: without it, a manager
// that never reconciles would pass.
func planned(ns string, since uint64) {
	Eventually(func() uint64 { return plans(ns) }).WithTimeout(3*time.Minute).
		Should(BeNumerically(">", since), "the manager never planned tenant %s", ns)
	Eventually(func() float64 {
		return gaugeValue("controller_runtime_active_workers", map[string]string{"controller": "tenant"})
	}).
		WithTimeout(3*time.Minute).Should(BeZero(), "a tenant reconcile is still running")
}

// eventReasons lists "<regarding name>/<reason>" of the events of a namespace.
func eventReasons(ns string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Regarding.Name+"/"+e.Reason)
	}
	return out
}

var _ = Describe("Write faults", func() {
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)

	It("lost answers grant no seat twice and one refused status stalls nothing", func() {
		withFaults(func(fc *faultyClient) {
			ns := newTenant()
			w := watchSeats(ns, map[string]int64{"a": 5, "b": 100})
			var upns []string
			for i := range 12 {
				name := fmt.Sprintf("u%02d", i)
				upns = append(upns, name+"@contoso.com")
				if i < 6 {
					fc.set(name, applyThenTimeout, 1) // the first write of each is applied, its answer lost
				}
			}
			fc.set("u11", reject, -1)
			create(harness.Sku(ns, "a", "SKU_A", 5), harness.Sku(ns, "b", "SKU_B", 100), harness.Group(ns, "staff", 0, upns, "a", "b"))
			for i := range 12 {
				create(harness.User(ns, fmt.Sprintf("u%02d", i), "DE"))
			}

			By("everything but the refused user converges")
			Eventually(func() []string {
				unplanned, err := harness.Unplanned(ctx, k8sClient, ns)
				Expect(err).NotTo(HaveOccurred())
				return unplanned
			}).Should(ConsistOf(HavePrefix("user/u11 ")))
			Eventually(func() int64 { return getSku(ns, "a")().Status.Assigned }).Should(BeEquivalentTo(5))
			for i := range 5 {
				Expect(licenseState(ns, fmt.Sprintf("u%02d", i), "a")()).To(Equal("Active"))
			}
			for i := 5; i < 11; i++ {
				Expect(licenseState(ns, fmt.Sprintf("u%02d", i), "a")()).To(Equal("Error/InsufficientSeats"))
			}
			for i := range 6 {
				Expect(fc.hits(fmt.Sprintf("u%02d", i))).To(Equal(1), "u%02d's lost answer was injected", i)
			}
			Eventually(func() []string { return eventReasons(ns) }).Should(ContainElement("u11/" + controllers.EventStatusRejected))
			Expect(fc.hits("u11")).To(BeNumerically(">=", 2), "the refused status is retried")

			By("once the API server takes it, the refused user converges too")
			fc.clear("u11")
			Eventually(converged(ns)).Should(BeTrue())
			Eventually(func() int64 { return getSku(ns, "a")().Status.Assigned }).Should(BeEquivalentTo(5))
			w.stop(ns)
			Expect(coldPlanChanges(ns)).To(BeEmpty())
		})
	})

	It("a panic while writing fails only that tenant's reconcile, which is retried", func() {
		withFaults(func(fc *faultyClient) {
			reconcilePanics := counterValue("controller_runtime_reconcile_panics_total", map[string]string{"controller": "tenant"})
			writePanics := counterValue("license_operator_panics_recovered_total", map[string]string{"in": "write"})
			ns, other := newTenant(), newTenant()
			fc.set("ann", panicking, 2)
			create(harness.Sku(ns, "e3", "SPE_E3", 5), harness.User(ns, "ann", "DE", "e3"), harness.User(ns, "bob", "DE", "e3"))
			create(harness.Sku(other, "e3", "SPE_E3", 5), harness.User(other, "cid", "DE", "e3"))

			Eventually(converged(other)).Should(BeTrue(), "another tenant is not affected")
			Eventually(converged(ns)).Should(BeTrue(), "the panicking tenant is retried and converges once the panics stop")
			Expect(fc.hits("ann")).To(Equal(2))
			Expect(licenseState(ns, "ann", "e3")()).To(Equal("Active"))
			Expect(counterValue("controller_runtime_reconcile_panics_total", map[string]string{"controller": "tenant"}) - reconcilePanics).To(BeEquivalentTo(2))
			Expect(counterValue("license_operator_panics_recovered_total", map[string]string{"in": "write"}) - writePanics).To(BeEquivalentTo(2))
			// Events about a Namespace are stored in "default".
			Eventually(func() []string { return eventReasons("default") }).Should(ContainElement(ns + "/" + controllers.EventReconcilePanic))
			// Fails if the recovered panics stopped the manager (done closed).
			Consistently(manager.done, time.Second).ShouldNot(BeClosed(), "the manager is still running")
		})
	})
})
