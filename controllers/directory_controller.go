package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/graph"
	"github.com/licenseops/license-operator/internal/graph/drift"
)

// DirectoryControllerName names the directory controller, its events and
// the field manager that owns the Synced condition of UserLicenses.
const DirectoryControllerName = "license-operator-directory"

// Defaults of DirectoryReconciler.
const (
	// DefaultMinSyncGap is the least time between two syncs of a
	// connection triggered by changes in the namespace: a burst of status
	// writes by the tenant controller is synced once, not per user.
	DefaultMinSyncGap = 10 * time.Second
	// userBackoffBase and userBackoffMax bound the wait before a user
	// whose assignLicense failed is written again (doubling per failure).
	userBackoffBase = 30 * time.Second
	userBackoffMax  = time.Hour
	// credentialRetry is how soon a connection whose credential cannot
	// be used is tried again (a Secret or ServiceAccount may appear).
	credentialRetry = time.Minute
	// conditionWriters bounds the Synced condition writes in flight.
	conditionWriters = 8
)

// DirectoryReconciler syncs a namespace with Microsoft Entra, per
// DirectoryConnection: it reads Entra through Graph, compares every
// user's licenses with its status.licenses (internal/graph/drift), in
// Enforce mode writes the differences with assignLicense, and records the
// outcome in each UserLicense's Synced condition and in the connection's
// status.
type DirectoryReconciler struct {
	// Client reads the namespace from the cache and writes statuses.
	Client client.Client
	// Connector opens Microsoft Graph for a connection.
	Connector DirectoryConnector
	// Recorder emits events on the connection and the users (optional).
	Recorder events.EventRecorder
	// MinSyncGap is the least time between change-triggered syncs
	// (default DefaultMinSyncGap; negative for none).
	MinSyncGap time.Duration
	// Now is the clock of statuses and backoff (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	backoff map[types.UID]userBackoff
}

type userBackoff struct {
	failures int
	until    time.Time
}

// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=directoryconnections,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=directoryconnections/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=licensing.licenseops.dev,resources=userlicenses/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create

