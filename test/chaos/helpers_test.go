package chaos

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
)

func newTenant(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// createTenant makes users, groups (half by selector, half by name) and
// SKUs, some of them scarce.
func createTenant(ns string, users, groups, skus int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	for s := range skus {
		seats := int64(users / (2 + s%3))
		Expect(k8sClient.Create(ctx, &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sku-%d", s), Namespace: ns},
			Spec: licv1.LicenseSkuSpec{
				SkuPartNumber: fmt.Sprintf("PART_%d", s),
				Subscriptions: []licv1.Subscription{{Name: "main", Seats: seats}},
				ServicePlans:  []licv1.ServicePlan{{Name: fmt.Sprintf("PLAN_%d", s)}},
			},
		})).To(Succeed())
	}
	for g := range groups {
		grp := &licv1.LicenseGroup{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("g%02d", g), Namespace: ns},
			Spec: licv1.LicenseGroupSpec{
				Priority: int32(g % 3),
				Licenses: []licv1.LicenseAssignment{{SKU: fmt.Sprintf("sku-%d", g%skus)}},
			},
		}
		if g%2 == 0 {
			grp.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", g%4)}}
		} else {
			for range users / 4 {
				grp.Spec.Members = append(grp.Spec.Members, fmt.Sprintf("u%04d@contoso.com", rng.IntN(users)))
			}
			grp.Spec.Members = dedupe(grp.Spec.Members)
		}
		Expect(k8sClient.Create(ctx, grp)).To(Succeed())
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for i := w; i < users; i += 16 {
				Expect(k8sClient.Create(ctx, &licv1.UserLicense{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u%04d", i), Namespace: ns, Labels: map[string]string{"team": fmt.Sprintf("t%d", i%4)}},
					Spec:       licv1.UserLicenseSpec{UserPrincipalName: fmt.Sprintf("u%04d@contoso.com", i), UsageLocation: "DE"},
				})).To(Succeed())
			}
		}()
	}
	wg.Wait()
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// converged: every object planned at its generation.
func converged(ns string) func() bool {
	return func() bool { return len(unplanned(ns)) == 0 }
}

// notConverged describes the first objects not yet planned, for failures.
func notConverged(ns string) string {
	u := unplanned(ns)
	n := len(u)
	if len(u) > 25 {
		u = u[:25]
	}
	return fmt.Sprintf("%d objects not planned; %s", n, strings.Join(u, "; "))
}

func unplanned(ns string) []string {
	u, err := envtestutil.Unplanned(ctx, k8sClient, ns)
	Expect(err).NotTo(HaveOccurred())
	return u
}

// coldPlanChanges names the objects a freshly started manager would still
// change: none, when the controller converged where the planner says.
func coldPlanChanges(ns string) []string {
	changed, err := envtestutil.ColdPlanChanges(ctx, k8sClient, ns)
	Expect(err).NotTo(HaveOccurred())
	return changed
}

// gate is a TCP proxy in front of the API server that can be cut: while
// closed it drops every connection and refuses new ones, as an API server
// that went away does.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   bool
	conns  map[net.Conn]struct{}
}

func newGate(target string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	g := &gate{ln: ln, target: target, open: true, conns: map[net.Conn]struct{}{}}
	go g.serve()
	return g
}

func (g *gate) addr() string { return g.ln.Addr().String() }

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if !g.open {
			g.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", g.target, 5*time.Second)
		if err != nil {
			g.mu.Unlock()
			c.Close()
			continue
		}
		g.conns[c], g.conns[up] = struct{}{}, struct{}{}
		g.mu.Unlock()
		go g.pipe(c, up)
		go g.pipe(up, c)
	}
}

func (g *gate) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// set opens or closes the gate; closing drops every live connection.
func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
	if !open {
		for c := range g.conns {
			c.Close()
		}
		g.conns = map[net.Conn]struct{}{}
	}
}

func (g *gate) close() { g.ln.Close(); g.set(false) }
