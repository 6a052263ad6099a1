// Stand-in for the random provider (pulumi/pulumi-random, which bridges
// hashicorp/terraform-provider-random): RandomId, RandomString and RandomPet
// with the upstream encodings, defaults and "every input change replaces".

package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	randomID     = "random:index/randomId:RandomId"
	randomString = "random:index/randomString:RandomString"
	randomPet    = "random:index/randomPet:RandomPet"
)

var randomInputs = map[string][]string{
	randomID: {"byteLength", "keepers", "prefix"},
	randomString: {"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number",
		"numeric", "overrideSpecial", "special", "upper"},
	randomPet: {"keepers", "length", "prefix", "separator"},
}

var randomDefaults = map[string]map[string]resource.PropertyValue{
	randomString: {
		"lower": resource.NewBoolProperty(true), "upper": resource.NewBoolProperty(true),
		"special": resource.NewBoolProperty(true), "numeric": resource.NewBoolProperty(true),
		"number": resource.NewBoolProperty(true), "minLower": resource.NewNumberProperty(0),
		"minUpper": resource.NewNumberProperty(0), "minNumeric": resource.NewNumberProperty(0),
		"minSpecial": resource.NewNumberProperty(0),
	},
	randomPet: {"length": resource.NewNumberProperty(2), "separator": resource.NewStringProperty("-")},
}

var randomComputed = map[string][]string{
	randomID:     {"b64Std", "b64Url", "dec", "hex"},
	randomString: {"result"},
	randomPet:    {},
}

type randomProvider struct{}

func newRandom() handler { return &randomProvider{} }

func (r *randomProvider) configure(map[string]string, resource.PropertyMap) error { return nil }

func (r *randomProvider) checkConfig(resource.PropertyMap) []*pulumirpc.CheckFailure { return nil }

func (r *randomProvider) diffConfig(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	return plainConfigDiff(olds, news)
}

func (r *randomProvider) check(o *op, _, news resource.PropertyMap, _ []byte) (resource.PropertyMap,
	[]*pulumirpc.CheckFailure, error,
) {
	if _, ok := randomInputs[o.typ]; !ok {
		return nil, nil, fmt.Errorf("resource type %s is not implemented by the stand-in random provider", o.typ)
	}
	var fails []*pulumirpc.CheckFailure
	atLeast := func(prop string, min int64, required bool) {
		if !present(news, prop) {
			if required {
				fails = append(fails, &pulumirpc.CheckFailure{Property: prop,
					Reason: fmt.Sprintf("Missing required argument: The argument %q is required.", prop)})
			}
			return
		}
		if !unknown(news, prop) && num(news, prop, min) < min {
			fails = append(fails, &pulumirpc.CheckFailure{Property: prop,
				Reason: fmt.Sprintf("Attribute %s value must be at least %d, got: %d", prop, min, num(news, prop, min))})
		}
	}
	switch o.typ {
	case randomID:
		atLeast("byteLength", 1, true)
	case randomString:
		atLeast("length", 1, true)
		for _, k := range []string{"minLower", "minUpper", "minNumeric", "minSpecial"} {
			atLeast(k, 0, false)
		}
	case randomPet:
		atLeast("length", 1, false)
	}
	return news, fails, nil
}

func (r *randomProvider) withDefaults(typ string, m resource.PropertyMap, k string) resource.PropertyValue {
	if v, ok := m[resource.PropertyKey(k)]; ok && !plain(v).IsNull() {
		return v
	}
	if d, ok := randomDefaults[typ][k]; ok {
		return d
	}
	return resource.NewNullProperty()
}

func (r *randomProvider) diff(o *op, olds, oldInputs, news resource.PropertyMap, ignore []string) (
	*pulumirpc.DiffResponse, error,
) {
	keys := randomInputs[o.typ]
	prev := inputsOf(olds, oldInputs, keys)
	var changed []string
	for _, k := range keys {
		if ignored(k, ignore) {
			continue
		}
		ov, nv := r.withDefaults(o.typ, prev, k), r.withDefaults(o.typ, news, k)
		if nv.ContainsUnknowns() || !sameValue(ov, nv) {
			changed = append(changed, k)
		}
	}
	return replaceDiff(changed), nil
}

