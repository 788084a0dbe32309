package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeOverlay gives the reconciler read-your-writes over the informer cache.
//
// The cache lags behind the status patches the reconciler issues. Planning
// from a cache that does not yet show a seat we just granted could grant the
// same seat to someone else. So every successful write is remembered with the
// resourceVersions it superseded; while the cache still shows one of those,
// the reconciler plans from the written object instead. Because writes use
// optimistic locking, a cached object whose resourceVersion is not among the
// superseded ones is at least as new as our write, and the entry is dropped.
type writeOverlay struct {
	mu sync.Mutex
	// by namespace, then object UID.
	entries map[string]map[types.UID]*overlayEntry
	// ownRV is the resourceVersion of our last write of each object, until
	// the informer delivers it, so that our own writes do not re-trigger
	// plans (see isOwnWrite).
	ownRV map[types.UID]string
}

type overlayEntry struct {
	stale map[string]struct{} // resourceVersions our writes replaced
	obj   client.Object       // the object as our last write returned it
}

func newWriteOverlay() *writeOverlay {
	return &writeOverlay{entries: map[string]map[types.UID]*overlayEntry{}, ownRV: map[types.UID]string{}}
}

// record notes that obj (as returned by the API server) replaced the version
// with resourceVersion preRV.
func (o *writeOverlay) record(preRV string, obj client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
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
	e.stale[preRV] = struct{}{}
	e.obj = obj
	o.ownRV[obj.GetUID()] = obj.GetResourceVersion()
}

// isOwnWrite reports whether an update event delivers the version our last
// write of the object produced; such an event carries nothing the planner
// does not already know.
func (o *writeOverlay) isOwnWrite(obj client.Object) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	rv, ok := o.ownRV[obj.GetUID()]
	if !ok {
		return false
	}
	delete(o.ownRV, obj.GetUID())
	return rv == obj.GetResourceVersion()
}

// forget drops everything known about a deleted object.
func (o *writeOverlay) forget(obj client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.ownRV, obj.GetUID())
	if ns := o.entries[obj.GetNamespace()]; ns != nil {
		delete(ns, obj.GetUID())
	}
}

// resolve returns the freshest known version of a cached object: our last
// write while the cache is behind it, else the cached object.
func (o *writeOverlay) resolve(cached client.Object) client.Object {
	o.mu.Lock()
	defer o.mu.Unlock()
	ns := o.entries[cached.GetNamespace()]
	e, ok := ns[cached.GetUID()]
	if !ok {
		return cached
	}
	if _, behind := e.stale[cached.GetResourceVersion()]; behind {
		return e.obj
	}
	delete(ns, cached.GetUID())
	return cached
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

// size is the number of remembered writes (for tests and metrics).
func (o *writeOverlay) size() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, ns := range o.entries {
		n += len(ns)
	}
	return n
}
