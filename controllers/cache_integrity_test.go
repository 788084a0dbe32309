package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// cachedObjects returns the informer cache's own objects of ns (not copies:
// the pointers the store holds, which the reconciler reads without copying
// and which share interned lists among themselves), by UID.
func cachedObjects(ns string) map[types.UID]client.Object {
	out := map[types.UID]client.Object{}
	for _, kind := range []client.Object{&licv1.LicenseSku{}, &licv1.LicenseGroup{}, &licv1.UserLicense{}} {
		inf, err := manager.cache.GetInformer(ctx, kind)
		Expect(err).NotTo(HaveOccurred())
		store, ok := inf.(interface{ GetStore() toolscache.Store })
		Expect(ok).To(BeTrue(), "the cache's informer for %T exposes no store", kind)
		for _, it := range store.GetStore().List() {
			o := it.(client.Object)
			if o.GetNamespace() == ns {
				out[o.GetUID()] = o
			}
		}
	}
	return out
}

// listRecorder is the reconciler's client with every List result of one
// namespace kept next to a deep copy taken when the List returned. The
// reconciler lists from the cache without copies, so the items share their
// lists and maps with the cached objects: any change to a listed object,
// at any time after the List, shows as a difference from its copy.
type listRecorder struct {
	client.Client
	ns string

	mu    sync.Mutex
	lists [][2]client.ObjectList // as returned, copy
}

func (r *listRecorder) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := r.Client.List(ctx, list, opts...); err != nil {
		return err
	}
	var lo client.ListOptions
	lo.ApplyOptions(opts)
	if lo.Namespace == r.ns {
		r.mu.Lock()
		r.lists = append(r.lists, [2]client.ObjectList{list, list.DeepCopyObject().(client.ObjectList)})
		r.mu.Unlock()
	}
	return nil
}

// modified names the listed objects that differ from their copies.
func (r *listRecorder) modified() (lists int, changed []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lists {
		got, err := meta.ExtractList(l[0])
		Expect(err).NotTo(HaveOccurred())
		want, err := meta.ExtractList(l[1])
		Expect(err).NotTo(HaveOccurred())
		for i := range got {
			if !equality.Semantic.DeepEqual(got[i], want[i]) {
				o := want[i].(client.Object)
				changed = append(changed, fmt.Sprintf("%T %s (resourceVersion %s)", o, o.GetName(), o.GetResourceVersion()))
			}
		}
	}
	return len(r.lists), changed
}

// The cache shares lists among objects and the reconciler lists without
// deep copies: one in-place append or assignment anywhere in the reconcile
// (the planner's results share slices with its input) would change cached
// objects the API server never changed.
var _ = Describe("The informer cache", func() {
	SetDefaultEventuallyTimeout(3 * time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)

	It("is never modified by a reconcile: what it lists stays as listed, cached objects not rewritten are unchanged", func() {
		ns := newTenant()
		rec := &listRecorder{ns: ns}
		manager.stop()
		manager = startManagerWith(func(c client.Client) client.Client { rec.Client = c; return rec })
		DeferCleanup(func() {
			manager.stop()
			manager = startManager()
		})

		var members []string
		create(harness.Sku(ns, "a", "SKU_A", 20), harness.Sku(ns, "b", "SKU_B", 100), harness.Sku(ns, "c", "SKU_C", 5))
		for i := range 40 {
			name := fmt.Sprintf("u%02d", i)
			direct := []string{}
			if i%4 == 0 {
				direct = append(direct, "c")
			}
			create(harness.User(ns, name, "DE", direct...))
			members = append(members, name+"@contoso.com")
		}
		create(harness.Group(ns, "staff", 0, members, "a", "b"), harness.Group(ns, "half", 1, members[:20], "b"))
		Eventually(converged(ns)).Should(BeTrue())
		Eventually(func() int64 { return getSku(ns, "a")().Status.Waiting }).Should(BeEquivalentTo(20))

		// Wait until the cache holds what the API server holds, then keep a
		// private copy of every cached object.
		var users licv1.UserLicenseList
		Eventually(func() bool {
			Expect(k8sClient.List(ctx, &users, client.InNamespace(ns))).To(Succeed())
			cached := cachedObjects(ns)
			for i := range users.Items {
				c, ok := cached[users.Items[i].UID]
				if !ok || c.GetResourceVersion() != users.Items[i].ResourceVersion {
					return false
				}
			}
			return true
		}).Should(BeTrue(), "the cache catches up with the converged tenant")
		before := map[types.UID]client.Object{}
		for uid, o := range cachedObjects(ns) {
			before[uid] = o.DeepCopyObject().(client.Object)
		}

		By("ten more seats of a: a re-plan rewrites ten waiting users and SKU a, and reads every object")
		since := plans(ns)
		change(getSku(ns, "a")(), func(s *licv1.LicenseSku) { s.Spec.Subscriptions[0].Seats = 30 })
		Eventually(func() int64 { return getSku(ns, "a")().Status.Waiting }).Should(BeEquivalentTo(10))
		Eventually(converged(ns)).Should(BeTrue())
		planned(ns, since)

		// Fails if any object a reconcile listed differs from the copy taken
		// when the List returned: the reconcile modified the informer cache
		// in place (the items share their lists with the cached objects).
		lists, changed := rec.modified()
		Expect(lists).To(BeNumerically(">=", 6), "the reconciles listed the tenant (3 kinds, twice at least)")
		Expect(changed).To(BeEmpty(), "listed objects modified after the List: the reconcile wrote into the informer cache")

		// Fails if a cached object whose resourceVersion did not change (the
		// API server did not rewrite it) differs from its copy.
		same, rewritten := 0, 0
		for uid, now := range cachedObjects(ns) {
			old, ok := before[uid]
			if !ok {
				continue
			}
			if now.GetResourceVersion() != old.GetResourceVersion() {
				rewritten++
				continue
			}
			same++
			Expect(equality.Semantic.DeepEqual(now, old)).To(BeTrue(),
				"cached %T %s changed without a write (resourceVersion %s): the reconcile modified the informer cache in place",
				now, now.GetName(), now.GetResourceVersion())
		}
		Expect(rewritten).To(BeNumerically(">=", 11), "the re-plan must rewrite the ten newly served users and SKU a")
		Expect(same).To(BeNumerically(">=", 20), "the twenty holders of a, which the re-plan does not change, must be compared")
	})
})
