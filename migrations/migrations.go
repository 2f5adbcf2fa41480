// Package migrations holds the Postgres schema as numbered SQL migrations,
// embedded in the binary and applied with golang-migrate.
package migrations

import "embed"

// Files are the migrations, named NNNN_title.up.sql and NNNN_title.down.sql.
//
//go:embed *.sql
var Files embed.FS
