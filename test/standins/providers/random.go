// Stand-in for the random provider (pulumi/pulumi-random, which bridges
// hashicorp/terraform-provider-random): RandomId, RandomString, RandomPassword and
// RandomPet with the upstream encodings, defaults and "every input change replaces".

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
	"golang.org/x/crypto/bcrypt"
)

const (
	randomID     = "random:index/randomId:RandomId"
	randomString   = "random:index/randomString:RandomString"
	randomPassword = "random:index/randomPassword:RandomPassword"
	randomPet      = "random:index/randomPet:RandomPet"
)

// stringInputs are the inputs RandomString and RandomPassword share (upstream, random_password
// is random_string with a sensitive result and a bcrypt hash of it).
var stringInputs = []string{"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number",
	"numeric", "overrideSpecial", "special", "upper"}

var stringDefaults = map[string]resource.PropertyValue{
	"lower": resource.NewBoolProperty(true), "upper": resource.NewBoolProperty(true),
	"special": resource.NewBoolProperty(true), "numeric": resource.NewBoolProperty(true),
	"number": resource.NewBoolProperty(true), "minLower": resource.NewNumberProperty(0),
	"minUpper": resource.NewNumberProperty(0), "minNumeric": resource.NewNumberProperty(0),
	"minSpecial": resource.NewNumberProperty(0),
}

var randomInputs = map[string][]string{
	randomID:       {"byteLength", "keepers", "prefix"},
	randomString:   stringInputs,
	randomPassword: stringInputs,
	randomPet:      {"keepers", "length", "prefix", "separator"},
}

var randomDefaults = map[string]map[string]resource.PropertyValue{
	randomString:   stringDefaults,
	randomPassword: stringDefaults,
	randomPet:      {"length": resource.NewNumberProperty(2), "separator": resource.NewStringProperty("-")},
}

var randomComputed = map[string][]string{
	randomID:       {"b64Std", "b64Url", "dec", "hex"},
	randomString:   {"result"},
	randomPassword: {"bcryptHash", "result"},
	randomPet:      {},
}

// randomSecretOutputs are the outputs upstream marks sensitive: secrets in Pulumi's state.
var randomSecretOutputs = map[string]map[string]bool{
	randomPassword: {"bcryptHash": true, "result": true},
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
	case randomString, randomPassword:
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
	if o.typ == randomString || o.typ == randomPassword {
		// "number" is the deprecated spelling of "numeric"; both report the value in use.
		numeric := boolean(news, "numeric", boolean(news, "number", true))
		outs["numeric"] = resource.NewBoolProperty(numeric)
		outs["number"] = resource.NewBoolProperty(numeric)
	}
	if preview {
		for _, k := range randomComputed[o.typ] {
			outs[resource.PropertyKey(k)] = secretIf(computedString(), randomSecretOutputs[o.typ][k])
		}
		return "", outs, nil
	}
	switch o.typ {
	case randomID:
		return createRandomID(news, outs)
	case randomString:
		return createRandomString(outs)
	case randomPassword:
		return createRandomPassword(outs)
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

// createRandomPassword draws like RandomString; as upstream, the id is "none" (the value must
// not leak into the URN-adjacent id), and result and bcryptHash (default cost) are secrets.
func createRandomPassword(outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	result, err := randomChars(outs)
	if err != nil {
		return "", nil, err
	}
	secret := []byte(result)
	if len(secret) > 72 {
		// bcrypt reads at most 72 bytes; x/crypto refuses longer input instead of truncating it.
		secret = secret[:72]
	}
	hash, err := bcrypt.GenerateFromPassword(secret, bcrypt.DefaultCost)
	if err != nil {
		return "", nil, fmt.Errorf("bcrypt of the password: %w", err)
	}
	outs["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	outs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	return "none", outs, nil
}

func createRandomString(outs resource.PropertyMap) (string, resource.PropertyMap, error) {
	result, err := randomChars(outs)
	if err != nil {
		return "", nil, err
	}
	outs["result"] = resource.NewStringProperty(result)
	return result, outs, nil
}

// randomChars draws the minimums of each enabled set first, fills up from every enabled
// set, and shuffles, as upstream's random_string does.
func randomChars(outs resource.PropertyMap) (string, error) {
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
		return "", fmt.Errorf("length (%d) must be >= min_upper + min_lower + min_numeric + min_special (%d)",
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
		return "", fmt.Errorf("no character set is enabled (upper, lower, numeric and special are all false)")
	}
	var result []byte
	for _, m := range mins {
		b, err := pick(m.set, m.n)
		if err != nil {
			return "", err
		}
		result = append(result, b...)
	}
	rest, err := pick(chars, length-len(result))
	if err != nil {
		return "", err
	}
	result = append(result, rest...)
	order := make([]byte, len(result))
	if _, err := rand.Read(order); err != nil {
		return "", err
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
	return string(shuffled), nil
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
