package store

import "time"

// Kinds of the EC2-modelled workload identities the agent authenticates with.
const (
	// KindInstance records are Instance values keyed by instance id (i-…); ID is the instance id too, so the
	// identity exchange finds an instance without knowing its account.
	KindInstance Kind = "ec2-instance"
	// KindInstanceAssociation records are InstanceAssociation values keyed by association id (iip-assoc-…); ID
	// is the association id.
	KindInstanceAssociation Kind = "ec2-iip-association"
)

// Instance is a registered workload host (an EC2 instance, or a container task): the identity the agent
// exchanges for the instance profile's role credentials.
type Instance struct {
	ID               string    `json:"id"`
	Region           string    `json:"region"`
	AvailabilityZone string    `json:"az,omitempty"`
	InstanceType     string    `json:"type,omitempty"`
	ImageID          string    `json:"image,omitempty"`
	PrivateIP        string    `json:"ip,omitempty"`
	Launched         time.Time `json:"launched"`
	// ServicePrincipal is the service the role's trust policy must allow: ec2.amazonaws.com for instances,
	// ecs-tasks.amazonaws.com for task roles.
	ServicePrincipal string `json:"service"`
	// Secret is the instance secret sealed under the master key (additional data: the instance id). It is the
	// SigV4 signing key of the identity exchange and nothing else; never stored in plain text.
	Secret []byte `json:"secret"`
	// SecretCreated is when the secret was issued; resetting it revokes the previous one.
	SecretCreated time.Time `json:"secretCreated"`
	// Association is the current instance profile association, nil when none.
	Association *InstanceAssociation `json:"association,omitempty"`
}

// InstanceAssociation associates an instance with an instance profile, as EC2's IamInstanceProfileAssociation.
type InstanceAssociation struct {
	ID         string `json:"id"`
	InstanceID string `json:"instance"`
	// ProfileName, ProfileARN and ProfileID name the instance profile at association time; the exchange looks
	// the profile up again by name and checks its id, so a profile deleted and re-created is not silently used.
	ProfileName string    `json:"profile"`
	ProfileARN  string    `json:"profileArn"`
	ProfileID   string    `json:"profileId"`
	Associated  time.Time `json:"associated"`
}
