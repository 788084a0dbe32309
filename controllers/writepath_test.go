package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/util/retry"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// Rule 12 on a real API server: a watcher that sees every version of every
// UserLicense never sees more holders of a SKU than its capacity.
var _ = Describe("Seat swaps", func() {
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)

	holds := func(ns, user, skuName string) func() bool {
		return func() bool {
			l := licenseOf(getUser(ns, user)(), skuName)
			return l != nil && l.State == licv1.LicenseStateActive
		}
	}

	It("a group switching SKUs frees its members' seats before the waiting users take them", func() {
		ns := newTenant()
		// Waiters sort before members, so a writer that does not order
		// releases first launches their grants first.
		var members, waiters []string
		create(harness.Sku(ns, "a", "SKU_A", 20), harness.Sku(ns, "b", "SKU_B", 20))
		for i := range 20 {
			m, w := fmt.Sprintf("old%02d", i), fmt.Sprintf("new%02d", i)
			create(harness.User(ns, m, "DE"), harness.User(ns, w, "DE"))
			members, waiters = append(members, m+"@contoso.com"), append(waiters, w+"@contoso.com")
		}
		create(harness.Group(ns, "members", 0, members, "a"))
		Eventually(converged(ns)).Should(BeTrue())
		for i := range 20 {
			Eventually(holds(ns, fmt.Sprintf("old%02d", i), "a")).Should(BeTrue())
		}
		create(harness.Group(ns, "waiters", 0, waiters, "a"))
		Eventually(converged(ns)).Should(BeTrue())
		Eventually(func() int64 { return getSku(ns, "a")().Status.Waiting }).Should(BeEquivalentTo(20))

		w := watchSeats(ns, map[string]int64{"a": 20, "b": 20})
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			g := getGroup(ns, "members")()
			g.Spec.Licenses = []licv1.LicenseAssignment{{SKU: "b"}}
			return k8sClient.Update(ctx, g)
		})).To(Succeed())
		for i := range 20 {
			Eventually(holds(ns, fmt.Sprintf("new%02d", i), "a")).Should(BeTrue())
			Eventually(holds(ns, fmt.Sprintf("old%02d", i), "b")).Should(BeTrue())
		}
		Eventually(converged(ns)).Should(BeTrue())
		w.stop(ns)
		Expect(w.seen()).To(BeNumerically(">=", 40), "the watcher must see every member and waiter change")
		Expect(coldPlanChanges(ns)).To(BeEmpty())
	})

	It("two users swapping their only seats are each written twice, releases first", func() {
		ns := newTenant()
		create(harness.Sku(ns, "a", "SKU_A", 1), harness.Sku(ns, "b", "SKU_B", 1), harness.User(ns, "ann", "DE", "a"), harness.User(ns, "bob", "DE", "b"))
		Eventually(holds(ns, "ann", "a")).Should(BeTrue())
		Eventually(holds(ns, "bob", "b")).Should(BeTrue())
		Eventually(converged(ns)).Should(BeTrue())

		w := watchSeats(ns, map[string]int64{"a": 1, "b": 1})
		// Both changes must reach one plan: they are made while no manager
		// runs.
		manager.stop()
		for name, to := range map[string]string{"ann": "b", "bob": "a"} {
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
				u := getUser(ns, name)()
				u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: to}}
				return k8sClient.Update(ctx, u)
			})).To(Succeed())
		}
		manager = startManager()
		Eventually(holds(ns, "ann", "b")).Should(BeTrue())
		Eventually(holds(ns, "bob", "a")).Should(BeTrue())
		Eventually(converged(ns)).Should(BeTrue())
		w.stop(ns)
		// Each one's history: the old seat, nothing (the release step), the
		// new seat.
		Expect(w.heldHistory("ann")).To(Equal([]string{"a", "", "b"}))
		Expect(w.heldHistory("bob")).To(Equal([]string{"b", "", "a"}))
		Expect(coldPlanChanges(ns)).To(BeEmpty())
	})
})
