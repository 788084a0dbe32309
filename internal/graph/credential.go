package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// CredentialConfig says how to sign in as an app registration. Exactly one
// of ClientSecret, CertificatePEM (certificate and private key, PEM) and
// Assertion (a federated token source) is set.
type CredentialConfig struct {
	TenantID, ClientID string
	// AuthorityHost is the Entra sign-in host (default
	// https://login.microsoftonline.com/).
	AuthorityHost string
	// HTTPClient carries the token requests (default http.DefaultClient).
	HTTPClient *http.Client

	ClientSecret   string
	CertificatePEM []byte
	Assertion      func(ctx context.Context) (string, error)
}

// knownAuthorities are the public and national clouds' sign-in hosts:
// instance discovery works for them; for any other host (Azure Stack, a
// test server) it is turned off.
var knownAuthorities = map[string]bool{
	"login.microsoftonline.com": true,
	"login.microsoftonline.us":  true,
	"login.chinacloudapi.cn":    true,
}

// NewCredential builds the azidentity credential of cfg.
func NewCredential(cfg CredentialConfig) (azcore.TokenCredential, error) {
	authority := cfg.AuthorityHost
	if authority == "" {
		authority = cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	u, err := url.Parse(authority)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("authority host %q: want https://host/", authority)
	}
	if !strings.HasSuffix(authority, "/") {
		authority += "/"
	}
	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authority, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	disco := !knownAuthorities[strings.ToLower(u.Hostname())]
	set := 0
	for _, b := range []bool{cfg.ClientSecret != "", len(cfg.CertificatePEM) > 0, cfg.Assertion != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("credential: set exactly one of a client secret, a certificate, a federated token")
	}
	switch {
	case cfg.ClientSecret != "":
		return azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	case len(cfg.CertificatePEM) > 0:
		certs, key, err := azidentity.ParseCertificates(cfg.CertificatePEM, nil)
		if err != nil {
			return nil, fmt.Errorf("reading the certificate: %w", err)
		}
		return azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	default:
		return azidentity.NewClientAssertionCredential(cfg.TenantID, cfg.ClientID, cfg.Assertion,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	}
}
