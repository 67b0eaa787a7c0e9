package store

import "time"

// KindServiceLastAccessedJob records are ServiceLastAccessedJob values keyed by job id (a UUID) in the account that
// generated them: IAM's service last-accessed reports (GenerateServiceLastAccessedDetails).
const KindServiceLastAccessedJob Kind = "service-last-accessed-job"

// ServiceLastAccessedJob is a service last-accessed report: the services the entity's policies allow, with the last
// attempt to use each, as the trail showed when the job ran.
type ServiceLastAccessedJob struct {
	ID string `json:"id"`
	// EntityARN is the user, group, role or managed policy the report is about.
	EntityARN string `json:"arn"`
	// Granularity is SERVICE_LEVEL or ACTION_LEVEL.
	Granularity string `json:"granularity"`
	// Status is IN_PROGRESS, COMPLETED or FAILED; ErrorCode and ErrorMessage say why a job failed.
	Status       string    `json:"status"`
	ErrorCode    string    `json:"errorCode,omitempty"`
	ErrorMessage string    `json:"errorMessage,omitempty"`
	Created      time.Time `json:"created"`
	Completed    time.Time `json:"completed,omitempty"`
	// Services are the allowed services, sorted by name.
	Services []ServiceLastAccess `json:"services,omitempty"`
}

// ServiceLastAccess is one service of a report. The Last* fields are empty when no entity tried the service.
type ServiceLastAccess struct {
	Namespace  string    `json:"ns"`
	Name       string    `json:"name"`
	Last       time.Time `json:"last,omitempty"`
	LastEntity string    `json:"entity,omitempty"`
	LastRegion string    `json:"region,omitempty"`
	// Entities are the users and roles that tried the service, with their last attempt (for groups' and policies'
	// reports, GetServiceLastAccessedDetailsWithEntities).
	Entities []EntityLastAccess `json:"entities,omitempty"`
	// Actions are the tracked actions tried (ACTION_LEVEL reports only).
	Actions []ActionLastAccess `json:"actions,omitempty"`
}

// EntityLastAccess is a user's or role's last attempt to use a service.
type EntityLastAccess struct {
	ARN  string    `json:"arn"`
	Type string    `json:"type"` // USER or ROLE
	Name string    `json:"name"`
	ID   string    `json:"id"`
	Path string    `json:"path"`
	Last time.Time `json:"last"`
}

// ActionLastAccess is the last attempt to use one tracked action.
type ActionLastAccess struct {
	Name   string    `json:"name"`
	Entity string    `json:"entity"`
	Last   time.Time `json:"last"`
	Region string    `json:"region"`
}
