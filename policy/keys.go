package policy

import "strings"

// Condition keys known to the validator. The table is deliberately small:
// the global keys, and the keys of the services Persona implements or that
// policies written for it use most (iam, sts, s3, ec2). A key of another
// service is not checked. Keys ending in '/' are prefixes for tag keys
// ("aws:ResourceTag/Project").
//
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_identityandaccessmanagementiam.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
var knownKeys = map[string][]string{
	"aws": {
		"aws:AssumedRoot", "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime",
		"aws:Ec2InstanceSourcePrivateIPv4", "aws:Ec2InstanceSourceVpc", "aws:EpochTime",
		"aws:FederatedProvider", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent",
		"aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalIsAWSService", "aws:PrincipalOrgID",
		"aws:PrincipalOrgPaths", "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList",
		"aws:PrincipalTag/", "aws:PrincipalType", "aws:Referer", "aws:RequestedRegion", "aws:RequestTag/",
		"aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:ResourceTag/",
		"aws:SecureTransport", "aws:SourceAccount", "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp",
		"aws:SourceOrgID", "aws:SourceOrgPaths", "aws:SourceOwner", "aws:SourceVpc", "aws:SourceVpcArn",
		"aws:SourceVpce", "aws:TagKeys", "aws:TokenIssueTime", "aws:UserAgent", "aws:userid",
		"aws:username", "aws:ViaAWSService", "aws:VpcSourceIp", "aws:VpceAccount", "aws:VpceOrgID",
		"aws:VpceOrgPaths",
	},
	"iam": {
		"iam:AssociatedResourceArn", "iam:AWSServiceName", "iam:FIDO-certification",
		"iam:FIDO-FIPS-140-2-certification", "iam:FIDO-FIPS-140-3-certification",
		"iam:OrganizationsPolicyId", "iam:PassedToService", "iam:PermissionsBoundary", "iam:PolicyARN",
		"iam:RegisterSecurityKey", "iam:ResourceTag/", "iam:ServiceSpecificCredentialAgeDays",
		"iam:ServiceSpecificCredentialServiceName",
	},
	"sts": {
		"sts:AWSServiceName", "sts:DurationSeconds", "sts:ExternalId", "sts:RequestContext",
		"sts:RequestContextProviders", "sts:RoleSessionName", "sts:SourceIdentity", "sts:TaskSessionName",
		"sts:TransitiveTagKeys",
	},
	"s3": {
		"s3:AccessGrantsInstanceArn", "s3:AccessPointNetworkOrigin", "s3:authType", "s3:BucketTag/",
		"s3:DataAccessPointAccount", "s3:DataAccessPointArn", "s3:delimiter", "s3:ExistingJobOperation",
		"s3:ExistingJobPriority", "s3:ExistingObjectTag/", "s3:if-match", "s3:if-none-match",
		"s3:JobSuspendedCause", "s3:LocationConstraint", "s3:max-keys", "s3:object-lock-legal-hold",
		"s3:object-lock-mode", "s3:object-lock-remaining-retention-days",
		"s3:object-lock-retain-until-date", "s3:ObjectCreationOperation", "s3:prefix",
		"s3:RequestJobOperation", "s3:RequestJobPriority", "s3:RequestObjectTag/", "s3:RequestObjectTagKeys",
		"s3:ResourceAccount", "s3:signatureAge", "s3:signatureversion", "s3:TlsVersion", "s3:VersionId",
		"s3:x-amz-acl", "s3:x-amz-content-sha256", "s3:x-amz-copy-source", "s3:x-amz-grant-full-control",
		"s3:x-amz-grant-read", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write", "s3:x-amz-grant-write-acp",
		"s3:x-amz-metadata-directive", "s3:x-amz-object-ownership", "s3:x-amz-server-side-encryption",
		"s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-customer-algorithm",
		"s3:x-amz-storage-class", "s3:x-amz-website-redirect-location",
	},
	"ec2": {
		"ec2:AccepterVpc", "ec2:Attribute/", "ec2:AuthorizedService", "ec2:AuthorizedUser",
		"ec2:AvailabilityZone", "ec2:CreateAction", "ec2:EbsOptimized", "ec2:Encrypted", "ec2:ImageID",
		"ec2:ImageType", "ec2:InstanceMarketType", "ec2:InstanceMetadataTags", "ec2:InstanceProfile",
		"ec2:InstanceType", "ec2:IsLaunchTemplateResource", "ec2:KeyPairName", "ec2:KeyPairType",
		"ec2:LaunchTemplate", "ec2:MetadataHttpEndpoint", "ec2:MetadataHttpPutResponseHopLimit",
		"ec2:MetadataHttpTokens", "ec2:NewInstanceProfile", "ec2:Owner", "ec2:ParentSnapshot",
		"ec2:ParentVolume", "ec2:PlacementGroup", "ec2:ProductCode", "ec2:Public", "ec2:Region",
		"ec2:RequesterVpc", "ec2:ResourceTag/", "ec2:RoleDelivery", "ec2:RootDeviceType",
		"ec2:SecurityGroupID", "ec2:SnapshotID", "ec2:SourceInstanceARN", "ec2:Subnet", "ec2:Tenancy",
		"ec2:VolumeID", "ec2:VolumeIops", "ec2:VolumeSize", "ec2:VolumeThroughput", "ec2:VolumeType",
		"ec2:Vpc", "ec2:VpceServiceName", "ec2:VpceServiceOwner",
	},
}

// keyIndex maps a lower-cased key (or tag prefix) to true, per service.
var keyIndex = func() map[string]map[string]bool {
	m := make(map[string]map[string]bool, len(knownKeys))
	for svc, keys := range knownKeys {
		set := make(map[string]bool, len(keys))
		for _, k := range keys {
			set[lowerASCII(k)] = true
		}
		m[svc] = set
	}
	return m
}()

// checkConditionKey reports whether key is known. checked is false when the
// key's service is not in the table, so nothing can be said.
func checkConditionKey(key string) (known, checked bool) {
	svc, name, ok := strings.Cut(key, ":")
	if !ok || name == "" {
		return false, true
	}
	set, ok := keyIndex[lowerASCII(svc)]
	if !ok {
		return false, false
	}
	lk := lowerASCII(key)
	if set[lk] {
		return true, true
	}
	// Tag keys: "aws:ResourceTag/Project" matches the "aws:ResourceTag/"
	// prefix when a tag key follows.
	if i := strings.IndexByte(lk, '/'); i > 0 && i < len(lk)-1 && set[lk[:i+1]] {
		return true, true
	}
	return false, true
}
