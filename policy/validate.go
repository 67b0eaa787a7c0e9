package policy

import (
	"errors"
	"strconv"
	"strings"

	"github.com/persona-iam/persona/arn"
	"github.com/persona-iam/persona/policy/condition"
	"github.com/persona-iam/persona/policy/wildcard"
)

// FindingType is the severity of a Finding, named as IAM Access Analyzer's
// ValidatePolicy names finding types.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
type FindingType string

// The finding types.
const (
	// FindingError: IAM rejects the policy, or it cannot work as written.
	FindingError FindingType = "ERROR"
	// FindingSecurityWarning: the policy grants more than is probably meant.
	FindingSecurityWarning FindingType = "SECURITY_WARNING"
	// FindingWarning: the policy is accepted but likely wrong.
	FindingWarning FindingType = "WARNING"
	// FindingSuggestion: the policy works but can be simplified.
	FindingSuggestion FindingType = "SUGGESTION"
)

// Finding codes. They follow Access Analyzer's issue codes where one exists
// and are stable: tools may match on them (never on messages).
const (
	CodeMissingPrincipal        = "MISSING_PRINCIPAL"
	CodeUnsupportedPrincipal    = "UNSUPPORTED_PRINCIPAL"
	CodeInvalidPrincipal        = "INVALID_PRINCIPAL"
	CodeMissingResource         = "MISSING_RESOURCE"
	CodeUnsupportedResource     = "UNSUPPORTED_RESOURCE"
	CodeInvalidAction           = "INVALID_ACTION"
	CodeInvalidServiceInAction  = "INVALID_SERVICE_IN_ACTION"
	CodeEmptyArray              = "EMPTY_ARRAY"
	CodeInvalidARNResource      = "INVALID_ARN_RESOURCE"
	CodeExtraColonInARN         = "EXTRA_COLON_IN_ARN"
	CodeInvalidConditionOp      = "INVALID_CONDITION_OPERATOR"
	CodeInvalidCondition        = "INVALID_CONDITION"
	CodeUnknownConditionKey     = "UNKNOWN_CONDITION_KEY"
	CodeAllowWithNotAction      = "ALLOW_WITH_NOT_ACTION"
	CodeAllowWithNotResource    = "ALLOW_WITH_NOT_RESOURCE"
	CodeAllowWithNotPrincipal   = "ALLOW_WITH_NOT_PRINCIPAL"
	CodePublicAccess            = "PUBLIC_ACCESS"
	CodeRedundantStatement      = "REDUNDANT_STATEMENT"
	CodeRedundantAction         = "REDUNDANT_ACTION"
	CodeRedundantResource       = "REDUNDANT_RESOURCE"
	CodeMissingVersion          = "MISSING_VERSION"
	CodeVariableInOldVersion    = "POLICY_VARIABLE_IN_VERSION_2008"
	CodeDuplicateSid            = "DUPLICATE_SID"
	CodeInvalidSid              = "INVALID_SID"
	CodeUnsupportedActionTrust  = "UNSUPPORTED_ACTION_IN_TRUST_POLICY"
	CodeRCPPrincipalMustBeAll   = "RCP_PRINCIPAL_MUST_BE_WILDCARD"
	CodeNullWithIfExists        = "NULL_WITH_IF_EXISTS"
	CodeForAllValuesSingleValue = "FORALLVALUES_WITH_SINGLE_VALUED_KEY"
	CodeMissingWebIdentityCond  = "MISSING_WEB_IDENTITY_CONDITION"
)

// Finding is one result of Validate.
type Finding struct {
	Type    FindingType
	Code    string
	Message string
	Pos     Pos
	// Path locates the element, e.g. "Statement[0].Resource[1]".
	Path string
}

// String returns "line:column: TYPE CODE: message (path)".
func (f Finding) String() string {
	return f.Pos.String() + ": " + string(f.Type) + " " + f.Code + ": " + f.Message + " (" + f.Path + ")"
}

type validator struct {
	doc  *Document
	kind PolicyKind
	out  []Finding
}

func (v *validator) add(t FindingType, code string, pos Pos, path, msg string) {
	v.out = append(v.out, Finding{Type: t, Code: code, Message: msg, Pos: pos, Path: path})
}

