// Stand-in for the kubernetes provider (pulumi/pulumi-kubernetes) in its
// "render YAML" mode only: a Provider with renderYamlToDirectory writes every
// object to <dir>/1-manifest/ (CustomResourceDefinitions to <dir>/0-crd/) and
// never contacts a cluster. What is mirrored from the real provider's sources:
//   - file names from renderPathForResource:
//     <apiVersion with / and : as _>-<lower-case kind>-<namespace or "default">-<name>.yaml,
//     written as JSON -> YAML (go-yaml v2, like sigs.k8s.io/yaml), files 0600, folders 0700;
//   - Check: apiVersion/kind from the type token; Secret stringData normalised
//     into base64 data (clients.Normalize), so the rendered Secret carries data;
//     auto-naming <resource name>-<8 hex> from the engine's random seed with the
//     pulumi.com/autonamed annotation, the old name kept while not replaced;
//     the provider's default namespace for namespaced kinds;
//   - Diff: replacement for changes of metadata.name/namespace and the
//     force-new fields of the kind (ConfigMap data/binaryData and Secret
//     type/data/stringData unless enableConfigMapMutable/enableSecretMutable,
//     Deployment spec.selector, Service spec.clusterIP, ...); delete before
//     replace for a manually named object keeping its name; in-place otherwise;
//   - outputs: the object as rendered (no status) plus __inputs,
//     __initialApiVersion and __fieldManager, secrets kept secret;
//   - Delete removes the rendered file.
// A Provider with context, cluster or kubeconfig (or no renderYamlToDirectory)
// is refused: this stand-in cannot deploy.

package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v2"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	annotationAutonamed = "pulumi.com/autonamed"
	standinOnlyRenders  = "the stand-in kubernetes provider (engine/standin-providers; the real " +
		"pulumi-kubernetes provider could not be built here) only renders manifests with a Provider's " +
		"renderYamlToDirectory and cannot reach a cluster"
)

type k8sProvider struct {
	mu               sync.Mutex
	renderDir        string
	defaultNamespace string
	configMapMutable bool
	secretMutable    bool
}

func newKubernetes() handler { return &k8sProvider{} }

func (k *k8sProvider) settings() (dir, ns string, cmMutable, secMutable bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.renderDir, k.defaultNamespace, k.configMapMutable, k.secretMutable
}

// ---------------------------------------------------------------------------
// Provider configuration

func truthy(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return false
	}
	v = plain(v)
	switch {
	case v.IsString():
		return v.StringValue() != ""
	case v.IsBool():
		return v.BoolValue()
	case v.IsComputed():
		return true
	}
	return false
}

func (k *k8sProvider) checkConfig(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var fails []*pulumirpc.CheckFailure
	render := truthy(news, "renderYamlToDirectory")
	for _, arg := range []string{"cluster", "context", "kubeconfig"} {
		if !truthy(news, arg) {
			continue
		}
		reason := fmt.Sprintf("%q arg is not compatible with \"renderYamlToDirectory\" arg", arg)
		if !render {
			reason = fmt.Sprintf("%q is not supported: %s", arg, standinOnlyRenders)
		}
		fails = append(fails, &pulumirpc.CheckFailure{Property: arg, Reason: reason})
	}
	return fails
}

func (k *k8sProvider) diffConfig(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	// As upstream: a new render directory replaces every manifest.
	return plainConfigDiff(olds, news, "renderYamlToDirectory")
}

