package chaos

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// holderWatch follows every UserLicense status of a tenant, from the
// resourceVersion of a list and with no gap (harness.Follow: a dropped watch
// is resumed where it stopped; a lost range fails stop), and records any
// seat a user loses after holding it. The specs using it never change the
// tenant's objects while it runs, so no loss has a cause.
type holderWatch struct {
	follower *harness.Follower
	mu       sync.Mutex
	held     map[string]map[string]bool // user -> sku -> ever held
	losses   []string
	updates  int
}

func watchHolders(ns string) *holderWatch {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	h := &holderWatch{held: map[string]map[string]bool{}}
	h.follower, err = harness.Follow(ctx, wc, &licv1.UserLicenseList{}, ns, func(ev harness.Event) {
		u := ev.Object.(*licv1.UserLicense)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !ev.Initial {
			h.updates++
		}
		active := map[string]bool{}
		for _, l := range u.Status.Licenses {
			if l.State == licv1.LicenseStateActive {
				active[l.SKU] = true
			}
		}
		if h.held[u.Name] == nil {
			h.held[u.Name] = map[string]bool{}
		}
		for s := range h.held[u.Name] {
			if !active[s] {
				h.losses = append(h.losses, fmt.Sprintf("%s lost %s (rv %s)", u.Name, s, u.ResourceVersion))
			}
		}
		for s := range active {
			h.held[u.Name][s] = true
		}
	})
	Expect(err).NotTo(HaveOccurred())
	return h
}

// stop waits until the history reached the tenant's last UserLicense write,
// ends it, and fails the spec if it has a gap: the checks over it would be
// void. It returns the losses, the number of updates seen and the number
// of users seen holding a seat.
func (h *holderWatch) stop(ns string) (losses []string, updates, holding int) {
	Expect(h.follower.SyncToNow(ctx, k8sClient, &licv1.UserLicenseList{}, ns)).To(Succeed(), "the UserLicense history has a gap: the seat-loss check is void")
	Expect(h.follower.Stop()).To(Succeed(), "the UserLicense history has a gap: the seat-loss check is void")
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, skus := range h.held {
		if len(skus) > 0 {
			holding++
		}
	}
	return h.losses, h.updates, holding
}

