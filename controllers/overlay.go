package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeOverlay gives the reconciler read-your-writes over the informer
// cache. Only the statusWriter records into it; gather reads through it.
//
// The cache lags behind the status writes. Planning from a cache that does
// not yet show a seat we just granted could grant the same seat to someone
// else. So every write is remembered with the resourceVersions it
// superseded; while the cache still shows one of those, the reconciler
// plans from the remembered object instead.
//
//   - A write the API server answered: the object it returned.
//   - A write whose outcome is unknown (a timeout, a reset connection, a
//     context deadline: anything but an answer from the API server): the
//     object as it was with the seats the write would have taken added — its
//     grants taken, its releases not yet done — marked uncertain. It stays
//     until the cache shows the object at another resourceVersion or a later
//     write of ours is answered.
//
// Why resourceVersions compared only for equality are enough (Kubernetes
// allows nothing else: they are opaque): every write is an update guarded by
// the resourceVersion it was planned from, so it can only ever apply to that
// version. Once the cache shows any other version of the object, whatever
// happened to our write has happened and the cache shows its result (an
// informer only moves forward), so the cached object wins. The
// observedGeneration cannot tell this: a status write does not change
// metadata.generation, and a write that did not apply leaves the object at
// exactly the version we planned from.
type writeOverlay struct {
	mu sync.Mutex
	// by namespace, then object UID.
	entries map[string]map[types.UID]*overlayEntry
}

type overlayEntry struct {
	stale map[string]struct{} // resourceVersions our writes replaced
	obj   client.Object       // what the reconciler plans from while the cache shows one of them
	// uncertain: obj is the pessimistic view after a write whose outcome is
	// unknown (see writeOverlay).
	uncertain bool
}

func newWriteOverlay() *writeOverlay {
	return &writeOverlay{entries: map[string]map[types.UID]*overlayEntry{}}
}

func (o *writeOverlay) entry(obj client.Object) *overlayEntry {
	ns := o.entries[obj.GetNamespace()]
	if ns == nil {
		ns = map[types.UID]*overlayEntry{}
		o.entries[obj.GetNamespace()] = ns
	}
	e := ns[obj.GetUID()]
	if e == nil {
		e = &overlayEntry{stale: map[string]struct{}{}}
		ns[obj.GetUID()] = e
	}
	return e
}

// record notes that obj, as the API server returned it, replaced the
// version with resourceVersion preRV. A write that changed nothing (the API
// server returns the object at preRV) replaces what we plan from only when
// we were already planning from our own version.
func (o *writeOverlay) record(preRV string, obj client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if obj.GetResourceVersion() == preRV {
		if e, ok := o.entries[obj.GetNamespace()][obj.GetUID()]; ok {
			e.obj, e.uncertain = obj, false
		}
		return
	}
	e := o.entry(obj)
	e.stale[preRV] = struct{}{}
	e.obj, e.uncertain = obj, false
}

// recordUncertain notes that a write planned from the version preRV has an
// unknown outcome; view is the object at preRV with the write's grants
// taken (see writeOverlay).
func (o *writeOverlay) recordUncertain(preRV string, view client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.entry(view)
	e.stale[preRV] = struct{}{}
	e.obj, e.uncertain = view, true
}

// resolve returns the freshest known version of a cached object, and
// whether it is the pessimistic view of a write with an unknown outcome:
// our last write while the cache is behind it, else the cached object.
func (o *writeOverlay) resolve(cached client.Object) (client.Object, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.entries[cached.GetNamespace()][cached.GetUID()]
	if !ok {
		return cached, false
	}
	if _, behind := e.stale[cached.GetResourceVersion()]; behind {
		return e.obj, e.uncertain
	}
	delete(o.entries[cached.GetNamespace()], cached.GetUID())
	return cached, false
}

// prune forgets entries of a namespace whose objects are gone.
func (o *writeOverlay) prune(namespace string, seen map[types.UID]struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ns := o.entries[namespace]
	for uid := range ns {
		if _, ok := seen[uid]; !ok {
			delete(ns, uid)
		}
	}
	if len(ns) == 0 {
		delete(o.entries, namespace)
	}
}

// size is the number of remembered writes (for tests).
func (o *writeOverlay) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, ns := range o.entries {
		n += len(ns)
	}
	return n
}