func (k *k8sProvider) configure(vars map[string]string, args resource.PropertyMap) error {
	get := func(key string) string {
		if v, ok := args[resource.PropertyKey(key)]; ok {
			v = plain(v)
			switch {
			case v.IsString():
				return v.StringValue()
			case v.IsBool():
				return strconv.FormatBool(v.BoolValue())
			}
		}
		return vars["kubernetes:config:"+key]
	}
	flag := func(key, env string) bool {
		if v := get(key); v != "" && v != "null" {
			return v == "true"
		}
		return os.Getenv(env) == "true"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.renderDir = get("renderYamlToDirectory")
	k.defaultNamespace = get("namespace")
	k.configMapMutable = flag("enableConfigMapMutable", "PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE")
	k.secretMutable = flag("enableSecretMutable", "PULUMI_K8S_ENABLE_SECRET_MUTABLE")
	return nil
}

// ---------------------------------------------------------------------------
// Types and names

type gvk struct{ group, version, kind string }

func (g gvk) apiVersion() string {
	if g.group == "" {
		return g.version
	}
	return g.group + "/" + g.version
}

// gvkOf parses kubernetes:<group>/<version>:<Kind> (group "core" is "").
func gvkOf(typ string) (gvk, error) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" {
		return gvk{}, fmt.Errorf("unrecognized resource type: %q for this provider", typ)
	}
	gv := strings.Split(parts[1], "/")
	if len(gv) < 2 {
		return gvk{}, fmt.Errorf("resource type %s is not implemented: %s", typ, standinOnlyRenders)
	}
	group := strings.Join(gv[:len(gv)-1], "/")
	if group == "core" {
		group = ""
	}
	return gvk{group: group, version: gv[len(gv)-1], kind: parts[2]}, nil
}

// Kinds without a namespace (the rest are namespaced).
var clusterScoped = map[string]bool{
	"APIService": true, "CertificateSigningRequest": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"ComponentStatus": true, "CSIDriver": true, "CSINode": true, "CustomResourceDefinition": true,
	"FlowSchema": true, "IngressClass": true, "MutatingWebhookConfiguration": true, "Namespace": true,
	"Node": true, "PersistentVolume": true, "PodSecurityPolicy": true, "PriorityClass": true,
	"PriorityLevelConfiguration": true, "RuntimeClass": true, "StorageClass": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"ValidatingWebhookConfiguration": true, "VolumeAttachment": true, "VolumeAttributesClass": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true, "DeviceClass": true,
	"IPAddress": true, "ServiceCIDR": true, "StorageVersionMigration": true,
}

// metaOf returns metadata, adding an empty one when missing.
func metaOf(obj resource.PropertyMap) resource.PropertyMap {
	if v, ok := obj["metadata"]; ok {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if v.IsObject() {
			return v.ObjectValue()
		}
	}
	md := resource.PropertyMap{}
	obj["metadata"] = resource.NewProperty(md)
	return md
}

func annotationsOf(md resource.PropertyMap) resource.PropertyMap {
	if v, ok := md["annotations"]; ok && v.IsObject() {
		return v.ObjectValue()
	}
	a := resource.PropertyMap{}
	md["annotations"] = resource.NewProperty(a)
	return a
}

func isAutonamed(obj resource.PropertyMap) bool {
	md := object(obj, "metadata")
	return md != nil && str(object(md, "annotations"), annotationAutonamed, "") == "true"
}

func nameOf(obj resource.PropertyMap) string { return str(object(obj, "metadata"), "name", "") }
func namespaceOf(obj resource.PropertyMap) string {
	return str(object(obj, "metadata"), "namespace", "")
}

func fqName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// renderPath follows the real provider's renderPathForResource.
func renderPath(dir string, obj resource.PropertyMap) string {
	ns := namespaceOf(obj)
	if ns == "" {
		ns = "default"
	}
	sanitise := strings.NewReplacer("/", "_", ":", "_")
	file := fmt.Sprintf("%s-%s-%s-%s.yaml", sanitise.Replace(str(obj, "apiVersion", "")),
		strings.ToLower(str(obj, "kind", "")), ns, nameOf(obj))
	sub := "1-manifest"
	if str(obj, "kind", "") == "CustomResourceDefinition" {
		sub = "0-crd"
	}
	return filepath.Join(dir, sub, file)
}

// ---------------------------------------------------------------------------
// Normalisation

