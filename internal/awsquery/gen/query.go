package main

import (
	"bytes"
	"fmt"
	"log"
	"sort"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/internal/awsquery"
)

// This file emits the Query protocol's codec: form decoding with validation, XML encoding, Dispatch.
// https://smithy.io/2.0/aws/protocols/aws-query-protocol.html

func (g *gen) structFields(b *bytes.Buffer, name string) {
	s := g.m.Shapes[name]
	for _, mem := range s.Members {
		if doc := sentence(mem.Documentation); doc != "" {
			fmt.Fprintf(b, "\t// %s\n", doc)
		}
		typ := g.goType(mem.Shape, !s.required(mem.Name), false)
		if !g.json {
			fmt.Fprintf(b, "\t%s %s\n", export(mem.Name), typ)
			continue
		}
		opt := ""
		if !s.required(mem.Name) {
			opt = ",omitempty"
			if typ == "awsjson.Time" {
				opt = ",omitzero"
			}
		}
		fmt.Fprintf(b, "\t%s %s `json:\"%s%s\"`\n", export(mem.Name), typ, mem.Name, opt)
	}
}

func (g *gen) types(b *bytes.Buffer) {
	done := map[string]bool{}
	for _, op := range g.ops {
		o := g.m.Operations[op]
		fmt.Fprintf(b, "// %s is the input of %s.\n", g.opIn[op], op)
		if o.Input == nil {
			fmt.Fprintf(b, "type %s struct{}\n\n", g.opIn[op])
		} else {
			fmt.Fprintf(b, "type %s struct {\n", g.opIn[op])
			g.structFields(b, o.Input.Shape)
			b.WriteString("}\n\n")
			done[o.Input.Shape] = true
		}
		switch {
		case o.Output == nil:
			fmt.Fprintf(b, "// %s is the output of %s, which returns nothing but its request id.\n", g.opOut[op], op)
			fmt.Fprintf(b, "type %s struct{}\n\n", g.opOut[op])
		case g.aliases[g.opOut[op]] != "":
			fmt.Fprintf(b, "// %s is the output of %s.\n", g.opOut[op], op)
			fmt.Fprintf(b, "type %s = %s\n\n", g.opOut[op], g.aliases[g.opOut[op]])
		default:
			fmt.Fprintf(b, "// %s is the output of %s.\n", g.opOut[op], op)
			fmt.Fprintf(b, "type %s struct {\n", g.opOut[op])
			g.structFields(b, o.Output.Shape)
			b.WriteString("}\n\n")
			done[o.Output.Shape] = true
		}
	}
	var rest []string
	for name, s := range g.m.Shapes {
		if s.Type == "structure" && !s.Exception && !done[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		s := g.m.Shapes[name]
		docFor(b, g.names[name], s.Documentation, "is the model's "+name+" structure.")
		fmt.Fprintf(b, "type %s struct {\n", g.names[name])
		g.structFields(b, name)
		b.WriteString("}\n\n")
	}
	for _, name := range g.enums {
		s := g.m.Shapes[name]
		typ := g.names[name]
		fmt.Fprintf(b, "// %s is one of the model's %s values.\n", typ, name)
		fmt.Fprintf(b, "type %s string\n\n", typ)
		fmt.Fprintf(b, "// The values of %s.\nconst (\n", typ)
		seen := map[string]bool{}
		for i, v := range s.Enum {
			c := enumConst(typ, v)
			if seen[c] {
				c += strconv.Itoa(i)
			}
			seen[c] = true
			fmt.Fprintf(b, "\t%s %s = %q\n", c, typ, v)
		}
		b.WriteString(")\n\n")
	}
}

func (g *gen) api(b *bytes.Buffer) {
	md := g.m.Metadata
	fmt.Fprintf(b, "// Namespace is %s's XML namespace.\nconst Namespace = %q\n\n", md.ServiceID, md.XMLNamespace)
	fmt.Fprintf(b, "// Version is %s's API version, the Query protocol's Version parameter.\nconst Version = %q\n\n", md.ServiceID, md.APIVersion)
	fmt.Fprintf(b, "// Service is %s's service prefix, as in IAM actions (%s:%s).\nconst Service = %q\n\n", md.ServiceID, md.EndpointPrefix, g.ops[0], md.EndpointPrefix)

	fmt.Fprintf(b, "// Handler implements %s's operations on typed inputs and outputs. An error that is not an\n", md.ServiceID)
	b.WriteString("// *awsquery.Error is the server's to map; Dispatch returns it unchanged.\ntype Handler interface {\n")
	for _, op := range g.ops {
		docFor(b, op, g.m.Operations[op].Documentation, "is the "+op+" operation.")
		fmt.Fprintf(b, "\t%s(ctx context.Context, in *%s) (*%s, error)\n", op, g.opIn[op], g.opOut[op])
	}
	b.WriteString("}\n\n")

	b.WriteString("// Unimplemented answers every operation with NotImplemented (HTTP 501). Embed it in a Handler so that\n")
	b.WriteString("// operations not written yet still compile and fail clearly.\ntype Unimplemented struct{}\n\n")
	for _, op := range g.ops {
		fmt.Fprintf(b, "// %s returns NotImplemented.\n", op)
		fmt.Fprintf(b, "func (Unimplemented) %s(context.Context, *%s) (*%s, error) {\n\treturn nil, awsquery.NotImplemented(Service, %q)\n}\n\n", op, g.opIn[op], g.opOut[op], op)
	}

	b.WriteString("// Operations describes every operation of the model, by name.\nvar Operations = map[string]*awsquery.Operation{\n")
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
			code, _, _ := g.errorCode(e.Shape)
			errs = append(errs, strconv.Quote(code))
		}
		noAuth := o.AuthType == "none"
		for _, a := range o.Auth {
			noAuth = noAuth || a == "smithy.api#noAuth"
		}
		fmt.Fprintf(b, "\t%q: {Name: %q, Input: %q, Output: %q, Errors: []string{%s}, NoAuth: %v},\n", op, op, in, out, strings.Join(errs, ", "), noAuth)
	}
	b.WriteString("}\n\n")

	b.WriteString("// Dispatch decodes and validates form as the input of action, calls h, and encodes its output as the\n")
	b.WriteString("// service's XML response. An unknown action is InvalidAction; invalid input is a ValidationError listing\n")
	b.WriteString("// every failure; unknown parameters are ignored, as AWS does.\n")
	b.WriteString("func Dispatch(ctx context.Context, h Handler, action string, form url.Values, requestID string) ([]byte, error) {\n\tswitch action {\n")
	for _, op := range g.ops {
		fmt.Fprintf(b, "\tcase %q:\n\t\treturn dispatch%s(ctx, h, form, requestID)\n", op, op)
	}
	b.WriteString("\t}\n\treturn nil, awsquery.InvalidAction(action, Version)\n}\n\n")

	for _, op := range g.ops {
		o := g.m.Operations[op]
		fmt.Fprintf(b, "func dispatch%s(ctx context.Context, h Handler, form url.Values, requestID string) ([]byte, error) {\n", op)
		fmt.Fprintf(b, "\tin := new(%s)\n", g.opIn[op])
		if o.Input != nil {
			fmt.Fprintf(b, "\td := awsquery.NewDecoder(form)\n\tdecode%s(d, 0, in)\n\tif err := d.Finish(); err != nil {\n\t\treturn nil, err\n\t}\n", g.opIn[op])
		}
		fmt.Fprintf(b, "\tout, err := h.%s(ctx, in)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n", op)
		fmt.Fprintf(b, "\te := awsquery.NewEncoder()\n\tdefer e.Release()\n\te.StartResponse(%q, Namespace)\n", op)
		if o.Output != nil {
			fmt.Fprintf(b, "\te.Start(%q)\n\tif out != nil {\n\t\tencode%s(e, out)\n\t}\n\te.End(%q)\n", o.Output.ResultWrapper, g.names[o.Output.Shape], o.Output.ResultWrapper)
		} else {
			b.WriteString("\t_ = out\n")
		}
		fmt.Fprintf(b, "\te.EndResponse(%q, requestID)\n\treturn e.Bytes(), nil\n}\n\n", op)
	}

	b.WriteString("// DecodeInput decodes and validates form as the input of action and returns it (a *{Action}Input).\n")
	b.WriteString("func DecodeInput(action string, form url.Values) (any, error) {\n\tswitch action {\n")
	for _, op := range g.ops {
		o := g.m.Operations[op]
		fmt.Fprintf(b, "\tcase %q:\n\t\tin := new(%s)\n", op, g.opIn[op])
		if o.Input != nil {
			fmt.Fprintf(b, "\t\td := awsquery.NewDecoder(form)\n\t\tdecode%s(d, 0, in)\n\t\treturn in, d.Finish()\n", g.opIn[op])
		} else {
			b.WriteString("\t\treturn in, nil\n")
		}
	}
	b.WriteString("\t}\n\treturn nil, awsquery.InvalidAction(action, Version)\n}\n")
}