// Validate checks doc as a policy of the given kind, like Access Analyzer's
// policy validation, and returns the findings in document order. ERROR
// findings are the ones IAM rejects; Compile refuses a document with any.
func Validate(doc *Document, kind PolicyKind) []Finding {
	v := &validator{doc: doc, kind: kind}
	if doc.Version.Value == "" {
		v.add(FindingWarning, CodeMissingVersion, doc.StatementPos, "Version",
			"the policy has no Version element, so it uses the 2008-10-17 language, in which policy variables are not substituted; add \"Version\": \"2012-10-17\"")
	}
	sids := map[string]int{}
	for i := range doc.Statements {
		s := &doc.Statements[i]
		path := stmtPath(doc, i)
		if s.Sid.Value != "" {
			if j, dup := sids[s.Sid.Value]; dup {
				v.add(FindingError, CodeDuplicateSid, s.Sid.Pos, path+".Sid",
					"duplicate Sid "+strconv.Quote(s.Sid.Value)+" (also used by "+stmtPath(doc, j)+"); statement ids must be unique within a policy")
			} else {
				sids[s.Sid.Value] = i
			}
			v.sid(s, path)
		}
		v.principal(s, path)
		v.actions(s, path)
		v.resources(s, path)
		v.conditions(s, path)
		v.broad(s, path)
		v.webIdentity(s, path)
	}
	v.redundant()
	return v.out
}

// sid: IAM accepts only letters and digits in the Sid of the policies it
// stores itself (identity policies, boundaries, trust policies); services
// with resource policies have their own rules.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
func (v *validator) sid(s *Statement, path string) {
	switch v.kind {
	case KindIdentity, KindBoundary, KindTrust:
	default:
		return
	}
	for _, c := range []byte(s.Sid.Value) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			v.add(FindingError, CodeInvalidSid, s.Sid.Pos, path+".Sid",
				"Sid "+strconv.Quote(s.Sid.Value)+" must contain only letters and digits ([0-9A-Za-z]*) in an IAM policy")
			return
		}
	}
}

func (v *validator) principal(s *Statement, path string) {
	p, name := s.Principal, "Principal"
	if p == nil {
		p, name = s.NotPrincipal, "NotPrincipal"
	}
	switch {
	case p == nil && v.kind.needsPrincipal():
		v.add(FindingError, CodeMissingPrincipal, s.Pos, path,
			"a "+kindNoun(v.kind)+" statement must name who it applies to with a Principal or NotPrincipal element")
		return
	case p != nil && v.kind.forbidsPrincipal():
		v.add(FindingError, CodeUnsupportedPrincipal, p.Pos, path+"."+name,
			"a "+kindNoun(v.kind)+" cannot contain "+name+": it applies to the identity it is attached to; Principal belongs in resource-based and trust policies")
		return
	case p == nil:
		return
	}
	if v.kind == KindRCP && !p.Wildcard {
		v.add(FindingError, CodeRCPPrincipalMustBeAll, p.Pos, path+"."+name,
			"a resource control policy must use \"Principal\": \"*\" (limit principals with conditions)")
	}
	// NotPrincipal is supported only with Deny, and only in resource-based
	// policies (not trust policies, SCPs or RCPs).
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
	if s.NotPrincipal != nil && s.IsAllow() {
		v.add(FindingError, CodeAllowWithNotPrincipal, p.Pos, path+".NotPrincipal",
			"NotPrincipal is supported only with \"Effect\": \"Deny\"; with Allow it would grant access to every principal not listed, including anonymous users")
	}
	if s.NotPrincipal != nil && v.kind != KindResource {
		v.add(FindingError, CodeUnsupportedPrincipal, p.Pos, path+".NotPrincipal",
			"NotPrincipal is not supported in a "+kindNoun(v.kind)+"; use Principal with a condition on aws:PrincipalArn")
	}
	if p.Wildcard && s.IsAllow() && s.Condition == nil && (v.kind == KindResource || v.kind == KindTrust) {
		v.add(FindingSecurityWarning, CodePublicAccess, p.Pos, path+"."+name,
			"\"Principal\": \"*\" without a Condition allows anyone, including anonymous users and other accounts")
	}
	for _, e := range p.Entries {
		for j, val := range e.Values.Values {
			vp := path + "." + name + "." + e.Type.Value
			if len(e.Values.Values) > 1 || e.Values.Pos != val.Pos {
				vp += "[" + strconv.Itoa(j) + "]"
			}
			v.principalValue(e.Type.Value, val, vp)
		}
	}
}

