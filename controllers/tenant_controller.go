// Package controllers holds the thin reconcilers of license-operator. All the
// decisions live in internal/planner; a reconciler reads the cache, calls the
// planner and writes the statuses that changed, releases before grants.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// ControllerName names the controller, its field manager and its events.
const ControllerName = "license-operator"

// TenantReconciler plans one namespace (tenant) at a time: seat allocation is
// a constraint over all of a namespace's objects, so every event in a
// namespace enqueues that namespace (request.Name = namespace), and a burst
// of events coalesces into one plan.
type TenantReconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Recorder emits the assignment history as events.k8s.io Events. Under
	// a manager (SetupWithManager) events go through a lane that lets them
	// trail the status writes; see eventLane.
	Recorder events.EventRecorder
	// EventQPS paces the events when no status write is in flight
	// (default DefaultEventQPS), EventQPSWhileWriting while some are
	// (default DefaultEventQPSWhileWriting; negative for none), and
	// MaxQueuedEvents bounds the events waiting (default
	// DefaultMaxQueuedEvents).
	EventQPS             float64
	EventQPSWhileWriting float64
	MaxQueuedEvents      int
	// MaxConcurrentWrites bounds the status patches in flight per plan.
	MaxConcurrentWrites int
	// Now is the clock (tests may replace it).
	Now func() time.Time

	overlay *writeOverlay
	changes *changeCounter
	lane    *eventLane
}

// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=licenseskus;licensegroups;userlicenses,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=licenseskus/status;licensegroups/status;userlicenses/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile plans the namespace req.Name and writes the differences.
func (r *TenantReconciler) Reconcile(ctx context.Context, req reconcile.Request) (result ctrl.Result, retErr error) {
	ns := req.Name
	logger := log.FromContext(ctx).WithValues("tenant", ns)
	r.init()
	// Changes that arrive while this plan is being written make it stale:
	// the writes stop early (never between a release and its grant) and the
	// tenant is planned again at once, so a single change is not stuck
	// behind a large fan-out.
	seenChanges := r.changes.get(ns)

	in, err := r.gather(ctx, ns)
	if err != nil {
		return ctrl.Result{}, err
	}

	start := time.Now()
	res := planner.Plan(in)
	planDuration.WithLabelValues(ns).Observe(time.Since(start).Seconds())
	recordTenantMetrics(ns, in, res)

	releases, grants, summaries := r.writes(in, res)
	if len(releases)+len(grants)+len(summaries) == 0 {
		return ctrl.Result{}, nil
	}
	logger.V(1).Info("writing statuses", "releasing", len(releases), "granting", len(grants), "summaries", len(summaries))
	if r.lane != nil {
		defer r.lane.writeStarted()()
	}

	// Release before grant: every status that frees or keeps seats is
	// written before any status that takes one, so no reader ever sees more
	// holders than capacity. If a release fails, no grant is written.
	stale := func() bool { return r.changes.get(ns) != seenChanges }
	// Set when an update event delivered during a write turns out not to
	// be ours (see writeOverlay.classifyUpdate): that change was not
	// queued, so this plan re-queues the tenant.
	var missed atomic.Bool
	defer func() {
		if missed.Load() && retErr == nil && (result.RequeueAfter == 0 || result.RequeueAfter > replanAfterMissed) {
			result = ctrl.Result{RequeueAfter: replanAfterMissed}
		}
	}()
	for _, phase := range [][]statusWrite{releases, grants, summaries} {
		aborted, err := r.apply(ctx, phase, stale, &missed)
		if err != nil {
			if onlyConflicts(err) {
				// Objects changed under the plan: their events re-plan the
				// tenant; the requeue is only a backstop.
				logger.V(1).Info("statuses changed while planning; re-planning", "conflicts", err.Error())
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
			return ctrl.Result{}, err
		}
		if aborted {
			// The event that made the plan stale has re-queued the tenant
			// (or missed has).
			logger.V(1).Info("plan superseded by newer changes; re-planning")
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, nil
}

// replanAfterMissed re-queues a tenant whose change was delivered while one
// of its writes was in flight (see missed in Reconcile).
const replanAfterMissed = time.Millisecond

// onlyConflicts reports whether every error of an aggregate is a conflict.
func onlyConflicts(err error) bool {
	var agg kerrors.Aggregate
	if !errors.As(err, &agg) {
		return errors.Is(err, errConflict)
	}
	for _, e := range agg.Errors() {
		if !errors.Is(e, errConflict) {
			return false
		}
	}
	return true
}

func (r *TenantReconciler) init() {
	if r.overlay == nil {
		r.overlay = newWriteOverlay()
	}
	if r.changes == nil {
		r.changes = newChangeCounter()
	}
}

// gather reads the namespace's objects from the cache, overlaid with our own
// writes the cache has not caught up with.
func (r *TenantReconciler) gather(ctx context.Context, ns string) (planner.Input, error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
		users  licv1.UserLicenseList
	)
	// The planner never modifies its input, so skip the cache's deep copies.
	opts := []client.ListOption{client.InNamespace(ns), client.UnsafeDisableDeepCopy}
	if err := r.Client.List(ctx, &skus, opts...); err != nil {
		return planner.Input{}, fmt.Errorf("listing LicenseSkus: %w", err)
	}
	if err := r.Client.List(ctx, &groups, opts...); err != nil {
		return planner.Input{}, fmt.Errorf("listing LicenseGroups: %w", err)
	}
	if err := r.Client.List(ctx, &users, opts...); err != nil {
		return planner.Input{}, fmt.Errorf("listing UserLicenses: %w", err)
	}

	seen := make(map[types.UID]struct{}, len(skus.Items)+len(groups.Items)+len(users.Items))
	in := planner.Input{
		SKUs:   make([]*licv1.LicenseSku, 0, len(skus.Items)),
		Groups: make([]*licv1.LicenseGroup, 0, len(groups.Items)),
		Users:  make([]*licv1.UserLicense, 0, len(users.Items)),
		Now:    metav1Now(r.now()),
	}
	for i := range skus.Items {
		seen[skus.Items[i].UID] = struct{}{}
		in.SKUs = append(in.SKUs, r.overlay.resolve(&skus.Items[i]).(*licv1.LicenseSku))
	}
	for i := range groups.Items {
		seen[groups.Items[i].UID] = struct{}{}
		in.Groups = append(in.Groups, r.overlay.resolve(&groups.Items[i]).(*licv1.LicenseGroup))
	}
	for i := range users.Items {
		seen[users.Items[i].UID] = struct{}{}
		in.Users = append(in.Users, r.overlay.resolve(&users.Items[i]).(*licv1.UserLicense))
	}
	r.overlay.prune(ns, seen)
	return in, nil
}

func (r *TenantReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// statusWrite is one status write: from the observed object to the
// planned status. The object to send is built only when the write is
// launched (desired), so a plan cut short by a newer change has not copied
// the statuses it never wrote: under a fan-out of N users every re-plan
// would otherwise copy up to N objects.
type statusWrite struct {
	kind     string
	observed client.Object
	// desired builds the object to send: a copy of observed with the
	// planned status (a private copy: the planner's statuses share
	// read-only slices, and the response is decoded into this object).
	desired func() client.Object
	// for UserLicenses: the planned status, for events.
	newUser *licv1.UserLicenseStatus
}

// writes turns the plan into ordered status writes.
func (r *TenantReconciler) writes(in planner.Input, res *planner.Result) (releases, grants, summaries []statusWrite) {
	for i := range res.Users {
		u := &res.Users[i]
		if !u.Changed {
			continue
		}
		obs := in.Users[i]
		w := statusWrite{kind: "UserLicense", observed: obs, newUser: u.Status, desired: func() client.Object {
			des := obs.DeepCopy()
			des.Status = *u.Status.DeepCopy()
			return des
		}}
		if len(u.Grants) > 0 {
			grants = append(grants, w)
		} else {
			releases = append(releases, w)
		}
	}
	for i := range res.Groups {
		g := &res.Groups[i]
		if !g.Changed {
			continue
		}
		obs := in.Groups[i]
		summaries = append(summaries, statusWrite{kind: "LicenseGroup", observed: obs, desired: func() client.Object {
			des := obs.DeepCopy()
			des.Status = *g.Status.DeepCopy()
			return des
		}})
	}
	for i := range res.SKUs {
		sk := &res.SKUs[i]
		if !sk.Changed {
			continue
		}
		obs := in.SKUs[i]
		summaries = append(summaries, statusWrite{kind: "LicenseSku", observed: obs, desired: func() client.Object {
			des := obs.DeepCopy()
			des.Status = *sk.Status.DeepCopy()
			return des
		}})
	}
	sortWrites(releases)
	sortWrites(grants)
	sortWrites(summaries)
	return releases, grants, summaries
}

// sortWrites orders a phase: objects whose spec changed and is not yet
// observed first (someone is waiting on them, e.g. kubectl wait), then by
// kind and name, so progress is deterministic even when a phase is cut short.
func sortWrites(ws []statusWrite) {
	sort.SliceStable(ws, func(i, j int) bool {
		pi, pj := pendingSpec(ws[i].observed), pendingSpec(ws[j].observed)
		if pi != pj {
			return pi
		}
		if ws[i].kind != ws[j].kind {
			return ws[i].kind < ws[j].kind
		}
		return ws[i].observed.GetName() < ws[j].observed.GetName()
	})
}

func pendingSpec(o client.Object) bool {
	switch t := o.(type) {
	case *licv1.UserLicense:
		return t.Status.ObservedGeneration != t.Generation
	case *licv1.LicenseGroup:
		return t.Status.ObservedGeneration != t.Generation
	case *licv1.LicenseSku:
		return t.Status.ObservedGeneration != t.Generation
	}
	return false
}

// minWriteBeforeAbort is how long a plan's writes run before a newer change
// may cut them short: long enough that every plan makes progress.
const minWriteBeforeAbort = 250 * time.Millisecond

// apply patches the statuses of one phase with bounded parallelism and
// returns every failure (a 409 or a transient error requeues the tenant;
// nothing is dropped: the next plan recomputes what is still to be written).
// When stale() turns true it stops launching writes, waits for those in
// flight and reports aborted.
func (r *TenantReconciler) apply(ctx context.Context, phase []statusWrite, stale func() bool, missed *atomic.Bool) (aborted bool, err error) {
	if len(phase) == 0 {
		return false, nil
	}
	limit := r.MaxConcurrentWrites
	if limit <= 0 {
		limit = 16
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		sem   = make(chan struct{}, limit)
		start = time.Now()
	)
	for i := range phase {
		if time.Since(start) >= minWriteBeforeAbort && stale() {
			aborted = true
			break
		}
		w := phase[i]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.patchStatus(ctx, w, missed); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return aborted, kerrors.NewAggregate(errs)
}

// errConflict marks a write refused because the object changed since it was
// planned. The change's own event re-queues the tenant, so it is not an
// error worth a stack trace.
var errConflict = errors.New("object changed since it was planned")

// patchStatus writes the desired status with an update of the status
// subresource, guarded by the planned resourceVersion (optimistic locking).
// An update rather than a merge patch, because a merge patch computed from
// typed objects cannot tell "0" from "absent" and would never write a zero
// count that was not there before.
//
// An update event of the object delivered while the write is in flight is
// parked by the event handler; once the write returns, an event that was
// not this write marks the tenant changed and sets missed.
func (r *TenantReconciler) patchStatus(ctx context.Context, w statusWrite, missed *atomic.Bool) error {
	preRV, uid := w.observed.GetResourceVersion(), w.observed.GetUID()
	r.overlay.beginWrite(uid)
	desired := w.desired()
	err := r.Client.Status().Update(ctx, desired, client.FieldOwner(ControllerName))
	writtenRV := ""
	if err == nil {
		r.overlay.record(preRV, desired)
		writtenRV = desired.GetResourceVersion()
	}
	if r.overlay.endWrite(uid, writtenRV) {
		r.changes.inc(w.observed.GetNamespace())
		missed.Store(true)
	}
	switch {
	case err == nil:
		statusWrites.WithLabelValues(w.kind, "success").Inc()
		if w.newUser != nil {
			r.emitEvents(desired, &w.observed.(*licv1.UserLicense).Status, w.newUser)
		}
		return nil
	case apierrors.IsNotFound(err):
		// Deleted meanwhile: its deletion event re-plans the tenant.
		statusWrites.WithLabelValues(w.kind, "notfound").Inc()
		return nil
	case apierrors.IsConflict(err):
		statusWrites.WithLabelValues(w.kind, "conflict").Inc()
		return fmt.Errorf("%s %s: %w", w.kind, w.observed.GetName(), errConflict)
	default:
		statusWrites.WithLabelValues(w.kind, "error").Inc()
		return fmt.Errorf("writing status of %s %s: %w", w.kind, w.observed.GetName(), err)
	}
}

// emitEvents records the user's license transitions, the assignment
// history: one event per kind of transition and plan, listing every license
// it concerns, so a user's first plan costs one or two events, not one per
// license, and each event's reason says truthfully what happened.
func (r *TenantReconciler) emitEvents(obj runtime.Object, oldStatus, newStatus *licv1.UserLicenseStatus) {
	var rec events.EventRecorder = r.lane
	if r.lane == nil {
		rec = r.Recorder
	}
	if rec == nil {
		return
	}
	var assigned, removed, failed []string
	for _, t := range planner.Transitions(oldStatus, newStatus) {
		switch t.Kind {
		case planner.TransitionAssigned:
			assigned = append(assigned, t.Message)
		case planner.TransitionRemoved:
			removed = append(removed, t.Message)
		case planner.TransitionFailed:
			failed = append(failed, t.Message)
		}
	}
	if len(removed) > 0 {
		rec.Eventf(obj, nil, corev1.EventTypeNormal, EventLicenseRemoved, "Remove", "%s", joinNotes(removed))
	}
	if len(assigned) > 0 {
		rec.Eventf(obj, nil, corev1.EventTypeNormal, EventLicenseAssigned, "Assign", "%s", joinNotes(assigned))
	}
	if len(failed) > 0 {
		rec.Eventf(obj, nil, corev1.EventTypeWarning, EventLicenseAssignmentFailed, "Assign", "%s", joinNotes(failed))
	}
}

// maxEventNote is the API's limit on an event's note.
const maxEventNote = 1024

func joinNotes(notes []string) string {
	s := strings.Join(notes, "; ")
	if len(s) > maxEventNote {
		s = s[:maxEventNote-3] + "..."
	}
	return s
}

// Event reasons on UserLicenses.
const (
	EventLicenseAssigned         = "LicenseAssigned"
	EventLicenseRemoved          = "LicenseRemoved"
	EventLicenseAssignmentFailed = "LicenseAssignmentFailed"
)

// SetupWithManager registers the tenant controller: events of all three
// kinds map to their namespace. Update events that only deliver our own
// status writes are dropped, so writing a plan does not trigger another.
// With a Recorder, the event lane runs with the manager.
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.init()
	if r.Recorder != nil {
		busyQPS := r.EventQPSWhileWriting
		if busyQPS == 0 {
			busyQPS = DefaultEventQPSWhileWriting
		}
		r.lane = newEventLane(r.Recorder, r.EventQPS, busyQPS, r.MaxQueuedEvents, nil)
		if err := mgr.Add(r.lane); err != nil {
			return err
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		Watches(&licv1.LicenseSku{}, r.eventHandler()).
		Watches(&licv1.LicenseGroup{}, r.eventHandler()).
		Watches(&licv1.UserLicense{}, r.eventHandler()).
		WithOptions(opts).
		Complete(r)
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (r *TenantReconciler) eventHandler() handler.EventHandler {
	enqueue := func(o client.Object, q queue) {
		r.changes.inc(o.GetNamespace())
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}})
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q queue) { enqueue(e.Object, q) },
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q queue) {
			if r.overlay.classifyUpdate(e.ObjectNew) != updateExternal {
				return // ours, or parked until the write in flight returns
			}
			enqueue(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q queue) {
			r.overlay.forget(e.Object)
			enqueue(e.Object, q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { enqueue(e.Object, q) },
	}
}

// changeCounter counts the events seen per namespace.
type changeCounter struct {
	mu sync.Mutex
	n  map[string]uint64
}

func newChangeCounter() *changeCounter { return &changeCounter{n: map[string]uint64{}} }

func (c *changeCounter) inc(ns string) {
	c.mu.Lock()
	c.n[ns]++
	c.mu.Unlock()
}

func (c *changeCounter) get(ns string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[ns]
}
