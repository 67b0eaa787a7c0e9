package main

import (
	"bytes"
	"fmt"
	"log"
	"sort"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/internal/awsjson"
)

// This file emits a JSON 1.1 service's API: Handler, Dispatch keyed by the operation named in X-Amz-Target,
// error constructors and input validators. Wire decoding and encoding are encoding/json on the generated types
// (members tagged with their model names, timestamps as awsjson.Time), run by internal/awsjson.
// https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html

func (g *gen) jsonAPI(b *bytes.Buffer) {
	md := g.m.Metadata
	fmt.Fprintf(b, "// TargetPrefix is %s's X-Amz-Target prefix: requests name \"%s.Operation\".\nconst TargetPrefix = %q\n\n", md.ServiceID, md.TargetPrefix, md.TargetPrefix)
	fmt.Fprintf(b, "// Version is %s's API version.\nconst Version = %q\n\n", md.ServiceID, md.APIVersion)
	fmt.Fprintf(b, "// Service is %s's service prefix, as in IAM actions (%s:%s) and SigV4 credential scopes.\nconst Service = %q\n\n", md.ServiceID, md.EndpointPrefix, g.ops[0], md.EndpointPrefix)

	fmt.Fprintf(b, "// Handler implements %s's operations on typed inputs and outputs. An error that is not an\n", md.ServiceID)
	b.WriteString("// *awsjson.Error is the server's to map; Dispatch returns it unchanged.\ntype Handler interface {\n")
	for _, op := range g.ops {
		docFor(b, op, g.m.Operations[op].Documentation, "is the "+op+" operation.")
		fmt.Fprintf(b, "\t%s(ctx context.Context, in *%s) (*%s, error)\n", op, g.opIn[op], g.opOut[op])
	}
	b.WriteString("}\n\n")

	b.WriteString("// Unimplemented answers every operation with NotImplemented (HTTP 501). Embed it in a Handler so that\n")
	b.WriteString("// operations not written yet still compile and fail clearly.\ntype Unimplemented struct{}\n\n")
	for _, op := range g.ops {
		fmt.Fprintf(b, "// %s returns NotImplemented.\n", op)
		fmt.Fprintf(b, "func (Unimplemented) %s(context.Context, *%s) (*%s, error) {\n\treturn nil, awsjson.NotImplemented(Service, %q)\n}\n\n", op, g.opIn[op], g.opOut[op], op)
	}

	b.WriteString("// Operations describes every operation of the model, by name.\nvar Operations = map[string]*awsjson.Operation{\n")
	for _, op := range g.ops {
		o := g.m.Operations[op]
		in, out := "", ""
		if o.Input != nil {
			in = o.Input.Shape
		}
		if o.Output != nil {
			out = o.Output.Shape
		}
		var errs []string
		for _, e := range o.Errors {
			errs = append(errs, strconv.Quote(e.Shape))
		}
		fmt.Fprintf(b, "\t%q: {Name: %q, Input: %q, Output: %q, Errors: []string{%s}},\n", op, op, in, out, strings.Join(errs, ", "))
	}
	b.WriteString("}\n\n")

	sensitive := map[string]bool{}
	for _, sh := range g.m.Shapes {
		if sh.Type != "structure" {
			continue
		}
		for _, mem := range sh.Members {
			if g.m.Shapes[mem.Shape].Sensitive {
				sensitive[mem.Name] = true
			}
		}
	}
	names := make([]string, 0, len(sensitive))
	for n := range sensitive {
		names = append(names, strconv.Quote(n)+": true")
	}
	sort.Strings(names)
	b.WriteString("// SensitiveMembers are the names of members whose shapes the model marks sensitive (in any structure): audit\n")
	b.WriteString("// records and logs show them hidden.\nvar SensitiveMembers = map[string]bool{")
	b.WriteString(strings.Join(names, ", "))
	b.WriteString("}\n\n")

	b.WriteString("// Dispatch decodes body as the input of operation op, validates it, calls h and encodes its output. An unknown\n")
	b.WriteString("// operation is UnknownOperationException; a body that is not the input's JSON is SerializationException;\n")
	b.WriteString("// an input that breaks the model's constraints is an *awsjson.ValidationError for the caller to word.\n")
	b.WriteString("func Dispatch(ctx context.Context, h Handler, op string, body []byte) ([]byte, error) {\n\tswitch op {\n")
	for _, op := range g.ops {
		fmt.Fprintf(b, "\tcase %q:\n\t\treturn awsjson.Call(ctx, body, h.%s, (*%s).validate)\n", op, op, g.opIn[op])
	}
	b.WriteString("\t}\n\treturn nil, awsjson.UnknownOperation()\n}\n\n")

	b.WriteString("// DecodeInput decodes and validates body as the input of op and returns it (a *{Op}Input).\n")
	b.WriteString("func DecodeInput(op string, body []byte) (any, error) {\n\tswitch op {\n")
	for _, op := range g.ops {
		fmt.Fprintf(b, "\tcase %q:\n\t\tin := new(%s)\n\t\tif err := awsjson.Decode(body, in); err != nil {\n\t\t\treturn nil, err\n\t\t}\n", op, g.opIn[op])
		b.WriteString("\t\tvar v awsjson.Validator\n\t\tin.validate(&v, \"\")\n\t\treturn in, v.Err()\n")
	}
	b.WriteString("\t}\n\treturn nil, awsjson.UnknownOperation()\n}\n")
}