// knownFederated are the web identity providers IAM accepts by name in
// a trust policy's Federated principal.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-federated-web-identity
var knownFederated = []string{"accounts.google.com", "cognito-identity.amazonaws.com", "graph.facebook.com", "www.amazon.com"}

func (v *validator) principalValue(typ string, val String, path string) {
	s := val.Value
	switch typ {
	case PrincipalAWS:
		if s == "*" || arn.IsAccountID(s) {
			return
		}
		// IAM rejects partial wildcards in principals: "*" must stand alone.
		if strings.ContainsAny(s, "*?") {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"wildcards are not allowed inside a principal ARN ("+strconv.Quote(s)+"); use \"*\" with a condition on aws:PrincipalArn (ArnLike) instead")
			return
		}
		a, err := arn.Parse(s)
		if err != nil {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"AWS principal "+strconv.Quote(s)+" must be \"*\", a 12-digit account id or an IAM/STS ARN")
			return
		}
		if a.Service != "iam" && a.Service != "sts" {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"AWS principal "+strconv.Quote(s)+" must be an IAM or STS ARN, not a "+a.Service+" ARN")
			return
		}
		// IAM rejects a principal ARN whose account is not 12 digits ("Invalid principal in policy"); tutorials
		// show placeholders such as "ACCOUNT-B-ID" that must be replaced. The one exception is CloudFront's origin
		// access identities, "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity ID".
		// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
		if !arn.IsAccountID(a.AccountID) && a.AccountID != "cloudfront" {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"invalid principal "+strconv.Quote(s)+": the account "+strconv.Quote(a.AccountID)+" must be a 12-digit account id")
			return
		}
		r, err := arn.SplitIAM(a)
		if err != nil {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path, err.Error())
			return
		}
		switch r.Type {
		case arn.TypeRoot, arn.TypeUser, arn.TypeRole, arn.TypeAssumedRole, arn.TypeFederatedUser:
		default:
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"an AWS principal cannot be a "+r.Type+"; name a user, role, role session, federated user or account")
		}
	case PrincipalService:
		if s == "*" || strings.ContainsAny(s, "*? ") || !strings.Contains(s, ".") {
			v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
				"service principal "+strconv.Quote(s)+" must be a service name such as \"ec2.amazonaws.com\"")
		} else if !strings.HasSuffix(s, ".amazonaws.com") && !strings.HasSuffix(s, ".amazonaws.com.cn") && !strings.HasSuffix(s, ".amazon.com") {
			v.add(FindingWarning, CodeInvalidPrincipal, val.Pos, path,
				"service principal "+strconv.Quote(s)+" does not end in .amazonaws.com")
		}
	case PrincipalFederated:
		if a, err := arn.Parse(s); err == nil {
			if r, err := arn.SplitIAM(a); err != nil || (r.Type != arn.TypeOIDCProvider && r.Type != arn.TypeSAMLProvider) {
				v.add(FindingError, CodeInvalidPrincipal, val.Pos, path,
					"a Federated principal must be an oidc-provider or saml-provider ARN, or a web identity provider name")
			}
			return
		}
		for _, k := range knownFederated {
			if s == k {
				return
			}
		}
		v.add(FindingWarning, CodeInvalidPrincipal, val.Pos, path,
			"Federated principal "+strconv.Quote(s)+" is neither a provider ARN nor one of "+strings.Join(knownFederated, ", "))
	case PrincipalCanonicalUser:
		if len(s) != 64 {
			v.add(FindingWarning, CodeInvalidPrincipal, val.Pos, path, "a canonical user id is 64 hexadecimal characters")
		}
	}
}

// trustActions are the actions a role trust policy can usefully allow.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
var trustActions = []string{"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
	"sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext", "sts:AssumeRoot"}

