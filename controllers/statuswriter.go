package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// statusWriter is the tenant reconciler's only way to write. It writes one
// plan's statuses (tenantWrites) and knows what it wrote from one source:
// the answers of its own writes, which it keeps in the read-your-writes
// overlay (writeOverlay) for the next plan.
//
// Seats: at no moment may a reader see more holders of a SKU than its
// capacity. The writer keeps, per SKU, an upper bound of the holders the API
// server may show (seatLedger): the holders the plan started from, plus
// every grant sent whose outcome is not a definite refusal, minus every
// release the API server confirmed. A status that takes a seat is sent only
// while that bound stays within capacity. So:
//
//   - statuses that free seats, or take only seats that are free already,
//     go first (pass 1), with no order among them;
//   - a user who frees one SKU and takes another whose seat is not free
//     yet is written twice: first its releases without those grants (the
//     "release step", see holdBack), then, once the releases the grants need
//     are confirmed, its full status (pass 2); a user who takes seats freed
//     by others' releases and frees none is written once, in pass 2;
//   - a release that fails, or whose outcome is unknown, keeps its seat in
//     the bound: only grants of that SKU wait, every other write goes on;
//   - group and SKU summaries come last (pass 3).
//
// Failures are isolated: a refused write does not stop the others; it is
// counted (license_operator_status_writes_total), becomes a Warning Event
// on the object, and the object waits out an exponential backoff
// (retryBook) during which the plans skip it. A write whose outcome is
// unknown counts as applied (see writeOverlay) and is retried the same way.
type statusWriter struct {
	client client.Client
	// events receives the assignment history and the warnings (the event
	// lane under a manager); nil records none.
	events events.EventRecorder
	// lane, when set, is told when writes are in flight (it slows down).
	lane *eventLane
	// slots bounds the writes in flight, all tenants together: a tenant's
	// plan may use them all, but a write of another tenant waits for at
	// most the writes already waiting (a channel's blocked senders queue
	// in order), not behind every write of the large tenant's plan. Beyond
	// a few dozen writes in flight the API server's throughput does not
	// grow, only its latency for everyone.
	slots chan struct{}
	now   func() time.Time

	overlay *writeOverlay
	retries *retryBook
}

// Timing of the writer.
const (
	// minWriteBeforeYield is how long a plan's writes run before a newer
	// change of the tenant, or another tenant waiting for a worker, may cut
	// them short: long enough that every plan makes progress.
	minWriteBeforeYield = 250 * time.Millisecond
	// conflictRequeue re-plans a tenant after a write found its object
	// changed. A change of spec or labels has queued the tenant already;
	// this covers status-only changes, which do not queue it.
	conflictRequeue = time.Second
	// heldBackRequeue re-plans a tenant some of whose grants could not be
	// written for no cause the writer knows of (the plan and the seat bound
	// disagree); it is logged and counted.
	heldBackRequeue = 5 * time.Second
	// writeRetryBase and writeRetryMax bound the backoff of an object whose
	// writes fail.
	writeRetryBase = time.Second
	writeRetryMax  = 5 * time.Minute
)

// yieldReason says why a plan stopped launching writes.
type yieldReason string

const (
	yieldNone yieldReason = ""
	// yieldChanged: the tenant changed since it was planned; the change
	// has queued it again.
	yieldChanged yieldReason = "changed"
	// yieldFairness: another tenant waits for a worker while all are busy;
	// this one goes back to the queue behind it.
	yieldFairness yieldReason = "fairness"
)

