package policy

// Helpers for the IAM policy simulator's answers (SimulateCustomPolicy,
// SimulatePrincipalPolicy, GetContextKeysFor*Policy).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html

// ContextKeys returns the condition keys and policy variables the document
// refers to, each once (compared ignoring case, first spelling kept), in
// document order: per statement, the variables of Resource/NotResource,
// then each condition's key and the variables in its values. Variables
// count only under Version 2012-10-17, where they are substituted. This is
// the list GetContextKeysForCustomPolicy returns.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html
func (d *Document) ContextKeys() []string {
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		lk := lowerASCII(k)
		if !seen[lk] {
			seen[lk] = true
			out = append(out, k)
		}
	}
	vars := d.UsesVariables()
	addVars := func(s string) {
		if !vars {
			return
		}
		for _, p := range parseVariables(s) {
			if p.isVar {
				add(p.name)
			}
		}
	}
	for i := range d.Statements {
		s := &d.Statements[i]
		for _, l := range []*List{s.Resource, s.NotResource} {
			if l == nil {
				continue
			}
			for _, v := range l.Values {
				addVars(v.Value)
			}
		}
		for _, c := range s.Condition {
			add(c.Key.Value)
			for _, v := range c.Values.Values {
				addVars(v.Value)
			}
		}
	}
	return out
}

// SimulatorPositions returns a matched statement's StartPosition and
// EndPosition as the IAM policy simulator reports them: 1-based line and
// column of the statement's '{' and of its '}'. When the document wrote
// Statement as a single object (single), the simulator counts as if it had
// been wrapped in an array, so the columns on the line of the opening
// bracket move right by one. AWS's own examples show both: the statement
// `{"Version":"2012-10-17","Statement":{...}}` is reported from column 38
// (the '{' is character 37), a statement in an array from the column of its
// '{'.
// https://docs.aws.amazon.com/cli/latest/reference/iam/simulate-custom-policy.html
func SimulatorPositions(ref StatementRef, single bool) (start, end Pos) {
	if !ref.Start.IsValid() {
		return Pos{}, Pos{}
	}
	start = ref.Start
	// End is just after the '}', which is on End's line.
	end = Pos{Line: ref.End.Line, Column: ref.End.Column - 1, Offset: ref.End.Offset - 1}
	if single {
		if end.Line == start.Line {
			end.Column++
		}
		start.Column++
	}
	return start, end
}
