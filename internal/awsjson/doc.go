package awsjson

//go:generate go run ../awsquery/gen -model models/organizations-2016-11-28.json.gz -pkg orgsapi -out orgsapi
