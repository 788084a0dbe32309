package controllers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/internal/graph/graphtest"
	"github.com/licenseops/license-operator/internal/licensecli"
	"github.com/licenseops/license-operator/test/harness"
)

// The directory suite runs the directory controller in its own manager
// (so that a test can stop and restart it: a new reconciler instance)
// against the envtest API server, next to the suite's tenant controller,
// and against the Graph test server over TLS, signing in with azidentity
// at the test server's token endpoint. Time at the Graph side is the test
// server's fake clock: Retry-After and the write budget advance it, and
// the write budget is checked per window of that clock.

// startDirectoryManager runs the directory controller for the Graph test server s.
// Its cache holds the namespace ns only: other tests' connections point
// at other test servers.
func startDirectoryManager(s *graphtest.Server, ns string) *runningManager {
	mcfg := rest.CopyConfig(cfg)
	mcfg.QPS, mcfg.Burst = -1, 0
	mgr, err := ctrl.NewManager(mcfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             ctrlConfig(true),
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
	})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.DirectoryReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder(controllers.DirectoryControllerName),
		Connector: &controllers.GraphConnector{
			Client: mgr.GetClient(), SecretReader: mgr.GetAPIReader(),
			HTTPClient: s.Client(), Clock: s.Clock,
		},
		MinSyncGap: -1,
		// Backoff and timestamps on the Graph side's fake clock.
		Now: s.Clock.Now,
	}
	Expect(r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 2})).To(Succeed())
	mctx, mcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	return &runningManager{cancel: mcancel, done: done}
}

func credentialSecret(ns string, s *graphtest.Server) {
	create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "graph-credential", Namespace: ns},
		StringData: map[string]string{licv1.SecretKeyClientSecret: s.ClientSecret},
	})
}

func connection(ns string, s *graphtest.Server, mode licv1.DirectoryMode) *licv1.DirectoryConnection {
	return &licv1.DirectoryConnection{
		ObjectMeta: metav1.ObjectMeta{Name: "entra", Namespace: ns},
		Spec: licv1.DirectoryConnectionSpec{
			TenantID: s.TenantID, ClientID: s.ClientID,
			Credential:    licv1.DirectoryCredential{Type: licv1.CredentialClientSecret, SecretName: "graph-credential"},
			Mode:          mode,
			GraphEndpoint: s.URL, AuthorityHost: s.URL,
		},
	}
}

func getConn(ns string) func() *licv1.DirectoryConnection {
	return func() *licv1.DirectoryConnection {
		c := &licv1.DirectoryConnection{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "entra"}, c); err != nil {
			return nil
		}
		return c
	}
}

// connReady is the connection's Ready status/reason at its current generation.
func connReady(ns string) func() string {
	return func() string {
		c := getConn(ns)()
		if c == nil || c.Status.ObservedGeneration != c.Generation {
			return ""
		}
		return condition(c.Status.Conditions, licv1.ConditionReady)
	}
}

// synced is the user's Synced condition as "status/reason".
func synced(ns, name string) func() string {
	return func() string {
		u := getUser(ns, name)()
		if u == nil {
			return ""
		}
		return condition(u.Status.Conditions, licv1.ConditionSynced)
	}
}

func syncedMessage(ns, name string) string {
	c := meta.FindStatusCondition(getUser(ns, name)().Status.Conditions, licv1.ConditionSynced)
	if c == nil {
		return ""
	}
	return c.Message
}

func patchConn(ns string, mutate func(*licv1.DirectoryConnection)) {
	Eventually(func() error {
		c := getConn(ns)()
		if c == nil {
			return fmt.Errorf("no connection")
		}
		mutate(c)
		return k8sClient.Update(ctx, c)
	}).Should(Succeed())
}

// successfulWrites counts the assignLicense calls answered 200, per UPN.
func successfulWrites(s *graphtest.Server) map[string]int {
	out := map[string]int{}
	for _, w := range s.Writes() {
		if w.Status == http.StatusOK {
			out[w.UPN]++
		}
	}
	return out
}

