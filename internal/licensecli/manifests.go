package licensecli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// Kinds of the licensing API.
const (
	KindLicenseSku   = "LicenseSku"
	KindLicenseGroup = "LicenseGroup"
	KindUserLicense  = "UserLicense"
)

// Tenant is the licensing objects of one namespace: the unit the planner
// allocates seats over.
type Tenant struct {
	Namespace string
	SKUs      []*licv1.LicenseSku
	Groups    []*licv1.LicenseGroup
	Users     []*licv1.UserLicense
}

// Len is the number of licensing objects of the tenant.
func (t *Tenant) Len() int { return len(t.SKUs) + len(t.Groups) + len(t.Users) }

// SKUByName returns the tenant's LicenseSku called name, or nil.
func (t *Tenant) SKUByName(name string) *licv1.LicenseSku {
	for _, s := range t.SKUs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Manifests collects the objects read from manifest files: the licensing
// objects by namespace, and a count of every other kind, which the plugin
// ignores but mentions.
type Manifests struct {
	// DefaultNamespace is given to licensing objects without a namespace
	// (the -n flag or the kubeconfig's namespace).
	DefaultNamespace string
	// Validator, when set, admits every licensing object as the API
	// server would (defaults applied); an object it refuses is recorded in
	// Refusals and left out of the tenants.
	Validator *Validator
	refusals  []Refusal

	tenants map[string]*Tenant
	ignored map[string]int
	sources map[string]string // kind/namespace/name -> source, for duplicates
}

// NewManifests returns an empty collection whose objects without a
// namespace go to defaultNamespace.
func NewManifests(defaultNamespace string) *Manifests {
	return &Manifests{
		DefaultNamespace: defaultNamespace,
		tenants:          map[string]*Tenant{},
		ignored:          map[string]int{},
		sources:          map[string]string{},
	}
}

// Add decodes one object read from source (a file name, for messages). A
// licensing object must be valid v1alpha1 with no unknown field, and may
// appear once per kind, namespace and name; any other kind is counted and
// otherwise ignored.
func (m *Manifests) Add(obj *unstructured.Unstructured, source string) error {
	gvk := obj.GroupVersionKind()
	if gvk.Group != licv1.GroupVersion.Group {
		m.ignored[kindLabel(gvk.Group, gvk.Kind)]++
		return nil
	}
	var target runtime.Object
	switch gvk.Kind {
	case KindLicenseSku:
		target = &licv1.LicenseSku{}
	case KindLicenseGroup:
		target = &licv1.LicenseGroup{}
	case KindUserLicense:
		target = &licv1.UserLicense{}
	default:
		// Another kind of this project (DirectoryConnection) is not
		// planned, but the API server would still refuse it when invalid.
		if m.Validator != nil && m.Validator.Knows(gvk) {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = m.DefaultNamespace
			}
			obj = obj.DeepCopy()
			obj.SetNamespace(ns)
			if err := m.Validator.Admit(context.Background(), obj); err != nil {
				m.refusals = append(m.refusals, Refusal{Source: source, Kind: gvk.Kind, Namespace: ns, Name: obj.GetName(),
					Fields: RefusedFields(err), Message: err.Error()})
				return nil
			}
		}
		m.ignored[kindLabel(gvk.Group, gvk.Kind)]++
		return nil
	}
	name := obj.GetName()
	if gvk.Version != licv1.GroupVersion.Version {
		return fmt.Errorf("%s: %s %q has apiVersion %s; this plugin understands %s only",
			source, gvk.Kind, name, gvk.GroupVersion(), licv1.GroupVersion)
	}
	if name == "" {
		return fmt.Errorf("%s: a %s has no metadata.name (generateName is not supported: give every object a name)", source, gvk.Kind)
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = m.DefaultNamespace
	}
	key := gvk.Kind + "/" + ns + "/" + name
	if prev, ok := m.sources[key]; ok {
		return fmt.Errorf("%s: %s %s/%s is also defined in %s: keep one definition", source, gvk.Kind, ns, name, prev)
	}
	m.sources[key] = source
	if m.Validator != nil {
		obj = obj.DeepCopy()
		obj.SetNamespace(ns)
		if err := m.Validator.Admit(context.Background(), obj); err != nil {
			m.refusals = append(m.refusals, Refusal{Source: source, Kind: gvk.Kind, Namespace: ns, Name: name,
				Fields: RefusedFields(err), Message: err.Error()})
			return nil
		}
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, target, true); err != nil {
		return fmt.Errorf("%s: %s %q: %w (kubectl apply would refuse it: correct the field)", source, gvk.Kind, name, err)
	}

	t := m.tenant(ns)
	switch o := target.(type) {
	case *licv1.LicenseSku:
		o.Namespace = ns
		t.SKUs = append(t.SKUs, o)
	case *licv1.LicenseGroup:
		o.Namespace = ns
		t.Groups = append(t.Groups, o)
	case *licv1.UserLicense:
		o.Namespace = ns
		t.Users = append(t.Users, o)
	}
	return nil
}

func (m *Manifests) tenant(ns string) *Tenant {
	t := m.tenants[ns]
	if t == nil {
		t = &Tenant{Namespace: ns}
		m.tenants[ns] = t
	}
	return t
}

// Tenants returns the namespaces holding licensing objects, sorted by
// name, with their objects sorted by name.
func (m *Manifests) Tenants() []*Tenant {
	out := make([]*Tenant, 0, len(m.tenants))
	for _, t := range m.tenants {
		SortTenant(t)
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// Refusal is an object the API server would refuse, as kubectl apply
// would report it.
type Refusal struct {
	Source    string `json:"source"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Fields are the fields the refusal names (spec.subscriptions[0].seats).
	Fields []string `json:"fields"`
	// Message is the API server's error message.
	Message string `json:"message"`
}

// Refusals returns the objects the Validator refused, in the order read.
func (m *Manifests) Refusals() []Refusal { return m.refusals }

// Ignored returns the number of objects of every non-licensing kind,
// sorted by kind.
func (m *Manifests) Ignored() []KindCount {
	out := make([]KindCount, 0, len(m.ignored))
	for k, n := range m.ignored {
		out = append(out, KindCount{Kind: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// KindCount is a number of objects of one kind.
type KindCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// kindLabel names a kind for humans: "Deployment.apps", "Namespace".
func kindLabel(group, kind string) string {
	if kind == "" {
		kind = "(no kind)"
	}
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// FormatKindCounts renders counts as "1 Namespace, 2 ConfigMap".
func FormatKindCounts(kc []KindCount) string {
	parts := make([]string, len(kc))
	for i, k := range kc {
		parts[i] = fmt.Sprintf("%d %s", k.Count, k.Kind)
	}
	return strings.Join(parts, ", ")
}

// SortTenant sorts a tenant's objects by name, so that reports do not
// depend on the order of files or of a list response.
func SortTenant(t *Tenant) {
	sort.Slice(t.SKUs, func(i, j int) bool { return t.SKUs[i].Name < t.SKUs[j].Name })
	sort.Slice(t.Groups, func(i, j int) bool { return t.Groups[i].Name < t.Groups[j].Name })
	sort.Slice(t.Users, func(i, j int) bool { return t.Users[i].Name < t.Users[j].Name })
}
