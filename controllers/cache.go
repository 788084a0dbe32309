package controllers

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// CacheTransform is the manager's cache transform: it strips managedFields
// (never read here) and interns the strings of licensing objects. Tens of
// thousands of UserLicenses repeat the same few hundred strings — SKU and
// plan names, states, reasons, messages, group names, label keys and values
// — and the informer cache decodes a private copy of each for every object.
// Cached objects are read-only, so they can share one copy.
func CacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		switch o := out.(type) {
		case *licv1.UserLicense:
			internMeta(&o.ObjectMeta)
			internAssignments(o.Spec.Licenses)
			o.Spec.UsageLocation = intern(o.Spec.UsageLocation)
			for i := range o.Status.Licenses {
				l := &o.Status.Licenses[i]
				l.SKU, l.SkuPartNumber, l.State = intern(l.SKU), intern(l.SkuPartNumber), intern(l.State)
				l.Reason, l.Message = intern(l.Reason), intern(l.Message)
				internAll(l.AssignedBy)
				internAll(l.EnabledPlans)
			}
			internAll(o.Status.Groups)
			internConditions(o.Status.Conditions)
		case *licv1.LicenseGroup:
			internMeta(&o.ObjectMeta)
			internAll(o.Spec.Members)
			internAssignments(o.Spec.Licenses)
			internConditions(o.Status.Conditions)
		case *licv1.LicenseSku:
			internMeta(&o.ObjectMeta)
			internConditions(o.Status.Conditions)
		}
		return out, nil
	}
}

func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

func internAll(s []string) {
	for i := range s {
		s[i] = intern(s[i])
	}
}

func internMeta(m *metav1.ObjectMeta) {
	m.Namespace = intern(m.Namespace)
	if len(m.Labels) > 0 {
		labels := make(map[string]string, len(m.Labels))
		for k, v := range m.Labels {
			labels[intern(k)] = intern(v)
		}
		m.Labels = labels
	}
}

func internAssignments(as []licv1.LicenseAssignment) {
	for i := range as {
		as[i].SKU = intern(as[i].SKU)
		internAll(as[i].DisabledPlans)
		internAll(as[i].EnabledPlans)
	}
}

func internConditions(cs []metav1.Condition) {
	for i := range cs {
		cs[i].Type, cs[i].Reason, cs[i].Message = intern(cs[i].Type), intern(cs[i].Reason), intern(cs[i].Message)
	}
}
