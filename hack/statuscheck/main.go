// Command statuscheck runs k2k's Argo CD health checks the way Argo CD runs them, and kstatus, on
// the objects of argo-cd's own fixture format (config/argocd/health/<group>/<Kind>/health_test.yaml
// and its testdata/, generated from the operator's status functions by api/generate.ts).
//
// The scripts are taken from the argocd-cm ConfigMap that users install, not from the .lua files
// (api/generate.ts --check keeps the two the same). Each script runs in gopher-lua, the Lua VM Argo
// CD uses, set up as Argo CD sets it up for a health check: no standard libraries but package,
// base and table (argo-cd util/lua: SkipOpenLibs, UseOpenLibs false; Argo CD adds an os table with
// only time and date, which k2k's scripts do not use), a one-second deadline, and `obj` as a Lua
// table converted from the object's JSON. kstatus is sigs.k8s.io/cli-utils'
// status.Compute on the same object.
//
// It prints one JSON line per case ({"kind","case","ok","failures"}) and then "N passed, N failed";
// it exits 1 when a case failed or a fixture is missing, unused or unreadable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

const group = "k2k.dev"

// fixture is one entry of health_test.yaml: argo-cd's fields plus k2k's expected kstatus.
type fixture struct {
	InputPath    string `json:"inputPath"`
	HealthStatus struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"healthStatus"`
	KStatus struct {
		Status string `json:"status"`
	} `json:"kstatus"`
}

type result struct {
	Kind     string   `json:"kind"`
	Case     string   `json:"case"`
	OK       bool     `json:"ok"`
	Failures []string `json:"failures,omitempty"`
}

// Health status codes Argo CD accepts from a script (anything else becomes Unknown).
var healthCodes = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

func main() {
	configMap := flag.String("configmap", "config/argocd/argocd-cm-health.yaml", "the argocd-cm health ConfigMap")
	dir := flag.String("fixtures", "config/argocd/health/"+group, "the directory of <Kind>/health_test.yaml")
	flag.Parse()
	passed, failed, err := run(*configMap, *dir)
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "statuscheck:", err)
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}

func run(configMapPath, dir string) (passed, failed int, err error) {
	scripts, err := healthScripts(configMapPath)
	if err != nil {
		return 0, 0, err
	}
	kinds, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var problems []string
	seen := map[string]bool{}
	for _, k := range kinds {
		if !k.IsDir() {
			continue
		}
		kind := k.Name()
		seen[kind] = true
		script, ok := scripts[kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s has fixtures but no health script in %s", kind, configMapPath))
			continue
		}
		results, err := checkKind(filepath.Join(dir, kind), kind, script)
		if err != nil {
			problems = append(problems, err.Error())
		}
		for _, r := range results {
			line, _ := json.Marshal(r)
			fmt.Println(string(line))
			if r.OK {
				passed++
			} else {
				failed++
			}
		}
	}
	for kind := range scripts {
		if !seen[kind] {
			problems = append(problems, fmt.Sprintf("the health script of %s has no fixtures in %s", kind, dir))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return passed, failed, errors.New(strings.Join(problems, "; "))
	}
	return passed, failed, nil
}

// healthScripts reads the ConfigMap's resource.customizations.health.k2k.dev_<Kind> entries by kind.
func healthScripts(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	prefix := "resource.customizations.health." + group + "_"
	scripts := map[string]string{}
	for key, script := range cm.Data {
		if kind, ok := strings.CutPrefix(key, prefix); ok {
			scripts[kind] = script
		}
	}
	return scripts, nil
}

// checkKind runs every case of dir/health_test.yaml; an error says what is wrong with the fixtures.
func checkKind(dir, kind, script string) ([]result, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		return nil, err
	}
	var tests struct {
		Tests []fixture `json:"tests"`
	}
	if err := yaml.Unmarshal(raw, &tests); err != nil {
		return nil, fmt.Errorf("%s/health_test.yaml: %w", dir, err)
	}
	used := map[string]bool{}
	var results []result
	for _, f := range tests.Tests {
		used[filepath.Clean(f.InputPath)] = true
		results = append(results, checkCase(dir, kind, script, f))
	}
	// A testdata object no test reads is a state nobody checks any more (a case that was renamed
	// or dropped from hack/statuscheck/states/): delete it.
	inputs, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
	var unused []string
	for _, in := range inputs {
		rel, _ := filepath.Rel(dir, in)
		if !used[rel] {
			unused = append(unused, filepath.Join(dir, rel))
		}
	}
	if len(unused) > 0 {
		return results, fmt.Errorf("testdata that no test reads: %s", strings.Join(unused, ", "))
	}
	return results, nil
}

func checkCase(dir, kind, script string, f fixture) result {
	r := result{Kind: kind, Case: strings.TrimSuffix(filepath.Base(f.InputPath), ".yaml")}
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	obj, err := readObject(filepath.Join(dir, f.InputPath))
	if err != nil {
		fail("%v", err)
		return r
	}
	if obj.GetKind() != kind {
		fail("%s is a %s, not a %s", f.InputPath, obj.GetKind(), kind)
	}
	health, message, err := argoHealth(obj, script)
	switch {
	case err != nil:
		fail("Argo CD health script: %v", err)
	case health != f.HealthStatus.Status || message != f.HealthStatus.Message:
		fail("Argo CD health: want %s %q, got %s %q", f.HealthStatus.Status, f.HealthStatus.Message, health, message)
	}
	if f.KStatus.Status == "" {
		fail("no expected kstatus in health_test.yaml")
	} else if res, err := status.Compute(obj); err != nil {
		fail("kstatus: %v", err)
	} else if string(res.Status) != f.KStatus.Status {
		fail("kstatus: want %s, got %s (%s)", f.KStatus.Status, res.Status, res.Message)
	}
	r.OK = len(r.Failures) == 0
	return r
}

// readObject reads a testdata object as the API client hands it to Argo CD and kstatus: YAML to
// JSON, decoded as unstructured (whole numbers as int64, which kstatus's generation check needs).
func readObject(path string) (*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}

// argoHealth runs a health script on obj as Argo CD does and returns the status and message.
func argoHealth(obj *unstructured.Unstructured, script string) (string, string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj.Object))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	returned, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("expected a table from the script, got %s", l.Get(-1).Type())
	}
	code := lua.LVAsString(returned.RawGetString("status"))
	if !healthCodes[code] {
		return "Unknown", "Lua returned an invalid health status", nil
	}
	return code, lua.LVAsString(returned.RawGetString("message")), nil
}

// toLua converts a JSON value to Lua as argo-cd's decodeValue does: objects and arrays to tables
// (arrays from index 1), numbers to numbers, null to nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetH(lua.LString(key), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}
