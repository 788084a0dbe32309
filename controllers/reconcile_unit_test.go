package controllers

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestReconcileReplansAChangeDeliveredDuringAWrite covers the wiring of
// writeOverlay.classifyUpdate into Reconcile: an update event delivered
// while the object's write is in flight is parked by the event handler (so
// it does not enqueue the tenant); when it turns out not to be our write,
// the reconcile itself must re-queue the tenant at once.
func TestReconcileReplansAChangeDeliveredDuringAWrite(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := licv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objects := func() []client.Object {
		return []client.Object{
			&licv1.LicenseSku{
				ObjectMeta: metav1.ObjectMeta{Name: "e3", Namespace: "t", UID: "uid-e3"},
				Spec: licv1.LicenseSkuSpec{
					SkuPartNumber: "SPE_E3",
					Subscriptions: []licv1.Subscription{{Name: "main", Seats: 5}},
					ServicePlans:  []licv1.ServicePlan{{Name: "TEAMS1"}},
				},
			},
			&licv1.UserLicense{
				ObjectMeta: metav1.ObjectMeta{Name: "ann", Namespace: "t", UID: "uid-ann", Generation: 1},
				Spec: licv1.UserLicenseSpec{
					UserPrincipalName: "ann@contoso.com", UsageLocation: "DE",
					Licenses: []licv1.LicenseAssignment{{SKU: "e3"}},
				},
			},
		}
	}

	for _, tc := range []struct {
		name string
		// event delivered during ann's status write, with this RV ("" none)
		eventRV string
		want    time.Duration
	}{
		{"conflict, the change's own event queued the tenant", "", time.Second},
		{"conflict, the change's event parked during the write", "999", replanAfterMissed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &TenantReconciler{MaxConcurrentWrites: 1}
			r.init()
			var c client.Client
			c = fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects()...).
				WithStatusSubresource(&licv1.UserLicense{}, &licv1.LicenseSku{}, &licv1.LicenseGroup{}).
				WithInterceptorFuncs(interceptor.Funcs{
					SubResourceUpdate: func(ctx context.Context, cl client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
						if obj.GetName() != "ann" {
							return cl.SubResource(sub).Update(ctx, obj, opts...)
						}
						if tc.eventRV != "" {
							ev := &licv1.UserLicense{ObjectMeta: metav1.ObjectMeta{Name: "ann", Namespace: "t", UID: "uid-ann", ResourceVersion: tc.eventRV}}
							if k := r.overlay.classifyUpdate(ev); k != updateParked {
								t.Errorf("an event during the write was classified %v, want parked", k)
							}
						}
						return apierrors.NewConflict(schema.GroupResource{Group: licv1.GroupVersion.Group, Resource: "userlicenses"}, "ann", nil)
					},
				}).Build()
			r.Client = c

			res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: "t"}})
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if res.RequeueAfter != tc.want {
				t.Fatalf("RequeueAfter = %v, want %v", res.RequeueAfter, tc.want)
			}
		})
	}
}
