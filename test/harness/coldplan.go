package harness

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/licenseops/license-operator/internal/planner"
)

// ColdPlanChanges plans a tenant's live objects as a freshly started manager
// would and names the objects whose status that plan would change: none,
// when the controller left the tenant exactly where the planner says.
func ColdPlanChanges(ctx context.Context, c client.Reader, ns string) ([]string, error) {
	in, err := ListTenant(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	in.Now = metav1.NewTime(time.Now().Add(time.Hour))
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