// normalizeSecret moves stringData into base64 data (stringData wins on
// conflicts), as the real provider's clients.Normalize does; data values are
// re-encoded canonically. Unknown values are left alone. The result keeps the
// secretness of what it came from.
func normalizeSecret(obj resource.PropertyMap) {
	if str(obj, "kind", "") != "Secret" || str(obj, "apiVersion", "") != "v1" {
		return
	}
	sdv, hasSD := obj["stringData"]
	if hasSD && !sdv.ContainsUnknowns() && plain(sdv).IsObject() && len(plain(sdv).ObjectValue()) > 0 {
		data := resource.PropertyMap{}
		if dv, ok := obj["data"]; ok && !dv.ContainsUnknowns() && plain(dv).IsObject() {
			for k, v := range unsecret(dv).ObjectValue() {
				data[k] = v
			}
		}
		secret := sdv.IsSecret() || (obj["data"].IsSecret())
		for k, v := range unsecret(sdv).ObjectValue() {
			pv := plain(v)
			if !pv.IsString() {
				continue
			}
			enc := resource.NewStringProperty(base64.StdEncoding.EncodeToString([]byte(pv.StringValue())))
			data[k] = secretIf(enc, v.IsSecret())
		}
		obj["data"] = secretIf(resource.NewProperty(data), secret)
		delete(obj, "stringData")
		return
	}
	if dv, ok := obj["data"]; ok && !dv.ContainsUnknowns() && plain(dv).IsObject() {
		data := unsecret(dv).ObjectValue()
		for k, v := range data {
			pv := plain(v)
			if !pv.IsString() {
				continue
			}
			if raw, err := base64.StdEncoding.DecodeString(pv.StringValue()); err == nil {
				data[k] = secretIf(resource.NewStringProperty(base64.StdEncoding.EncodeToString(raw)), v.IsSecret())
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Check

func (k *k8sProvider) check(o *op, olds, news resource.PropertyMap, seed []byte) (resource.PropertyMap,
	[]*pulumirpc.CheckFailure, error,
) {
	dir, defaultNS, _, _ := k.settings()
	if dir == "" {
		return nil, nil, errors.New(standinOnlyRenders + ": set renderYamlToDirectory on the kubernetes Provider")
	}
	g, err := gvkOf(o.typ)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasSuffix(g.kind, "List") {
		return nil, nil, errors.New("list resources exist for compatibility with YAML manifests and Helm charts, " +
			"and cannot be created directly. Use the underlying resource type instead")
	}
	if strings.HasSuffix(g.kind, "Patch") {
		return nil, nil, fmt.Errorf("%s: patch resources need a cluster; %s", o.typ, standinOnlyRenders)
	}
	if g.group == "helm.sh" {
		return nil, nil, fmt.Errorf("%s needs a cluster; %s", o.typ, standinOnlyRenders)
	}
	inputs := news.Copy()
	if !present(inputs, "apiVersion") {
		inputs["apiVersion"] = resource.NewStringProperty(g.apiVersion())
	}
	if !present(inputs, "kind") {
		inputs["kind"] = resource.NewStringProperty(g.kind)
	}
	normalizeSecret(inputs)

	md := metaOf(inputs)
	nameUnknown := md["name"].ContainsUnknowns() || md["generateName"].ContainsUnknowns()
	hasName := present(md, "name") || present(md, "generateName") || nameUnknown
	if len(olds) > 0 {
		// Keep the old auto-generated name while the object is not replaced.
		if !hasName && isAutonamed(olds) && nameOf(olds) != "" {
			md["name"] = resource.NewStringProperty(nameOf(olds))
			annotationsOf(md)[annotationAutonamed] = resource.NewStringProperty("true")
		}
	} else if !hasName {
		name, err := resource.NewUniqueName(seed, o.urn.Name()+"-", 0, 0, nil)
		if err != nil {
			return nil, nil, err
		}
		md["name"] = resource.NewStringProperty(name)
		annotationsOf(md)[annotationAutonamed] = resource.NewStringProperty("true")
	}
	if defaultNS != "" && !clusterScoped[g.kind] && !present(md, "namespace") && !unknown(md, "namespace") {
		md["namespace"] = resource.NewStringProperty(defaultNS)
	}
	if inputs.ContainsSecrets() {
		o.log(diag.Warning, "rendered YAML will contain a secret value in plaintext")
	}
	return inputs, nil, nil
}

// ---------------------------------------------------------------------------
// Diff

// Fields whose change replaces the object, per kind (from the real provider's
// forceNew table), besides metadata.name and metadata.namespace.
var forceNewByKind = map[string][]string{
	"Deployment":            selectorFields(),
	"DaemonSet":             selectorFields(),
	"StatefulSet":           append([]string{".spec.podManagementPolicy", ".spec.revisionHistoryLimit", ".spec.serviceName", ".spec.volumeClaimTemplates"}, selectorFields()...),
	"Job":                   append([]string{".spec.completions", ".spec.parallelism", ".spec.template"}, selectorFields()...),
	"Service":               {".spec.clusterIP"},
	"PersistentVolumeClaim": append([]string{".spec.accessModes", ".spec.storageClassName", ".spec.volumeName"}, selectorFields()...),
	"RoleBinding":           {".roleRef"},
	"ClusterRoleBinding":    {".roleRef"},
	"StorageClass":          {".parameters", ".provisioner"},
	"ResourceQuota":         {".spec.scopes"},
	"PodDisruptionBudget":   {".spec"},
}

func selectorFields() []string {
	return []string{".spec.selector", ".spec.selector.matchExpressions", ".spec.selector.matchLabels"}
}

func (k *k8sProvider) forceNew(obj resource.PropertyMap) []string {
	_, _, cmMutable, secMutable := k.settings()
	props := []string{".metadata.name", ".metadata.namespace"}
	kind := str(obj, "kind", "")
	immutable := boolean(obj, "immutable", false)
	switch {
	case kind == "Secret" && (!secMutable || immutable):
		props = append(props, ".type", ".stringData", ".data")
	case kind == "Secret":
		props = append(props, ".type")
	case kind == "ConfigMap" && (!cmMutable || immutable):
		props = append(props, ".binaryData", ".data")
	default:
		props = append(props, forceNewByKind[kind]...)
	}
	return props
}

type diffEntry struct {
	path []any // string keys and int indices
	kind pulumirpc.PropertyDiff_Kind
	val  any // new value (old one for deletes)
}

// mappable turns a property map into plain Go values; unknowns become nil
// markers of type resource.Computed.
func mappable(m resource.PropertyMap) map[string]any {
	return plainMap(m).Mappable()
}

func diffValues(path []any, old, new any, out *[]diffEntry) {
	switch {
	case old == nil && new == nil:
		return
	case new == nil:
		*out = append(*out, diffEntry{path, pulumirpc.PropertyDiff_DELETE, old})
		return
	case old == nil:
		*out = append(*out, diffEntry{path, pulumirpc.PropertyDiff_ADD, new})
		return
	}
	if _, unknown := new.(resource.Computed); unknown {
		*out = append(*out, diffEntry{path, pulumirpc.PropertyDiff_UPDATE, new})
		return
	}
	om, oIsMap := old.(map[string]any)
	nm, nIsMap := new.(map[string]any)
	if oIsMap && nIsMap {
		keys := map[string]bool{}
		for key := range om {
			keys[key] = true
		}
		for key := range nm {
			keys[key] = true
		}
		for key := range keys {
			diffValues(append(append([]any{}, path...), key), om[key], nm[key], out)
		}
		return
	}
	oa, oIsArr := old.([]any)
	na, nIsArr := new.([]any)
	if oIsArr && nIsArr {
		for i := 0; i < len(oa) || i < len(na); i++ {
			var o, n any
			if i < len(oa) {
				o = oa[i]
			}
			if i < len(na) {
				n = na[i]
			}
			diffValues(append(append([]any{}, path...), i), o, n, out)
		}
		return
	}
	if !reflect.DeepEqual(old, new) {
		*out = append(*out, diffEntry{path, pulumirpc.PropertyDiff_UPDATE, new})
	}
}

// pathString formats a path the way the real provider names detailed diffs.
func pathString(path []any) string {
	s := ""
	for _, p := range path {
		switch v := p.(type) {
		case string:
			if strings.ContainsAny(v, `."[]`) {
				s = fmt.Sprintf(`%s["%s"]`, s, strings.ReplaceAll(v, `"`, `\"`))
			} else if s != "" {
				s += "." + v
			} else {
				s = v
			}
		case int:
			s = fmt.Sprintf("%s[%d]", s, v)
		}
	}
	return s
}

// matchesForceNew reports whether a change at path touches the field named by
// pattern (".a.b[*].c"): the pattern is a prefix of the path, or the path is a
// prefix of the pattern and the changed value contains the rest of it.
func matchesForceNew(path []any, val any, pattern string) bool {
	var segs []string
	for _, s := range strings.Split(strings.TrimPrefix(pattern, "."), ".") {
		if strings.HasSuffix(s, "[*]") {
			segs = append(segs, strings.TrimSuffix(s, "[*]"), "[*]")
		} else {
			segs = append(segs, s)
		}
	}
	for i, seg := range segs {
		if i >= len(path) {
			return contains(val, segs[i:])
		}
		switch p := path[i].(type) {
		case int:
			if seg != "[*]" {
				return false
			}
		case string:
			if seg != p {
				return false
			}
		}
	}
	return true
}

func contains(val any, segs []string) bool {
	if len(segs) == 0 {
		return true
	}
	if segs[0] == "[*]" {
		arr, ok := val.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if contains(e, segs[1:]) {
				return true
			}
		}
		return false
	}
	m, ok := val.(map[string]any)
	if !ok {
		return false
	}
	v, ok := m[segs[0]]
	return ok && contains(v, segs[1:])
}

func (k *k8sProvider) diff(_ *op, olds, oldInputs, news resource.PropertyMap, ignore []string) (
	*pulumirpc.DiffResponse, error,
) {
	prev := object(olds, "__inputs")
	if prev == nil {
		prev = oldInputs
	}
	prev = prev.Copy()
	normalizeSecret(prev)
	oldObj, newObj := mappable(prev), mappable(news)
	if !clusterScoped[str(news, "kind", "")] {
		for _, obj := range []map[string]any{oldObj, newObj} {
			md, _ := obj["metadata"].(map[string]any)
			if md == nil {
				md = map[string]any{}
				obj["metadata"] = md
			}
			if ns, _ := md["namespace"].(string); ns == "" {
				if _, unknown := md["namespace"].(resource.Computed); !unknown {
					md["namespace"] = "default"
				}
			}
		}
	}
	var entries []diffEntry
	diffValues(nil, oldObj, newObj, &entries)

	forceNew := k.forceNew(news)
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var replaces, diffs []string
	seenTop := map[string]bool{}
	for _, e := range entries {
		p := pathString(e.path)
		if ignoredPath(p, ignore) {
			continue
		}
		kind := e.kind
		for _, pattern := range forceNew {
			if matchesForceNew(e.path, e.val, pattern) {
				switch kind {
				case pulumirpc.PropertyDiff_ADD:
					kind = pulumirpc.PropertyDiff_ADD_REPLACE
				case pulumirpc.PropertyDiff_DELETE:
					kind = pulumirpc.PropertyDiff_DELETE_REPLACE
				case pulumirpc.PropertyDiff_UPDATE:
					kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
				}
				break
			}
		}
		detailed[p] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: e.kind == pulumirpc.PropertyDiff_DELETE}
		switch kind {
		case pulumirpc.PropertyDiff_ADD_REPLACE, pulumirpc.PropertyDiff_DELETE_REPLACE,
			pulumirpc.PropertyDiff_UPDATE_REPLACE:
			replaces = append(replaces, p)
		}
		if top, ok := e.path[0].(string); ok && !seenTop[top] {
			seenTop[top] = true
			diffs = append(diffs, top)
		}
	}
	if len(detailed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}, nil
	}
	sort.Strings(replaces)
	sort.Strings(diffs)
	newMD, _ := newObj["metadata"].(map[string]any)
	oldMD, _ := oldObj["metadata"].(map[string]any)
	deleteBeforeReplace := len(replaces) > 0 && !isAutonamed(news) &&
		reflect.DeepEqual(newMD["name"], oldMD["name"]) && reflect.DeepEqual(newMD["namespace"], oldMD["namespace"])
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: diffs, Stables: []string{},
		DeleteBeforeReplace: deleteBeforeReplace, DetailedDiff: detailed, HasDetailedDiff: true,
	}, nil
}