func (r *randomProvider) create(o *op, news resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	keys, ok := randomInputs[o.typ]
	if !ok {
		return "", nil, fmt.Errorf("resource type %s is not implemented by the stand-in random provider", o.typ)
	}
	outs := resource.PropertyMap{}
	for _, k := range keys {
		if v := r.withDefaults(o.typ, news, k); !v.IsNull() {
			outs[resource.PropertyKey(k)] = v
		}
	}
	if o.typ == randomString {
		// "number" is the deprecated spelling of "numeric"; both report the value in use.
		numeric := boolean(news, "numeric", boolean(news, "number", true))
		outs["numeric"] = resource.NewBoolProperty(numeric)
		outs["number"] = resource.NewBoolProperty(numeric)
	}
	if preview {
		for _, k := range randomComputed[o.typ] {
			outs[resource.PropertyKey(k)] = computedString()
		}
		return "", outs, nil
	}
	switch o.typ {
	case randomID:
		return createRandomID(news, outs)
	case randomString:
		return createRandomString(outs)
	default:
		return createRandomPet(news, outs)
	}
}

func createRandomID(news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	b := make([]byte, num(news, "byteLength", 0))
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("Random Read Error: %w", err)
	}
	prefix := str(news, "prefix", "")
	id := base64.RawURLEncoding.EncodeToString(b)
	outs["b64Url"] = resource.NewStringProperty(prefix + id)
	outs["b64Std"] = resource.NewStringProperty(prefix + base64.StdEncoding.EncodeToString(b))
	outs["hex"] = resource.NewStringProperty(prefix + hex.EncodeToString(b))
	outs["dec"] = resource.NewStringProperty(prefix + new(big.Int).SetBytes(b).String())
	return id, outs, nil
}

func pick(charset string, n int) ([]byte, error) {
	out := make([]byte, n)
	limit := big.NewInt(int64(len(charset)))
	for i := range out {
		idx, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, err
		}
		out[i] = charset[idx.Int64()]
	}
	return out, nil
}

func createRandomString(outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	const (
		numChars   = "0123456789"
		lowerChars = "abcdefghijklmnopqrstuvwxyz"
		upperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	)
	special := "!@#$%&*()-_=+[]{}<>:?"
	if s := str(outs, "overrideSpecial", ""); s != "" {
		special = s
	}
	length := int(num(outs, "length", 0))
	mins := []struct {
		set string
		n   int
	}{
		{numChars, int(num(outs, "minNumeric", 0))}, {lowerChars, int(num(outs, "minLower", 0))},
		{upperChars, int(num(outs, "minUpper", 0))}, {special, int(num(outs, "minSpecial", 0))},
	}
	total := 0
	for _, m := range mins {
		total += m.n
	}
	if length < total {
		return "", nil, fmt.Errorf("length (%d) must be >= min_upper + min_lower + min_numeric + min_special (%d)",
			length, total)
	}
	chars := ""
	if boolean(outs, "upper", true) {
		chars += upperChars
	}
	if boolean(outs, "lower", true) {
		chars += lowerChars
	}
	if boolean(outs, "numeric", true) {
		chars += numChars
	}
	if boolean(outs, "special", true) {
		chars += special
	}
	if chars == "" && length > total {
		return "", nil, fmt.Errorf("no character set is enabled (upper, lower, numeric and special are all false)")
	}
	var result []byte
	for _, m := range mins {
		b, err := pick(m.set, m.n)
		if err != nil {
			return "", nil, err
		}
		result = append(result, b...)
	}
	rest, err := pick(chars, length-len(result))
	if err != nil {
		return "", nil, err
	}
	result = append(result, rest...)
	order := make([]byte, len(result))
	if _, err := rand.Read(order); err != nil {
		return "", nil, err
	}
	idx := make([]int, len(result))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return order[idx[a]] < order[idx[b]] })
	shuffled := make([]byte, len(result))
	for i, j := range idx {
		shuffled[i] = result[j]
	}
	outs["result"] = resource.NewStringProperty(string(shuffled))
	return string(shuffled), outs, nil
}

