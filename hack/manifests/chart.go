package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The names config/default gives what the chart templates.
const (
	namePrefix      = "license-operator-"
	systemNamespace = "license-operator-system"
	// managerContainer is the manager's container in config/manager.
	managerContainer = "manager"
)

// ChartOptions select the chart's version, app version and image.
type ChartOptions struct {
	// Version is the chart's SemVer version (default 0.0.0-dev).
	Version string
	// AppVersion is the operator version; the default image tag
	// (default: the tag config/manager gives the image).
	AppVersion string
	// ImageRepository is the manager image without tag (default: the one
	// config/manager names).
	ImageRepository string
}

// Chart renders config/default and config/prometheus (relative to root)
// and returns the Helm chart's files, path (relative to the chart
// directory) to content. Every object of config/ becomes a template, with
// the names, namespace and labels templated, so the chart installs what
// `make deploy` installs; the Deployment's image, replicas, arguments,
// resources and security contexts come from values.yaml, whose defaults
// are read from config/manager. Objects the chart cannot express are an
// error naming what to add to this generator.
func Chart(root string, o ChartOptions) (map[string][]byte, error) {
	def, err := Build(root, "config/default", Options{})
	if err != nil {
		return nil, fmt.Errorf("rendering config/default: %w", err)
	}
	mon, err := Build(root, "config/prometheus", Options{})
	if err != nil {
		return nil, fmt.Errorf("rendering config/prometheus: %w", err)
	}
	var objs []map[string]any
	for _, m := range []interface{ AsYaml() ([]byte, error) }{def, mon} {
		data, err := m.AsYaml()
		if err != nil {
			return nil, err
		}
		docs, err := SplitYAML(data)
		if err != nil {
			return nil, err
		}
		objs = append(objs, docs...)
	}

	files := map[string][]byte{}
	var deployment map[string]any
	for _, obj := range objs {
		kind, _ := obj["kind"].(string)
		name := nestedString(obj, "metadata", "name")
		var dir, file, guard string
		switch kind {
		case "Namespace":
			// Helm installs into the release namespace (helm install
			// --namespace ... --create-namespace); see NOTES.txt.
			continue
		case "CustomResourceDefinition":
			dir, file, guard = "crd", name, "{{- if .Values.crds.enabled }}"
		case "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
			dir, file = "rbac", strings.TrimPrefix(name, namePrefix)
		case "Deployment":
			deployment = obj
			continue
		case "Service":
			dir, file, guard = "metrics", strings.TrimPrefix(name, namePrefix), "{{- if .Values.metrics.enabled }}"
		case "ServiceMonitor":
			dir, file, guard = "prometheus", "servicemonitor", "{{- if and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled }}"
		case "PrometheusRule":
			dir, file, guard = "prometheus", "prometheusrule", "{{- if .Values.metrics.prometheusRule.enabled }}"
		default:
			return nil, fmt.Errorf("config/ renders a %s (%s) that hack/manifests/chart.go does not place in the chart: add it there", kind, name)
		}
		text, err := templateObject(obj)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, name, err)
		}
		if guard != "" {
			text = guard + "\n" + text + "{{- end }}\n"
		}
		files[filepath.Join("templates", dir, file+".yaml")] = []byte(generatedHeader + text)
	}
	if deployment == nil {
		return nil, fmt.Errorf("config/default renders no Deployment")
	}
	dep, values, err := templateDeployment(deployment, o)
	if err != nil {
		return nil, fmt.Errorf("Deployment: %w", err)
	}
	files[filepath.Join("templates", "manager", "manager.yaml")] = []byte(generatedHeader + dep)
	files["values.yaml"] = values

	version, appVersion := o.Version, o.AppVersion
	if version == "" {
		version = "0.0.0-dev"
	}
	if appVersion == "" {
		_, tag, _ := SplitImage(nestedString(managerOf(deployment), "image"))
		appVersion = tag
	}
	files["Chart.yaml"] = []byte(fmt.Sprintf(chartYAML, version, appVersion))
	files[filepath.Join("templates", "_helpers.tpl")] = []byte(helpersTpl)
	files[filepath.Join("templates", "NOTES.txt")] = []byte(notesTxt)
	files[".helmignore"] = []byte(helmignore)
	return files, nil
}

