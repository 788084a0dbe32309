package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DirectoryMode says what a DirectoryConnection does with Microsoft Entra.
// +kubebuilder:validation:Enum=Observe;Enforce
type DirectoryMode string

const (
	// DirectoryModeObserve reads Entra and reports, per user, whether its
	// licenses match status.licenses and what differs. It never writes.
	DirectoryModeObserve DirectoryMode = "Observe"
	// DirectoryModeEnforce calls assignLicense on every user whose direct
	// licenses of the namespace's SKUs differ from status.licenses.
	DirectoryModeEnforce DirectoryMode = "Enforce"
)

// CredentialType is how the manager authenticates as the Entra app.
// +kubebuilder:validation:Enum=WorkloadIdentity;ClientSecret;ClientCertificate
type CredentialType string

const (
	// CredentialWorkloadIdentity: the manager requests a token of
	// serviceAccountName (in the connection's namespace) from the
	// Kubernetes API and exchanges it for an Entra token (workload identity
	// federation). No secret is stored anywhere.
	CredentialWorkloadIdentity CredentialType = "WorkloadIdentity"
	// CredentialClientSecret: the Secret secretName holds the app's client
	// secret under the key clientSecret.
	CredentialClientSecret CredentialType = "ClientSecret"
	// CredentialClientCertificate: the Secret secretName (type
	// kubernetes.io/tls) holds the app's certificate and private key under
	// tls.crt and tls.key (PEM).
	CredentialClientCertificate CredentialType = "ClientCertificate"
)

// Keys of the credential Secret.
const (
	// SecretKeyClientSecret holds the client secret (ClientSecret).
	SecretKeyClientSecret = "clientSecret"
	// SecretKeyTLSCert and SecretKeyTLSKey hold the PEM certificate and
	// private key (ClientCertificate), as in a kubernetes.io/tls Secret.
	SecretKeyTLSCert = "tls.crt"
	SecretKeyTLSKey  = "tls.key"
)

// Audiences of federated tokens Entra accepts, per cloud.
const (
	AudienceAzureADTokenExchange      = "api://AzureADTokenExchange"
	AudienceAzureADTokenExchangeUSGov = "api://AzureADTokenExchangeUSGov"
	AudienceAzureADTokenExchangeChina = "api://AzureADTokenExchangeChina"
)

// DirectoryCredential is how the manager signs in as the app registration.
// +kubebuilder:validation:XValidation:rule="self.type == 'WorkloadIdentity' ? (has(self.serviceAccountName) && !has(self.secretName)) : (has(self.secretName) && !has(self.serviceAccountName) && !has(self.audience))",message="WorkloadIdentity takes serviceAccountName (and optionally audience); ClientSecret and ClientCertificate take secretName"
type DirectoryCredential struct {
	// type is WorkloadIdentity (recommended: federation from a Kubernetes
	// service account token, no secret), ClientSecret or ClientCertificate.
	// +required
	Type CredentialType `json:"type"`

	// serviceAccountName is a ServiceAccount in this namespace whose tokens
	// the app registration trusts (a federated identity credential with
	// subject system:serviceaccount:<namespace>:<name> and the cluster's
	// service account issuer). WorkloadIdentity only.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// audience of the service account token; the federated identity
	// credential must name the same. Default api://AzureADTokenExchange
	// (global cloud); ...USGov and ...China for those national clouds.
	// WorkloadIdentity only.
	// +optional
	// +kubebuilder:validation:Enum=api://AzureADTokenExchange;api://AzureADTokenExchangeUSGov;api://AzureADTokenExchangeChina
	Audience string `json:"audience,omitempty"`

	// secretName is a Secret in this namespace: key clientSecret for
	// ClientSecret; tls.crt and tls.key (PEM) for ClientCertificate.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName,omitempty"`
}

// RemovalSafety stops a sync that would remove too many licenses, like the
// accidental-deletion threshold of Entra provisioning.
type RemovalSafety struct {
	// maxRemovalPercent is the largest share of the licenses the
	// namespace's users hold directly in Entra (of the namespace's SKUs)
	// that one Enforce sync may remove or narrow (a license removed, or a
	// service plan switched off, counts as one). A sync above it writes
	// nothing, sets Ready=False and Stalled=True with reason
	// RemovalThresholdExceeded, and shows the plan in status.safetyStop.
	// 100 turns the check off.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaxRemovalPercent int32 `json:"maxRemovalPercent,omitempty"`

	// acknowledgedPlan lets exactly one stopped plan through: copy
	// status.safetyStop.planHash here after reviewing status.safetyStop.
	// A plan that differs from the acknowledged one stops again.
	// +optional
	// +kubebuilder:validation:MaxLength=80
	// +kubebuilder:validation:Pattern=`^sha256:[0-9a-f]{64}$`
	AcknowledgedPlan string `json:"acknowledgedPlan,omitempty"`
}