func (g *gen) errors(b *bytes.Buffer) {
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
		code, status, sender := g.errorCode(name)
		fn := errorFunc(code)
		if prev, ok := byFn[fn]; ok && prev.code != code {
			log.Fatalf("error constructors clash: %s for %s and %s", fn, prev.code, code)
		}
		byFn[fn] = entry{fn, code, sentence(s.Documentation), status, sender}
	}
	for code, info := range awsquery.CommonErrors {
		fn := errorFunc(code)
		if _, ok := byFn[fn]; ok {
			continue // the model's error of that name wins (STS's ExpiredTokenException)
		}
		byFn[fn] = entry{fn, code, "a common error of every Query service.", info.HTTPStatus, info.Sender}
	}
	fns := make([]string, 0, len(byFn))
	for fn := range byFn {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	b.WriteString("// Errors are the error codes of the model and the common errors, with their HTTP status and fault.\n")
	b.WriteString("var Errors = map[string]awsquery.ErrorInfo{\n")
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
		fmt.Fprintf(b, "func %s(format string, args ...any) *awsquery.Error {\n\treturn Errors[%q].Newf(format, args...)\n}\n\n", fn, e.code)
	}
}

// ---- decoding -------------------------------------------------------------------------------------------

func (g *gen) decoders(b *bytes.Buffer) {
	pats := make([]string, 0, len(g.patterns))
	for p := range g.patterns {
		pats = append(pats, p)
	}
	sort.Slice(pats, func(i, j int) bool { return g.patterns[pats[i]] < g.patterns[pats[j]] })
	if len(pats) > 0 {
		b.WriteString("// The model's patterns, translated from Java to RE2 and anchored (Java's matches() checks the whole value).\nvar (\n")
		sort.Slice(pats, func(i, j int) bool {
			a, _ := strconv.Atoi(strings.TrimPrefix(g.patterns[pats[i]], "pattern"))
			c, _ := strconv.Atoi(strings.TrimPrefix(g.patterns[pats[j]], "pattern"))
			return a < c
		})
		for _, p := range pats {
			fmt.Fprintf(b, "\t%s awsquery.Matcher = %s // %s\n", g.patterns[p], g.patternExpr(p), strings.ReplaceAll(p, "\n", " "))
		}
		b.WriteString(")\n\n")
	}
	for _, name := range g.enums {
		s := g.m.Shapes[name]
		q := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			q[i] = strconv.Quote(v)
		}
		fmt.Fprintf(b, "var enum%s = []string{%s}\n\n", g.names[name], strings.Join(q, ", "))
	}
	for _, name := range g.sortedShapes(g.inShapes) {
		s := g.m.Shapes[name]
		typ := g.names[name]
		probes := g.probes(name, 0)
		for i, pr := range probes {
			probes[i] = strconv.Quote(pr)
		}
		fmt.Fprintf(b, "// members%s are the keys, one of which a present %s has.\nvar members%s = []string{%s}\n\n", typ, typ, typ, strings.Join(probes, ", "))
		fmt.Fprintf(b, "func decode%s(d *awsquery.Decoder, p int, v *%s) {\n", typ, typ)
		for _, mem := range s.Members {
			g.decodeMember(b, s, mem)
		}
		b.WriteString("}\n\n")
	}
}

