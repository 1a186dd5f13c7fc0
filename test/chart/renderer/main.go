// Command renderer renders a Helm chart the way `helm template` does, for tests on machines
// without a helm binary. It uses the same engine helm uses: Go's text/template with sprig v3 and
// helm's own functions (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup, …),
// the same built-in objects (.Values, .Release, .Chart, .Capabilities, .Files, .Template), the
// same values coalescing (values.yaml < -f files < --set-json < --set < --set-string, null
// deletes a key) and the same output framing ("---\n# Source: <chart>/templates/<file>").
//
// What it does not do: subcharts and dependencies, values.schema.json validation (the TypeScript
// tests validate the merged values with ajv; see --dump-values), a cluster (lookup returns an
// empty map), post-renderers. Charts that need those need real helm.
//
// Build (no network; Debian's Go packages): see test/chart/renderer/README.md.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"
	"github.com/Masterminds/sprig/v3"
	"github.com/ghodss/yaml"
)

// ---------------------------------------------------------------------------------------------
// Command line

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	chartDir    string
	releaseName string
	namespace   string
	valueFiles  multiFlag
	sets        multiFlag
	setStrings  multiFlag
	setJSON     multiFlag
	apiVersions multiFlag
	kubeVersion string
	includeCRDs bool
	skipTests   bool
	isUpgrade   bool
	notes       bool
	dumpValues  bool
	strict      bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("renderer", flag.ContinueOnError)
	fs.StringVar(&o.chartDir, "chart", "", "chart directory (required)")
	fs.StringVar(&o.releaseName, "name", "release-name", "release name")
	fs.StringVar(&o.namespace, "namespace", "default", "release namespace")
	fs.Var(&o.valueFiles, "f", "values file (repeatable)")
	fs.Var(&o.valueFiles, "values", "values file (repeatable)")
	fs.Var(&o.sets, "set", "key=value (repeatable; helm --set syntax, typed)")
	fs.Var(&o.setStrings, "set-string", "key=value (repeatable; always a string)")
	fs.Var(&o.setJSON, "set-json", "key=<json> (repeatable)")
	fs.Var(&o.apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions (repeatable)")
	fs.StringVar(&o.kubeVersion, "kube-version", "v1.31.0", "Kubernetes version for .Capabilities.KubeVersion")
	fs.BoolVar(&o.includeCRDs, "include-crds", false, "also print the files in crds/")
	fs.BoolVar(&o.skipTests, "skip-tests", false, "leave out helm test hooks")
	fs.BoolVar(&o.isUpgrade, "is-upgrade", false, "set .Release.IsUpgrade instead of .Release.IsInstall")
	fs.BoolVar(&o.notes, "notes", false, "print the rendered templates/NOTES.txt instead of the manifests")
	fs.BoolVar(&o.dumpValues, "dump-values", false, "print the coalesced values as JSON instead of the manifests")
	fs.BoolVar(&o.strict, "strict", false, "fail on missing keys (helm lint --strict)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if o.chartDir == "" {
		fmt.Fprintln(os.Stderr, "renderer: --chart is required")
		os.Exit(2)
	}
	out, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func run(o options) (string, error) {
	ch, err := loadChart(o.chartDir)
	if err != nil {
		return "", err
	}
	caps, err := newCapabilities(o.kubeVersion, o.apiVersions)
	if err != nil {
		return "", err
	}
	if ch.Metadata.KubeVersion != "" {
		c, err := semver.NewConstraint(ch.Metadata.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml kubeVersion %q: %v", ch.Metadata.KubeVersion, err)
		}
		v, err := semver.NewVersion(caps.KubeVersion.Version)
		if err != nil {
			return "", err
		}
		if !c.Check(v) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version)
		}
	}
	user, err := userValues(o)
	if err != nil {
		return "", err
	}
	values := coalesceValues(user, ch.Values)
	if o.dumpValues {
		b, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return "", err
		}
		return string(b) + "\n", nil
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name":      o.releaseName,
			"Namespace": o.namespace,
			"IsUpgrade": o.isUpgrade,
			"IsInstall": !o.isUpgrade,
			"Revision":  1,
			"Service":   "Helm",
		},
		"Chart":        ch.Metadata,
		"Capabilities": caps,
		"Files":        ch.Files,
		"Subcharts":    map[string]interface{}{},
	}
	rendered, err := renderTemplates(ch, top, o.strict)
	if err != nil {
		return "", err
	}
	if o.notes {
		return rendered[ch.Metadata.Name+"/templates/NOTES.txt"], nil
	}
	return formatManifests(ch, rendered, o)
}