// DirectoryConnectionSpec names a Microsoft Entra tenant and how to sync
// the namespace's licenses with it through Microsoft Graph.
type DirectoryConnectionSpec struct {
	// tenantID is the Entra tenant (directory) ID, a GUID, or its
	// primary domain (contoso.onmicrosoft.com).
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)$`
	TenantID string `json:"tenantID"`

	// clientID is the application (client) ID of the app registration.
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	ClientID string `json:"clientID"`

	// credential is how the manager signs in as the app.
	// +required
	Credential DirectoryCredential `json:"credential"`

	// mode: Observe (default) reads and reports and never writes; Enforce
	// also assigns and removes licenses in Entra so that every user holds
	// exactly the SKUs of status.licenses that are declared in this
	// namespace. Licenses of other SKUs are left alone and reported.
	// +optional
	// +kubebuilder:default=Observe
	Mode DirectoryMode `json:"mode,omitempty"`

	// graphEndpoint is the Microsoft Graph host: https://graph.microsoft.com
	// (default), https://graph.microsoft.us or https://dod-graph.microsoft.us
	// (US Government), https://microsoftgraph.chinacloudapi.cn (China).
	// +optional
	// +kubebuilder:default="https://graph.microsoft.com"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$`
	GraphEndpoint string `json:"graphEndpoint,omitempty"`

	// authorityHost is the Entra sign-in host: https://login.microsoftonline.com/
	// (default), https://login.microsoftonline.us/ (US Government),
	// https://login.chinacloudapi.cn/ (China).
	// +optional
	// +kubebuilder:default="https://login.microsoftonline.com/"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$`
	AuthorityHost string `json:"authorityHost,omitempty"`

	// writesPerSecond is the write budget: assignLicense calls per second
	// (each call inside a $batch counts). Microsoft Graph allows about 20
	// writes per second per app and tenant (3,000 per 150 s), shared with
	// every other use of the app; the default leaves most of it.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	WritesPerSecond int32 `json:"writesPerSecond,omitempty"`

	// syncInterval is how often Entra is read again when nothing changed
	// in the namespace, to notice changes made in Entra itself. Changes of
	// the namespace's licenses are synced as they happen.
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="syncInterval must be between 1m and 24h"
	SyncInterval *metav1.Duration `json:"syncInterval,omitempty"`

	// safety stops an Enforce sync that would remove too many licenses.
	// +optional
	Safety RemovalSafety `json:"safety,omitempty"`
}

// DirectoryUserCounts counts the namespace's UserLicenses by outcome of
// the last sync.
type DirectoryUserCounts struct {
	// total is the number of UserLicenses in the namespace.
	// +optional
	Total int32 `json:"total"`
	// inSync is the number whose Entra licenses match status.licenses.
	// +optional
	InSync int32 `json:"inSync"`
	// drifted is the number whose Entra licenses differ (in Observe, or
	// in Enforce while waiting for a write or for a fix only a human can
	// make, such as a license inherited from an Entra group).
	// +optional
	Drifted int32 `json:"drifted"`
	// failed is the number whose last write failed (Graph's error in the
	// user's Synced condition) or whose licenses cannot be mapped.
	// +optional
	Failed int32 `json:"failed"`
	// notFound is the number with no Entra user of that userPrincipalName.
	// +optional
	NotFound int32 `json:"notFound"`
	// unmanaged is the number of Entra users holding a license of one of
	// the namespace's SKUs directly but having no UserLicense here: the
	// sync leaves them alone; `kubectl license import --from-graph`
	// brings them in.
	// +optional
	Unmanaged int32 `json:"unmanaged"`
}