// WriteChart writes files into dir, removing files of an earlier chart that
// are no longer generated.
func WriteChart(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ReadChart reads every file under dir, path relative to dir to content.
func ReadChart(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	return files, err
}

// SplitYAML decodes a multi-document YAML stream into objects.
func SplitYAML(data []byte) ([]map[string]any, error) {
	var out []map[string]any
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, err
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
	return out, nil
}

const generatedHeader = "# GENERATED by `make helm-chart` (hack/helm-chart) from config/: edit config/ or\n# hack/manifests/chart.go, then regenerate.\n"

// Placeholders: a map key "zz__L_<name>__" (sorted last, so never the
// first key of a list item) is replaced, with its line, by the
// lines of snippet <name> indented as the key was; a string "__V_<name>__"
// by an inline template expression.
var (
	lineToken  = regexp.MustCompile(`(?m)^( *)(- )?zz__L_([A-Z_]+)__: x\n`)
	valueToken = regexp.MustCompile(`__V_([A-Z_]+)__`)
	// Template delimiters in config/ text (the PrometheusRule's
	// {{ $labels.x }}) must reach the rendered object unchanged.
	delims = regexp.MustCompile(`\{\{|\}\}`)
)

var lineSnippets = map[string]string{
	"LABELS":               `{{- include "license-operator.labels" . | nindent %[1]d }}`,
	"ANNOTATIONS":          "{{- with .Values.commonAnnotations }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"ANNOTATIONS_BLOCK":    "{{- with .Values.commonAnnotations }}\nannotations:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"CRD_KEEP":             "{{- if .Values.crds.keep }}\nhelm.sh/resource-policy: keep\n{{- end }}",
	"SA_ANNOTATIONS":       "{{- with .Values.serviceAccount.annotations }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"SA_ANNOTATIONS_BLOCK": "{{- with merge (dict) .Values.serviceAccount.annotations .Values.commonAnnotations }}\nannotations:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"SELECTOR":             `{{- include "license-operator.selectorLabels" . | nindent %[1]d }}`,
	"MONITOR_LABELS":       "{{- with .Values.metrics.serviceMonitor.labels }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"MONITOR_ENDPOINT":     "{{- with .Values.metrics.serviceMonitor.interval }}\ninterval: {{ . }}\n{{- end }}\n{{- with .Values.metrics.serviceMonitor.scrapeTimeout }}\nscrapeTimeout: {{ . }}\n{{- end }}",
	"RULE_LABELS":          "{{- with .Values.metrics.prometheusRule.labels }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"POD_LABELS":           "{{- with .Values.podLabels }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"POD_ANNOTATIONS":      "{{- with .Values.podAnnotations }}\n{{- toYaml . | nindent %[1]d }}\n{{- end }}",
	"RESOURCES":            "{{- with .Values.resources }}\nresources:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"SECURITY_CONTEXT":     "{{- with .Values.securityContext }}\nsecurityContext:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"POD_SECURITY":         "{{- with .Values.podSecurityContext }}\nsecurityContext:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"POD_SCHEDULING":       podScheduling,
	"PORTS":                "{{- if .Values.metrics.enabled }}\nports:\n- name: metrics\n  containerPort: {{ .Values.metrics.port }}\n  protocol: TCP\n{{- end }}",
	"PULL_POLICY":          "{{- with .Values.image.pullPolicy }}\nimagePullPolicy: {{ . }}\n{{- end }}",
	"CONTAINER_EXTRAS":     "{{- with .Values.extraEnv }}\nenv:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
	"IMAGE_PULL_SECRETS":   "{{- with .Values.imagePullSecrets }}\nimagePullSecrets:\n  {{- toYaml . | nindent %[2]d }}\n{{- end }}",
}

const podScheduling = `{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent %[2]d }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent %[2]d }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent %[2]d }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent %[2]d }}
{{- end }}`

var valueSnippets = map[string]string{
	"FULLNAME":    `{{ include "license-operator.fullname" . }}`,
	"NAMESPACE":   `{{ .Release.Namespace }}`,
	"REPLICAS":    `{{ .Values.replicas }}`,
	"IMAGE":       `{{ include "license-operator.image" . }}`,
	"HEALTH_PORT": `{{ .Values.health.port }}`,
}

// templateObject turns one rendered object into a template: names with the
// prefix and the namespace of config/default templated (references too:
// role bindings, subjects, service accounts), Helm's labels and the common
// labels and annotations added.
func templateObject(obj map[string]any) (string, error) {
	obj = deepCopy(obj)
	kind, _ := obj["kind"].(string)
	templateRefs(obj)
	meta := markCommonMeta(obj)
	labels := meta["labels"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	switch kind {
	case "CustomResourceDefinition":
		ann, ok := meta["annotations"].(map[string]any)
		if !ok {
			delete(meta, "zz__L_ANNOTATIONS_BLOCK__")
			ann = map[string]any{"zz__L_ANNOTATIONS__": "x"}
			meta["annotations"] = ann
		}
		ann["zz__L_CRD_KEEP__"] = "x"
	case "ServiceAccount":
		if ann, ok := meta["annotations"].(map[string]any); ok {
			ann["zz__L_SA_ANNOTATIONS__"] = "x"
		} else {
			delete(meta, "zz__L_ANNOTATIONS_BLOCK__")
			meta["zz__L_SA_ANNOTATIONS_BLOCK__"] = "x"
		}
	case "Service":
		sel, _ := spec["selector"].(map[string]any)
		if sel == nil {
			return "", fmt.Errorf("the metrics Service has no selector")
		}
		sel["zz__L_SELECTOR__"] = "x"
	case "ServiceMonitor":
		labels["zz__L_MONITOR_LABELS__"] = "x"
		ml, _ := nested(spec, "selector", "matchLabels").(map[string]any)
		if ml == nil {
			return "", fmt.Errorf("the ServiceMonitor has no selector.matchLabels")
		}
		ml["zz__L_SELECTOR__"] = "x"
		eps, _ := spec["endpoints"].([]any)
		for _, ep := range eps {
			ep.(map[string]any)["zz__L_MONITOR_ENDPOINT__"] = "x"
		}
	case "PrometheusRule":
		labels["zz__L_RULE_LABELS__"] = "x"
	}
	return toTemplate(obj, nil)
}

// templateRefs replaces, anywhere in obj, a string that is a prefixed name
// or the system namespace with its template.
func templateRefs(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = templateRefs(x)
		}
	case []any:
		for i, x := range v {
			v[i] = templateRefs(x)
		}
	case string:
		if v == systemNamespace {
			return "__V_NAMESPACE__"
		}
		if strings.HasPrefix(v, namePrefix) && !strings.Contains(v, " ") {
			return "__V_FULLNAME__-" + strings.TrimPrefix(v, namePrefix)
		}
	}
	return v
}

// toTemplate marshals obj and expands its placeholders.
func toTemplate(obj map[string]any, extra map[string]string) (string, error) {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return "", err
	}
	text := delims.ReplaceAllStringFunc(string(data), func(d string) string { return `{{"` + d + `"}}` })
	var missing []string
	text = lineToken.ReplaceAllStringFunc(text, func(line string) string {
		m := lineToken.FindStringSubmatch(line)
		indent, dash, name := len(m[1]), m[2], m[3]
		snippet, ok := lineSnippets[name]
		if x, found := extra[name]; found {
			snippet, ok = x, true
		}
		if !ok {
			missing = append(missing, name)
			return line
		}
		if dash != "" {
			missing = append(missing, name+" (as the first key of a list item)")
			return line
		}
		if strings.Contains(snippet, "%[") {
			snippet = fmt.Sprintf(snippet, indent, indent+2)
		}
		var b strings.Builder
		for _, l := range strings.Split(snippet, "\n") {
			b.WriteString(strings.Repeat(" ", indent) + l + "\n")
		}
		return b.String()
	})
	text = valueToken.ReplaceAllStringFunc(text, func(tok string) string {
		name := valueToken.FindStringSubmatch(tok)[1]
		s, ok := valueSnippets[name]
		if !ok {
			missing = append(missing, name)
			return tok
		}
		return s
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown placeholders %v", missing)
	}
	return text, nil
}

// flagValue maps a manager flag to a value: the chart passes it when the
// value is set (not null).
type flagValue struct {
	flag, path string
	// int: printed with int64, so a large number is not printed as 1e+06.
	integer bool
}

// optionalFlags are the manager flags (cmd/manager/main.go) the chart
// exposes as values, passed only when set so that the defaults stay the
// manager's own.
var optionalFlags = []flagValue{
	{flag: "leader-elect-lease-duration", path: "leaderElection.leaseDuration"},
	{flag: "leader-elect-renew-deadline", path: "leaderElection.renewDeadline"},
	{flag: "leader-elect-retry-period", path: "leaderElection.retryPeriod"},
	{flag: "leader-election-namespace", path: "leaderElection.namespace"},
	{flag: "max-concurrent-tenants", path: "concurrency.tenants", integer: true},
	{flag: "max-concurrent-writes", path: "concurrency.writes", integer: true},
	{flag: "kube-api-qps", path: "kubeAPI.qps"},
	{flag: "kube-api-burst", path: "kubeAPI.burst", integer: true},
	{flag: "event-qps", path: "events.qps"},
	{flag: "event-qps-while-writing", path: "events.qpsWhileWriting"},
	{flag: "max-queued-events", path: "events.maxQueued", integer: true},
	{flag: "memory-limit-ratio", path: "memoryLimitRatio"},
	{flag: "zap-log-level", path: "logging.level"},
	{flag: "zap-encoder", path: "logging.encoder"},
}

// managerArgs is the args block: the arguments of config/manager, as
// values, then the optional flags, then extraArgs.
func managerArgs(configArgs []string) (string, values, error) {
	v := values{leaderElect: false, healthPort: 8081, metricsPort: 8443}
	var b strings.Builder
	b.WriteString("args:\n")
	for _, a := range configArgs {
		switch {
		case a == "--leader-elect" || a == "--leader-elect=true":
			v.leaderElect = true
			b.WriteString("{{- if .Values.leaderElection.enabled }}\n- --leader-elect\n{{- end }}\n")
		case strings.HasPrefix(a, "--health-probe-bind-address=:"):
			if _, err := fmt.Sscanf(a, "--health-probe-bind-address=:%d", &v.healthPort); err != nil {
				return "", v, fmt.Errorf("arg %s: %w", a, err)
			}
			b.WriteString("- --health-probe-bind-address=:{{ .Values.health.port }}\n")
		case strings.HasPrefix(a, "--metrics-bind-address=:"):
			if _, err := fmt.Sscanf(a, "--metrics-bind-address=:%d", &v.metricsPort); err != nil {
				return "", v, fmt.Errorf("arg %s: %w", a, err)
			}
			b.WriteString("{{- if .Values.metrics.enabled }}\n- --metrics-bind-address=:{{ .Values.metrics.port }}\n{{- if not .Values.metrics.secure }}\n- --metrics-secure=false\n{{- end }}\n{{- else }}\n- --metrics-bind-address=0\n{{- end }}\n")
		default:
			return "", v, fmt.Errorf("config/manager passes %s, which the chart does not map to a value: add it to managerArgs in hack/manifests/chart.go", a)
		}
	}
	if !v.leaderElect {
		b.WriteString("{{- if .Values.leaderElection.enabled }}\n- --leader-elect\n{{- end }}\n")
	}
	b.WriteString("{{- with .Values.watchNamespaces }}\n- --namespaces={{ join \",\" . }}\n{{- end }}\n")
	b.WriteString("{{- if and (hasKey .Values.events \"record\") (not .Values.events.record) }}\n- --record-events=false\n{{- end }}\n")
	for _, f := range optionalFlags {
		expr := ".Values." + f.path
		parent := expr[:strings.LastIndex(expr, ".")]
		key := expr[strings.LastIndex(expr, ".")+1:]
		val := "{{ " + expr + " }}"
		if f.integer {
			val = "{{ " + expr + " | int64 }}"
		}
		fmt.Fprintf(&b, "{{- if not (kindIs \"invalid\" (get %s %q)) }}\n- --%s=%s\n{{- end }}\n", parent, key, f.flag, val)
	}
	b.WriteString("{{- range .Values.extraArgs }}\n- {{ . | quote }}\n{{- end }}")
	return b.String(), v, nil
}

// values are the defaults read from config/manager.
type values struct {
	leaderElect             bool
	healthPort, metricsPort int
}

// markCommonMeta marks where the chart's common labels and annotations go
// in obj's metadata (placeholders replaced by template text later) and
// returns the metadata.
func markCommonMeta(obj map[string]any) map[string]any {
	meta := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	// The chart's labels helper sets app.kubernetes.io/name.
	delete(labels, "app.kubernetes.io/name")
	labels["zz__L_LABELS__"] = "x"
	meta["labels"] = labels
	if ann, ok := meta["annotations"].(map[string]any); ok {
		ann["zz__L_ANNOTATIONS__"] = "x"
	} else {
		meta["zz__L_ANNOTATIONS_BLOCK__"] = "x"
	}
	return meta
}

// templateDeployment templates the manager Deployment and writes
// values.yaml with config/manager's settings as defaults.
func templateDeployment(obj map[string]any, o ChartOptions) (string, []byte, error) {
	obj = deepCopy(obj)
	templateRefs(obj)
	markCommonMeta(obj)
	spec := obj["spec"].(map[string]any)
	replicas := spec["replicas"]
	if replicas == nil {
		replicas = 1.0
	}
	spec["replicas"] = "__V_REPLICAS__"
	ml, _ := nested(spec, "selector", "matchLabels").(map[string]any)
	if ml == nil {
		return "", nil, fmt.Errorf("no spec.selector.matchLabels")
	}
	ml["zz__L_SELECTOR__"] = "x"
	tmpl := spec["template"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	if tmeta == nil {
		tmeta = map[string]any{}
		tmpl["metadata"] = tmeta
	}
	tl, _ := tmeta["labels"].(map[string]any)
	if tl == nil {
		tl = map[string]any{}
		tmeta["labels"] = tl
	}
	tl["zz__L_SELECTOR__"] = "x"
	tl["zz__L_POD_LABELS__"] = "x"
	ta, _ := tmeta["annotations"].(map[string]any)
	if ta == nil {
		ta = map[string]any{}
		tmeta["annotations"] = ta
	}
	ta["zz__L_POD_ANNOTATIONS__"] = "x"
	pod := tmpl["spec"].(map[string]any)
	podSecurity := pod["securityContext"]
	delete(pod, "securityContext")
	pod["zz__L_POD_SECURITY__"] = "x"
	pod["zz__L_POD_SCHEDULING__"] = "x"
	pod["zz__L_IMAGE_PULL_SECRETS__"] = "x"
	for _, k := range []string{"nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName", "imagePullSecrets"} {
		if _, ok := pod[k]; ok {
			return "", nil, fmt.Errorf("config/manager sets spec.template.spec.%s, which the chart sets from values: add it to templateDeployment in hack/manifests/chart.go", k)
		}
	}
	c := managerOf(obj)
	if c == nil {
		return "", nil, fmt.Errorf("no container named %q", managerContainer)
	}
	if containers, _ := pod["containers"].([]any); len(containers) != 1 {
		return "", nil, fmt.Errorf("config/manager has %d containers; the chart templates one", len(containers))
	}
	image, _ := c["image"].(string)
	repo, _, _ := SplitImage(image)
	if o.ImageRepository != "" {
		repo = o.ImageRepository
	}
	c["image"] = "__V_IMAGE__"
	if _, ok := c["imagePullPolicy"]; ok {
		return "", nil, fmt.Errorf("config/manager sets imagePullPolicy; the chart sets it from image.pullPolicy")
	}
	var configArgs []string
	if raw, ok := c["args"].([]any); ok {
		for _, a := range raw {
			s, _ := a.(string)
			configArgs = append(configArgs, s)
		}
	}
	delete(c, "args")
	args, v, err := managerArgs(configArgs)
	if err != nil {
		return "", nil, err
	}
	c["zz__L_ARGS__"] = "x"
	resources := c["resources"]
	delete(c, "resources")
	c["zz__L_RESOURCES__"] = "x"
	security := c["securityContext"]
	delete(c, "securityContext")
	c["zz__L_SECURITY_CONTEXT__"] = "x"
	if _, ok := c["env"]; ok {
		return "", nil, fmt.Errorf("config/manager sets env; the chart appends extraEnv: make templateDeployment merge them")
	}
	c["zz__L_CONTAINER_EXTRAS__"] = "x"
	// Ports and probes follow the values of the ports.
	ports, _ := c["ports"].([]any)
	if len(ports) != 1 || nestedString(ports[0].(map[string]any), "name") != "metrics" {
		return "", nil, fmt.Errorf("config/manager's container ports are not the one metrics port the chart templates")
	}
	delete(c, "ports")
	c["zz__L_PORTS__"] = "x"
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if p, ok := nested(c, probe, "httpGet").(map[string]any); ok {
			if port, ok := p["port"].(float64); ok && int(port) == v.healthPort {
				p["port"] = "__V_HEALTH_PORT__"
			}
		}
	}
	// config/ leaves the pull policy to the cluster's default; the chart
	// sets it when image.pullPolicy is set.
	c["zz__L_PULL_POLICY__"] = "x"
	text, err := toTemplate(obj, map[string]string{"ARGS": args})
	if err != nil {
		return "", nil, err
	}

	vals, err := valuesYAML(repo, replicas, v, resources, podSecurity, security)
	if err != nil {
		return "", nil, err
	}
	return text, vals, nil
}

func valuesYAML(repo string, replicas any, v values, resources, podSecurity, security any) ([]byte, error) {
	block := func(x any, indent int) (string, error) {
		if x == nil {
			return " {}", nil
		}
		data, err := yaml.Marshal(x)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			b.WriteString("\n" + strings.Repeat(" ", indent) + l)
		}
		return b.String(), nil
	}
	res, err := block(resources, 2)
	if err != nil {
		return nil, err
	}
	ps, err := block(podSecurity, 2)
	if err != nil {
		return nil, err
	}
	cs, err := block(security, 2)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, valuesTemplate, repo, replicas, v.leaderElect, v.healthPort, v.metricsPort, res, ps, cs)
	return b.Bytes(), nil
}

func managerOf(obj map[string]any) map[string]any {
	containers, _ := nested(obj, "spec", "template", "spec", "containers").([]any)
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok && m["name"] == managerContainer {
			return m
		}
	}
	return nil
}

func nested(obj map[string]any, path ...string) any {
	var v any = obj
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func nestedString(obj map[string]any, path ...string) string {
	s, _ := nested(obj, path...).(string)
	return s
}

func deepCopy(obj map[string]any) map[string]any {
	data, err := yaml.Marshal(obj)
	if err != nil {
		panic(err) // obj came from YAML
	}
	var out map[string]any
	if err := yaml.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

// SortedNames returns the keys of files in order.
func SortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