// ---------------------------------------------------------------------------------------------
// Chart loading

// Metadata mirrors helm's chart.Metadata: templates see it as .Chart with these field names.
type Metadata struct {
	Name         string                   `json:"name,omitempty"`
	Home         string                   `json:"home,omitempty"`
	Sources      []string                 `json:"sources,omitempty"`
	Version      string                   `json:"version,omitempty"`
	Description  string                   `json:"description,omitempty"`
	Keywords     []string                 `json:"keywords,omitempty"`
	Maintainers  []map[string]string      `json:"maintainers,omitempty"`
	Icon         string                   `json:"icon,omitempty"`
	APIVersion   string                   `json:"apiVersion,omitempty"`
	Condition    string                   `json:"condition,omitempty"`
	Tags         string                   `json:"tags,omitempty"`
	AppVersion   string                   `json:"appVersion,omitempty"`
	Deprecated   bool                     `json:"deprecated,omitempty"`
	Annotations  map[string]string        `json:"annotations,omitempty"`
	KubeVersion  string                   `json:"kubeVersion,omitempty"`
	Dependencies []map[string]interface{} `json:"dependencies,omitempty"`
	Type         string                   `json:"type,omitempty"`
}

type chart struct {
	Metadata  *Metadata
	Values    map[string]interface{}
	Templates map[string]string // "templates/x.yaml" → text
	CRDs      []string          // "crds/x.yaml", sorted
	Files     Files             // every other file, as helm's .Files
}

var chartNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func loadChart(dir string) (*chart, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("Chart.yaml file is missing: %v", err)
	}
	md := &Metadata{}
	if err := yaml.UnmarshalStrict(raw, md); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	if md.APIVersion != "v2" {
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v2, got %q", md.APIVersion)
	}
	if !chartNameRE.MatchString(md.Name) {
		return nil, fmt.Errorf("Chart.yaml: invalid chart name %q", md.Name)
	}
	if _, err := semver.StrictNewVersion(md.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %v", md.Version, err)
	}
	if len(md.Dependencies) > 0 {
		return nil, errors.New("Chart.yaml: dependencies (subcharts) are not supported by this renderer")
	}
	if md.Type != "" && md.Type != "application" {
		return nil, fmt.Errorf("Chart.yaml: type %q cannot be rendered", md.Type)
	}
	ignore, err := loadHelmignore(dir)
	if err != nil {
		return nil, err
	}
	ch := &chart{Metadata: md, Values: map[string]interface{}{}, Templates: map[string]string{}, Files: Files{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignore.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel == "charts" {
				entries, _ := os.ReadDir(p)
				if len(entries) > 0 {
					return errors.New("charts/: subcharts are not supported by this renderer")
				}
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case rel == "Chart.yaml" || rel == "values.schema.json" || rel == "Chart.lock" || rel == "requirements.yaml":
		case rel == "values.yaml":
			if err := yaml.Unmarshal(data, &ch.Values); err != nil {
				return fmt.Errorf("values.yaml: %v", err)
			}
			if ch.Values == nil {
				ch.Values = map[string]interface{}{}
			}
		case strings.HasPrefix(rel, "templates/"):
			ch.Templates[rel] = string(data)
		default:
			if strings.HasPrefix(rel, "crds/") {
				ch.CRDs = append(ch.CRDs, rel)
			}
			ch.Files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(ch.CRDs)
	return ch, nil
}

// helmignore holds the patterns of a chart's .helmignore (helm's rules, without "!" negation).
type helmignore struct{ patterns []string }

func loadHelmignore(dir string) (*helmignore, error) {
	h := &helmignore{}
	data, err := os.ReadFile(filepath.Join(dir, ".helmignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			return nil, fmt.Errorf(".helmignore: negated patterns are not supported by this renderer: %s", line)
		}
		h.patterns = append(h.patterns, line)
	}
	return h, nil
}

func (h *helmignore) match(rel string, isDir bool) bool {
	if rel == ".helmignore" {
		return true
	}
	for _, p := range h.patterns {
		dirOnly := strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		if dirOnly && !isDir {
			continue
		}
		target := path.Base(rel)
		if strings.Contains(p, "/") {
			target = rel
			p = strings.TrimPrefix(p, "/")
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------------
// .Files

// Files is helm's .Files: the chart's non-template files by path relative to the chart root.
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string      { return string(f[name]) }

func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f Files) AsConfig() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

func (f Files) AsSecrets() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// ---------------------------------------------------------------------------------------------
// .Capabilities

type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k *KubeVersion) String() string     { return k.Version }
func (k *KubeVersion) GitVersion() string { return k.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type HelmVersion struct {
	Version      string
	GitCommit    string
	GitTreeState string
	GoVersion    string
}

type Capabilities struct {
	APIVersions VersionSet
	KubeVersion KubeVersion
	HelmVersion HelmVersion
}

// The API versions (and group/version/Kind entries) of a plain cluster, as helm's default set
// lists the built-in ones.
var defaultAPIVersions = []string{
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1",
	"apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1", "node.k8s.io/v1",
	"policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
	"v1/ConfigMap", "v1/Namespace", "v1/Pod", "v1/Secret", "v1/Service", "v1/ServiceAccount",
	"apps/v1/DaemonSet", "apps/v1/Deployment", "apps/v1/StatefulSet", "batch/v1/Job",
	"coordination.k8s.io/v1/Lease", "policy/v1/PodDisruptionBudget", "networking.k8s.io/v1/NetworkPolicy",
	"rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
	"rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding",
	"apiextensions.k8s.io/v1/CustomResourceDefinition",
}

func newCapabilities(kubeVersion string, extra []string) (*Capabilities, error) {
	v, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("--kube-version %q: %v", kubeVersion, err)
	}
	apis := append(VersionSet{}, defaultAPIVersions...)
	apis = append(apis, extra...)
	return &Capabilities{
		APIVersions: apis,
		KubeVersion: KubeVersion{Version: "v" + v.String(), Major: strconv.FormatUint(v.Major(), 10), Minor: strconv.FormatUint(v.Minor(), 10)},
		HelmVersion: HelmVersion{Version: "v3.16.0-renderer", GoVersion: "go1.19"},
	}, nil
}

// ---------------------------------------------------------------------------------------------
// Values

func userValues(o options) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, f := range o.valueFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		cur := map[string]interface{}{}
		if err := yaml.Unmarshal(data, &cur); err != nil {
			return nil, fmt.Errorf("failed to parse %s: %v", f, err)
		}
		base = mergeMaps(base, cur)
	}
	for _, s := range o.setJSON {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("--set-json %q: want key=<json>", s)
		}
		var val interface{}
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--set-json %q: %v", s, err)
		}
		if err := setPath(base, k, val); err != nil {
			return nil, err
		}
	}
	for _, group := range []struct {
		list  []string
		typed bool
	}{{o.sets, true}, {o.setStrings, false}} {
		for _, s := range group.list {
			for _, kv := range splitUnescaped(s, ',') {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("--set %q: key %q has no value", s, kv)
				}
				v = strings.ReplaceAll(v, `\,`, ",")
				var val interface{} = v
				if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
					items := []interface{}{}
					for _, it := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(v, "{"), "}"), ",") {
						if group.typed {
							items = append(items, typedVal(it))
						} else {
							items = append(items, it)
						}
					}
					val = items
				} else if group.typed {
					val = typedVal(v)
				}
				if err := setPath(base, k, val); err != nil {
					return nil, err
				}
			}
		}
	}
	return base, nil
}

