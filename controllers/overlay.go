package controllers

import (
	"slices"
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
	// ownRV holds the resourceVersions of our writes of each object (in
	// write order) until the informer delivers them, so that our own writes
	// do not re-trigger plans (see classifyUpdate).
	ownRV map[types.UID][]string
	// inflight holds, per object whose write is in flight, the
	// resourceVersions of the update events delivered meanwhile: the watch
	// can deliver our write before its response arrives, and only the
	// response tells whether the event was ours.
	inflight map[types.UID][]string
}

type overlayEntry struct {
	stale map[string]struct{} // resourceVersions our writes replaced
	obj   client.Object       // the object as our last write returned it
}

func newWriteOverlay() *writeOverlay {
	return &writeOverlay{entries: map[string]map[types.UID]*overlayEntry{}, ownRV: map[types.UID][]string{}, inflight: map[types.UID][]string{}}
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
	if !slices.Contains(o.inflight[obj.GetUID()], obj.GetResourceVersion()) {
		uid := obj.GetUID() // its event is still to come
		o.ownRV[uid] = append(o.ownRV[uid], obj.GetResourceVersion())
	}
}

// beginWrite marks a write of the object in flight, before it is sent.
func (o *writeOverlay) beginWrite(uid types.UID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inflight[uid] = []string{}
}

// endWrite ends the write begun by beginWrite; writtenRV is the version the
// write produced ("" if it failed), and must be recorded first on success.
// It reports whether an update event delivered meanwhile was not our write,
// i.e. whether the tenant must be planned again.
func (o *writeOverlay) endWrite(uid types.UID, writtenRV string) (replan bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rv := range o.inflight[uid] {
		if rv != writtenRV {
			replan = true
		}
	}
	delete(o.inflight, uid)
	return replan
}

// Update events are classified by classifyUpdate.
type updateKind int

const (
	// updateExternal: a change the planner has not seen.
	updateExternal updateKind = iota
	// updateOwn: the version our last write produced.
	updateOwn
	// updateParked: delivered while a write of the object is in flight;
	// endWrite decides.
	updateParked
)

// classifyUpdate tells an update event that delivers our own write (it
// carries nothing the planner does not already know) from an external
// change.
func (o *writeOverlay) classifyUpdate(obj client.Object) updateKind {
	o.mu.Lock()
	defer o.mu.Unlock()
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if own, ok := o.ownRV[uid]; ok {
		// Events arrive in order: ours up to this one are delivered.
		if i := slices.Index(own, rv); i >= 0 {
			if i == len(own)-1 {
				delete(o.ownRV, uid)
			} else {
				o.ownRV[uid] = own[i+1:]
			}
			return updateOwn
		}
		// Someone else's change: the versions we wrote are history.
		delete(o.ownRV, uid)
	}
	if parked, ok := o.inflight[uid]; ok {
		o.inflight[uid] = append(parked, rv)
		return updateParked
	}
	return updateExternal
}

// forget drops everything known about a deleted object.
func (o *writeOverlay) forget(obj client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.ownRV, obj.GetUID())
	delete(o.inflight, obj.GetUID())
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