// apply writes a plan and reports what happened. yield, asked before each
// write (once it has a slot) after the writes have run minWriteBeforeYield,
// cuts the plan short: no new write is launched and those in flight are
// awaited. tw remembers how far it got: after a yield for fairness, when
// nothing of the tenant changed meanwhile, apply goes on with the same tw
// and report (resumeFrom) instead of the tenant being planned again.
func (w *statusWriter) apply(ctx context.Context, tw *tenantWrites, rep *writeReport, yield func() yieldReason) *writeReport {
	if rep == nil {
		rep = &writeReport{}
	}
	rep.yielded = yieldNone
	if tw.done() {
		return rep
	}
	if w.lane != nil {
		defer w.lane.writeStarted()()
	}
	start := time.Now()
	stop := func() bool {
		if rep.yielded != yieldNone {
			return true
		}
		if yield == nil || time.Since(start) < minWriteBeforeYield {
			return false
		}
		rep.yielded = yield()
		return rep.yielded != yieldNone
	}
	now := w.now()
	heldBack := rep.heldBack

	// Pass 1: releases, and grants of seats that are free now.
	if tw.pass == passUsers && !w.runPass(ctx, tw, rep, stop, len(tw.users), func(b *batch, i int) bool {
		return w.launchUser(b, tw, tw.users[i], now, rep)
	}) {
		return w.report(rep, heldBack)
	}
	// Pass 2: grants of seats the confirmed releases freed. Whatever does
	// not fit now waits for a later plan; what fits is written.
	if tw.pass == passHeldBack && !w.runPass(ctx, tw, rep, stop, len(tw.second), func(b *batch, i int) bool {
		u := tw.second[i]
		if u.failed {
			return true // its first write was not applied: a later plan redoes it
		}
		fit, rest := tw.seats.reserve(u.pending)
		if len(fit) > 0 && !b.launch(w.userWrite(u, u.cur, holdBack(&u.cur.Status, u.planned, rest), nil, fit)) {
			tw.seats.unreserve(fit)
			return false
		}
		rep.heldBack += len(rest)
		return true
	}) {
		return w.report(rep, heldBack)
	}
	// Pass 3: group and SKU summaries, after the users they count.
	if tw.pass == passSummaries {
		w.runPass(ctx, tw, rep, stop, len(tw.summaries), func(b *batch, i int) bool {
			s := tw.summaries[i]
			if at, waiting := w.retries.waiting(s.base.GetUID(), s.base.GetGeneration(), now); waiting {
				rep.retry(at)
				return true
			}
			return b.launch(s)
		})
	}
	return w.report(rep, heldBack)
}

// runPass runs tw's current pass from tw.next over its n writes in one
// batch: launch starts the i-th (false: the plan stops before it). The
// outcomes are settled; a pass that ran to its end moves tw to the next
// pass, and runPass reports whether it did.
func (w *statusWriter) runPass(ctx context.Context, tw *tenantWrites, rep *writeReport, stop func() bool, n int, launch func(b *batch, i int) bool) bool {
	b := w.newBatch(ctx, stop)
	for ; tw.next < n; tw.next++ {
		if !launch(b, tw.next) {
			break
		}
	}
	w.settle(ctx, tw, b.wait(), rep)
	if b.stopped {
		return false
	}
	tw.pass, tw.next = tw.pass+1, 0
	return true
}

// launchUser launches the first write of a user in pass 1: everything when
// the seats it takes are free, else its releases alone (the grants wait
// for pass 2). It returns false when the plan stops before the user.
func (w *statusWriter) launchUser(b *batch, tw *tenantWrites, u *userWrite, now time.Time, rep *writeReport) bool {
	if at, waiting := w.retries.waiting(u.obj.UID, u.obj.Generation, now); waiting {
		rep.retry(at) // its releases stay undone, its grants untaken
		return true
	}
	fit, rest := tw.seats.reserve(u.grants)
	switch {
	case len(rest) == 0:
		if !b.launch(w.userWrite(u, u.obj, u.planned, u.releases, fit)) {
			tw.seats.unreserve(fit)
			return false
		}
	case len(u.releases) > 0:
		if !b.launch(w.userWrite(u, u.obj, holdBack(&u.obj.Status, u.planned, rest), u.releases, fit)) {
			tw.seats.unreserve(fit)
			return false
		}
		releaseSteps.Inc()
		u.pending = rest
		tw.second = append(tw.second, u)
	default:
		tw.seats.unreserve(fit)
		u.pending = u.grants
		tw.second = append(tw.second, u)
	}
	return true
}

// report counts the grants held back by this call of apply.
func (w *statusWriter) report(rep *writeReport, heldBackBefore int) *writeReport {
	if d := rep.heldBack - heldBackBefore; d > 0 {
		grantsHeldBack.Add(float64(d))
	}
	return rep
}

// writeReport is what apply did.
type writeReport struct {
	written, conflicts, failed int
	// heldBack counts grants not written because a seat they need is not
	// confirmed free (a release failed, is unknown or was skipped).
	heldBack int
	// retryAt is the earliest retry of an object waiting out a backoff.
	retryAt time.Time
	yielded yieldReason
	panics  []*tenantPanic
}

