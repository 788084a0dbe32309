// Command typed is the tiny program of the Graph client comparison
// (hack/graph-client-size/measure.sh): the same calls as the SDK variant,
// with internal/graph. It is only built, never run.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/licenseops/license-operator/internal/graph"
)

func main() {
	cred, err := graph.NewCredential(graph.CredentialConfig{TenantID: os.Getenv("TENANT"), ClientID: os.Getenv("CLIENT"), ClientSecret: os.Getenv("SECRET")})
	if err != nil {
		panic(err)
	}
	c, err := graph.New(graph.DefaultEndpoint, cred, graph.Options{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	skus, err := c.SubscribedSkus(ctx)
	if err != nil {
		panic(err)
	}
	for _, s := range skus {
		fmt.Println(s.SkuPartNumber)
	}
	if err := c.Users(ctx, func(page []graph.User) error {
		for _, u := range page {
			fmt.Println(u.UserPrincipalName, len(u.LicenseAssignmentStates))
		}
		return nil
	}); err != nil {
		panic(err)
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(groups))
	err = c.AssignLicenses(ctx, []graph.Assignment{{UserID: "x", Request: graph.AssignLicenseRequest{AddLicenses: []graph.AssignedLicense{{}}}}}, func(r graph.AssignResult) {
		if r.Err != nil {
			panic(r.Err)
		}
	})
	if err != nil {
		panic(err)
	}
}
