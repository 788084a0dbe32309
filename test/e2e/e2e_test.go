package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/licenseops/license-operator/test/harness"
)

// decodeDocs splits rendered YAML into objects.
func decodeDocs(data string) []*unstructured.Unstructured {
	GinkgoHelper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		Expect(err).NotTo(HaveOccurred())
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal(doc, &u.Object)).To(Succeed())
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// Objects of config/samples/ that become Ready, and those that must not.
var (
	readyObjects = []string{
		"licensesku/m365-e3", "licensesku/exchange-p2", "licensesku/power-bi-pro",
		"licensegroup/executives",
		"userlicense/ann", "userlicense/ben", "userlicense/carla", "userlicense/dave", "userlicense/erin",
	}
	notReadyObjects = []string{
		"licensesku/exchange-p1", "licensegroup/contractors", "licensegroup/all-employees",
		"userlicense/frank", "userlicense/gina",
	}
)

// licenseState is "<state>/<reason>" of one SKU in a user's status.
func licenseState(user, sku string) string {
	GinkgoHelper()
	return jsonpath("userlicense/"+user,
		fmt.Sprintf(`{.status.licenses[?(@.sku=="%s")].state}/{.status.licenses[?(@.sku=="%s")].reason}`, sku, sku))
}

// One story, in order: install, run the manager, use it with kubectl,
// uninstall. ContinueOnFailure: one wrong figure does not hide the other
// scenarios; specs that need a working manager fail at once without one.
var _ = Describe("license-operator installed from config/default and driven with kubectl", Ordered, ContinueOnFailure, func() {
	var manager *harness.Process
	var managerReady bool
	var healthPort int

	requireManager := func() {
		GinkgoHelper()
		if !managerReady || !manager.Alive() {
			out := ""
			if manager != nil {
				out = output(manager)
			}
			Fail("the manager is not running (see the spec that starts it)" + out)
		}
	}

	AfterAll(func() {
		if manager != nil && manager.Alive() {
			Expect(manager.Stop(30*time.Second)).To(Succeed(), "the manager must exit cleanly on SIGTERM:\n%s", output(manager))
		}
	})

	It("renders config/default into namespace, CRDs, RBAC, a hardened Deployment and the metrics Service", func() {
		objs := decodeDocs(kubectl("kustomize", "config/default"))
		kinds := map[string][]string{}
		var deploy appsv1.Deployment
		for _, o := range objs {
			kinds[o.GetKind()] = append(kinds[o.GetKind()], o.GetName())
			if o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" &&
				!strings.HasPrefix(o.GetKind(), "Cluster") {
				Expect(o.GetNamespace()).To(Equal(systemNamespace), "%s %s", o.GetKind(), o.GetName())
			}
			if o.GetKind() == "Deployment" {
				data, err := o.MarshalJSON()
				Expect(err).NotTo(HaveOccurred())
				Expect(yaml.Unmarshal(data, &deploy)).To(Succeed())
			}
		}
		Expect(kinds["Namespace"]).To(ConsistOf(systemNamespace))
		Expect(kinds["CustomResourceDefinition"]).To(ConsistOf(
			"licenseskus.licensing.licenseops.dev", "licensegroups.licensing.licenseops.dev", "userlicenses.licensing.licenseops.dev",
			"directoryconnections.licensing.licenseops.dev"))
		Expect(kinds["ServiceAccount"]).To(ConsistOf(serviceAccount))
		Expect(kinds["ClusterRole"]).To(ContainElement("license-operator-manager-role"))
		Expect(kinds["ClusterRoleBinding"]).To(ContainElement("license-operator-manager-rolebinding"))
		Expect(kinds["Role"]).To(ContainElement("license-operator-leader-election-role"))
		Expect(kinds["Service"]).To(ConsistOf("license-operator-controller-manager-metrics-service"))
		Expect(kinds["Deployment"]).To(ConsistOf("license-operator-controller-manager"))

		spec := deploy.Spec.Template.Spec
		Expect(spec.ServiceAccountName).To(Equal(serviceAccount))
		Expect(spec.SecurityContext).NotTo(BeNil())
		Expect(spec.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
		Expect(spec.SecurityContext.SeccompProfile).NotTo(BeNil())
		Expect(spec.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
		Expect(spec.Containers).To(HaveLen(1))
		c := spec.Containers[0]
		Expect(c.Args).To(ContainElements("--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081"))
		Expect(c.LivenessProbe).NotTo(BeNil())
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(c.ReadinessProbe).NotTo(BeNil())
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))
		Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceMemory))
		Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
		Expect(c.SecurityContext).NotTo(BeNil())
		Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
		Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
		Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	})

	It("passes a server-side dry run, including the restricted Pod Security level", func() {
		rendered := kubectl("kustomize", "config/default")
		By("creating the Namespace for real: namespaced objects cannot be dry-run into a missing namespace")
		var ns string
		for _, o := range decodeDocs(rendered) {
			if o.GetKind() == "Namespace" {
				data, err := yaml.Marshal(o.Object)
				Expect(err).NotTo(HaveOccurred())
				ns = string(data)
			}
		}
		_, errOut, err := run(ns, "kubectl", "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), errOut)

		out, errOut, err := run(rendered, "kubectl", "apply", "--dry-run=server", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), errOut)
		Expect(out).To(ContainSubstring("deployment.apps/license-operator-controller-manager created (server dry run)"))
		Expect(out).To(ContainSubstring("service/license-operator-controller-manager-metrics-service created (server dry run)"))
		// The namespace enforces the restricted Pod Security level; the API
		// server warns when a Deployment's pods would be refused.
		Expect(errOut).NotTo(ContainSubstring("PodSecurity"), "the manager's pods would violate the namespace's Pod Security level")
	})

	It("installs with `make deploy`'s pipeline (render with IMG, server-side apply)", func() {
		rendered, errOut, err := run("", filepath.Join(repoRoot, "hack", "render-install.sh"), "--image", testImage)
		Expect(err).NotTo(HaveOccurred(), errOut)
		_, errOut, err = run(rendered, "kubectl", "apply", "--server-side", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), errOut)
		Expect(kubectl("get", "deployment", "-n", systemNamespace, "license-operator-controller-manager",
			"-o", "jsonpath={.spec.template.spec.containers[0].image}")).To(Equal(testImage))
	})

	It("runs the manager binary as the installed ServiceAccount, with leader election", func() {
		healthPort = freePort()
		manager = start("manager", filepath.Join(binDir, "manager"),
			"--kubeconfig", managerKubeconfig,
			"--metrics-bind-address=0",
			fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", healthPort),
			"--leader-elect", "--leader-election-namespace="+systemNamespace)
		Eventually(func(g Gomega) {
			g.Expect(manager.Alive()).To(BeTrue(), "the manager exited:\n%s", output(manager))
			g.Expect(httpStatus(fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort))).To(Equal(200))
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		Eventually(func() string {
			return kubectl("get", "lease", "-n", systemNamespace, "-o", "jsonpath={.items[*].metadata.name}")
		}).WithTimeout(30*time.Second).Should(ContainSubstring("license-operator.licensing.licenseops.dev"),
			"the manager takes the leader election Lease with the RBAC of config/rbac")
		managerReady = true
	})

	It("applies config/samples/ with kubectl", func() {
		files, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		objects := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			objects += len(decodeDocs(string(data)))
		}
		out := kubectl("apply", "-f", "config/samples/")
		Expect(strings.Count(out, " created\n")).To(Equal(objects), out)
	})

	It("makes Ready what should be Ready (kubectl wait --for=condition=Ready)", func() {
		requireManager()
		kubectl(append([]string{"wait", "-n", tenant, "--for=condition=Ready", "--timeout=60s"}, readyObjects...)...)
	})

	It("reports Ready=False, at the current generation, for what is short of seats or misconfigured", func() {
		requireManager()
		kubectl(append([]string{"wait", "-n", tenant, "--for=condition=Ready=false", "--timeout=60s"}, notReadyObjects...)...)
		for _, obj := range notReadyObjects {
			gens := strings.Split(jsonpath(obj, `{.metadata.generation}={.status.observedGeneration}={.status.conditions[?(@.type=="Ready")].observedGeneration}`), "=")
			Expect(gens).To(HaveLen(3))
			Expect(gens[0]).NotTo(BeEmpty())
			Expect(gens).To(HaveEach(gens[0]), "%s: generation, status.observedGeneration and Ready's observedGeneration", obj)
		}
	})

	It("times out `kubectl wait --for=condition=Ready` on the contractors group, which is a seat short", func() {
		_, errOut, err := run("", "kubectl", "wait", "-n", tenant, "--for=condition=Ready", "--timeout=3s", "licensegroup/contractors")
		Expect(err).To(HaveOccurred())
		Expect(exitCode(err)).NotTo(BeZero())
		Expect(errOut).To(ContainSubstring("timed out waiting for the condition on licensegroups/contractors"))
	})

	It("prints the seat figures in `kubectl get licensing` columns", func() {
		requireManager()
		var tables []table
		// Ready was reached above; the figures are final. Eventually only
		// absorbs a status write still in flight.
		Eventually(func(g Gomega) {
			tables = parseTables(kubectl("get", "licensing", "-n", tenant))
			g.Expect(tables).To(HaveLen(3))
			all := table{}
			for _, t := range tables {
				for k, v := range t {
					all[k] = v
				}
			}
			sku := func(name string) map[string]string { return all["licensesku.licensing.licenseops.dev/"+name] }
			group := func(name string) map[string]string { return all["licensegroup.licensing.licenseops.dev/"+name] }
			user := func(name string) map[string]string { return all["userlicense.licensing.licenseops.dev/"+name] }

			g.Expect(sku("exchange-p1")).To(And(
				HaveKeyWithValue("PART NUMBER", "EXCHANGESTANDARD"), HaveKeyWithValue("SEATS", "2"),
				HaveKeyWithValue("ASSIGNED", "2"), HaveKeyWithValue("READY", "False")))
			g.Expect(sku("m365-e3")).To(And(
				HaveKeyWithValue("PART NUMBER", "SPE_E3"), HaveKeyWithValue("SEATS", "5"),
				HaveKeyWithValue("ASSIGNED", "3"), HaveKeyWithValue("AVAILABLE", "2"), HaveKeyWithValue("READY", "True")))
			g.Expect(sku("power-bi-pro")).To(And(
				HaveKeyWithValue("SEATS", "5"), HaveKeyWithValue("ASSIGNED", "2"), HaveKeyWithValue("AVAILABLE", "3")))
			g.Expect(group("contractors")).To(And(
				HaveKeyWithValue("MEMBERS", "3"), HaveKeyWithValue("LICENSED", "2"), HaveKeyWithValue("ERRORS", "1"), HaveKeyWithValue("READY", "False")))
			g.Expect(group("executives")).To(And(
				HaveKeyWithValue("MEMBERS", "2"), HaveKeyWithValue("LICENSED", "2"), HaveKeyWithValue("READY", "True")))
			g.Expect(user("gina")).To(And(
				HaveKeyWithValue("UPN", "gina@contoso.com"), HaveKeyWithValue("ACTIVE", "0"), HaveKeyWithValue("LICENSES", "1"), HaveKeyWithValue("READY", "False")))
			g.Expect(user("frank")).To(And(HaveKeyWithValue("LOCATION", ""), HaveKeyWithValue("READY", "False")))
			g.Expect(user("ann")).To(And(HaveKeyWithValue("LOCATION", "DE"), HaveKeyWithValue("ACTIVE", "2"), HaveKeyWithValue("LICENSES", "2"), HaveKeyWithValue("READY", "True")))
		}).WithTimeout(15 * time.Second).Should(Succeed())

		By("kubectl get licensesku -o wide adds the waiting column")
		wide := parseTables(kubectl("get", "licensesku", "-n", tenant, "-o", "wide"))
		Expect(wide).To(HaveLen(1))
		Expect(wide[0]["exchange-p1"]).To(And(HaveKeyWithValue("WAITING", "1"), HaveKeyWithValue("REASON", "InsufficientSeats")))
		// Zero figures ("0 available") are checked by the last spec, so a
		// failure there does not hide the scenarios below.
	})

	It("explains each failed license in the user's status", func() {
		Expect(licenseState("gina", "exchange-p1")).To(Equal("Error/InsufficientSeats"))
		Expect(jsonpath("userlicense/gina", `{.status.licenses[?(@.sku=="exchange-p1")].waitingSince}`)).NotTo(BeEmpty())
		Expect(licenseState("frank", "m365-e3")).To(Equal("Error/UsageLocationRequired"))
		Expect(jsonpath("userlicense/frank", `{.status.licenses[?(@.sku=="m365-e3")].message}`)).To(ContainSubstring("usageLocation"))
		Expect(jsonpath("licensegroup/contractors", `{.status.failures[*].user}:{.status.failures[*].reason}`)).
			To(Equal("gina@contoso.com:InsufficientSeats"))
		By("a duplicate plan is a warning: ann stays Ready")
		Expect(jsonpath("userlicense/ann", `{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="DuplicatePlans")].status}`)).
			To(Equal("True/True"))
	})

	It("refuses an invalid manifest at kubectl apply, naming the field", func() {
		_, errOut, err := run(`
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseSku
metadata: {name: broken, namespace: contoso}
spec:
  skuPartNumber: SPE_E5
  subscriptions:
  - {name: contract-2026, seats: -1}
`, "kubectl", "apply", "-f", "-")
		Expect(err).To(HaveOccurred())
		Expect(errOut).To(ContainSubstring("spec.subscriptions[0].seats"))
		Expect(errOut).To(ContainSubstring("greater than or equal to 0"))

		_, errOut, err = run("", "kubectl", "patch", "userlicense", "ann", "-n", tenant, "--type=merge",
			"-p", `{"spec":{"userPrincipalName":"ann.smith@contoso.com"}}`)
		Expect(err).To(HaveOccurred())
		Expect(errOut).To(ContainSubstring("spec.userPrincipalName"))
		Expect(errOut).To(ContainSubstring("immutable"))
	})

	It("documents the API in kubectl explain", func() {
		out := kubectl("explain", "licensegroup.spec.licenses")
		Expect(out).To(ContainSubstring("licenses are assigned to every member"))
		Expect(out).To(ContainSubstring("disabledPlans"))
		Expect(out).To(ContainSubstring("enabledPlans"))
		Expect(kubectl("explain", "licensesku.spec.subscriptions.state")).To(ContainSubstring("Suspended"))
	})

	It("hands a seat freed by a member change to the user waiting for it", func() {
		requireManager()
		By("dave becomes an employee: he leaves contractors and frees his exchange-p1 seat")
		kubectl("label", "userlicense", "dave", "-n", tenant, "employment=employee", "--overwrite")
		Eventually(func() string { return licenseState("gina", "exchange-p1") }).
			WithTimeout(30 * time.Second).Should(Equal("Active/"))
		kubectl("wait", "-n", tenant, "--for=condition=Ready", "--timeout=30s",
			"userlicense/gina", "licensegroup/contractors", "licensesku/exchange-p1")
		Expect(jsonpath("licensesku/exchange-p1", "{.status.seats}/{.status.assigned}/{.status.waiting}")).To(Equal("2/2/0"))
		Expect(jsonpath("userlicense/dave", `{.status.licenses[*].sku}`)).To(Equal("m365-e3"))
		Expect(licenseState("dave", "m365-e3")).To(Equal("Active/"))
	})

	It("hands the seats of a deleted group to the users waiting for them", func() {
		requireManager()
		By("power-bi-pro drops to 2 seats: ben and carla (executives) hold both")
		kubectl("patch", "licensesku", "power-bi-pro", "-n", tenant, "--type=json",
			"-p", `[{"op":"replace","path":"/spec/subscriptions/0/seats","value":2}]`)
		By("a new group asks power-bi-pro for ann and dave: they wait")
		_, errOut, err := run(`
apiVersion: licensing.licenseops.dev/v1alpha1
kind: LicenseGroup
metadata: {name: analysts, namespace: contoso}
spec:
  members: [ann@contoso.com, dave@contoso.com]
  licenses: [{sku: power-bi-pro}]
`, "kubectl", "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), errOut)
		Eventually(func(g Gomega) {
			g.Expect(licenseState("ann", "power-bi-pro")).To(Equal("Error/InsufficientSeats"))
			g.Expect(licenseState("dave", "power-bi-pro")).To(Equal("Error/InsufficientSeats"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(jsonpath("licensesku/power-bi-pro", "{.status.seats}/{.status.assigned}/{.status.waiting}")).To(Equal("2/2/2"))
		Expect(licenseState("ben", "power-bi-pro")).To(Equal("Active/"), "holders keep their seat")

		By("kubectl delete licensegroup executives")
		kubectl("delete", "licensegroup", "executives", "-n", tenant)
		Eventually(func(g Gomega) {
			g.Expect(licenseState("ann", "power-bi-pro")).To(Equal("Active/"))
			g.Expect(licenseState("dave", "power-bi-pro")).To(Equal("Active/"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(jsonpath("userlicense/ben", "{.status.licenses[*].sku}")).NotTo(ContainSubstring("power-bi-pro"))
		Expect(jsonpath("userlicense/carla", "{.status.licenses[*].sku}")).NotTo(ContainSubstring("power-bi-pro"))
		kubectl("wait", "-n", tenant, "--for=condition=Ready", "--timeout=30s", "licensesku/power-bi-pro", "licensegroup/analysts")
		Expect(jsonpath("licensesku/power-bi-pro", "{.status.seats}/{.status.assigned}/{.status.waiting}")).To(Equal("2/2/0"))

		By("the assignment history is in the user's events")
		Eventually(func() string {
			return kubectl("events", "-n", tenant, "--for=userlicense/ann")
		}).WithTimeout(15 * time.Second).Should(MatchRegexp(`LicenseAssigned.*power-bi-pro`))
	})

	It("undeploys the operator and keeps the CRDs and every licensing object", func() {
		requireManager()
		Expect(manager.Stop(30*time.Second)).To(Succeed(), "the manager must exit cleanly on SIGTERM:\n%s", output(manager))
		rendered, errOut, err := run("", filepath.Join(repoRoot, "hack", "render-install.sh"), "--without-crds")
		Expect(err).NotTo(HaveOccurred(), errOut)
		Expect(rendered).NotTo(ContainSubstring("kind: CustomResourceDefinition"))
		// --wait=false: the local control plane runs no namespace controller
		// to finish deleting the namespace.
		_, errOut, err = run(rendered, "kubectl", "delete", "--ignore-not-found", "--wait=false", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), errOut)
		_, _, err = run("", "kubectl", "get", "clusterrole", "license-operator-manager-role")
		Expect(err).To(HaveOccurred(), "the manager's ClusterRole is removed")
		Expect(kubectl("get", "crd", "-o", "name")).To(ContainSubstring("userlicenses.licensing.licenseops.dev"))
		Expect(kubectl("get", "userlicense", "-n", tenant, "-o", "name")).To(ContainSubstring("userlicense.licensing.licenseops.dev/gina"))
	})

	It("needed no permission beyond config/rbac: no request of the manager was forbidden", func() {
		Expect(manager).NotTo(BeNil())
		var forbidden []string
		for _, line := range strings.Split(output(manager), "\n") {
			if strings.Contains(strings.ToLower(line), "forbidden") {
				forbidden = append(forbidden, line)
			}
		}
		Expect(forbidden).To(BeEmpty(), "the API server refused requests of the manager: config/rbac lacks a permission")
	})

	It("prints 0, not an empty cell, for zero seat and member figures", func() {
		// Last, as it only reads (the statuses outlive the manager): exchange-p1
		// has been full since its first plan, exchange-p2 never had a user
		// waiting. A status written with merge patches computed from typed
		// objects drops such never-changed zeros, and the column is empty.
		cols := parseTables(kubectl("get", "licensesku", "-n", tenant, "-o", "wide"))[0]
		Expect(cols["exchange-p1"]).To(HaveKeyWithValue("AVAILABLE", "0"), "kubectl get licensesku exchange-p1")
		Expect(cols["exchange-p2"]).To(HaveKeyWithValue("WAITING", "0"), "kubectl get licensesku exchange-p2 -o wide")
		for _, sku := range []string{"m365-e3", "exchange-p1", "exchange-p2", "power-bi-pro"} {
			Expect(jsonpath("licensesku/"+sku, "{.status.seats}/{.status.assigned}/{.status.available}/{.status.requested}/{.status.waiting}")).
				To(MatchRegexp(`^\d+/\d+/\d+/\d+/\d+$`), "status of LicenseSku %s has every figure", sku)
		}
		for _, group := range []string{"all-employees", "contractors", "analysts"} {
			Expect(jsonpath("licensegroup/"+group, "{.status.members}/{.status.licensed}/{.status.errors}")).
				To(MatchRegexp(`^\d+/\d+/\d+$`), "status of LicenseGroup %s has every figure", group)
		}
	})
})

var _ = Describe("the container image", func() {
	It("builds the manager with the same go build command as `make build`", func() {
		makefile, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
		Expect(err).NotTo(HaveOccurred())
		dockerfile, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
		Expect(err).NotTo(HaveOccurred())

		makeBuild := regexp.MustCompile(`(?m)^build:.*\n\t(.*go build.*)$`).FindSubmatch(makefile)
		Expect(makeBuild).NotTo(BeNil(), "Makefile has no build target running go build")
		dockerBuild := regexp.MustCompile(`(?m)^RUN (.*go build.*)$`).FindSubmatch(dockerfile)
		Expect(dockerBuild).NotTo(BeNil(), "Dockerfile has no RUN go build")

		// The image cross-compiles: GOOS/GOARCH are the only difference.
		crossCompile := regexp.MustCompile(`GO(OS|ARCH)=\S+\s+`)
		Expect(strings.TrimSpace(crossCompile.ReplaceAllString(string(dockerBuild[1]), ""))).
			To(Equal(strings.TrimSpace(string(makeBuild[1]))))
	})
})
