package licensecli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// ImportMode says what a CSV does to each user's direct licenses.
type ImportMode string

// Import modes, as the admin center's bulk assignment offers them.
const (
	// ModeAdd merges the rows' licenses into the user's direct licenses.
	ModeAdd ImportMode = "add"
	// ModeReplace sets the user's direct licenses to exactly the rows' ones.
	ModeReplace ImportMode = "replace"
	// ModeRemove drops the rows' licenses from the user's direct licenses.
	ModeRemove ImportMode = "remove"
)

// ParseImportMode validates a --mode value.
func ParseImportMode(s string) (ImportMode, error) {
	switch m := ImportMode(strings.ToLower(s)); m {
	case ModeAdd, ModeReplace, ModeRemove:
		return m, nil
	}
	return "", fmt.Errorf("--mode %q is not one of add, replace, remove", s)
}

// ImportInput is everything an import decision depends on.
type ImportInput struct {
	Namespace string
	Mode      ImportMode
	// SKUs are the namespace's LicenseSkus, to resolve part numbers.
	SKUs []*licv1.LicenseSku
	// Users are the namespace's existing UserLicenses.
	Users []*licv1.UserLicense
	File  *ImportRows
}

// UserImport is the outcome of an import for one user.
type UserImport struct {
	// Object is the desired UserLicense: the existing one (without server
	// fields and status) with the new spec, or a new object.
	Object *licv1.UserLicense
	// Existing: the user has a UserLicense already.
	Existing bool
	// Lines are the CSV lines about the user.
	Lines []int
	// DisplayName is the user's display name when the source gives one.
	DisplayName string
	// ApplyLicenses are the spec.licenses entries a server-side apply
	// sends: the full resulting list, in every mode. (Sending only the
	// entries the rows name would make the API server drop the entries
	// this field manager set before, and the controller could hand their
	// seats to someone else before the list is repaired.)
	ApplyLicenses []licv1.LicenseAssignment
	// UsageLocation is set when the rows give one.
	UsageLocation string
	// Added, Updated and Removed name the SKUs whose direct assignment
	// changes; Unchanged is true when nothing does.
	Added, Updated, Removed []string
	LocationChanged         bool
	Unchanged               bool
}

// Summary renders the user's changes: "+m365-e3 -exchange-p2 ~power-bi-pro usageLocation=DE".
func (u *UserImport) Summary() string {
	var parts []string
	for _, s := range u.Added {
		parts = append(parts, "+"+s)
	}
	for _, s := range u.Updated {
		parts = append(parts, "~"+s)
	}
	for _, s := range u.Removed {
		parts = append(parts, "-"+s)
	}
	if u.LocationChanged {
		parts = append(parts, "usageLocation="+u.UsageLocation)
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, " ")
}

// ImportResult is the outcome of an import: the users to write and every
// problem and note, by CSV line.
type ImportResult struct {
	Users []UserImport
	// Problems are the rejected rows (with --skip-invalid they are
	// skipped, without it nothing is written).
	Problems []Problem
	// Notes are remarks that reject nothing (a license to remove that the
	// user does not have directly).
	Notes []Problem
}

