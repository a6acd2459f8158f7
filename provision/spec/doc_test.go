package spec

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// docFile is the spec reference this test keeps complete.
const docFile = "../../docs/spec.md"

// specItem is an attribute or block of the spec, as the code defines it.
type specItem struct {
	block    bool
	typ      string // HCL type of an attribute; "" when not checked
	required bool
}

// docRow is an attribute row of docs/spec.md.
type docRow struct{ typ, def string }

// specItems is every attribute and block a spec file may hold, by path:
// the cluster block's structs (what gohcl decodes, walked by reflection)
// and the variable block's schemas.
func specItems() (map[string]specItem, error) {
	items := map[string]specItem{"cluster": {block: true}}
	if err := walkStruct("cluster", reflect.TypeFor[Cluster](), items); err != nil {
		return nil, err
	}
	items["variable"] = specItem{block: true}
	walkSchema("variable", variableSchema, items)
	items["variable.validation"] = specItem{block: true}
	walkSchema("variable.validation", validationSchema, items)
	return items, nil
}

func walkStruct(prefix string, t reflect.Type, items map[string]specItem) error {
	for f := range t.Fields() {
		name, kind, _ := strings.Cut(f.Tag.Get("hcl"), ",")
		path := prefix + "." + name
		switch kind {
		case "label", "label_range", "body", "remain", "def_range", "type_range":
			continue
		case "block":
			bt := f.Type
			for bt.Kind() == reflect.Pointer || bt.Kind() == reflect.Slice {
				bt = bt.Elem()
			}
			items[path] = specItem{block: true}
			if err := walkStruct(path, bt, items); err != nil {
				return err
			}
		case "", "attr", "optional":
			if name == "" {
				continue // no hcl tag: filled in by defaulting
			}
			typ, err := hclType(f.Type)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			items[path] = specItem{typ: typ, required: kind != "optional"}
		default:
			return fmt.Errorf("%s: unknown hcl tag kind %q", path, kind)
		}
	}
	return nil
}

func walkSchema(prefix string, s *hcl.BodySchema, items map[string]specItem) {
	for _, a := range s.Attributes {
		items[prefix+"."+a.Name] = specItem{required: a.Required}
	}
}

// hclType names a field's Go type as the spec is written.
func hclType(t reflect.Type) (string, error) {
	switch t.Kind() {
	case reflect.Pointer:
		return hclType(t.Elem())
	case reflect.String:
		return "string", nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "number", nil
	case reflect.Bool:
		return "bool", nil
	case reflect.Slice, reflect.Map:
		e, err := hclType(t.Elem())
		kind := map[reflect.Kind]string{reflect.Slice: "list", reflect.Map: "map"}[t.Kind()]
		return kind + "(" + e + ")", err
	}
	return "", fmt.Errorf("no HCL type for %s", t)
}

