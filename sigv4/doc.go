// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests, for servers that speak AWS's
// protocols. It uses only the standard library.
//
// Both authentication methods are supported
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-authentication-methods.html): the
// Authorization header, with X-Amz-Date or Date, and presigned query strings (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature,
// X-Amz-Security-Token). Verification happens in two steps, so that a server can route and look up the
// key between them:
//
//	req, err := sigv4.Parse(r, now)         // no secret needed; route by req.Credential.Service
//	secret := lookup(req.Credential.AccessKeyID, req.SecurityToken)
//	err = verifier.Verify(r, req, body, secret)
//
// Failures are *Error values carrying the code, message and HTTP status AWS's Query-protocol services
// answer with. The canonical request follows
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html as
// aws-sdk-go-v2 implements it, which the tests check differentially.
//
// Not supported: SigV4a (AWS4-ECDSA-P256-SHA256) and chunked STREAMING-* payloads, whose seed signature is
// verified before the request is refused with NotImplemented.
package sigv4