func (r *writeReport) retry(at time.Time) {
	if r.retryAt.IsZero() || at.Before(r.retryAt) {
		r.retryAt = at
	}
}

// result is the reconcile result that follows a report (panics aside).
func (r *writeReport) result(now time.Time) ctrl.Result {
	switch r.yielded {
	case yieldChanged:
		return ctrl.Result{} // the change queued the tenant
	case yieldFairness:
		// Back into the queue behind the tenants waiting, and behind
		// fresh changes (which have the default priority).
		return ctrl.Result{RequeueAfter: time.Millisecond, Priority: ptr.To(handler.LowPriority)}
	}
	var after time.Duration
	consider := func(d time.Duration) {
		if d > 0 && (after == 0 || d < after) {
			after = d
		}
	}
	if r.conflicts > 0 {
		consider(conflictRequeue)
	}
	if !r.retryAt.IsZero() {
		consider(max(time.Millisecond, r.retryAt.Sub(now)))
	}
	if r.heldBack > 0 && after == 0 {
		consider(heldBackRequeue)
	}
	return ctrl.Result{RequeueAfter: after}
}

// ---------------------------------------------------------------------------
// One write.

// write is one status update. base is the object as planned from: its
// resourceVersion guards the update (optimistic locking), so a write planned
// from a stale object is refused with a conflict. An update of the status
// subresource rather than a merge patch, because a merge patch computed from
// typed objects cannot tell "0" from "absent" and would never write a zero
// count that was not there before.
type write struct {
	kind string
	base client.Object
	// send builds the object to send, when the write is launched: a copy of
	// base with the status (a private copy: planned statuses share
	// read-only slices, and the response is decoded into this object).
	send func() client.Object

	// UserLicenses: the status sent, the user, and the seats this write
	// frees and takes relative to base.
	status           *licv1.UserLicenseStatus
	user             *userWrite
	releases, grants []string

	// Filled in by the write's goroutine.
	sent  client.Object
	err   error
	out   outcome
	panic *tenantPanic
}

func (w *statusWriter) userWrite(u *userWrite, base *licv1.UserLicense, st *licv1.UserLicenseStatus, releases, grants []string) *write {
	return &write{
		kind: "UserLicense", base: base, status: st, user: u, releases: releases, grants: grants,
		send: func() client.Object {
			o := base.DeepCopy()
			o.Status = *st.DeepCopy()
			return o
		},
	}
}

// outcome is what became of a write.
type outcome uint8

const (
	outcomeWritten   outcome = iota
	outcomeConflict          // 409: the object changed since it was planned
	outcomeGone              // 404: deleted meanwhile (its deletion re-plans the tenant)
	outcomeThrottled         // 429: refused by API Priority and Fairness; retried with backoff
	outcomeRejected          // any other answer of the API server refusing the write
	outcomeUnknown           // no answer: the write may or may not have been applied
)

var outcomeLabels = [...]string{"success", "conflict", "notfound", "throttled", "rejected", "unknown"}

// classify reads an error of a status update. Only an answer of the API
// server in the 4xx range says for sure the write was not applied;
// anything else (a timeout, a reset connection, a context deadline, a 5xx
// such as 504 "may still be processing") leaves the outcome unknown.
func classify(err error) outcome {
	switch {
	case err == nil:
		return outcomeWritten
	case apierrors.IsConflict(err):
		return outcomeConflict
	case apierrors.IsNotFound(err):
		return outcomeGone
	case apierrors.IsTooManyRequests(err):
		return outcomeThrottled
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if code := status.Status().Code; code >= http.StatusBadRequest && code < http.StatusInternalServerError {
			return outcomeRejected
		}
	}
	return outcomeUnknown
}

// batch runs writes in parallel, within the writer's slots.
type batch struct {
	w       *statusWriter
	ctx     context.Context
	stop    func() bool
	stopped bool
	wg      sync.WaitGroup
	writes  []*write
}

func (w *statusWriter) newBatch(ctx context.Context, stop func() bool) *batch {
	return &batch{w: w, ctx: ctx, stop: stop}
}

