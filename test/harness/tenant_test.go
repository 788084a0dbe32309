package harness

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// TestCreate: a create that the server applied without answering (a
// timeout) is retried and its AlreadyExists counts as done; a refusal of the
// object itself is returned at once, not retried.
func TestCreate(t *testing.T) {
	saved := createBackoff
	createBackoff = wait.Backoff{Steps: 4, Duration: 1}
	defer func() { createBackoff = saved }()
	gr := schema.GroupResource{Group: licv1.GroupVersion.Group, Resource: "userlicenses"}

	cases := []struct {
		name    string
		answers func(c client.WithWatch, obj client.Object) []error // per attempt; nil: the real create
		want    func(error) bool
		calls   int
	}{
		{"applied without an answer, then AlreadyExists", func(c client.WithWatch, obj client.Object) []error {
			return []error{apierrors.NewTimeoutError("etcdserver: request timed out", 1), nil}
		}, func(err error) bool { return err == nil }, 2},
		{"refused: returned at once", func(c client.WithWatch, obj client.Object) []error {
			return []error{apierrors.NewInvalid(licv1.GroupVersion.WithKind("UserLicense").GroupKind(), "u", nil)}
		}, apierrors.IsInvalid, 1},
		{"AlreadyExists at the first attempt is an error", func(c client.WithWatch, obj client.Object) []error {
			return []error{apierrors.NewAlreadyExists(gr, "u")}
		}, apierrors.IsAlreadyExists, 1},
		{"busy every time: the last error", func(c client.WithWatch, obj client.Object) []error {
			e := apierrors.NewTooManyRequests("busy", 1)
			return []error{e, e, e, e, e}
		}, apierrors.IsTooManyRequests, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			var script []error
			c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					calls++
					if calls == 1 {
						script = tc.answers(c, obj)
					}
					if calls == 1 && apierrors.IsTimeout(script[0]) {
						// Applied, but the answer is lost.
						if err := c.Create(ctx, obj, opts...); err != nil {
							return err
						}
						return script[0]
					}
					if calls <= len(script) && script[calls-1] != nil {
						return script[calls-1]
					}
					return c.Create(ctx, obj, opts...)
				},
			}).Build()
			err := Create(context.Background(), c, User("t", "u", "DE"))
			if !tc.want(err) || calls != tc.calls {
				t.Errorf("err %v after %d calls, want %d calls", err, calls, tc.calls)
			}
		})
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := licv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}
