// The main of Pulumi's kubernetes provider, as engine/build.sh links it: the
// provider module's own main embeds a schema file that its module zip does not
// carry, so build.sh copies this file beside the module's committed
// schema.json (its version set to the npm package's) and terraform-mapping.json.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() { provider.Serve("kubernetes", version.Version, schema, terraformMapping) }
