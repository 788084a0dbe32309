// Package graph is a small typed client for the few Microsoft Graph
// endpoints license-operator uses: subscribedSkus, users (with
// assignedLicenses and licenseAssignmentStates), groups and their members,
// user assignLicense, and $batch. It follows Graph's documented behaviour:
// paging by @odata.nextLink, 429/503/504 retried after Retry-After, at most
// 20 requests per $batch, a write budget (token bucket) for assignLicense.
//
// Authentication is any azcore.TokenCredential (azidentity): the client asks
// for the scope "<endpoint>/.default" before each request; azidentity caches
// the token.
//
// Why not github.com/microsoftgraph/msgraph-sdk-go: see
// docs/microsoft-graph.md ("Choosing the Graph client").
package graph
