// Command cert-manager-controller runs cert-manager's own controllers, taken from the
// github.com/cert-manager/cert-manager module, against one API server.
//
// cert-manager's upstream main lives in the separate module
// github.com/cert-manager/cert-manager/cmd/controller, which the Go module proxy does
// not serve. This small main does what that one does for the controllers a CA issuer
// needs: it builds cert-manager's ContextFactory from a kubeconfig, constructs the
// controllers that cert-manager's packages register themselves under, starts the
// shared informers and runs every control loop until SIGINT/SIGTERM. No leader
// election, no webhook, no metrics server.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each package registers its controller with controllerpkg in init().
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The CA issuer implementation used by the issuers and clusterissuers controllers.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
)

// The controllers this main runs; each name is the one its package registers.
var wanted = []string{
	"issuers",
	"clusterissuers",
	"certificaterequests-approver",
	"certificaterequests-issuer-ca",
	"certificates-trigger",
	"certificates-key-manager",
	"certificates-request-manager",
	"certificates-issuing",
	"certificates-readiness",
	"certificates-revision-manager",
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "path to the kubeconfig")
	namespace := flag.String("namespace", "", "watch only this namespace (default: all)")
	clusterNS := flag.String("cluster-resource-namespace", "cert-manager",
		"namespace that holds the Secrets ClusterIssuers refer to")
	workers := flag.Int("workers", 2, "workers per controller")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()
	logf.InitLogs()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "cert-manager-controller")

	opts := controllerpkg.ContextOptions{
		Kubeconfig:         *kubeconfig,
		Namespace:          *namespace,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: *clusterNS},
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Minute,
			CertificateRequestMaximumBackoffDuration: 10 * time.Minute,
		},
	}
	factory, err := controllerpkg.NewContextFactory(ctx, opts)
	if err != nil {
		fail("building the controller context: %v", err)
	}

	known := controllerpkg.Known()
	type loop struct {
		name string
		ctl  controllerpkg.Interface
	}
	var loops []loop
	for _, name := range wanted {
		construct, ok := known[name]
		if !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			fail("controller %q is not registered; registered: %s", name, strings.Join(names, ", "))
		}
		ctl, err := construct(factory)
		if err != nil {
			fail("constructing controller %q: %v", name, err)
		}
		loops = append(loops, loop{name, ctl})
	}

	// The informer factories are shared by every Context the factory builds.
	shared, err := factory.Build()
	if err != nil {
		fail("building the shared context: %v", err)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	fmt.Fprintf(os.Stderr, "cert-manager-controller: running %s\n", strings.Join(wanted, ", "))
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func(l loop) {
			defer wg.Done()
			if err := l.ctl.Run(*workers, ctx); err != nil {
				fmt.Fprintf(os.Stderr, "cert-manager-controller: %s stopped: %v\n", l.name, err)
				stop()
			}
		}(l)
	}
	wg.Wait()
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cert-manager-controller: "+format+"\n", args...)
	os.Exit(1)
}