// probes lists the form keys (relative to a structure's prefix) whose presence shows the structure is present:
// each scalar member, each list's "X" (empty list) and first element, each map's first key, and a nested
// structure's own probes. Checking these few keys keeps decoding linear in the form's size, where scanning every
// key for a prefix would let a large form cost quadratic time.
func (g *gen) probes(name string, depth int) []string {
	if depth > 8 {
		log.Fatalf("structure %s nests too deeply for probes", name)
	}
	var out []string
	for _, mem := range g.m.Shapes[name].Members {
		ms := g.m.Shapes[mem.Shape]
		switch ms.Type {
		case "structure":
			for _, p := range g.probes(mem.Shape, depth+1) {
				out = append(out, mem.Name+"."+p)
			}
		case "list":
			out = append(out, mem.Name)
			if g.m.Shapes[ms.Member.Shape].Type == "structure" {
				for _, p := range g.probes(ms.Member.Shape, depth+1) {
					out = append(out, mem.Name+".member.1."+p)
				}
			} else {
				out = append(out, mem.Name+".member.1")
			}
		case "map":
			out = append(out, mem.Name, mem.Name+".entry.1.key")
		default:
			out = append(out, mem.Name)
		}
	}
	return out
}

func (g *gen) decodeMember(b *bytes.Buffer, parent *shape, mem *member) {
	s := g.m.Shapes[mem.Shape]
	req := parent.required(mem.Name)
	field := "v." + export(mem.Name)
	switch s.Type {
	case "structure":
		typ := g.names[mem.Shape]
		fmt.Fprintf(b, "\tif r := d.Key(p, %q); d.Any(r, members%s) {\n\t\t%s = new(%s)\n\t\tdecode%s(d, r, %s)\n\t}", mem.Name+".", typ, field, typ, typ, field)
		if req {
			fmt.Fprintf(b, " else {\n\t\td.Key(p, %q)\n\t\td.Null()\n\t}", mem.Name)
		}
		b.WriteString("\n")
	case "list":
		elem := g.m.Shapes[s.Member.Shape]
		et := g.goType(s.Member.Shape, false, true)
		fmt.Fprintf(b, "\t{\n\t\tq := d.Key(p, %q)\n\t\tvar list []%s\n\t\tfor i := 1; ; i++ {\n", mem.Name+".member.", et)
		switch elem.Type {
		case "structure":
			typ := g.names[s.Member.Shape]
			fmt.Fprintf(b, "\t\t\tr := d.Index(q, i, true)\n\t\t\tif !d.Any(r, members%s) {\n\t\t\t\tbreak\n\t\t\t}\n\t\t\tvar e %s\n\t\t\tdecode%s(d, r, &e)\n\t\t\tlist = append(list, e)\n", typ, typ, typ)
		case "list", "map":
			log.Fatalf("list %s of %s is not supported", mem.Shape, elem.Type)
		default:
			b.WriteString("\t\t\ts, ok := d.At(d.Index(q, i, false))\n\t\t\tif !ok {\n\t\t\t\tbreak\n\t\t\t}\n")
			g.scalarDecode(b, s.Member.Shape, "s", func(x string) string { return "list = append(list, " + x + ")" }, false, "\t\t\t")
		}
		b.WriteString("\t\t}\n")
		fmt.Fprintf(b, "\t\tif _, ok := d.Get(p, %q); ok && list == nil {\n\t\t\tlist = []%s{} // \"%s=\" sends an empty list\n\t\t}\n", mem.Name, et, mem.Name)
		fmt.Fprintf(b, "\t\tif list != nil {\n")
		if s.Min != nil || s.Max != nil {
			fmt.Fprintf(b, "\t\t\td.Key(p, %q)\n\t\t\td.CountOnly(len(list), %d, %d)\n", mem.Name, bound(s.Min), bound(s.Max))
		}
		fmt.Fprintf(b, "\t\t\t%s = list\n\t\t}", field)
		if req {
			fmt.Fprintf(b, " else {\n\t\t\td.Key(p, %q)\n\t\t\td.Null()\n\t\t}", mem.Name)
		}
		b.WriteString("\n\t}\n")
	case "map":
		kt := g.goType(s.Key.Shape, false, true)
		vt := g.goType(s.Value.Shape, false, true)
		if !isScalar(g.m.Shapes[s.Value.Shape].Type) {
			log.Fatalf("map %s of %s is not supported", mem.Shape, vt)
		}
		fmt.Fprintf(b, "\t{\n\t\tq := d.Key(p, %q)\n\t\tvar m map[%s]%s\n\t\tfor i := 1; ; i++ {\n", mem.Name+".entry.", kt, vt)
		b.WriteString("\t\t\tr := d.Index(q, i, true)\n\t\t\tks, ok := d.Get(r, \"key\")\n\t\t\tif !ok {\n\t\t\t\tbreak\n\t\t\t}\n")
		fmt.Fprintf(b, "\t\t\tvar k %s\n", kt)
		g.scalarDecode(b, s.Key.Shape, "ks", func(x string) string { return "k = " + x }, false, "\t\t\t")
		b.WriteString("\t\t\tvs, ok := d.Get(r, \"value\")\n\t\t\tif !ok {\n\t\t\t\td.Null()\n\t\t\t\tcontinue\n\t\t\t}\n\t\t\tif m == nil {\n")
		fmt.Fprintf(b, "\t\t\t\tm = map[%s]%s{}\n\t\t\t}\n", kt, vt)
		g.scalarDecode(b, s.Value.Shape, "vs", func(x string) string { return "m[k] = " + x }, false, "\t\t\t")
		b.WriteString("\t\t}\n")
		fmt.Fprintf(b, "\t\tif m != nil {\n")
		if s.Min != nil || s.Max != nil {
			fmt.Fprintf(b, "\t\t\td.Key(p, %q)\n\t\t\td.CountOnly(len(m), %d, %d)\n", mem.Name, bound(s.Min), bound(s.Max))
		}
		fmt.Fprintf(b, "\t\t\t%s = m\n\t\t}", field)
		if req {
			fmt.Fprintf(b, " else {\n\t\t\td.Key(p, %q)\n\t\t\td.Null()\n\t\t}", mem.Name)
		}
		b.WriteString("\n\t}\n")
	default:
		fmt.Fprintf(b, "\tif s, ok := d.Get(p, %q); ok {\n", mem.Name)
		ptr := !req && s.Type != "string" && s.Type != "blob"
		g.scalarDecode(b, mem.Shape, "s", func(x string) string { return field + " = " + x }, ptr, "\t\t")
		b.WriteString("\t}")
		if req {
			b.WriteString(" else {\n\t\td.Null()\n\t}")
		}
		b.WriteString("\n")
	}
}

