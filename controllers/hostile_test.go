package controllers_test

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// Limits a hostile tenant must stay within.
const (
	// managerMemoryLimit is the manager's memory limit in
	// config/manager/manager.yaml.
	managerMemoryLimit = 512 << 20
	// maxStatusBytes bounds one status (etcd stores objects up to 1.5 MiB;
	// the planner keeps every status well under it).
	maxStatusBytes = 256 << 10
)

// memorySampler records the peak of the process's resident memory and heap
// in use, as its metrics endpoint reports them (process_resident_memory_bytes,
// go_memstats_heap_inuse_bytes of controller-runtime's registry). The suite's
// manager runs in this process, so this is an upper bound of the manager's
// own memory.
type memorySampler struct {
	stop              chan struct{}
	done              chan struct{}
	peakRSS, peakHeap atomic.Int64
}

func sampleMemory(every time.Duration) *memorySampler {
	m := &memorySampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memorySampler) sample() {
	fams, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range fams {
		if len(f.Metric) == 0 {
			continue
		}
		v := int64(f.Metric[0].GetGauge().GetValue())
		switch f.GetName() {
		case "process_resident_memory_bytes":
			if v > m.peakRSS.Load() {
				m.peakRSS.Store(v)
			}
		case "go_memstats_heap_inuse_bytes":
			if v > m.peakHeap.Load() {
				m.peakHeap.Store(v)
			}
		}
	}
}

func (m *memorySampler) finish() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	Eventually(m.done).Should(BeClosed())
}

// createAll creates objects with a few clients in parallel.
func createAll(objs []client.Object) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) {
					return
				}
				Expect(k8sClient.Create(ctx, objs[i])).To(Succeed())
			}
		}()
	}
	wg.Wait()
}

var _ = Describe("A hostile tenant", func() {
	It("2,000 users x 40 groups selecting everyone x 64 missing SKUs: bounded statuses, the manager under its memory limit, other tenants converging", func() {
		const users, groups, missing = 2000, 40, 64
		ns := newTenant()
		DeferCleanup(func() {
			// Leave nothing for the manager to keep planning.
			// A DeleteAllOf of 2,000 large objects can outlast the request
			// timeout on a loaded machine while the server goes on deleting:
			// repeat it until nothing is left.
			for _, kind := range []string{"UserLicenseList", "LicenseGroupList"} {
				Eventually(func() (int, error) {
					left := &metav1.PartialObjectMetadataList{}
					left.SetGroupVersionKind(licv1.GroupVersion.WithKind(kind))
					obj := &metav1.PartialObjectMetadata{}
					obj.SetGroupVersionKind(licv1.GroupVersion.WithKind(strings.TrimSuffix(kind, "List")))
					_ = k8sClient.DeleteAllOf(ctx, obj, client.InNamespace(ns))
					err := k8sClient.List(ctx, left, client.InNamespace(ns))
					return len(left.Items), err
				}).WithTimeout(10*time.Minute).WithPolling(time.Second).Should(BeZero(), "the hostile tenant's %s are deleted", kind)
			}
		})
		// The manager gives the Go runtime 90 % of its container's memory
		// limit as a soft limit (--memory-limit-ratio): the same here, for
		// the process that runs the suite's manager (and the test itself).
		previous := debug.SetMemoryLimit(managerMemoryLimit * 9 / 10)
		DeferCleanup(func() { debug.SetMemoryLimit(previous) })
		mem := sampleMemory(500 * time.Millisecond)
		DeferCleanup(func() {
			mem.finish()
			GinkgoWriter.Printf("peak RSS %.0f MiB, peak heap in use %.0f MiB\n", float64(mem.peakRSS.Load())/(1<<20), float64(mem.peakHeap.Load())/(1<<20))
		})

		var licenses []licv1.LicenseAssignment
		for i := range missing {
			licenses = append(licenses, licv1.LicenseAssignment{SKU: fmt.Sprintf("missing-%02d", i)})
		}
		var objs []client.Object
		for i := range groups {
			objs = append(objs, &licv1.LicenseGroup{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("everyone-%02d", i), Namespace: ns},
				Spec:       licv1.LicenseGroupSpec{MemberSelector: &metav1.LabelSelector{}, Licenses: licenses},
			})
		}
		for i := range users {
			objs = append(objs, harness.User(ns, fmt.Sprintf("h%04d", i), "DE"))
		}
		start := time.Now()
		createAll(objs)
		GinkgoWriter.Printf("hostile tenant created in %v\n", time.Since(start).Round(time.Millisecond))

		By("another tenant converges meanwhile")
		small := newTenant()
		create(harness.Sku(small, "e3", "SPE_E3", 5), harness.User(small, "ann", "DE", "e3"), harness.User(small, "bob", "DE", "e3"))
		Eventually(converged(small), 5*time.Minute, time.Second).Should(BeTrue())
		GinkgoWriter.Printf("small tenant converged %v after the hostile one was created\n", time.Since(start).Round(time.Millisecond))

		By("the hostile tenant converges to bounded statuses")
		// A List may time out while the API server is busy with this very
		// tenant: that poll fails, the next one retries.
		Eventually(func() ([]string, error) {
			unplanned, err := harness.Unplanned(ctx, k8sClient, ns)
			if len(unplanned) > 3 {
				unplanned = append(unplanned[:3], fmt.Sprintf("... %d in all", len(unplanned)))
			}
			return unplanned, err
		}, 10*time.Minute, 2*time.Second).Should(BeEmpty())
		GinkgoWriter.Printf("hostile tenant converged in %v\n", time.Since(start).Round(time.Millisecond))
		mem.sample()

		var items []licv1.UserLicense
		Eventually(func() (err error) {
			items, err = harness.ListUsers(ctx, k8sClient, ns)
			return err
		}, 5*time.Minute, 2*time.Second).Should(Succeed())
		Expect(items).To(HaveLen(users))
		largest := 0
		for _, u := range items {
			b, err := json.Marshal(u.Status)
			Expect(err).NotTo(HaveOccurred())
			largest = max(largest, len(b))
			Expect(len(u.Status.Licenses)).To(BeNumerically("<=", licv1.MaxUserLicenseStatuses))
			Expect(len(u.Status.Groups)).To(BeNumerically("<=", licv1.MaxUserGroups))
			for _, l := range u.Status.Licenses {
				Expect(len(l.AssignedBy)).To(BeNumerically("<=", licv1.MaxAssignedBy))
			}
		}
		GinkgoWriter.Printf("largest status %d bytes\n", largest)
		Expect(largest).To(BeNumerically("<", maxStatusBytes))
		Expect(mem.peakRSS.Load()).To(BeNumerically("<", managerMemoryLimit), "peak RSS of the process running the manager")
	})
})