func (v *validator) actions(s *Statement, path string) {
	l, name := s.Action, "Action"
	if l == nil {
		l, name = s.NotAction, "NotAction"
	}
	lp := path + "." + name
	if len(l.Values) == 0 {
		v.add(FindingError, CodeEmptyArray, l.Pos, lp, name+" must list at least one action")
		return
	}
	valid := make([]bool, len(l.Values))
	for j, a := range l.Values {
		ap := elemPath(lp, l, j)
		act := a.Value
		if act == "*" {
			valid[j] = true
			continue
		}
		svc, op, ok := strings.Cut(act, ":")
		switch {
		case !ok || svc == "" || op == "":
			v.add(FindingError, CodeInvalidAction, a.Pos, ap,
				"action "+strconv.Quote(act)+" must be \"service:action\" (for example \"s3:GetObject\") or \"*\"")
			continue
		case strings.ContainsAny(svc, "*?"):
			// IAM requires a literal service prefix: "s3*:Get*" is rejected,
			// and a wildcard there would silently span services.
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
			v.add(FindingError, CodeInvalidServiceInAction, a.Pos, ap,
				"action "+strconv.Quote(act)+" has a wildcard in its service prefix "+strconv.Quote(svc)+"; the service prefix must be written out (\"*\" alone allows every action)")
			continue
		case !validServicePrefix(svc):
			v.add(FindingError, CodeInvalidAction, a.Pos, ap,
				"action "+strconv.Quote(act)+" has an invalid service prefix "+strconv.Quote(svc)+" (letters, digits and '-')")
			continue
		case strings.ContainsAny(op, ": "):
			v.add(FindingError, CodeInvalidAction, a.Pos, ap, "action "+strconv.Quote(act)+" has an invalid action name")
			continue
		}
		valid[j] = true
		if v.kind == KindTrust && s.Action != nil {
			ok := false
			for _, t := range trustActions {
				ok = ok || wildcard.Compile(act, true).Match(t)
			}
			if !ok {
				v.add(FindingWarning, CodeUnsupportedActionTrust, a.Pos, ap,
					"action "+strconv.Quote(act)+" has no effect in a trust policy, which governs sts:AssumeRole* and sts:TagSession")
			}
		}
	}
	// Redundant actions within the statement (among the valid ones).
	if len(l.Values) > maxPairwise {
		return
	}
	for j, a := range l.Values {
		for k, b := range l.Values {
			if j != k && valid[j] && valid[k] && covers(b.Value, a.Value, true) && (!covers(a.Value, b.Value, true) || k < j) {
				v.add(FindingSuggestion, CodeRedundantAction, a.Pos, elemPath(lp, l, j),
					"action "+strconv.Quote(a.Value)+" is already covered by "+strconv.Quote(b.Value))
				break
			}
		}
	}
}

func validServicePrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func elemPath(base string, l *List, j int) string {
	if len(l.Values) == 1 && l.Values[0].Pos == l.Pos {
		return base
	}
	return base + "[" + strconv.Itoa(j) + "]"
}

