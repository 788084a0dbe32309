package main

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// pageSize is the number of UserLicenses asked for per list request, as
// kubectl get chunks its lists: a tenant of 100,000 users is read in
// pieces rather than one response of hundreds of megabytes.
const pageSize = 500

// listPages lists the UserLicenses of ns ("" for all) page by page and
// hands each page to fn until it returns false.
func listPages(ctx context.Context, c client.Client, ns string, fn func([]licv1.UserLicense) bool) error {
	cont := ""
	for {
		var page licv1.UserLicenseList
		if err := c.List(ctx, &page, client.InNamespace(ns), client.Limit(pageSize), client.Continue(cont)); err != nil {
			return fmt.Errorf("listing UserLicenses: %w", err)
		}
		if !fn(page.Items) || page.Continue == "" {
			return nil
		}
		cont = page.Continue
	}
}

// liveTenant lists the licensing objects of namespace ns.
func liveTenant(ctx context.Context, c client.Client, ns string) (*licensecli.Tenant, error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
	)
	t := &licensecli.Tenant{Namespace: ns}
	if err := c.List(ctx, &skus, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing LicenseSkus in namespace %s: %w", ns, err)
	}
	if err := c.List(ctx, &groups, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing LicenseGroups in namespace %s: %w", ns, err)
	}
	err := listPages(ctx, c, ns, func(users []licv1.UserLicense) bool {
		for i := range users {
			t.Users = append(t.Users, &users[i])
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("in namespace %s: %w", ns, err)
	}
	for i := range skus.Items {
		t.SKUs = append(t.SKUs, &skus.Items[i])
	}
	for i := range groups.Items {
		t.Groups = append(t.Groups, &groups.Items[i])
	}
	licensecli.SortTenant(t)
	return t, nil
}
