package controllers

import (
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// Options are what a manager of this operator runs: cmd/manager sets them
// from its flags, the test suites from what they test. Setup wires them the
// same way everywhere.
type Options struct {
	// MaxConcurrentTenants is how many namespaces are planned in parallel
	// (default 4).
	MaxConcurrentTenants int
	// MaxConcurrentWrites bounds the status writes in flight, all tenants
	// together (default 32).
	MaxConcurrentWrites int
	// RecordEvents records each change of a user's licenses as an Event,
	// paced by EventQPS, EventQPSWhileWriting and MaxQueuedEvents (zero:
	// the defaults of the TenantReconciler).
	RecordEvents                   bool
	EventQPS, EventQPSWhileWriting float64
	MaxQueuedEvents                int
	// Directory runs the DirectoryReconciler (Microsoft Graph sync).
	Directory bool
	// WrapClient, when set, wraps the TenantReconciler's client (tests
	// inject faults or count requests with it).
	WrapClient func(client.Client) client.Client
	// Now is the TenantReconciler's clock (nil: time.Now).
	Now func() time.Time
}

// CacheOptions is the manager cache of this operator: CacheTransform on
// every object, and only the given namespaces when there are any.
func CacheOptions(namespaces ...string) cache.Options {
	o := cache.Options{DefaultTransform: CacheTransform()}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

// Setup adds the operator's controllers to mgr: the tenant reconciler, its
// status writes timed (InstrumentStatusWrites), its events, and the
// directory reconciler when asked. It returns the tenant reconciler.
func Setup(mgr ctrl.Manager, o Options) (*TenantReconciler, error) {
	if o.MaxConcurrentTenants <= 0 {
		o.MaxConcurrentTenants = 4
	}
	if o.MaxConcurrentWrites <= 0 {
		o.MaxConcurrentWrites = 32
	}
	c := mgr.GetClient()
	if o.WrapClient != nil {
		c = o.WrapClient(c)
	}
	r := &TenantReconciler{
		Client:              InstrumentStatusWrites(c),
		MaxConcurrentWrites: o.MaxConcurrentWrites,
		Now:                 o.Now,
	}
	if o.RecordEvents {
		r.Recorder = mgr.GetEventRecorder(ControllerName)
		r.EventQPS, r.EventQPSWhileWriting, r.MaxQueuedEvents = o.EventQPS, o.EventQPSWhileWriting, o.MaxQueuedEvents
	}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: o.MaxConcurrentTenants}); err != nil {
		return nil, fmt.Errorf("setting up the tenant controller: %w", err)
	}
	if o.Directory {
		dr := &DirectoryReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder(DirectoryControllerName),
			Connector: &GraphConnector{Client: mgr.GetClient(), SecretReader: mgr.GetAPIReader()}}
		if err := dr.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 2}); err != nil {
			return nil, fmt.Errorf("setting up the directory controller: %w", err)
		}
	}
	return r, nil
}
