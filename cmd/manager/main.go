// Command manager runs the license-operator controllers: it plans every
// tenant namespace's license assignments and writes them to status.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	memlimit "github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/controllers"
	"github.com/licenseops/license-operator/internal/version"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(licv1.AddToScheme(scheme))
}

func main() {
	var (
		metricsAddr          string
		metricsSecure        bool
		probeAddr            string
		pprofAddr            string
		enableLeaderElection bool
		leaderElectionNS     string
		leaseDuration        time.Duration
		renewDeadline        time.Duration
		retryPeriod          time.Duration
		enableHTTP2          bool
		namespaces           string
		concurrentTenants    int
		concurrentWrites     int
		qps                  float64
		recordEvents         bool
		eventQPS             float64
		eventQPSWriting      float64
		maxQueuedEvents      int
		burst                int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP); 0 disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization (TokenReview + SubjectAccessReview).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address of the pprof endpoint (e.g. 127.0.0.1:6060); empty disables it.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false, "Enable leader election, so only one replica writes statuses.")
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a standby waits before taking over a lease that was not renewed.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its lease before it gives up and exits (so it never writes without the lease). Raise it, with the lease duration, to ride out longer API server outages without a restart, at the cost of a slower failover.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often leader election is retried.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 (off by default: CVE-2023-44487, CVE-2023-39325).")
	flag.StringVar(&namespaces, "namespaces", "", "Comma-separated tenant namespaces to manage (default: all).")
	flag.IntVar(&concurrentTenants, "max-concurrent-tenants", 4, "Namespaces planned in parallel.")
	flag.IntVar(&concurrentWrites, "max-concurrent-writes", 32, "Status writes in flight, all tenants together (one tenant's plan may use them all).")
	flag.BoolVar(&recordEvents, "record-events", true, "Record each change of a user's licenses as an Event (LicenseAssigned, LicenseRemoved, LicenseAssignmentFailed): the assignment history. Costs one API request per changed user.")
	flag.Float64Var(&eventQPS, "event-qps", controllers.DefaultEventQPS, "Events posted per second when no status write is in flight. Events trail the status writes: statuses are the state users wait for, events the history.")
	flag.Float64Var(&eventQPSWriting, "event-qps-while-writing", controllers.DefaultEventQPSWhileWriting, "Events posted per second while status writes are in flight (negative: none until they end).")
	flag.IntVar(&maxQueuedEvents, "max-queued-events", controllers.DefaultMaxQueuedEvents, "Events waiting to be posted; beyond it new events are dropped and counted in license_operator_events_dropped_total.")
	flag.Float64Var(&qps, "kube-api-qps", -1, "Client-side rate limit for API requests per second; 0 or negative: none, as controller-runtime, leaving the API server's Priority and Fairness to protect it (see the README).")
	flag.IntVar(&burst, "kube-api-burst", 400, "Client-side burst for API requests, with a positive --kube-api-qps.")
	memoryRatio := flag.Float64("memory-limit-ratio", 0.9, "Share of the container's memory limit (cgroup) given to the Go runtime as its soft limit (GOMEMLIMIT), so the garbage collector works harder instead of the pod being OOM-killed; 0 leaves the runtime alone. An explicit GOMEMLIMIT wins.")
	showVersion := flag.Bool("version", false, "Print the version, commit and build date, and exit.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println("manager", version.Get())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	if *memoryRatio > 0 && *memoryRatio <= 1 {
		limit, err := memlimit.SetGoMemLimitWithOpts(
			memlimit.WithRatio(*memoryRatio),
			memlimit.WithProvider(memlimit.FromCgroup),
			memlimit.WithLogger(slog.New(logr.ToSlogHandler(setupLog))),
		)
		if err != nil {
			// Not in a container with a memory limit (a laptop, the demo).
			setupLog.Info("no container memory limit found: the Go runtime keeps its default", "reason", err.Error())
		} else {
			setupLog.Info("Go runtime memory limit set from the container's", "GOMEMLIMIT", limit, "ratio", *memoryRatio)
		}
	} else if *memoryRatio != 0 {
		setupLog.Error(nil, "--memory-limit-ratio must be between 0 (off) and 1", "value", *memoryRatio)
		os.Exit(2)
	}

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: metricsSecure,
		TLSOpts:       tlsOpts,
	}
	if metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	var nsList []string
	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			nsList = append(nsList, ns)
		}
	}
	cacheOpts := controllers.CacheOptions(nsList...)

	cfg := ctrl.GetConfigOrDie()
	if qps <= 0 {
		cfg.QPS = -1 // client-go: a negative QPS disables client-side rate limiting
	} else {
		cfg.QPS = float32(qps)
		cfg.Burst = burst
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          enableLeaderElection,
		LeaderElectionID:        "license-operator.licensing.licenseops.dev",
		LeaderElectionNamespace: leaderElectionNS,
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retryPeriod,
		// main exits as soon as the manager stops, so the lease can be
		// released at once: a rolling update fails over without waiting for
		// the lease to expire.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
	})
	if err != nil {
		setupLog.Error(err, "unable to create manager")
		os.Exit(1)
	}

	// The tenant controller and, opt-in per namespace by a
	// DirectoryConnection, the Microsoft Graph sync (docs/microsoft-graph.md).
	if _, err := controllers.Setup(mgr, controllers.Options{
		MaxConcurrentTenants: concurrentTenants,
		MaxConcurrentWrites:  concurrentWrites,
		RecordEvents:         recordEvents,
		EventQPS:             eventQPS,
		EventQPSWhileWriting: eventQPSWriting,
		MaxQueuedEvents:      maxQueuedEvents,
		Directory:            true,
	}); err != nil {
		setupLog.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "unable to set up ready check")
		os.Exit(1)
	}

	v := version.Get()
	setupLog.Info("starting manager", "version", v.Version, "commit", v.Commit, "buildDate", v.Date, "goVersion", v.GoVersion,
		"namespaces", namespaces, "leaderElection", enableLeaderElection)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "problem running manager")
		os.Exit(1)
	}
}
