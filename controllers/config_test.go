package controllers_test

import "sigs.k8s.io/controller-runtime/pkg/config"

// ctrlConfig lets several managers (restart tests) register the same
// controller name in one process.
func ctrlConfig(skipNameValidation bool) config.Controller {
	return config.Controller{SkipNameValidation: &skipNameValidation}
}
