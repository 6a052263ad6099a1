package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/bcrypt"
)

func passwordInputs(fields map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(fields)
}

func createPassword(t *testing.T, fields map[string]any) (string, resource.PropertyMap) {
	t.Helper()
	r := &randomProvider{}
	o := &op{typ: randomPassword}
	news := passwordInputs(fields)
	if _, fails, err := r.check(o, nil, news, nil); err != nil || len(fails) > 0 {
		t.Fatalf("check: %v %v", err, fails)
	}
	id, outs, err := r.create(o, news, false)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return id, outs
}

func TestRandomPasswordIsSecretWithItsBcryptHash(t *testing.T) {
	id, outs := createPassword(t, map[string]any{"length": 32, "special": false, "minLower": 1, "minUpper": 1, "minNumeric": 1,
		"keepers": map[string]any{"version": "1"}})
	if id != "none" {
		t.Errorf("id = %q, want \"none\" as upstream", id)
	}
	for _, k := range []resource.PropertyKey{"result", "bcryptHash"} {
		if !outs[k].IsSecret() {
			t.Errorf("%s is not a secret", k)
		}
	}
	result := unsecret(outs["result"]).StringValue()
	if len(result) != 32 {
		t.Fatalf("length %d, want 32", len(result))
	}
	if strings.Trim(result, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("special: false, yet %q has other characters", result)
	}
	for _, set := range []string{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"} {
		if !strings.ContainsAny(result, set) {
			t.Errorf("%q misses a character of %s", result, set)
		}
	}
	hash := unsecret(outs["bcryptHash"]).StringValue()
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(result)); err != nil {
		t.Errorf("bcryptHash does not match result: %v", err)
	}
}

func TestRandomPasswordDrawsSpecialsFromOverrideSpecial(t *testing.T) {
	_, outs := createPassword(t, map[string]any{"length": 12, "overrideSpecial": "#!", "minSpecial": 3, "upper": false, "numeric": false})
	result := unsecret(outs["result"]).StringValue()
	if n := strings.Count(result, "#") + strings.Count(result, "!"); n < 3 {
		t.Errorf("%q has %d specials, want at least 3", result, n)
	}
	if strings.Trim(result, "abcdefghijklmnopqrstuvwxyz#!") != "" {
		t.Errorf("%q holds characters outside lower and overrideSpecial", result)
	}
}

func TestRandomPasswordRefusesMinimumsBeyondItsLength(t *testing.T) {
	r := &randomProvider{}
	if _, _, err := r.create(&op{typ: randomPassword}, passwordInputs(map[string]any{"length": 2, "minUpper": 2, "minNumeric": 1}), false); err == nil {
		t.Error("length 2 with 3 required characters was accepted")
	}
	if _, fails, _ := r.check(&op{typ: randomPassword}, nil, passwordInputs(map[string]any{"special": false}), nil); len(fails) != 1 || fails[0].Property != "length" {
		t.Errorf("a missing length gave %v, want one failure on length", fails)
	}
}

func TestRandomPasswordIsReplacedWhenAKeeperChanges(t *testing.T) {
	r := &randomProvider{}
	o := &op{typ: randomPassword}
	old := passwordInputs(map[string]any{"length": 32, "special": false, "keepers": map[string]any{"version": "1"}})
	_, state, err := r.create(o, old, false)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := r.diff(o, state, old, old, nil)
	if same.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("equal inputs: %v, want no change", same.Changes)
	}
	bumped := passwordInputs(map[string]any{"length": 32, "special": false, "keepers": map[string]any{"version": "2"}})
	diff, _ := r.diff(o, state, old, bumped, nil)
	if diff.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(diff.Replaces) != 1 || diff.Replaces[0] != "keepers" {
		t.Errorf("keeper bump: changes %v replaces %v, want a replacement for keepers", diff.Changes, diff.Replaces)
	}
}

func TestRandomPasswordPreviewHidesItsUnknownsAsSecrets(t *testing.T) {
	r := &randomProvider{}
	_, outs, err := r.create(&op{typ: randomPassword}, passwordInputs(map[string]any{"length": 16}), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []resource.PropertyKey{"result", "bcryptHash"} {
		if !outs[k].IsSecret() || !outs[k].ContainsUnknowns() {
			t.Errorf("preview %s = %v, want a secret unknown", k, outs[k])
		}
	}
}
