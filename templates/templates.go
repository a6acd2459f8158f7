// Package templates holds the plain-text files kprov writes onto nodes
// (kernel module lists, sysctl settings), embedded in the binary.
// Structured documents (YAML, XML) are never templated: they are built as
// typed values and marshalled.
package templates

import (
	"bytes"
	"embed"
	"text/template"
)

//go:embed files/*.tmpl
var files embed.FS

var parsed = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "files/*.tmpl"))

// Render executes the named template (a file name under files/) with data.
func Render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := parsed.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
