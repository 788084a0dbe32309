package controllers_test

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
	"github.com/licenseops/license-operator/test/harness"
)

func newTenant() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func plan(name string) licv1.ServicePlan { return licv1.ServicePlan{Name: name} }

// change reads obj again, applies mutate and updates it, retrying on
// conflicts (the controller's status writes move resourceVersion too, so a
// read-modify-write races with them on a busy machine). It returns the
// updated object.
func change[T client.Object](obj T, mutate func(T)) T {
	GinkgoHelper()
	backoff := wait.Backoff{Steps: 30, Duration: 20 * time.Millisecond, Factor: 1.5, Cap: 2 * time.Second}
	Expect(retry.RetryOnConflict(backoff, func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		return k8sClient.Update(ctx, obj)
	})).To(Succeed())
	return obj
}

func create(objs ...client.Object) {
	for _, o := range objs {
		ExpectWithOffset(1, k8sClient.Create(ctx, o)).To(Succeed())
	}
}

func getUser(ns, name string) func() *licv1.UserLicense {
	return func() *licv1.UserLicense {
		u := &licv1.UserLicense{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
			return nil
		}
		return u
	}
}

func getSku(ns, name string) func() *licv1.LicenseSku {
	return func() *licv1.LicenseSku {
		s := &licv1.LicenseSku{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
			return nil
		}
		return s
	}
}

func getGroup(ns, name string) func() *licv1.LicenseGroup {
	return func() *licv1.LicenseGroup {
		g := &licv1.LicenseGroup{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, g); err != nil {
			return nil
		}
		return g
	}
}

// licenseOf returns the user's status entry for sku (nil when absent).
func licenseOf(u *licv1.UserLicense, skuName string) *licv1.LicenseStatus {
	if u == nil {
		return nil
	}
	for i := range u.Status.Licenses {
		if u.Status.Licenses[i].SKU == skuName {
			return &u.Status.Licenses[i]
		}
	}
	return nil
}

// licenseState is "Active", "Error/<reason>" or "" for the user's sku.
func licenseState(ns, name, skuName string) func() string {
	return func() string {
		l := licenseOf(getUser(ns, name)(), skuName)
		if l == nil {
			return ""
		}
		if l.State == licv1.LicenseStateError {
			return l.State + "/" + l.Reason
		}
		return l.State
	}
}

func condition(conds []metav1.Condition, t string) string {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

// converged reports whether every licensing object of ns has been planned at
// its current generation.
func converged(ns string) func() bool {
	return func() bool {
		unplanned, err := harness.Unplanned(ctx, k8sClient, ns)
		return err == nil && len(unplanned) == 0
	}
}

// applySamples creates every object of config/samples in namespace ns.
func applySamples(ns string) {
	root, err := envtestutil.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			Expect(err).NotTo(HaveOccurred())
			obj := &unstructured.Unstructured{}
			Expect(utilyaml.Unmarshal(doc, &obj.Object)).To(Succeed())
			if len(obj.Object) == 0 || obj.GetKind() == "Namespace" {
				continue
			}
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		}
	}
}

// coldPlanChanges names the objects a freshly started manager would still
// change: none, when the controller converged where the planner says.
func coldPlanChanges(ns string) []string {
	changed, err := harness.ColdPlanChanges(ctx, k8sClient, ns)
	Expect(err).NotTo(HaveOccurred())
	return changed
}
