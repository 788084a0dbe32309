// Package crd embeds the generated CustomResourceDefinitions of
// config/crd/bases, so that tools (kubectl license plan) validate objects
// against exactly the schemas the API server is given.
package crd

import "embed"

// Bases holds bases/*.yaml, the CRDs `make manifests` generates.
//
//go:embed bases/*.yaml
var Bases embed.FS
