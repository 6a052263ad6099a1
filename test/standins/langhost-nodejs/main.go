// Stand-in Node.js language host for the Pulumi CLI.
//
// The real pulumi-language-nodejs lives in its own Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), which the
// Go module proxy reachable here refuses at the release commit. engine/build.sh
// builds this program instead, against the same github.com/pulumi/pulumi/sdk/v3
// version as the CLI, and only when the real module cannot be had.
//
// It implements the parts of the LanguageRuntime gRPC service that `pulumi
// stack init / preview / up / destroy` and the Automation API use for a
// TypeScript or JavaScript program: Handshake, GetPluginInfo,
// GetRequiredPackages/GetRequiredPlugins (read from node_modules package.json
// "pulumi" blocks), Run (spawns node on @pulumi/pulumi/cmd/run, the program
// entry point of the installed SDK), About, GetProgramDependencies,
// InstallDependencies (npm/yarn/pnpm install), RuntimeOptionsPrompts, and
// RunPlugin for policy packs (kind "analyzer": @pulumi/pulumi/cmd/run-policy-pack,
// as the real host runs them). Code generation and RunPlugin for other plugin
// kinds (Node.js component providers) are not implemented and answer
// Unimplemented.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Version is stamped at build time (-X main.Version=...).
var Version = "0.0.0-dev"

// Exit code with which @pulumi/pulumi's run script says it already reported the
// error to the user (nodeJSProcessExitedAfterLoggingUserActionableMessage).
const exitCodeAlreadyReported = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
}

func main() {
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint")
	flag.String("root", "", "project root (ignored)")
	flag.Bool("typescript", true, "(ignored, read from runtime options)")
	flag.String("tsconfig", "", "(ignored, read from runtime options)")
	flag.String("nodeargs", "", "(ignored, read from runtime options)")
	flag.Parse()

	h := &host{tracing: *tracing}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start RPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// ---------------------------------------------------------------------------
// Program options and directories

type options struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
	pkgManager string
}

func readOptions(info *pulumirpc.ProgramInfo) options {
	o := options{typescript: true}
	if info == nil || info.GetOptions() == nil {
		return o
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok && strings.TrimSpace(v) != "" {
		o.nodeargs = strings.Fields(v)
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.pkgManager = v
	}
	return o
}

func programDir(info *pulumirpc.ProgramInfo, pwd string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if pwd != "" {
		return pwd
	}
	wd, _ := os.Getwd()
	return wd
}

func findNode() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("could not find node on the $PATH: install Node.js")
	}
	return p, nil
}

// resolveModule asks node where `request` resolves from dir, so node_modules
// found by walking up, symlinked node_modules and NODE_PATH all work.
func resolveModule(nodeBin, dir, request string) (string, error) {
	script := "process.stdout.write(require.resolve(" + strconv.Quote(request) + "))"
	cmd := exec.Command(nodeBin, "-e", script)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot resolve %s from %s (is @pulumi/pulumi installed? run npm install): %v: %s",
			request, dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// ---------------------------------------------------------------------------
// Required plugins: every package.json under node_modules with a "pulumi"
// block that says resource: true.

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"`
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// nodeModulesDirs lists node_modules folders visible from dir: dir and each
// parent, then NODE_PATH entries.
func nodeModulesDirs(dir string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			if st, err := os.Stat(real); err == nil && st.IsDir() && !seen[real] {
				seen[real] = true
				dirs = append(dirs, d)
			}
		}
	}
	for d := dir; ; {
		add(filepath.Join(d, "node_modules"))
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for _, d := range filepath.SplitList(os.Getenv("NODE_PATH")) {
		if d != "" {
			add(d)
		}
	}
	return dirs
}

func collectPackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	found := map[string]*pulumirpc.PackageDependency{}
	visit := func(pkgDir string) {
		p, err := readPackageJSON(filepath.Join(pkgDir, "package.json"))
		if err != nil || p.Pulumi == nil || !p.Pulumi.Resource {
			return
		}
		name := p.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(p.Name, "@pulumi/")
			name = strings.TrimPrefix(name, "@")
			name = strings.ReplaceAll(name, "/", "-")
		}
		version := p.Pulumi.Version
		if version == "" {
			version = p.Version
		}
		if version != "" && !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		dep := &pulumirpc.PackageDependency{
			Kind: "resource", Name: name, Version: version, Server: p.Pulumi.Server,
		}
		if pz := p.Pulumi.Parameterization; pz != nil && pz.Name != "" {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: pz.Name, Version: pz.Version, Value: pz.Value,
			}
		}
		key := name + "@" + version
		if dep.Parameterization != nil {
			key += "/" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
		}
		if _, ok := found[key]; !ok {
			found[key] = dep
		}
	}
	var walk func(nm string, depth int)
	walk = func(nm string, depth int) {
		entries, err := os.ReadDir(nm)
		if err != nil {
			return
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			p := filepath.Join(nm, n)
			if strings.HasPrefix(n, "@") {
				scoped, err := os.ReadDir(p)
				if err != nil {
					continue
				}
				for _, s := range scoped {
					sp := filepath.Join(p, s.Name())
					visit(sp)
					if depth < 8 {
						walk(filepath.Join(sp, "node_modules"), depth+1)
					}
				}
				continue
			}
			visit(p)
			if depth < 8 {
				walk(filepath.Join(p, "node_modules"), depth+1)
			}
		}
	}
	for _, nm := range nodeModulesDirs(dir) {
		walk(nm, 0)
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*pulumirpc.PackageDependency, 0, len(keys))
	for _, k := range keys {
		out = append(out, found[k])
	}
	return out, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := collectPackages(programDir(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := collectPackages(programDir(req.GetInfo(), req.GetPwd()))
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, p := range pkgs {
		if p.Parameterization != nil {
			continue
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// ---------------------------------------------------------------------------
// Run

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	nodeBin, err := findNode()
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	opts := readOptions(info)

	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath, err = resolveModule(nodeBin, dir, "@pulumi/pulumi/cmd/run")
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
	}

	config := req.GetConfig()
	if config == nil {
		// As the real language host: "{}" rather than "null", which
		// @pulumi/pulumi's config parser cannot read (Object.keys(null)).
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing config secret keys: %w", err)
	}

	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k+"="+v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engine)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	if info != nil {
		add("root-directory", info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	add("tracing", h.tracing)
	entry := req.GetProgram()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := os.Environ()
	env = append(env,
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code := exitErr.ExitCode()
			if code == exitCodeAlreadyReported {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run node): %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// ---------------------------------------------------------------------------
// About, dependencies, install, prompts

func nodeVersion(nodeBin string) string {
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
}

func (h *host) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := findNode()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    nodeVersion(nodeBin),
		Metadata:   map[string]string{"languageHost": "mtls-engine stand-in " + Version},
	}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	names := map[string]bool{}
	for n := range p.Dependencies {
		names[n] = true
	}
	if req.GetTransitiveDependencies() {
		for n := range p.DevDependencies {
			names[n] = true
		}
	}
	var deps []*pulumirpc.DependencyInfo
	for n := range names {
		version := ""
		for _, nm := range nodeModulesDirs(dir) {
			if q, err := readPackageJSON(filepath.Join(nm, n, "package.json")); err == nil {
				version = q.Version
				break
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: version})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

type streamWriter struct {
	send   func(*pulumirpc.InstallDependenciesResponse) error
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	r := &pulumirpc.InstallDependenciesResponse{}
	if w.stderr {
		r.Stderr = b
	} else {
		r.Stdout = b
	}
	if err := w.send(r); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetDirectory()
	if info := req.GetInfo(); info != nil && info.GetProgramDirectory() != "" {
		dir = info.GetProgramDirectory()
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return nil
	}
	manager := readOptions(req.GetInfo()).pkgManager
	if manager == "" || manager == "auto" {
		manager = "npm"
		switch {
		case fileExists(filepath.Join(dir, "yarn.lock")):
			manager = "yarn"
		case fileExists(filepath.Join(dir, "pnpm-lock.yaml")):
			manager = "pnpm"
		}
	}
	bin, err := exec.LookPath(manager)
	if err != nil {
		return status.Errorf(codes.FailedPrecondition, "%s not found on $PATH", manager)
	}
	cmd := exec.CommandContext(server.Context(), bin, "install")
	cmd.Dir = dir
	var mu sync.Mutex
	send := func(r *pulumirpc.InstallDependenciesResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return server.Send(r)
	}
	cmd.Stdout = io.Writer(streamWriter{send: send})
	cmd.Stderr = io.Writer(streamWriter{send: send, stderr: true})
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s install failed: %w", manager, err)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// ---------------------------------------------------------------------------
// RunPlugin: policy packs
//
// For `pulumi preview --policy-pack <dir>` the CLI (pkg/resource/plugin:
// NewPolicyAnalyzer, then newPlugin) finds the nodejs language host, calls
// RunPlugin with Kind "analyzer", Info.ProgramDirectory = <dir> (the folder of
// PulumiPolicy.yaml), Args = [engine address] and Env = its environment, and
// reads the analyzer's port as the first line of the streamed stdout. Like the
// real host, this runs `node <@pulumi/pulumi/cmd/run-policy-pack> <args...>
// <dir>` in <dir> (resolved from <dir>, so the pack's own @pulumi/pulumi is
// used), behind the SDK's PolicyProxy: the proxy answers Handshake and
// ConfigureStack itself, so the stack's organization, project, stack, dry-run
// flag and config reach the pack as the PULUMI_NODEJS_* and PULUMI_CONFIG
// variables @pulumi/pulumi reads, and forwards every other Analyzer call to the
// pack once it has printed its own port.

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetKind() != string(apitype.AnalyzerPlugin) {
		return status.Errorf(codes.Unimplemented,
			"the stand-in nodejs language host runs policy packs only, not %q plugins (Node.js component providers)", req.GetKind())
	}
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "the stand-in nodejs language host cannot attach a debugger to a policy pack")
	}
	ctx := server.Context()
	dir := programDir(req.GetInfo(), req.GetPwd())

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	nodeBin, err := findNode()
	if err != nil {
		return err
	}
	runPath, err := resolveModule(nodeBin, dir, "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		return fmt.Errorf("policy pack in %s: %w", dir, err)
	}
	opts := readOptions(req.GetInfo())

	env := append([]string{}, req.GetEnv()...)
	if len(env) == 0 {
		env = os.Environ()
	}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	// The CLI talks to the proxy first; the pack starts once the stack's configuration is known.
	proxy, packStdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	config, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
	}
	if config != nil {
		set := func(k, v string) {
			if v != "" {
				env = append(env, k+"="+v)
			}
		}
		set("PULUMI_NODEJS_ORGANIZATION", config.GetOrganization())
		set("PULUMI_NODEJS_PROJECT", config.GetProject())
		set("PULUMI_NODEJS_STACK", config.GetStack())
		set("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
		if c := config.GetConfig(); c != nil {
			configJSON, err := json.Marshal(c)
			if err != nil {
				return fmt.Errorf("serializing the stack configuration: %w", err)
			}
			set("PULUMI_CONFIG", string(configJSON))
		}
		if keys := config.GetConfigSecretKeys(); len(keys) > 0 {
			keysJSON, err := json.Marshal(keys)
			if err != nil {
				return fmt.Errorf("serializing the secret config keys: %w", err)
			}
			set("PULUMI_CONFIG_SECRET_KEYS", string(keysJSON))
		}
	}

	// Node options go to node; then the script, the engine address the CLI passed, and the pack's folder last.
	args := append([]string{}, opts.nodeargs...)
	args = append(args, runPath)
	args = append(args, req.GetArgs()...)
	args = append(args, dir)
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	// Policy packs run in their own folder: @pulumi/policy reads ./package.json for the pack's version.
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = packStdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start node for the policy pack: %w", err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("policy pack exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return fmt.Errorf("policy pack %s: %w", dir, err)
	}
	return closer.Close()
}