// jsonErrors emits the model's error codes with constructors. A JSON service's wire code is the error shape's
// name; the status is its httpStatusCode trait, else 500 for a server fault and 400 otherwise.
func (g *gen) jsonErrors(b *bytes.Buffer) {
	type entry struct {
		fn, code, doc string
		status        int
		sender        bool
	}
	byFn := map[string]entry{}
	for name, s := range g.m.Shapes {
		if !s.Exception {
			continue
		}
		status, sender := 400, true
		if s.Fault {
			status, sender = 500, false
		}
		if s.Error != nil && s.Error.HTTPStatusCode != 0 {
			status = s.Error.HTTPStatusCode
		}
		fn := errorFunc(name)
		if reservedNames[fn] {
			fn = name // ServiceException: Service is the package's service prefix
		}
		if prev, ok := byFn[fn]; ok && prev.code != name {
			log.Fatalf("error constructors clash: %s for %s and %s", fn, prev.code, name)
		}
		byFn[fn] = entry{fn, name, sentence(s.Documentation), status, sender}
	}
	for code, info := range awsjson.CommonErrors {
		fn := errorFunc(code)
		if _, ok := byFn[fn]; ok {
			continue // the model's error of that name wins
		}
		byFn[fn] = entry{fn, code, "a common error of every JSON 1.1 service.", info.HTTPStatus, info.Sender}
	}
	fns := make([]string, 0, len(byFn))
	for fn := range byFn {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	b.WriteString("// Errors are the error codes of the model and the common errors, with their HTTP status and fault.\n")
	b.WriteString("var Errors = map[string]awsjson.ErrorInfo{\n")
	for _, fn := range fns {
		e := byFn[fn]
		fmt.Fprintf(b, "\t%q: {Code: %q, HTTPStatus: %d, Sender: %v},\n", e.code, e.code, e.status, e.sender)
	}
	b.WriteString("}\n\n")
	for _, fn := range fns {
		e := byFn[fn]
		fault := "sender"
		if !e.sender {
			fault = "receiver"
		}
		fmt.Fprintf(b, "// %s returns a %s error (HTTP %d, %s fault): %s\n", fn, e.code, e.status, fault, e.doc)
		fmt.Fprintf(b, "func %s(format string, args ...any) *awsjson.Error {\n\treturn Errors[%q].Newf(format, args...)\n}\n\n", fn, e.code)
	}
}

// reservedNames are the generated package's own names, which an error constructor must not take.
var reservedNames = map[string]bool{"Service": true, "Version": true, "TargetPrefix": true, "Dispatch": true,
	"DecodeInput": true, "Errors": true, "Operations": true, "Handler": true, "Unimplemented": true}

// jsonValidators emits a validate method for every input and every structure reachable from one: required
// members, lengths, counts, ranges, patterns and enums, as the model states them.
func (g *gen) jsonValidators(b *bytes.Buffer) {
	pats := make([]string, 0, len(g.patterns))
	for p := range g.patterns {
		pats = append(pats, p)
	}
	num := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(g.patterns[p], "pattern"))
		return n
	}
	sort.Slice(pats, func(i, j int) bool { return num(pats[i]) < num(pats[j]) })
	used := map[string]bool{}
	for name := range g.inShapes {
		s := g.m.Shapes[name]
		for _, mem := range s.Members {
			ms := g.m.Shapes[mem.Shape]
			if ms.Pattern != "" {
				used[ms.Pattern] = true
			}
			if ms.Type == "list" {
				if p := g.m.Shapes[ms.Member.Shape].Pattern; p != "" {
					used[p] = true
				}
			}
		}
	}
	if len(used) > 0 {
		b.WriteString("// The model's patterns, translated from Java to RE2 and anchored (Java's matches() checks the whole value).\nvar (\n")
		for _, p := range pats {
			if used[p] {
				fmt.Fprintf(b, "\t%s awsjson.Matcher = %s // %s\n", g.patterns[p], g.patternExpr(p), strings.ReplaceAll(p, "\n", " "))
			}
		}
		b.WriteString(")\n\n")
	}
	enumUsed := map[string]bool{}
	for name := range g.inShapes {
		s := g.m.Shapes[name]
		for _, mem := range s.Members {
			if len(g.m.Shapes[mem.Shape].Enum) > 0 {
				enumUsed[mem.Shape] = true
			}
			if ms := g.m.Shapes[mem.Shape]; ms.Type == "list" && len(g.m.Shapes[ms.Member.Shape].Enum) > 0 {
				enumUsed[ms.Member.Shape] = true
			}
		}
	}
	for _, name := range g.enums {
		if !enumUsed[name] {
			continue
		}
		s := g.m.Shapes[name]
		q := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			q[i] = strconv.Quote(v)
		}
		fmt.Fprintf(b, "var enum%s = []string{%s}\n\n", g.names[name], strings.Join(q, ", "))
	}
	for _, op := range g.ops {
		if g.m.Operations[op].Input == nil {
			fmt.Fprintf(b, "func (*%s) validate(*awsjson.Validator, string) {}\n\n", g.opIn[op])
		}
	}
	for _, name := range g.sortedShapes(g.inShapes) {
		s := g.m.Shapes[name]
		fmt.Fprintf(b, "func (x *%s) validate(v *awsjson.Validator, path string) {\n\tif x == nil {\n\t\treturn\n\t}\n", g.names[name])
		for _, mem := range s.Members {
			g.validateMember(b, s, mem)
		}
		b.WriteString("}\n\n")
	}
}