func bound(f *float64) int {
	if f == nil {
		return -1
	}
	return int(*f)
}

// scalarDecode emits code that parses and validates the string variable sv (the value at the decoder's current
// key) as shape name and passes the result to assign; ptr assigns its address.
func (g *gen) scalarDecode(b *bytes.Buffer, name, sv string, assign func(string) string, ptr bool, ind string) {
	s := g.m.Shapes[name]
	amp := ""
	if ptr {
		amp = "&"
	}
	rng := func(x string) {
		if s.Min != nil {
			fmt.Fprintf(b, "%s\td.Min(%s, float64(%s), %s)\n", ind, sv, x, strconv.FormatFloat(*s.Min, 'f', -1, 64))
		}
		if s.Max != nil {
			fmt.Fprintf(b, "%s\td.Max(%s, float64(%s), %s)\n", ind, sv, x, strconv.FormatFloat(*s.Max, 'f', -1, 64))
		}
	}
	switch s.Type {
	case "string":
		if s.Min != nil || s.Max != nil {
			fmt.Fprintf(b, "%sd.Len(%s, %d, %d, %v)\n", ind, sv, bound(s.Min), bound(s.Max), s.Sensitive)
		}
		if s.Pattern != "" {
			fmt.Fprintf(b, "%sd.Match(%s, %s, %s, %v)\n", ind, sv, g.patterns[s.Pattern], goString(s.Pattern), s.Sensitive)
		}
		if len(s.Enum) > 0 {
			fmt.Fprintf(b, "%sd.Enum(%s, enum%s, %q)\n", ind, sv, g.names[name], "["+strings.Join(s.Enum, ", ")+"]")
			fmt.Fprintf(b, "%s%s\n", ind, assign(g.names[name]+"("+sv+")"))
		} else {
			fmt.Fprintf(b, "%s%s\n", ind, assign(sv))
		}
	case "integer", "long", "float", "double":
		fn := map[string]string{"integer": "Int32", "long": "Int64", "float": "Float64", "double": "Float64"}[s.Type]
		fmt.Fprintf(b, "%sif n, ok := d.%s(%s); ok {\n", ind, fn, sv)
		rng("n")
		fmt.Fprintf(b, "%s\t%s\n%s}\n", ind, assign(amp+"n"), ind)
	case "boolean":
		fmt.Fprintf(b, "%sif x, ok := d.Bool(%s); ok {\n%s\t%s\n%s}\n", ind, sv, ind, assign(amp+"x"), ind)
	case "timestamp":
		fmt.Fprintf(b, "%sif t, ok := d.Time(%s); ok {\n%s\t%s\n%s}\n", ind, sv, ind, assign(amp+"t"), ind)
	case "blob":
		fmt.Fprintf(b, "%sif x, ok := d.Blob(%s, %v); ok {\n", ind, sv, s.Sensitive)
		if s.Min != nil || s.Max != nil {
			fmt.Fprintf(b, "%s\td.Count(%s, len(x), %d, %d, %v)\n", ind, sv, bound(s.Min), bound(s.Max), s.Sensitive)
		}
		fmt.Fprintf(b, "%s\t%s\n%s}\n", ind, assign("x"), ind)
	default:
		log.Fatalf("scalar %s of type %s", name, s.Type)
	}
}

