// Package controllers holds the thin reconcilers of license-operator. All the
// decisions live in internal/planner; a reconciler reads the cache, calls the
// planner and writes the statuses that changed, releases before grants.
package controllers

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// ControllerName names the controller, its field manager and its events.
const ControllerName = "license-operator"

// TenantReconciler plans one namespace (tenant) at a time: seat allocation is
// a constraint over all of a namespace's objects, so every event in a
// namespace enqueues that namespace (request.Name = namespace), and a burst
// of events coalesces into one plan. A reconcile reads as
// gather -> plan -> write: the statusWriter does all the writing.
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
	// MaxConcurrentWrites bounds the status writes in flight, all tenants
	// together (default 16); one tenant's plan may use them all.
	MaxConcurrentWrites int
	// Now is the clock (tests may replace it).
	Now func() time.Time

	// plan is planner.Plan (unit tests may replace it).
	plan       func(planner.Input) *planner.Result
	once       sync.Once
	writer     *statusWriter
	activity   *tenantActivity
	unfinished *unfinishedPlans
	lane       *eventLane
}

// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=licenseskus;licensegroups;userlicenses,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=licenseskus/status;licensegroups/status;userlicenses/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile plans the namespace req.Name and writes the differences.
//
// A panic anywhere in it (the planner re-panics its own goroutines' panics
// in this one, the writer its writes') is recorded as a Warning Event on
// the Namespace and counted in license_operator_panics_recovered_total,
// then handed on to controller-runtime (RecoverPanic, on in
// SetupWithManager), which counts it in controller_runtime_reconcile_panics_total
// and retries the tenant with backoff: one tenant's bug never stops the
// manager.
func (r *TenantReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	r.init()
	ns := req.Name
	seen := r.activity.begin(ns)
	defer r.activity.end(ns)
	defer r.recoverPanic(ctx, ns)

	tw, rep := r.unfinished.take(ns, seen)
	if tw == nil {
		in, uncertain, err := r.gather(ctx, ns)
		if err != nil {
			return ctrl.Result{}, err
		}
		res := r.planTenant(ns, in)
		tw = newTenantWrites(in, res, uncertain)
		r.writer.retries.prune(ns, tw.objects())
	}
	defer func() { statusRetriesPending.WithLabelValues(ns).Set(float64(r.writer.retries.pending(ns))) }()
	if tw.done() {
		return ctrl.Result{}, nil
	}

	logger := log.FromContext(ctx).WithValues("tenant", ns)
	if rep == nil {
		logger.V(1).Info("writing statuses", "users", len(tw.users), "summaries", len(tw.summaries))
	} else {
		logger.V(1).Info("resuming the plan cut short for fairness", "written", rep.written)
	}
	rep = r.writer.apply(ctx, tw, rep, func() yieldReason { return r.activity.yield(ns, seen) })
	if len(rep.panics) > 0 {
		panic(rep.panics[0])
	}
	if rep.yielded != yieldNone {
		planYields.WithLabelValues(string(rep.yielded)).Inc()
		logger.V(1).Info("plan cut short", "reason", rep.yielded, "written", rep.written)
		if rep.yielded == yieldFairness {
			// Nothing of the tenant changed: the next reconcile goes on
			// with this plan, unless a change comes first.
			r.unfinished.keep(ns, seen, tw, rep)
		}
	}
	if rep.heldBack > 0 {
		logger.Info("grants held back until the seats they need are confirmed free", "grants", rep.heldBack, "failedWrites", rep.failed)
	}
	return rep.result(r.now()), nil
}

func (r *TenantReconciler) init() {
	r.once.Do(func() {
		if r.plan == nil {
			r.plan = planner.Plan
		}
		r.activity = newTenantActivity()
		r.unfinished = &unfinishedPlans{plans: map[string]unfinishedPlan{}}
		slots := r.MaxConcurrentWrites
		if slots <= 0 {
			slots = 16
		}
		r.writer = &statusWriter{
			client:  r.Client,
			events:  r.Recorder,
			slots:   make(chan struct{}, slots),
			now:     r.now,
			overlay: newWriteOverlay(),
			retries: newRetryBook(),
		}
	})
}