func (v *validator) resources(s *Statement, path string) {
	l, name := s.Resource, "Resource"
	if l == nil {
		l, name = s.NotResource, "NotResource"
	}
	if v.kind == KindTrust {
		if l != nil {
			// IAM: "Has prohibited field Resource" — the resource of a trust
			// policy is the role itself.
			v.add(FindingError, CodeUnsupportedResource, l.Pos, path+"."+name,
				"a trust policy cannot contain "+name+": the resource is the role the policy is attached to")
		}
		return
	}
	if l == nil {
		v.add(FindingError, CodeMissingResource, s.Pos, path, "the statement must contain a Resource or NotResource element")
		return
	}
	lp := path + "." + name
	if len(l.Values) == 0 {
		v.add(FindingError, CodeEmptyArray, l.Pos, lp, name+" must list at least one resource")
		return
	}
	for j, r := range l.Values {
		rp := elemPath(lp, l, j)
		res := r.Value
		if res == "*" {
			continue
		}
		if !strings.HasPrefix(res, "arn:") {
			v.add(FindingError, CodeInvalidARNResource, r.Pos, rp,
				"resource "+strconv.Quote(res)+" must be an ARN (\"arn:partition:service:region:account:resource\") or \"*\"")
			continue
		}
		if strings.Contains(res, "${") && !v.doc.UsesVariables() {
			v.add(FindingWarning, CodeVariableInOldVersion, r.Pos, rp,
				"resource "+strconv.Quote(res)+" contains \"${\" but the policy's Version is not 2012-10-17, so it is matched literally")
		}
		for _, p := range arn.Check(res) {
			switch {
			case p.Code == arn.CodeExtraColon:
				msg := "resource " + strconv.Quote(res) + " has one colon too many"
				if fixed := dropExtraColon(res); fixed != "" {
					msg += "; did you mean " + strconv.Quote(fixed) + "?"
				}
				v.add(FindingWarning, CodeExtraColonInARN, r.Pos, rp, msg)
			case p.Severity == arn.SeverityError && p.Code == arn.CodeMalformed && strings.HasSuffix(res, "*"):
				// A '*' ending an ARN segment may expand across the colons
				// that follow, so "arn:aws:sqs:*" is short but meaningful.
				// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards
				v.add(FindingWarning, CodeInvalidARNResource, r.Pos, rp,
					"resource "+strconv.Quote(res)+" has fewer than six ARN sections; its final '*' matches the rest, but writing every section is clearer")
			case p.Severity == arn.SeverityError:
				v.add(FindingError, CodeInvalidARNResource, r.Pos, rp,
					"resource "+strconv.Quote(res)+": "+strings.TrimPrefix(p.Message, "arn: "))
			default:
				v.add(FindingWarning, CodeInvalidARNResource, r.Pos, rp,
					"resource "+strconv.Quote(res)+": "+strings.TrimPrefix(p.Message, "arn: "))
			}
		}
	}
	if len(l.Values) > maxPairwise {
		return
	}
	for j, a := range l.Values {
		for k, b := range l.Values {
			if j != k && covers(b.Value, a.Value, false) && (!covers(a.Value, b.Value, false) || k < j) {
				v.add(FindingSuggestion, CodeRedundantResource, a.Pos, elemPath(lp, l, j),
					"resource "+strconv.Quote(a.Value)+" is already covered by "+strconv.Quote(b.Value))
				break
			}
		}
	}
}

// dropExtraColon removes the colon that starts the resource section of an
// ARN with one colon too many ("arn:aws:s3::::b/*" -> "arn:aws:s3:::b/*").
func dropExtraColon(s string) string {
	secs, ok := arn.Split(s)
	if !ok || !strings.HasPrefix(secs[5], ":") {
		return ""
	}
	i := len(s) - len(secs[5])
	return s[:i] + s[i+1:]
}

// singleValued lists global keys that always have one value; ForAllValues
// on them is almost always a mistake that makes an Allow too broad (an
// absent key passes ForAllValues).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
var singleValued = map[string]bool{
	"aws:principalarn": true, "aws:principalaccount": true, "aws:sourceip": true, "aws:sourcevpc": true,
	"aws:sourcevpce": true, "aws:username": true, "aws:userid": true, "aws:principalorgid": true,
	"aws:securetransport": true, "aws:requestedregion": true, "aws:sourcearn": true, "aws:sourceaccount": true,
	"aws:resourceaccount": true, "aws:principaltype": true,
}

