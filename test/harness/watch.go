// Package harness is what the test suites, hack/bench-e2e and the chaos
// suite share: following objects without losing history (this file),
// running the manager binary and scraping its metrics, making tenants, and
// building licensing objects.
package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Event is one step of a followed history. Initial events come from the
// list the history starts at; the others from the watch, in the API
// server's order.
type Event struct {
	Type    watch.EventType // Added, Modified or Deleted
	Object  client.Object
	Initial bool
}

// WatchFunc opens a watch from opts.ResourceVersion. Follow uses the
// client's; the harness' own tests pass one that injects faults.
type WatchFunc func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

// Follower follows every object of one kind from a known resourceVersion
// with client-go's RetryWatcher, which re-opens a dropped watch from the
// last resourceVersion it delivered, so a watch the API server closes (a
// timeout, a consumer too slow for it, a restart) loses nothing. What it
// cannot recover is a gap: the resourceVersion to resume from is no longer
// served (410 Gone, Expired), the server sends an ERROR event, the history
// goes backwards, or the watch ends before Stop. A gap is recorded and
// returned by Err and Stop: a check over the history is void and must fail.
type Follower struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	gap     error
	stopped bool
	events  int
	lastRV  string
	resumes int
}

// Follow lists list (an empty *XList) in namespace ns, hands each listed
// object to handle as an initial event, then follows the kind from the
// list's resourceVersion. handle runs on one goroutine, one event at a time;
// it must not block.
func Follow(ctx context.Context, c client.WithWatch, list client.ObjectList, ns string, handle func(Event)) (*Follower, error) {
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list to start the history from: %w", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		handle(Event{Type: watch.Added, Object: it.(client.Object), Initial: true})
	}
	empty := list.DeepCopyObject().(client.ObjectList)
	return FollowFrom(ctx, list.GetResourceVersion(), func(wctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		return c.Watch(wctx, empty, client.InNamespace(ns), &client.ListOptions{Raw: &opts})
	}, handle)
}

// FollowFrom follows the watch that open gives from resourceVersion rv.
func FollowFrom(ctx context.Context, rv string, open WatchFunc, handle func(Event)) (*Follower, error) {
	if rv == "" || rv == "0" {
		return nil, fmt.Errorf("a history needs a known starting resourceVersion, got %q", rv)
	}
	f := &Follower{done: make(chan struct{}), lastRV: rv}
	calls := 0
	lw := &toolscache.ListWatch{WatchFuncWithContext: func(c context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		calls++
		if calls > 1 {
			f.mu.Lock()
			f.resumes++
			f.mu.Unlock()
		}
		opts.AllowWatchBookmarks = true
		w, err := open(c, opts)
		// The RetryWatcher retries these forever without telling: the
		// versions between opts.ResourceVersion and now are lost.
		if apierrors.IsGone(err) || apierrors.IsResourceExpired(err) {
			f.lost(fmt.Errorf("watch from resourceVersion %s: %w", opts.ResourceVersion, err))
		}
		return w, err
	}}
	wctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, rv, lw)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(f.done)
		defer rw.Stop()
		for ev := range rw.ResultChan() {
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Deleted:
				o, ok := ev.Object.(client.Object)
				if !ok {
					f.lost(fmt.Errorf("watch event %s carries a %T, not an object", ev.Type, ev.Object))
					return
				}
				if err := f.advance(o.GetResourceVersion()); err != nil {
					f.lost(err)
					return
				}
				handle(Event{Type: ev.Type, Object: o})
			case watch.Error:
				f.lost(fmt.Errorf("watch error after resourceVersion %s: %w", f.last(), apierrors.FromObject(ev.Object)))
				return
			default:
				f.lost(fmt.Errorf("unexpected watch event %q", ev.Type))
				return
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.stopped && f.gap == nil {
			f.gap = fmt.Errorf("the watch ended by itself after resourceVersion %s", f.lastRV)
		}
	}()
	return f, nil
}

// advance checks that the history moves forward. resourceVersions are etcd
// revisions on the API servers these tests run (envtest's etcd3 storage).
func (f *Follower) advance(rv string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return fmt.Errorf("resourceVersion %q is not an etcd revision: %w", rv, err)
	}
	if last, _ := strconv.ParseUint(f.lastRV, 10, 64); n <= last {
		return fmt.Errorf("history went backwards: resourceVersion %d after %d", n, last)
	}
	f.lastRV = rv
	f.events++
	return nil
}

func (f *Follower) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRV
}

func (f *Follower) lost(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gap == nil && !f.stopped {
		f.gap = err
	}
}

// Err is the first gap seen so far (nil: the history is complete).
func (f *Follower) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gap
}

// Events counts the watch events delivered (not the initial list).
func (f *Follower) Events() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events
}

// Resumes counts the watches re-opened after one ended.
func (f *Follower) Resumes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resumes
}

// Stop ends the history and returns its first gap. Call it only once every
// event the check needs has been published (e.g. after convergence): the
// history stops at whatever the watch delivered by then.
func (f *Follower) Stop() error {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.cancel()
	select {
	case <-f.done:
	case <-time.After(time.Minute):
		return errors.New("the follower did not stop within a minute")
	}
	return f.Err()
}

// SyncTo waits until the history has reached resourceVersion rv, the
// resourceVersion of an object of the followed kind (LatestVersion of a
// fresh list), so that Stop after it loses nothing the check needs. It
// returns the gap, if the history has one.
func (f *Follower) SyncTo(ctx context.Context, rv string) error {
	want, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return fmt.Errorf("resourceVersion %q: %w", rv, err)
	}
	for {
		if err := f.Err(); err != nil {
			return err
		}
		if got, _ := strconv.ParseUint(f.last(), 10, 64); got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("history at resourceVersion %s, waiting for %d: %w", f.last(), want, ctx.Err())
		case <-f.done:
			if err := f.Err(); err != nil {
				return err
			}
			return fmt.Errorf("the follower stopped at resourceVersion %s before %d", f.last(), want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LatestVersion is the highest resourceVersion among the items of list:
// the last write to them, which a complete history must reach.
func LatestVersion(list client.ObjectList) (string, error) {
	items, err := meta.ExtractList(list)
	if err != nil {
		return "", err
	}
	var top uint64
	for _, it := range items {
		o, ok := it.(client.Object)
		if !ok {
			return "", fmt.Errorf("list item %T is not an object", it)
		}
		n, err := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
		if err != nil {
			return "", fmt.Errorf("resourceVersion %q of %s: %w", o.GetResourceVersion(), o.GetName(), err)
		}
		top = max(top, n)
	}
	return strconv.FormatUint(top, 10), nil
}

// SyncToNow lists list (an empty *XList of the followed kind) in ns and
// waits until the history has reached its last write (SyncTo of
// LatestVersion).
func (f *Follower) SyncToNow(ctx context.Context, c client.Reader, list client.ObjectList, ns string) error {
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return err
	}
	last, err := LatestVersion(list)
	if err != nil {
		return err
	}
	return f.SyncTo(ctx, last)
}