// SafetyStop is an Enforce plan held back by the removal threshold.
type SafetyStop struct {
	// planHash identifies the plan: copy it to spec.safety.acknowledgedPlan
	// to let it through.
	PlanHash string `json:"planHash"`
	// removals is the number of licenses the plan removes or narrows.
	Removals int32 `json:"removals"`
	// heldLicenses is the number of licenses of the namespace's SKUs the
	// namespace's users hold directly in Entra.
	HeldLicenses int32 `json:"heldLicenses"`
	// percent is removals / heldLicenses, rounded up.
	Percent int32 `json:"percent"`
	// examples lists the first removals ("ann@contoso.com: remove SPE_E3").
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Examples []string `json:"examples,omitempty"`
	// since is when the plan was first stopped.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// DirectoryConnectionStatus is the outcome of the syncs, written by the controller.
type DirectoryConnectionStatus struct {
	// observedGeneration is the metadata.generation the last sync used.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastSyncTime is when the last sync finished reading Entra.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`

	// users counts the namespace's users by outcome of the last sync.
	// +optional
	Users DirectoryUserCounts `json:"users,omitempty"`

	// lastSyncWrites is the number of assignLicense calls of the last sync.
	// +optional
	LastSyncWrites int32 `json:"lastSyncWrites"`

	// undeclaredSkus are part numbers the namespace's users hold directly
	// in Entra that no LicenseSku here declares: left alone (sorted, first 50).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	UndeclaredSkus []string `json:"undeclaredSkus,omitempty"`

	// missingSkus are LicenseSkus whose skuPartNumber the tenant has not
	// subscribed to (sorted, first 50): their licenses cannot be synced.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	MissingSkus []string `json:"missingSkus,omitempty"`

	// safetyStop is the Enforce plan held back by spec.safety, if any.
	// +optional
	SafetyStop *SafetyStop `json:"safetyStop,omitempty"`

	// conditions: Ready (the last sync completed; in Enforce, every user is
	// in sync), Connected (Microsoft Graph accepted the credential), and
	// Stalled (present only when True: the connection waits for a human,
	// e.g. a credential to fix or a safety stop to acknowledge).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DirectoryConnection syncs the namespace (tenant) with a Microsoft Entra
// tenant through Microsoft Graph: it reports, per user, whether Entra
// holds the licenses the operator decided, and in Enforce mode assigns
// and removes them. One per namespace; opt-in.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dirconn;dc,categories=licensing
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantID`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Connected",type=string,JSONPath=`.status.conditions[?(@.type=="Connected")].status`
// +kubebuilder:printcolumn:name="In Sync",type=integer,JSONPath=`.status.users.inSync`
// +kubebuilder:printcolumn:name="Drifted",type=integer,JSONPath=`.status.users.drifted`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.users.failed`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DirectoryConnection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the Entra tenant and how to sync with it, written by you.
	// +required
	Spec DirectoryConnectionSpec `json:"spec"`

	// status is the outcome of the syncs, written by the controller.
	// +optional
	Status DirectoryConnectionStatus `json:"status,omitempty"`
}

// DirectoryConnectionList contains a list of DirectoryConnection.
// +kubebuilder:object:root=true
type DirectoryConnectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DirectoryConnection `json:"items"`
}

// Condition types and reasons of DirectoryConnection, and the reasons of
// the Synced condition it sets on UserLicenses (Graph's own error codes,
// CountViolation, MutuallyExclusiveViolation, ..., are used as they come).
const (
	// ConditionConnected is True when Microsoft Graph accepted the
	// credential on the last sync.
	ConditionConnected = "Connected"

	// ReasonSyncSucceeded: Ready=True, the last sync completed.
	ReasonSyncSucceeded = "SyncSucceeded"
	// ReasonUsersDrifted: Ready=False in Enforce, some users still differ.
	ReasonUsersDrifted = "UsersDrifted"
	// ReasonSyncFailed: Ready=False, the last sync could not read Entra
	// (the message has Graph's error); retried with backoff.
	ReasonSyncFailed = "SyncFailed"
	// ReasonCredentialInvalid: the credential cannot be built (missing
	// Secret or key, bad PEM, missing ServiceAccount) or Entra refused it.
	ReasonCredentialInvalid = "CredentialInvalid"
	// ReasonAccessDenied: Graph answered 403: the app lacks a permission.
	ReasonAccessDenied = "AccessDenied"
	// ReasonRemovalThresholdExceeded: an Enforce plan removes more than
	// spec.safety.maxRemovalPercent; nothing was written.
	ReasonRemovalThresholdExceeded = "RemovalThresholdExceeded"
	// ReasonGraphAccepted: Connected=True.
	ReasonGraphAccepted = "GraphAccepted"
	// ReasonDuplicateConnection: another DirectoryConnection in the
	// namespace is older; only one syncs a namespace.
	ReasonDuplicateConnection = "DuplicateConnection"

	// ReasonInSync: Synced=True on a UserLicense.
	ReasonInSync = "InSync"
	// ReasonDrifted: Synced=False in Observe mode, or in Enforce while a
	// write is pending; the message says what differs.
	ReasonDrifted = "Drifted"
	// ReasonUserNotFound: no Entra user has the userPrincipalName.
	ReasonUserNotFound = "UserNotFound"
	// ReasonSkuNotInTenant: the SKU's part number is not among the
	// tenant's subscribedSkus.
	ReasonSkuNotInTenant = "SkuNotInTenant"
	// ReasonServicePlanNotInTenant: a disabled plan name is not a plan of
	// the tenant's SKU.
	ReasonServicePlanNotInTenant = "ServicePlanNotInTenant"
	// ReasonInheritedFromGroup: Entra holds a license through an Entra
	// group that the user should not hold; only removing the user from the
	// group (or the license from the group) fixes it.
	ReasonInheritedFromGroup = "InheritedFromGroup"
	// ReasonUsageLocationDiffers: the licenses match but Entra's
	// usageLocation is not spec.usageLocation (the operator does not write it).
	ReasonUsageLocationDiffers = "UsageLocationDiffers"
	// ReasonWriteFailed: a write failed without a Graph error code
	// (network, 5xx after retries).
	ReasonWriteFailed = "WriteFailed"
	// ReasonSyncStopped: Enforce held back by the safety stop.
	ReasonSyncStopped = "SyncStopped"
)

func init() {
	SchemeBuilder.Register(&DirectoryConnection{}, &DirectoryConnectionList{})
}