// ---- XML encoding ---------------------------------------------------------------------------------------

// policyShape is the shape IAM uses for policy documents, which it returns URL-encoded (botocore's
// json_decode_policies handler keys on the same name).
const policyShape = "policyDocumentType"

func (g *gen) encoders(b *bytes.Buffer) {
	for _, name := range g.sortedShapes(g.outShapes) {
		s := g.m.Shapes[name]
		typ := g.names[name]
		fmt.Fprintf(b, "func encode%s(e *awsquery.Encoder, v *%s) {\n", typ, typ)
		for _, mem := range s.Members {
			g.encodeMember(b, s, mem)
		}
		b.WriteString("}\n\n")
	}
}

func (g *gen) encodeMember(b *bytes.Buffer, parent *shape, mem *member) {
	s := g.m.Shapes[mem.Shape]
	req := parent.required(mem.Name)
	field := "v." + export(mem.Name)
	tag := mem.Name
	if mem.LocationName != "" {
		tag = mem.LocationName
	}
	switch s.Type {
	case "structure":
		fmt.Fprintf(b, "\tif %s != nil {\n\t\te.Start(%q)\n\t\tencode%s(e, %s)\n\t\te.End(%q)\n\t}\n", field, tag, g.names[mem.Shape], field, tag)
	case "list":
		cond := field + " != nil"
		if req {
			cond = "true"
		}
		if req {
			b.WriteString("\t{\n")
		} else {
			fmt.Fprintf(b, "\tif %s {\n", cond)
		}
		fmt.Fprintf(b, "\t\te.Start(%q)\n\t\tfor i := range %s {\n", tag, field)
		if g.m.Shapes[s.Member.Shape].Type == "structure" {
			fmt.Fprintf(b, "\t\t\te.Start(\"member\")\n\t\t\tencode%s(e, &%s[i])\n\t\t\te.End(\"member\")\n", g.names[s.Member.Shape], field)
		} else {
			fmt.Fprintf(b, "\t\t\t%s\n", g.scalarEncode(s.Member.Shape, "member", field+"[i]"))
		}
		fmt.Fprintf(b, "\t\t}\n\t\te.End(%q)\n\t}\n", tag)
	case "map":
		if req {
			b.WriteString("\t{\n")
		} else {
			fmt.Fprintf(b, "\tif %s != nil {\n", field)
		}
		kt := g.goType(s.Key.Shape, false, true)
		fmt.Fprintf(b, "\t\te.Start(%q)\n\t\tkeys := make([]%s, 0, len(%s))\n\t\tfor k := range %s {\n\t\t\tkeys = append(keys, k)\n\t\t}\n\t\tslices.Sort(keys) // stable output\n", tag, kt, field, field)
		fmt.Fprintf(b, "\t\tfor _, k := range keys {\n\t\t\te.Start(\"entry\")\n\t\t\t%s\n\t\t\t%s\n\t\t\te.End(\"entry\")\n\t\t}\n\t\te.End(%q)\n\t}\n",
			g.scalarEncode(s.Key.Shape, "key", "k"), g.scalarEncode(s.Value.Shape, "value", field+"[k]"), tag)
	default:
		ptr := !req && s.Type != "string" && s.Type != "blob"
		switch {
		case ptr:
			fmt.Fprintf(b, "\tif %s != nil {\n\t\t%s\n\t}\n", field, g.scalarEncode(mem.Shape, tag, "*"+field))
		case req:
			fmt.Fprintf(b, "\t%s\n", g.scalarEncode(mem.Shape, tag, field))
		case s.Type == "blob":
			fmt.Fprintf(b, "\tif %s != nil {\n\t\t%s\n\t}\n", field, g.scalarEncode(mem.Shape, tag, field))
		default:
			fmt.Fprintf(b, "\tif %s != \"\" {\n\t\t%s\n\t}\n", field, g.scalarEncode(mem.Shape, tag, field))
		}
	}
}

