// Package awsquery is Persona's wire codec for AWS's Query protocol (form-encoded requests, XML responses), the
// protocol IAM and STS speak. https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
//
// The typed inputs, outputs, decoders, validators and encoders of each service live in generated packages
// (iamapi, stsapi) produced by ./gen from botocore's service models in ./models; this package holds the small
// runtime they share: the form parser, the decoder and validator, the XML encoder, API errors, and the one
// function that writes <ErrorResponse>.
package awsquery

//go:generate go run ./gen -model models/iam-2010-05-08.json.gz -pkg iamapi -out iamapi
//go:generate go run ./gen -model models/sts-2011-06-15.json.gz -pkg stsapi -out stsapi
