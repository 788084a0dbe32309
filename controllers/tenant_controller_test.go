package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

const (
	timeout = 30 * time.Second
	poll    = 100 * time.Millisecond
)

var _ = Describe("Tenant controller", func() {
	SetDefaultEventuallyTimeout(timeout)
	SetDefaultEventuallyPollingInterval(poll)

	It("converges the samples: seats, waiting users, usage location, duplicate plans", func() {
		ns := newTenant()
		applySamples(ns)
		Eventually(converged(ns)).Should(BeTrue())

		By("the contractors group is one seat short: gina (last by UPN) waits")
		Expect(licenseState(ns, "dave", "exchange-p1")()).To(Equal("Active"))
		Expect(licenseState(ns, "erin", "exchange-p1")()).To(Equal("Active"))
		Expect(licenseState(ns, "gina", "exchange-p1")()).To(Equal("Error/InsufficientSeats"))
		gina := licenseOf(getUser(ns, "gina")(), "exchange-p1")
		Expect(gina.WaitingSince).NotTo(BeNil())
		Expect(gina.AssignedBy).To(Equal([]string{"Group/contractors"}))

		contractors := getGroup(ns, "contractors")()
		Expect(contractors.Status.Members).To(BeEquivalentTo(3))
		Expect(contractors.Status.Licensed).To(BeEquivalentTo(2))
		Expect(contractors.Status.Errors).To(BeEquivalentTo(1))
		Expect(contractors.Status.Failures).To(Equal([]licv1.LicenseFailure{{User: "gina@contoso.com", SKU: "exchange-p1", Reason: "InsufficientSeats"}}))
		Expect(condition(contractors.Status.Conditions, "Ready")).To(HavePrefix("False/"))
		Expect(condition(contractors.Status.Conditions, "InsufficientSeats")).To(Equal("True/InsufficientSeats"))

		p1 := getSku(ns, "exchange-p1")()
		Expect([]int64{p1.Status.Seats, p1.Status.Assigned, p1.Status.Requested, p1.Status.Waiting, p1.Status.Available}).
			To(Equal([]int64{2, 2, 3, 1, 0}))
		Expect(condition(p1.Status.Conditions, "Ready")).To(Equal("False/InsufficientSeats"))

		By("frank has no usage location: no license takes effect")
		Expect(licenseState(ns, "frank", "m365-e3")()).To(Equal("Error/UsageLocationRequired"))
		Expect(condition(getUser(ns, "frank")().Status.Conditions, "Ready")).To(Equal("False/LicenseErrors"))

		By("E3 counts only the Enabled subscription; the group disables SWAY")
		e3 := getSku(ns, "m365-e3")()
		Expect([]int64{e3.Status.Seats, e3.Status.Assigned, e3.Status.Requested}).To(Equal([]int64{5, 3, 4}))
		ann := getUser(ns, "ann")()
		Expect(licenseOf(ann, "m365-e3").DisabledPlans).To(ContainElement("SWAY"))
		Expect(licenseOf(ann, "m365-e3").DisabledPlans).NotTo(ContainElement("EXCHANGE_S_ENTERPRISE"))

		By("ann gets Exchange Plan 2 twice: a DuplicatePlans warning, both Active, Ready unaffected")
		Expect(licenseState(ns, "ann", "exchange-p2")()).To(Equal("Active"))
		Expect(condition(ann.Status.Conditions, "DuplicatePlans")).To(Equal("True/DuplicatePlans"))
		dup := findCondition(ann.Status.Conditions, "DuplicatePlans")
		Expect(dup.Message).To(And(ContainSubstring("EXCHANGE_S_ENTERPRISE"), ContainSubstring("exchange-p2")))
		Expect(condition(ann.Status.Conditions, "Ready")).To(Equal("True/AllLicensesActive"))
		Expect(ann.Status.Groups).To(Equal([]string{"all-employees"}))

		By("Power BI's Warning subscription still counts; executives by name")
		Expect(licenseState(ns, "carla", "power-bi-pro")()).To(Equal("Active"))
		Expect(licenseState(ns, "ben", "power-bi-pro")()).To(Equal("Active"))
		Expect(getSku(ns, "power-bi-pro")().Status.Seats).To(BeEquivalentTo(5))
	})

	It("converges in any order: users and groups before their SKU", func() {
		ns := newTenant()
		create(harness.User(ns, "ann", "DE"), harness.Group(ns, "staff", 0, []string{"ann@contoso.com"}, "e3"))
		Eventually(licenseState(ns, "ann", "e3")).Should(Equal("Error/SkuNotFound"))
		create(harness.Sku(ns, "e3", "SPE_E3", 1, plan("TEAMS1")))
		Eventually(licenseState(ns, "ann", "e3")).Should(Equal("Active"))
		Eventually(func() string { return condition(getGroup(ns, "staff")().Status.Conditions, "Ready") }).
			Should(Equal("True/AllLicensesActive"))
	})

	It("gives a freed seat to the first waiting user, automatically", func() {
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 1),
			harness.Group(ns, "staff", 0, []string{"ann@contoso.com", "bob@contoso.com", "cid@contoso.com"}, "e3"),
			harness.User(ns, "ann", "DE"), harness.User(ns, "bob", "DE"), harness.User(ns, "cid", "DE"))
		Eventually(converged(ns)).Should(BeTrue())
		Expect(licenseState(ns, "ann", "e3")()).To(Equal("Active"))
		Expect(licenseState(ns, "bob", "e3")()).To(Equal("Error/InsufficientSeats"))

		By("removing the holder from the group")
		change(getGroup(ns, "staff")(), func(g *licv1.LicenseGroup) { g.Spec.Members = []string{"bob@contoso.com", "cid@contoso.com"} })
		Eventually(licenseState(ns, "ann", "e3")).Should(Equal(""))
		Eventually(licenseState(ns, "bob", "e3")).Should(Equal("Active"))
		Expect(licenseState(ns, "cid", "e3")()).To(Equal("Error/InsufficientSeats"))

		By("raising the seats")
		change(getSku(ns, "e3")(), func(s *licv1.LicenseSku) { s.Spec.Subscriptions[0].Seats = 2 })
		Eventually(licenseState(ns, "cid", "e3")).Should(Equal("Active"))
		Eventually(func() string { return condition(getSku(ns, "e3")().Status.Conditions, "Ready") }).
			Should(Equal("True/SeatsAvailable"))
	})

	It("keeps holders when capacity drops below them: Overallocated, no new grants", func() {
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 2), harness.Group(ns, "staff", 0, []string{"ann@contoso.com", "bob@contoso.com"}, "e3"),
			harness.User(ns, "ann", "DE"), harness.User(ns, "bob", "DE"))
		Eventually(licenseState(ns, "bob", "e3")).Should(Equal("Active"))

		change(getSku(ns, "e3")(), func(s *licv1.LicenseSku) {
			s.Spec.Subscriptions[0].State = licv1.SubscriptionSuspended
			s.Spec.Subscriptions = append(s.Spec.Subscriptions, licv1.Subscription{Name: "small", Seats: 1})
		})
		Eventually(func() string { return condition(getSku(ns, "e3")().Status.Conditions, "Overallocated") }).
			Should(Equal("True/Overallocated"))
		Expect(licenseState(ns, "ann", "e3")()).To(Equal("Active"))
		Expect(licenseState(ns, "bob", "e3")()).To(Equal("Active"))

		By("a newcomer waits while the SKU is over capacity")
		create(harness.User(ns, "aaron", "DE"))
		change(getGroup(ns, "staff")(), func(g *licv1.LicenseGroup) { g.Spec.Members = append(g.Spec.Members, "aaron@contoso.com") })
		Eventually(licenseState(ns, "aaron", "e3")).Should(Equal("Error/InsufficientSeats"))
		// Fails if a plan after aaron's arrival (seen above: he waits) takes
		// ann's seat.
		Consistently(licenseState(ns, "ann", "e3"), 2*time.Second).Should(Equal("Active"))
		Expect(licenseState(ns, "bob", "e3")()).To(Equal("Active"))
	})

	It("direct assignments and higher priority win scarce seats", func() {
		ns := newTenant()
		// Holders keep their seats, so the order of arrival would decide who
		// holds them: start with no seat, let everyone queue, then buy two.
		create(harness.Sku(ns, "bi", "POWER_BI_PRO", 0),
			harness.Group(ns, "everyone", 0, []string{"amy@contoso.com", "bea@contoso.com", "cat@contoso.com"}, "bi"),
			harness.Group(ns, "execs", 10, []string{"cat@contoso.com"}, "bi"),
			harness.User(ns, "amy", "DE"), harness.User(ns, "bea", "DE"), harness.User(ns, "zed", "DE", "bi"), harness.User(ns, "cat", "DE"))
		Eventually(converged(ns)).Should(BeTrue())
		Eventually(func() int64 { return getSku(ns, "bi")().Status.Waiting }).Should(BeEquivalentTo(4))
		change(getSku(ns, "bi")(), func(s *licv1.LicenseSku) { s.Spec.Subscriptions[0].Seats = 2 })
		Eventually(converged(ns)).Should(BeTrue())
		Eventually(func() int64 { return getSku(ns, "bi")().Status.Assigned }).Should(BeEquivalentTo(2))
		Expect(licenseState(ns, "zed", "bi")()).To(Equal("Active"), "direct first")
		Expect(licenseState(ns, "cat", "bi")()).To(Equal("Active"), "then priority")
		Expect(licenseState(ns, "amy", "bi")()).To(Equal("Error/InsufficientSeats"))
		Expect(licenseState(ns, "bea", "bi")()).To(Equal("Error/InsufficientSeats"))
		Expect(licenseOf(getUser(ns, "cat")(), "bi").AssignedBy).To(Equal([]string{"Group/everyone", "Group/execs"}))
	})

	It("reports conflicts, dependencies, locations and unknown plans per SKU, without blocking the others", func() {
		ns := newTenant()
		e3 := harness.Sku(ns, "e3", "SPE_E3", 10,
			licv1.ServicePlan{Name: "EXCHANGE_S_ENTERPRISE", ConflictsWith: []string{"EXCHANGE_S_STANDARD"}},
			licv1.ServicePlan{Name: "TEAMS1", UnavailableIn: []string{"CN"}})
		p1 := harness.Sku(ns, "p1", "EXCHANGESTANDARD", 10, plan("EXCHANGE_S_STANDARD"))
		addon := harness.Sku(ns, "addon", "ADDON", 10, licv1.ServicePlan{Name: "ADDON_PLAN", Requires: []string{"INTUNE_A"}})
		create(e3, p1, addon,
			harness.User(ns, "ann", "DE", "e3"),
			harness.Group(ns, "mail", 0, []string{"ann@contoso.com", "li@contoso.com"}, "p1", "addon"),
			harness.User(ns, "li", "CN", "e3"))

		Eventually(licenseState(ns, "ann", "p1")).Should(Equal("Error/MutuallyExclusivePlans"))
		Expect(licenseState(ns, "ann", "e3")()).To(Equal("Active"), "the direct E3 outranks the group's P1")
		Eventually(licenseState(ns, "ann", "addon")).Should(Equal("Error/MissingDependency"))
		Eventually(licenseState(ns, "li", "e3")).Should(Equal("Error/ProhibitedInUsageLocation"))
		Expect(licenseState(ns, "li", "p1")()).To(Equal("Active"), "one SKU failing never blocks another")

		By("disabling the prohibited plan: li's E3 now conflicts with the P1 li holds, and li keeps P1")
		change(getUser(ns, "li")(), func(li *licv1.UserLicense) { li.Spec.Licenses[0].DisabledPlans = []string{"TEAMS1"} })
		Eventually(licenseState(ns, "li", "e3")).Should(Equal("Error/MutuallyExclusivePlans"))
		Expect(licenseState(ns, "li", "p1")()).To(Equal("Active"), "a held license is not taken away for a new one")
		Expect(licenseOf(getUser(ns, "li")(), "e3").Message).To(ContainSubstring("which the user holds"))

		By("naming a plan the SKU does not have")
		change(getUser(ns, "li")(), func(li *licv1.UserLicense) { li.Spec.Licenses[0].DisabledPlans = []string{"NO_SUCH_PLAN"} })
		Eventually(licenseState(ns, "li", "e3")).Should(Equal("Error/UnknownServicePlan"))
		Expect(licenseOf(getUser(ns, "li")(), "e3").Message).To(ContainSubstring("NO_SUCH_PLAN"))
	})

	It("records the assignment history as events", func() {
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 1), harness.User(ns, "ann", "DE", "e3"), harness.User(ns, "bob", "DE", "e3"))
		Eventually(converged(ns)).Should(BeTrue())
		Eventually(func() map[string]string {
			var list eventsv1.EventList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			got := map[string]string{}
			for _, e := range list.Items {
				got[e.Regarding.Name+"/"+e.Reason] = e.Type
			}
			return got
		}).Should(And(
			HaveKeyWithValue("ann/LicenseAssigned", "Normal"),
			HaveKeyWithValue("bob/LicenseAssignmentFailed", "Warning"),
		))
		change(getUser(ns, "ann")(), func(u *licv1.UserLicense) { u.Spec.Licenses = nil })
		Eventually(func() []string {
			var list eventsv1.EventList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range list.Items {
				reasons = append(reasons, e.Regarding.Name+"/"+e.Reason)
			}
			return reasons
		}).Should(ContainElements("ann/LicenseRemoved", "bob/LicenseAssigned"))
	})

	It("reports truthful kstatus: InProgress right after a spec change, Current once planned", func() {
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 5), harness.User(ns, "ann", "DE", "e3"))
		Eventually(converged(ns)).Should(BeTrue())
		Expect(kstatusOf(getUser(ns, "ann")())).To(Equal(status.CurrentStatus))
		Expect(kstatusOf(getSku(ns, "e3")())).To(Equal(status.CurrentStatus))

		u := change(getUser(ns, "ann")(), func(u *licv1.UserLicense) { u.Spec.UsageLocation = "FR" })
		Expect(kstatusOf(u)).To(Equal(status.InProgressStatus), "the update response carries the new generation, not yet observed")
		Eventually(func() status.Status { return kstatusOf(getUser(ns, "ann")()) }).Should(Equal(status.CurrentStatus))
	})

	It("writes nothing in steady state", func() {
		ns := newTenant()
		applySamples(ns)
		Eventually(converged(ns)).Should(BeTrue())
		// Let in-flight events of the convergence drain, then count.
		time.Sleep(2 * time.Second)
		before := manager.counter.mutations("licensing.licenseops.dev")
		// A label no selector reads makes the manager plan the converged
		// tenant again; the spec fails if that plan (or any after it) writes,
		// and cannot pass without the plan: planned waits for it.
		since := plans(ns)
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			u := getUser(ns, firstUser(ns))()
			if u.Labels == nil {
				u.Labels = map[string]string{}
			}
			u.Labels["test.licenseops.dev/nudge"] = "1"
			return k8sClient.Update(ctx, u)
		})).To(Succeed())
		planned(ns, since)
		Consistently(func() int { return manager.counter.mutations("licensing.licenseops.dev") - before }, 5*time.Second, 250*time.Millisecond).
			Should(BeZero())
	})

	It("changes nothing after a restart: zero writes, identical statuses", func() {
		ns := newTenant()
		applySamples(ns)
		Eventually(converged(ns)).Should(BeTrue())
		time.Sleep(time.Second)
		before := snapshot(ns)

		manager.stop()
		since := plans(ns)
		manager = startManager()
		// The new manager plans every tenant from a cold cache. The spec
		// fails if that plan writes anything or yields other statuses, and
		// cannot pass without it: planned waits until the new manager
		// planned this tenant and finished that reconcile.
		planned(ns, since)
		Consistently(func() int { return manager.counter.mutations("/") }, 5*time.Second, 250*time.Millisecond).Should(BeZero())
		Expect(equality.Semantic.DeepEqual(snapshot(ns), before)).To(BeTrue(), "statuses changed across a restart")
	})
})

// firstUser names a UserLicense of ns.
func firstUser(ns string) string {
	var users licv1.UserLicenseList
	Expect(k8sClient.List(ctx, &users, client.InNamespace(ns))).To(Succeed())
	Expect(users.Items).NotTo(BeEmpty())
	return users.Items[0].Name
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func kstatusOf(obj runtime.Object) status.Status {
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: raw})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// snapshot is every status of a namespace, by kind and name.
func snapshot(ns string) map[string]any {
	out := map[string]any{}
	var skus licv1.LicenseSkuList
	var groups licv1.LicenseGroupList
	var users licv1.UserLicenseList
	Expect(k8sClient.List(ctx, &skus, client.InNamespace(ns))).To(Succeed())
	Expect(k8sClient.List(ctx, &groups, client.InNamespace(ns))).To(Succeed())
	Expect(k8sClient.List(ctx, &users, client.InNamespace(ns))).To(Succeed())
	for _, s := range skus.Items {
		out["sku/"+s.Name] = s.Status
	}
	for _, g := range groups.Items {
		out["group/"+g.Name] = g.Status
	}
	for _, u := range users.Items {
		out["user/"+u.Name] = u.Status
	}
	return out
}