func ignoredPath(p string, ignore []string) bool {
	for _, i := range ignore {
		if p == i || strings.HasPrefix(p, i+".") || strings.HasPrefix(p, i+"[") {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Create / Update / Delete / Read

// liveOf strips the bookkeeping keys from stored outputs.
func liveOf(state resource.PropertyMap) resource.PropertyMap {
	live := resource.PropertyMap{}
	for key, v := range state {
		if !strings.HasPrefix(string(key), "__") {
			live[key] = v
		}
	}
	return live
}

func (k *k8sProvider) render(o *op, obj resource.PropertyMap) (string, error) {
	dir, _, _, _ := k.settings()
	if dir == "" {
		return "", errors.New(standinOnlyRenders + ": set renderYamlToDirectory on the kubernetes Provider")
	}
	if obj.ContainsUnknowns() {
		return "", errors.New("cannot render an object with unknown values")
	}
	for _, sub := range []string{"0-crd", "1-manifest"} {
		d := filepath.Join(dir, sub)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("failed to create directory for rendered YAML: %q: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return "", err
		}
	}
	jsonBytes, err := json.Marshal(mappable(obj))
	if err != nil {
		return "", fmt.Errorf("failed to render YAML file: %q: %w", dir, err)
	}
	// JSON -> YAML exactly as sigs.k8s.io/yaml.JSONToYAML does (go-yaml v2).
	var generic any
	if err := yaml.Unmarshal(jsonBytes, &generic); err != nil {
		return "", fmt.Errorf("failed to render YAML file: %q: %w", dir, err)
	}
	yamlBytes, err := yaml.Marshal(generic)
	if err != nil {
		return "", fmt.Errorf("failed to render YAML file: %q: %w", dir, err)
	}
	path := renderPath(dir, obj)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".render-*")
	if err != nil {
		return "", fmt.Errorf("failed to write YAML file: %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(yamlBytes)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
	}
	if err != nil {
		return "", fmt.Errorf("failed to write YAML file: %q: %w", path, err)
	}
	if obj.ContainsSecrets() {
		o.log(diag.Warning, fmt.Sprintf("rendered file %s contains a secret value in plaintext", path))
	}
	o.status("rendered " + path)
	return path, nil
}

// checkpoint builds the outputs: the rendered object, its inputs and the
// bookkeeping keys the real provider stores.
func checkpoint(obj resource.PropertyMap, initialAPIVersion, fieldManager string) resource.PropertyMap {
	outs := obj.Copy()
	if str(obj, "kind", "") == "Secret" {
		for _, key := range []resource.PropertyKey{"data", "stringData"} {
			if v, ok := outs[key]; ok {
				outs[key] = secretIf(v, true)
			}
		}
	}
	outs["__inputs"] = resource.NewProperty(obj.Copy())
	outs["__initialApiVersion"] = resource.NewStringProperty(initialAPIVersion)
	outs["__fieldManager"] = resource.NewStringProperty(fieldManager)
	return outs
}

func newFieldManager() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "pulumi-kubernetes-" + hex.EncodeToString(b)
}

func (k *k8sProvider) create(o *op, news resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", news, nil
	}
	if _, err := k.render(o, news); err != nil {
		return "", nil, err
	}
	return fqName(namespaceOf(news), nameOf(news)),
		checkpoint(news, str(news, "apiVersion", ""), newFieldManager()), nil
}

func (k *k8sProvider) update(o *op, olds, _, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	if preview {
		return news, nil
	}
	newPath, err := k.render(o, news)
	if err != nil {
		return nil, err
	}
	dir, _, _, _ := k.settings()
	if oldPath := renderPath(dir, liveOf(olds)); oldPath != newPath {
		_ = os.Remove(oldPath) // e.g. a new apiVersion: drop the stale file
	}
	initial := str(olds, "__initialApiVersion", str(news, "apiVersion", ""))
	fm := str(olds, "__fieldManager", "")
	if fm == "" {
		fm = newFieldManager()
	}
	return checkpoint(news, initial, fm), nil
}

func (k *k8sProvider) delete(o *op, state resource.PropertyMap) error {
	dir, _, _, _ := k.settings()
	if dir == "" {
		return errors.New(standinOnlyRenders)
	}
	file := renderPath(dir, liveOf(state))
	// As upstream, a file that is already gone is not an error.
	_ = os.Remove(file)
	o.status("deleted " + file)
	return nil
}

func (k *k8sProvider) read(o *op, state, inputs resource.PropertyMap) (string, resource.PropertyMap,
	resource.PropertyMap, error,
) {
	// In render mode the upstream provider returns the stored state unchanged.
	return o.id, state, inputs, nil
}
