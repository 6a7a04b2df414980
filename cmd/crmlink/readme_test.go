package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the README's "Your own data in five steps" as
// written, on a fresh store: every line of its sh blocks, in order, by a
// small interpreter that knows what the walkthrough uses (export with
// $(...) and $VAR, a command sent to the background with &, the build
// line). The crmlink commands run in process; a server started with & runs
// until the test ends, on a free port that stands in for the README's.
func TestReadmeWalkthrough(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := walkthroughLines(t, string(readme))
	if len(lines) < 8 {
		t.Fatalf("the walkthrough has %d command lines: %q", len(lines), lines)
	}
	t.Chdir(root) // the README's paths are the repository's
	c := newCLI(t)
	c.vars = map[string]string{}
	ctx, cancel := context.WithCancel(context.Background())
	var servers []*serving
	defer func() {
		cancel()
		for _, s := range servers {
			<-s.done
		}
	}()
	const readmeAddr = "http://127.0.0.1:8080"
	addr := ""
	var last string
	for _, line := range lines {
		if addr != "" {
			line = strings.ReplaceAll(line, readmeAddr, "http://"+addr)
		}
		words := shellWords(t, line)
		switch {
		case strings.Join(words, " ") == "go build -o crmlink ./cmd/crmlink":
			// The commands below run in process.
		case words[0] == "export":
			for _, w := range words[1:] {
				k, v, ok := strings.Cut(w, "=")
				if !ok {
					t.Fatalf("%s: want NAME=value", line)
				}
				c.vars[k] = expand(t, c, v)
			}
		case words[0] == "./crmlink" && words[len(words)-1] == "&":
			args := append(words[1:len(words)-1:len(words)-1], "--addr", "127.0.0.1:0")
			s := c.start(ctx, args...)
			servers = append(servers, s)
			addr = s.addr
		case words[0] == "./crmlink":
			args := make([]string, len(words)-1)
			for i, w := range words[1:] {
				args[i] = expand(t, c, w)
			}
			last = c.must(args...)
			t.Logf("$ %s\n%s", line, last)
		default:
			t.Fatalf("the walkthrough has a line this test cannot run: %s", line)
		}
	}
	if addr == "" || c.vars["CRMLINK_SERVER"] != "http://"+addr {
		t.Errorf("the walkthrough did not point the commands at its server: %v", c.vars)
	}
	// The report it ends with: the sources of the example's orders, and
	// the order no session brought.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^ym:s:lastsignTrafficSource +ym:s:lastsignSourceEngine +ym:s:visits`),
		regexp.MustCompile(`(?m)^Ad traffic +Yandex Direct +2 +2 +0 +2 +0 +0 +0 +100 +100 +57980 +16980 +28990$`),
		regexp.MustCompile(`(?m)^Search engine traffic +Google +1 +1 +0 +1 +0`),
		regexp.MustCompile(`(?m)^Not linked to a session +0 +1 +0 +1 +0 +0 +0 +0 +100 +1500 +600 +1500$`),
	} {
		if !want.MatchString(last) {
			t.Errorf("the walkthrough's report lacks %s:\n%s", want, last)
		}
	}
}

// walkthroughLines returns the command lines of the sh blocks in the
// README's walkthrough section, comments and blank lines left out.
func walkthroughLines(t *testing.T, readme string) []string {
	const title = "\n## Your own data in five steps\n"
	i := strings.Index(readme, title)
	if i < 0 {
		t.Fatalf("the README has no %q section", strings.TrimSpace(title))
	}
	sec := readme[i+len(title):]
	if j := strings.Index(sec, "\n## "); j >= 0 {
		sec = sec[:j]
	}
	var out []string
	in := false
	for _, l := range strings.Split(sec, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in && l == "```sh"
		case in && l != "" && !strings.HasPrefix(l, "#"):
			out = append(out, l)
		}
	}
	return out
}

// shellWords splits a command line as sh would for the walkthrough: words
// by spaces, quotes '...' and "..." and $(...) kept together, a # outside
// them starting a comment.
func shellWords(t *testing.T, line string) []string {
	var words []string
	var b strings.Builder
	word, quote := false, rune(0)
	depth, prev := 0, rune(0) // inside $(...), kept whole for expand
	for _, r := range line {
		if r == '(' && prev == '$' && quote == 0 {
			depth++
		}
		prev = r
		switch {
		case depth > 0:
			b.WriteRune(r)
			if r == ')' {
				depth--
			}
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			quote, word = r, true
		case r == '#' && !word:
			return append(words, fieldsDone(&b, &word)...)
		case r == ' ' || r == '\t':
			words = append(words, fieldsDone(&b, &word)...)
		default:
			b.WriteRune(r)
			word = true
		}
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in %s", line)
	}
	return append(words, fieldsDone(&b, &word)...)
}

func fieldsDone(b *strings.Builder, word *bool) []string {
	if !*word {
		return nil
	}
	s := b.String()
	b.Reset()
	*word = false
	return []string{s}
}

// expand evaluates a word's $(./crmlink ...) and $VAR.
func expand(t *testing.T, c *cmdline, w string) string {
	if inner, ok := strings.CutPrefix(w, "$("); ok && strings.HasSuffix(inner, ")") {
		words := shellWords(t, strings.TrimSuffix(inner, ")"))
		if words[0] != "./crmlink" {
			t.Fatalf("cannot run %s", w)
		}
		return strings.TrimSpace(c.must(words[1:]...))
	}
	return os.Expand(w, func(k string) string { return c.vars[k] })
}