func createRandomPet(news, outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	length := int(num(outs, "length", 2))
	sep := str(outs, "separator", "-")
	word := func(list []string) (string, error) {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		if err != nil {
			return "", err
		}
		return list[i.Int64()], nil
	}
	var parts []string
	for i := 0; i < length; i++ {
		list := petAdverbs
		switch {
		case i == length-1:
			list = petNames
		case i == length-2:
			list = petAdjectives
		}
		w, err := word(list)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, w)
	}
	pet := strings.Join(parts, sep)
	if p := str(news, "prefix", ""); p != "" {
		pet = p + sep + pet
	}
	return pet, outs, nil
}

func (r *randomProvider) read(o *op, state, inputs resource.PropertyMap) (string, resource.PropertyMap,
	resource.PropertyMap, error,
) {
	return o.id, state, inputs, nil
}

// update is only reached for changes that do not replace, which random has none of.
func (r *randomProvider) update(_ *op, olds, _, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	outs := olds.Copy()
	for k, v := range news {
		outs[k] = v
	}
	return outs, nil
}

func (r *randomProvider) delete(*op, resource.PropertyMap) error { return nil }

// Word lists for RandomPet (this project's own; the upstream uses the
// dustinkirkland/golang-petname lists, so names differ, not their shape).
var petAdverbs = strings.Fields(`ably briefly calmly deeply easily fairly gently gladly happily
	honestly kindly lightly loudly mainly merely mostly neatly nicely openly partly quickly quietly
	rapidly really shortly simply slowly smoothly solely surely swiftly truly vastly warmly wholly`)

var petAdjectives = strings.Fields(`able active amazed ample apt awake bold brave bright busy calm
	capable careful charmed clean clever cool cosmic crisp curious daring eager easy epic fair fancy
	fast fine firm fit fluent fond free fresh funny gentle giving glad golden good grand great happy
	hardy helpful honest humble ideal innocent keen kind known large lasting legal light liked live
	lucky magical main massive mature merry mighty modern moral musical natural neat noble normal
	novel open optimal patient perfect pleasant polite precious present prime proper quick quiet
	rapid rare ready relaxed renewed resolved rich robust safe secure sharp shining simple sincere
	smart smooth social solid sound special stable steady sterling still strong sunny super sure
	sweet tender tidy touched tough true trusted unique united up usable valid vast verified vital
	warm welcome well whole wise witty worthy`)

var petNames = strings.Fields(`aardvark adder albatross alpaca anchovy ant antelope ape asp
	baboon badger bass bat bear beaver bee beetle bengal bird bison bluebird boa boar bobcat bream
	buck buffalo bug bull bunny burro calf camel cardinal caribou cat catfish cattle chamois cheetah
	chicken chimp chipmunk cicada civet clam cobra cod colt condor coral cougar cow coyote crab crane
	crayfish cricket crow cub cuckoo dane deer dingo doe dodo dog dolphin donkey dove dragon duck eagle
	eel egret elephant elk emu ewe falcon fawn ferret finch fish flamingo flea fly foal fox frog gannet
	gar gazelle gecko gibbon giraffe gnat gnu goat goose gopher gorilla grouse gull hagfish halibut
	hamster hare hawk hen heron hog horse hound hyena ibex ibis iguana impala insect jackal jaguar
	jay jennet joey kangaroo katydid kid kit kite kitten koala koi lamb lark leech lemming lemur
	leopard liger lion lizard llama lobster locust lynx macaque macaw magpie mako mallard mammal
	manatee mantis marlin marmot marten mastiff mayfly meerkat mink minnow mole mollusk monkey moose
	moth mouse mule mullet mustang narwhal newt nightingale ocelot octopus orca oriole osprey ostrich
	otter owl ox oyster panda panther parrot peacock pegasus pelican penguin perch pheasant pig pigeon
	piranha pony poodle porpoise possum prawn primate puffin puma python quagga quail rabbit raccoon
	ram raptor rat raven ray redbird reindeer reptile rhino robin rodent rooster salmon sawfly
	scorpion seahorse seal shark sheep shrew shrimp skink skunk sloth slug snail snake snipe sole
	sparrow spider squid squirrel stag starfish stingray stork sturgeon swan swift tahr tapir tarpon
	termite tern terrier tetra thrush tick tiger toad tomcat tortoise toucan trout tuna turkey turtle
	unicorn urchin viper vulture wahoo walleye walrus warthog wasp weasel weevil whale whippet
	wildcat wolf wombat woodcock worm wren yak zebra`)
