package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

// upnField is the selectable field of UserLicense (CRD selectableFields).
const upnField = "spec.userPrincipalName"

func newUserCommand(e *env) *cobra.Command {
	var (
		all bool
		out *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "user USER_PRINCIPAL_NAME [-n NAMESPACE | -A] [-o json|yaml|name|jsonpath=...]",
		Short: "Show a user's effective licenses and assignment history",
		Long: `Find the UserLicense whose spec.userPrincipalName is USER_PRINCIPAL_NAME and
show its effective licenses: state and reason, what to do about an error,
every source (Direct, Group/<name>), the enabled service plans and the SKU's
plans that are disabled, since when the user waits for a seat, the
DuplicatePlans warning, the user's groups, and the Events regarding the
UserLicense (LicenseAssigned, LicenseRemoved, LicenseAssignmentFailed: the
assignment history), oldest first. User principal names compare ignoring
case, as in Microsoft Entra.`,
		Example: `  kubectl license user ann@contoso.com -n contoso
  kubectl license user ann@contoso.com -A -o yaml`,
		Args: exactArgs(1, "one user principal name"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeUsers(e, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, ns, err := e.clientIn(all)
			if err != nil {
				return err
			}
			users, err := findUsers(ctx(cmd), c, ns, args[0])
			if err != nil {
				return err
			}
			if len(users) == 0 {
				where := "in namespace " + ns + " (use -A to search every namespace)"
				if all {
					where = "in any namespace"
				}
				return fmt.Errorf("no UserLicense with %s=%s %s", upnField, args[0], where)
			}
			var reports []licensecli.UserReport
			var notes []string
			for i := range users {
				u := &users[i]
				var skus licv1.LicenseSkuList
				if err := c.List(ctx(cmd), &skus, client.InNamespace(u.Namespace)); err != nil {
					return fmt.Errorf("listing LicenseSkus in namespace %s: %w", u.Namespace, err)
				}
				skuPtrs := make([]*licv1.LicenseSku, len(skus.Items))
				for j := range skus.Items {
					skuPtrs[j] = &skus.Items[j]
				}
				events, err := userEvents(ctx(cmd), c, u)
				if err != nil {
					if !apierrors.IsForbidden(err) {
						return err
					}
					notes = append(notes, fmt.Sprintf("cannot list events in namespace %s (forbidden): the assignment history is not shown", u.Namespace))
				}
				reports = append(reports, licensecli.BuildUserReport(u, skuPtrs, events))
			}
			for _, n := range notes {
				fmt.Fprintf(e.streams.ErrOut, "warning: %s\n", n)
			}
			if !out.human() {
				refs := make([]runtime.Object, len(users))
				for i := range users {
					refs[i] = objectRef(licv1.GroupVersion.String(), licensecli.KindUserLicense, users[i].Namespace, users[i].Name)
				}
				if len(reports) == 1 {
					return out.printData(e.streams.Out, reports[0], refs)
				}
				return out.printData(e.streams.Out, map[string]any{"items": reports}, refs)
			}
			if len(reports) > 1 {
				fmt.Fprintf(e.streams.ErrOut, "warning: %d UserLicenses have userPrincipalName %s\n", len(reports), args[0])
			}
			for i := range reports {
				if i > 0 {
					fmt.Fprintln(e.streams.Out, "\n---")
				}
				if err := licensecli.WriteUserReport(e.streams.Out, &reports[i], e.now()); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "search every namespace (tenant)")
	out = addOutputFlags(cmd, false)
	return cmd
}

// findUsers returns the UserLicenses of ns ("" for all) whose
// userPrincipalName is upn, ignoring case as Microsoft Entra does. It asks
// the server with a field selector on the CRD's selectable field (exact
// match, one small response); when that finds nobody, or finds a user the
// controller marked DuplicateUserPrincipalName (another spelling is in
// effect), or the server refuses field selectors, it lists the users page
// by page and compares ignoring case.
func findUsers(ctx context.Context, c client.Client, ns, upn string) ([]licv1.UserLicense, error) {
	var list licv1.UserLicenseList
	err := c.List(ctx, &list, client.InNamespace(ns),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector(upnField, upn)})
	switch {
	case err == nil && len(list.Items) > 0 && !anyDuplicate(list.Items):
		sortUsers(list.Items)
		return list.Items, nil
	case err != nil && !apierrors.IsBadRequest(err):
		return nil, fmt.Errorf("listing UserLicenses: %w", err)
	}
	var out []licv1.UserLicense
	err = listPages(ctx, c, ns, func(users []licv1.UserLicense) bool {
		for _, u := range users {
			if licensecli.SameUPN(u.Spec.UserPrincipalName, upn) {
				out = append(out, u)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	sortUsers(out)
	return out, nil
}

// anyDuplicate tells whether the controller marked one of users as a
// duplicate of another UserLicense with the same UPN.
func anyDuplicate(users []licv1.UserLicense) bool {
	for i := range users {
		if c := meta.FindStatusCondition(users[i].Status.Conditions, licv1.ConditionReady); c != nil && c.Reason == licv1.ReasonDuplicateUserPrincipalName {
			return true
		}
	}
	return false
}

func sortUsers(us []licv1.UserLicense) {
	sort.Slice(us, func(i, j int) bool {
		if us[i].Namespace != us[j].Namespace {
			return us[i].Namespace < us[j].Namespace
		}
		return us[i].Name < us[j].Name
	})
}

// userEvents returns the events.k8s.io/v1 Events regarding u (by UID, so
// a deleted namesake's history is not mixed in), with a field selector,
// or listing and filtering when the server refuses it.
func userEvents(ctx context.Context, c client.Client, u *licv1.UserLicense) ([]eventsv1.Event, error) {
	var list eventsv1.EventList
	err := c.List(ctx, &list, client.InNamespace(u.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("regarding.uid", string(u.UID))})
	if err == nil {
		return list.Items, nil
	}
	if !apierrors.IsBadRequest(err) {
		return nil, fmt.Errorf("listing events of UserLicense %s/%s: %w", u.Namespace, u.Name, err)
	}
	list = eventsv1.EventList{}
	if err := c.List(ctx, &list, client.InNamespace(u.Namespace)); err != nil {
		return nil, fmt.Errorf("listing events of UserLicense %s/%s: %w", u.Namespace, u.Name, err)
	}
	var out []eventsv1.Event
	for _, ev := range list.Items {
		if ev.Regarding.UID == u.UID || ev.Regarding.UID == "" && ev.Regarding.Kind == licensecli.KindUserLicense && ev.Regarding.Name == u.Name {
			out = append(out, ev)
		}
	}
	return out, nil
}
