package report

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
)

// Filters are Metrica's filter expressions:
//
//	ym:s:lastsignTrafficSource=='ad' AND (ym:s:regionCity=@'Mos' OR ym:s:deviceCategory.in('mobile','tablet'))
//
// Comparisons are ==, !=, =@ (contains), !@ (does not contain), =~ and !~
// (RE2 regular expression), .in(...) and .notIn(...); they join with AND
// and OR (AND binds tighter) and parentheses. Values are single-quoted,
// with \' and \\ as escapes. Errors name the column (1-based, in
// characters) where the expression went wrong.

// maxFilterDepth bounds nesting, so that a hostile expression cannot
// exhaust the stack.
const maxFilterDepth = 32

// maxFilterLen bounds an expression's length.
const maxFilterLen = 4096

type filterParser struct {
	src   string
	pos   int // byte offset
	depth int
	dim   func(name string) (crmlink.Dimension, error)
}

// parseFilter parses expr; dim resolves a dimension name.
func parseFilter(expr string, dim func(string) (crmlink.Dimension, error)) (*crmlink.Filter, error) {
	if len(expr) > maxFilterLen {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "filters: longer than %d bytes", maxFilterLen)
	}
	if !utf8.ValidString(expr) {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "filters: not valid UTF-8")
	}
	p := &filterParser{src: expr, dim: dim}
	p.space()
	if p.pos == len(p.src) {
		return nil, nil
	}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, p.errorf("unexpected %s", p.near())
	}
	return f, nil
}

// errorf returns an error at the current position.
func (p *filterParser) errorf(format string, args ...any) error {
	col := utf8.RuneCountInString(p.src[:p.pos]) + 1
	return crmlink.Errorf(crmlink.KindInvalid, "filters: column %d: %s", col, fmt.Sprintf(format, args...))
}

// near describes what is at the current position.
func (p *filterParser) near() string {
	if p.pos >= len(p.src) {
		return "end of expression"
	}
	rest := p.src[p.pos:]
	if n := 12; utf8.RuneCountInString(rest) > n {
		rest = string([]rune(rest)[:n]) + "..."
	}
	return fmt.Sprintf("%q", rest)
}

func (p *filterParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// keyword consumes kw (case-insensitive) if it stands as a word here.
func (p *filterParser) keyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end < len(p.src) && isIdentByte(p.src[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *filterParser) or() (*crmlink.Filter, error) {
	return p.chain("OR", p.and)
}

func (p *filterParser) and() (*crmlink.Filter, error) {
	return p.chain("AND", p.factor)
}

// chain parses next {op next}.
func (p *filterParser) chain(op string, next func() (*crmlink.Filter, error)) (*crmlink.Filter, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	out := first
	for {
		p.space()
		if !p.keyword(op) {
			return out, nil
		}
		p.space()
		f, err := next()
		if err != nil {
			return nil, err
		}
		if out == first {
			out = &crmlink.Filter{Op: op, Children: []*crmlink.Filter{first}}
		}
		out.Children = append(out.Children, f)
	}
}

func (p *filterParser) factor() (*crmlink.Filter, error) {
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		p.depth++
		if p.depth > maxFilterDepth {
			return nil, p.errorf("parentheses nested deeper than %d", maxFilterDepth)
		}
		p.pos++
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, p.errorf("want ) but found %s", p.near())
		}
		p.pos++
		p.depth--
		return f, nil
	}
	return p.comparison()
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '<' || c == '>'
}

var comparisons = []string{"==", "!=", "=@", "!@", "=~", "!~"}

func (p *filterParser) comparison() (*crmlink.Filter, error) {
	start := p.pos
	for p.pos < len(p.src) && isIdentByte(p.src[p.pos]) {
		// '>' ends a name unless it closes "<...>".
		if p.src[p.pos] == '>' && !strings.Contains(p.src[start:p.pos], "<") {
			break
		}
		p.pos++
	}
	name := p.src[start:p.pos]
	if name == "" {
		return nil, p.errorf("want a dimension name but found %s", p.near())
	}
	nameEnd := p.pos
	p.pos = start
	d, err := p.dim(name)
	if err != nil {
		return nil, p.errorf("%s", crmlink.MessageOf(err))
	}
	p.pos = nameEnd
	f := &crmlink.Filter{Dimension: d}
	p.space()
	switch {
	case p.hasPrefixFold(".in("):
		p.pos += len(".in(")
		f.Op = "in"
	case p.hasPrefixFold(".notIn("):
		p.pos += len(".notIn(")
		f.Op = "notin"
	}
	if f.Op != "" {
		for {
			p.space()
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			f.Values = append(f.Values, v)
			p.space()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.src) && p.src[p.pos] == ')' {
				p.pos++
				return f, nil
			}
			return nil, p.errorf("want , or ) but found %s", p.near())
		}
	}
	for _, op := range comparisons {
		if strings.HasPrefix(p.src[p.pos:], op) {
			f.Op = op
			p.pos += len(op)
			break
		}
	}
	if f.Op == "" {
		return nil, p.errorf("want an operator (==, !=, =@, !@, =~, !~, .in(...), .notIn(...)) after %s but found %s", name, p.near())
	}
	p.space()
	at := p.pos
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if f.Op == "=~" || f.Op == "!~" {
		if _, err := regexp.Compile(v); err != nil {
			p.pos = at
			return nil, p.errorf("bad regular expression: %v", err)
		}
	}
	f.Values = []string{v}
	return f, nil
}

func (p *filterParser) hasPrefixFold(s string) bool {
	return len(p.src)-p.pos >= len(s) && strings.EqualFold(p.src[p.pos:p.pos+len(s)], s)
}

// value parses a single-quoted string.
func (p *filterParser) value() (string, error) {
	if p.pos >= len(p.src) || p.src[p.pos] != '\'' {
		return "", p.errorf("want a value in single quotes but found %s", p.near())
	}
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) {
				p.pos = start
				return "", p.errorf("value not closed")
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case '\'':
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return "", p.errorf("value not closed")
}