func (r *DirectoryReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile syncs one DirectoryConnection.
func (r *DirectoryReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx).WithValues("connection", req.NamespacedName)
	var conn licv1.DirectoryConnection
	if err := r.Client.Get(ctx, req.NamespacedName, &conn); err != nil {
		if apierrors.IsNotFound(err) {
			forgetDirectoryMetrics(req.Namespace, req.Name)
			if gc, ok := r.Connector.(*GraphConnector); ok {
				gc.Forget(req.Namespace, req.Name)
			}
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !conn.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	// One connection per namespace: the oldest.
	var conns licv1.DirectoryConnectionList
	if err := r.Client.List(ctx, &conns, client.InNamespace(conn.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	for i := range conns.Items {
		o := &conns.Items[i]
		if o.Name != conn.Name && o.DeletionTimestamp.IsZero() && olderConnection(o, &conn) {
			msg := fmt.Sprintf("DirectoryConnection %s already syncs namespace %s: delete one of them", o.Name, conn.Namespace)
			return ctrl.Result{}, r.setStalled(ctx, &conn, licv1.ReasonDuplicateConnection, msg, nil)
		}
	}

	// Change-triggered syncs are spaced by MinSyncGap; a spec change syncs at once.
	gap := r.MinSyncGap
	if gap == 0 {
		gap = DefaultMinSyncGap
	}
	if last := conn.Status.LastSyncTime; last != nil && gap > 0 && conn.Status.ObservedGeneration == conn.Generation {
		if wait := last.Add(gap).Sub(r.now()); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}

	start := time.Now()
	result, err := r.sync(ctx, &conn)
	directorySyncDuration.WithLabelValues(conn.Namespace, conn.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		logger.Error(err, "sync failed")
	}
	return result, err
}

func olderConnection(a, b *licv1.DirectoryConnection) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// sync reads Entra, compares, writes, and records the outcome.
func (r *DirectoryReconciler) sync(ctx context.Context, conn *licv1.DirectoryConnection) (ctrl.Result, error) {
	interval := 15 * time.Minute
	if conn.Spec.SyncInterval != nil && conn.Spec.SyncInterval.Duration > 0 {
		interval = conn.Spec.SyncInterval.Duration
	}
	dir, err := r.Connector.Connect(ctx, conn)
	if err != nil {
		return r.connectFailed(ctx, conn, err)
	}
	tenantSkus, err := dir.SubscribedSkus(ctx)
	if err != nil {
		return r.connectFailed(ctx, conn, err)
	}
	var entraUsers []graph.User
	if err := dir.Users(ctx, func(page []graph.User) error {
		entraUsers = append(entraUsers, page...)
		return nil
	}); err != nil {
		return r.connectFailed(ctx, conn, err)
	}
	syncedAt := metav1.NewTime(r.now())

	var skus licv1.LicenseSkuList
	var users licv1.UserLicenseList
	if err := r.Client.List(ctx, &skus, client.InNamespace(conn.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Client.List(ctx, &users, client.InNamespace(conn.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	in := drift.Input{TenantSkus: tenantSkus, EntraUsers: entraUsers}
	for i := range skus.Items {
		in.SKUs = append(in.SKUs, &skus.Items[i])
	}
	for i := range users.Items {
		in.Users = append(in.Users, &users.Items[i])
	}
	plan := drift.Compute(in)

	outcomes := make([]userOutcome, len(plan.Users))
	for i, up := range plan.Users {
		outcomes[i] = userOutcome{reason: up.Reason, message: up.Message, state: up.State}
	}
	enforce := conn.Spec.Mode == licv1.DirectoryModeEnforce
	maxPct := int(conn.Spec.Safety.MaxRemovalPercent)
	stopped := enforce && plan.Exceeds(maxPct) && conn.Spec.Safety.AcknowledgedPlan != plan.Hash
	writes := 0
	var requeue time.Duration
	if enforce && !stopped {
		writes, requeue, err = r.enforce(ctx, conn, dir, in.Users, plan, outcomes)
		if err != nil {
			return ctrl.Result{}, err
		}
	}

	// Synced conditions, then the connection's status.
	condErr := r.writeSynced(ctx, in.Users, outcomes)

	st := conn.Status.DeepCopy()
	st.ObservedGeneration = conn.Generation
	st.LastSyncTime = &syncedAt
	st.LastSyncWrites = int32(writes)
	st.UndeclaredSkus = firstN(plan.UndeclaredSkus, 50)
	st.MissingSkus = firstN(plan.MissingSkus, 50)
	counts := licv1.DirectoryUserCounts{Total: int32(len(in.Users)), Unmanaged: int32(plan.Unmanaged)}
	for _, o := range outcomes {
		switch o.state {
		case drift.InSync:
			counts.InSync++
		case drift.Drifted:
			counts.Drifted++
		case drift.Failed:
			counts.Failed++
		case drift.NotFound:
			counts.NotFound++
		}
	}
	st.Users = counts
	setCond(st, conn.Generation, licv1.ConditionConnected, true, licv1.ReasonGraphAccepted,
		fmt.Sprintf("Microsoft Graph at %s answered with the tenant's %d subscribed SKUs and %d users", conn.Spec.GraphEndpoint, len(tenantSkus), len(entraUsers)))
	result := "success"
	switch {
	case stopped:
		result = "stopped"
		since := syncedAt
		if st.SafetyStop != nil && st.SafetyStop.PlanHash == plan.Hash && st.SafetyStop.Since != nil {
			since = *st.SafetyStop.Since
		}
		st.SafetyStop = &licv1.SafetyStop{
			PlanHash: plan.Hash, Removals: int32(plan.Removals), HeldLicenses: int32(plan.HeldLicenses),
			Percent: int32(plan.Percent()), Examples: plan.RemovalExamples(20), Since: &since,
		}
		msg := fmt.Sprintf("this sync would remove or narrow %d of the %d licenses the namespace's users hold in Entra (%d%%, above spec.safety.maxRemovalPercent %d%%); nothing was written. Review status.safetyStop, then set spec.safety.acknowledgedPlan to %s to apply this plan once, or raise spec.safety.maxRemovalPercent",
			plan.Removals, plan.HeldLicenses, plan.Percent(), maxPct, plan.Hash)
		setCond(st, conn.Generation, licv1.ConditionReady, false, licv1.ReasonRemovalThresholdExceeded, msg)
		setCond(st, conn.Generation, licv1.ConditionStalled, true, licv1.ReasonRemovalThresholdExceeded, msg)
		r.event(conn, nil, "Warning", licv1.ReasonRemovalThresholdExceeded, "Stop", msg)
	case enforce && counts.InSync < counts.Total:
		st.SafetyStop = nil
		meta.RemoveStatusCondition(&st.Conditions, licv1.ConditionStalled)
		setCond(st, conn.Generation, licv1.ConditionReady, false, licv1.ReasonUsersDrifted,
			fmt.Sprintf("%d of %d users are not in sync with Entra: %d drifted, %d failed, %d not found in Entra; see their Synced condition", counts.Total-counts.InSync, counts.Total, counts.Drifted, counts.Failed, counts.NotFound))
	default:
		st.SafetyStop = nil
		meta.RemoveStatusCondition(&st.Conditions, licv1.ConditionStalled)
		mode := "Observe: nothing is written"
		if enforce {
			mode = "Enforce"
		}
		setCond(st, conn.Generation, licv1.ConditionReady, true, licv1.ReasonSyncSucceeded,
			fmt.Sprintf("%s; %d users in sync, %d drifted, %d failed, %d not found in Entra", mode, counts.InSync, counts.Drifted, counts.Failed, counts.NotFound))
	}
	if err := r.patchStatus(ctx, conn, st); err != nil {
		return ctrl.Result{}, err
	}
	directorySyncs.WithLabelValues(conn.Namespace, conn.Name, result).Inc()
	directoryLastSync.WithLabelValues(conn.Namespace, conn.Name).Set(float64(syncedAt.Unix()))
	for state, n := range map[string]int32{"in_sync": counts.InSync, "drifted": counts.Drifted, "failed": counts.Failed, "not_found": counts.NotFound, "unmanaged": counts.Unmanaged} {
		directoryUsers.WithLabelValues(conn.Namespace, conn.Name, state).Set(float64(n))
	}
	if condErr != nil {
		return ctrl.Result{}, condErr
	}
	if requeue > 0 && requeue < interval {
		interval = requeue
	}
	return ctrl.Result{RequeueAfter: interval}, nil
}

// userOutcome is what a sync found or did for one user.
type userOutcome struct {
	state           drift.State
	reason, message string
	// keep leaves the user's Synced condition as it is (a user waiting
	// out its backoff keeps its last error).
	keep bool
}

// enforce writes the plan's assignLicense calls (users in backoff wait)
// and records their outcomes. It returns the number of calls made and how
// soon the next backoff ends.
func (r *DirectoryReconciler) enforce(ctx context.Context, conn *licv1.DirectoryConnection, dir Directory, users []*licv1.UserLicense, plan drift.Plan, outcomes []userOutcome) (int, time.Duration, error) {
	now := r.now()
	var items []graph.Assignment
	index := map[string]int{}
	var next time.Duration
	r.mu.Lock()
	if r.backoff == nil {
		r.backoff = map[types.UID]userBackoff{}
	}
	for i, up := range plan.Users {
		if up.Write == nil {
			delete(r.backoff, users[i].UID)
			continue
		}
		if b, ok := r.backoff[users[i].UID]; ok && now.Before(b.until) {
			outcomes[i].keep = true
			outcomes[i].state = drift.Failed
			if w := b.until.Sub(now); next == 0 || w < next {
				next = w
			}
			continue
		}
		index[up.EntraID] = i
		items = append(items, graph.Assignment{UserID: up.EntraID, Request: *up.Write})
	}
	r.mu.Unlock()
	if len(items) == 0 {
		return 0, next, nil
	}
	log.FromContext(ctx).Info("writing licenses to Entra", "users", len(items))
	written, failed := 0, 0
	err := dir.AssignLicenses(ctx, items, func(res graph.AssignResult) {
		i, ok := index[res.UserID]
		if !ok {
			return
		}
		up := plan.Users[i]
		u := users[i]
		written++
		r.mu.Lock()
		defer r.mu.Unlock()
		if res.Err == nil {
			delete(r.backoff, u.UID)
			outcomes[i] = userOutcome{state: drift.InSync, reason: up.AfterReason, message: up.AfterWrite}
			if up.AfterReason != licv1.ReasonInSync {
				outcomes[i].state = drift.Drifted
			}
			directoryLicenseWrites.WithLabelValues(conn.Namespace, conn.Name, "success").Inc()
			r.event(u, conn, "Normal", "EntraLicensesUpdated", "AssignLicense", "Microsoft Entra: "+strings.Join(up.Changes, ", "))
			return
		}
		failed++
		reason := graph.LicenseErrorReason(res.Err)
		if reason == "" {
			reason = licv1.ReasonWriteFailed
		}
		b := r.backoff[u.UID]
		b.failures++
		wait := min(userBackoffBase<<min(b.failures-1, 10), userBackoffMax)
		b.until = r.now().Add(wait)
		r.backoff[u.UID] = b
		if next == 0 || wait < next {
			next = wait
		}
		msg := fmt.Sprintf("assignLicense (%s) failed: %s; retried in %s", strings.Join(up.Changes, ", "), graph.ErrorSummary(res.Err), wait)
		outcomes[i] = userOutcome{state: drift.Failed, reason: reason, message: msg}
		directoryLicenseWrites.WithLabelValues(conn.Namespace, conn.Name, reason).Inc()
		r.event(u, conn, "Warning", "EntraAssignmentFailed", "AssignLicense", msg)
	})
	if err != nil {
		// Cancelled (the manager stops): what was written is in Entra;
		// the next sync reads it back and writes only what is left.
		return written, next, err
	}
	r.event(conn, nil, "Normal", "LicensesWritten", "AssignLicense",
		fmt.Sprintf("assignLicense on %d users: %d succeeded, %d failed", len(items), written-failed, failed))
	return written, next, nil
}

// connectFailed records a sync that could not read Entra.
func (r *DirectoryReconciler) connectFailed(ctx context.Context, conn *licv1.DirectoryConnection, err error) (ctrl.Result, error) {
	if ctx.Err() != nil {
		return ctrl.Result{}, ctx.Err()
	}
	msg := graph.ErrorSummary(err)
	directorySyncs.WithLabelValues(conn.Namespace, conn.Name, "failed").Inc()
	switch {
	case isCredentialError(err) || graph.IsAuthError(err):
		msg = "the credential cannot be used: " + msg + ". Fix spec.credential (see docs/microsoft-graph.md)"
		return ctrl.Result{RequeueAfter: credentialRetry}, r.setStalled(ctx, conn, licv1.ReasonCredentialInvalid, msg, ptrBool(false))
	case graph.IsAccessDenied(err):
		msg += ". Grant the app registration the Microsoft Graph application permissions of its mode (docs/microsoft-graph.md) and admin consent"
		return ctrl.Result{RequeueAfter: credentialRetry}, r.setStalled(ctx, conn, licv1.ReasonAccessDenied, msg, ptrBool(false))
	}
	st := conn.Status.DeepCopy()
	st.ObservedGeneration = conn.Generation
	setCond(st, conn.Generation, licv1.ConditionReady, false, licv1.ReasonSyncFailed, "reading Microsoft Entra failed, retrying with backoff: "+msg)
	if perr := r.patchStatus(ctx, conn, st); perr != nil {
		return ctrl.Result{}, errors.Join(err, perr)
	}
	r.event(conn, nil, "Warning", licv1.ReasonSyncFailed, "Sync", msg)
	return ctrl.Result{}, err
}

func ptrBool(b bool) *bool { return &b }

// setStalled records a problem only a human can fix.
func (r *DirectoryReconciler) setStalled(ctx context.Context, conn *licv1.DirectoryConnection, reason, msg string, connected *bool) error {
	st := conn.Status.DeepCopy()
	st.ObservedGeneration = conn.Generation
	if connected != nil {
		setCond(st, conn.Generation, licv1.ConditionConnected, *connected, reason, msg)
	}
	setCond(st, conn.Generation, licv1.ConditionReady, false, reason, msg)
	setCond(st, conn.Generation, licv1.ConditionStalled, true, reason, msg)
	if old := meta.FindStatusCondition(conn.Status.Conditions, licv1.ConditionStalled); old == nil || old.Message != msg {
		r.event(conn, nil, "Warning", reason, "Sync", msg)
	}
	return r.patchStatus(ctx, conn, st)
}

func setCond(st *licv1.DirectoryConnectionStatus, gen int64, typ string, status bool, reason, msg string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: truncate(msg, 32000), ObservedGeneration: gen})
}

func (r *DirectoryReconciler) patchStatus(ctx context.Context, conn *licv1.DirectoryConnection, st *licv1.DirectoryConnectionStatus) error {
	if equality.Semantic.DeepEqual(&conn.Status, st) {
		return nil
	}
	patched := conn.DeepCopy()
	patched.Status = *st
	if err := r.Client.Status().Patch(ctx, patched, client.MergeFrom(conn), client.FieldOwner(DirectoryControllerName)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing the status of DirectoryConnection %s: %w", conn.Name, err)
	}
	return nil
}

// writeSynced sets the Synced condition of every user whose outcome
// changed, with server-side apply of that one condition under the
// directory controller's field manager: conditions are a map keyed by
// type, so the tenant controller's conditions and licenses are never
// touched, and its status updates (which carry Synced over as it is)
// never drop ours.
func (r *DirectoryReconciler) writeSynced(ctx context.Context, users []*licv1.UserLicense, outcomes []userOutcome) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, conditionWriters)
	)
	now := metav1.NewTime(r.now())
	for i, u := range users {
		o := outcomes[i]
		if o.keep {
			continue
		}
		status := metav1.ConditionFalse
		if o.state == drift.InSync {
			status = metav1.ConditionTrue
		}
		msg := truncate(o.message, 4000)
		old := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionSynced)
		if old != nil && old.Status == status && old.Reason == o.reason && old.Message == msg && old.ObservedGeneration == u.Generation {
			continue
		}
		ltt := now
		if old != nil && old.Status == status {
			ltt = old.LastTransitionTime
		}
		cond := map[string]any{
			"type": licv1.ConditionSynced, "status": string(status), "reason": o.reason, "message": msg,
			"observedGeneration": u.Generation, "lastTransitionTime": ltt.UTC().Format(time.RFC3339),
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": licv1.GroupVersion.String(),
			"kind":       "UserLicense",
			"metadata":   map[string]any{"name": u.Name, "namespace": u.Namespace, "uid": string(u.UID)},
			"status":     map[string]any{"conditions": []any{cond}},
		}}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(DirectoryControllerName), client.ForceOwnership)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("writing the Synced condition of UserLicense %s: %w", obj.GetName(), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// event records an event on obj (related: the other object, or nil).
func (r *DirectoryReconciler) event(obj, related client.Object, typ, reason, action, note string) {
	if r.Recorder == nil {
		return
	}
	if related == nil {
		r.Recorder.Eventf(obj, nil, typ, reason, action, "%s", truncate(note, 1000))
		return
	}
	r.Recorder.Eventf(obj, related, typ, reason, action, "%s", truncate(note, 1000))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// SetupWithManager registers the directory controller: a connection is
// synced when it changes, when a UserLicense of its namespace gets new
// licenses (status.licenses) or a new spec, when a LicenseSku changes, and
// every spec.syncInterval.
func (r *DirectoryReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	toConnections := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var conns licv1.DirectoryConnectionList
		if err := mgr.GetClient().List(ctx, &conns, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(conns.Items))
		for _, c := range conns.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
		}
		return out
	})
	userChanged := predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licv1.UserLicense)
		n, ok2 := e.ObjectNew.(*licv1.UserLicense)
		if !ok1 || !ok2 {
			return true
		}
		return o.Generation != n.Generation || o.Status.ObservedGeneration != n.Status.ObservedGeneration ||
			readyGeneration(o) != readyGeneration(n) || !equality.Semantic.DeepEqual(o.Status.Licenses, n.Status.Licenses)
	}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("directory").
		For(&licv1.DirectoryConnection{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&licv1.UserLicense{}, toConnections, builder.WithPredicates(userChanged)).
		Watches(&licv1.LicenseSku{}, toConnections, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(opts).
		Complete(r)
}

func readyGeneration(u *licv1.UserLicense) int64 {
	if c := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionReady); c != nil {
		return c.ObservedGeneration
	}
	return -1
}
