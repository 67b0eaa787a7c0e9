package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// model is the part of a botocore service model (service-2.json) the generator reads.
type model struct {
	Metadata struct {
		APIVersion     string `json:"apiVersion"`
		EndpointPrefix string `json:"endpointPrefix"`
		Protocol       string `json:"protocol"`
		XMLNamespace   string `json:"xmlNamespace"`
		ServiceID      string `json:"serviceId"`
		FullName       string `json:"serviceFullName"`
		TargetPrefix   string `json:"targetPrefix"`
	} `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`
}

type operation struct {
	Name   string `json:"name"`
	Input  *ref   `json:"input"`
	Output *struct {
		Shape         string `json:"shape"`
		ResultWrapper string `json:"resultWrapper"`
	} `json:"output"`
	Errors        []ref    `json:"errors"`
	Documentation string   `json:"documentation"`
	Auth          []string `json:"auth"`
	AuthType      string   `json:"authtype"`
}

type ref struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type          string   `json:"type"`
	Members       members  `json:"members"`
	Required      []string `json:"required"`
	Member        *ref     `json:"member"`
	Key           *ref     `json:"key"`
	Value         *ref     `json:"value"`
	Min           *float64 `json:"min"`
	Max           *float64 `json:"max"`
	Pattern       string   `json:"pattern"`
	Enum          []string `json:"enum"`
	Sensitive     bool     `json:"sensitive"`
	Exception     bool     `json:"exception"`
	Fault         bool     `json:"fault"`
	Flattened     bool     `json:"flattened"`
	Documentation string   `json:"documentation"`
	Error         *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
		SenderFault    bool   `json:"senderFault"`
	} `json:"error"`
}

type member struct {
	Name          string
	Shape         string `json:"shape"`
	Documentation string `json:"documentation"`
	LocationName  string `json:"locationName"`
	Flattened     bool   `json:"flattened"`
}

// members keeps the model's member order: it is the order of elements in responses and of validation errors.
type members []*member

func (ms *members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		m := &member{Name: t.(string)}
		if err := dec.Decode(m); err != nil {
			return err
		}
		*ms = append(*ms, m)
	}
	return nil
}

func loadModel(path string) (*model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = gz
	}
	var m model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, op := range m.Operations {
		if op.Name == "" {
			op.Name = name
		}
	}
	return &m, nil
}

func (s *shape) required(name string) bool {
	for _, r := range s.Required {
		if r == name {
			return true
		}
	}
	return false
}
