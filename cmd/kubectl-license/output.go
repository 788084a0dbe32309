package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
)

// Human output formats besides cli-runtime's.
const (
	outputDefault = ""
	outputWide    = "wide"
	outputName    = "name"
)

// outputFlags is the one output convention of every command:
// cli-runtime's PrintFlags (-o json|yaml|name|jsonpath=...|
// go-template=...|jsonpath-file=...|go-template-file=..., --template,
// --allow-missing-template-keys, --show-managed-fields), the command's
// own human format (-o omitted) and, where it prints a table, -o wide and
// --no-headers.
type outputFlags struct {
	print     *genericclioptions.PrintFlags
	table     bool
	noHeaders bool
	// noName: -o name has no meaning (version).
	noName bool
	// defaultFormat replaces -o "" (import prints YAML by default).
	defaultFormat string
}

// addOutputFlags binds the output flags to cmd. table adds -o wide and
// --no-headers.
func addOutputFlags(cmd *cobra.Command, table bool) *outputFlags {
	o := &outputFlags{print: genericclioptions.NewPrintFlags(""), table: table}
	o.print.AddFlags(cmd)
	if table {
		cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "when printing a table, leave out the header line")
	}
	o.setUsage(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return o.allowed(), cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

func (o *outputFlags) setUsage(cmd *cobra.Command) {
	if f := cmd.Flags().Lookup("output"); f != nil {
		f.Usage = "output format: one of " + strings.Join(o.allowed(), ", ") + " (default: " + o.defaultName() + ")"
	}
}

func (o *outputFlags) defaultName() string {
	switch {
	case o.defaultFormat != "":
		return o.defaultFormat
	case o.table:
		return "a table"
	}
	return "text"
}

// allowed lists the -o values of the command.
func (o *outputFlags) allowed() []string {
	var out []string
	for _, f := range o.print.AllowedFormats() {
		if f == outputName && o.noName {
			continue
		}
		out = append(out, f)
	}
	if o.table {
		out = append(out, outputWide)
	}
	slices.Sort(out)
	return out
}

// format is the -o value (the default when omitted).
func (o *outputFlags) format() string {
	f := *o.print.OutputFormat
	if f == outputDefault && o.print.TemplatePrinterFlags.TemplateArgument != nil && *o.print.TemplatePrinterFlags.TemplateArgument != "" {
		return "go-template"
	}
	if f == outputDefault {
		return o.defaultFormat
	}
	return f
}

// human tells whether the command prints its own text or table.
func (o *outputFlags) human() bool {
	f := o.format()
	return f == outputDefault || f == outputWide && o.table
}

func (o *outputFlags) wide() bool { return o.format() == outputWide }

// validate refuses an -o value the command does not support (exit 2).
func (o *outputFlags) validate() error {
	if o.human() {
		return nil
	}
	if o.format() == outputWide || o.format() == outputName && o.noName {
		return usageErrorf("-o %s is not supported here: use one of %s", o.format(), strings.Join(o.allowed(), ", "))
	}
	if o.noHeaders && !o.human() {
		return usageErrorf("--no-headers applies to tables only, not to -o %s", o.format())
	}
	if _, err := o.printer(); err != nil {
		return err
	}
	return nil
}

// printer returns cli-runtime's printer for -o.
func (o *outputFlags) printer() (printers.ResourcePrinter, error) {
	saved := *o.print.OutputFormat
	*o.print.OutputFormat = o.format()
	defer func() { *o.print.OutputFormat = saved }()
	p, err := o.print.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return nil, usageErrorf("-o %s is not supported here: use one of %s", o.format(), strings.Join(o.allowed(), ", "))
	}
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return p, nil
}

// printData prints a report (any JSON-serialisable value) with -o
// json|yaml|jsonpath|go-template; with -o name it prints refs (objects
// carrying apiVersion and kind).
func (o *outputFlags) printData(w io.Writer, data any, refs []runtime.Object) error {
	p, err := o.printer()
	if err != nil {
		return err
	}
	if o.format() == outputName {
		for _, r := range refs {
			if err := p.PrintObj(r, w); err != nil {
				return err
			}
		}
		return nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return p.PrintObj(&runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}, w)
}

// printObjects prints Kubernetes objects: YAML as one document per
// object (a file for a GitOps repository), JSON, jsonpath and templates
// over a v1 List, names one per line.
func (o *outputFlags) printObjects(w io.Writer, objs []runtime.Object) error {
	p, err := o.printer()
	if err != nil {
		return err
	}
	switch o.format() {
	case "yaml", outputName:
		for _, obj := range objs {
			if err := p.PrintObj(obj, w); err != nil {
				return err
			}
		}
		return nil
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}}}
	for _, obj := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: m})
	}
	return p.PrintObj(list, w)
}

// objectRef is an object reduced to what -o name prints.
func objectRef(apiVersion, kind, namespace, name string) runtime.Object {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// errOutput is where a command's notes go: standard error.
func notef(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}
