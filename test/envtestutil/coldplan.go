package envtestutil

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/planner"
)

// ColdPlanChanges plans a tenant's live objects as a freshly started manager
// would and names the objects whose status that plan would change: none,
// when the controller left the tenant exactly where the planner says.
func ColdPlanChanges(ctx context.Context, c client.Reader, ns string) ([]string, error) {
	var (
		skus   licv1.LicenseSkuList
		groups licv1.LicenseGroupList
		users  licv1.UserLicenseList
	)
	for _, l := range []client.ObjectList{&skus, &groups, &users} {
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return nil, err
		}
	}
	in := planner.Input{Now: metav1.NewTime(time.Now().Add(time.Hour))}
	for i := range skus.Items {
		in.SKUs = append(in.SKUs, &skus.Items[i])
	}
	for i := range groups.Items {
		in.Groups = append(in.Groups, &groups.Items[i])
	}
	for i := range users.Items {
		in.Users = append(in.Users, &users.Items[i])
	}
	res := planner.Plan(in)
	var changed []string
	for i, r := range res.SKUs {
		if r.Changed {
			changed = append(changed, "sku/"+in.SKUs[i].Name)
		}
	}
	for i, r := range res.Groups {
		if r.Changed {
			changed = append(changed, "group/"+in.Groups[i].Name)
		}
	}
	for i, r := range res.Users {
		if r.Changed {
			changed = append(changed, "user/"+in.Users[i].Name)
		}
	}
	return changed, nil
}
