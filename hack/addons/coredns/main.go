// CoreDNS for the local node (hack/cluster/node-addons.ts), built by hack/build-addons.sh with
// only the plugins its Corefile uses plus the few an operator reaches for when debugging. The
// stock binary compiles in every plugin, among them the AWS, Azure and Google Cloud DNS backends
// and Datadog tracing, which more than triples a cold build on two cores. This is CoreDNS's own
// way of choosing plugins at compile time (plugin.cfg), done without regenerating its sources:
// the same coremain, with the directive list narrowed to these plugins in upstream's order.
package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/template"
)

// The directive names of the plugins imported above ("prometheus" is the metrics plugin's).
var plugins = []string{
	"bind", "cache", "errors", "health", "kubernetes", "loadbalance", "log", "prometheus",
	"ready", "reload", "template",
}

func init() {
	// Upstream's list fixes the order in which plugins see a query; keep that order.
	kept := make([]string, 0, len(plugins))
	for _, d := range dnsserver.Directives {
		if slices.Contains(plugins, d) {
			kept = append(kept, d)
		}
	}
	if len(kept) != len(plugins) {
		fmt.Fprintf(os.Stderr, "coredns: directives %v not all in upstream's list %v\n", plugins, dnsserver.Directives)
		os.Exit(2)
	}
	dnsserver.Directives = kept
}

func main() {
	coremain.Run()
}
