package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/licenseops/license-operator/internal/licensecli"
)

// readManifests reads the objects of files and directories (-f, -R; "-"
// is standard input) without contacting a server, as `kubectl apply -f`
// would find them: *.yaml, *.yml and *.json files of a directory, every
// document of a file, List items. Licensing objects without a namespace
// go to defaultNS.
func (e *env) readManifests(paths []string, recursive bool, defaultNS string) (*licensecli.Manifests, error) {
	m := licensecli.NewManifests(defaultNS)
	var files []string
	stdin := false
	for _, p := range paths {
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
		b = b.FilenameParam(false, &resource.FilenameOptions{Filenames: files, Recursive: recursive})
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
		if err := m.Add(u, info.Source); err != nil {
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
