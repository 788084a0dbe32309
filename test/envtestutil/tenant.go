package envtestutil

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
func ListTenant(ctx context.Context, c client.Reader, ns string) (planner.Input, error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
		users  licv1.UserLicenseList
		in     planner.Input
	)
	for _, l := range []client.ObjectList{&skus, &groups, &users} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return in, err
		}
	}
	for i := range skus.Items {
		in.SKUs = append(in.SKUs, &skus.Items[i])
	}
	for i := range groups.Items {
		in.Groups = append(in.Groups, &groups.Items[i])
	}
	for i := range users.Items {
		in.Users = append(in.Users, &users.Items[i])
	}
	return in, nil
}

// Unplanned names the licensing objects of a namespace whose status is not
// yet planned at their generation (empty: the tenant has converged).
func Unplanned(ctx context.Context, c client.Reader, ns string) ([]string, error) {
	in, err := ListTenant(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(kind string, o metav1.Object, observed int64, conds []metav1.Condition) {
		if !Planned(o.GetGeneration(), observed, conds) {
			out = append(out, fmt.Sprintf("%s/%s gen %d observed %d", kind, o.GetName(), o.GetGeneration(), observed))
		}
	}
	for _, s := range in.SKUs {
		add("sku", s, s.Status.ObservedGeneration, s.Status.Conditions)
	}
	for _, g := range in.Groups {
		add("group", g, g.Status.ObservedGeneration, g.Status.Conditions)
	}
	for _, u := range in.Users {
		add("user", u, u.Status.ObservedGeneration, u.Status.Conditions)
	}
	return out, nil
}