func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// typedVal converts a --set value as helm's strvals does.
func typedVal(v string) interface{} {
	switch {
	case strings.EqualFold(v, "true"):
		return true
	case strings.EqualFold(v, "false"):
		return false
	case strings.EqualFold(v, "null"):
		return nil
	case v == "0":
		return int64(0)
	}
	if len(v) > 0 && v[0] != '0' {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	return v
}

var indexRE = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

// setPath sets a dotted key ("a.b[1].c"; "\." escapes a dot) in m.
func setPath(m map[string]interface{}, key string, val interface{}) error {
	parts := splitUnescaped(key, '.')
	for i := range parts {
		parts[i] = strings.ReplaceAll(parts[i], `\.`, ".")
	}
	var cur interface{} = m
	for i, p := range parts {
		last := i == len(parts)-1
		name, idx := p, -1
		if mm := indexRE.FindStringSubmatch(p); mm != nil {
			name = mm[1]
			idx, _ = strconv.Atoi(mm[2])
		}
		if name == "" {
			return fmt.Errorf("--set: empty key segment in %q", key)
		}
		obj, ok := cur.(map[string]interface{})
		if !ok {
			return fmt.Errorf("--set %q: %q is not a map", key, strings.Join(parts[:i], "."))
		}
		if idx < 0 {
			if last {
				obj[name] = val
				return nil
			}
			next, ok := obj[name].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				obj[name] = next
			}
			cur = next
			continue
		}
		list, _ := obj[name].([]interface{})
		for len(list) <= idx {
			list = append(list, nil)
		}
		obj[name] = list
		if last {
			list[idx] = val
			return nil
		}
		next, ok := list[idx].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			list[idx] = next
		}
		cur = next
	}
	return nil
}

// mergeMaps merges b over a (maps recursively, everything else replaced), as helm merges -f files.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesceValues lays the user's values over the chart's defaults: maps merge, other values
// replace, and a user value of null removes the default (helm's chartutil.CoalesceValues).
func coalesceValues(user, defaults map[string]interface{}) map[string]interface{} {
	out := deepCopy(user).(map[string]interface{})
	coalesceTables(out, deepCopy(defaults).(map[string]interface{}))
	return out
}

func coalesceTables(dst, src map[string]interface{}) {
	for k, sv := range src {
		dv, ok := dst[k]
		if !ok {
			dst[k] = sv
			continue
		}
		if dv == nil {
			delete(dst, k)
			continue
		}
		dm, dIsMap := dv.(map[string]interface{})
		sm, sIsMap := sv.(map[string]interface{})
		if dIsMap && sIsMap {
			coalesceTables(dm, sm)
		} else if dIsMap != sIsMap && sv != nil {
			fmt.Fprintf(os.Stderr, "coalesce.go: warning: cannot overwrite table with non table for %s (%v)\n", k, sv)
		}
	}
	for k, v := range dst {
		if v == nil {
			delete(dst, k)
		}
	}
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	default:
		return v
	}
}

// ---------------------------------------------------------------------------------------------
// Template functions (helm's pkg/engine/funcs.go)

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

const recursionMaxNums = 1000

func baseFuncMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toToml": func(interface{}) (string, error) {
			return "", errors.New("toToml is not supported by the test renderer")
		},
		"toYaml":        toYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"required": func(warn string, val interface{}) (interface{}, error) {
			if val == nil {
				return val, errors.New(warn)
			}
			if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warn)
			}
			return val, nil
		},
		// No cluster: lookup finds nothing, as under `helm template`.
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		// Placeholders replaced per template set below.
		"include": func(string, interface{}) string { return "not implemented" },
		"tpl":     func(string, interface{}) interface{} { return "not implemented" },
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func includeFun(t *template.Template, included map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := included[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
			}
			included[name]++
		} else {
			included[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		included[name]--
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, included map[string]int, strict bool) func(string, interface{}) (string, error) {
	return func(text string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %v", err)
		}
		if strict {
			t.Option("missingkey=error")
		} else {
			t.Option("missingkey=zero")
		}
		t.Funcs(template.FuncMap{
			"include": includeFun(t, included),
			"tpl":     tplFun(t, included, strict),
		})
		name := "tpl"
		if m, ok := vals.(map[string]interface{}); ok {
			if tm, ok := m["Template"].(map[string]interface{}); ok {
				if n, ok := tm["Name"].(string); ok {
					name = n
				}
			}
		}
		t, err = t.New(name).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

// ---------------------------------------------------------------------------------------------
// Rendering (helm's pkg/engine/engine.go)

func renderTemplates(ch *chart, top map[string]interface{}, strict bool) (map[string]string, error) {
	t := template.New("gotpl")
	if strict {
		t.Option("missingkey=error")
	} else {
		t.Option("missingkey=zero")
	}
	included := map[string]int{}
	funcs := baseFuncMap()
	funcs["include"] = includeFun(t, included)
	funcs["tpl"] = tplFun(t, included, strict)
	t.Funcs(funcs)

	prefix := ch.Metadata.Name + "/"
	names := make([]string, 0, len(ch.Templates))
	for rel := range ch.Templates {
		names = append(names, rel)
	}
	sort.Strings(names)
	for _, rel := range names {
		if _, err := t.New(prefix + rel).Parse(ch.Templates[rel]); err != nil {
			return nil, fmt.Errorf("parse error in %q: %v", prefix+rel, err)
		}
	}
	out := map[string]string{}
	for _, rel := range names {
		name := prefix + rel
		if strings.HasPrefix(path.Base(rel), "_") {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": name, "BasePath": prefix + "templates"}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, top); err != nil {
			return nil, err
		}
		out[name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------------
// Output (helm's releaseutil.SortManifests and `helm template` framing)

var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var sepRE = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type manifest struct {
	source  string
	content string
	kind    string
	hook    string
}

func formatManifests(ch *chart, rendered map[string]string, o options) (string, error) {
	var b strings.Builder
	if o.includeCRDs {
		for _, rel := range ch.CRDs {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", ch.Metadata.Name+"/"+rel, string(ch.Files[rel]))
		}
	}
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	var generic, hooks []manifest
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		content := rendered[name]
		if strings.TrimSpace(content) == "" {
			continue
		}
		docs := sepRE.Split(content, -1)
		for _, d := range docs {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name        string            `json:"name"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(d), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %v", name, err)
			}
			// Like helm, a document without a kind (e.g. only comments) is still printed; the
			// API server would refuse it at install time.
			m := manifest{source: name, content: d, kind: head.Kind, hook: head.Metadata.Annotations["helm.sh/hook"]}
			if m.hook != "" {
				hooks = append(hooks, m)
			} else {
				generic = append(generic, m)
			}
		}
	}
	order := map[string]int{}
	for i, k := range installOrder {
		order[k] = i
	}
	less := func(list []manifest) func(i, j int) bool {
		return func(i, j int) bool {
			a, aok := order[list[i].kind]
			c, cok := order[list[j].kind]
			if !aok && !cok {
				return list[i].kind < list[j].kind
			}
			if !aok {
				return false
			}
			if !cok {
				return true
			}
			return a < c
		}
	}
	sort.SliceStable(generic, less(generic))
	sort.SliceStable(hooks, less(hooks))
	for _, m := range generic {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	for _, m := range hooks {
		if o.skipTests && isTestHook(m.hook) {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.source, m.content)
	}
	return b.String(), nil
}

func isTestHook(h string) bool {
	for _, p := range strings.Split(h, ",") {
		p = strings.TrimSpace(p)
		if p == "test" || p == "test-success" {
			return true
		}
	}
	return false
}
