package controllers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// capacityLog remembers every capacity the test gave a SKU, stamped before
// the update is sent: a controller may legitimately act on any capacity it
// could have seen within the cache-lag window.
type capacityLog struct {
	mu      sync.Mutex
	entries map[string][]capEntry
}

type capEntry struct {
	at    time.Time
	seats int64
}

func (c *capacityLog) set(sku string, seats int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[sku] = append(c.entries[sku], capEntry{time.Now(), seats})
}

// allowed is the highest capacity in effect at any moment of [t-window, t].
func (c *capacityLog) allowed(sku string, t time.Time, window time.Duration) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best int64 = -1
	var lastBefore int64 = -1
	for _, e := range c.entries[sku] {
		switch {
		case e.at.Before(t.Add(-window)):
			lastBefore = e.seats
		case !e.at.After(t):
			best = max(best, e.seats)
		}
	}
	return max(best, lastBefore)
}

var _ = Describe("Seat invariant under random churn", func() {
	It("never shows more holders than capacity, over 200 random membership and seat changes", func() {
		ns := newTenant()
		rng := rand.New(rand.NewPCG(42, 7))
		caps := &capacityLog{entries: map[string][]capEntry{}}
		skuNames := []string{"e3", "p1", "bi"}
		for _, s := range skuNames {
			caps.set(s, 3)
			create(sku(ns, s, "PART_"+s, 3))
		}
		var upns []string
		for i := range 12 {
			name := fmt.Sprintf("u%02d", i)
			create(user(ns, name, "DE"))
			upns = append(upns, name+"@contoso.com")
		}
		groups := []string{"g1", "g2", "g3"}
		for i, g := range groups {
			create(group(ns, g, int32(i), upns[i*4:i*4+4], skuNames[i], skuNames[(i+1)%3]))
		}

		// The watcher: every UserLicense status the API server publishes.
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		wctx, wcancel := context.WithCancel(ctx)
		defer wcancel()
		w, err := wc.Watch(wctx, &licv1.UserLicenseList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		var (
			mu         sync.Mutex
			violations []string
			grants     int
			updates    int
		)
		watchDone := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(watchDone)
			active := map[string]map[string]bool{} // user -> sku -> Active
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*licv1.UserLicense)
				if !ok {
					continue
				}
				now := time.Now()
				prev := active[u.Name]
				cur := map[string]bool{}
				if ev.Type != watch.Deleted {
					for _, l := range u.Status.Licenses {
						if l.State == licv1.LicenseStateActive {
							cur[l.SKU] = true
						}
					}
				}
				active[u.Name] = cur
				mu.Lock()
				updates++
				for s := range cur {
					if prev[s] {
						continue
					}
					grants++
					holders := 0
					for _, m := range active {
						if m[s] {
							holders++
						}
					}
					if limit := caps.allowed(s, now, 10*time.Second); int64(holders) > limit {
						violations = append(violations, fmt.Sprintf("%s granted %s: %d holders, capacity %d", u.Name, s, holders, limit))
					}
				}
				mu.Unlock()
			}
		}()

		for op := range 200 {
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
			case k < 9: // seats up or down
				s := getSku(ns, skuNames[rng.IntN(len(skuNames))])()
				seats := int64(rng.IntN(6))
				caps.set(s.Name, seats)
				s.Spec.Subscriptions[0].Seats = seats
				if err := k8sClient.Update(ctx, s); err != nil {
					GinkgoWriter.Printf("op %d: %v\n", op, err)
				}
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
		Eventually(converged(ns), time.Minute).Should(BeTrue())
		time.Sleep(time.Second)
		wcancel()
		Eventually(watchDone).Should(BeClosed())

		mu.Lock()
		defer mu.Unlock()
		Expect(violations).To(BeEmpty())
		Expect(grants).To(BeNumerically(">", 20), "the churn must actually move seats (observed %d updates)", updates)

		By("the final statuses hold no more seats than capacity unless the SKU says Overallocated")
		for _, s := range skuNames {
			st := getSku(ns, s)()
			if st.Status.Assigned > st.Status.Seats {
				Expect(condition(st.Status.Conditions, "Overallocated")).To(Equal("True/Overallocated"))
			}
		}
	})
})
