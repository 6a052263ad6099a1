// Helpers for reading and comparing Pulumi property maps.

package main

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// plain removes every secret wrapper (at any depth) from v.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsArray():
		out := make([]resource.PropertyValue, 0, len(v.ArrayValue()))
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return resource.NewProperty(out)
	case v.IsObject():
		return resource.NewProperty(plainMap(v.ObjectValue()))
	}
	return v
}

func plainMap(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}

// present reports whether key holds a value that is neither missing nor null.
func present(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && !plain(v).IsNull()
}

// unknown reports whether the value at key is (or contains) an unknown.
func unknown(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.ContainsUnknowns()
}

// str returns the string at key, or def when it is missing, null or unknown.
func str(m resource.PropertyMap, key, def string) string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return def
	}
	v = plain(v)
	if v.IsString() {
		return v.StringValue()
	}
	return def
}

// num returns the integer at key (numbers arrive as float64), or def.
func num(m resource.PropertyMap, key string, def int64) int64 {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return def
	}
	v = plain(v)
	if v.IsNumber() {
		return int64(math.Round(v.NumberValue()))
	}
	return def
}

// boolean returns the bool at key, or def.
func boolean(m resource.PropertyMap, key string, def bool) bool {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return def
	}
	v = plain(v)
	if v.IsBool() {
		return v.BoolValue()
	}
	return def
}

// strList returns the list of strings at key (nil when missing).
func strList(m resource.PropertyMap, key string) ([]string, error) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return nil, nil
	}
	v = plain(v)
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%s: expected a list of strings, got %s", key, v.TypeString())
	}
	out := make([]string, 0, len(v.ArrayValue()))
	for i, e := range v.ArrayValue() {
		if !e.IsString() {
			return nil, fmt.Errorf("%s[%d]: expected a string, got %s", key, i, e.TypeString())
		}
		out = append(out, e.StringValue())
	}
	return out, nil
}

// object returns the object at key (nil when missing or not an object).
func object(m resource.PropertyMap, key string) resource.PropertyMap {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return nil
	}
	v = plain(v)
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

// sameValue compares two values ignoring secretness; numbers compare numerically.
func sameValue(a, b resource.PropertyValue) bool {
	a, b = plain(a), plain(b)
	if a.IsNull() && b.IsNull() {
		return true
	}
	return reflect.DeepEqual(a.Mappable(), b.Mappable())
}

// changedKeys lists the top-level keys (among keys, or all keys when keys is
// nil) whose values differ between olds and news. An unknown new value counts
// as a change.
func changedKeys(olds, news resource.PropertyMap, keys []string) []string {
	if keys == nil {
		seen := map[string]bool{}
		for k := range olds {
			seen[string(k)] = true
		}
		for k := range news {
			seen[string(k)] = true
		}
		for k := range seen {
			keys = append(keys, k)
		}
	}
	var out []string
	for _, k := range keys {
		o, ook := olds[resource.PropertyKey(k)]
		n, nok := news[resource.PropertyKey(k)]
		if !ook {
			o = resource.NewNullProperty()
		}
		if !nok {
			n = resource.NewNullProperty()
		}
		if n.ContainsUnknowns() || !sameValue(o, n) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// normalizePEM makes two PEM strings comparable regardless of line endings and
// surrounding whitespace.
func normalizePEM(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// computedString is the unknown placeholder used in previews.
func computedString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

// secretIf wraps v as a secret when wrap is true and v is not one already.
func secretIf(v resource.PropertyValue, wrap bool) resource.PropertyValue {
	if wrap && !v.IsSecret() {
		return resource.MakeSecret(v)
	}
	return v
}

// unsecret removes one level of secret wrapping.
func unsecret(v resource.PropertyValue) resource.PropertyValue {
	if v.IsSecret() {
		return v.SecretValue().Element
	}
	return v
}
