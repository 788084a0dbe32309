package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// seatWatcher follows every UserLicense of a namespace from a known
// resourceVersion with client-go's RetryWatcher (it re-establishes broken
// watches from the last resourceVersion it saw, so no version is lost), and
// checks at every version that no SKU has more holders (Active or Disabled)
// than its capacity. A gap in the history (410 Gone, an expired
// resourceVersion) is recorded and fails the spec: the check would be void.
type seatWatcher struct {
	capacity map[string]int64
	cancel   context.CancelFunc
	done     chan struct{}

	mu         sync.Mutex
	holding    map[string]map[string]bool // user -> SKUs held
	history    map[string][]string        // user -> held SKUs at each version ("a,b")
	violations []string
	gap        error
	events     int
}

func watchSeats(ns string, capacity map[string]int64) *seatWatcher {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	var list licv1.UserLicenseList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	w := &seatWatcher{capacity: capacity, holding: map[string]map[string]bool{}, history: map[string][]string{}, done: make(chan struct{})}
	for i := range list.Items {
		w.observe(&list.Items[i], false)
	}
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	lw := &toolscache.ListWatch{WatchFuncWithContext: func(c context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		opts.AllowWatchBookmarks = true
		wi, err := wc.Watch(c, &licv1.UserLicenseList{}, client.InNamespace(ns), &client.ListOptions{Raw: &opts})
		if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
			w.lost(fmt.Errorf("watch from resourceVersion %s: %w", opts.ResourceVersion, err))
		}
		return wi, err
	}}
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, list.ResourceVersion, lw)
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		defer close(w.done)
		defer rw.Stop()
		for ev := range rw.ResultChan() {
			switch ev.Type {
			case watch.Error:
				w.lost(fmt.Errorf("watch error: %v", apierrors.FromObject(ev.Object)))
				return
			case watch.Added, watch.Modified:
				if u, ok := ev.Object.(*licv1.UserLicense); ok {
					w.observe(u, true)
				}
			case watch.Deleted:
				if u, ok := ev.Object.(*licv1.UserLicense); ok {
					w.mu.Lock()
					delete(w.holding, u.Name)
					w.mu.Unlock()
				}
			}
		}
	}()
	return w
}

func (w *seatWatcher) lost(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gap == nil {
		w.gap = err
	}
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

// stop ends the watch and fails the spec on a gap or a violation.
func (w *seatWatcher) stop() {
	w.cancel()
	Eventually(w.done).Should(BeClosed())
	w.mu.Lock()
	defer w.mu.Unlock()
	Expect(w.gap).NotTo(HaveOccurred(), "the watcher lost history: the seat check is void")
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
