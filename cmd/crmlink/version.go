package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/crmlink/crmlink/internal/cli"
)

// cmdVersion prints the build's version and the commit it was built from,
// as the Go toolchain recorded them in the binary.
func cmdVersion(ctx context.Context, args []string, e *cli.Env) error {
	fs := flags("version", e)
	if pos, err := cli.Parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return cli.Usagef("version takes no arguments, got %q", pos)
	}
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(e.Stdout, versionLine(info, ok))
	return nil
}

// versionLine reads "crmlink VERSION (commit REV[, modified]) GO": the
// module's version, or "devel" for a build from a work tree (Go records
// "(devel)" then) or when the binary carries no build information; the
// commit and whether the tree had changes, when the build recorded them.
func versionLine(info *debug.BuildInfo, ok bool) string {
	version, goVersion := "devel", ""
	var rev string
	modified := false
	if ok && info != nil {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "crmlink " + version
	switch {
	case rev != "" && modified:
		line += fmt.Sprintf(" (commit %s, modified)", rev)
	case rev != "":
		line += fmt.Sprintf(" (commit %s)", rev)
	default:
		line += " (commit unknown)"
	}
	if goVersion != "" {
		line += " " + goVersion
	}
	return line
}
