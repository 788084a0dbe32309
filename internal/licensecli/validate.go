package licensecli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/operation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/licenseops/license-operator/config/crd"
)

// Validator checks objects as the API server does when they are created
// (kubectl apply of a new object), with the API server's own code from
// k8s.io/apiextensions-apiserver and the project's CRDs: unknown fields
// are refused (kubectl's default --validate=strict), metadata is
// checked, defaults are applied, then the OpenAPI schema, the list-type
// invariants (duplicate map keys and set items) and the CEL rules
// (x-kubernetes-validations) are evaluated, in the order of the API
// server's custom resource strategy.
type Validator struct {
	kinds map[schema.GroupVersionKind]*crdVersion
}

// crdVersion is what the API server derives from one served version of a CRD.
type crdVersion struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

var (
	defaultValidator     *Validator
	defaultValidatorErr  error
	defaultValidatorOnce sync.Once
)

// DefaultValidator returns the Validator of the CRDs in config/crd/bases
// (embedded in the binary), built once.
func DefaultValidator() (*Validator, error) {
	defaultValidatorOnce.Do(func() {
		defaultValidator, defaultValidatorErr = NewValidator(crd.Bases)
	})
	return defaultValidator, defaultValidatorErr
}

// NewValidator reads every *.yaml CustomResourceDefinition of fsys
// (recursively) and prepares the schemas of their served versions as the
// API server does.
func NewValidator(fsys fs.FS) (*Validator, error) {
	v := &Validator{kinds: map[schema.GroupVersionKind]*crdVersion{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		var c apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			return fmt.Errorf("CRD %s: %w", p, err)
		}
		return v.add(&c)
	})
	if err != nil {
		return nil, err
	}
	if len(v.kinds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition found")
	}
	return v, nil
}

func (v *Validator) add(c *apiextensionsv1.CustomResourceDefinition) error {
	for _, ver := range c.Spec.Versions {
		if !ver.Served || ver.Schema == nil {
			continue
		}
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(ver.Schema, internal, nil); err != nil {
			return fmt.Errorf("CRD %s version %s: %w", c.Name, ver.Name, err)
		}
		s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("CRD %s version %s: the schema is not structural: %w", c.Name, ver.Name, err)
		}
		s = s.DeepCopy()
		if err := structuraldefaulting.PruneDefaults(s); err != nil {
			return fmt.Errorf("CRD %s version %s: %w", c.Name, ver.Name, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("CRD %s version %s: %w", c.Name, ver.Name, err)
		}
		gvk := schema.GroupVersionKind{Group: c.Spec.Group, Version: ver.Name, Kind: c.Spec.Names.Kind}
		v.kinds[gvk] = &crdVersion{
			gvk:        gvk,
			namespaced: c.Spec.Scope == apiextensionsv1.NamespaceScoped,
			structural: s,
			schema:     sv,
			cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		}
	}
	return nil
}

// Knows tells whether gvk is a kind of the Validator's CRDs.
func (v *Validator) Knows(gvk schema.GroupVersionKind) bool { return v.kinds[gvk] != nil }

// Admit does to obj what the API server does to an object it creates:
// unknown fields are an error (strict field validation), metadata is
// coerced, defaults are applied (obj is changed in place), and the object
// is validated. It returns nil when the API server would accept obj, else
// the *apierrors.StatusError the API server answers: BadRequest for
// unknown fields, Invalid (422) with one cause per field otherwise. obj
// must carry the namespace it is created in.
func (v *Validator) Admit(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	k := v.kinds[gvk]
	if k == nil {
		return apierrors.NewBadRequest(fmt.Sprintf("no kind %q is registered for version %q", gvk.Kind, gvk.GroupVersion()))
	}

	// Decoding: prune unknown fields (reported with strict field
	// validation), coerce metadata, default.
	_, _, metaUnknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj.Object, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
	}
	unknown := append([]string(nil), metaUnknown...)
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj.Object, k.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj.Object, k.structural)
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj.Object, k.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if ferr != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, ferr))
	}
	unknown = append(unknown, paths...)
	if len(unknown) > 0 {
		sort.Strings(unknown)
		errs := make([]error, len(unknown))
		for i, u := range unknown {
			errs[i] = fmt.Errorf(`unknown field "%s"`, u)
		}
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v",
			gvk.Kind, gvk.Version, gvk.Kind, runtime.NewStrictDecodingError(errs)))
	}
	structuraldefaulting.Default(obj.Object, k.structural)

	// The custom resource strategy's Validate (create).
	errs := k.validate(ctx, obj)
	if len(errs) == 0 {
		return nil
	}
	// The OpenAPI validator reports in no fixed order; a plan is compared
	// across runs (CI logs, golden files), so sort by field, keeping the
	// note about unchecked rules (no field) last, where the server puts it.
	sort.SliceStable(errs, func(i, j int) bool {
		ni, nj := errs[i].Field == "<nil>", errs[j].Field == "<nil>"
		if ni != nj {
			return nj
		}
		return errs[i].Field < errs[j].Field
	})
	return apierrors.NewInvalid(gvk.GroupKind(), obj.GetName(), errs)
}

// validate is customResourceStrategy.Validate of
// k8s.io/apiextensions-apiserver/pkg/registry/customresource (that
// package also brings the API server's storage layer, which a client has
// no use for), built from the same exported functions.
func (k *crdVersion) validate(ctx context.Context, u *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	if u.GetKind() != k.gvk.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), u.GetKind(), fmt.Sprintf("must be %v", k.gvk.Kind)))
	}
	if u.GetAPIVersion() != k.gvk.GroupVersion().String() {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), u.GetAPIVersion(), fmt.Sprintf("must be %v", k.gvk.GroupVersion())))
	}
	if len(errs) > 0 {
		return errs
	}
	meta := &metav1.ObjectMeta{}
	if raw, ok := u.Object["metadata"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, meta); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("metadata"), raw, err.Error())}
		}
	}
	errs = append(errs, metavalidation.ValidateObjectMetaDeclaratively(ctx, operation.Create, meta, nil, k.namespaced,
		metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"), false)...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u.UnstructuredContent(), k.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, u.Object, k.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, k.structural, u.Object)...)
	if blocked, err := hasBlockingErr(errs); blocked {
		errs = append(errs, err)
	} else {
		celErrs, _ := k.cel.Validate(ctx, nil, k.structural, u.Object, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return errs
}

// hasBlockingErr is the strategy's: CEL rules are not evaluated over
// values of the wrong type or size.
func hasBlockingErr(errs field.ErrorList) (bool, *field.Error) {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return false, nil
}

// unknownFieldPattern finds the fields of a strict decoding error.
var unknownFieldPattern = regexp.MustCompile(`unknown field "([^"]+)"`)

// RefusedFields returns the fields an API server's refusal names, sorted
// and without repeats: the causes of an Invalid error, or the unknown
// fields of a strict decoding error (which has no causes).
func RefusedFields(err error) []string {
	var out []string
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if d := st.Status().Details; d != nil {
			for _, c := range d.Causes {
				if c.Field != "" && c.Field != "<nil>" { // <nil>: the object as a whole
					out = append(out, c.Field)
				}
			}
		}
	}
	if len(out) == 0 && err != nil {
		for _, m := range unknownFieldPattern.FindAllStringSubmatch(err.Error(), -1) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
