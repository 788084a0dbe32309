package v1alpha1

// Condition types. Ready is the summary condition on every kind: True when
// everything asked of the object is in effect. It is what
// `kubectl wait --for=condition=Ready` and the Argo CD health checks read.
const (
	// ConditionReady summarises the object.
	ConditionReady = "Ready"
	// ConditionInsufficientSeats is True on a LicenseSku or LicenseGroup when
	// at least one user waits for a seat.
	ConditionInsufficientSeats = "InsufficientSeats"
	// ConditionOverallocated is True on a LicenseSku whose holders exceed its
	// usable capacity (seats were reduced or subscriptions suspended). Nobody
	// loses a seat; no new seat is granted until it is back under capacity.
	ConditionOverallocated = "Overallocated"
	// ConditionDuplicatePlans is True on a UserLicense when one service plan is
	// enabled through two different SKUs. It is a warning: Ready is unaffected.
	ConditionDuplicatePlans = "DuplicatePlans"
	// ConditionStalled is present, and True, only while an object cannot
	// make progress until a human changes some spec: a missing usage
	// location, an unknown or conflicting service plan, a dependency that no
	// assignment provides, a duplicate userPrincipalName, an invalid
	// selector. kstatus then reads the object as Failed instead of
	// InProgress forever. Waiting for a seat is not stalled: it resolves by
	// itself when a seat frees up.
	ConditionStalled = "Stalled"
	// ConditionSynced is set on a UserLicense by a DirectoryConnection: True
	// when Microsoft Entra holds the licenses the status says, False with
	// Microsoft Graph's error otherwise.
	ConditionSynced = "Synced"
)

// Reasons of license failures (UserLicense status.licenses[].reason and the
// group failures), and of conditions. CamelCase, stable: automation may match
// on them.
const (
	// ReasonInsufficientSeats: the SKU has no free seat for this user; the user
	// waits in line and gets the next seat that frees up.
	ReasonInsufficientSeats = "InsufficientSeats"
	// ReasonMutuallyExclusivePlans: an enabled plan conflicts with a plan of
	// a license the user holds (licenses waiting for a seat block nothing).
	ReasonMutuallyExclusivePlans = "MutuallyExclusivePlans"
	// ReasonMissingDependency: an enabled plan requires a plan that none of
	// the user's held licenses enables.
	ReasonMissingDependency = "MissingDependency"
	// ReasonUsageLocationRequired: the user has no spec.usageLocation.
	ReasonUsageLocationRequired = "UsageLocationRequired"
	// ReasonProhibitedInUsageLocation: an enabled plan is not offered in the
	// user's usage location.
	ReasonProhibitedInUsageLocation = "ProhibitedInUsageLocation"
	// ReasonSkuNotFound: the referenced LicenseSku does not exist in the namespace.
	ReasonSkuNotFound = "SkuNotFound"
	// ReasonUnknownServicePlan: disabledPlans or enabledPlans names a plan the
	// SKU does not have.
	ReasonUnknownServicePlan = "UnknownServicePlan"
	// ReasonDuplicateUserPrincipalName: another UserLicense in the namespace
	// has the same userPrincipalName (compared case-insensitively) and takes
	// precedence: the one holding seats, else the oldest, else the lowest
	// name. Also the Ready=False reason of the UserLicense that lost.
	ReasonDuplicateUserPrincipalName = "DuplicateUserPrincipalName"
	// ReasonSubscriptionInactive: state Disabled; every subscription of the
	// SKU is Suspended or LockedOut. The user keeps the seat; the services
	// are off until a subscription is Enabled again.
	ReasonSubscriptionInactive = "SubscriptionInactive"
	// ReasonTooManyLicenses: the user requests more SKUs than a status can
	// list (MaxUserLicenseStatuses); the unlisted ones are not assigned.
	ReasonTooManyLicenses = "TooManyLicenses"

	// ReasonOverallocated is the Overallocated/Ready reason on a LicenseSku.
	ReasonOverallocated = "Overallocated"
	// ReasonSubscriptionsInactive: every subscription of the SKU is Suspended
	// or LockedOut, so it has no usable seat.
	ReasonSubscriptionsInactive = "SubscriptionsInactive"
	// ReasonSeatsAvailable: Ready=True on a LicenseSku serving every request.
	ReasonSeatsAvailable = "SeatsAvailable"
	// ReasonWithinCapacity: InsufficientSeats/Overallocated=False.
	ReasonWithinCapacity = "WithinCapacity"

	// ReasonAllLicensesActive: Ready=True on a UserLicense or LicenseGroup.
	ReasonAllLicensesActive = "AllLicensesActive"
	// ReasonLicenseErrors: Ready=False because at least one license failed.
	ReasonLicenseErrors = "LicenseErrors"
	// ReasonMembersNotFound: Ready=False on a LicenseGroup listing members with
	// no UserLicense in the namespace.
	ReasonMembersNotFound = "MembersNotFound"
	// ReasonInvalidSelector: Ready=False on a LicenseGroup whose
	// memberSelector cannot be parsed; it selects nobody until fixed.
	ReasonInvalidSelector = "InvalidSelector"
	// ReasonLicensesDisabled: Ready=False on a UserLicense whose licenses
	// are all held but some are Disabled (SubscriptionInactive).
	ReasonLicensesDisabled = "LicensesDisabled"
	// ReasonNoDuplicatePlans: DuplicatePlans=False.
	ReasonNoDuplicatePlans = "NoDuplicatePlans"
	// ReasonDuplicatePlans: DuplicatePlans=True.
	ReasonDuplicatePlans = "DuplicatePlans"
)

// License states in UserLicense status.licenses[].state.
const (
	// LicenseStateActive: the user holds a seat and the enabled plans are in effect.
	LicenseStateActive = "Active"
	// LicenseStateDisabled: the user holds a seat but the SKU has no usable
	// subscription, so the services are off (reason SubscriptionInactive).
	LicenseStateDisabled = "Disabled"
	// LicenseStateError: the license is not in effect; reason says why.
	LicenseStateError = "Error"
)

// Sources in status.licenses[].assignedBy.
const (
	// SourceDirect marks a license assigned in the UserLicense's own spec.
	SourceDirect = "Direct"
	// SourceGroupPrefix prefixes the name of a LicenseGroup: "Group/<name>".
	SourceGroupPrefix = "Group/"
)

// MaxGroupFailures bounds LicenseGroup status.failures.
const MaxGroupFailures = 50

// MaxUnresolvedMembers bounds LicenseGroup status.unresolvedMembers.
const MaxUnresolvedMembers = 50

// Bounds of UserLicense status lists (each is also the list's MaxItems).
const (
	// MaxUserLicenseStatuses bounds status.licenses.
	MaxUserLicenseStatuses = 100
	// MaxUserGroups bounds status.groups.
	MaxUserGroups = 100
	// MaxAssignedBy bounds status.licenses[].assignedBy.
	MaxAssignedBy = 16
	// MaxStatusMessage bounds status.licenses[].message.
	MaxStatusMessage = 2048
)