func (v *validator) conditions(s *Statement, path string) {
	for _, e := range s.Condition {
		cp := path + ".Condition." + e.Operator.Value
		kp := cp + "." + e.Key.Value
		op := e.Operator.Value
		if !condition.IsKnownOperator(op) {
			msg := "unknown condition operator " + strconv.Quote(op)
			if _, err := condition.Compile(op, e.Key.Value, []string{"x"}, false); err != nil {
				var oe *condition.OperatorError
				if errors.As(err, &oe) && oe.Reason != "" {
					msg = "condition operator " + strconv.Quote(op) + ": " + oe.Reason
				}
			}
			v.add(FindingError, CodeInvalidConditionOp, e.Operator.Pos, cp, msg)
			continue
		}
		if len(e.Values.Values) == 0 {
			v.add(FindingError, CodeEmptyArray, e.Values.Pos, kp, "condition key "+strconv.Quote(e.Key.Value)+" must have at least one value")
			continue
		}
		vals := make([]string, len(e.Values.Values))
		for j, x := range e.Values.Values {
			vals[j] = x.Value
		}
		if _, err := condition.Compile(op, e.Key.Value, vals, v.doc.UsesVariables()); err != nil {
			pos := e.Key.Pos
			var oe *condition.OperatorError
			if errors.As(err, &oe) && oe.Value != "" {
				for _, x := range e.Values.Values {
					if x.Value == oe.Value {
						pos = x.Pos
						break
					}
				}
			}
			v.add(FindingError, CodeInvalidCondition, pos, kp, err.Error())
			continue
		}
		if known, checked := checkConditionKey(e.Key.Value); checked && !known {
			v.add(FindingWarning, CodeUnknownConditionKey, e.Key.Pos, kp,
				"condition key "+strconv.Quote(e.Key.Value)+" does not exist for service "+strconv.Quote(strings.SplitN(e.Key.Value, ":", 2)[0])+"; the condition can never see a value")
		}
		if strings.HasPrefix(op, "ForAllValues:") && s.IsAllow() && singleValued[lowerASCII(e.Key.Value)] {
			v.add(FindingSecurityWarning, CodeForAllValuesSingleValue, e.Operator.Pos, cp,
				"ForAllValues: with the single-valued key "+strconv.Quote(e.Key.Value)+" is true when the key is absent; use the operator without ForAllValues:")
		}
	}
}

// broad flags statements that allow far more than they appear to.
func (v *validator) broad(s *Statement, path string) {
	if !s.IsAllow() {
		return
	}
	if s.NotAction != nil && s.Resource != nil && hasStar(s.Resource) {
		v.add(FindingSecurityWarning, CodeAllowWithNotAction, s.NotAction.Pos, path+".NotAction",
			"Allow with NotAction and \"Resource\": \"*\" allows every action of every service except those listed, including services added later; list the actions to allow instead")
	}
	if s.NotResource != nil {
		v.add(FindingWarning, CodeAllowWithNotResource, s.NotResource.Pos, path+".NotResource",
			"Allow with NotResource allows the actions on every resource except those listed, including resources created later")
	}
}

// webIdentity flags a trust policy statement that lets an OIDC provider's
// tokens assume the role without any condition on the provider's claims:
// then every identity the provider issues a token to — for a public provider
// such as GitHub Actions or Google, anyone — can assume the role.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub
func (v *validator) webIdentity(s *Statement, path string) {
	if v.kind != KindTrust || !s.IsAllow() || s.Principal == nil || s.Action == nil {
		return
	}
	web := false
	for _, a := range s.Action.Values {
		web = web || wildcard.Compile(a.Value, true).Match("sts:AssumeRoleWithWebIdentity")
	}
	if !web {
		return
	}
	for _, e := range s.Principal.Entries {
		if e.Type.Value != PrincipalFederated {
			continue
		}
		for _, val := range e.Values.Values {
			host := val.Value
			if a, err := arn.Parse(host); err == nil {
				r, err := arn.SplitIAM(a)
				if err != nil || r.Type != arn.TypeOIDCProvider {
					continue
				}
				host = r.Name
			}
			constrained := false
			for _, c := range s.Condition {
				constrained = constrained || strings.HasPrefix(lowerASCII(c.Key.Value), lowerASCII(host)+":")
			}
			if !constrained {
				v.add(FindingSecurityWarning, CodeMissingWebIdentityCond, val.Pos, path+".Principal.Federated",
					"any identity "+strconv.Quote(host)+" issues a token to can assume this role; add a condition on "+host+":aud and "+host+":sub")
			}
		}
	}
}

func hasStar(l *List) bool {
	for _, r := range l.Values {
		if r.Value == "*" {
			return true
		}
	}
	return false
}

// redundant reports statements whose effect is already achieved by another
// statement of the same policy: same Effect, same Principal and Condition,
// and every action and resource covered by the other's.
func (v *validator) redundant() {
	st := v.doc.Statements
	// The check is quadratic; IAM's size limits keep real policies far
	// below this bound, and an oversized document must not stall a caller.
	if len(st) > maxPairwise {
		return
	}
	for j := range st {
		for i := range st {
			if i == j || !subsumes(&st[i], &st[j]) {
				continue
			}
			if subsumes(&st[j], &st[i]) && j < i {
				continue // identical: report only the later one
			}
			v.add(FindingSuggestion, CodeRedundantStatement, st[j].Pos, stmtPath(v.doc, j),
				"this statement is redundant: "+stmtPath(v.doc, i)+" already "+strings.ToLower(st[i].Effect.Value)+"s everything it does")
			break
		}
	}
}

