package main

import (
	"os"
	"strings"
	"testing"
)

// envTableRow is how docs/configuration.md lists one variable; the table is
// generated from envVars and this test keeps it that way.
func envTableRow(v envVar) string {
	def := ""
	if v.Default != "" {
		def = "`" + v.Default + "`"
	}
	return "| `" + v.Name + "` | " + def + " | " + v.Help + " |"
}

func TestConfigurationDocListsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, v := range envVars() {
		if !strings.Contains(string(doc), envTableRow(v)+"\n") {
			missing = append(missing, envTableRow(v))
		}
	}
	if len(missing) > 0 {
		t.Fatalf("docs/configuration.md lacks these rows of the environment table (copy them in):\n%s", strings.Join(missing, "\n"))
	}
}
