package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/test/harness"
)

// dropAfter opens real watches on the API server and drops the first one
// after n events, as an API server that closes a slow watcher does; what
// happens on the next open is up to resume (nil: a real watch from the
// version asked).
type dropAfter struct {
	wc     client.WithWatch
	ns     string
	n      int
	resume func(rv string) error

	mu    sync.Mutex
	opens []string
}

func (d *dropAfter) open(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	d.mu.Lock()
	d.opens = append(d.opens, opts.ResourceVersion)
	first := len(d.opens) == 1
	d.mu.Unlock()
	if !first && d.resume != nil {
		if err := d.resume(opts.ResourceVersion); err != nil {
			return nil, err
		}
	}
	w, err := d.wc.Watch(ctx, &licv1.UserLicenseList{}, client.InNamespace(d.ns), &client.ListOptions{Raw: &opts})
	if err != nil || !first {
		return w, err
	}
	out := make(chan watch.Event)
	proxy := watch.NewProxyWatcher(out)
	go func() {
		defer close(out)
		defer w.Stop()
		seen := 0
		for ev := range w.ResultChan() {
			if ev.Type != watch.Bookmark {
				seen++
			}
			select {
			case out <- ev:
			case <-proxy.StopChan():
				return
			}
			if seen == d.n {
				return // dropped in the middle of the history
			}
		}
	}()
	return proxy, nil
}

func (d *dropAfter) from() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.opens...)
}

// The harness' follower on a real API server: a watch dropped in the middle
// of a history is resumed from the last version seen, and the history is
// complete; when the versions after it are gone (410, as after a
// compaction), the follower reports the gap instead of a partial history.
var _ = Describe("Following a history", func() {
	SetDefaultEventuallyTimeout(3 * time.Minute)

	follow := func(ns string, d *dropAfter) (*harness.Follower, func() map[string]bool) {
		var list licv1.UserLicenseList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		var mu sync.Mutex
		created := map[string]bool{}
		f, err := harness.FollowFrom(ctx, list.ResourceVersion, d.open, func(ev harness.Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Type == watch.Added {
				created[ev.Object.GetName()] = true
			}
		})
		Expect(err).NotTo(HaveOccurred())
		return f, func() map[string]bool {
			mu.Lock()
			defer mu.Unlock()
			out := map[string]bool{}
			for k, v := range created {
				out[k] = v
			}
			return out
		}
	}

	It("resumes a watch dropped in the middle from the last version seen, losing nothing", func() {
		ns := newTenant()
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		d := &dropAfter{wc: wc, ns: ns, n: 5}
		f, created := follow(ns, d)
		for i := range 20 {
			create(harness.User(ns, fmt.Sprintf("h%02d", i), "DE"))
		}
		Expect(f.SyncToNow(ctx, k8sClient, &licv1.UserLicenseList{}, ns)).To(Succeed())
		Expect(f.Stop()).To(Succeed(), "a resumed watch is no gap")
		Expect(created()).To(HaveLen(20), "every creation is in the history, across the drop")
		Expect(len(d.from())).To(BeNumerically(">=", 2), "the first watch was dropped and a second one opened")
		Expect(d.from()[1]).NotTo(Equal(d.from()[0]), "the second watch starts where the first one stopped")
	})

	It("fails on a gap: the versions after the drop are gone (410)", func() {
		ns := newTenant()
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		d := &dropAfter{wc: wc, ns: ns, n: 5, resume: func(rv string) error {
			return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %s", rv))
		}}
		f, _ := follow(ns, d)
		for i := range 20 {
			create(harness.User(ns, fmt.Sprintf("h%02d", i), "DE"))
		}
		Expect(f.SyncToNow(ctx, k8sClient, &licv1.UserLicenseList{}, ns)).To(MatchError(ContainSubstring("too old resource version")),
			"the history has a gap: a check over it must fail, not pass on part of it")
		Expect(f.Stop()).To(HaveOccurred())
	})
})