// gather reads the namespace's objects from the cache, overlaid with our own
// writes the cache has not caught up with. uncertain[i] tells that
// in.Users[i] is the pessimistic view of a write with an unknown outcome.
func (r *TenantReconciler) gather(ctx context.Context, ns string) (in planner.Input, uncertain []bool, err error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
		users  licv1.UserLicenseList
	)
	// The planner never modifies its input, so skip the cache's deep copies.
	opts := []client.ListOption{client.InNamespace(ns), client.UnsafeDisableDeepCopy}
	if err := r.Client.List(ctx, &skus, opts...); err != nil {
		return in, nil, fmt.Errorf("listing LicenseSkus: %w", err)
	}
	if err := r.Client.List(ctx, &groups, opts...); err != nil {
		return in, nil, fmt.Errorf("listing LicenseGroups: %w", err)
	}
	if err := r.Client.List(ctx, &users, opts...); err != nil {
		return in, nil, fmt.Errorf("listing UserLicenses: %w", err)
	}

	overlay := r.writer.overlay
	seen := make(map[types.UID]struct{}, len(skus.Items)+len(groups.Items)+len(users.Items))
	in = planner.Input{
		SKUs:   make([]*licv1.LicenseSku, 0, len(skus.Items)),
		Groups: make([]*licv1.LicenseGroup, 0, len(groups.Items)),
		Users:  make([]*licv1.UserLicense, 0, len(users.Items)),
		Now:    metav1Now(r.now()),
	}
	for i := range skus.Items {
		seen[skus.Items[i].UID] = struct{}{}
		o, _ := overlay.resolve(&skus.Items[i])
		in.SKUs = append(in.SKUs, o.(*licv1.LicenseSku))
	}
	for i := range groups.Items {
		seen[groups.Items[i].UID] = struct{}{}
		o, _ := overlay.resolve(&groups.Items[i])
		in.Groups = append(in.Groups, o.(*licv1.LicenseGroup))
	}
	uncertain = make([]bool, len(users.Items))
	for i := range users.Items {
		seen[users.Items[i].UID] = struct{}{}
		o, unsure := overlay.resolve(&users.Items[i])
		in.Users = append(in.Users, o.(*licv1.UserLicense))
		uncertain[i] = unsure
	}
	overlay.prune(ns, seen)
	return in, uncertain, nil
}

// planTenant runs the planner. A panic in it (or in its goroutines, which
// the planner re-panics here) is marked as the planner's.
func (r *TenantReconciler) planTenant(ns string, in planner.Input) *planner.Result {
	defer func() {
		if p := recover(); p != nil {
			panic(newTenantPanic("plan", p, debug.Stack()))
		}
	}()
	start := time.Now()
	res := r.plan(in)
	planDuration.WithLabelValues(ns).Observe(time.Since(start).Seconds())
	recordTenantMetrics(ns, in, res)
	return res
}

// recoverPanic records a panic of the tenant's reconcile (Event on the
// Namespace, metric, log) and hands it on to controller-runtime.
func (r *TenantReconciler) recoverPanic(ctx context.Context, ns string) {
	p := recover()
	if p == nil {
		return
	}
	tp := newTenantPanic("reconcile", p, debug.Stack())
	panicsRecovered.WithLabelValues(tp.where).Inc()
	log.FromContext(ctx).Error(tp, "tenant reconcile panicked: it fails and is retried with backoff", "tenant", ns, "in", tp.where)
	if rec := r.writer.events; rec != nil {
		tenant := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}}
		rec.Eventf(tenant, nil, corev1.EventTypeWarning, EventReconcilePanic, "Reconcile", "%s",
			truncateNote(fmt.Sprintf("planning or writing the licenses of tenant %s panicked in the %s step (a bug in license-operator; the manager's log has the stack): %v; retrying with backoff", ns, tp.where, tp.value)))
	}
	panic(tp)
}

func (r *TenantReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func joinNotes(notes []string) string { return truncateNote(strings.Join(notes, "; ")) }

// Event reasons.
const (
	// On UserLicenses: the assignment history.
	EventLicenseAssigned         = "LicenseAssigned"
	EventLicenseRemoved          = "LicenseRemoved"
	EventLicenseAssignmentFailed = "LicenseAssignmentFailed"
	// EventStatusRejected (Warning, on any kind): the API server refused
	// the status the controller computed; the object is retried with
	// backoff while the rest of its tenant goes on.
	EventStatusRejected = "StatusRejected"
	// EventReconcilePanic (Warning, on the tenant's Namespace): planning or
	// writing the tenant panicked; the reconcile is retried with backoff.
	EventReconcilePanic = "ReconcilePanic"
	// On LicenseSkus (Warning), when the condition of the same name turns
	// True: licenseops' licensing conditions InsufficientSeats and
	// Overallocated, with the condition's message.
	EventInsufficientSeats = licv1.ConditionInsufficientSeats
	EventOverallocated     = licv1.ConditionOverallocated
)

// SetupWithManager registers the tenant controller: events of all three
// kinds map to their namespace. Only creations, deletions and changes of
// spec (generation) or labels queue a tenant: status-only updates — our own
// writes above all — carry nothing to plan (the standard
// GenerationChangedPredicate and LabelChangedPredicate). With a Recorder,
// the event lane runs with the manager. RecoverPanic is on unless opts says
// otherwise.
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
		r.writer.events, r.writer.lane = r.lane, r.lane
	}
	if opts.RecoverPanic == nil {
		opts.RecoverPanic = ptr.To(true)
	}
	r.activity.workers = max(1, opts.MaxConcurrentReconciles)
	if opts.NewQueue == nil {
		// controller-runtime's default queue (the priority queue), kept so
		// that a large tenant's writes can see a tenant waiting for a
		// worker (tenantActivity.yield).
		opts.NewQueue = func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
			q := priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
				o.Log = mgr.GetLogger().WithValues("controller", name)
				o.RateLimiter = rl
			})
			r.activity.setQueue(q.Len)
			return q
		}
	}
	specOrLabels := builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))
	return ctrl.NewControllerManagedBy(mgr).
		Named("tenant").
		Watches(&licv1.LicenseSku{}, r.eventHandler(), specOrLabels).
		Watches(&licv1.LicenseGroup{}, r.eventHandler(), specOrLabels).
		Watches(&licv1.UserLicense{}, r.eventHandler(), specOrLabels).
		WithOptions(opts).
		Complete(r)
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (r *TenantReconciler) eventHandler() handler.EventHandler {
	enqueue := func(o client.Object, q queue) {
		r.activity.changed(o.GetNamespace())
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}})
	}
	return handler.Funcs{
		CreateFunc:  func(_ context.Context, e event.CreateEvent, q queue) { enqueue(e.Object, q) },
		UpdateFunc:  func(_ context.Context, e event.UpdateEvent, q queue) { enqueue(e.ObjectNew, q) },
		DeleteFunc:  func(_ context.Context, e event.DeleteEvent, q queue) { enqueue(e.Object, q) },
		GenericFunc: func(_ context.Context, e event.GenericEvent, q queue) { enqueue(e.Object, q) },
	}
}