func (g *gen) scalarEncode(name, tag, x string) string {
	s := g.m.Shapes[name]
	switch s.Type {
	case "string":
		if name == policyShape {
			return fmt.Sprintf("e.Policy(%q, %s)", tag, x)
		}
		if len(s.Enum) > 0 {
			return fmt.Sprintf("e.String(%q, string(%s))", tag, x)
		}
		return fmt.Sprintf("e.String(%q, %s)", tag, x)
	case "integer":
		return fmt.Sprintf("e.Int32(%q, %s)", tag, x)
	case "long":
		return fmt.Sprintf("e.Int64(%q, %s)", tag, x)
	case "float", "double":
		return fmt.Sprintf("e.Float64(%q, %s)", tag, x)
	case "boolean":
		return fmt.Sprintf("e.Bool(%q, %s)", tag, x)
	case "timestamp":
		return fmt.Sprintf("e.Time(%q, %s)", tag, x)
	case "blob":
		return fmt.Sprintf("e.Blob(%q, %s)", tag, x)
	}
	log.Fatalf("scalar %s of type %s", name, s.Type)
	return ""
}

// ---- form encoding (inputs back to the wire, for tests, fuzzing and audit records) ------------------------

func (g *gen) formEncoders(b *bytes.Buffer) {
	b.WriteString("// EncodeInput renders in (a *{Action}Input) as the form an SDK sends, without Action and Version; nil for\n")
	b.WriteString("// a value that is not an input.\nfunc EncodeInput(in any) url.Values {\n\tf := url.Values{}\n\tswitch v := in.(type) {\n")
	for _, op := range g.ops {
		o := g.m.Operations[op]
		fmt.Fprintf(b, "\tcase *%s:\n", g.opIn[op])
		if o.Input != nil {
			fmt.Fprintf(b, "\t\tform%s(f, \"\", v)\n", g.opIn[op])
		} else {
			b.WriteString("\t\t_ = v\n")
		}
	}
	b.WriteString("\tdefault:\n\t\treturn nil\n\t}\n\treturn f\n}\n\n")
	for _, name := range g.sortedShapes(g.inShapes) {
		s := g.m.Shapes[name]
		typ := g.names[name]
		fmt.Fprintf(b, "func form%s(f url.Values, p string, v *%s) {\n", typ, typ)
		for _, mem := range s.Members {
			ms := g.m.Shapes[mem.Shape]
			req := s.required(mem.Name)
			field := "v." + export(mem.Name)
			switch ms.Type {
			case "structure":
				fmt.Fprintf(b, "\tif %s != nil {\n\t\tform%s(f, p+%q, %s)\n\t}\n", field, g.names[mem.Shape], mem.Name+".", field)
			case "list":
				fmt.Fprintf(b, "\tif %s != nil && len(%s) == 0 {\n\t\tf.Set(p+%q, \"\")\n\t}\n", field, field, mem.Name)
				fmt.Fprintf(b, "\tfor i := range %s {\n\t\tk := p + %q + strconv.Itoa(i+1)\n", field, mem.Name+".member.")
				if g.m.Shapes[ms.Member.Shape].Type == "structure" {
					fmt.Fprintf(b, "\t\tform%s(f, k+\".\", &%s[i])\n", g.names[ms.Member.Shape], field)
				} else {
					fmt.Fprintf(b, "\t\tf.Set(k, %s)\n", g.scalarForm(ms.Member.Shape, field+"[i]"))
				}
				b.WriteString("\t}\n")
			case "map":
				fmt.Fprintf(b, "\tif %s != nil && len(%s) == 0 {\n\t\tf.Set(p+%q, \"\")\n\t}\n", field, field, mem.Name)
				fmt.Fprintf(b, "\t{\n\t\ti := 0\n\t\tfor k, x := range %s {\n\t\t\ti++\n\t\t\tkp := p + %q + strconv.Itoa(i) + \".\"\n", field, mem.Name+".entry.")
				fmt.Fprintf(b, "\t\t\tf.Set(kp+\"key\", %s)\n\t\t\tf.Set(kp+\"value\", %s)\n\t\t}\n\t}\n", g.scalarForm(ms.Key.Shape, "k"), g.scalarForm(ms.Value.Shape, "x"))
			default:
				ptr := !req && ms.Type != "string" && ms.Type != "blob"
				switch {
				case ptr:
					fmt.Fprintf(b, "\tif %s != nil {\n\t\tf.Set(p+%q, %s)\n\t}\n", field, mem.Name, g.scalarForm(mem.Shape, "*"+field))
				case req:
					fmt.Fprintf(b, "\tf.Set(p+%q, %s)\n", mem.Name, g.scalarForm(mem.Shape, field))
				case ms.Type == "blob":
					fmt.Fprintf(b, "\tif %s != nil {\n\t\tf.Set(p+%q, %s)\n\t}\n", field, mem.Name, g.scalarForm(mem.Shape, field))
				default:
					fmt.Fprintf(b, "\tif %s != \"\" {\n\t\tf.Set(p+%q, %s)\n\t}\n", field, mem.Name, g.scalarForm(mem.Shape, field))
				}
			}
		}
		b.WriteString("}\n\n")
	}
}

func (g *gen) scalarForm(name, x string) string {
	s := g.m.Shapes[name]
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return "string(" + x + ")"
		}
		return x
	case "integer", "long":
		return "strconv.FormatInt(int64(" + x + "), 10)"
	case "float", "double":
		return "strconv.FormatFloat(" + x + ", 'g', -1, 64)"
	case "boolean":
		return "strconv.FormatBool(" + x + ")"
	case "timestamp":
		return "(" + x + ").Format(time.RFC3339Nano)"
	case "blob":
		return "base64.StdEncoding.EncodeToString(" + x + ")"
	}
	log.Fatalf("scalar %s of type %s", name, s.Type)
	return ""
}

// goString quotes s as a raw string when it can, so patterns read as the model writes them.
func goString(s string) string {
	if strings.ContainsAny(s, "`\n\r") {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}
