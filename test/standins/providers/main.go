// STAND-IN resource provider plugins for the Pulumi engine.
//
// This program is NOT one of Pulumi's providers. It is owned by this project
// (test/standins/providers) and is built by engine/build.sh only when the Go
// module proxy refuses the real provider modules (github.com/pulumi/pulumi-tls,
// pulumi-random), so that the real `pulumi` CLI can run the project's stacks on
// a machine without release downloads. Pulumi's own kubernetes provider is
// built from its module, which the proxy serves, so it has no stand-in.
//
// One source tree, two binaries: build.sh links it as pulumi-resource-tls and
// pulumi-resource-random, stamping
// -X main.pluginName=<name> -X main.pluginVersion=<version> (the version the
// matching @pulumi/<name> npm package asks for). Each mirrors the documented
// behaviour of the real provider for the resource types this project uses:
//
//	tls.go         tls:index/{privateKey,selfSignedCert,certRequest,locallySignedCert}
//	random.go      random:index/{randomId,randomString,randomPassword,randomPet}
//
// The gaps against the real providers are listed in engine/README.md.
//
// Test hook: MTLS_NOW=<RFC3339 time> replaces the tls clock (issuance and the
// early-renewal check), so renewal can be exercised without waiting.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Stamped at link time by engine/build.sh.
var (
	pluginName    = ""
	pluginVersion = "0.0.0-dev"
)

// op carries what every resource operation needs besides its properties.
type op struct {
	ctx  context.Context
	urn  resource.URN
	typ  string // type token, e.g. tls:index/privateKey:PrivateKey
	id   string
	host *provider.HostClient
}

func (o *op) log(sev diag.Severity, msg string) {
	if o.host != nil {
		_ = o.host.Log(o.ctx, sev, o.urn, msg)
	}
}

func (o *op) status(msg string) {
	if o.host != nil {
		_ = o.host.LogStatus(o.ctx, diag.Info, o.urn, msg)
	}
}

// handler is what each stand-in provider implements; the gRPC glue below
// unmarshals and marshals properties around it.
type handler interface {
	configure(vars map[string]string, args resource.PropertyMap) error
	checkConfig(news resource.PropertyMap) []*pulumirpc.CheckFailure
	diffConfig(olds, news resource.PropertyMap) *pulumirpc.DiffResponse
	check(o *op, olds, news resource.PropertyMap, seed []byte) (resource.PropertyMap, []*pulumirpc.CheckFailure, error)
	diff(o *op, olds, oldInputs, news resource.PropertyMap, ignoreChanges []string) (*pulumirpc.DiffResponse, error)
	create(o *op, news resource.PropertyMap, preview bool) (string, resource.PropertyMap, error)
	read(o *op, state, inputs resource.PropertyMap) (string, resource.PropertyMap, resource.PropertyMap, error)
	update(o *op, olds, oldInputs, news resource.PropertyMap, preview bool) (resource.PropertyMap, error)
	delete(o *op, state resource.PropertyMap) error
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer

	host *provider.HostClient
	h    handler

	mu            sync.Mutex
	acceptSecrets bool
}

func main() {
	var h handler
	switch pluginName {
	case "tls":
		h = newTLS()
	case "random":
		h = newRandom()
	default:
		fmt.Fprintf(os.Stderr, "stand-in provider built without a known -X main.pluginName (got %q)\n", pluginName)
		os.Exit(2)
	}
	err := provider.Main(pluginName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{host: host, h: h}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-%s (stand-in): %v\n", pluginName, err)
		os.Exit(1)
	}
}

// ---------------------------------------------------------------------------
// Marshalling

func (s *server) keepSecrets() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acceptSecrets
}

func unmarshal(label string, st *structpb.Struct) (resource.PropertyMap, error) {
	if st == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(st, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

func (s *server) marshal(label string, pm resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(pm, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: s.keepSecrets(), SkipNulls: true,
	})
}

func (s *server) op(ctx context.Context, urn, typ, id string) *op {
	u := resource.URN(urn)
	if typ == "" && u.IsValid() {
		typ = string(u.Type())
	}
	return &op{ctx: ctx, urn: u, typ: typ, id: id, host: s.host}
}

func opError(o *op, verb string, err error) error {
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	return fmt.Errorf("%s %s (stand-in %s provider): %w", verb, o.urn.Name(), pluginName, err)
}

// ---------------------------------------------------------------------------
// Plugin-level RPCs

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	schema, err := json.Marshal(map[string]any{
		"name":    pluginName,
		"version": pluginVersion,
		"description": fmt.Sprintf("STAND-IN for the %s provider, built by engine/build.sh from "+
			"engine/standin-providers; not Pulumi's provider", pluginName),
		"resources": map[string]any{},
		"functions": map[string]any{},
	})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(schema)}, nil
}

func (s *server) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (s *server) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}

func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, status.Errorf(codes.Unimplemented,
		"function %s is not implemented by the stand-in %s provider (engine/standin-providers)", req.GetTok(), pluginName)
}

