package licensecli

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// SameUPN compares user principal names as Microsoft Entra does: ignoring case.
func SameUPN(a, b string) bool { return strings.EqualFold(a, b) }

// UsersByUPN indexes users by lower-cased userPrincipalName. When several
// UserLicenses share a UPN, the index holds the one in effect (InEffect).
func UsersByUPN(users []*licv1.UserLicense) map[string]*licv1.UserLicense {
	groups := map[string][]*licv1.UserLicense{}
	for _, u := range users {
		k := strings.ToLower(u.Spec.UserPrincipalName)
		groups[k] = append(groups[k], u)
	}
	out := make(map[string]*licv1.UserLicense, len(groups))
	for k, us := range groups {
		out[k] = InEffect(us)
	}
	return out
}

// InEffect returns, of UserLicenses sharing one userPrincipalName, the one
// in effect as the controller decides it: not marked
// DuplicateUserPrincipalName by the controller, then the one holding
// seats now, then the oldest, then the lowest name. nil for none.
func InEffect(users []*licv1.UserLicense) *licv1.UserLicense {
	if len(users) == 0 {
		return nil
	}
	us := append([]*licv1.UserLicense(nil), users...)
	rank := func(u *licv1.UserLicense) (dup, holds bool) {
		if c := meta.FindStatusCondition(u.Status.Conditions, licv1.ConditionReady); c != nil && c.Reason == licv1.ReasonDuplicateUserPrincipalName {
			dup = true
		}
		for _, l := range u.Status.Licenses {
			if HoldsSeat(l.State) {
				holds = true
			}
		}
		return dup, holds
	}
	sort.SliceStable(us, func(i, j int) bool {
		di, hi := rank(us[i])
		dj, hj := rank(us[j])
		switch {
		case di != dj:
			return !di
		case hi != hj:
			return hi
		case !us[i].CreationTimestamp.Equal(&us[j].CreationTimestamp):
			return us[i].CreationTimestamp.Before(&us[j].CreationTimestamp)
		}
		return us[i].Name < us[j].Name
	})
	return us[0]
}

// HoldsSeat tells whether a license state occupies a seat: Active, or
// Disabled (the seat is kept while the subscription is inactive).
func HoldsSeat(state string) bool {
	return state == licv1.LicenseStateActive || state == licv1.LicenseStateDisabled
}

func assignmentNames(ls []licv1.LicenseAssignment) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.SKU
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ResolveSKU finds the LicenseSku an argument names: its metadata.name,
// else its part number (ignoring case; a tenant prefix such as contoso:
// is dropped, as the admin center writes it).
func ResolveSKU(skus []*licv1.LicenseSku, arg string) (*licv1.LicenseSku, error) {
	for _, s := range skus {
		if s.Name == arg {
			return s, nil
		}
	}
	part := arg
	if _, p, ok := strings.Cut(arg, ":"); ok {
		part = p
	}
	var found []*licv1.LicenseSku
	for _, s := range skus {
		if strings.EqualFold(s.Spec.SkuPartNumber, part) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var known []string
		for _, s := range skus {
			known = append(known, s.Name+" ("+s.Spec.SkuPartNumber+")")
		}
		sort.Strings(known)
		ns := ""
		if len(skus) > 0 {
			ns = " in namespace " + skus[0].Namespace
		}
		return nil, fmt.Errorf("no LicenseSku%s is named %s or has part number %s (known: %s)", ns, arg, part, orText(strings.Join(known, ", "), "none"))
	}
	var names []string
	for _, s := range found {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("part number %s is ambiguous: LicenseSkus %s have it; name the LicenseSku instead", part, strings.Join(names, ", "))
}
