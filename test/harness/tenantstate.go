package harness

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// Planned reports whether a status was computed at the object's current
// generation: status.observedGeneration and the Ready condition's both
// match it (what kubectl wait and kstatus rely on).
func Planned(generation, observedGeneration int64, conds []metav1.Condition) bool {
	r := meta.FindStatusCondition(conds, licv1.ConditionReady)
	return observedGeneration == generation && r != nil && r.ObservedGeneration == generation
}

// ListTenant reads every licensing object of a namespace as planner input.
// It reads in pages, as kubectl does: one response with every status of a
// large tenant can take the API server longer than its request timeout on
// a loaded machine (a 504 that says nothing about the controller).
func ListTenant(ctx context.Context, c client.Reader, ns string) (planner.Input, error) {
	var in planner.Input
	if err := listPaged(ctx, c, ns, func(l *licv1.LicenseSkuList) {
		for i := range l.Items {
			in.SKUs = append(in.SKUs, &l.Items[i])
		}
	}); err != nil {
		return in, err
	}
	if err := listPaged(ctx, c, ns, func(l *licv1.LicenseGroupList) {
		for i := range l.Items {
			in.Groups = append(in.Groups, &l.Items[i])
		}
	}); err != nil {
		return in, err
	}
	err := listPaged(ctx, c, ns, func(l *licv1.UserLicenseList) {
		for i := range l.Items {
			in.Users = append(in.Users, &l.Items[i])
		}
	})
	return in, err
}

// ListPageSize is the page size of ListTenant and ListUsers.
const ListPageSize = 250

// ListUsers reads every UserLicense of a namespace, in pages.
func ListUsers(ctx context.Context, c client.Reader, ns string) ([]licv1.UserLicense, error) {
	var out []licv1.UserLicense
	err := listPaged(ctx, c, ns, func(l *licv1.UserLicenseList) { out = append(out, l.Items...) })
	return out, err
}

// listPaged lists a namespace ListPageSize objects at a time, handing each
// page to each. (A continue token that expired ends in an error; callers
// inside Eventually simply list again.)
func listPaged[L any, PL interface {
	*L
	client.ObjectList
}](ctx context.Context, c client.Reader, ns string, each func(PL)) error {
	cont := ""
	for {
		page := PL(new(L))
		if err := c.List(ctx, page, client.InNamespace(ns), client.Limit(ListPageSize), client.Continue(cont)); err != nil {
			return err
		}
		each(page)
		if cont = page.GetContinue(); cont == "" {
			return nil
		}
	}
}

// Unplanned names the licensing objects of a namespace whose status is not
// yet planned at their generation (empty: the tenant has converged). It
// reads a page at a time, so a poll over a large tenant does not hold every
// status at once (the hostile suite measures the memory of its process).
func Unplanned(ctx context.Context, c client.Reader, ns string) ([]string, error) {
	var out []string
	add := func(kind string, o metav1.Object, observed int64, conds []metav1.Condition) {
		if !Planned(o.GetGeneration(), observed, conds) {
			out = append(out, fmt.Sprintf("%s/%s gen %d observed %d", kind, o.GetName(), o.GetGeneration(), observed))
		}
	}
	err := listPaged(ctx, c, ns, func(l *licv1.LicenseSkuList) {
		for i := range l.Items {
			o := &l.Items[i]
			add("sku", o, o.Status.ObservedGeneration, o.Status.Conditions)
		}
	})
	if err == nil {
		err = listPaged(ctx, c, ns, func(l *licv1.LicenseGroupList) {
			for i := range l.Items {
				o := &l.Items[i]
				add("group", o, o.Status.ObservedGeneration, o.Status.Conditions)
			}
		})
	}
	if err == nil {
		err = listPaged(ctx, c, ns, func(l *licv1.UserLicenseList) {
			for i := range l.Items {
				o := &l.Items[i]
				add("user", o, o.Status.ObservedGeneration, o.Status.Conditions)
			}
		})
	}
	return out, err
}
