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
// (RE2 regular expression), =* and !* (equals, * standing for any text),
// >, <, >= and <=, .in(...) and .notIn(...), or Metrica's =.(...) and
// !.(...); they join with AND and OR (AND binds tighter), NOT and
// parentheses. Values are single-quoted, with \' and \\ as escapes.
// Errors name the column (1-based, in characters) where the expression
// went wrong. Metrica's limits hold: 10,000 characters, 20 conditions
// in a report's filters, 100 values in a list.
//
// Segment expressions (segment.go) take more, as Metrica's segmentation
// does: NOT, EXISTS(...), NONE(...) and ALL(...), EXISTS ym:u:userID
// WITH (...), the comparisons >, <, >= and <=, unquoted numbers, a
// name's argument in parentheses (cdp:c:attribute('level')) and a
// condition on an aggregate's rows in brackets (cdp:c:paidOrders[...]).

// maxFilterDepth bounds nesting, so that a hostile expression cannot
// exhaust the stack.
const maxFilterDepth = 32

// Metrica's limits: an expression's length in characters, a report's
// filters' conditions, a list's values.
const (
	maxFilterLen        = 10_000
	maxFilterConditions = 20
	maxFilterValues     = 100
)

type filterParser struct {
	src   string
	pos   int // byte offset
	depth int
	dim   func(name string) (crmlink.Dimension, error)
	// label starts every error: the parameter or field parsed.
	label string
	// segment takes the segment grammar.
	segment bool
}

// parseFilter parses a report's filters; dim resolves a dimension name.
func parseFilter(expr string, dim func(string) (crmlink.Dimension, error)) (*crmlink.Filter, error) {
	return parseExpr(&filterParser{src: expr, dim: dim, label: "filters"})
}

// parseExpr parses p's source.
func parseExpr(p *filterParser) (*crmlink.Filter, error) {
	expr := p.src
	if !utf8.ValidString(expr) {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "%s: not valid UTF-8", p.label)
	}
	if utf8.RuneCountInString(expr) > maxFilterLen {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "%s: longer than %d characters", p.label, maxFilterLen)
	}
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
	if n := conditions(f); p.label == "filters" && n > maxFilterConditions {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "%s: %d conditions: at most %d", p.label, n, maxFilterConditions)
	}
	return f, nil
}

// conditions counts an expression's comparisons.
func conditions(f *crmlink.Filter) int {
	if f.Dimension.Name != "" {
		return 1
	}
	n := 0
	for _, c := range f.Children {
		n += conditions(c)
	}
	return n
}

// errorf returns an error at the current position.
func (p *filterParser) errorf(format string, args ...any) error {
	return crmlink.Errorf(crmlink.KindInvalid, "%s: column %d: %s", p.label, p.col(), fmt.Sprintf(format, args...))
}

// col is the current position's column, 1-based, in characters.
func (p *filterParser) col() int { return utf8.RuneCountInString(p.src[:p.pos]) + 1 }

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
	return p.chain("AND", p.unary)
}

// unary parses NOT factor, in segments, or a factor.
func (p *filterParser) unary() (*crmlink.Filter, error) {
	p.space()
	col := p.col()
	if p.segment && p.keyword("NOT") {
		if err := p.deeper(); err != nil {
			return nil, err
		}
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &crmlink.Filter{Op: "NOT", Children: []*crmlink.Filter{f}, Col: col}, nil
	}
	return p.factor()
}

// deeper counts one more level of nesting, within bounds, so that a
// hostile expression cannot exhaust the stack.
func (p *filterParser) deeper() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return p.errorf("nested deeper than %d", maxFilterDepth)
	}
	return nil
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
	col := p.col()
	if p.segment {
		for _, q := range []string{"EXISTS", "NONE", "ALL"} {
			if !p.keyword(q) {
				continue
			}
			p.space()
			if q == "EXISTS" && p.hasPrefixFold("ym:u:userID") {
				// EXISTS ym:u:userID WITH (...): Metrica's condition on
				// the visitor, which every segment condition is.
				p.pos += len("ym:u:userID")
				p.space()
				if !p.keyword("WITH") {
					return nil, p.errorf("want WITH but found %s", p.near())
				}
				return p.group()
			}
			f, err := p.group()
			if err != nil {
				return nil, err
			}
			return &crmlink.Filter{Op: q, Children: []*crmlink.Filter{f}, Col: col}, nil
		}
	}
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		return p.group()
	}
	return p.comparison()
}