func (s *server) Call(_ context.Context, req *pulumirpc.CallRequest) (*pulumirpc.CallResponse, error) {
	return nil, status.Errorf(codes.Unimplemented,
		"method %s is not implemented by the stand-in %s provider (engine/standin-providers)", req.GetTok(), pluginName)
}

func (s *server) Construct(_ context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	return nil, status.Errorf(codes.Unimplemented,
		"component %s is not implemented by the stand-in %s provider (engine/standin-providers)", req.GetType(), pluginName)
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: s.h.checkConfig(news)}, nil
}

func (s *server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal("olds", req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	if req.GetOldInputs() == nil {
		if olds, err = unmarshal("olds", req.GetOlds()); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	return s.h.diffConfig(olds, news), nil
}

func (s *server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	s.mu.Lock()
	s.acceptSecrets = req.GetAcceptSecrets()
	s.mu.Unlock()
	args, err := unmarshal("args", req.GetArgs())
	if err != nil {
		return nil, err
	}
	if err := s.h.configure(req.GetVariables(), args); err != nil {
		return nil, err
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// plainConfigDiff is the DiffConfig of providers whose configuration never
// forces a replacement.
func plainConfigDiff(olds, news resource.PropertyMap, replaceOn ...string) *pulumirpc.DiffResponse {
	changed := changedKeys(olds, news, nil)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	var replaces []string
	for _, k := range changed {
		for _, r := range replaceOn {
			if k == r {
				replaces = append(replaces, k)
			}
		}
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed, Replaces: replaces}
}

// ---------------------------------------------------------------------------
// Resource RPCs

func (s *server) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), "")
	olds, err := unmarshal("olds", req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	inputs, failures, err := s.h.check(o, olds, news, req.GetRandomSeed())
	if err != nil {
		return nil, opError(o, "check", err)
	}
	st, err := s.marshal("inputs", inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: st, Failures: failures}, nil
}

func (s *server) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), req.GetId())
	olds, err := unmarshal("olds", req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal("oldInputs", req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	resp, err := s.h.diff(o, olds, oldInputs, news, req.GetIgnoreChanges())
	if err != nil {
		return nil, opError(o, "diff", err)
	}
	return resp, nil
}

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), "")
	news, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, outs, err := s.h.create(o, news, req.GetPreview())
	if err != nil {
		return nil, opError(o, "create", err)
	}
	st, err := s.marshal("outputs", outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: st}, nil
}

func (s *server) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), req.GetId())
	state, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal("inputs", req.GetInputs())
	if err != nil {
		return nil, err
	}
	id, outs, ins, err := s.h.read(o, state, inputs)
	if err != nil {
		return nil, opError(o, "read", err)
	}
	if id == "" {
		return &pulumirpc.ReadResponse{}, nil // gone
	}
	ost, err := s.marshal("outputs", outs)
	if err != nil {
		return nil, err
	}
	ist, err := s.marshal("inputs", ins)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: ost, Inputs: ist}, nil
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), req.GetId())
	olds, err := unmarshal("olds", req.GetOlds())
	if err != nil {
		return nil, err
	}
	oldInputs, err := unmarshal("oldInputs", req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	outs, err := s.h.update(o, olds, oldInputs, news, req.GetPreview())
	if err != nil {
		return nil, opError(o, "update", err)
	}
	st, err := s.marshal("outputs", outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: st}, nil
}

func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	o := s.op(ctx, req.GetUrn(), req.GetType(), req.GetId())
	state, err := unmarshal("properties", req.GetProperties())
	if err != nil {
		return nil, err
	}
	if err := s.h.delete(o, state); err != nil {
		return nil, opError(o, "delete", err)
	}
	return &emptypb.Empty{}, nil
}

// ---------------------------------------------------------------------------
// Shared diff helpers

// replaceDiff reports every changed key as a replacement (the rule of the tls
// and random resources: their inputs are all "requires replace" apart from the
// few listed in inPlace).
func replaceDiff(changed []string, inPlace ...string) *pulumirpc.DiffResponse {
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}
	}
	sort.Strings(changed)
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var replaces []string
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE_REPLACE
		for _, p := range inPlace {
			if p == k {
				kind = pulumirpc.PropertyDiff_UPDATE
			}
		}
		if kind == pulumirpc.PropertyDiff_UPDATE_REPLACE {
			replaces = append(replaces, k)
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed, Replaces: replaces,
		DetailedDiff: detailed, HasDetailedDiff: true,
	}
}

// inputsOf picks the previous inputs for a diff: the engine's old inputs when
// it sent them, otherwise the input keys of the old outputs.
func inputsOf(olds, oldInputs resource.PropertyMap, inputKeys []string) resource.PropertyMap {
	if len(oldInputs) > 0 {
		return oldInputs
	}
	out := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := olds[resource.PropertyKey(k)]; ok {
			out[resource.PropertyKey(k)] = v
		}
	}
	return out
}

// echo copies the given input keys from news into outs, keeping secretness.
func echo(outs, news resource.PropertyMap, keys ...string) {
	for _, k := range keys {
		if v, ok := news[resource.PropertyKey(k)]; ok {
			outs[resource.PropertyKey(k)] = v
		}
	}
}