var _ = Describe("Manager under faults", func() {
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)

	It("survives SIGKILL at 20 random points of a convergence: same result as a cold plan, no seat lost", func() {
		ns := newTenant("kill")
		holders := watchHolders(ns)
		createTenant(ns, 3000, 12, 5, 1)
		rng := rand.New(rand.NewPCG(2026, 11))
		for kill := range 20 {
			m := startManager(fmt.Sprintf("kill-%02d", kill), ns)
			time.Sleep(time.Duration(150+rng.IntN(900)) * time.Millisecond)
			Expect(m.alive()).To(BeTrue(), "manager exited by itself:\n%s", m.logTail())
			m.kill()
		}
		// Prove the kills hit a convergence in progress, not a finished one.
		Expect(unplanned(ns)).NotTo(BeEmpty(), "the tenant converged before the kills ended: make it larger")

		m := startManager("kill-final", ns)
		defer m.stop()
		Eventually(converged(ns)).Should(BeTrue(), func() string { return notConverged(ns) + "\n" + m.logTail() })
		Eventually(func() []string { return coldPlanChanges(ns) }, 30*time.Second).Should(BeEmpty())
		// Fails on any seat lost in the complete history (stop fails on a
		// gap); the history must contain every user's creation and status,
		// and seats actually held, or there was nothing to lose.
		losses, updates, holding := holders.stop(ns)
		Expect(losses).To(BeEmpty(), "a holder lost a seat although nothing changed")
		Expect(updates).To(BeNumerically(">", 3000))
		Expect(holding).To(BeNumerically(">", 1000), "users seen holding a seat")
	})

	It("with two replicas and leader election: exactly one writes, the other takes over", func() {
		ns := newTenant("ha")
		createTenant(ns, 60, 4, 3, 3)
		le := []string{"--leader-elect", "--leader-election-namespace=" + ns}
		a := startManager("replica-a", ns, le...)
		b := startManager("replica-b", ns, le...)
		defer func() {
			for _, m := range []*manager{a, b} {
				if m.alive() {
					m.stop()
				}
			}
		}()
		Eventually(converged(ns)).Should(BeTrue())
		writes := func(m *manager) float64 {
			n, err := m.statusWrites()
			Expect(err).NotTo(HaveOccurred())
			return n
		}
		// Fails if both replicas write (no exclusion) or neither does (the
		// tenant converged above, so the leader has written).
		Consistently(func() []bool { return []bool{writes(a) > 0, writes(b) > 0} }, 3*time.Second).
			Should(Or(Equal([]bool{true, false}), Equal([]bool{false, true})), "exactly one replica writes")

		leader, standby := a, b
		if writes(b) > 0 {
			leader, standby = b, a
		}
		By("killing the leader without releasing its lease, then changing the tenant")
		leader.kill()
		u := &licv1.UserLicense{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "u0000"}, u)).To(Succeed())
		u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: "sku-0"}}
		Expect(k8sClient.Update(ctx, u)).To(Succeed())
		Eventually(converged(ns)).Should(BeTrue())
		Expect(writes(standby)).To(BeNumerically(">", 0), "the standby took over")
		Expect(coldPlanChanges(ns)).To(BeEmpty())
	})

	It("recovers when the API server goes away and comes back, without a restart", func() {
		ns := newTenant("partition")
		createTenant(ns, 40, 4, 2, 5)

		target, err := url.Parse(cfg.Host)
		Expect(err).NotTo(HaveOccurred())
		g := newGate(target.Host)
		defer g.close()
		kc, err := clientcmd.Load(testEnv.KubeConfig)
		Expect(err).NotTo(HaveOccurred())
		for _, c := range kc.Clusters {
			c.Server = "https://" + g.addr()
		}
		gated := filepath.Join(workDir, "gated.kubeconfig")
		Expect(clientcmd.WriteToFile(*kc, gated)).To(Succeed())
		DeferCleanup(os.Remove, gated)

		saved := kubeconfig
		kubeconfig = gated
		m := startManager("partition", ns)
		kubeconfig = saved
		defer m.stop()
		Eventually(converged(ns)).Should(BeTrue())

		By("cutting the API server off for 15s while the tenant changes")
		g.set(false)
		sku := &licv1.LicenseSku{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "sku-0"}, sku)).To(Succeed())
		sku.Spec.Subscriptions[0].Seats += 7
		Expect(k8sClient.Update(ctx, sku)).To(Succeed())
		time.Sleep(15 * time.Second)
		Expect(m.alive()).To(BeTrue(), "the manager must ride out an unavailable API server:\n%s", m.logTail())
		Expect(unplanned(ns)).NotTo(BeEmpty(), "nothing can converge while the API server is unreachable")

		By("bringing it back")
		g.set(true)
		Eventually(converged(ns)).Should(BeTrue())
		Expect(coldPlanChanges(ns)).To(BeEmpty())
		Expect(m.alive()).To(BeTrue())
	})

	It("recovers when the API server is stopped and restarted, without a restart of its own", func() {
		ns := newTenant("apiserver-restart")
		createTenant(ns, 40, 4, 2, 6)
		// With leader election, as deployed: a leader that cannot renew its
		// lease within the renew deadline exits (it must not write without
		// it), so the deadline is raised above the outage.
		m := startManager("apiserver-restart", ns, "--leader-elect", "--leader-election-namespace="+ns,
			"--leader-elect-lease-duration=60s", "--leader-elect-renew-deadline=45s")
		defer m.stop()
		Eventually(converged(ns)).Should(BeTrue())

		By("stopping kube-apiserver for 10s")
		args := stopAPIServer()
		time.Sleep(10 * time.Second)
		Expect(m.alive()).To(BeTrue(), "the manager must ride out a stopped API server:\n%s", m.logTail())

		By("restarting it (same port, certificates and etcd), then changing the tenant")
		startAPIServer(args)
		sku := &licv1.LicenseSku{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "sku-0"}, sku)).To(Succeed())
		sku.Spec.Subscriptions[0].Seats += 7
		Expect(k8sClient.Update(ctx, sku)).To(Succeed())
		Eventually(converged(ns)).Should(BeTrue(), func() string { return notConverged(ns) + "\n" + m.logTail() })
		Expect(coldPlanChanges(ns)).To(BeEmpty())
		Expect(m.alive()).To(BeTrue())
	})
})
