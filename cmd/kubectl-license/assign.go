package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
	"github.com/licenseops/license-operator/internal/licensecli"
)

type assignOptions struct {
	disabledPlans  []string
	dryRun         string
	forceConflicts bool
	out            *outputFlags
}

// newAssignCommand is `assign` (unassign false) or `unassign`.
func newAssignCommand(e *env, unassign bool) *cobra.Command {
	o := &assignOptions{}
	cmd := &cobra.Command{
		Use:   "assign USER_PRINCIPAL_NAME SKU [--disabled-plans PLAN,...] [-n NAMESPACE] [--dry-run=server|client]",
		Short: "Assign a license to a user directly, showing the planned outcome first",
		Long: `Assign a LicenseSku (by metadata.name or part number) to a user directly: add it
to the UserLicense's spec.licenses with server-side apply (field manager
kubectl-license), as the admin center's "Licenses and apps" does.

Before writing, the command plans the namespace with the change, with the
controller's planner on the live objects, and prints what the user would get
(Active, or why not: waiting for a seat, a conflicting plan, no usage
location...) and every change it causes. The controller decides; the plan
is what it would decide now.

--disabled-plans sets the SKU's service plans that are off for this
assignment (--disabled-plans= turns every plan on); without it an existing
assignment keeps its plans. User principal names compare ignoring case.
--dry-run=server sends the write as a server-side dry run, --dry-run=client
writes nothing. -o prints the written UserLicense (the plan then goes to
standard error).`,
		Example: `  kubectl license assign ann@contoso.com SPE_E3 -n contoso
  kubectl license assign ann@contoso.com m365-e3 --disabled-plans SWAY,YAMMER_ENTERPRISE -n contoso
  kubectl license assign ann@contoso.com SPE_E3 -n contoso --dry-run=server`,
		Args: exactArgs(2, "a user principal name and a LicenseSku"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return completeUsers(e, toComplete)
			case 1:
				return completeSKUs(e, toComplete)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.runAssign(cmd, o, args[0], args[1], unassign)
		},
	}
	if unassign {
		cmd.Use = "unassign USER_PRINCIPAL_NAME SKU [-n NAMESPACE] [--dry-run=server|client]"
		cmd.Short = "Remove a user's direct license, showing the planned outcome first"
		cmd.Long = `Remove a LicenseSku (by metadata.name or part number) from a user's direct
licenses (spec.licenses), with server-side apply (field manager
kubectl-license); an entry another field manager set is removed with a merge
patch guarded by the resourceVersion. A license the user gets from a group
stays: change the group instead (the command says which).

Before writing, the command plans the namespace with the change and prints
what the user keeps and who gets the freed seat. User principal names compare
ignoring case. --dry-run=server sends the write as a server-side dry run,
--dry-run=client writes nothing. -o prints the written UserLicense (the plan
then goes to standard error).`
		cmd.Example = `  kubectl license unassign ann@contoso.com EXCHANGEENTERPRISE -n contoso
  kubectl license unassign ann@contoso.com exchange-p2 -n contoso --dry-run=server`
	} else {
		cmd.Flags().StringSliceVar(&o.disabledPlans, "disabled-plans", nil, "service plans of the SKU to switch off for this user (comma-separated; empty: every plan on)")
	}
	cmd.Flags().StringVar(&o.dryRun, "dry-run", dryRunNone, `"server": send the write as a server-side dry run; "client": write nothing`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunClient
	cmd.Flags().BoolVar(&o.forceConflicts, "force-conflicts", false, "take over fields another field manager owns with a different value")
	o.out = addOutputFlags(cmd, false)
	return cmd
}

func (e *env) runAssign(cmd *cobra.Command, o *assignOptions, upn, skuArg string, unassign bool) error {
	if err := o.out.validate(); err != nil {
		return err
	}
	switch o.dryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return usageErrorf(`--dry-run %q is not one of none, client, server`, o.dryRun)
	}
	c, ns, err := e.clientIn(false)
	if err != nil {
		return err
	}
	tenant, err := liveTenant(ctx(cmd), c, ns)
	if err != nil {
		return err
	}
	sku, err := licensecli.ResolveSKU(tenant.SKUs, skuArg)
	if err != nil {
		return err
	}
	user := licensecli.UsersByUPN(tenant.Users)[strings.ToLower(upn)]
	if user == nil {
		return fmt.Errorf("no UserLicense in namespace %s has userPrincipalName %s: create the user first (a UserLicense manifest, or kubectl license import)", ns, upn)
	}

	mode := licensecli.ModeAdd
	if unassign {
		mode = licensecli.ModeRemove
	}
	rows := &licensecli.ImportRows{
		Rows:             []licensecli.ImportRow{{UserPrincipalName: user.Spec.UserPrincipalName, SKUs: []string{sku.Name}, DisabledPlans: o.disabledPlans}},
		HasDisabledPlans: cmd.Flags().Changed("disabled-plans"),
		Labels:           map[string]string{licensecli.ColDisabledPlans: "--disabled-plans", licensecli.ColSkuPartNumber: "SKU"},
	}
	res := licensecli.BuildImport(licensecli.ImportInput{Namespace: ns, Mode: mode, SKUs: tenant.SKUs, Users: tenant.Users, File: rows}, nil)
	if len(res.Problems) > 0 {
		return fmt.Errorf("%s", res.Problems[0])
	}
	u := &res.Users[0]
	if unassign && u.Unchanged {
		msg := fmt.Sprintf("%s has no direct assignment of %s: nothing to unassign", user.Spec.UserPrincipalName, sku.Name)
		if len(res.Notes) > 0 {
			msg = res.Notes[0].Message
		}
		return fmt.Errorf("%s", msg)
	}

	// The planned outcome: the live tenant with the user's new spec.
	merged, _ := licensecli.Overlay(tenant, &licensecli.Tenant{Namespace: ns, Users: []*licv1.UserLicense{u.Object}})
	plan := licensecli.BuildAssignPlan(merged, licensecli.PlanTenant(merged, e.now()), user.Name, sku.Name)
	planOut := e.streams.Out
	if !o.out.human() {
		planOut = e.streams.ErrOut
	}
	if err := licensecli.WriteAssignPlan(planOut, &plan); err != nil {
		return err
	}

	ref := "userlicense/" + user.Name
	if u.Unchanged {
		if o.out.human() {
			fmt.Fprintf(e.streams.Out, "%s unchanged: %s already has %s with these plans\n", ref, user.Spec.UserPrincipalName, sku.Name)
			return nil
		}
		return o.out.printObjects(e.streams.Out, []runtime.Object{user})
	}
	suffix := ""
	var obj runtime.Object
	var note string
	switch o.dryRun {
	case dryRunClient:
		suffix, obj = " (dry run)", gitOpsObject(u.Object)
	default:
		if o.dryRun == dryRunServer {
			suffix = " (server dry run)"
		}
		obj, note, err = applyUser(ctx(cmd), c, u, o.forceConflicts, o.dryRun == dryRunServer)
		if err != nil {
			hint := ""
			if _, ok := err.(*applyConflictError); ok && !o.forceConflicts {
				hint = "; re-run with --force-conflicts to take these fields over"
			}
			return fmt.Errorf("%s: %w%s", ref, err, hint)
		}
	}
	if !o.out.human() {
		return o.out.printObjects(e.streams.Out, []runtime.Object{obj})
	}
	fmt.Fprintf(e.streams.Out, "%s configured%s: %s%s\n", ref, suffix, u.Summary(), note)
	return nil
}