// BuildImport applies the rows of in.File to the users' direct licenses.
// Rows are resolved against the namespace's SKUs: an unknown part number
// or service plan rejects the row. With ModeReplace, a user with any
// rejected row is left out entirely, since the remaining rows would not
// be the complete list of the user's licenses.
func BuildImport(in ImportInput, parseProblems []Problem) *ImportResult {
	res := &ImportResult{Problems: slices.Clone(parseProblems)}
	byPart, partsKnown := skuIndex(in.SKUs)
	skuByName := map[string]*licv1.LicenseSku{}
	for _, s := range in.SKUs {
		skuByName[s.Name] = s
	}
	existing := UsersByUPN(in.Users)
	taken := map[string]bool{}
	for _, u := range in.Users {
		taken[u.Name] = true
	}
	file := in.File
	colSKU, colPlans := file.Label(ColSkuPartNumber), file.Label(ColDisabledPlans)

	// Resolve rows, grouped by user in order of first appearance.
	type entry struct {
		sku   string
		plans []string
		line  int
	}
	type userRows struct {
		upn         string
		displayName string
		lines       []int
		entries     []entry
		location    string
	}
	var order []string
	users := map[string]*userRows{}
	for _, row := range file.Rows {
		bad := func(format string, args ...any) {
			res.Problems = append(res.Problems, Problem{Line: row.Line, User: row.UserPrincipalName, Message: fmt.Sprintf(format, args...)})
		}
		key := strings.ToLower(row.UserPrincipalName)
		if in.Mode == ModeRemove && existing[key] == nil {
			bad("no UserLicense in namespace %s has userPrincipalName %s: there is nothing to remove", in.Namespace, row.UserPrincipalName)
			continue
		}
		if row.Unlicensed && in.Mode != ModeReplace {
			if cur := existing[key]; cur != nil && len(cur.Spec.Licenses) > 0 {
				res.Notes = append(res.Notes, Problem{Line: row.Line, User: row.UserPrincipalName, Message: fmt.Sprintf(
					"%s is %s in the file but has direct licenses (%s): --mode %s keeps them; use --mode replace to make the file's licenses the user's only direct ones",
					row.UserPrincipalName, Unlicensed, strings.Join(assignmentNames(cur.Spec.Licenses), ", "), in.Mode)})
			}
		}
		if in.Mode == ModeRemove && len(row.DisabledPlans) > 0 {
			bad("%s has no meaning with --mode remove: leave the column empty", colPlans)
			continue
		}
		var names []string
		ok := true
		for _, n := range row.SKUs {
			if skuByName[n] == nil {
				bad("LicenseSku %s does not exist in namespace %s (known: %s)", n, in.Namespace, orText(strings.Join(sortedKeys(skuByName), ", "), "none"))
				ok = false
				break
			}
			names = append(names, n)
		}
		for _, part := range row.SkuPartNumbers {
			if !ok {
				break
			}
			cands := byPart[part]
			if len(cands) == 0 {
				cands = byPart[strings.ToLower(part)]
			}
			switch len(cands) {
			case 0:
				bad("unknown %s %s: no LicenseSku in namespace %s has it (known: %s)", colSKU, part, in.Namespace, orText(partsKnown, "none"))
				ok = false
			case 1:
				names = append(names, cands[0])
			default:
				bad("%s %s is ambiguous: LicenseSkus %s in namespace %s all have it; give each SKU its own part number",
					colSKU, part, strings.Join(cands, ", "), in.Namespace)
				ok = false
			}
		}
		if !ok {
			continue
		}
		// Every disabled plan must exist in at least one of the row's SKUs.
		for _, plan := range row.DisabledPlans {
			found := false
			for _, n := range names {
				if hasPlan(skuByName[n], plan) {
					found = true
					break
				}
			}
			if !found {
				bad("%s lists %s, which none of %s has (their plans: %s): correct the plan name",
					colPlans, plan, strings.Join(append(slices.Clone(row.SKUs), row.SkuPartNumbers...), ", "), strings.Join(planNames(skuByName, names), ", "))
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		// The same SKU through two part numbers spellings (case) of one user.
		ur := users[key]
		if ur == nil {
			ur = &userRows{upn: row.UserPrincipalName}
			if cur := existing[key]; cur != nil {
				ur.upn = cur.Spec.UserPrincipalName // immutable: the live spelling
			}
			users[key] = ur
			order = append(order, key)
		}
		for _, n := range names {
			for _, e := range ur.entries {
				if e.sku == n {
					bad("duplicate row: line %d already lists LicenseSku %s for %s; remove one of the two lines", e.line, n, row.UserPrincipalName)
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		ur.lines = append(ur.lines, row.Line)
		if ur.displayName == "" {
			ur.displayName = row.DisplayName
		}
		if row.UsageLocation != "" {
			ur.location = row.UsageLocation
		}
		for _, n := range names {
			var plans []string
			for _, p := range row.DisabledPlans {
				if hasPlan(skuByName[n], p) {
					plans = append(plans, p)
				}
			}
			ur.entries = append(ur.entries, entry{sku: n, plans: plans, line: row.Line})
		}
	}

	// With replace, a user's rows must all be valid.
	if in.Mode == ModeReplace {
		badUsers := map[string]int{}
		for _, p := range res.Problems {
			if p.User != "" {
				if _, ok := badUsers[strings.ToLower(p.User)]; !ok {
					badUsers[strings.ToLower(p.User)] = p.Line
				}
			}
		}
		kept := order[:0]
		for _, key := range order {
			if line, bad := badUsers[key]; bad {
				ur := users[key]
				res.Problems = append(res.Problems, Problem{Line: ur.lines[0], User: ur.upn, Message: fmt.Sprintf(
					"%s is not imported at all (line(s) %s neither): with --mode replace a user's rows together make the new license list, and line %d is invalid",
					ur.upn, joinInts(ur.lines), line)})
				continue
			}
			kept = append(kept, key)
		}
		order = kept
	}

	for _, key := range order {
		ur := users[key]
		cur := existing[key]
		ui := UserImport{Lines: ur.lines, DisplayName: ur.displayName, UsageLocation: ur.location, Existing: cur != nil}
		var before []licv1.LicenseAssignment
		if cur != nil {
			before = cur.Spec.Licenses
			ui.Object = cleanObject(cur)
		} else {
			ui.Object = &licv1.UserLicense{
				TypeMeta:   metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: KindUserLicense},
				ObjectMeta: metav1.ObjectMeta{Name: UniqueName(ur.upn, taken), Namespace: in.Namespace},
				Spec:       licv1.UserLicenseSpec{UserPrincipalName: ur.upn},
			}
		}
		spec := &ui.Object.Spec
		if ur.location != "" && spec.UsageLocation != ur.location {
			spec.UsageLocation = ur.location
			ui.LocationChanged = true
		}
		withPlans := func(e entry) licv1.LicenseAssignment {
			return licv1.LicenseAssignment{SKU: e.sku, DisabledPlans: e.plans}
		}
		find := func(list []licv1.LicenseAssignment, sku string) int {
			return slices.IndexFunc(list, func(a licv1.LicenseAssignment) bool { return a.SKU == sku })
		}

		var after []licv1.LicenseAssignment
		switch in.Mode {
		case ModeAdd:
			after = cloneAssignments(before)
			for _, e := range ur.entries {
				i := find(after, e.sku)
				switch {
				case i < 0:
					after = append(after, withPlans(e))
				case file.HasDisabledPlans:
					after[i] = withPlans(e)
				}
			}
		case ModeReplace:
			for _, e := range ur.entries {
				i := find(before, e.sku)
				if i >= 0 && !file.HasDisabledPlans {
					after = append(after, *before[i].DeepCopy())
				} else {
					after = append(after, withPlans(e))
				}
			}
		case ModeRemove:
			after = cloneAssignments(before)
			for _, e := range ur.entries {
				i := find(after, e.sku)
				if i < 0 {
					res.Notes = append(res.Notes, Problem{Line: e.line, User: ur.upn, Message: fmt.Sprintf(
						"%s has no direct assignment of %s: nothing to remove%s", ur.upn, e.sku, groupHint(cur, e.sku))})
					continue
				}
				after = slices.Delete(after, i, i+1)
			}
		}
		ui.ApplyLicenses = cloneAssignments(after)
		if ui.ApplyLicenses == nil {
			ui.ApplyLicenses = []licv1.LicenseAssignment{}
		}
		spec.Licenses = after

		for _, a := range after {
			if i := find(before, a.SKU); i < 0 {
				ui.Added = append(ui.Added, a.SKU)
			} else if !EqualAssignment(before[i], a) {
				ui.Updated = append(ui.Updated, a.SKU)
			}
		}
		for _, b := range before {
			if find(after, b.SKU) < 0 {
				ui.Removed = append(ui.Removed, b.SKU)
			}
		}
		sort.Strings(ui.Added)
		sort.Strings(ui.Updated)
		sort.Strings(ui.Removed)
		ui.Unchanged = cur != nil && len(ui.Added)+len(ui.Updated)+len(ui.Removed) == 0 && !ui.LocationChanged
		res.Users = append(res.Users, ui)
	}
	sort.SliceStable(res.Problems, func(i, j int) bool { return res.Problems[i].Line < res.Problems[j].Line })
	return res
}

// skuIndex maps part numbers (as spelled, and lower case) to SKU names.
func skuIndex(skus []*licv1.LicenseSku) (map[string][]string, string) {
	m := map[string][]string{}
	var parts []string
	for _, s := range skus {
		p := s.Spec.SkuPartNumber
		m[p] = append(m[p], s.Name)
		if lp := strings.ToLower(p); lp != p {
			m[lp] = append(m[lp], s.Name)
		}
		parts = append(parts, p)
	}
	for k := range m {
		sort.Strings(m[k])
	}
	sort.Strings(parts)
	return m, strings.Join(slices.Compact(parts), ", ")
}

func hasPlan(s *licv1.LicenseSku, plan string) bool {
	if s == nil {
		return false
	}
	for _, p := range s.Spec.ServicePlans {
		if p.Name == plan {
			return true
		}
	}
	return false
}

func planNames(skus map[string]*licv1.LicenseSku, names []string) []string {
	var out []string
	for _, n := range names {
		for _, p := range skus[n].Spec.ServicePlans {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func groupHint(u *licv1.UserLicense, sku string) string {
	if u == nil {
		return ""
	}
	for _, l := range u.Status.Licenses {
		if l.SKU == sku {
			return fmt.Sprintf(" (it comes from %s: change the group instead)", strings.Join(l.AssignedBy, ", "))
		}
	}
	return ""
}

// cleanObject copies a live UserLicense without server-set fields and
// status, as it belongs in a GitOps repository.
func cleanObject(u *licv1.UserLicense) *licv1.UserLicense {
	out := &licv1.UserLicense{
		TypeMeta: metav1.TypeMeta{APIVersion: licv1.GroupVersion.String(), Kind: KindUserLicense},
		ObjectMeta: metav1.ObjectMeta{
			Name:        u.Name,
			Namespace:   u.Namespace,
			Labels:      u.Labels,
			Annotations: u.Annotations,
		},
		Spec: *u.Spec.DeepCopy(),
	}
	if _, ok := out.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		out.Annotations = make(map[string]string, len(u.Annotations))
		for k, v := range u.Annotations {
			if k != "kubectl.kubernetes.io/last-applied-configuration" {
				out.Annotations[k] = v
			}
		}
		if len(out.Annotations) == 0 {
			out.Annotations = nil
		}
	}
	return out
}

func cloneAssignments(in []licv1.LicenseAssignment) []licv1.LicenseAssignment {
	if in == nil {
		return nil
	}
	out := make([]licv1.LicenseAssignment, len(in))
	for i := range in {
		out[i] = *in[i].DeepCopy()
	}
	return out
}

// EqualAssignment compares two assignments; plan lists compare as sets.
func EqualAssignment(a, b licv1.LicenseAssignment) bool {
	return a.SKU == b.SKU && sameSet(a.DisabledPlans, b.DisabledPlans) && sameSet(a.EnabledPlans, b.EnabledPlans)
}

// EqualAssignments compares two license lists as maps keyed by SKU.
func EqualAssignments(a, b []licv1.LicenseAssignment) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		i := slices.IndexFunc(b, func(y licv1.LicenseAssignment) bool { return y.SKU == x.SKU })
		if i < 0 || !EqualAssignment(x, b[i]) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}
