// Command helm-chart writes the Helm chart dist/chart from config/ (see
// hack/manifests.Chart): `make helm-chart` after changing config/, and the
// release build with a version and image repository:
//
//	go run ./hack/helm-chart
//	go run ./hack/helm-chart -out dist/.release-chart -version 0.2.0 -app-version v0.2.0 -image-repository ghcr.io/licenseops/license-operator
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/licenseops/license-operator/hack/manifests"
)

func main() {
	var (
		o         manifests.ChartOptions
		root, out string
	)
	flag.StringVar(&root, "root", ".", "repository root")
	flag.StringVar(&out, "out", "dist/chart", "chart directory (replaced)")
	flag.StringVar(&o.Version, "version", "", "chart version (SemVer); default 0.0.0-dev")
	flag.StringVar(&o.AppVersion, "app-version", "", "operator version, the default image tag; default: config/manager's tag")
	flag.StringVar(&o.ImageRepository, "image-repository", "", "manager image repository; default: config/manager's")
	flag.Parse()
	files, err := manifests.Chart(root, o)
	if err == nil {
		err = manifests.WriteChart(out, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-chart:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d files)\n", out, len(files))
}
