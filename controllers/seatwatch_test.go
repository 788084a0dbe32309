package controllers_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// seatWatcher follows every UserLicense of a namespace from a known
// resourceVersion with the harness' Follower (client-go's RetryWatcher: it
// re-establishes broken watches from the last resourceVersion it saw, so no
// version is lost), and checks at every version that no SKU has more
// holders (Active or Disabled) than its capacity. A gap in the history
// (410 Gone, an expired resourceVersion, an ERROR event) fails the spec in
// stop: the check would be void.
type seatWatcher struct {
	capacity map[string]int64
	follower *harness.Follower

	mu         sync.Mutex
	holding    map[string]map[string]bool // user -> SKUs held
	history    map[string][]string        // user -> held SKUs at each version ("a,b")
	violations []string
	events     int
}

func watchSeats(ns string, capacity map[string]int64) *seatWatcher {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	w := &seatWatcher{capacity: capacity, holding: map[string]map[string]bool{}, history: map[string][]string{}}
	w.follower, err = harness.Follow(ctx, wc, &licv1.UserLicenseList{}, ns, func(ev harness.Event) {
		u := ev.Object.(*licv1.UserLicense)
		if ev.Type == watch.Deleted {
			w.mu.Lock()
			delete(w.holding, u.Name)
			w.mu.Unlock()
			return
		}
		w.observe(u, !ev.Initial)
	})
	Expect(err).NotTo(HaveOccurred())
	return w
}

func (w *seatWatcher) observe(u *licv1.UserLicense, event bool) {
	held := map[string]bool{}
	var names []string
	for _, l := range u.Status.Licenses {
		if l.State == licv1.LicenseStateActive || l.State == licv1.LicenseStateDisabled {
			held[l.SKU] = true
			names = append(names, l.SKU)
		}
	}
	sort.Strings(names)
	w.mu.Lock()
	defer w.mu.Unlock()
	if event {
		w.events++
	}
	w.holding[u.Name] = held
	if h := w.history[u.Name]; len(h) == 0 || h[len(h)-1] != strings.Join(names, ",") {
		w.history[u.Name] = append(h, strings.Join(names, ","))
	}
	for sku, capacity := range w.capacity {
		n := int64(0)
		for _, h := range w.holding {
			if h[sku] {
				n++
			}
		}
		if n > capacity {
			w.violations = append(w.violations, fmt.Sprintf("rv %s (%s): %d holders of %s, capacity %d", u.ResourceVersion, u.Name, n, sku, capacity))
		}
	}
}

// stop waits until the history reached the namespace's last UserLicense
// write, ends it, and fails the spec on a gap or a violation.
func (w *seatWatcher) stop(ns string) {
	Expect(w.follower.SyncToNow(ctx, k8sClient, &licv1.UserLicenseList{}, ns)).To(Succeed(), "the watcher lost history: the seat check is void")
	Expect(w.follower.Stop()).To(Succeed(), "the watcher lost history: the seat check is void")
	w.mu.Lock()
	defer w.mu.Unlock()
	Expect(w.violations).To(BeEmpty(), "a reader saw more holders than capacity")
}

// heldHistory is the sequence of SKU sets a user was seen holding.
func (w *seatWatcher) heldHistory(user string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.history[user])
}

func (w *seatWatcher) seen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.events
}