// launch starts a write once it has a slot, unless the plan must stop
// (asked once the slot is taken: waiting for a slot is when another tenant
// may have come to wait); it returns whether the write was started.
func (b *batch) launch(wr *write) bool {
	if b.stopped {
		return false
	}
	b.w.slots <- struct{}{}
	if b.stop() {
		<-b.w.slots
		b.stopped = true
		return false
	}
	b.wg.Add(1)
	b.writes = append(b.writes, wr)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				// A panic here would end the process: the write's outcome
				// is unknown, and the reconcile re-panics once every write
				// in flight has ended (see Reconcile).
				wr.out, wr.panic = outcomeUnknown, newTenantPanic("write", p, debug.Stack())
			}
			// Counted as each write ends, not when its batch settles: a
			// 10,000-user batch would show in the rate a minute late.
			statusWrites.WithLabelValues(wr.kind, outcomeLabels[wr.out]).Inc()
			<-b.w.slots
			b.wg.Done()
		}()
		wr.sent = wr.send()
		wr.err = b.w.client.Status().Update(b.ctx, wr.sent, client.FieldOwner(ControllerName))
		wr.out = classify(wr.err)
	}()
	return true
}

func (b *batch) wait() []*write {
	b.wg.Wait()
	return b.writes
}

// settle takes in the outcomes of a batch: seats, overlay, retries,
// events, metrics.
func (w *statusWriter) settle(ctx context.Context, tw *tenantWrites, writes []*write, rep *writeReport) {
	logger := log.FromContext(ctx)
	now := w.now()
	for _, wr := range writes {
		uid, preRV := wr.base.GetUID(), wr.base.GetResourceVersion()
		if wr.panic != nil {
			rep.panics = append(rep.panics, wr.panic)
		}
		if wr.out != outcomeWritten && wr.user != nil {
			wr.user.failed = true
		}
		switch wr.out {
		case outcomeWritten:
			rep.written++
			tw.seats.released(wr.releases)
			w.overlay.record(preRV, wr.sent)
			w.retries.succeeded(uid)
			if wr.user != nil {
				u := wr.sent.(*licv1.UserLicense)
				wr.user.cur = u
				w.userEvents(u, &wr.base.(*licv1.UserLicense).Status, &u.Status)
			}
			if sku, ok := wr.sent.(*licv1.LicenseSku); ok {
				w.skuEvents(sku, wr.base.(*licv1.LicenseSku).Status.Conditions)
			}
			continue
		case outcomeConflict:
			rep.conflicts++
			tw.seats.unreserve(wr.grants)
			continue
		case outcomeGone:
			tw.seats.unreserve(wr.grants)
			w.retries.succeeded(uid)
			continue
		case outcomeThrottled, outcomeRejected:
			tw.seats.unreserve(wr.grants) // not applied: its seats were not taken
		case outcomeUnknown:
			// Counts as applied: its grants stay taken, its releases not
			// done, until the cache shows the object at another version.
			if wr.user != nil {
				w.overlay.recordUncertain(preRV, uncertainView(wr.base.(*licv1.UserLicense), wr.status))
			}
		}
		rep.failed++
		at := w.retries.failed(wr.base.GetNamespace(), uid, wr.base.GetGeneration(), now)
		rep.retry(at)
		retryIn := at.Sub(now).Round(time.Millisecond)
		err := wr.err
		if wr.panic != nil {
			err = wr.panic
		}
		if ctx.Err() != nil {
			// The manager is stopping: the write was cut, not failed.
			logger.V(1).Info("status write cut short by shutdown", "kind", wr.kind, "name", wr.base.GetName())
			continue
		}
		logger.Error(err, "status write failed; retrying the object with backoff", "kind", wr.kind, "name", wr.base.GetName(),
			"outcome", outcomeLabels[wr.out], "retryIn", retryIn)
		if wr.out == outcomeRejected && w.events != nil {
			w.events.Eventf(wr.base, nil, corev1.EventTypeWarning, EventStatusRejected, "WriteStatus",
				"%s", truncateNote(fmt.Sprintf("the API server refused the status the controller computed (retrying in %v): %v", retryIn, err)))
		}
	}
}

// ---------------------------------------------------------------------------
// Events.

