// Command render-install prints the operator's installer: config/default
// (namespace, CRDs, RBAC, manager Deployment, metrics Service) rendered with
// kustomize's Go library, so no kubectl or kustomize binary is needed.
//
//	go run ./hack/render-install --image registry.example.com/license-operator:v0.1.0
//	go run ./hack/render-install --without-crds     # what `make undeploy` deletes
//
// --image sets the manager image through an in-memory kustomize overlay, so
// nothing under config/ is edited.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/licenseops/license-operator/hack/manifests"
)

func main() {
	var (
		o    manifests.Options
		root string
		dir  string
	)
	flag.StringVar(&o.Image, "image", "", "manager image (name, name:tag or name@sha256:digest); default: the one config/manager names")
	flag.BoolVar(&o.WithoutCRDs, "without-crds", false, "leave out the CustomResourceDefinitions")
	flag.StringVar(&root, "root", ".", "repository root")
	flag.StringVar(&dir, "kustomization", "config/default", "kustomization directory, relative to the root")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "render-install: unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	out, err := manifests.Render(root, dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render-install:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
