package controllers_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

func trueKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	return out
}

// capacityLog is the history of one SKU's capacity, in the API server's
// order: entry i was set by the test and confirmed when the SKU's status
// showed its generation observed, at resourceVersion confirmRV. The
// controller writes a SKU's status after the user statuses of the same plan,
// so a user status written after confirmRV came from a plan that knew the
// new capacity, and one written before it may have used the previous one.
// (resourceVersions are etcd revisions: the test relies on their order,
// which holds for the etcd3 storage envtest runs.)
type capacityLog []capEntry

type capEntry struct {
	seats     int64
	confirmRV int64
}

// allowed is the capacity a plan that wrote at resourceVersion rv may have used.
func (c capacityLog) allowed(rv int64) int64 {
	limit := int64(-1)
	for i, e := range c {
		if i+1 < len(c) && c[i+1].confirmRV < rv {
			continue // superseded and confirmed before rv
		}
		limit = max(limit, e.seats)
		if e.confirmRV > rv {
			break // not yet confirmed at rv: later entries unseen
		}
	}
	return limit
}

type userEvent struct {
	rv     int64
	user   string
	active map[string]bool
}

// setSeats changes a SKU's seats and waits until the controller planned it.
func setSeats(ns, name string, seats int64, log map[string]capacityLog) {
	var s *licv1.LicenseSku
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s = getSku(ns, name)()
		if s.Spec.Subscriptions[0].Seats == seats {
			return nil
		}
		s.Spec.Subscriptions[0].Seats = seats
		return k8sClient.Update(ctx, s)
	})).To(Succeed())
	gen := s.Generation
	var confirmed *licv1.LicenseSku
	Eventually(func() bool {
		confirmed = getSku(ns, name)()
		return confirmed.Status.ObservedGeneration >= gen && confirmed.Status.Seats == seats
	}).Should(BeTrue())
	log[name] = append(log[name], capEntry{seats: seats, confirmRV: mustRV(confirmed.ResourceVersion)})
}

func mustRV(rv string) int64 {
	n, err := strconv.ParseInt(rv, 10, 64)
	Expect(err).NotTo(HaveOccurred())
	return n
}

var _ = Describe("Seat invariant under random churn", func() {
	It("never shows more holders than capacity, over random membership and seat changes (200; CHAOS_OPS overrides)", func() {
		ops := 200
		if v, err := strconv.Atoi(os.Getenv("CHAOS_OPS")); err == nil && v > 0 {
			ops = v
		}
		ns := newTenant()
		// The watcher, started on the empty namespace: every UserLicense status
		// the API server publishes, in order, with no gap (else the replay
		// below is void and the spec fails on it).
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		var (
			eventsMu sync.Mutex
			events   []userEvent
		)
		follower, err := harness.Follow(ctx, wc, &licv1.UserLicenseList{}, ns, func(ev harness.Event) {
			defer GinkgoRecover()
			u := ev.Object.(*licv1.UserLicense)
			active := map[string]bool{}
			if ev.Type != watch.Deleted {
				for _, l := range u.Status.Licenses {
					if l.State == licv1.LicenseStateActive {
						active[l.SKU] = true
					}
				}
			}
			eventsMu.Lock()
			defer eventsMu.Unlock()
			events = append(events, userEvent{rv: mustRV(u.ResourceVersion), user: u.Name, active: active})
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = follower.Stop() })
		rng := rand.New(rand.NewPCG(42, 7))
		caps := map[string]capacityLog{}
		skuNames := []string{"e3", "p1", "bi"}
		for _, s := range skuNames {
			create(harness.Sku(ns, s, "PART_"+s, 3))
		}
		var upns []string
		for i := range 12 {
			name := fmt.Sprintf("u%02d", i)
			create(harness.User(ns, name, "DE"))
			upns = append(upns, name+"@contoso.com")
		}
		groups := []string{"g1", "g2", "g3"}
		for i, g := range groups {
			create(harness.Group(ns, g, int32(i), upns[i*4:i*4+4], skuNames[i], skuNames[(i+1)%3]))
		}

		for _, s := range skuNames {
			setSeats(ns, s, 3, caps)
		}

		for op := range ops {
			switch k := rng.IntN(10); {
			case k < 6: // membership
				g := getGroup(ns, groups[rng.IntN(len(groups))])()
				upn := upns[rng.IntN(len(upns))]
				members := []string{}
				found := false
				for _, m := range g.Spec.Members {
					if m == upn {
						found = true
						continue
					}
					members = append(members, m)
				}
				if !found {
					members = append(members, upn)
				}
				g.Spec.Members = members
				if err := k8sClient.Update(ctx, g); err != nil {
					GinkgoWriter.Printf("op %d: %v\n", op, err)
				}
			case k < 9: // seats up or down, planned before the next change
				setSeats(ns, skuNames[rng.IntN(len(skuNames))], int64(rng.IntN(6)), caps)
			default: // a direct assignment toggled
				u := getUser(ns, fmt.Sprintf("u%02d", rng.IntN(12)))()
				if len(u.Spec.Licenses) == 0 {
					u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: skuNames[rng.IntN(len(skuNames))]}}
				} else {
					u.Spec.Licenses = nil
				}
				if err := k8sClient.Update(ctx, u); err != nil {
					GinkgoWriter.Printf("op %d: %v\n", op, err)
				}
			}
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		Eventually(converged(ns), 2*time.Minute).Should(BeTrue())
		Expect(follower.SyncToNow(ctx, k8sClient, &licv1.UserLicenseList{}, ns)).To(Succeed(), "the watcher lost history: the replay would be void")
		Expect(follower.Stop()).To(Succeed(), "the watcher lost history: the replay would be void")
		eventsMu.Lock()
		defer eventsMu.Unlock()

		// Replay every observed status in the API server's order.
		holders := map[string]map[string]bool{} // sku -> user -> holds
		for _, s := range skuNames {
			holders[s] = map[string]bool{}
		}
		var violations []string
		grants, last := 0, int64(0)
		for _, ev := range events {
			Expect(ev.rv).To(BeNumerically(">", last), "watch events arrive in resourceVersion order")
			last = ev.rv
			for _, s := range skuNames {
				had := holders[s][ev.user]
				holders[s][ev.user] = ev.active[s]
				if had || !ev.active[s] {
					continue
				}
				grants++
				if limit := caps[s].allowed(ev.rv); int64(len(trueKeys(holders[s]))) > limit {
					violations = append(violations, fmt.Sprintf("rv %d: %s granted %s: %d holders, capacity %d",
						ev.rv, ev.user, s, len(trueKeys(holders[s])), limit))
				}
			}
		}
		Expect(violations).To(BeEmpty())
		Expect(grants).To(BeNumerically(">", 20), "the churn must actually move seats (observed %d updates)", len(events))

		By("the final statuses are what a cold plan of the final objects gives")
		Eventually(func() []string { return coldPlanChanges(ns) }, 30*time.Second).Should(BeEmpty())

		By("the final statuses hold no more seats than capacity unless the SKU says Overallocated")
		for _, s := range skuNames {
			st := getSku(ns, s)()
			if st.Status.Assigned > st.Status.Seats {
				Expect(condition(st.Status.Conditions, "Overallocated")).To(Equal("True/Overallocated"))
			}
		}
	})
})
