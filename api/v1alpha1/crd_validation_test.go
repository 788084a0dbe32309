package v1alpha1_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/envtestutil"
)

// readManifests decodes every YAML document of a file into unstructured objects.
func readManifests(path string) []*unstructured.Unstructured {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		Expect(utilyaml.Unmarshal(doc, &obj.Object)).To(Succeed(), "decode %s", path)
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

// expectation reads the "# expect: <field>" header of an invalid manifest.
func expectation(path string) string {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# expect: "); ok {
			return strings.TrimSpace(rest)
		}
	}
	Fail(fmt.Sprintf("%s has no '# expect: <field>' header", path))
	return ""
}

func newNamespace(prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("CRD schema", func() {
	It("accepts every sample in config/samples", func() {
		root, err := envtestutil.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		sort.Strings(files)
		Expect(files).NotTo(BeEmpty())
		kinds := map[string]int{}
		for _, f := range files {
			for _, obj := range readManifests(f) {
				Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "sample %s %s/%s", f, obj.GetKind(), obj.GetName())
				kinds[obj.GetKind()]++
			}
		}
		// The samples tell the whole story: every kind is there.
		Expect(kinds).To(HaveKey("LicenseSku"))
		Expect(kinds).To(HaveKey("LicenseGroup"))
		Expect(kinds).To(HaveKey("UserLicense"))
	})

	It("accepts the userPrincipalNames Microsoft Entra allows, guests included", func() {
		ns := newNamespace("upn")
		for i, upn := range []string{"ann@contoso.com", "Ann.O'Neil@Contoso.com", "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com", "a!b^c~d@contoso.com"} {
			u := &licv1.UserLicense{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("u%d", i), Namespace: ns},
				Spec: licv1.UserLicenseSpec{UserPrincipalName: upn}}
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), upn)
		}
		g := &licv1.LicenseGroup{ObjectMeta: metav1.ObjectMeta{Name: "guests", Namespace: ns},
			Spec: licv1.LicenseGroupSpec{Members: []string{"ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"}}}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
	})

	It("defaults subscription state to Enabled and group priority to 0", func() {
		ns := newNamespace("defaults")
		sku := &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: "e3", Namespace: ns},
			Spec: licv1.LicenseSkuSpec{
				SkuPartNumber: "SPE_E3",
				Subscriptions: []licv1.Subscription{{Name: "main", Seats: 3}},
			},
		}
		Expect(k8sClient.Create(ctx, sku)).To(Succeed())
		Expect(sku.Spec.Subscriptions[0].State).To(Equal(licv1.SubscriptionEnabled))
	})

	Context("refuses invalid manifests, naming the field", func() {
		root, _ := envtestutil.RepoRoot()
		files, _ := filepath.Glob(filepath.Join(root, "api", "v1alpha1", "testdata", "invalid", "*.yaml"))
		sort.Strings(files)

		It("has a corpus of at least 15 invalid manifests", func() {
			Expect(len(files)).To(BeNumerically(">=", 15))
		})

		for _, f := range files {
			It(filepath.Base(f), func() {
				ns := newNamespace("invalid")
				field := expectation(f)
				objs := readManifests(f)
				Expect(objs).To(HaveLen(1))
				obj := objs[0]
				obj.SetNamespace(ns)
				err := k8sClient.Create(ctx, obj)
				Expect(err).To(HaveOccurred(), "%s must be refused", f)
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
				Expect(err.Error()).To(ContainSubstring(field), "the error must name %s", field)
			})
		}
	})

	It("refuses a change of userPrincipalName with a message that says what to do", func() {
		ns := newNamespace("immutable")
		user := &licv1.UserLicense{
			ObjectMeta: metav1.ObjectMeta{Name: "ann", Namespace: ns},
			Spec:       licv1.UserLicenseSpec{UserPrincipalName: "ann@contoso.com", UsageLocation: "DE"},
		}
		Expect(k8sClient.Create(ctx, user)).To(Succeed())

		user.Spec.UsageLocation = "FR"
		Expect(k8sClient.Update(ctx, user)).To(Succeed(), "other fields stay mutable")

		user.Spec.UserPrincipalName = "ann.smith@contoso.com"
		err := k8sClient.Update(ctx, user)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.userPrincipalName"))
		Expect(err.Error()).To(ContainSubstring("immutable"))
	})

	It("keeps spec and status apart (status subresource)", func() {
		ns := newNamespace("subresource")
		sku := &licv1.LicenseSku{
			ObjectMeta: metav1.ObjectMeta{Name: "e3", Namespace: ns},
			Spec: licv1.LicenseSkuSpec{
				SkuPartNumber: "SPE_E3",
				Subscriptions: []licv1.Subscription{{Name: "main", Seats: 3}},
			},
		}
		Expect(k8sClient.Create(ctx, sku)).To(Succeed())
		sku.Status.Seats = 3
		Expect(k8sClient.Update(ctx, sku)).To(Succeed())
		Expect(sku.Status.Seats).To(BeZero(), "a main-resource update must not write status")
		sku.Status.Seats = 3
		Expect(k8sClient.Status().Update(ctx, sku)).To(Succeed())
		Expect(sku.Status.Seats).To(Equal(int64(3)))
		Expect(sku.Generation).To(Equal(int64(1)), "a status write must not bump generation")
	})

	Describe("discovery", func() {
		It("serves short names and the licensing category", func() {
			dc, err := discovery.NewDiscoveryClientForConfig(cfg)
			Expect(err).NotTo(HaveOccurred())
			list, err := dc.ServerResourcesForGroupVersion(licv1.GroupVersion.String())
			Expect(err).NotTo(HaveOccurred())
			got := map[string]metav1.APIResource{}
			for _, r := range list.APIResources {
				got[r.Name] = r
			}
			for name, short := range map[string]string{"licenseskus": "sku", "licensegroups": "lg", "userlicenses": "ul"} {
				Expect(got).To(HaveKey(name))
				Expect(got[name].Namespaced).To(BeTrue(), name+" is namespaced")
				Expect(got[name].ShortNames).To(ContainElement(short))
				Expect(got[name].Categories).To(ContainElement("licensing"))
			}
		})

		DescribeTable("serves printer columns",
			func(resource string, columns ...string) {
				rc, err := rest.RESTClientFor(restConfigFor())
				Expect(err).NotTo(HaveOccurred())
				raw, err := rc.Get().AbsPath("/apis/licensing.licenseops.dev/v1alpha1/"+resource).
					SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
					DoRaw(ctx)
				Expect(err).NotTo(HaveOccurred())
				var table metav1.Table
				Expect(json.Unmarshal(raw, &table)).To(Succeed())
				var names []string
				for _, c := range table.ColumnDefinitions {
					names = append(names, c.Name)
				}
				Expect(names).To(ContainElements(columns))
			},
			Entry("LicenseSku", "licenseskus", "Name", "Part Number", "Seats", "Assigned", "Available", "Ready"),
			Entry("LicenseGroup", "licensegroups", "Name", "Members", "Licensed", "Errors", "Ready"),
			Entry("UserLicense", "userlicenses", "Name", "UPN", "Location", "Active", "Licenses", "Ready", "Age"),
		)
	})
})

func restConfigFor() *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &licv1.GroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = unstructuredNegotiator()
	return c
}