// userEvents records the user's license transitions, the assignment
// history: one event per kind of transition and write, listing every
// license it concerns, so a user's first plan costs one or two events, not
// one per license, and each event's reason says truthfully what happened.
func (w *statusWriter) userEvents(obj *licv1.UserLicense, oldStatus, newStatus *licv1.UserLicenseStatus) {
	if w.events == nil {
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
		w.events.Eventf(obj, nil, corev1.EventTypeNormal, EventLicenseRemoved, "Remove", "%s", joinNotes(removed))
	}
	if len(assigned) > 0 {
		w.events.Eventf(obj, nil, corev1.EventTypeNormal, EventLicenseAssigned, "Assign", "%s", joinNotes(assigned))
	}
	if len(failed) > 0 {
		w.events.Eventf(obj, nil, corev1.EventTypeWarning, EventLicenseAssignmentFailed, "Assign", "%s", joinNotes(failed))
	}
}

// skuEvents warns when a SKU runs out of seats or becomes Overallocated
// (the condition turns True), with the condition's message, which says what
// to do.
func (w *statusWriter) skuEvents(sku *licv1.LicenseSku, old []metav1.Condition) {
	if w.events == nil {
		return
	}
	for _, t := range []string{licv1.ConditionInsufficientSeats, licv1.ConditionOverallocated} {
		c := meta.FindStatusCondition(sku.Status.Conditions, t)
		if c == nil || c.Status != metav1.ConditionTrue || meta.IsStatusConditionTrue(old, t) {
			continue
		}
		w.events.Eventf(sku, nil, corev1.EventTypeWarning, t, "Allocate", "%s", truncateNote(c.Message))
	}
}

// ---------------------------------------------------------------------------
// Backoff of failing objects.

// retryBook paces the retries of objects whose writes fail: each failure
// doubles the object's wait (writeRetryBase up to writeRetryMax), an
// answered write forgets it. Plans skip an object while it waits; the rest
// of its tenant goes on.
type retryBook struct {
	mu      sync.Mutex
	limiter workqueue.TypedRateLimiter[types.UID]
	entries map[types.UID]retryEntry
}

type retryEntry struct {
	ns  string
	gen int64 // the object's generation when its write failed
	at  time.Time
}

func newRetryBook() *retryBook {
	return &retryBook{
		limiter: workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](writeRetryBase, writeRetryMax),
		entries: map[types.UID]retryEntry{},
	}
}

// failed records a failure and returns when the object may be written again.
func (b *retryBook) failed(ns string, uid types.UID, gen int64, now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.entries[uid]; ok && e.gen != gen {
		b.limiter.Forget(uid) // a new spec starts a new backoff
	}
	at := now.Add(b.limiter.When(uid))
	b.entries[uid] = retryEntry{ns: ns, gen: gen, at: at}
	return at
}

func (b *retryBook) succeeded(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.entries[uid]; ok {
		b.limiter.Forget(uid)
		delete(b.entries, uid)
	}
}

// waiting reports whether the object must not be written before at. An
// object whose spec changed since its write failed (another generation)
// does not wait: the admin's change is written at once, and a status the
// API server refused may well be fixed by it. (The seat ledger and the
// overlay still hold what an unanswered write may have applied.)
func (b *retryBook) waiting(uid types.UID, gen int64, now time.Time) (at time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[uid]
	if !ok || !now.Before(e.at) || e.gen != gen {
		return time.Time{}, false
	}
	return e.at, true
}

// prune forgets the objects of a namespace that are gone.
func (b *retryBook) prune(ns string, seen map[types.UID]struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for uid, e := range b.entries {
		if _, ok := seen[uid]; e.ns == ns && !ok {
			b.limiter.Forget(uid)
			delete(b.entries, uid)
		}
	}
}

// pending is the number of objects of a namespace whose last write failed.
func (b *retryBook) pending(ns string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.entries {
		if e.ns == ns {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Panics.

// tenantPanic is a panic of a tenant's reconcile, with where it happened
// and the stack of the goroutine that panicked.
type tenantPanic struct {
	where string // plan, write or reconcile
	value any
	stack []byte
}

func newTenantPanic(where string, value any, stack []byte) *tenantPanic {
	if p, ok := value.(*tenantPanic); ok {
		return p
	}
	return &tenantPanic{where: where, value: value, stack: stack}
}

func (p *tenantPanic) Error() string {
	return fmt.Sprintf("panic in %s: %v\n%s", p.where, p.value, p.stack)
}

// ---------------------------------------------------------------------------

// maxEventNote is the API's limit on an event's note.
const maxEventNote = 1024

func truncateNote(s string) string {
	if len(s) > maxEventNote {
		s = s[:maxEventNote-3] + "..."
	}
	return s
}