// tenantActivity follows the tenants for the writer's yield decision: the
// changes the event handler saw per tenant, the tenants being reconciled,
// and, through the work queue, the tenants waiting for a worker.
type tenantActivity struct {
	mu      sync.Mutex
	changes map[string]uint64
	// active maps the tenants being reconciled to their change count when
	// their reconcile began.
	active map[string]uint64
	// yielding are the tenants whose reconcile decided to give its worker
	// to a waiting tenant and has not ended yet: one worker freed per
	// waiting tenant, not one per busy worker.
	yielding map[string]bool
	// workers is the number of reconciles that can run at once, and ready
	// the number of requests ready in the work queue, the tenants being
	// reconciled included when a change queued them again (the priority
	// queue's Len). Either unset: never yield to other tenants.
	workers int
	ready   func() int
}

func newTenantActivity() *tenantActivity {
	return &tenantActivity{changes: map[string]uint64{}, active: map[string]uint64{}, yielding: map[string]bool{}}
}

// changed records an event of a tenant (the handler then queues it).
func (a *tenantActivity) changed(ns string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.changes[ns]++
}

// begin marks the tenant's reconcile started and returns its change count.
func (a *tenantActivity) begin(ns string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.active[ns] = a.changes[ns]
	return a.changes[ns]
}

func (a *tenantActivity) setQueue(ready func() int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ready = ready
}

func (a *tenantActivity) end(ns string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.active, ns)
	delete(a.yielding, ns)
}

// yield tells a tenant's writes to stop when the tenant changed since seen
// (the change queued it: re-plan at once) or when another tenant waits in
// the queue while every worker is busy and no other reconcile is already
// giving its worker up for it. A tenant waits in the queue whatever put it
// there: a change, or a requeue after a conflict, a failed write or a
// yield. (Counting changes alone would starve a small tenant requeued
// after a conflict until a large tenant's plan ends.)
func (a *tenantActivity) yield(ns string, seen uint64) yieldReason {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.changes[ns] != seen {
		return yieldChanged
	}
	if a.workers <= 0 || a.ready == nil || len(a.active) < a.workers {
		return yieldNone
	}
	// Ready requests of tenants being reconciled cannot be handed to a
	// worker before their reconcile ends: they wait for no worker.
	waiting := a.ready()
	for t, began := range a.active {
		if a.changes[t] != began {
			waiting--
		}
	}
	if waiting > len(a.yielding) {
		a.yielding[ns] = true
		return yieldFairness
	}
	return yieldNone
}

// unfinishedPlans keeps the plans cut short for fairness, one per tenant at
// most: the tenant's next reconcile writes the rest of it without gathering
// and planning again, when no change of the tenant arrived since it was
// planned (its change count is the same). Its objects are then what the
// plan was made from, but for what the plan itself wrote, which the plan's
// writes and seat ledger already hold. Any change, and a yield to a newer
// change, discards it: the tenant is planned again.
type unfinishedPlans struct {
	mu    sync.Mutex
	plans map[string]unfinishedPlan
}

type unfinishedPlan struct {
	seen uint64 // the tenant's change count when it was planned
	tw   *tenantWrites
	rep  *writeReport
}

func (u *unfinishedPlans) keep(ns string, seen uint64, tw *tenantWrites, rep *writeReport) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.plans[ns] = unfinishedPlan{seen: seen, tw: tw, rep: rep}
}

// take returns the tenant's unfinished plan if it is still valid at change
// count seen, and forgets it in any case.
func (u *unfinishedPlans) take(ns string, seen uint64) (*tenantWrites, *writeReport) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok := u.plans[ns]
	delete(u.plans, ns)
	if !ok || p.seen != seen {
		return nil, nil
	}
	return p.tw, p.rep
}
