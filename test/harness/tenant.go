package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TenantShape is a generated tenant: Users users u0000..; Groups groups
// g00.. (the even ones select the label team=t<g%4>, the odd ones name a
// quarter of the users at random); SKUs SKUs sku-0.. of users/(2+s%3) seats
// each, so some are scarce. Seed makes it reproducible.
type TenantShape struct {
	Users, Groups, SKUs int
	Seed                uint64
}

// CreateTenant creates the tenant of shape t in namespace ns.
func CreateTenant(ctx context.Context, c client.Client, ns string, t TenantShape) error {
	if t.SKUs < 1 {
		return fmt.Errorf("a tenant needs at least one SKU, got %d", t.SKUs)
	}
	rng := rand.New(rand.NewPCG(t.Seed, 99))
	var objs []client.Object
	for s := range t.SKUs {
		objs = append(objs, Sku(ns, fmt.Sprintf("sku-%d", s), fmt.Sprintf("PART_%d", s), int64(t.Users/(2+s%3)),
			licv1.ServicePlan{Name: fmt.Sprintf("PLAN_%d", s)}))
	}
	for g := range t.Groups {
		grp := Group(ns, fmt.Sprintf("g%02d", g), int32(g%3), nil, fmt.Sprintf("sku-%d", g%t.SKUs))
		if g%2 == 0 {
			grp.Spec.MemberSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", g%4)}}
		} else {
			for range t.Users / 4 {
				grp.Spec.Members = append(grp.Spec.Members, fmt.Sprintf("u%04d@contoso.com", rng.IntN(t.Users)))
			}
			grp.Spec.Members = Dedupe(grp.Spec.Members)
		}
		objs = append(objs, grp)
	}
	if err := Parallel(len(objs), 8, func(i int) error { return Create(ctx, c, objs[i]) }); err != nil {
		return err
	}
	return Parallel(t.Users, 16, func(i int) error {
		u := User(ns, fmt.Sprintf("u%04d", i), "DE")
		u.Labels = map[string]string{"team": fmt.Sprintf("t%d", i%4)}
		return Create(ctx, c, u)
	})
}

// createBackoff retries a create for about a minute and a half.
var createBackoff = wait.Backoff{Steps: 8, Duration: 500 * time.Millisecond, Factor: 2, Cap: 20 * time.Second}

// Create creates obj, retrying what a loaded API server or etcd answers
// when it is busy rather than wrong: timeouts ("etcdserver: request timed
// out", 504), 429 and other 5xx. A retried create that finds the object
// already there counts as done (the earlier attempt was applied without
// an answer). Any other refusal is returned at once: seeding a test must
// not hide a bad object.
func Create(ctx context.Context, c client.Client, obj client.Object) error {
	retried := false
	return retry.OnError(createBackoff, transient, func() error {
		if retried {
			obj.SetResourceVersion("") // a create must not carry one
		}
		err := c.Create(ctx, obj)
		if retried && apierrors.IsAlreadyExists(err) {
			return nil
		}
		retried = true
		return err
	})
}

func transient(err error) bool {
	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err)
}

// Dedupe sorts s and drops repeats (a listType=set field must not repeat).
func Dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// Parallel runs f(0..n-1) on workers goroutines and returns the first
// error (the workers stop taking new items after it).
func Parallel(n, workers int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop taking new items
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