var (
	docHeading = regexp.MustCompile("^#+ +`([^`]*)`")
	docPath    = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*$`)
	docName    = regexp.MustCompile("^`([a-z_0-9]+)`$")
)

// parseDoc reads the convention of docs/spec.md: a heading whose first
// code span is a block path (`cluster.network`) documents that block; each
// table row under it whose first cell is `name` documents attribute
// path.name, with its type and default in the next cells. Any other
// heading ends the block's section.
func parseDoc(doc string) (blocks map[string]bool, rows map[string]docRow, problems []string) {
	blocks, rows = map[string]bool{}, map[string]docRow{}
	current := ""
	for i, line := range strings.Split(doc, "\n") {
		at := fmt.Sprintf("%s:%d", docFile, i+1)
		if strings.HasPrefix(line, "#") {
			current = ""
			if m := docHeading.FindStringSubmatch(line); m != nil && docPath.MatchString(m[1]) {
				current = m[1]
				if blocks[current] {
					problems = append(problems, fmt.Sprintf("%s: block %s has a second heading", at, current))
				}
				blocks[current] = true
			}
			continue
		}
		if current == "" || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(strings.Trim(line, "| "), `\|`, "\x00"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if cells[0] == "attribute" || strings.Trim(cells[0], "-:") == "" {
			continue // header and separator rows
		}
		m := docName.FindStringSubmatch(cells[0])
		switch {
		case m == nil:
			problems = append(problems, fmt.Sprintf("%s: a row under %s must start with `name`, not %q", at, current, cells[0]))
		case len(cells) < 5:
			problems = append(problems, fmt.Sprintf("%s: row %s has %d cells, want 5 (attribute, type, default, constraints, what it does)", at, m[1], len(cells)))
		case rows[current+"."+m[1]] != (docRow{}):
			problems = append(problems, fmt.Sprintf("%s: %s.%s has a second row", at, current, m[1]))
		default:
			rows[current+"."+m[1]] = docRow{typ: cells[1], def: cells[2]}
		}
	}
	return blocks, rows, problems
}

// docProblems compares the spec's attributes and blocks with what doc says.
func docProblems(doc string) ([]string, error) {
	items, err := specItems()
	if err != nil {
		return nil, err
	}
	blocks, rows, problems := parseDoc(doc)
	for path, it := range items {
		parent, name := path[:max(0, strings.LastIndex(path, "."))], path[strings.LastIndex(path, ".")+1:]
		if it.block {
			if !blocks[path] {
				problems = append(problems, fmt.Sprintf("block %s is not documented: add a heading \"`%s`\"", path, path))
			}
			continue
		}
		r, ok := rows[path]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("attribute %s is not documented: add a row `%s` under the heading \"`%s`\"", path, name, parent))
		case it.typ != "" && r.typ != it.typ:
			problems = append(problems, fmt.Sprintf("attribute %s: the doc's type is %q, the code's %q", path, r.typ, it.typ))
		case it.required != (r.def == "required"):
			problems = append(problems, fmt.Sprintf("attribute %s: required is %v in the code, but the doc's default is %q", path, it.required, r.def))
		}
	}
	for path := range blocks {
		if it, ok := items[path]; !ok || !it.block {
			problems = append(problems, fmt.Sprintf("the doc has a heading for block %s, which the spec does not have", path))
		}
	}
	for path := range rows {
		if it, ok := items[path]; !ok || it.block {
			problems = append(problems, fmt.Sprintf("the doc has a row for attribute %s, which the spec does not have", path))
		}
	}
	slices.Sort(problems)
	return problems, nil
}

// TestDocComplete keeps docs/spec.md the whole reference: every attribute
// and block documented, nothing documented that is gone.
func TestDocComplete(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := docProblems(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if items, _ := specItems(); len(items) < 100 {
		t.Errorf("the walk found %d attributes and blocks; the spec has more than 100", len(items))
	}
}

// TestDocCompleteFails proves the check catches a missing, a stale and a
// mistyped row, and a missing block heading.
func TestDocCompleteFails(t *testing.T) {
	raw, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	cases := []struct{ old, new, want string }{
		{"| `node_cidr` |", "| `node_cidrs` |", "attribute cluster.network.node_cidr is not documented"},
		{"| `node_cidr` |", "| `node_cidrs` |", "row for attribute cluster.network.node_cidrs, which the spec does not have"},
		{"| `mtu` | number |", "| `mtu` | string |", `attribute cluster.network.mtu: the doc's type is "string"`},
		{"#### `cluster.ssh.bastion`", "#### Bastion", "block cluster.ssh.bastion is not documented"},
		{"| `endpoints` | list(string) | required |", "| `endpoints` | list(string) | none |", "attribute cluster.registries.mirror.endpoints: required is true"},
	}
	for _, c := range cases {
		if !strings.Contains(doc, c.old) {
			t.Fatalf("%s has no %q to change", docFile, c.old)
		}
		problems, err := docProblems(strings.Replace(doc, c.old, c.new, 1))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("replacing %q by %q: no problem says %q; got %q", c.old, c.new, c.want, problems)
		}
	}
}

// TestDocDefaults checks every default written as one literal (`"nat"`,
// `1500`, `false`) against what Normalize fills into an empty spec.
func TestDocDefaults(t *testing.T) {
	raw, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		Name:          "NAME",
		SSH:           &SSH{Bastion: &Bastion{}},
		NodePools:     []*NodePool{{Name: "cp", Role: RoleControlPlane}},
		Ingress:       &Ingress{},
		NetworkPolicy: &NetworkPolicy{},
		Registries:    &Registries{Mirrors: []*Mirror{{}}},
	}
	if err := Normalize(c); err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile("^`(\"[^\"`]*\"|[0-9]+|true|false)`$")
	_, rows, _ := parseDoc(string(raw))
	checked := 0
	for path, r := range rows {
		m := literal.FindStringSubmatch(r.def)
		if m == nil || !strings.HasPrefix(path, "cluster.") {
			continue
		}
		got, ok := fieldAt(reflect.ValueOf(c).Elem(), strings.Split(path, ".")[1:])
		if !ok {
			t.Errorf("%s: no value to compare with the doc's default %s", path, m[1])
			continue
		}
		if got != m[1] {
			t.Errorf("%s: the doc's default is %s, Normalize gives %s", path, m[1], got)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("checked %d literal defaults; the doc has more than 30", checked)
	}
}

// fieldAt is the value at an hcl path below v, formatted as HCL writes it;
// a list of blocks gives its first element.
func fieldAt(v reflect.Value, path []string) (string, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
		if v.Kind() == reflect.Slice {
			if v.Len() == 0 {
				return "", false
			}
			v = v.Index(0)
		} else {
			if v.IsNil() {
				return "", false
			}
			v = v.Elem()
		}
	}
	if len(path) == 0 {
		switch v.Kind() {
		case reflect.String:
			return fmt.Sprintf("%q", v.String()), true
		case reflect.Int:
			return fmt.Sprint(v.Int()), true
		case reflect.Bool:
			return fmt.Sprint(v.Bool()), true
		}
		return "", false
	}
	for i := range v.NumField() {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("hcl"), ","); name == path[0] {
			return fieldAt(v.Field(i), path[1:])
		}
	}
	return "", false
}
