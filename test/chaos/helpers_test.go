package chaos

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/licenseops/license-operator/test/harness"
)

func newTenant(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// createTenant makes users, groups (half by selector, half by name) and
// SKUs, some of them scarce (harness.CreateTenant).
func createTenant(ns string, users, groups, skus int, seed uint64) {
	Expect(harness.CreateTenant(ctx, k8sClient, ns, harness.TenantShape{Users: users, Groups: groups, SKUs: skus, Seed: seed})).To(Succeed())
}

// converged: every object planned at its generation.
func converged(ns string) func() bool {
	return func() bool {
		// A List that times out on the busy API server is "not yet".
		u, err := harness.Unplanned(ctx, k8sClient, ns)
		return err == nil && len(u) == 0
	}
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
	u, err := harness.Unplanned(ctx, k8sClient, ns)
	Expect(err).NotTo(HaveOccurred())
	return u
}

// coldPlanChanges names the objects a freshly started manager would still
// change: none, when the controller converged where the planner says.
func coldPlanChanges(ns string) []string {
	changed, err := harness.ColdPlanChanges(ctx, k8sClient, ns)
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
