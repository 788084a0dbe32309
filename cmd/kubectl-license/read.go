package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/licenseops/license-operator/internal/licensecli"
)

// manifestSource says where manifests come from: files and directories
// (-f, -R; "-" is standard input) or a kustomization directory (-k).
type manifestSource struct {
	paths     []string
	recursive bool
	kustomize string
}

// readManifests reads the objects of src without contacting a server, as
// `kubectl apply -f` (or -k) would find them: *.yaml, *.yml and *.json
// files of a directory, every document of a file, List items, or the
// output of kustomize's build of a kustomization (the library kubectl
// embeds). Licensing objects without a namespace go to defaultNS. With
// validator, each licensing object is admitted as the API server would
// (defaults applied; refusals are recorded, see Manifests.Refusals).
func (e *env) readManifests(src manifestSource, defaultNS string, validator *licensecli.Validator) (*licensecli.Manifests, error) {
	m := licensecli.NewManifests(defaultNS)
	m.Validator = validator
	var files []string
	stdin := false
	for _, p := range src.paths {
		if p == "-" {
			stdin = true
			continue
		}
		files = append(files, p)
	}
	b := resource.NewBuilder(e.flags).Local().Unstructured().ContinueOnError()
	if stdin {
		b = b.Stream(e.streams.In, "standard input")
	}
	if len(files) > 0 {
		b = b.FilenameParam(false, &resource.FilenameOptions{Filenames: files, Recursive: src.recursive})
	}
	if src.kustomize != "" {
		b = b.FilenameParam(false, &resource.FilenameOptions{Kustomize: src.kustomize})
	}
	r := b.Flatten().Do()
	if err := r.Err(); err != nil {
		return nil, err
	}
	var errs []error
	err := r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unexpected object %T", info.Source, info.Object))
			return nil
		}
		source := info.Source
		if src.kustomize != "" && source == src.kustomize {
			source = "kustomize build " + src.kustomize
		}
		if err := m.Add(u, source); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, utilerrors.Flatten(utilerrors.NewAggregate(errs))
	}
	return m, nil
}