// checkWriteBudget asserts that in every window [t, t+1s) of the Graph
// server's clock there are at most burst + perSecond assignLicense calls,
// and over the whole span at most burst + perSecond * span.
func checkWriteBudget(writes []graphtest.Write, perSecond, burst int) {
	ExpectWithOffset(1, writes).NotTo(BeEmpty())
	for i := range writes {
		n := 0
		for j := i; j < len(writes) && writes[j].At.Sub(writes[i].At) < time.Second; j++ {
			n++
		}
		ExpectWithOffset(1, n).To(BeNumerically("<=", burst+perSecond), "writes in the window from %s", writes[i].At)
	}
	span := writes[len(writes)-1].At.Sub(writes[0].At).Seconds()
	ExpectWithOffset(1, float64(len(writes))).To(BeNumerically("<=", float64(burst)+float64(perSecond)*span))
}

var _ = Describe("DirectoryConnection", func() {
	Context("onboarding a tenant, observing it, then enforcing it", Ordered, func() {
		var (
			s   *graphtest.Server
			ns  string
			dir *runningManager
		)
		BeforeAll(func() {
			s = graphtest.NewServer()
			s.AddSku("SPE_E3", 10, "EXCHANGE_S_ENTERPRISE", "SWAY", "TEAMS1")
			s.AddSku("POWER_BI_PRO", 5, "BI_AZURE_P2")
			s.AddSku("VISIOCLIENT", 3, "VISIO_CLIENT_SUBSCRIPTION")
			s.AddUser("ann@contoso.com", "DE", graphtest.License{Sku: "SPE_E3", Disabled: []string{"SWAY"}}, graphtest.License{Sku: "POWER_BI_PRO"})
			s.AddUser("ben@contoso.com", "US")
			s.AddUser("cid@contoso.com", "FR", graphtest.License{Sku: "VISIOCLIENT"})
			s.AddUser("dan@contoso.com", "", graphtest.License{Sku: "SPE_E3"})
			s.AddGroup("All Staff", []graphtest.License{{Sku: "SPE_E3", Disabled: []string{"TEAMS1"}}}, "ben@contoso.com")
			ns = newTenant()
			dir = startDirectoryManager(s, ns)
			DeferCleanup(func() { dir.stop(); s.Close() })
		})

		It("imports the tenant with kubectl license import --from-graph's mapping, and the operator plans it", func() {
			c, err := s.NewClient(nil)
			Expect(err).NotTo(HaveOccurred())
			tenant, err := licensecli.ReadGraphTenant(ctx, c)
			Expect(err).NotTo(HaveOccurred())
			res := licensecli.BuildGraphImport(ns, tenant)
			Expect(res.Problems).To(BeEmpty())
			Expect(res.Objects()).To(HaveLen(3 + 1 + 4))
			create(res.Objects()...)
			Eventually(converged(ns)).Should(BeTrue())

			Expect(licenseState(ns, "ann", "spe-e3")()).To(Equal("Active"))
			Expect(licenseOf(getUser(ns, "ann")(), "spe-e3").DisabledPlans).To(Equal([]string{"SWAY"}))
			Expect(licenseState(ns, "ben", "spe-e3")()).To(Equal("Active"))
			Expect(licenseOf(getUser(ns, "ben")(), "spe-e3").AssignedBy).To(Equal([]string{"Group/all-staff"}))
			Expect(licenseState(ns, "cid", "visioclient")()).To(Equal("Active"))
			// Entra let dan keep E3 without a usage location; the planner does not.
			Expect(licenseState(ns, "dan", "spe-e3")()).To(Equal("Error/UsageLocationRequired"))
		})

		It("observes: reports per user what differs and writes nothing", func() {
			credentialSecret(ns, s)
			create(connection(ns, s, ""))
			Eventually(connReady(ns)).Should(Equal("True/SyncSucceeded"))
			conn := getConn(ns)()
			Expect(conn.Spec.Mode).To(Equal(licv1.DirectoryModeObserve))
			Expect(condition(conn.Status.Conditions, licv1.ConditionConnected)).To(Equal("True/GraphAccepted"))
			Expect(conn.Status.Users).To(Equal(licv1.DirectoryUserCounts{Total: 4, InSync: 2, Drifted: 2}))
			Expect(conn.Status.LastSyncWrites).To(BeZero())

			Eventually(synced(ns, "ann")).Should(Equal("True/InSync"))
			Expect(synced(ns, "cid")()).To(Equal("True/InSync"))
			Expect(synced(ns, "ben")()).To(Equal("False/Drifted"))
			Expect(syncedMessage(ns, "ben")).To(ContainSubstring("missing SPE_E3 (Entra gives it only through group " + graphtest.ID("group", "All Staff")))
			Expect(synced(ns, "dan")()).To(Equal("False/Drifted"))
			Expect(syncedMessage(ns, "dan")).To(ContainSubstring("extra SPE_E3"))
			// Fails if Observe wrote; the sync it checks ran (Ready
			// SyncSucceeded with 4 users compared, 2 drifted).
			Expect(s.Writes()).To(BeEmpty(), "Observe wrote to Entra")
			// Synced was added next to the tenant controller's conditions.
			Expect(condition(getUser(ns, "ann")().Status.Conditions, licv1.ConditionReady)).To(Equal("True/AllLicensesActive"))
		})

		It("keeps its Synced condition across the tenant controller's status writes", func() {
			dir.stop() // nobody rewrites Synced meanwhile
			before := meta.FindStatusCondition(getUser(ns, "ann")().Status.Conditions, licv1.ConditionSynced)
			Expect(before).NotTo(BeNil())
			Eventually(func() error {
				u := getUser(ns, "ann")()
				u.Spec.Licenses = slices.DeleteFunc(u.Spec.Licenses, func(l licv1.LicenseAssignment) bool { return l.SKU == "power-bi-pro" })
				return k8sClient.Update(ctx, u)
			}).Should(Succeed())
			Eventually(func() string { return licenseState(ns, "ann", "power-bi-pro")() }).Should(BeEmpty())
			u := getUser(ns, "ann")()
			Expect(u.Status.ObservedGeneration).To(Equal(u.Generation))
			after := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionSynced)
			Expect(after).NotTo(BeNil(), "the tenant controller's status write dropped Synced")
			Expect(*after).To(Equal(*before))

			dir = startDirectoryManager(s, ns)
			Eventually(synced(ns, "ann")).Should(Equal("False/Drifted"))
			Expect(syncedMessage(ns, "ann")).To(ContainSubstring("extra POWER_BI_PRO"))
		})

		It("stops an Enforce sync that would remove more than the threshold, writing nothing", func() {
			patchConn(ns, func(c *licv1.DirectoryConnection) { c.Spec.Mode = licv1.DirectoryModeEnforce })
			Eventually(connReady(ns)).Should(Equal("False/RemovalThresholdExceeded"))
			conn := getConn(ns)()
			Expect(condition(conn.Status.Conditions, licv1.ConditionStalled)).To(Equal("True/RemovalThresholdExceeded"))
			stop := conn.Status.SafetyStop
			Expect(stop).NotTo(BeNil())
			// ann's POWER_BI_PRO and dan's SPE_E3, of the 4 held directly.
			Expect(stop.Removals).To(BeEquivalentTo(2))
			Expect(stop.HeldLicenses).To(BeEquivalentTo(4))
			Expect(stop.Percent).To(BeEquivalentTo(50))
			Expect(stop.Examples).To(Equal([]string{"ann@contoso.com: remove POWER_BI_PRO", "dan@contoso.com: remove SPE_E3"}))
			// Fails if the stopped Enforce sync wrote anyway; the sync ran
			// and planned the removals (the safety stop above names them).
			Expect(s.Writes()).To(BeEmpty())
		})

		It("enforces the acknowledged plan: Entra converges to the decided licenses, one write per user", func() {
			hash := getConn(ns)().Status.SafetyStop.PlanHash
			patchConn(ns, func(c *licv1.DirectoryConnection) { c.Spec.Safety.AcknowledgedPlan = hash })
			Eventually(connReady(ns)).Should(Equal("True/SyncSucceeded"))
			conn := getConn(ns)()
			Expect(conn.Status.SafetyStop).To(BeNil())
			Expect(meta.FindStatusCondition(conn.Status.Conditions, licv1.ConditionStalled)).To(BeNil())
			Expect(conn.Status.Users).To(Equal(licv1.DirectoryUserCounts{Total: 4, InSync: 4}))

			Expect(s.DirectLicenses("ann@contoso.com")).To(Equal(map[string][]string{"SPE_E3": {"SWAY"}}))
			Expect(s.DirectLicenses("ben@contoso.com")).To(Equal(map[string][]string{"SPE_E3": {"TEAMS1"}}))
			Expect(s.DirectLicenses("cid@contoso.com")).To(Equal(map[string][]string{"VISIOCLIENT": {}}))
			Expect(s.DirectLicenses("dan@contoso.com")).To(BeEmpty())
			Expect(successfulWrites(s)).To(Equal(map[string]int{"ann@contoso.com": 1, "ben@contoso.com": 1, "dan@contoso.com": 1}))
			for _, name := range []string{"ann", "ben", "cid", "dan"} {
				Eventually(synced(ns, name)).Should(Equal("True/InSync"), name)
			}
			// Every write carried both lists.
			for _, w := range s.Writes() {
				var body map[string]json.RawMessage
				Expect(json.Unmarshal(w.Request, &body)).To(Succeed())
				Expect(body).To(HaveKey("addLicenses"))
				Expect(body).To(HaveKey("removeLicenses"))
				Expect(w.Batched).To(BeTrue())
			}
		})
	})

	It("puts Graph's refusals in the user's Synced condition", func() {
		s := graphtest.NewServer()
		DeferCleanup(s.Close)
		s.AddSku("SPE_E3", 2, "EXCHANGE_S_ENTERPRISE")
		s.AddSku("EXCHANGESTANDARD", 5, "EXCHANGE_S_STANDARD")
		// Graph knows these plans conflict; the imported LicenseSkus do not.
		s.Exclusive("EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD")
		s.AddUser("mx@contoso.com", "DE", graphtest.License{Sku: "SPE_E3"})
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 10, plan("EXCHANGE_S_ENTERPRISE")), harness.Sku(ns, "exs", "EXCHANGESTANDARD", 10, plan("EXCHANGE_S_STANDARD")))
		create(harness.User(ns, "mx", "DE", "e3", "exs"))
		for i := 1; i <= 3; i++ {
			name := fmt.Sprintf("u%d", i)
			s.AddUser(name+"@contoso.com", "DE")
			create(harness.User(ns, name, "DE", "e3"))
		}
		Eventually(converged(ns)).Should(BeTrue())
		credentialSecret(ns, s)
		conn := connection(ns, s, licv1.DirectoryModeEnforce)
		conn.Spec.Safety.MaxRemovalPercent = 100
		create(conn)
		dir := startDirectoryManager(s, ns)
		DeferCleanup(dir.stop)

		Eventually(connReady(ns)).Should(Equal("False/UsersDrifted"))
		Eventually(synced(ns, "mx")).Should(Equal("False/MutuallyExclusiveViolation"))
		Expect(syncedMessage(ns, "mx")).To(ContainSubstring("mutually exclusive"))
		Expect(syncedMessage(ns, "mx")).To(ContainSubstring("add EXCHANGESTANDARD"))
		// One seat of SPE_E3 is left in Entra for three users.
		Eventually(func() []string {
			var out []string
			for i := 1; i <= 3; i++ {
				out = append(out, synced(ns, fmt.Sprintf("u%d", i))())
			}
			slices.Sort(out)
			return out
		}).Should(Equal([]string{"False/CountViolation", "False/CountViolation", "True/InSync"}))
		Expect(getConn(ns)().Status.Users.Failed).To(BeEquivalentTo(3))
		Expect(s.Consumed("SPE_E3")).To(BeEquivalentTo(2))

		// Users whose write failed wait out their backoff: a sync within it
		// does not write them again, and keeps their condition.
		writes := len(s.Writes())
		resync := func(d time.Duration) {
			patchConn(ns, func(c *licv1.DirectoryConnection) { c.Spec.SyncInterval = &metav1.Duration{Duration: d} })
			Eventually(func() int64 { c := getConn(ns)(); return c.Status.ObservedGeneration - c.Generation }).Should(BeZero())
		}
		resync(2 * time.Minute)
		Expect(s.Writes()).To(HaveLen(writes))
		Expect(synced(ns, "mx")()).To(Equal("False/MutuallyExclusiveViolation"))
		// After it (30 s on the clock), they are written again.
		s.Clock.Advance(31 * time.Second)
		resync(3 * time.Minute)
		Expect(s.Writes()).To(HaveLen(writes + 3))
	})

	It("keeps to the write budget, survives 429s and a restart without duplicate or lost assignments", func() {
		s := graphtest.NewServer()
		DeferCleanup(s.Close)
		s.AddSku("SPE_E3", 100, "EXCHANGE_S_ENTERPRISE", "SWAY")
		ns := newTenant()
		create(harness.Sku(ns, "e3", "SPE_E3", 100, plan("EXCHANGE_S_ENTERPRISE"), plan("SWAY")))
		const users = 40
		for i := range users {
			name := fmt.Sprintf("u%02d", i)
			s.AddUser(name+"@contoso.com", "DE")
			u := harness.User(ns, name, "DE")
			u.Spec.Licenses = []licv1.LicenseAssignment{{SKU: "e3", DisabledPlans: []string{"SWAY"}}}
			create(u)
		}
		Eventually(converged(ns)).Should(BeTrue())
		s.Throttle("batch", 1, 2*time.Second)
		s.Throttle("assignLicense", 4, 3*time.Second)
		s.Pause()
		credentialSecret(ns, s)
		const perSecond = 5
		conn := connection(ns, s, licv1.DirectoryModeEnforce)
		conn.Spec.WritesPerSecond = perSecond
		create(conn)

		// The first batch is in flight when the manager stops.
		first := startDirectoryManager(s, ns)
		Eventually(s.InFlight).Should(Equal(1))
		first.stop()
		s.Resume()
		// The server finishes the batch the stopped manager never heard back from.
		Eventually(func() int { return len(s.Writes()) }).Should(Equal(perSecond))
		beforeRestart := len(s.Writes())

		second := startDirectoryManager(s, ns)
		DeferCleanup(second.stop)
		Eventually(connReady(ns)).Should(Equal("True/SyncSucceeded"))
		for i := range users {
			upn := fmt.Sprintf("u%02d@contoso.com", i)
			Expect(s.DirectLicenses(upn)).To(Equal(map[string][]string{"SPE_E3": {"SWAY"}}), upn)
		}
		Expect(getConn(ns)().Status.Users.InSync).To(BeEquivalentTo(users))
		// No user was assigned twice, none was lost.
		writes := successfulWrites(s)
		Expect(writes).To(HaveLen(users))
		for upn, n := range writes {
			Expect(n).To(Equal(1), upn)
		}
		throttled := 0
		for _, w := range s.Writes() {
			if w.Status == http.StatusTooManyRequests {
				throttled++
			}
		}
		Expect(throttled).To(Equal(4))
		// Each manager instance kept to the budget (batches of at most perSecond).
		all := s.Writes()
		checkWriteBudget(all[:beforeRestart], perSecond, perSecond)
		checkWriteBudget(all[beforeRestart:], perSecond, perSecond)
		span := all[len(all)-1].At.Sub(all[beforeRestart].At)
		Expect(span).To(BeNumerically(">=", time.Duration(len(all)-beforeRestart-perSecond)*time.Second/perSecond))
	})

	It("signs in with a federated token of a ServiceAccount of the namespace, and says when it cannot", func() {
		s := graphtest.NewServer()
		DeferCleanup(s.Close)
		s.AddSku("SPE_E3", 1, "EXCHANGE_S_ENTERPRISE")
		ns := newTenant()
		want := "system:serviceaccount:" + ns + ":entra-sync"
		s.VerifyAssertion = func(token string) error {
			parts := strings.Split(token, ".")
			if len(parts) != 3 {
				return fmt.Errorf("not a JWT")
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				return err
			}
			var claims struct {
				Sub string   `json:"sub"`
				Aud []string `json:"aud"`
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				return err
			}
			if claims.Sub != want || !slices.Contains(claims.Aud, licv1.AudienceAzureADTokenExchange) {
				return fmt.Errorf("subject %s audience %v", claims.Sub, claims.Aud)
			}
			return nil
		}
		conn := connection(ns, s, "")
		conn.Spec.Credential = licv1.DirectoryCredential{Type: licv1.CredentialWorkloadIdentity, ServiceAccountName: "entra-sync"}
		create(conn)
		dir := startDirectoryManager(s, ns)
		DeferCleanup(dir.stop)

		// No ServiceAccount yet: a human must create it.
		Eventually(connReady(ns)).Should(Equal("False/CredentialInvalid"))
		c := getConn(ns)()
		Expect(condition(c.Status.Conditions, licv1.ConditionStalled)).To(Equal("True/CredentialInvalid"))
		Expect(meta.FindStatusCondition(c.Status.Conditions, licv1.ConditionReady).Message).To(ContainSubstring("ServiceAccount " + ns + "/entra-sync"))

		create(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "entra-sync", Namespace: ns}})
		patchConn(ns, func(c *licv1.DirectoryConnection) { c.Spec.SyncInterval = &metav1.Duration{Duration: time.Minute} })
		Eventually(connReady(ns)).Should(Equal("True/SyncSucceeded"))
		Expect(condition(getConn(ns)().Status.Conditions, licv1.ConditionConnected)).To(Equal("True/GraphAccepted"))
		Expect(s.Assertions()).NotTo(BeEmpty())
	})
})