// stringCheck returns the call that checks string expression x of shape name at path p, or "" when the shape
// has no constraint.
func (g *gen) stringCheck(name, p, x string) string {
	s := g.m.Shapes[name]
	if s.Type != "string" || (s.Min == nil && s.Max == nil && s.Pattern == "" && len(s.Enum) == 0) {
		return ""
	}
	pat, enum := "nil", "nil"
	if s.Pattern != "" {
		pat = g.patterns[s.Pattern]
	}
	if len(s.Enum) > 0 {
		enum = "enum" + g.names[name]
		x = "string(" + x + ")"
	}
	return fmt.Sprintf("v.String(%s, %s, %d, %d, %s, %s, %v)", p, x, bound(s.Min), bound(s.Max), pat, enum, s.Sensitive)
}

func (g *gen) validateMember(b *bytes.Buffer, parent *shape, mem *member) {
	s := g.m.Shapes[mem.Shape]
	req := parent.required(mem.Name)
	f := "x." + export(mem.Name)
	p := fmt.Sprintf("awsjson.Path(path, %q)", mem.Name)
	missing := ""
	switch s.Type {
	case "string":
		missing = f + ` == ""`
	case "blob", "list", "map":
		missing = f + " == nil"
	case "structure":
		missing = f + " == nil"
	case "timestamp":
		missing = f + ".IsZero()"
	case "integer", "long", "boolean", "float", "double":
		if !req {
			missing = f + " == nil"
		}
	}
	var present []string
	switch s.Type {
	case "string":
		if c := g.stringCheck(mem.Shape, p, f); c != "" {
			present = append(present, c)
		}
	case "integer", "long":
		if s.Min != nil || s.Max != nil {
			x := f
			if !req {
				x = "*" + f
			}
			var lo, hi float64
			if s.Min != nil {
				lo = *s.Min
			}
			if s.Max != nil {
				hi = *s.Max
			}
			present = append(present, fmt.Sprintf("v.Int(%s, int64(%s), %v, %d, %v, %d)", p, x, s.Min != nil, int64(lo), s.Max != nil, int64(hi)))
		}
	case "structure":
		present = append(present, fmt.Sprintf("%s.validate(v, %s)", f, p))
	case "list", "map":
		if s.Min != nil || s.Max != nil {
			present = append(present, fmt.Sprintf("v.Count(%s, len(%s), %d, %d)", p, f, bound(s.Min), bound(s.Max)))
		}
		if s.Type == "list" {
			elem := g.m.Shapes[s.Member.Shape]
			switch {
			case elem.Type == "structure":
				present = append(present, fmt.Sprintf("for i := range %s {\n\t\t\t%s[i].validate(v, awsjson.Index(%s, i))\n\t\t\tif v.Full() {\n\t\t\t\tbreak\n\t\t\t}\n\t\t}", f, f, p))
			case g.stringCheck(s.Member.Shape, "", "e") != "":
				present = append(present, fmt.Sprintf("for i, e := range %s {\n\t\t\t%s\n\t\t\tif v.Full() {\n\t\t\t\tbreak\n\t\t\t}\n\t\t}", f, g.stringCheck(s.Member.Shape, "awsjson.Index("+p+", i)", "e")))
			}
		}
	}
	switch {
	case missing == "" && len(present) == 0:
	case missing == "":
		fmt.Fprintf(b, "\t%s\n", strings.Join(present, "\n\t"))
	case len(present) == 0 && req:
		fmt.Fprintf(b, "\tif %s {\n\t\tv.Required(%s)\n\t}\n", missing, p)
	case len(present) == 0:
	case req:
		fmt.Fprintf(b, "\tif %s {\n\t\tv.Required(%s)\n\t} else {\n\t\t%s\n\t}\n", missing, p, strings.Join(present, "\n\t\t"))
	default:
		fmt.Fprintf(b, "\tif !(%s) {\n\t\t%s\n\t}\n", missing, strings.Join(present, "\n\t\t"))
	}
}
