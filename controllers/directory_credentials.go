package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/graph"
)

// Directory is all the reconciler needs of Microsoft Graph: the one small
// interface behind which every external call sits, so the reconciler is
// tested with a fake as well as against the Graph test server.
type Directory interface {
	SubscribedSkus(ctx context.Context) ([]graph.SubscribedSku, error)
	Users(ctx context.Context, fn func([]graph.User) error) error
	AssignLicenses(ctx context.Context, items []graph.Assignment, done func(graph.AssignResult)) error
}

// DirectoryConnector opens the Directory of a DirectoryConnection.
type DirectoryConnector interface {
	Connect(ctx context.Context, conn *licv1.DirectoryConnection) (Directory, error)
}

// CredentialError is a credential that cannot be built from the
// connection's spec and Secret: a human has to fix it.
type CredentialError struct{ msg string }

func (e *CredentialError) Error() string { return e.msg }

func credentialErrorf(format string, args ...any) error {
	return &CredentialError{msg: fmt.Sprintf(format, args...)}
}

// GraphConnector connects to Microsoft Graph with azidentity credentials
// built from the connection: a federated token of a ServiceAccount of the
// connection's namespace (TokenRequest), or a Secret of that namespace.
// It keeps one client per connection while the spec and the Secret do not
// change, so that Entra tokens are cached and the write budget spans syncs.
type GraphConnector struct {
	// Client creates service account tokens (serviceaccounts/token).
	Client client.Client
	// SecretReader reads Secrets. Use an uncached reader (the manager's
	// APIReader): the manager needs get on Secrets only, never list or
	// watch, and keeps no Secret in memory.
	SecretReader client.Reader
	// HTTPClient carries the token and Graph requests (default: a client
	// with the default transport). Tests pass the test server's.
	HTTPClient *http.Client
	// Clock times retries and the write budget (default graph.RealClock).
	Clock graph.Clock

	mu      sync.Mutex
	clients map[string]*connected
}

type connected struct {
	fingerprint string
	client      *graph.Client
}

// Connect returns the connection's Graph client.
func (g *GraphConnector) Connect(ctx context.Context, conn *licv1.DirectoryConnection) (Directory, error) {
	spec := conn.Spec
	cfg := graph.CredentialConfig{TenantID: spec.TenantID, ClientID: spec.ClientID, AuthorityHost: spec.AuthorityHost, HTTPClient: g.HTTPClient}
	fp := fmt.Sprintf("%s|%s|%s|%s|%s|%d|%+v", spec.TenantID, spec.ClientID, spec.AuthorityHost, spec.GraphEndpoint, conn.UID, spec.WritesPerSecond, spec.Credential)
	switch spec.Credential.Type {
	case licv1.CredentialWorkloadIdentity:
		sa := spec.Credential.ServiceAccountName
		aud := spec.Credential.Audience
		if aud == "" {
			aud = licv1.AudienceAzureADTokenExchange
		}
		ns := conn.Namespace
		cfg.Assertion = func(ctx context.Context) (string, error) {
			return g.serviceAccountToken(ctx, ns, sa, aud)
		}
	case licv1.CredentialClientSecret, licv1.CredentialClientCertificate:
		var s corev1.Secret
		key := client.ObjectKey{Namespace: conn.Namespace, Name: spec.Credential.SecretName}
		if err := g.SecretReader.Get(ctx, key, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, credentialErrorf("Secret %s/%s of spec.credential.secretName does not exist: create it", key.Namespace, key.Name)
			}
			return nil, fmt.Errorf("reading Secret %s/%s: %w", key.Namespace, key.Name, err)
		}
		fp += "|" + s.ResourceVersion
		if spec.Credential.Type == licv1.CredentialClientSecret {
			v := strings.TrimSpace(string(s.Data[licv1.SecretKeyClientSecret]))
			if v == "" {
				return nil, credentialErrorf("Secret %s/%s has no key %s: put the app's client secret there", key.Namespace, key.Name, licv1.SecretKeyClientSecret)
			}
			cfg.ClientSecret = v
		} else {
			crt, k := s.Data[licv1.SecretKeyTLSCert], s.Data[licv1.SecretKeyTLSKey]
			if len(crt) == 0 || len(k) == 0 {
				return nil, credentialErrorf("Secret %s/%s needs the PEM certificate in %s and its private key in %s", key.Namespace, key.Name, licv1.SecretKeyTLSCert, licv1.SecretKeyTLSKey)
			}
			cfg.CertificatePEM = append(append(append([]byte{}, crt...), '\n'), k...)
		}
	default:
		return nil, credentialErrorf("spec.credential.type %q is not supported", spec.Credential.Type)
	}

	key := conn.Namespace + "/" + conn.Name
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.clients[key]; c != nil && c.fingerprint == fp {
		return c.client, nil
	}
	cred, err := graph.NewCredential(cfg)
	if err != nil {
		return nil, &CredentialError{msg: err.Error()}
	}
	clock := g.Clock
	if clock == nil {
		clock = graph.RealClock
	}
	wps := int(spec.WritesPerSecond)
	if wps <= 0 {
		wps = 5
	}
	ns, name := conn.Namespace, conn.Name
	c, err := graph.New(spec.GraphEndpoint, cred, graph.Options{
		HTTPClient: g.HTTPClient,
		Clock:      clock,
		Writes:     graph.NewBudget(float64(wps), min(wps, graph.MaxBatchSize), clock),
		OnResponse: func(op string, status int) {
			graphRequests.WithLabelValues(ns, name, op, statusClass(status)).Inc()
		},
	})
	if err != nil {
		return nil, &CredentialError{msg: err.Error()}
	}
	if g.clients == nil {
		g.clients = map[string]*connected{}
	}
	g.clients[key] = &connected{fingerprint: fp, client: c}
	return c, nil
}

// Forget drops the client of a deleted connection.
func (g *GraphConnector) Forget(namespace, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.clients, namespace+"/"+name)
}

// serviceAccountToken requests a short-lived token of a ServiceAccount of
// the connection's namespace for Entra's token exchange audience.
func (g *GraphConnector) serviceAccountToken(ctx context.Context, ns, name, audience string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{audience},
		ExpirationSeconds: ptr.To[int64](600),
	}}
	if err := g.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		if apierrors.IsNotFound(err) {
			return "", credentialErrorf("ServiceAccount %s/%s of spec.credential.serviceAccountName does not exist: create it", ns, name)
		}
		return "", fmt.Errorf("requesting a token of ServiceAccount %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

// isCredentialError reports whether err is a credential a human must fix.
func isCredentialError(err error) bool {
	var ce *CredentialError
	return errors.As(err, &ce)
}

func statusClass(status int) string {
	if status == 0 {
		return "error"
	}
	return fmt.Sprint(status)
}