// maxPairwise bounds the quadratic redundancy checks.
const maxPairwise = 300

// subsumes reports whether statement a covers statement b entirely.
func subsumes(a, b *Statement) bool {
	if a.Effect.Value != b.Effect.Value || a.Action == nil || b.Action == nil ||
		a.NotResource != nil || b.NotResource != nil || a.NotPrincipal != nil || b.NotPrincipal != nil {
		return false
	}
	if !samePrincipal(a.Principal, b.Principal) || !sameConditions(a.Condition, b.Condition) {
		return false
	}
	if !listCovers(a.Action, b.Action, true) {
		return false
	}
	if (a.Resource == nil) != (b.Resource == nil) {
		return false
	}
	return a.Resource == nil || listCovers(a.Resource, b.Resource, false)
}

func listCovers(a, b *List, fold bool) bool {
	for _, y := range b.Values {
		ok := false
		for _, x := range a.Values {
			if covers(x.Value, y.Value, fold) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// covers reports whether every string matched by pattern q is also matched
// by pattern p. It is exact for the shapes policies use (literals, "*",
// trailing-'*' prefixes) and conservative otherwise (false when unsure).
func covers(p, q string, fold bool) bool {
	eq := func(a, b string) bool {
		if fold {
			return wildcard.EqualFoldASCII(a, b)
		}
		return a == b
	}
	if eq(p, q) || strings.Trim(p, "*") == "" && p != "" {
		return true
	}
	if !strings.ContainsAny(q, "*?") {
		return wildcard.Compile(p, fold).Match(q)
	}
	// p = "prefix*" with no other wildcard covers q when q's literal
	// prefix (up to its first wildcard) starts with prefix.
	if strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], "*?") {
		prefix := p[:len(p)-1]
		qlit := q[:strings.IndexAny(q, "*?")]
		return len(qlit) >= len(prefix) && eq(prefix, qlit[:len(prefix)])
	}
	return false
}

func samePrincipal(a, b *Principal) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Wildcard != b.Wildcard || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		if a.Entries[i].Type.Value != b.Entries[i].Type.Value || !sameValues(a.Entries[i].Values.Values, b.Entries[i].Values.Values) {
			return false
		}
	}
	return true
}

func sameConditions(a, b []ConditionEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Operator.Value != b[i].Operator.Value || !equalFold(a[i].Key.Value, b[i].Key.Value) ||
			!sameValues(a[i].Values.Values, b[i].Values.Values) {
			return false
		}
	}
	return true
}

func sameValues(a, b []String) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

func kindNoun(k PolicyKind) string {
	switch k {
	case KindIdentity:
		return "identity-based policy"
	case KindResource:
		return "resource-based policy"
	case KindTrust:
		return "role trust policy"
	case KindBoundary:
		return "permissions boundary"
	case KindSession:
		return "session policy"
	case KindSCP:
		return "service control policy"
	case KindRCP:
		return "resource control policy"
	}
	return "policy"
}

// Check parses doc and validates it as a policy of the given kind, as IAM
// does on CreatePolicy, PutUserPolicy, CreateRole and UpdateAssumeRolePolicy.
// It returns the document and all findings; err is a *SyntaxError when doc
// does not parse and an *InvalidPolicyError when there are ERROR findings.
// err.Error() is suitable as the message of a MalformedPolicyDocument error.
func Check(doc []byte, kind PolicyKind) (*Document, []Finding, error) {
	d, err := Parse(doc)
	if err != nil {
		return nil, nil, err
	}
	fs := Validate(d, kind)
	var errs []Finding
	for _, f := range fs {
		if f.Type == FindingError {
			errs = append(errs, f)
		}
	}
	if errs != nil {
		return d, fs, &InvalidPolicyError{Findings: errs}
	}
	return d, fs, nil
}