// group parses a parenthesised condition.
func (p *filterParser) group() (*crmlink.Filter, error) {
	return p.bracketed('(', ')')
}

// bracketed parses a condition between open and close.
func (p *filterParser) bracketed(open, close byte) (*crmlink.Filter, error) {
	p.space()
	if p.pos >= len(p.src) || p.src[p.pos] != open {
		return nil, p.errorf("want %c but found %s", open, p.near())
	}
	if err := p.deeper(); err != nil {
		return nil, err
	}
	p.pos++
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos >= len(p.src) || p.src[p.pos] != close {
		return nil, p.errorf("want %c but found %s", close, p.near())
	}
	p.pos++
	p.depth--
	return f, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '<' || c == '>'
}

// comparisons are the operators after a name; a longer one comes before
// its prefix.
var comparisons = []string{"==", "!=", "=@", "!@", "=~", "!~", "=*", "!*", ">=", "<=", ">", "<"}

func (p *filterParser) comparison() (*crmlink.Filter, error) {
	start := p.pos
	col := p.col()
	for p.pos < len(p.src) && isIdentByte(p.src[p.pos]) {
		c := p.src[p.pos]
		// '>' ends a name unless it closes "<...>", and '<' opens one
		// only before a letter (else it compares).
		if c == '>' && !strings.Contains(p.src[start:p.pos], "<") {
			break
		}
		if c == '<' && (p.pos+1 >= len(p.src) || !isLetter(p.src[p.pos+1])) {
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
	f := &crmlink.Filter{Dimension: d, Col: col}
	if p.segment {
		if err := p.nameParts(f); err != nil {
			return nil, err
		}
	}
	p.space()
	switch {
	case p.hasPrefixFold(".in("):
		p.pos += len(".in(")
		f.Op = "in"
	case p.hasPrefixFold(".notIn("):
		p.pos += len(".notIn(")
		f.Op = "notin"
	case strings.HasPrefix(p.src[p.pos:], "=.("):
		p.pos += len("=.(")
		f.Op = "in"
	case strings.HasPrefix(p.src[p.pos:], "!.("):
		p.pos += len("!.(")
		f.Op = "notin"
	}
	if f.Op != "" {
		for {
			p.space()
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if len(f.Values) == maxFilterValues {
				return nil, p.errorf("more than %d values in a list", maxFilterValues)
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
		if strings.HasPrefix(p.src[p.pos:], op) && (p.segment || len(op) == 2 && op[0] != '>' && op[0] != '<') {
			f.Op = op
			p.pos += len(op)
			break
		}
	}
	if f.Op == "" {
		ops := "==, !=, =@, !@, =~, !~, =*, !*, .in(...), .notIn(...)"
		if p.segment {
			ops = "==, !=, >, <, >=, <=, =@, !@, =~, !~, =*, !*, .in(...), .notIn(...)"
		}
		return nil, p.errorf("want an operator (%s) after %s but found %s", ops, name, p.near())
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

// nameParts parses what a segment name may carry after it: an argument
// in parentheses and a condition on rows in brackets.
func (p *filterParser) nameParts(f *crmlink.Filter) error {
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		p.pos++
		p.space()
		arg, err := p.value()
		if err != nil {
			return err
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return p.errorf("want ) but found %s", p.near())
		}
		p.pos++
		f.Dimension.Arg = arg
	}
	if p.pos < len(p.src) && p.src[p.pos] == '[' {
		over, err := p.bracketed('[', ']')
		if err != nil {
			return err
		}
		f.Dimension.Over = over
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// value parses a single-quoted string, or in segments a number.
func (p *filterParser) value() (string, error) {
	if p.segment && p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '-') {
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		return p.src[start:p.pos], nil
	}
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
