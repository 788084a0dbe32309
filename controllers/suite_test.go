package controllers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/test/envtestutil"
)

// The controller suite runs the real tenant reconciler in a manager against
// a real kube-apiserver with the generated CRDs, and observes it only
// through the API, as users and Argo CD do.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	manager   *runningManager
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controllers Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(licv1.AddToScheme(scheme))

	var err error
	testEnv, err = envtestutil.NewEnvironment()
	Expect(err).NotTo(HaveOccurred())
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	manager = startManager()
})

var _ = AfterSuite(func() {
	if manager != nil {
		manager.stop()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// requestCounter counts the manager's mutating API requests by path, so tests
// can assert that steady state and restarts write nothing.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			c.mu.Lock()
			c.counts[req.Method+" "+req.URL.Path]++
			c.mu.Unlock()
			c.total.Add(1)
		}
		return rt.RoundTrip(req)
	})
}

// mutations returns the mutating requests whose path contains substr.
func (c *requestCounter) mutations(substr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.counts {
		if strings.Contains(k, substr) {
			n += v
		}
	}
	return n
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type runningManager struct {
	counter *requestCounter
	cache   cache.Cache // the informer cache the reconciler reads
	cancel  context.CancelFunc
	done    chan struct{}
}

func (m *runningManager) stop() {
	m.cancel()
	Eventually(m.done, 30*time.Second).Should(BeClosed())
}

// startManager runs a manager with the tenant controller, as cmd/manager
// does, with a request counter on its client.
func startManager() *runningManager { return startManagerWith(nil) }

// startManagerWith is startManager with the reconciler's client wrapped
// (fault injection) when wrap is not nil.
func startManagerWith(wrap func(client.Client) client.Client) *runningManager {
	counter := &requestCounter{counts: map[string]int{}}
	mcfg := rest.CopyConfig(cfg)
	mcfg.QPS, mcfg.Burst = -1, 0
	mcfg.WrapTransport = counter.wrap
	skipNameValidation := true
	mgr, err := ctrl.NewManager(mcfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controllers.CacheOptions(),
		Controller:             ctrlConfig(skipNameValidation),
	})
	Expect(err).NotTo(HaveOccurred())
	_, err = controllers.Setup(mgr, controllers.Options{
		MaxConcurrentTenants: 4,
		MaxConcurrentWrites:  16,
		RecordEvents:         true,
		WrapClient:           wrap,
	})
	Expect(err).NotTo(HaveOccurred())

	mctx, mcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	return &runningManager{counter: counter, cache: mgr.GetCache(), cancel: mcancel, done: done}
}
